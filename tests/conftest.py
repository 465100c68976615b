"""Shared fixtures: a fresh store for every test, on a real DuckDB file (and, in the modules of
BOTH_BACKENDS, on a real PostgreSQL server too); for browser tests, the dashboard served on the
demo data and a Chromium browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_support import PostgresServer, postgres_server
from playwright.sync_api import Browser, Page, sync_playwright

from coprod.store import Store

# Their tests run once on a store file and once on a PostgreSQL store: the same tests, so the
# two backends cannot drift apart.
BOTH_BACKENDS = {
    "test_store",
    "test_records",
    "test_rules_fts",
    "test_rules_tb",
    "test_rules_rep_hc",
    "test_rules_after_writes",
    "test_import",
    "test_import_safety",
    "test_roundtrip",
    "test_worked_example",
    "test_access",
    "test_healthcheck",
    "test_evidence",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what needs a PostgreSQL server (``postgres``) and what runs the dashboard's pages
    under AppTest (``pages``), so that ``make test-fast`` can leave them out; the browser tests
    mark themselves (``browser``)."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "postgres" in fixtures or "postgres" in params.values():
            item.add_marker(pytest.mark.postgres)
        module = getattr(item, "module", None)
        if module is not None and hasattr(module, "AppTest"):
            item.add_marker(pytest.mark.pages)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames and metafunc.module.__name__ in BOTH_BACKENDS:
        metafunc.parametrize("backend", ["file", "postgres"])


@pytest.fixture
def backend() -> str:
    """Where the ``store`` fixture keeps its data: "file", unless the module tests both."""
    return "file"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for this test process."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def store(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Store]:
    if backend == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        opened = Store(server.new_database())
    else:
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
