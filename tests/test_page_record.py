"""Recording through the dashboard: forms, validation next to the field, conflicts, withdraw
and restore, attendance, health-check responses, attestation and the audit trail page."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from builders import shown
from streamlit.testing.v1 import AppTest

from coprod import records
from coprod.demo import DEMO_AS_OF
from coprod.interchange import import_source
from coprod.models import Attendance, Decision, Meeting
from coprod.rules import run_check
from coprod.settings import DEMO_DIR
from coprod.store import Change, Store, StoreWriteError
from coprod.views import plain

APP = str(Path(__file__).resolve().parents[1] / "app.py")
OTHER = Change("Alex Other", "form")


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("record") / "demo.duckdb"
    with Store(path) as store:
        import_source(store, DEMO_DIR, Change("test", "import"))
    return path


@pytest.fixture
def db(demo_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    shutil.copy(demo_file, path)
    return path


@pytest.fixture
def app(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("COPROD_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["as_of"] = DEMO_AS_OF
    at.switch_page("pages/record.py").run()
    assert not at.exception
    return at


def _store(db: Path) -> Store:
    # The app holds the file read-write in this process; share that configuration.
    return Store(db)


def _submit(at: AppTest, label: str = "Save") -> None:
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def _fill_new_decision(at: AppTest, decision_id: str, title: str) -> None:
    prefix = "decision___new__"
    at.text_input(key=f"{prefix}_decision_id").input(decision_id)
    at.text_input(key=f"{prefix}_title").input(title)
    at.date_input(key=f"{prefix}_identified_on").set_value(dt.date(2026, 9, 1))


def test_a_missing_title_is_reported_next_to_the_field(app: AppTest, db: Path) -> None:
    _fill_new_decision(app, "d-new-1", "")
    _submit(app)
    assert [e.value for e in app.error] == ["Title: a value is required"]
    with _store(db) as store:
        assert records.get(store, Decision, "d-new-1") is None


def test_a_new_decision_is_saved_and_audited(app: AppTest, db: Path) -> None:
    _fill_new_decision(app, "d-new-2", "Respite review")
    _submit(app)
    assert "Saved the new decision." in app.success[0].value
    with _store(db) as store:
        stored = records.get(store, Decision, "d-new-2")
        assert stored is not None
        assert stored.record.title == "Respite review"
        history = records.history(store, Decision, "d-new-2")
    assert [h["action"] for h in history] == ["create"]
    assert history[0]["source"] == "form"
    assert history[0]["actor"].endswith("(local)")


def test_editing_shows_current_values_and_keeps_both_versions(app: AppTest, db: Path) -> None:
    with _store(db) as store:
        first = records.list_records(store, Decision, include_withdrawn=False)[0]
    key = first.record.decision_id
    app.selectbox(key="pick_decision").set_value(key).run()
    title = app.text_input(key=f"decision_{key}_title")
    assert title.value == first.record.title
    assert app.text_input(key=f"decision_{key}_decision_id").disabled
    title.input("A clearer title")
    _submit(app)
    assert "Saved your changes" in app.success[0].value
    with _store(db) as store:
        history = records.history(store, Decision, key)
    assert [h["action"] for h in history][-1] == "update"
    assert ("title", first.record.title, "A clearer title") in history[-1]["changes"]
    assert history[0]["after"]["title"] == first.record.title


def test_two_people_saving_at_once_lose_nothing(app: AppTest, db: Path) -> None:
    with _store(db) as store:
        first = records.list_records(store, Decision, include_withdrawn=False)[0]
    key = first.record.decision_id
    app.selectbox(key="pick_decision").set_value(key).run()
    # Someone else saves a change after this form was opened.
    with _store(db) as store:
        changed = first.record.model_copy(update={"summary": "Their change"})
        records.save(store, changed, OTHER, expected_updated_at=first.updated_at)
    app.text_input(key=f"decision_{key}_title").input("My change")
    _submit(app)
    assert "Alex Other changed this decision" in app.error[0].value
    with _store(db) as store:
        now = records.get(store, Decision, key)
    assert now is not None
    assert now.record.summary == "Their change"
    assert now.record.title == first.record.title


def test_withdraw_needs_a_reason_and_stops_counting_then_restore(app: AppTest, db: Path) -> None:
    with _store(db) as store:
        first = records.list_records(store, Decision, include_withdrawn=False)[0]
    key = first.record.decision_id
    app.selectbox(key="pick_decision").set_value(key).run()
    _submit(app, "Withdraw")
    assert app.error, "a withdrawal without a reason must be refused"
    app.text_input(key="withdraw_reason_decision").input("Entered twice by mistake")
    _submit(app, "Withdraw")
    assert "Withdrawn" in app.success[0].value
    with _store(db) as store:
        assert key not in {d["decision_id"] for d in run_check(store, DEMO_AS_OF).decisions}
    assert any("Entered twice by mistake" in w.value for w in app.warning)
    _submit(app, "Restore this record")
    with _store(db) as store:
        assert key in {d["decision_id"] for d in run_check(store, DEMO_AS_OF).decisions}


def test_a_withdrawn_board_is_listed_and_restored(app: AppTest, db: Path) -> None:
    from coprod.models import Board

    with _store(db) as store:
        board = records.list_records(store, Board, include_withdrawn=False)[0].record
    app.segmented_control(key="record_kind").set_value("board").run()
    app.selectbox(key="pick_board").set_value(board.board_id).run()
    app.text_input(key="withdraw_reason_board").input("Merged into another board")
    _submit(app, "Withdraw")
    assert "Withdrawn" in app.success[0].value
    # The sidebar offers live boards only; the Record page still lists it, to restore it.
    picker = app.selectbox(key="pick_board")
    assert f"{board.board_id} — {board.name} (withdrawn)" in picker.options
    assert picker.value == board.board_id
    _submit(app, "Restore this record")
    assert "Restored" in app.success[0].value
    with _store(db) as store:
        restored = records.get(store, Board, board.board_id)
    assert restored is not None
    assert not restored.withdrawn


def test_attendance_is_ticked_member_by_member(app: AppTest, db: Path) -> None:
    with _store(db) as store:
        meeting = records.list_records(store, Meeting, include_withdrawn=False)[0].record
    app.segmented_control(key="record_kind").set_value("meeting").run()
    app.selectbox(key="pick_meeting").set_value(meeting.meeting_id).run()
    seats = [s for s in app.selectbox if s.key and s.key.startswith(f"seat_{meeting.meeting_id}_")]
    assert seats
    member_id = str(seats[0].key).removeprefix(f"seat_{meeting.meeting_id}_")
    seats[0].set_value("apologies")
    _submit(app, "Save attendance")
    with _store(db) as store:
        seat = records.get(store, Attendance, (meeting.meeting_id, member_id))
    assert seat is not None
    assert seat.record.status == "apologies"


def test_a_health_check_response_is_one_form(app: AppTest, db: Path) -> None:
    app.segmented_control(key="record_kind").set_value("health_check").run()
    app.text_input(key="hc_response_id").input("r-form-1")
    app.date_input(key="hc_date").set_value(dt.date(2026, 10, 1))
    for radio in app.radio:
        if radio.key and radio.key.startswith("hc_score_"):
            radio.set_value(4)
    _submit(app, "Save the response")
    assert "Saved the response r-form-1" in shown(app.success[0].value)
    with _store(db) as store:
        rows = store.query("SELECT item, score FROM health_check WHERE response_id = 'r-form-1'")
    assert len(rows) == 8
    assert {r["score"] for r in rows} == {4}


def test_disputing_an_involvement_on_the_story_takes_effect_at_once(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _store(db) as store:
        result = run_check(store, DEMO_AS_OF)
        target = next(
            d
            for d in result.decisions
            if d["first_involvement"] == "from_start"
            and d["decided"]
            and d["qualifying_involvements"] == 1
            and d["disputed_involvements"] == 0
        )
    monkeypatch.setenv("COPROD_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["as_of"] = DEMO_AS_OF
    at.query_params["decision"] = target["decision_id"]
    at.switch_page("pages/decision.py").run()
    involvement_id = target["first_involvement_id"]
    at.radio(key=f"attestation_{involvement_id}").set_value("disputed")
    _submit(at)
    assert "note" in at.error[0].value.lower()
    at.radio(key=f"attestation_{involvement_id}").set_value("disputed")
    at.text_area(key=f"attestation_note_{involvement_id}").input("We were never asked.")
    _submit(at)
    text = " ".join(m.value for m in at.markdown)
    # Its one qualifying involvement disputed, the decided decision involved nobody.
    assert "TB-DISPUTED" in text
    assert "FTS-NONE" in text
    assert "First involvement: never" in text
    # The dispute's note shows with the involvement, as typed.
    assert "We were never asked." in shown(text)


def test_the_audit_trail_page_filters_and_exports(app: AppTest, db: Path) -> None:
    _fill_new_decision(app, "d-audit", "Audited decision")
    _submit(app)
    app.switch_page("pages/audit.py").run()
    assert not app.exception
    app.selectbox(key="audit_source").set_value("form").run()
    table = app.dataframe[0].value
    assert list(table["How"].unique()) == ["form"]
    assert "decision d-audit" in set(table["Record"])
    assert "Download these changes (CSV)" in [
        getattr(b, "label", None) for b in app.get("download_button")
    ]


def test_a_boards_own_health_check_items_are_on_its_form(app: AppTest, db: Path) -> None:
    from coprod import healthcheck as hc

    with _store(db) as store:
        hc.add_item(
            store,
            "demo-lochbrae-spg",
            "nsce_support",
            "We identify and overcome barriers to taking part.",
            OTHER,
        )
    app.segmented_control(key="record_kind").set_value("health_check").run()
    app.selectbox(key="hc_board").set_value("demo-lochbrae-spg").run()
    assert "hc_score_nsce_support" in [r.key for r in app.radio]
    app.selectbox(key="hc_board").set_value("demo-glenmoray-ijb").run()
    assert "hc_score_nsce_support" not in [r.key for r in app.radio]


# --- a national store: more records than a list can hold ------------------------------------

MANY = 1005  # decisions on one board: more than the Record page lists (LISTED = 1000)


@pytest.fixture(scope="module")
def many_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from builders import D, Dataset

    path = tmp_path_factory.mktemp("many") / "many.duckdb"
    data = Dataset()
    data.board("b1")
    for number in range(MANY):
        data.decision(
            f"d-{number:04d}", title=f"Decision number {number}", identified_on=D(2024, 1, 1)
        )
    with Store(path) as store:
        data.load(store)
    return path


@pytest.fixture
def many(many_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, AppTest]:
    path = tmp_path / "many.duckdb"
    shutil.copy(many_file, path)
    monkeypatch.setenv("COPROD_DB", str(path))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["as_of"] = DEMO_AS_OF
    at.switch_page("pages/record.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return path, at


def _picker(at: AppTest, label: str) -> Any:
    return next(s for s in at.selectbox if s.label == label)


def test_a_long_list_is_searched_rather_than_listed_whole(many: tuple[Path, AppTest]) -> None:
    _, at = many
    picker = _picker(at, "Which decision")
    assert len(picker.options) == 1 + 1000  # "New decision…" and the first 1000
    assert "d-1004 — Decision number 1004" not in picker.options
    at.text_input(key="find_decision").input("number 1004").run()
    picker = _picker(at, "Which decision")
    assert picker.options == ["New decision…", "d-1004 — Decision number 1004"]
    picker.set_value("d-1004").run()
    assert at.text_input(key="decision_d-1004_title").value == "Decision number 1004"


def test_a_record_saved_beyond_the_list_stays_open(many: tuple[Path, AppTest]) -> None:
    path, at = many
    _fill_new_decision(at, "zz-last", "Saved after a thousand others")
    _submit(at)
    assert "Saved the new decision." in at.success[0].value
    assert _picker(at, "Which decision").value == "zz-last"
    assert at.text_input(key="decision_zz-last_title").value == "Saved after a thousand others"
    with _store(path) as store:
        assert records.get(store, Decision, "zz-last") is not None


def test_an_involvement_names_its_decision_by_id_when_there_are_too_many(
    many: tuple[Path, AppTest],
) -> None:
    from coprod.models import Involvement

    path, at = many
    at.segmented_control(key="record_kind").set_value("involvement").run()
    prefix = "involvement___new__"
    field = at.text_input(key=f"{prefix}_decision_id")
    assert field.label == "Decision *"
    assert "too many to list" in (field.help or "")
    at.text_input(key=f"{prefix}_involvement_id").input("i-typed")
    field.input("d-9999")
    at.date_input(key=f"{prefix}_start_date").set_value(dt.date(2024, 1, 5))
    _submit(at)
    assert any("d-9999" in shown(e.value) for e in at.error), [e.value for e in at.error]
    at.text_input(key=f"{prefix}_decision_id").input("d-1003")
    _submit(at)
    assert not at.error, [e.value for e in at.error]
    with _store(path) as store:
        saved = records.get(store, Involvement, "i-typed")
        assert saved is not None
        assert saved.record.decision_id == "d-1003"


def test_a_full_disk_is_one_sentence_on_the_page(
    app: AppTest, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_args: object, **_kwargs: object) -> None:
        raise StoreWriteError(str(db), "No space left on device")

    monkeypatch.setattr(records, "write_records", full)
    _fill_new_decision(app, "d-new-full", "Respite review")
    _submit(app)
    assert [e.value for e in app.error] == [
        plain(
            f"The store {db} could not be written (the disk is full or not writable: No space "
            "left on device), so nothing was saved."
        )
    ]
    with _store(db) as store:
        assert records.get(store, Decision, "d-new-full") is None
