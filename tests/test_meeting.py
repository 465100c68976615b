"""Meeting mode: the agenda, the "before you decide" panel and the sentence for the minutes."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import D, Dataset, shown
from streamlit.testing.v1 import AppTest

from coprod.demo import DEMO_AS_OF
from coprod.interchange import import_source
from coprod.meeting import agenda, default_meeting, meetings
from coprod.rules import run_check
from coprod.settings import DEMO_DIR
from coprod.store import Change, Store

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _small(store: Store, *, attended: str | None) -> None:
    data = Dataset()
    data.board("b1", kind="integration_joint_board")
    data.member("m-chair", board_id="b1", role="chair", voting=True, start_date=D(2020, 1, 1))
    data.member("m-carer", board_id="b1", role="carer_rep", voting=False, start_date=D(2020, 1, 1))
    data.meeting("mt1", board_id="b1", date=D(2024, 6, 1))
    data.meeting("mt0", board_id="b1", date=D(2024, 4, 1))
    if attended:
        data.attend("mt1", "m-carer", status=attended)
        data.attend("mt1", "m-chair", status="present")
    data.decision(
        "d1",
        board_id="b1",
        title="Day services redesign",
        identified_on=D(2024, 1, 1),
        options_fixed_on=D(2024, 3, 1),
        decided_on=D(2024, 6, 1),
        meeting_id="mt1",
    )
    data.involvement(
        "i1",
        decision_id="d1",
        start_date=D(2024, 1, 20),
        group="dpo",
        level="co_design",
        organisation="Forum",
        method="workshop",
        accessible_formats="easy_read",
    )
    data.decision(
        "d2",
        board_id="b1",
        title="Charging policy",
        identified_on=D(2024, 1, 1),
        options_fixed_on=D(2024, 2, 1),
        decided_on=D(2024, 6, 1),
        meeting_id="mt1",
    )
    data.load(store)


def test_the_minute_names_the_first_involvement_and_who_was_present(store: Store) -> None:
    _small(store, attended="present")
    result = run_check(store, D(2024, 5, 15))
    board_agenda = agenda(store, "mt1", result)
    assert board_agenda is not None
    first, second = board_agenda.items
    assert first.minute(board_agenda.voices) == (
        "Before deciding item 1, “Day services redesign”, the board noted that people who use "
        "services were first involved on 20 January 2024 (co-design with a Disabled People's "
        "Organisation), involved from the start; a lived-experience member was present."
    )
    assert "19 days after it was identified: co-design by workshop" in first.involvement_text()
    assert second.at_risk
    assert board_agenda.at_risk == [second]
    assert "although the options were fixed on 1 February 2024" in second.minute(
        board_agenda.voices
    )


def test_apologies_mean_no_lived_experience_voice(store: Store) -> None:
    _small(store, attended="apologies")
    board_agenda = agenda(store, "mt1", run_check(store, D(2024, 5, 15)))
    assert board_agenda is not None
    assert board_agenda.voices.sentence() == "Nobody with lived experience is at the table."
    assert "no lived-experience member was present" in board_agenda.items[0].minute(
        board_agenda.voices
    )


def test_unrecorded_attendance_says_so(store: Store) -> None:
    _small(store, attended=None)
    board_agenda = agenda(store, "mt1", run_check(store, D(2024, 5, 15)))
    assert board_agenda is not None
    assert board_agenda.voices.sentence() == (
        "Attendance is not recorded yet; the board has 1 member with lived experience."
    )


def test_the_default_meeting_is_the_next_with_an_agenda_else_the_latest(store: Store) -> None:
    _small(store, attended=None)
    options = meetings(store, ("b1",))
    assert default_meeting(options, D(2024, 5, 1))["meeting_id"] == "mt1"  # type: ignore[index]
    assert default_meeting(options, D(2024, 6, 1))["meeting_id"] == "mt1"  # type: ignore[index]
    assert default_meeting(options, D(2025, 1, 1))["meeting_id"] == "mt1"  # type: ignore[index]


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    db = tmp_path / "demo.duckdb"
    with Store(db) as store:
        import_source(store, DEMO_DIR, Change("test", "import"))
    return db


@pytest.fixture
def app(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("COPROD_DB", str(demo_db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["as_of"] = DEMO_AS_OF
    return at


def test_meeting_mode_opens_on_the_next_meeting(app: AppTest, demo_db: Path) -> None:
    with Store(demo_db) as store:
        options = meetings(store, ("demo-glenmoray-ijb", "demo-firthside-ijb", "demo-lochbrae-spg"))
    expected = default_meeting(options, DEMO_AS_OF)
    assert expected is not None
    assert expected["date"] >= DEMO_AS_OF
    app.switch_page("pages/meeting.py").run()
    assert not app.exception
    assert app.selectbox(key="meeting_pick").value == expected["meeting_id"]
    assert shown(app.title[0].value) == f"{expected['board_name']}, {expected['date']:%-d %B %Y}"
    items = [h.value for h in app.header if h.value.startswith("Item ")]
    assert len(items) == expected["items"]
    assert [i.split(":")[0] for i in items] == [f"Item {n}" for n in range(1, len(items) + 1)]
    assert len(app.code) == expected["items"]
    assert all(c.value.startswith("Before deciding item ") for c in app.code)


def test_items_at_risk_stand_out_before_the_board_decides(app: AppTest, demo_db: Path) -> None:
    with Store(demo_db) as store:
        result = run_check(store, DEMO_AS_OF)
    at_risk = next(f for f in result.findings if f["code"] == "FTS-AT-RISK" and f["meeting_id"])
    app.switch_page("pages/meeting.py").run()
    app.selectbox(key="meeting_pick").set_value(at_risk["meeting_id"]).run()
    assert not app.exception
    assert any("at risk before the board decides" in e.value for e in app.error)
    assert any("At risk: involve people who use services" in w.value for w in app.warning)
    minutes = " ".join(c.value for c in app.code)
    assert "nobody who uses services had been involved although the options were fixed" in minutes
