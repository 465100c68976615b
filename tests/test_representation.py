"""Representation: who was at the table, the voice over time, attendance by group, composition
(coprod.representation), on small datasets in a real DuckDB file per test."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from builders import D, Dataset, check, findings, withdraw

from coprod import representation as rep
from coprod.charts import attendance_chart, composition_chart, voice_share_chart
from coprod.store import Store
from coprod.views import Period

AS_OF = D(2025, 1, 1)
PERIOD = Period(D(2024, 1, 1), D(2024, 12, 31))
BOARDS = ["b1"]
REQUIRED = ["service_user_rep", "carer_rep", "third_sector_rep", "staff_rep"]


def full_board(ds: Dataset, board_id: str = "b1", kind: str = "integration_joint_board") -> None:
    """A board with a current member in every required role, and a voting chair."""
    ds.board(board_id, kind=kind)
    for role in REQUIRED:
        ds.member(f"{board_id}-{role}", board_id=board_id, role=role)
    ds.member(f"{board_id}-chair", board_id=board_id, role="chair", voting=True)


def meetings(store: Store, as_of: dt.date = AS_OF, period: Period = PERIOD) -> pd.DataFrame:
    return rep.meetings_at_the_table(store, BOARDS, period, as_of)


def one(frame: pd.DataFrame, meeting_id: str) -> dict[str, object]:
    rows = frame[frame["meeting_id"] == meeting_id].to_dict("records")
    assert len(rows) == 1
    return dict(rows[0])


# --- who was at the table ---------------------------------------------------------------------


def test_every_member_counts_in_one_role_group_by_status(store: Store) -> None:
    ds = Dataset()
    full_board(ds)
    ds.member("officer", role="officer")
    ds.member("councillor", role="voting_council", voting=True)
    # A voting member with lived experience is counted with lived experience, not as voting.
    ds.member("lived-voter", role="voting_health_board", voting=True, lived_experience=True)
    ds.meeting("m1", date=D(2024, 3, 5))
    ds.attend("m1", "b1-service_user_rep", "present")
    ds.attend("m1", "b1-carer_rep", "remote")
    ds.attend("m1", "lived-voter", "substitute")
    ds.attend("m1", "b1-chair", "present")
    ds.attend("m1", "councillor", "apologies")
    ds.attend("m1", "officer", "remote")
    ds.attend("m1", "b1-third_sector_rep", "present")
    ds.attend("m1", "b1-staff_rep", "absent")
    ds.load(store)
    row = one(meetings(store), "m1")
    assert (row["lived_experience_present"], row["lived_experience_remote"]) == (1, 1)
    assert row["lived_experience_substitute"] == 1
    assert row["lived_experience"] == 3
    assert (row["voting_present"], row["voting"]) == (1, 1)
    assert (row["officer_remote"], row["officer"]) == (1, 1)
    assert (row["other_present"], row["other"]) == (1, 1)
    assert (row["apologies"], row["absent"]) == (1, 1)
    assert row["attendance_recorded"] == 8
    assert row["lived_experience_voice"]
    assert row["quarter"] == "2024 Q1"
    table = rep.at_the_table_table(meetings(store))
    assert table.loc[0, "Lived experience"] == "1 present, 1 remote, 1 substitute"
    assert table.loc[0, "Voting members"] == "1 present"
    assert table.loc[0, "Lived-experience voice"] == "yes"


@pytest.mark.parametrize("status", ["apologies", "absent"])
def test_a_rep_not_at_the_table_is_no_voice(store: Store, status: str) -> None:
    ds = Dataset()
    full_board(ds)
    ds.meeting("m1", date=D(2024, 3, 5))
    ds.attend("m1", "b1-service_user_rep", status)
    ds.attend("m1", "b1-chair", "present")
    ds.load(store)
    row = one(meetings(store), "m1")
    assert not row["lived_experience_voice"]
    assert rep.at_the_table_table(meetings(store)).loc[0, "Lived-experience voice"] == "no"


def test_a_meeting_without_attendance_has_no_voice_and_the_headline_says_so(store: Store) -> None:
    ds = Dataset()
    full_board(ds)
    ds.meeting("m1", date=D(2024, 3, 5))
    ds.load(store)
    frame = meetings(store)
    row = one(frame, "m1")
    assert row["attendance_recorded"] == 0
    assert not row["lived_experience_voice"]
    table = rep.at_the_table_table(frame)
    assert table.loc[0, "Lived-experience voice"] == "no (attendance not recorded)"
    headline = rep.voice_headline(frame, rep.decision_voice(store, check(store, AS_OF), PERIOD))
    assert "Attendance was not recorded for 1 meeting; it counts as having no" in (
        headline.sentence(PERIOD)
    )


def test_withdrawn_rows_never_count(store: Store) -> None:
    ds = Dataset()
    full_board(ds)
    ds.member("dpo", role="dpo_rep")
    ds.meeting("m1", date=D(2024, 3, 5))
    ds.meeting("gone", date=D(2024, 4, 5))
    ds.attend("m1", "b1-service_user_rep", "present")
    ds.attend("m1", "dpo", "present")
    ds.load(store)
    withdraw(store, "attendance", "member_id = ?", ["b1-service_user_rep"])
    withdraw(store, "member", "member_id = ?", ["dpo"])
    withdraw(store, "meeting", "meeting_id = ?", ["gone"])
    frame = meetings(store)
    assert list(frame["meeting_id"]) == ["m1"]
    row = one(frame, "m1")
    assert row["lived_experience"] == 0
    assert not row["lived_experience_voice"]


def test_only_meetings_in_the_period_and_up_to_as_of(store: Store) -> None:
    ds = Dataset()
    full_board(ds)
    ds.board("b2")
    for meeting_id, day in [
        ("before", D(2023, 12, 31)),
        ("first-day", D(2024, 1, 1)),
        ("last-day", D(2024, 12, 31)),
        ("after", D(2025, 1, 1)),
    ]:
        ds.meeting(meeting_id, date=day)
    ds.meeting("other-board", board_id="b2", date=D(2024, 6, 1))
    ds.load(store)
    assert list(meetings(store)["meeting_id"]) == ["first-day", "last-day"]
    # A meeting after the as-of date has not happened yet.
    assert list(meetings(store, as_of=D(2024, 12, 30))["meeting_id"]) == ["first-day"]


# --- the voice at the meeting that took each decision -------------------------------------------


def voice_dataset(ds: Dataset) -> None:
    """m1 (Q1) with a voice, m2 (Q2) without; decisions at each, one pending, one without a
    meeting."""
    full_board(ds)
    ds.meeting("m1", date=D(2024, 3, 5))
    ds.meeting("m2", date=D(2024, 5, 7))
    ds.attend("m1", "b1-carer_rep", "remote")
    ds.attend("m1", "b1-chair", "present")
    ds.attend("m2", "b1-chair", "present")
    ds.attend("m2", "b1-staff_rep", "present")
    ds.decision("d1", decided_on=D(2024, 3, 5), meeting_id="m1")
    ds.decision("d2", decided_on=D(2024, 5, 7), meeting_id="m2")
    ds.decision("d3", decided_on=D(2024, 5, 7), meeting_id="m2")
    ds.decision("d4", decided_on=D(2024, 3, 5), meeting_id="m1")
    ds.decision("pending", decided_on=D(2025, 3, 1))  # decided after as_of: not taken yet
    ds.decision("urgent", decided_on=D(2024, 4, 1))  # taken outside a meeting


def test_decisions_with_no_voice_are_exactly_the_rep_no_voice_findings(store: Store) -> None:
    ds = Dataset()
    voice_dataset(ds)
    ds.load(store)
    result = check(store, AS_OF)
    rule = {f["decision_id"] for f in findings(result, "REP-NO-VOICE")}
    assert rule == {"d2", "d3"}
    listed = rep.no_voice_decisions(result, PERIOD)
    assert set(listed["decision_id"]) == rule
    assert list(listed["title"]) == ["Decision d2", "Decision d3"]
    assert set(listed["meeting_date"]) == {D(2024, 5, 7)}
    voiced = rep.decision_voice(store, result, PERIOD)
    assert set(voiced["decision_id"]) == {"d1", "d2", "d3", "d4"}
    assert set(voiced.loc[~voiced["voice"], "decision_id"]) == rule
    # and each decision's voice is its meeting's voice
    frame = meetings(store)
    by_meeting = dict(zip(frame["meeting_id"], frame["lived_experience_voice"], strict=True))
    for _, decision in voiced.iterrows():
        assert decision["voice"] == by_meeting[decision["meeting_id"]]


def test_the_no_voice_list_follows_the_period(store: Store) -> None:
    ds = Dataset()
    voice_dataset(ds)
    ds.load(store)
    result = check(store, AS_OF)
    assert rep.no_voice_decisions(result, Period(D(2024, 1, 1), D(2024, 5, 6))).empty
    assert len(rep.no_voice_decisions(result, Period(D(2024, 5, 7), D(2024, 5, 7)))) == 2


def test_the_headline_and_the_share_by_quarter(store: Store) -> None:
    ds = Dataset()
    voice_dataset(ds)
    ds.load(store)
    result = check(store, AS_OF)
    frame = meetings(store)
    decisions = rep.decision_voice(store, result, PERIOD)
    headline = rep.voice_headline(frame, decisions)
    assert headline == rep.VoiceHeadline(2, 1, 0, 4, 2)
    assert headline.sentence(PERIOD) == (
        "A lived-experience voice was at the table at 1 of 2 meetings (50%) and for 2 of 4 "
        "decisions (50%) between 1 January 2024 and 31 December 2024."
    )
    by_quarter = rep.voice_by_quarter(frame, decisions)
    assert list(by_quarter["quarter"]) == ["2024 Q1", "2024 Q2"]
    assert list(by_quarter["meeting_share"]) == [1.0, 0.0]
    assert list(by_quarter["decisions"]) == [2, 2]
    assert list(by_quarter["decision_share"]) == [1.0, 0.0]
    chart = voice_share_chart(by_quarter)
    assert "1 of 2 meetings (50%)" in chart.alt
    assert "the lowest being 2024 Q2 (0 of 1 meeting)" in chart.summary
    assert list(chart.table["Share of meetings"]) == ["100%", "0%"]
    lines = [trace for trace in chart.figure.data if trace.mode == "lines+markers"]
    assert [t.marker.symbol for t in lines] == ["circle", "square"]  # not colour alone


def test_no_meetings_in_the_period(store: Store) -> None:
    ds = Dataset()
    full_board(ds)
    ds.load(store)
    frame = meetings(store)
    headline = rep.voice_headline(frame, rep.decision_voice(store, check(store, AS_OF), PERIOD))
    assert headline.sentence(PERIOD).startswith("No meetings were held between 1 January 2024")
    assert rep.voice_by_quarter(frame, rep.decision_voice(store, check(store, AS_OF), PERIOD)).empty


# --- attendance by role group over the 12 months to as_of -----------------------------------------


def test_attendance_by_group_over_the_last_twelve_months(store: Store) -> None:
    ds = Dataset()
    full_board(ds)
    ds.member("officer", role="officer", start_date=D(2024, 6, 1))
    # Exactly twelve months before as_of is outside the window; the day after is inside.
    ds.meeting("too-early", date=D(2024, 1, 1))
    ds.meeting("first", date=D(2024, 1, 2))
    ds.meeting("later", date=D(2024, 9, 1))
    ds.meeting("future", date=D(2025, 1, 2))
    for meeting_id in ("too-early", "first", "later", "future"):
        ds.attend(meeting_id, "b1-service_user_rep", "present")
        ds.attend(meeting_id, "b1-carer_rep", "apologies")
        ds.attend(meeting_id, "b1-chair", "remote")
    ds.load(store)
    frame = rep.attendance_by_group(store, BOARDS, AS_OF).set_index("role_group")
    lived = frame.loc["lived_experience"]
    # two meetings × (service user present, carer apologies)
    assert (lived["seats"], lived["at_table"], lived["apologies"]) == (4, 2, 2)
    assert lived["rate"] == 0.5
    voting = frame.loc["voting"]
    assert (voting["seats"], voting["remote"], voting["rate"]) == (2, 2, 1.0)
    # Others: third sector and staff reps are current members with no attendance recorded.
    other = frame.loc["other"]
    assert (other["seats"], other["not_recorded"], other["rate"]) == (4, 4, 0.0)
    # The officer started in June: one seat, at the later meeting only.
    officer = frame.loc["officer"]
    assert (officer["seats"], officer["not_recorded"]) == (1, 1)
    chart = attendance_chart(frame.reset_index(), as_of=AS_OF)
    assert "lived experience 50%" in chart.summary
    assert list(chart.table["Role group"]) == [
        "Lived experience",
        "Voting members",
        "Officers",
        "Others",
    ]
    # Patterns as well as colour tell the bars apart.
    assert len({bar.marker.pattern.shape for bar in chart.figure.data}) == 4


def test_a_group_with_no_seats_has_no_rate(store: Store) -> None:
    ds = Dataset()
    ds.board("b1")
    ds.member("chair", role="chair", voting=True)
    ds.meeting("m1", date=D(2024, 9, 1))
    ds.attend("m1", "chair", "present")
    ds.load(store)
    frame = rep.attendance_by_group(store, BOARDS, AS_OF).set_index("role_group")
    assert frame.loc["lived_experience", "seats"] == 0
    assert frame.loc["lived_experience", "rate"] is None
    chart = attendance_chart(frame.reset_index(), as_of=AS_OF)
    assert "voting members 100%" in chart.summary
    assert chart.table.set_index("Role group").loc["Lived experience", "Rate"] == "none held"


# --- composition against the required roles -------------------------------------------------------


def test_composition_matches_the_rep_composition_findings(store: Store) -> None:
    ds = Dataset()
    ds.board("b1", kind="integration_joint_board")
    ds.member("su", role="service_user_rep")
    ds.member("carer", role="carer_rep")
    ds.member("third", role="third_sector_rep")
    # The staff rep's term ends on the day of m2 (still current) and the next starts after m3.
    ds.member("staff-1", role="staff_rep", end_date=D(2024, 5, 7))
    ds.member("staff-2", role="staff_rep", start_date=D(2024, 9, 2))
    for meeting_id, day in [("m1", D(2024, 3, 5)), ("m2", D(2024, 5, 7)), ("m3", D(2024, 9, 1))]:
        ds.meeting(meeting_id, date=day)
    ds.meeting("m4", date=D(2024, 11, 5))
    ds.load(store)
    result = check(store, AS_OF)
    composition = rep.composition_over_time(store, BOARDS, PERIOD, AS_OF)
    assert len(composition) == 4 * 4
    vacant = composition[~composition["held"]]
    assert (
        {(r.meeting_id, r.role) for r in vacant.itertuples()}
        == {(f["meeting_id"], f["role"]) for f in findings(result, "REP-COMPOSITION")}
        == {("m3", "staff_rep")}
    )
    runs = rep.composition_runs(composition)
    staff = runs[runs["role"] == "staff_rep"]
    assert list(staff["state"]) == ["held", "vacant", "held"]
    assert list(staff["meetings"]) == [2, 1, 1]
    assert list(staff["until"]) == [D(2024, 9, 1), D(2024, 11, 5), D(2024, 11, 5)]
    gaps = rep.composition_gaps(result, PERIOD)
    [sentence] = [rep.composition_gap_sentence(g) for _, g in gaps.iterrows()]
    assert sentence == (
        "b1 had no staff representative among its members at its meeting on 1 September 2024."
    )
    chart = composition_chart(runs)
    # Words, not colour alone: every bar says "held" or "vacant".
    assert {t for bar in chart.figure.data for t in bar.text} == {"held", "vacant"}
    assert "staff representative of b1 (1 meeting, on 1 September 2024)" in chart.summary
    assert set(chart.table["State"]) == {"held", "vacant"}


def test_composition_of_a_board_that_is_not_an_ijb_is_not_required(store: Store) -> None:
    ds = Dataset()
    ds.board("b1", kind="strategic_planning_group")
    ds.meeting("m1", date=D(2024, 3, 5))
    ds.load(store)
    composition = rep.composition_over_time(store, BOARDS, PERIOD, AS_OF)
    assert not composition["required_by_law"].any()
    assert not composition["held"].any()
    assert findings(check(store, AS_OF), "REP-COMPOSITION") == []
    assert rep.composition_gaps(check(store, AS_OF), PERIOD).empty
