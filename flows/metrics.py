"""``norce-wh metrics``: the dbt semantic layer, answered from the published warehouse.

The metrics and semantic models live in ``dbt_project/models/semantic/``. Each run that
builds the marts publishes dbt's ``semantic_manifest.json`` beside the warehouse
(``norce.semantic.json``, see :mod:`flows.pages`), so the manifest always describes the file
next to it. MetricFlow turns a request ("net_revenue by month and application") into SQL;
this module runs that SQL on the published file, read-only, and names the columns after
what was asked (``month``, ``application``, ``net_revenue``).

MetricFlow is imported only here and only when a metrics command runs (it takes a few
seconds), so nothing else pays for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import duckdb

from extract.errors import PipelineError, WarehouseError

if TYPE_CHECKING:
    from metricflow.engine.metricflow_engine import MetricFlowEngine

__all__ = [
    "GRAINS",
    "GROUP_BY_ALIASES",
    "MetricInfo",
    "MetricsQueryError",
    "MetricsRequest",
    "SemanticLayer",
    "column_name",
    "group_by_name",
    "semantic_manifest_path",
]

GRAINS: tuple[str, ...] = ("day", "week", "month", "quarter", "year")
"""Time grains of ``--by``: each is ``metric_time`` at that grain (the order date)."""

GROUP_BY_ALIASES: dict[str, str] = {
    "application": "application__application_name",
    "market": "application__application_name",
    "country": "country__country_name",
    "payment_method": "payment_method__payment_method_name",
    "delivery_method": "delivery_method__delivery_method_name",
    "status": "order_status__status_name",
    "status_group": "order_status__status_group",
    "customer_type": "customer__is_registered",
}
"""Short ``--by`` names and the semantic-layer dimension each stands for."""


def semantic_manifest_path(warehouse: Path) -> Path:
    """The semantic manifest published beside ``warehouse``: ``norce.semantic.json``."""
    return warehouse.with_name(warehouse.stem + ".semantic.json")


def group_by_name(by: str) -> str:
    """The MetricFlow group-by name of one ``--by`` item.

    ``month`` -> ``metric_time__month``; ``application`` -> ``application__application_name``;
    anything else (``application__currency_code``, ``order__is_first_order``) is passed on.
    """
    key = by.strip().lower()
    if key in GRAINS:
        return f"metric_time__{key}"
    return GROUP_BY_ALIASES.get(key, key)


def column_name(by: str) -> str:
    """The output column of one ``--by`` item: the name the user gave, as an identifier."""
    return re.sub(r"\W+", "_", by.strip().lower()).strip("_") or "value"


class MetricsQueryError(PipelineError):
    """A metrics request MetricFlow cannot answer: an unknown metric, dimension or filter."""

    exit_code = 2
    default_hint: ClassVar[str] = (
        "`norce-wh metrics --list` shows the metrics, "
        "`norce-wh metrics --dimensions METRIC` what they can be grouped by"
    )


@dataclass(frozen=True, slots=True)
class MetricsRequest:
    """One metrics question.

    Attributes:
        metrics: Metric names (``norce-wh metrics --list``).
        by: Grains and dimensions to group by (``month``, ``application``, or any
            semantic-layer name such as ``country__country_code``).
        start: First day included (order date), or ``None``.
        end: Last day included, or ``None``.
        where: MetricFlow filters, e.g. ``{{ Dimension('order__is_first_order') }}``.
        limit: Most rows returned, or ``None``.
    """

    metrics: tuple[str, ...]
    by: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    where: tuple[str, ...] = field(default=())
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """A metric as ``--list`` shows it."""

    name: str
    label: str
    type: str
    description: str


class _RenderOnlyClient:
    """The SQL client MetricFlow asks for: DuckDB's dialect; it never runs a query itself."""

    def __init__(self) -> None:
        from metricflow.protocols.sql_client import SqlEngine
        from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer

        self.sql_engine_type = SqlEngine.DUCKDB
        self.sql_plan_renderer = DuckDbSqlPlanRenderer()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"

    def close(self) -> None:
        return None

    def query(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("norce-wh runs MetricFlow's SQL itself")

    execute = dry_run = query


def _user_message(exc: Exception) -> str:
    """MetricFlow's multi-line query error as one line: the message and its suggestions."""
    text = str(exc)
    match = re.search(r"Message:\s*(.*?)\s*(?:Query Input:|Issue Location:|$)", text, re.S)
    body = match.group(1) if match else text
    body = re.sub(r"Common issues are:.*?(?=Suggestions:|$)", "", body, flags=re.S)
    body = re.sub(r"\s+", " ", body).strip()
    given = re.search(r"Query Input:\s*(\S.*?)\s*(?:Issue Location:|$)", text, re.S)
    if given:
        body = f"{given.group(1).strip()}: {body}"
    return body.replace("Suggestions: ", "did you mean ")


class SemanticLayer:
    """The published semantic manifest, and MetricFlow over it."""

    def __init__(self, warehouse: Path) -> None:
        self.warehouse = warehouse
        self.manifest_path = semantic_manifest_path(warehouse)
        self._engine: MetricFlowEngine | None = None
        self._database: str | None = None

    def _load(self) -> MetricFlowEngine:
        if self._engine is not None:
            return self._engine
        if not self.manifest_path.is_file():
            raise WarehouseError(
                f"no semantic manifest beside the warehouse ({self.manifest_path})",
                hint="run `norce-wh run` (or `make demo`) once: each run that builds the marts "
                "publishes it beside the warehouse",
            )
        from metricflow.engine.metricflow_engine import MetricFlowEngine
        from metricflow_semantics.model.dbt_manifest_parser import (
            parse_manifest_from_dbt_generated_manifest,
        )
        from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

        try:
            manifest = parse_manifest_from_dbt_generated_manifest(
                manifest_json_string=self.manifest_path.read_text(encoding="utf-8")
            )
        except Exception as exc:  # pydantic/JSON errors of a damaged or foreign file
            raise WarehouseError(
                f"cannot read the semantic manifest {self.manifest_path}: {exc}".splitlines()[0],
                hint="run `norce-wh run` again to publish a fresh one",
            ) from exc
        databases = {m.node_relation.database for m in manifest.semantic_models}
        self._database = next(iter(databases - {None}), None)
        self._engine = MetricFlowEngine(SemanticManifestLookup(manifest), _RenderOnlyClient())
        return self._engine

    def metrics(self) -> list[MetricInfo]:
        """Every metric of the manifest, by name."""
        engine = self._load()
        found = [
            MetricInfo(
                name=m.name,
                label=getattr(m, "label", None) or m.name,
                type=str(getattr(m.type, "value", m.type)).lower(),
                description=" ".join((m.description or "").split()),
            )
            for m in engine.list_metrics()
        ]
        return sorted(found, key=lambda info: info.name)

    def compile(self, request: MetricsRequest) -> str:
        """The SQL answering ``request``, its columns named after the request.

        Raises:
            MetricsQueryError: An unknown metric or dimension, or a filter MetricFlow refuses
                (with its suggestions).
        """
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest
        from metricflow_semantics.errors.error_classes import MetricFlowException

        engine = self._load()
        names = [group_by_name(b) for b in request.by]
        mf_request = MetricFlowQueryRequest.create(
            metric_names=list(request.metrics),
            group_by_names=names,
            time_constraint_start=_midnight(request.start),
            time_constraint_end=_midnight(request.end),
            where_constraints=list(request.where) or None,
            order_by_names=[n for n in names if n.startswith("metric_time")] or None,
            limit=request.limit,
        )
        try:
            sql = engine.explain(mf_request).sql_statement.sql
        except MetricFlowException as exc:
            raise MetricsQueryError(_user_message(exc)) from exc
        return _renamed(sql, request.by, names, request.metrics)

    def dimensions(self, metrics: Sequence[str]) -> list[str]:
        """What ``metrics`` can be grouped by (besides the grains)."""
        engine = self._load()
        dims = engine.simple_dimensions_for_metrics(list(metrics), without_any_property=[])
        names = {d.dunder_name for d in dims if not d.dunder_name.startswith("metric_time")}
        return sorted(names)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """The published warehouse, read-only, under the catalog name the manifest uses.

        Raises:
            WarehouseError: No file, or it cannot be opened.
        """
        self._load()
        if not self.warehouse.exists():
            raise WarehouseError(
                f"no published warehouse at {self.warehouse}",
                hint="run `norce-wh demo` or `norce-wh run`, or set NORCE_WAREHOUSE",
            )
        con = duckdb.connect()
        alias = self._database or self.warehouse.stem
        try:
            con.execute(f"attach ? as {_quoted(alias)} (read_only)", [str(self.warehouse)])
            con.execute(f"use {_quoted(alias)}")
            con.execute("set TimeZone = 'UTC'")
        except duckdb.Error as exc:
            con.close()
            raise WarehouseError(
                f"cannot open {self.warehouse} read-only: {str(exc).splitlines()[0]}",
                hint="check the file's permissions and that it is a DuckDB database",
            ) from exc
        return con


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day)


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _renamed(sql: str, by: Sequence[str], names: Sequence[str], metrics: Sequence[str]) -> str:
    """Wrap MetricFlow's SQL so the columns carry the names the user asked for.

    Time grains come back as dates (``month`` = its first day), not midnight timestamps.
    """
    columns: list[str] = []
    for given, name in zip(by, names, strict=True):
        expr = _quoted(name)
        if name.startswith("metric_time__"):
            expr = f"cast({expr} as date)"
        columns.append(f"{expr} as {_quoted(column_name(given))}")
    columns.extend(_quoted(m) for m in metrics)
    order = ", ".join(str(i) for i in range(1, len(by) + 1))
    inner = sql.rstrip().rstrip(";")
    return f"select {', '.join(columns)}\nfrom (\n{inner}\n) as metricflow" + (
        f"\norder by {order}" if order else ""
    )
