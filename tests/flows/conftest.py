"""Fixtures shared by the flow tests: one published pipeline run for the session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.flows.helpers import PublishedRun, pipeline_env, use_env


@pytest.fixture(scope="session")
def published_run(
    sim_server: Any, prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PublishedRun]:
    """One full run of the flow into a session-wide warehouse (read it, never write it)."""
    from flows.flow import norce_elt

    target = tmp_path_factory.mktemp("published") / "norce.duckdb"
    env = pipeline_env(sim_server, target)
    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, env)
        state = norce_elt(return_state=True)
    yield PublishedRun(state, target, env)
