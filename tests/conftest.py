"""Shared fixtures: a fresh store on a real DuckDB file for every test; for browser tests, the
dashboard served on the demo data and a Chromium browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from coprod.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "coprod.duckdb")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard served on loopback from a store holding the demo data."""
    from browser_support import demo_store, serve

    folder = tmp_path_factory.mktemp("served")
    with serve(demo_store(folder / "demo.duckdb"), folder / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    from browser_support import launch

    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # Reduced motion, as many users set it: scans then see the page as it settles, not mid-fade.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, reduced_motion="reduce")
    opened = context.new_page()
    yield opened
    context.close()
