"""Many processes, one truth: two `streamlit run` processes on different ports serve one
PostgreSQL store at once. A record saved through one dashboard shows in the other on its next
rerun, and writes from both dashboards and from a third process at the same time lose nothing.

These tests fail (never skip) when Chromium or PostgreSQL is missing: `.ci/run` installs both.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_support import assert_no_exception, serve, settle
from builders import DAY, Dataset
from pg_support import PostgresServer
from playwright.sync_api import Browser, Page, expect

from coprod.settings import PROJECT_ROOT
from coprod.store import Store

pytestmark = pytest.mark.browser

# A decision identified a month ago is pending today: it counts in the default period.
IDENTIFIED = dt.date.today() - dt.timedelta(days=30)
SAVED = "Saved the new decision."
HEADINGS = {"Record": "Record", "Decisions": "Decision register"}
# Every decision test_writes_from_everywhere_at_once_lose_nothing saves has it in its title.
TOKEN = "Parallel save"

# Another process writing through coprod.records: it saves a decision every half second,
# printing each id once it is committed; the first save it starts after the stop file has
# appeared is its last.
WRITER = """
import datetime as dt, sys, time
from pathlib import Path
from coprod import records
from coprod.models import Decision
from coprod.store import Change, Store

location, board, prefix, title, identified, stop = sys.argv[1:7]
with Store(location) as store:
    number = 0
    while True:
        last = Path(stop).exists()
        number += 1
        decision_id = f"{prefix}-{number:03d}"
        decision = Decision(
            decision_id=decision_id,
            board_id=board,
            title=f"{title} {decision_id}",
            identified_on=dt.date.fromisoformat(identified),
        )
        records.save(store, decision, Change("writer process", "cli"))
        print(decision_id, flush=True)
        if last:
            break
        time.sleep(0.5)
"""


@dataclass(frozen=True)
class Pair:
    """One PostgreSQL store, two dashboards serving it, and a browser tab open on each."""

    database: str
    url_a: str
    url_b: str
    page_a: Page
    page_b: Page
    # What each overview said of the findings when it first loaded.
    findings_said: tuple[str, str]


def _dataset() -> Dataset:
    """A board with a decision taken after involving people from the start, one taken
    without involving anyone, and one still open."""
    today = dt.date.today()
    data = Dataset()
    data.board("b1", name="Riverside Integration Joint Board")
    data.meeting("m1", date=today - 60 * DAY)
    data.decision(
        "d1", title="Day services review", identified_on=today - 200 * DAY,
        options_fixed_on=today - 120 * DAY, decided_on=today - 60 * DAY, meeting_id="m1",
        outcome="approved",
    )  # fmt: skip
    data.involvement(start_date=today - 190 * DAY, feedback_on=today - 50 * DAY)
    data.decision(
        "d2", title="Transport contract", identified_on=today - 150 * DAY,
        decided_on=today - 60 * DAY, meeting_id="m1", outcome="approved",
    )  # fmt: skip
    data.decision("d3", title="Respite beds", identified_on=today - 40 * DAY)
    return data


@pytest.fixture(scope="module")
def pair(
    postgres: PostgresServer, browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    database = postgres.new_database()
    with Store(database) as store:
        _dataset().load(store)
    folder = tmp_path_factory.mktemp("two_servers")
    contexts = [
        browser.new_context(viewport={"width": 1280, "height": 900}, reduced_motion="reduce")
        for _ in range(2)
    ]
    try:
        with (
            serve(database, folder / "a.log") as url_a,
            serve(database, folder / "b.log") as url_b,
        ):
            assert url_a != url_b
            page_a, page_b = (context.new_page() for context in contexts)
            # Both at once: the two processes open the store together. With a store file the
            # second would find it locked by the first.
            page_a.goto(url_a)
            page_b.goto(url_b)
            said = []
            for page in (page_a, page_b):
                settle(page)
                assert_no_exception(page)
                heading = page.get_by_role("heading", name="Were people involved from the start?")
                assert heading.is_visible()
                said.append(page.get_by_text(re.compile(r"^In the period there")).inner_text())
            yield Pair(database, url_a, url_b, page_a, page_b, (said[0], said[1]))
    finally:
        for context in contexts:
            context.close()


def test_both_dashboards_open_the_one_store(pair: Pair) -> None:
    # The fixture loaded both overviews without an exception, from the one store: both count
    # the same findings.
    assert pair.findings_said[0] == pair.findings_said[1]
    assert "critical finding" in pair.findings_said[0]


def _fill_new_decision(page: Page, decision_id: str, title: str) -> None:
    """Fill the Record page's form for a new decision (the page must show an empty one)."""
    expect(page.get_by_role("textbox", name="Decision id")).to_have_value("", timeout=30_000)
    page.get_by_role("textbox", name="Decision id").fill(decision_id)
    page.get_by_role("textbox", name="Title").fill(title)
    page.get_by_label("day, Identified on *", exact=True).click()
    page.keyboard.type(f"{IDENTIFIED:%d%m%Y}")


