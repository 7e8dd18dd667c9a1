"""Scenario: hostile replies the loader already withstands, kept so it stays that way --
billion-laughs and external-entity ``$metadata`` (refused), a nextLink and a redirect to
another host (refused before anything is sent there), NUL bytes, invalid UTF-8 and
200,000-level nested JSON in a record (quarantined), and quotes or semicolons in entity
names and application ids (one line, exit 2).

A broken ``$metadata`` stops the whole run (exit 6), so those two cases run alone; one
``norce-wh extract`` meets the other reply cases, each on its own entity set, next to a
clean set that must load regardless.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.scenarios.hostile.cli import CONTROL, Outcome, norce_wh
from tests.scenarios.hostile.conftest import Hostile
from tests.scenarios.hostile.harness import QUERY, XML, Raw, Rule
from tests.scenarios.hostile.reads import (
    assert_clean_failure,
    assert_ended,
    quarantine,
    scalar,
    traces,
)
from tests.scenarios.hostile.rules import answer, on_page

pytestmark = [pytest.mark.slow, pytest.mark.scenario]

CANARY = "xxe-canary-5f3e9b"
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
<edmx:DataServices><Schema Namespace="Customers" xmlns="http://docs.oasis-open.org/odata/ns/edm">
<EntityType Name="Customer"><Key><PropertyRef Name="Id"/></Key>
<Property Name="Id" Type="Edm.Int32" Nullable="false"/>
<Property Name="CustomerCode" Type="Edm.String"><Documentation>&lol9;</Documentation></Property>
</EntityType></Schema></edmx:DataServices></edmx:Edmx>"""


def _xxe(canary: Path) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE edmx [<!ENTITY xxe SYSTEM "file://{canary}">]>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
<edmx:DataServices><Schema Namespace="Products" xmlns="http://docs.oasis-open.org/odata/ns/edm">
<EntityType Name="ProductSku"><Key><PropertyRef Name="PartNo"/></Key>
<Property Name="PartNo" Type="Edm.String" Nullable="false"/>
<Property Name="&xxe;" Type="Edm.String"/>
</EntityType></Schema></edmx:DataServices></edmx:Edmx>""".encode()


class Listener:
    """A TCP listener on another loopback host that only counts who connects."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.2", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.2:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@dataclass
class Held:
    out: Outcome
    db: Path
    other_host: Listener
    picked: dict[str, Any]


def _rules(other: Listener, picked: dict[str, Any]) -> list[Rule]:
    def next_link(doc: dict[str, Any]) -> None:
        doc["@odata.nextLink"] = f"{other.url}{QUERY}Core/Countries?$skiptoken=2"

    def poison(field: str, key: int, raw: bytes) -> Any:
        def change(doc: dict[str, Any]) -> None:
            for row in doc.get("value") or []:
                if row.get("Id") == key:
                    row[field] = Raw(raw)

        return change

    return [
        on_page(f"^{QUERY}Core/Countries$", next_link),
        answer(
            f"^{QUERY}Core/PaymentMethods$",
            302,
            b"",
            headers={"location": f"{other.url}{QUERY}Core/PaymentMethods"},
        ),
        on_page(f"^{QUERY}Orders/Invoices$", poison("InvoiceNo", picked["nul"], b'"12\x0034"')),
        on_page(
            f"^{QUERY}Orders/DeliveryNotes$",
            poison("NoteNo", picked["utf8"], b'"bad \xff\xfe utf-8"'),
        ),
        on_page(
            f"^{QUERY}Application/Categories$",
            poison("Code", picked["nested"], b"[" * 200_000 + b"]" * 200_000),
        ),
    ]


ENTITIES = (
    "Core/Countries,Core/PaymentMethods,Orders/Invoices,Orders/DeliveryNotes,"
    "Application/Categories,Core/Currencies"
)


@pytest.fixture(scope="module")
def held(hostile_server: Hostile, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Held]:
    root = tmp_path_factory.mktemp("held")
    truth = hostile_server.sim.truth
    picked = {
        "nul": int(truth("Orders", "Invoices").sort("Id")["Id"][200]),
        "utf8": int(truth("Orders", "DeliveryNotes").sort("Id")["Id"][200]),
        "nested": int(truth("Application", "Categories").sort("Id")["Id"][5]),
    }
    other = Listener()
    hostile_server.app.use(*_rules(other, picked))
    db = root / "wh" / "norce.duckdb"
    try:
        out = norce_wh(["extract", "--entities", ENTITIES], hostile_server.env(db), timeout=400)
    finally:
        hostile_server.app.use()
        other.close()
    yield Held(out, db, other, picked)


