"""The dashboard in a real browser: `streamlit run` served on loopback, driven in Chromium.

These tests fail (never skip) when Chromium is missing: `.ci/run` installs it.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from coprod.interchange import import_source
from coprod.settings import DEMO_DIR, PROJECT_ROOT
from coprod.store import Change, Store

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(db: Path, log_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port with COPROD_DB=db; yields its URL."""
    port = _free_port()
    env = {**os.environ, "COPROD_DB": str(db)}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(PROJECT_ROOT / "app.py"),
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail("streamlit run did not start within 60 s")
                    time.sleep(0.3)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=20)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("browser")
    db = folder / "demo.duckdb"
    with Store(db) as store:
        import_source(store, DEMO_DIR, Change("test", "import"))
    with serve(db, folder / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"Chromium is missing at {CHROMIUM}: apt-get install chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def _load(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(READY, timeout=60_000)


def _assert_no_exception(page: Page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0
    assert "Traceback" not in page.inner_text("body")


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/", "Were people involved from the start?"),
        ("/decisions", "Decision register"),
        ("/method", "How decisions are judged"),
    ],
)
def test_every_page_loads_without_an_exception(
    server: str, page: Page, path: str, heading: str
) -> None:
    _load(page, server + path)
    _assert_no_exception(page)
    assert page.get_by_role("heading", name=heading).is_visible()
    assert page.get_by_text("Demo data.").is_visible()


def test_decision_story_opens_from_a_link(server: str, page: Page) -> None:
    with (DEMO_DIR / "decisions.csv").open(encoding="utf-8") as handle:
        first = next(csv.DictReader(handle))
    _load(page, f"{server}/decision?decision={first['decision_id']}")
    _assert_no_exception(page)
    assert page.get_by_role("heading", name=first["title"]).is_visible()
    assert page.get_by_role("heading", name="Findings").is_visible()
    chart = page.locator("[data-testid='stPlotlyChart']")
    chart.first.wait_for(timeout=30_000)
    assert chart.count() == 1


def test_navigation_reaches_every_page(server: str, page: Page) -> None:
    _load(page, server)
    for name, heading in [
        ("Decisions", "Decision register"),
        ("Decision story", "Findings"),
        ("Method", "How decisions are judged"),
        ("Overview", "Were people involved from the start?"),
    ]:
        page.get_by_role("link", name=name).click()
        page.wait_for_selector(READY, timeout=60_000)
        page.get_by_role("heading", name=heading).wait_for(timeout=30_000)
        _assert_no_exception(page)


def test_an_empty_store_loads_the_demo_data_with_one_button(tmp_path: Path, page: Page) -> None:
    with serve(tmp_path / "empty.duckdb", tmp_path / "streamlit.log") as url:
        _load(page, url)
        assert page.get_by_text("The store is empty").is_visible()
        page.get_by_role("button", name="Load the demo data").click()
        page.get_by_role("heading", name="Were people involved from the start?").wait_for(
            timeout=60_000
        )
        _assert_no_exception(page)
        assert page.get_by_text("The store is empty").count() == 0
        assert page.get_by_text("Demo data.").is_visible()


def test_a_deep_link_works_on_a_freshly_started_server(tmp_path: Path, page: Page) -> None:
    # The first run of a fresh process may open a page directly; it must still get the
    # dashboard's navigation and the decision the link names.
    db = tmp_path / "demo.duckdb"
    with Store(db) as store:
        import_source(store, DEMO_DIR, Change("test", "import"))
    with (DEMO_DIR / "decisions.csv").open(encoding="utf-8") as handle:
        third = list(csv.DictReader(handle))[2]
    with serve(db, tmp_path / "streamlit.log") as url:
        _load(page, f"{url}/decision?decision={third['decision_id']}")
        page.get_by_role("heading", name=third["title"]).wait_for(timeout=30_000)
        assert page.get_by_role("link", name="Decision story").is_visible()
        assert page.get_by_role("link", name="Import and export").is_visible()
        _assert_no_exception(page)


def test_representation_page_loads_with_its_charts(server: str, page: Page) -> None:
    _load(page, f"{server}/representation")
    page.get_by_role("heading", name="Representation", exact=True).wait_for(timeout=30_000)
    chart = page.locator("[data-testid='stPlotlyChart']")
    chart.nth(2).wait_for(timeout=30_000)
    _assert_no_exception(page)
    assert page.get_by_text("A lived-experience voice was at the table at").first.is_visible()
    assert chart.count() == 3


def test_health_check_page_loads_with_its_charts(server: str, page: Page) -> None:
    _load(page, f"{server}/health_check")
    page.get_by_role("heading", name="Health-checks", exact=True).wait_for(timeout=30_000)
    chart = page.locator("[data-testid='stPlotlyChart']")
    chart.nth(1).wait_for(timeout=30_000)
    _assert_no_exception(page)
    assert page.get_by_text("Latest health-checks:").first.is_visible()
    assert chart.count() == 2
