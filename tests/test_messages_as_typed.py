"""Every message, label and heading that repeats what someone typed shows it as typed.

Streamlit reads the text of messages (success, info, warning, error, toast), markdown,
headings, expander and tab labels, button and widget labels, radio and segmented options and
tooltips as markdown. A board named ``**B** [a link](http://example.invalid/phish)
![i](http://127.0.0.1:8801/x)`` would show bold text, a link whose words hide where it goes
and an image fetched from elsewhere, were it put into such a text as it is. Here a store holds
that text in every name, title, note and comment, and was recorded by someone whose name is
that text too; every form that says what it did is used, and every text of every page that
Streamlit reads as markdown must hold it only escaped (as ``coprod.views.plain`` writes it).

Selectbox and multiselect options are the exception: Streamlit shows them as plain text, so
they hold typed text as it is (and escaping it would show the backslashes).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from builders import D, Dataset
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import (
    AlertBase,
    Button,
    ButtonGroup,
    Expander,
    HeadingBase,
    Latex,
    Markdown,
    PageLink,
    Radio,
    Tab,
    Table,
    Toast,
)

from coprod import records
from coprod.interchange import import_sheets
from coprod.models import Board, Decision, Entity, Involvement, Meeting, Member
from coprod.store import Change, Store
from coprod.views import plain

APP = str(Path(__file__).resolve().parents[1] / "app.py")
AS_OF = D(2026, 6, 1)

PAYLOAD = "**B** [a link](http://example.invalid/phish) ![i](http://127.0.0.1:8801/x)"
# Ids may hold underscores, which make bold text too: "__idzq__".
INVOLVEMENT = "__idzq__"
DECIDED = "__dzq__"
# What a text read as markdown may never hold: the payloads' formatting, unescaped.
RAW = ("**B**", "[a link](", "![i](", INVOLVEMENT, DECIDED)
ESCAPED = plain(PAYLOAD)


def payload_store(path: Path) -> Path:
    data = Dataset()
    data.board("b1", name=PAYLOAD, area=PAYLOAD)
    data.member("m1", name=PAYLOAD, organisation=PAYLOAD, role="officer")
    data.meeting("mt1", date=D(2026, 3, 1))
    data.attend("mt1", "m1")
    data.decision(
        "d1", title=PAYLOAD, summary=PAYLOAD, service_area=PAYLOAD, identified_on=D(2025, 6, 1)
    )
    data.involvement(
        INVOLVEMENT,
        decision_id="d1",
        organisation=PAYLOAD,
        influence=PAYLOAD,
        start_date=D(2025, 6, 10),
    )
    # Decided at a meeting where nobody with lived experience was at the table (REP-NO-VOICE).
    data.decision(
        DECIDED,
        title=PAYLOAD,
        identified_on=D(2025, 6, 1),
        options_fixed_on=D(2025, 9, 1),
        decided_on=D(2026, 3, 1),
        meeting_id="mt1",
    )
    for number in range(6):
        data.health_check(
            f"r{number}", check_date=D(2026, 2, 1), comment=PAYLOAD, score=2 + number % 3
        )
    with Store(path) as store:
        import_sheets(store, data.sheets(), Change(PAYLOAD, "import"))
    return path


@pytest.fixture(scope="module")
def payload_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return payload_store(tmp_path_factory.mktemp("typed") / "typed.duckdb")


@pytest.fixture
def db(payload_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "typed.duckdb"
    path.write_bytes(payload_file.read_bytes())
    return path


@pytest.fixture
def app(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("COPROD_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["as_of"] = AS_OF
    return at


# --- reading what a page shows as markdown -------------------------------------------------


def _cells(table: pd.DataFrame) -> Iterator[str]:
    yield from (str(v) for v in table.index)
    for column in table.columns:
        yield from (v for v in table[column] if isinstance(v, str))


def markdown_read(at: AppTest) -> list[tuple[str, str]]:
    """Every text on the page that Streamlit reads as markdown, with what holds it."""
    found: list[tuple[str, str]] = []
    nodes: list[Any] = [*at.main, *at.sidebar, *at.toast]
    for node in nodes:
        kind = type(node).__name__
        if isinstance(node, Markdown) and not isinstance(node, Latex):
            found.append((kind, node.value))
        elif isinstance(node, AlertBase | HeadingBase | Toast | PageLink):
            found.append((kind, str(node.value)))
        elif isinstance(node, Table):
            found.extend((kind, cell) for cell in _cells(node.value))
        if isinstance(node, Expander | Tab | Button) or hasattr(node, "form_id"):
            label = getattr(node, "label", "")
            found.append((f"{kind} label", str(label)))
        if isinstance(node, Radio | ButtonGroup):
            found.extend((f"{kind} option", str(option)) for option in node.options)
        help_text = getattr(node, "help", "")
        if isinstance(help_text, str) and help_text:
            found.append((f"{kind} help", help_text))
    return found


def _outside_code(text: str) -> str:
    return re.sub(r"`[^`\n]*`", "", text)  # a code span shows its text as it is


def assert_as_typed(at: AppTest, where: str) -> list[tuple[str, str]]:
    """No text read as markdown holds a payload's formatting unescaped."""
    assert not at.exception, [e.value for e in at.exception]
    texts = markdown_read(at)
    leaks = [(kind, text) for kind, text in texts if any(raw in _outside_code(text) for raw in RAW)]
    assert leaks == [], f"{where}: typed text read as markdown: {leaks}"
    return texts


