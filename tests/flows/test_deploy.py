"""Schedules: prefect.yaml and ``norce-wh serve --cadences`` declare the same deployments."""

from __future__ import annotations

from pathlib import Path

import yaml

from extract.schema.catalog import CATALOG
from flows.deploy import CADENCES, LOCK_WAIT_S, cadence_deployments

PREFECT_YAML = Path(__file__).resolve().parents[2] / "prefect.yaml"


def _yaml_deployments() -> dict[str, dict[str, object]]:
    doc = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    return {d["name"]: d for d in doc["deployments"]}


def test_prefect_yaml_matches_the_cadences() -> None:
    deployments = _yaml_deployments()
    assert set(deployments) == {c.name for c in CADENCES}
    for c in CADENCES:
        d = deployments[c.name]
        assert d["entrypoint"] == "flows/flow.py:norce_elt"
        assert [s["cron"] for s in d["schedules"]] == [c.cron]  # type: ignore[index]
        params = d["parameters"]
        assert isinstance(params, dict)
        assert params["entities"] == list(c.entities)
        assert params["wait_for_lock_s"] == LOCK_WAIT_S


def test_cadences_cover_the_catalog_once() -> None:
    scheduled = [e for c in CADENCES for e in c.entities]
    assert sorted(scheduled) == sorted(s.path for s in CATALOG)


def test_cadence_deployments_build() -> None:
    built = cadence_deployments(config_file="norce.toml")
    assert [d.name for d in built] == [c.name for c in CADENCES]
    for d, c in zip(built, CADENCES, strict=True):
        assert d.parameters["entities"] == list(c.entities)
        assert d.parameters["config_file"] == "norce.toml"
        assert [s.schedule.cron for s in d.schedules] == [c.cron]
