"""Write the results as ``<name>.json`` (everything) and ``<name>.md`` (for people).

The Markdown has the machine, one table per measurement, the targets with the measured
figure next to each, and for every missed target what bounds it (:mod:`bench.bounds`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cycle_report, sections
from bench.bounds import explain
from bench.sections import table
from bench.targets import evaluate


def _targets(results: dict[str, Any], targets: list[dict[str, Any]]) -> list[str]:
    verdict = {True: "yes", False: "**no**", None: "n/a"}
    rows = [[t["name"], t["goal"], t["measured"], verdict[t["met"]]] for t in targets]
    lines = ["## Targets (measured, not asserted)", ""]
    lines += table(["target", "goal", "measured", "met"], rows)
    explained: dict[str, str] = {}
    for t in targets:
        if t["met"] is False:
            text = explain(t["key"], results)
            earlier = explained.get("\n".join(text))
            if earlier is not None:
                text = [f'Same bounds as "{earlier}" above.']
            else:
                explained["\n".join(text)] = t["name"]
            lines += [f"### Missed: {t['name']}", "", *text, ""]
    return lines


def render(results: dict[str, Any]) -> str:
    """The Markdown report."""
    targets = evaluate(results)
    mode = "quick (smoke size)" if results["config"]["quick"] else "full"
    lines = [
        "# Orders load benchmark: ours vs the raw-fetch ceiling and dlt",
        "",
        f"Generated {results['generated_at']} by `python -m bench` ({mode}) in "
        f"{results['total_s']} s.",
        "",
        *sections.machine(results),
        *sections.setup(results),
        *sections.throughput(results),
        *sections.loader(results),
        *sections.levers(results),
        *sections.small(results),
        *sections.scaling(results),
        *sections.incremental(results),
        *cycle_report.section(results),
        *_targets(results, targets),
    ]
    return "\n".join(lines).rstrip() + "\n"


def render_cycles(results: dict[str, Any]) -> str:
    """The Markdown of a ``--cycle-only`` run: the machine, the cycle and its targets."""
    targets = cycle_report.targets(results)
    lines = [
        "# The 15-minute cycle (`python -m bench --cycle-only`)",
        "",
        f"Generated {results['generated_at']} in {results['total_s']} s.",
        "",
        *sections.machine(results),
        *cycle_report.section(results),
        *_targets(results, targets),
    ]
    return "\n".join(lines).rstrip() + "\n"


def write_cycles(results: dict[str, Any], directory: Path, name: str) -> tuple[Path, Path]:
    """Write a ``--cycle-only`` result as ``name.json`` and ``name.md``.

    Returns:
        The two paths.
    """
    return _write(results, directory, name, cycle_report.targets, render_cycles)


def write(results: dict[str, Any], directory: Path, name: str) -> tuple[Path, Path]:
    """Write ``name.json`` and ``name.md`` into ``directory`` (each replaced atomically).

    Returns:
        The two paths.
    """
    return _write(results, directory, name, evaluate, render)


def _write(
    results: dict[str, Any],
    directory: Path,
    name: str,
    evaluate_targets: Callable[[dict[str, Any]], list[dict[str, Any]]],
    to_markdown: Callable[[dict[str, Any]], str],
) -> tuple[Path, Path]:
    results = {**results, "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    results["targets"] = evaluate_targets(results)
    directory.mkdir(parents=True, exist_ok=True)
    paths = (directory / f"{name}.json", directory / f"{name}.md")
    texts = (json.dumps(results, indent=2, sort_keys=True) + "\n", to_markdown(results))
    for path, text in zip(paths, texts, strict=True):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return paths