def _click(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click()
    at.run()


def _message(at: AppTest) -> str:
    return " ".join(m.value for m in [*at.success, *at.error, *at.warning, *at.info])


# --- the Record page: save, withdraw and restore, for each kind of record ------------------

EDITS: list[tuple[type[Entity], str, str, Any]] = [
    (Board, "b1", "name", f"{PAYLOAD} again"),
    (Member, "m1", "organisation", f"{PAYLOAD} again"),
    (Meeting, "mt1", "papers_published_on", D(2026, 2, 20)),
    (Decision, "d1", "title", f"{PAYLOAD} again"),
    (Involvement, INVOLVEMENT, "influence", f"{PAYLOAD} again"),
]


@pytest.mark.parametrize(
    ("entity", "key", "field", "typed"), EDITS, ids=[edit[0].table for edit in EDITS]
)
def test_the_record_page_says_what_it_did_as_typed(
    app: AppTest, db: Path, entity: type[Entity], key: str, field: str, typed: Any
) -> None:
    app.switch_page("pages/record.py").run()
    app.segmented_control(key="record_kind").set_value(entity.table).run()
    assert_as_typed(app, "the Record page")
    app.selectbox(key=f"pick_{entity.table}").set_value(key).run()
    shown = assert_as_typed(app, f"{entity.table} {key} opened")
    assert any(ESCAPED in text for _, text in shown), "the record's maker, as typed"

    widget_key = f"{entity.table}_{key}_{field}"
    if isinstance(typed, dt.date):
        app.date_input(key=widget_key).set_value(typed)
    elif field == "influence":
        app.text_area(key=widget_key).input(typed)
    else:
        app.text_input(key=widget_key).input(typed)
    _click(app, "Save")
    assert "Saved your changes" in app.success[0].value, _message(app)
    assert_as_typed(app, f"{entity.table} {key} saved")

    app.text_input(key=f"withdraw_reason_{entity.table}").input(PAYLOAD)
    _click(app, "Withdraw")
    assert "Withdrawn" in app.success[0].value, _message(app)
    assert_as_typed(app, f"{entity.table} {key} withdrawn")
    assert any(ESCAPED in w.value for w in app.warning), [w.value for w in app.warning]

    _click(app, "Restore this record")
    assert "Restored" in app.success[0].value, _message(app)
    assert_as_typed(app, f"{entity.table} {key} restored")
    with Store(db) as store:
        stored = records.get(store, entity, key)
    assert stored is not None
    assert getattr(stored.record, field) == typed
    assert not stored.withdrawn


def test_a_conflict_names_who_changed_the_record_as_typed(app: AppTest, db: Path) -> None:
    app.switch_page("pages/record.py").run()
    app.selectbox(key="pick_decision").set_value("d1").run()
    with Store(db) as store:
        first = records.get(store, Decision, "d1")
        assert first is not None
        changed = first.record.model_copy(update={"summary": "Their change"})
        records.save(store, changed, Change(PAYLOAD, "form"), expected_updated_at=first.updated_at)
    app.text_input(key="decision_d1_title").input("My change")
    _click(app, "Save")
    errors = [e.value for e in app.error]
    assert any(f"{ESCAPED} changed this decision" in e for e in errors), errors
    assert_as_typed(app, "the conflict")


def test_a_health_check_response_is_saved_for_the_board_as_typed(app: AppTest, db: Path) -> None:
    app.switch_page("pages/record.py").run()
    app.segmented_control(key="record_kind").set_value("health_check").run()
    assert_as_typed(app, "the health-check form")
    app.text_input(key="hc_response_id").input("r-typed")
    app.date_input(key="hc_date").set_value(dt.date(2026, 5, 1))
    for radio in app.radio:
        if radio.key and radio.key.startswith("hc_score_"):
            radio.set_value(4)
    _click(app, "Save the response")
    said = app.success[0].value
    assert said.startswith("Saved the response r"), said
    assert said.endswith(f" for {ESCAPED}."), said
    assert_as_typed(app, "the response saved")


def test_attesting_on_the_story_says_so_as_typed(app: AppTest) -> None:
    app.query_params["decision"] = "d1"
    app.switch_page("pages/decision.py").run()
    assert_as_typed(app, "the story")
    app.radio(key=f"attestation_{INVOLVEMENT}").set_value("confirmed")
    _click(app, "Save")
    said = app.success[0].value
    assert said.startswith(f"Saved: {plain(INVOLVEMENT)} is now confirmed."), said
    assert_as_typed(app, "the story, attested")


def test_adding_a_user_says_what_was_wrong_as_typed(app: AppTest, db: Path) -> None:
    app.switch_page("pages/users.py").run()
    assert_as_typed(app, "the Users page")
    app.text_input(key="user_identity").input(PAYLOAD)
    app.text_input(key="user_name").input(PAYLOAD)
    _click(app, "Save")
    errors = [e.value for e in app.error]
    assert any(ESCAPED in e and "is not an email address" in e for e in errors), errors
    assert_as_typed(app, "a user refused")
    # A good address, then, and its name as typed.
    app.text_input(key="user_identity").input("__officer__@example.org")
    _click(app, "Save")
    assert plain("__officer__@example.org") in app.success[0].value, _message(app)
    assert_as_typed(app, "a user added")


def test_an_item_that_cannot_be_added_is_quoted_as_typed(app: AppTest) -> None:
    app.switch_page("pages/health_check.py").run()
    assert_as_typed(app, "the Health-checks page")
    link = "[a link](http://example.invalid/phish)"  # an item id holds at most 64 characters
    app.text_input(key="new_item_id").input(link)
    app.text_area(key="new_item_statement").input(PAYLOAD)
    _click(app, "Add the item")
    errors = [e.value for e in app.error]
    assert any(plain("](http://example.invalid/phish)") in e for e in errors), errors
    assert_as_typed(app, "an item refused")


PAGES = [
    "overview",
    "decisions",
    "decision",
    "representation",
    "health_check",
    "meeting",
    "reports",
    "record",
    "data",
    "audit",
    "users",
    "method",
    "glossary",
    "accessibility",
]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_typed_text_as_typed(app: AppTest, page: str) -> None:
    if page == "decision":
        app.query_params["decision"] = DECIDED
    app.switch_page(f"pages/{page}.py").run()
    assert_as_typed(app, page)
