"""Admin routes under ``/_sim/``: drive the simulator from outside while it serves.

Mounted only when the app is built with ``admin=True`` (CLI ``--admin``). JSON in, JSON
out; data-changing routes return the affected ids.

=====================================  ===================================================
``POST clock/advance``                 ``{"seconds": N}`` -> ``{"now": ...}``
``POST orders``                        ``{"count": N, "application_id": 1}`` -> ids
``POST orders/update``                 ``{"count": N}`` or ``{"ids": [...]}`` -> ids
``POST customers/update``              same
``POST orders/forget``                 same (GDPR flag, personal fields nulled)
``POST customers/forget``              same
``POST orders/delete``                 same (hard delete)
``POST customers/delete``              same (hard delete: the customer, addresses and
                                       company links go, their orders are forgotten)
``POST rename``                        ``{"namespace", "set", "key", "name"}`` -> ``{"renamed": N}``
``POST costs``                         ``{"part_no", "price_list_id", "cost"}`` -> changed rows
``POST currencies/rate``               ``{"code", "rate"}`` (rate card from now on)
``POST schema/add-property``           ``{"namespace", "type", "name", "edm_type", "default"}``
``POST schema/remove-property``        ``{"namespace", "type", "name"}``
``POST schema/change-type``            ``{"namespace", "type", "name", "edm_type"}``
``POST faults``                        ``{"spec": "rate_limit=5,..."}`` (empty: no faults)
``POST tokens/revoke``                 -> ``{"revoked": N}``
``GET stats``                          requests by status and path, tokens, faults,
                                       profile, budget rejections, rows
=====================================  ===================================================

Ids in replies are the keys as the API serves them: under the ``string_ids`` profile switch
orders are ``"1000001"``; requests may give ``ids`` as numbers or digit strings.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from simulator.faults import FaultConfig

if TYPE_CHECKING:
    from simulator.app import SimulatorApp
    from simulator.control import Simulator

Payload = dict[str, Any]
Handler = Callable[[Payload], Payload]

_ORDER = ("Orders", "Order")
_CUSTOMER = ("Customers", "Customer")


class AdminError(Exception):
    """A bad admin request (answered 400)."""


class AdminApi:
    """Dispatches admin requests to the app's simulator, token service and faults."""

    def __init__(self, app: SimulatorApp) -> None:
        self.app = app
        sim = app.sim
        self._post: dict[str, Handler] = {
            "clock/advance": lambda b: {"now": sim.advance(_num(b, "seconds")).isoformat()},
            "orders": lambda b: {
                "ids": sim.served_ids(
                    *_ORDER, sim.create_orders(int(_num(b, "count")), b.get("application_id"))
                )
            },
            "orders/update": _by_ids(sim, sim.update_orders, _ORDER),
            "customers/update": _by_ids(sim, sim.update_customers, _CUSTOMER),
            "orders/forget": _by_ids(sim, sim.forget_orders, _ORDER),
            "customers/forget": _by_ids(sim, sim.forget_customers, _CUSTOMER),
            "orders/delete": _by_ids(sim, sim.delete_orders, _ORDER),
            "customers/delete": _by_ids(sim, sim.delete_customers, _CUSTOMER),
            "rename": lambda b: {
                "renamed": sim.rename(
                    _str(b, "namespace"), _str(b, "set"), b.get("key"), _str(b, "name")
                )
            },
            "costs": lambda b: {
                "changed": sim.set_cost(
                    _str(b, "part_no"), int(_num(b, "price_list_id")), Decimal(str(_num(b, "cost")))
                )
            },
            "currencies/rate": self._set_rate,
            "schema/add-property": self._add_property,
            "schema/remove-property": self._remove_property,
            "schema/change-type": self._change_type,
            "faults": self._faults,
            "tokens/revoke": lambda b: {"revoked": app.tokens.revoke_all()},
        }
        self._get: dict[str, Callable[[], Payload]] = {"stats": self.stats}

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, Payload]:
        """Answer one admin request.

        Args:
            method: HTTP method.
            path: the route below ``/_sim/``, e.g. ``"orders/update"``.
            body: the JSON request body (may be empty).

        Returns:
            ``(status, payload)``: 200, or 400/404/405 with ``{"error": ...}``.
        """
        route = path.strip("/")
        if route not in self._post and route not in self._get:
            return 404, {"error": f"no admin route {route!r}"}
        if method == "GET" and route in self._get:
            return 200, self._get[route]()
        if method != "POST" or route not in self._post:
            return 405, {"error": f"{method} is not allowed on {route!r}"}
        try:
            payload = orjson.loads(body) if body.strip() else {}
            if not isinstance(payload, dict):
                raise AdminError("the body must be a JSON object")
            return 200, self._post[route](payload)
        except orjson.JSONDecodeError as exc:
            return 400, {"error": f"invalid JSON: {exc}"}
        except (AdminError, KeyError, ValueError, TypeError) as exc:
            return 400, {"error": str(exc) or type(exc).__name__}

    def stats(self) -> Payload:
        """Requests by status and path, tokens issued, injected faults, rows per type."""
        app = self.app
        return {
            "requests": app.state.snapshot(),
            "tokens_issued": app.tokens.issued,
            "faults": app.faults.config.to_spec(),
            "faults_injected": dict(app.faults.injected.counts),
            "profile": app.profile.to_spec(),
            "budget_rejected": 0 if app.budget is None else app.budget.rejected,
            "store_version": app.sim.store.version,
            "rows": app.sim.stats(),
        }

    def _add_property(self, body: Payload) -> Payload:
        self.app.sim.add_property(
            _str(body, "namespace"),
            _str(body, "type"),
            _str(body, "name"),
            body.get("edm_type", "Edm.String"),
            body.get("default"),
        )
        return {"schema_version": self.app.sim.schema.version}

    def _remove_property(self, body: Payload) -> Payload:
        self.app.sim.remove_property(
            _str(body, "namespace"), _str(body, "type"), _str(body, "name")
        )
        return {"schema_version": self.app.sim.schema.version}

    def _change_type(self, body: Payload) -> Payload:
        self.app.sim.change_type(
            _str(body, "namespace"), _str(body, "type"), _str(body, "name"), _str(body, "edm_type")
        )
        return {"schema_version": self.app.sim.schema.version}

    def _set_rate(self, body: Payload) -> Payload:
        code, rate = _str(body, "code"), Decimal(str(_num(body, "rate")))
        self.app.sim.set_exchange_rate(code, rate)
        return {"code": code.upper(), "rate": str(rate)}

    def _faults(self, body: Payload) -> Payload:
        config = FaultConfig.parse(body.get("spec") or "")
        self.app.set_faults(config)
        return {"faults": config.to_spec()}


def _by_ids(sim: Simulator, method: Callable[..., list[int]], ref: tuple[str, str]) -> Handler:
    def handler(body: Payload) -> Payload:
        ids = body.get("ids")
        count = int(body.get("count", 0))
        found = method(n=count, ids=None if ids is None else _numeric_ids(ids))
        return {"ids": sim.served_ids(*ref, found)}

    return handler


def _numeric_ids(ids: object) -> list[int]:
    """``ids`` as integers: numbers, or digit strings as served under ``string_ids``."""
    if isinstance(ids, list) and all(
        (isinstance(i, int) and not isinstance(i, bool)) or (isinstance(i, str) and i.isdigit())
        for i in ids
    ):
        return [int(i) for i in ids]
    raise AdminError("'ids' must be a list of integers (or of digit strings)")


def _num(body: Payload, name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AdminError(f"'{name}' must be a number")
    return float(value)


def _str(body: Payload, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise AdminError(f"'{name}' must be a non-empty string")
    return value