def _saved(page: Page, decision_id: str, title: str) -> None:
    """Wait until the Record page says it saved the decision, and shows it."""
    page.get_by_text(SAVED).wait_for(timeout=60_000)
    settle(page)
    assert_no_exception(page)
    expect(page.get_by_role("combobox", name="Which decision")).to_have_value(
        f"{decision_id} — {title}", timeout=30_000
    )


def _new_decision(page: Page) -> None:
    """After a save the Record page shows the record saved: go back to a new one."""
    page.get_by_role("combobox", name="Which decision").click()
    page.keyboard.type("New decision")
    page.get_by_role("option", name="New decision…").click()
    settle(page)


def _open_new_decision(page: Page) -> None:
    """Open the Record page on a new decision, wherever the tab was."""
    _go_to(page, "Record")
    if page.get_by_role("combobox", name="Which decision").input_value() != "New decision…":
        _new_decision(page)  # the session saved a decision before, and the page shows it


def _go_to(page: Page, link: str) -> None:
    """Open a page through the menu: a rerun of the same session, wherever it was."""
    page.get_by_role("link", name=link, exact=True).click()
    settle(page)
    page.get_by_role("heading", name=HEADINGS[link]).wait_for(timeout=60_000)


def test_a_record_saved_in_one_dashboard_shows_in_the_other(pair: Pair) -> None:
    decision_id, title = "two-servers-1", "Saved in the first dashboard"
    a, b = pair.page_a, pair.page_b
    # B is already open on the decision story before the save ...
    b.goto(f"{pair.url_b}/decision")
    a.goto(f"{pair.url_a}/record")
    settle(b)
    settle(a)
    assert b.get_by_text(title).count() == 0
    # ... A saves a new decision through its Record page ...
    _fill_new_decision(a, decision_id, title)
    a.get_by_role("button", name="Save", exact=True).click()
    _saved(a, decision_id, title)
    with Store(pair.database, read_only=True) as store:
        assert store.query("SELECT title FROM decision WHERE decision_id = ?", [decision_id]) == [
            {"title": title}
        ]
    # ... and B's next rerun (a search in the same session, no reload) finds it and tells its
    # story.
    search = b.get_by_role("textbox", name="Find a decision")
    search.fill(decision_id)
    search.press("Enter")
    settle(b)
    b.get_by_role("combobox", name="Decision").click()
    b.get_by_role("option", name=f"{decision_id} — {title}").click()
    b.get_by_role("heading", name=title).wait_for(timeout=60_000)
    settle(b)
    assert_no_exception(b)
    assert b.get_by_text(decision_id).first.is_visible()


