"""A Prefect worker loads ``flows/flow.py`` as a script: nothing in flows/ may shadow a package.

Loading a script puts its directory first on the import path, so a ``flows/dbt.py`` once
made ``import dbt.cli`` find our module and crashed every deployment run.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_no_flows_module_is_named_like_an_installed_or_stdlib_module() -> None:
    ours = {p.stem for p in (ROOT / "flows").glob("*.py")} - {"__init__"}
    installed = set(importlib.metadata.packages_distributions())
    assert "dbt" in installed  # the check sees namespace packages such as dbt
    clashes = ours & (installed | set(sys.stdlib_module_names))
    assert not clashes, f"flows/ modules shadow installed packages when run as a script: {clashes}"


@pytest.mark.slow
def test_the_deployment_entrypoint_loads_as_a_worker_loads_it() -> None:
    code = (
        "from prefect.flows import load_flow_from_entrypoint\n"
        "f = load_flow_from_entrypoint('flows/flow.py:norce_elt')\n"
        "import dbt.cli.main\n"
        "print('loaded', f.name)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORCE_")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "PYTHONPATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "loaded norce-elt" in done.stdout