def _failed_cleanly(held: Held, entity: str) -> str:
    """The set failed with a reason in the report; the run went on and ended cleanly."""
    assert_ended(held.out)
    assert held.out.code == 10, held.out.describe()
    assert not CONTROL.search(held.out.output)
    lines = [line for line in held.out.lines if line.startswith("error:") and entity in line]
    assert lines, held.out.describe()
    assert scalar(held.db, "select count(*) from raw.currencies") == 5, "the clean set loaded"
    return lines[0]


def test_billion_laughs_metadata_is_refused(hostile: Hostile, tmp_path: Path) -> None:
    hostile.app.use(answer(f"^{QUERY}Customers/\\$metadata$", 200, LAUGHS, content_type=XML))
    db = tmp_path / "wh" / "norce.duckdb"
    out = norce_wh(["extract", "--entities", "Customers/Customers"], hostile.env(db))
    assert_clean_failure(out, codes={6})
    assert "$metadata" in out.error_lines[-1]
    assert out.max_rss_mb < 1024, out.describe()


def test_external_entity_metadata_is_refused_and_reads_no_file(
    hostile: Hostile, tmp_path: Path
) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text(CANARY)
    xxe = _xxe(canary)
    hostile.app.use(answer(f"^{QUERY}Products/\\$metadata$", 200, xxe, content_type=XML))
    db = tmp_path / "wh" / "norce.duckdb"
    out = norce_wh(["extract", "--entities", "Products/ProductSkus"], hostile.env(db))
    assert_clean_failure(out, codes={6})
    assert "$metadata" in out.error_lines[-1]
    assert CANARY not in out.output
    for path in (db, db.with_suffix(".work.duckdb")):
        if path.exists():
            assert traces(path, CANARY) == []


def test_a_next_link_to_another_host_is_refused_before_sending(held: Held) -> None:
    """Keyset paging does not follow links at all today; if a set ever follows them, a link
    to another host must fail that set instead."""
    assert_ended(held.out)
    assert held.other_host.connections == 0
    failed = [line for line in held.out.error_lines if "Core/Countries" in line]
    if failed:
        assert "another host" in failed[0], failed[0]
    else:
        assert scalar(held.db, "select count(*) from raw.countries") == 10


def test_a_redirect_to_another_host_is_refused_before_sending(held: Held) -> None:
    line = _failed_cleanly(held, "Core/PaymentMethods")
    assert "redirect" in line
    assert held.other_host.connections == 0


@pytest.mark.parametrize(
    ("entity", "which"),
    [
        ("Orders/Invoices", "nul"),
        ("Orders/DeliveryNotes", "utf8"),
        ("Application/Categories", "nested"),
    ],
    ids=["nul-bytes", "invalid-utf8", "nested-200000"],
)
def test_a_record_that_cannot_be_read_is_quarantined(held: Held, entity: str, which: str) -> None:
    assert_ended(held.out)
    key = held.picked[which]
    rows = quarantine(held.db, entity)
    assert rows, f"{entity}: nothing quarantined\n{held.out.describe()}"
    after = [int(str(r["key_after"]).strip("[]")) for r in rows if r["key_after"]]
    before = [int(str(r["key_before"]).strip("[]")) for r in rows if r["key_before"]]
    assert any(a < key for a in after) and any(b >= key for b in before), rows


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--entities", "Orders/Orders';DROP TABLE raw.orders;--"], {}),
        (["--entities", 'Core/Currencies"; rm -rf /'], {}),
        ([], {"NORCE_APPLICATION_IDS": "1;2"}),
        ([], {"NORCE_APPLICATION_IDS": "1' or 1 eq 1"}),
    ],
    ids=["entity-quote", "entity-semicolon", "app-semicolon", "app-quote"],
)
def test_quotes_and_semicolons_in_names_are_a_config_error(
    hostile: Hostile, tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    db = tmp_path / "wh" / "norce.duckdb"
    out = norce_wh(["extract", *args], hostile.env(db, **env), timeout=120)
    assert out.code == 2, out.describe()
    assert len(out.error_lines) == 1 and out.lines[0].startswith("error:"), out.describe()
    assert not db.exists() and not db.with_suffix(".work.duckdb").exists()
