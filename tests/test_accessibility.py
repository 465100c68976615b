"""Accessibility in a real browser (WCAG 2.2 AA): axe-core scans of every page and its main
states, a keyboard-only journey, and reflow at 320 CSS pixels.

Run only these with: .venv/bin/pytest tests/test_accessibility.py
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser_support import WCAG_TAGS, assert_no_exception, demo_store, launch, load, serve, settle
from playwright.sync_api import Browser, Page, sync_playwright

from coprod.settings import DEMO_DIR

pytestmark = pytest.mark.browser

with (DEMO_DIR / "decisions.csv").open(encoding="utf-8") as _handle:
    FIRST_DECISION = next(csv.DictReader(_handle))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("a11y")
    with serve(demo_store(folder / "demo.duckdb"), folder / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def _violations(page: Page) -> list[str]:
    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(str(n["target"]) for n in v["nodes"][:5])
        for v in result.response["violations"]
    ]


def _filter_register(page: Page) -> None:
    page.get_by_label("When people were first involved").click()
    page.get_by_role("option", name="Never").click()
    page.keyboard.press("Escape")
    settle(page)


def _form_with_errors(page: Page) -> None:
    page.get_by_role("button", name="Save", exact=True).click()
    settle(page)
    assert page.get_by_text("a value is required").first.is_visible()


def _import_with_errors(page: Page, tmp_path: Path) -> None:
    bad = tmp_path / "decisions.csv"
    bad.write_text("decision_id,board_id,title,colour\nd1,nowhere,,blue\n", encoding="utf-8")
    page.locator("input[type='file']").set_input_files(str(bad))
    page.get_by_text("Nothing can be imported yet").wait_for(timeout=30_000)
    settle(page)


def _pick_board(page: Page) -> None:
    page.get_by_role("combobox", name="Boards").click()
    page.get_by_role("option").first.click()
    page.keyboard.press("Escape")
    settle(page)


STATES: dict[str, tuple[str, Callable[..., None] | None]] = {
    "overview": ("/", None),
    "overview, one board": ("/", _pick_board),
    "register": ("/decisions", None),
    "register, filtered": ("/decisions", _filter_register),
    "decision story": (f"/decision?decision={FIRST_DECISION['decision_id']}", None),
    "representation": ("/representation", None),
    "health-checks": ("/health_check", None),
    "meeting mode": ("/meeting", None),
    "board report": ("/reports", None),
    "record": ("/record", None),
    "record, validation errors": ("/record", _form_with_errors),
    "import and export": ("/data", None),
    "import with errors": ("/data", _import_with_errors),
    "audit trail": ("/audit", None),
    "method": ("/method", None),
    "glossary": ("/glossary", None),
    "accessibility statement": ("/accessibility", None),
}


@pytest.mark.parametrize("state", list(STATES))
def test_axe_finds_no_wcag_violations(server: str, page: Page, state: str, tmp_path: Path) -> None:
    path, action = STATES[state]
    load(page, server + path)
    if action is _import_with_errors:
        action(page, tmp_path)
    elif action is not None:
        action(page)
    assert_no_exception(page)
    assert _violations(page) == []


@pytest.mark.parametrize("state", [s for s, (_, action) in STATES.items() if action is None])
def test_no_page_scrolls_sideways_at_320_pixels(browser: Browser, server: str, state: str) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 800})
    page = context.new_page()
    try:
        load(page, server + STATES[state][0])
        assert_no_exception(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{state} is {width} px wide at 320"
    finally:
        context.close()