class Writer:
    """The writer process (WRITER), started at once; it saves until it is stopped."""

    def __init__(self, database: str, folder: Path) -> None:
        with Store(database, read_only=True) as store:
            board = store.query("SELECT min(board_id) AS board FROM board")[0]["board"]
        self.out, self.err = folder / "writer.out", folder / "writer.err"
        self.stop_file = folder / "writer.stop"
        with self.out.open("w") as stdout, self.err.open("w") as stderr:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-c", WRITER, database, board, "both-c", TOKEN,
                    IDENTIFIED.isoformat(), str(self.stop_file),
                ],
                cwd=PROJECT_ROOT, stdout=stdout, stderr=stderr,
            )  # fmt: skip

    def wait_for_first_save(self) -> None:
        deadline = time.monotonic() + 60
        while not self.out.read_text().strip():
            if self.process.poll() is not None:
                pytest.fail(f"the writer process stopped: {self.err.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail("the writer process saved nothing within 60 s")
            time.sleep(0.2)

    def stop(self) -> None:
        self.stop_file.touch()
        try:
            self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()

    def saved(self) -> list[str]:
        """The ids it saved, once it has stopped of itself."""
        assert self.process.returncode == 0, self.err.read_text()
        return self.out.read_text().split()


def test_writes_from_everywhere_at_once_lose_nothing(pair: Pair, tmp_path: Path) -> None:
    rounds = 3
    a, b = pair.page_a, pair.page_b
    with Store(pair.database, read_only=True) as store:
        version_before = store.data_version()
    writer = Writer(pair.database, tmp_path)
    saved_by: dict[Page, list[str]] = {a: [], b: []}
    try:
        for page in (a, b):
            _open_new_decision(page)
        # The browsers' saves all fall among the writer's: it saves first, and last.
        writer.wait_for_first_save()
        for number in range(1, rounds + 1):
            for page, name in ((a, "a"), (b, "b")):
                decision_id = f"both-{name}-{number}"
                _fill_new_decision(page, decision_id, f"{TOKEN} {decision_id}")
                saved_by[page].append(decision_id)
            # Both dashboards save at once, while the writer process keeps saving too.
            a.get_by_role("button", name="Save", exact=True).click()
            b.get_by_role("button", name="Save", exact=True).click()
            for page in (a, b):
                _saved(page, saved_by[page][-1], f"{TOKEN} {saved_by[page][-1]}")
            if number < rounds:
                for page in (a, b):
                    _new_decision(page)
    finally:
        writer.stop()
    by_writer = writer.saved()
    by_form = saved_by[a] + saved_by[b]
    expected = set(by_form) | set(by_writer)
    assert len(by_writer) >= 2
    assert len(expected) == len(by_form) + len(by_writer)

    # In the store: every decision, one audit entry for each save, one data version for each.
    with Store(pair.database, read_only=True) as store:
        found = store.query("SELECT decision_id FROM decision WHERE decision_id LIKE 'both-%'")
        assert {row["decision_id"] for row in found} == expected
        audit = [e for e in store.audit_entries(entity="decision") if e["record_key"] in expected]
        assert Counter(e["record_key"] for e in audit) == dict.fromkeys(expected, 1)
        assert all(e["action"] == "create" for e in audit)
        assert {e["record_key"] for e in audit if e["source"] == "form"} == set(by_form)
        assert {e["record_key"] for e in audit if e["source"] == "cli"} == set(by_writer)
        assert store.data_version() == version_before + len(expected)
    # The writes did overlap: the writer saved before, between and after the browsers' saves.
    order = [e["source"] for e in sorted(audit, key=lambda e: e["audit_id"])]
    first, last = order.index("form"), len(order) - 1 - order[::-1].index("form")
    assert order[0] == order[-1] == "cli"
    assert "cli" in order[first:last], order

    # On a page: each dashboard's register lists every one of them.
    for page in (a, b):
        _go_to(page, "Decisions")
        search = page.get_by_role("textbox", name="Search titles, summaries and ids")
        search.fill(TOKEN)
        search.press("Enter")
    for page in (a, b):
        page.get_by_text(f"Showing {len(expected)} decisions of").wait_for(timeout=60_000)
        settle(page)
        assert_no_exception(page)
