"""Every date coprod keeps (1900-01-01 to 2199-12-31) can be shown, edited and withdrawn on the
Record page, and every date picker of the dashboard offers exactly that range."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from builders import D, Dataset
from streamlit.testing.v1 import AppTest

from coprod import records
from coprod.models import (
    EARLIEST_DATE,
    LATEST_DATE,
    Decision,
    Entity,
    Involvement,
    Meeting,
    Member,
)
from coprod.store import Store

APP = str(Path(__file__).resolve().parents[1] / "app.py")
AS_OF = D(2026, 6, 1)

# Each record with a date at or near an end of the range: (entity, id, field to edit, new text).
EDGES: list[tuple[type[Entity], str, str, str]] = [
    (Member, "mem-1900", "name", "Renamed member"),
    (Decision, "d-review-2199", "title", "Review far ahead"),
    (Decision, "d-1901", "title", "Identified long ago"),
    (Meeting, "mt-1900", "papers_published_on", ""),
    (Involvement, "i-1901", "organisation", "An old organisation"),
]


def _dataset() -> Dataset:
    data = Dataset()
    data.board("b1")
    data.member("mem-1900", start_date=EARLIEST_DATE, name="First member")
    data.meeting("mt-1900", date=EARLIEST_DATE, papers_published_on=EARLIEST_DATE)
    data.decision("d-review-2199", identified_on=D(2024, 1, 1), review_due_on=LATEST_DATE)
    data.decision("d-1901", identified_on=D(1901, 5, 5), decided_on=D(1901, 6, 1))
    data.involvement("i-1901", start_date=D(1901, 5, 10), feedback_on=LATEST_DATE)
    return data


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "edges.duckdb"
    with Store(path) as store:
        _dataset().load(store)
    return path


@pytest.fixture
def app(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("COPROD_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["as_of"] = AS_OF
    at.switch_page("pages/record.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _click(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click()
    at.run()
    _ok(at)


def _open(at: AppTest, entity: type[Entity], key: str) -> None:
    at.segmented_control(key="record_kind").set_value(entity.table).run()
    _ok(at)
    at.selectbox(key=f"pick_{entity.table}").set_value(key).run()
    _ok(at)


def _assert_range(at: AppTest) -> None:
    pickers = list(at.date_input)
    assert pickers
    for picker in pickers:
        assert (picker.min, picker.max) == (EARLIEST_DATE, LATEST_DATE), picker.label


@pytest.mark.parametrize(("entity", "key", "field", "typed"), EDGES, ids=[e[1] for e in EDGES])
def test_a_record_at_the_edge_of_the_dates_is_edited_and_withdrawn(
    app: AppTest, db: Path, entity: type[Entity], key: str, field: str, typed: str
) -> None:
    _open(app, entity, key)
    _assert_range(app)
    with Store(db) as store:
        before = records.get(store, entity, key)
    assert before is not None
    if field == "papers_published_on":  # a date field: move it to the far end of the range
        app.date_input(key=f"{entity.table}_{key}_{field}").set_value(LATEST_DATE)
    else:
        app.text_input(key=f"{entity.table}_{key}_{field}").input(typed)
    _click(app, "Save")
    assert "Saved your changes" in app.success[0].value, [e.value for e in app.error]
    with Store(db) as store:
        saved = records.get(store, entity, key)
    assert saved is not None
    expected: Any = LATEST_DATE if field == "papers_published_on" else typed
    assert getattr(saved.record, field) == expected
    # Every other date is kept as it was.
    dates = {
        name: value
        for name, value in before.record.model_dump().items()
        if isinstance(value, dt.date) and name != field
    }
    assert dates
    assert all(getattr(saved.record, name) == value for name, value in dates.items())

    app.text_input(key=f"withdraw_reason_{entity.table}").input("Recorded in error")
    _click(app, "Withdraw")
    assert "Withdrawn" in app.success[0].value, [e.value for e in app.error]
    with Store(db) as store:
        withdrawn = records.get(store, entity, key)
    assert withdrawn is not None
    assert withdrawn.withdrawn
    _click(app, "Restore this record")
    with Store(db) as store:
        restored = records.get(store, entity, key)
    assert restored is not None
    assert not restored.withdrawn
    _assert_range(app)


def test_a_new_record_can_take_either_end_of_the_dates(app: AppTest, db: Path) -> None:
    prefix = "decision___new__"
    app.text_input(key=f"{prefix}_decision_id").input("d-new-edge")
    app.text_input(key=f"{prefix}_title").input("Both ends")
    app.date_input(key=f"{prefix}_identified_on").set_value(EARLIEST_DATE)
    app.date_input(key=f"{prefix}_review_due_on").set_value(LATEST_DATE)
    _click(app, "Save")
    assert "Saved the new decision." in app.success[0].value, [e.value for e in app.error]
    with Store(db) as store:
        saved = records.get(store, Decision, "d-new-edge")
    assert saved is not None
    assert (saved.record.identified_on, saved.record.review_due_on) == (EARLIEST_DATE, LATEST_DATE)


@pytest.mark.parametrize(
    "where",
    ["record", "health_check_form", "audit", "overview", "health_check", "meeting", "decision"],
)
def test_every_date_picker_offers_every_date_coprod_keeps(app: AppTest, where: str) -> None:
    if where == "health_check_form":
        app.segmented_control(key="record_kind").set_value("health_check").run()
    elif where != "record":
        app.switch_page(f"pages/{where}.py").run()
    _ok(app)
    _assert_range(app)  # the sidebar's period and "judge as of", and the page's own
