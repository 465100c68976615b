"""The dashboard in a real browser: `streamlit run` served on loopback, driven in Chromium.

These tests fail (never skip) when Chromium is missing: `.ci/run` installs it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from browser_support import assert_no_exception, demo_store, load, serve, settle
from playwright.sync_api import Page

import ui
from coprod.settings import DEMO_DIR

pytestmark = pytest.mark.browser


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
    load(page, server + path)
    assert_no_exception(page)
    assert page.get_by_role("heading", name=heading).is_visible()
    assert page.get_by_text("Demo data.").is_visible()


def test_decision_story_opens_from_a_link(server: str, page: Page) -> None:
    with (DEMO_DIR / "decisions.csv").open(encoding="utf-8") as handle:
        first = next(csv.DictReader(handle))
    load(page, f"{server}/decision?decision={first['decision_id']}")
    assert_no_exception(page)
    assert page.get_by_role("heading", name=first["title"]).is_visible()
    assert page.get_by_role("heading", name="Findings").is_visible()
    chart = page.locator("[data-testid='stPlotlyChart']")
    chart.first.wait_for(timeout=30_000)
    assert chart.count() == 1


def test_navigation_reaches_every_page(server: str, page: Page) -> None:
    # The local admin sees every page in the menu; each opens from its link, with its own
    # heading and no exception.
    load(page, server)
    menu = page.get_by_test_id("stSidebarNav")
    titles = [title for _, title, _, _ in ui.PAGES]
    assert menu.get_by_role("link").count() == len(titles) == 14
    seen: list[str] = []
    for title in [*titles[1:], titles[0]]:
        menu.get_by_role("link", name=title, exact=True).click()
        settle(page)
        heading = page.get_by_role("heading", level=1).first
        heading.wait_for(timeout=30_000)
        assert_no_exception(page)
        seen.append(heading.inner_text())
        assert page.get_by_role("heading", level=1).count() == 1, title
    assert len(set(seen)) == len(titles)  # a page of its own each time
    assert seen[-1] == "Were people involved from the start?"


def test_an_empty_store_loads_the_demo_data_with_one_button(tmp_path: Path, page: Page) -> None:
    with serve(tmp_path / "empty.duckdb", tmp_path / "streamlit.log") as url:
        load(page, url)
        assert page.get_by_text("The store is empty").is_visible()
        page.get_by_role("button", name="Load the demo data").click()
        page.get_by_role("heading", name="Were people involved from the start?").wait_for(
            timeout=60_000
        )
        assert_no_exception(page)
        assert page.get_by_text("The store is empty").count() == 0
        assert page.get_by_text("Demo data.").is_visible()


def test_a_deep_link_works_on_a_freshly_started_server(tmp_path: Path, page: Page) -> None:
    # The first run of a fresh process may open a page directly; it must still get the
    # dashboard's navigation and the decision the link names.
    db = demo_store(tmp_path / "demo.duckdb")
    with (DEMO_DIR / "decisions.csv").open(encoding="utf-8") as handle:
        third = list(csv.DictReader(handle))[2]
    with serve(db, tmp_path / "streamlit.log") as url:
        load(page, f"{url}/decision?decision={third['decision_id']}")
        page.get_by_role("heading", name=third["title"]).wait_for(timeout=30_000)
        assert page.get_by_role("link", name="Decision story").is_visible()
        assert page.get_by_role("link", name="Import and export").is_visible()
        assert_no_exception(page)


def test_representation_page_loads_with_its_charts(server: str, page: Page) -> None:
    load(page, f"{server}/representation")
    page.get_by_role("heading", name="Representation", exact=True).wait_for(timeout=30_000)
    chart = page.locator("[data-testid='stPlotlyChart']")
    chart.nth(2).wait_for(timeout=30_000)
    assert_no_exception(page)
    assert page.get_by_text("A lived-experience voice was at the table at").first.is_visible()
    assert chart.count() == 3


def test_health_check_page_loads_with_its_charts(server: str, page: Page) -> None:
    load(page, f"{server}/health_check")
    page.get_by_role("heading", name="Health-checks", exact=True).wait_for(timeout=30_000)
    chart = page.locator("[data-testid='stPlotlyChart']")
    chart.nth(1).wait_for(timeout=30_000)
    assert_no_exception(page)
    assert page.get_by_text("Latest health-checks:").first.is_visible()
    assert chart.count() == 2


def test_meeting_mode_shows_the_agenda_in_large_type(server: str, page: Page) -> None:
    load(page, f"{server}/meeting")
    assert_no_exception(page)
    page.get_by_role("heading", name="Item 1:").first.wait_for(timeout=30_000)
    assert page.get_by_role("heading", name="Before you decide").first.is_visible()
    # The sentence for the minutes is a code block, which the browser draws a moment later.
    page.get_by_text("Before deciding item 1,").first.wait_for(timeout=30_000)
    size = page.locator("[data-testid='stMainBlockContainer'] p").first.evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert size >= 20, f"meeting mode text is {size}px"


def test_the_board_report_can_be_downloaded(server: str, page: Page) -> None:
    load(page, f"{server}/reports")
    page.get_by_role("button", name="Prepare the report").click()
    button = page.get_by_role("button", name="Download the report (PDF)")
    button.wait_for(timeout=60_000)
    with page.expect_download() as download:
        button.click()
    path = download.value.path()
    assert path is not None
    assert Path(path).read_bytes().startswith(b"%PDF")
    assert_no_exception(page)
