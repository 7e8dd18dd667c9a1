"""The docs and report pages published beside the warehouse, seen in a real browser.

Screenshots: ``test-artifacts/docs-fct_orders-lineage.png`` and ``test-artifacts/report.png``
(see ``tests/flows/browser.py``).
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.docs_server import DocsServer
from flows.pages import docs_path, report_path
from tests.flows.browser import artifacts_dir, chromium, distinct_colours
from tests.flows.helpers import PublishedRun, artifacts_of, query

pytestmark = pytest.mark.slow

MART = "fct_orders"


@pytest.fixture(scope="module")
def served(published_run: PublishedRun) -> Iterator[str]:
    server = DocsServer(published_run.target, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()


def _parents(target: Path, model: str) -> list[str]:
    manifest = json.loads((target.parent / "dbt" / "target" / "manifest.json").read_text())
    node = manifest["nodes"][f"model.norce_warehouse.{model}"]
    return [uid.rsplit(".", 1)[-1] for uid in node["depends_on"]["nodes"]]


def test_pages_are_published_beside_the_warehouse(published_run: PublishedRun) -> None:
    target = published_run.target
    assert docs_path(target).name == "norce.docs.html" and docs_path(target).is_file()
    assert report_path(target).name == "norce.report.html" and report_path(target).is_file()
    leftovers = [p.name for p in target.parent.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers


def test_docs_page_shows_a_marts_columns_and_lineage(
    published_run: PublishedRun, served: str
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    columns = [
        r[0]
        for r in query(
            published_run.target,
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = ? order by ordinal_position",
            [MART],
        )
    ]
    assert len(columns) > 10
    with chromium() as browser:
        browser.get(f"{served}#!/model/model.norce_warehouse.{MART}")
        WebDriverWait(browser, 60).until(
            lambda b: columns[-1] in b.find_element(By.TAG_NAME, "body").text
        )
        text = browser.find_element(By.TAG_NAME, "body").text
        missing = [c for c in columns if not re.search(rf"(?m)^{re.escape(c)}$", text)]
        assert not missing, f"columns not shown: {missing}"
        depends = text[text.rindex("Depends On") :]
        for parent in _parents(published_run.target, MART):
            assert parent in depends, f"lineage parent {parent} not listed"

        browser.find_element(By.CSS_SELECTOR, 'a[title="View Lineage Graph"]').click()
        graph = browser.find_element(By.CSS_SELECTOR, "#graph-viz-wrapper")
        WebDriverWait(browser, 30).until(lambda b: distinct_colours(graph.screenshot_as_png) > 50)
        browser.save_screenshot(str(artifacts_dir() / f"docs-{MART}-lineage.png"))


def test_report_page_shows_its_charts(published_run: PublishedRun, served: str) -> None:
    from selenium.webdriver.common.by import By

    with chromium(height=2000) as browser:
        browser.get(f"{served}report")
        charts = browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")
        assert len(charts) == 2
        for chart in charts:
            assert chart.size["width"] > 400 and chart.size["height"] > 150
            assert distinct_colours(chart.screenshot_as_png) > 20  # drawn, not blank
        captions = [c.text for c in browser.find_elements(By.TAG_NAME, "figcaption")]
        apps = query(
            published_run.target,
            "select count(distinct application_id) from marts.mart_sales_daily",
        )[0][0]
        assert f"{apps} applications" in captions[0]
        run_id = published_run.state.result().summary.run_id
        assert run_id in browser.find_element(By.TAG_NAME, "h1").text
        browser.save_screenshot(str(artifacts_dir() / "report.png"))


def test_artifact_charts_are_png_images(published_run: PublishedRun) -> None:
    from PIL import Image

    markdown = artifacts_of(published_run.state.state_details.flow_run_id)["norce-elt-report"].data
    images = re.findall(r"!\[([^\]]+)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert len(images) == 2
    assert images[0][0].startswith("Net revenue per day by application")
    assert re.search(r"^\d+ runs? from ", images[1][0])
    for _, data in images:
        picture = Image.open(io.BytesIO(base64.b64decode(data)))
        assert picture.format == "PNG" and picture.size == (900, 360)
