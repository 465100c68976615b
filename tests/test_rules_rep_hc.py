"""Representation (REP) and health-check (HC) rules, and their edges (docs/domain.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from builders import DAY, D, Dataset, check, findings

from coprod.settings import Thresholds
from coprod.store import Store

MEETING = D(2024, 6, 4)
AS_OF = D(2025, 1, 1)
REQUIRED = ["carer_rep", "service_user_rep", "staff_rep", "third_sector_rep"]


def full_board(ds: Dataset, board_id: str = "b1", kind: str = "integration_joint_board") -> None:
    """A board with a current member in every role the law requires."""
    ds.board(board_id, kind=kind)
    for role in REQUIRED:
        ds.member(f"{board_id}-{role}", board_id=board_id, role=role)


# --- REP-NO-VOICE ---------------------------------------------------------------------------


def decided_at_meeting(ds: Dataset, **decision: Any) -> None:
    full_board(ds)
    ds.member("chair", role="chair", voting=True)
    ds.meeting("m1", date=MEETING)
    ds.attend("m1", "chair", "present")
    ds.decision("d1", **{"decided_on": MEETING, "meeting_id": "m1"} | decision)


def no_voice(store: Store, as_of: dt.date = AS_OF) -> list[str | None]:
    return [f["decision_id"] for f in findings(check(store, as_of), "REP-NO-VOICE")]


@pytest.mark.parametrize("status", ["present", "remote", "substitute"])
def test_lived_experience_rep_at_the_table_is_a_voice(store: Store, status: str) -> None:
    ds = Dataset()
    decided_at_meeting(ds)
    ds.attend("m1", "b1-service_user_rep", status)
    ds.load(store)
    assert no_voice(store) == []


@pytest.mark.parametrize("status", ["apologies", "absent"])
def test_rep_not_at_the_table_is_no_voice(store: Store, status: str) -> None:
    ds = Dataset()
    decided_at_meeting(ds)
    ds.attend("m1", "b1-service_user_rep", status)
    ds.load(store)
    result = check(store, AS_OF)
    [voice] = findings(result, "REP-NO-VOICE")
    assert voice["decision_id"] == "d1"
    assert voice["meeting_id"] == "m1"
    assert voice["severity"] == "major"
    assert "4 June 2024" in voice["message"]


@pytest.mark.parametrize("role", ["service_user_rep", "carer_rep", "dpo_rep"])
def test_each_lived_experience_role_is_a_voice(store: Store, role: str) -> None:
    ds = Dataset()
    decided_at_meeting(ds)
    ds.member("rep", role=role)
    ds.attend("m1", "rep", "present")
    ds.load(store)
    assert no_voice(store) == []


def test_third_sector_and_staff_reps_are_not_a_lived_experience_voice(store: Store) -> None:
    ds = Dataset()
    decided_at_meeting(ds)
    ds.attend("m1", "b1-third_sector_rep", "present")
    ds.attend("m1", "b1-staff_rep", "present")
    ds.load(store)
    assert no_voice(store) == ["d1"]


def test_member_with_lived_experience_in_another_role_is_a_voice(store: Store) -> None:
    ds = Dataset()
    decided_at_meeting(ds)
    ds.member("councillor", role="voting_council", voting=True, lived_experience=True)
    ds.attend("m1", "councillor", "remote")
    ds.load(store)
    assert no_voice(store) == []


def test_meeting_with_no_attendance_recorded_has_no_voice(store: Store) -> None:
    ds = Dataset()
    full_board(ds)
    ds.meeting("m1", date=MEETING)
    ds.decision("d1", decided_on=MEETING, meeting_id="m1")
    ds.load(store)
    assert no_voice(store) == ["d1"]


def test_undecided_decision_is_not_flagged(store: Store) -> None:
    ds = Dataset()
    decided_at_meeting(ds, decided_on=None)
    ds.load(store)
    assert no_voice(store) == []


def test_decision_dated_after_as_of_is_not_flagged(store: Store) -> None:
    ds = Dataset()
    decided_at_meeting(ds)
    ds.load(store)
    assert no_voice(store, MEETING - DAY) == []
    assert no_voice(store, MEETING) == ["d1"]


def test_every_decision_of_a_voiceless_meeting_is_flagged(store: Store) -> None:
    ds = Dataset()
    decided_at_meeting(ds)
    ds.decision("d2", decided_on=MEETING, meeting_id="m1")
    ds.load(store)
    assert sorted(d or "" for d in no_voice(store)) == ["d1", "d2"]


# --- REP-COMPOSITION ------------------------------------------------------------------------


def composition(store: Store, as_of: dt.date = AS_OF) -> list[tuple[str | None, str | None]]:
    return sorted(
        (f["meeting_id"], f["role"]) for f in findings(check(store, as_of), "REP-COMPOSITION")
    )


def board_missing(ds: Dataset, missing: set[str], kind: str = "integration_joint_board") -> None:
    ds.board("b1", kind=kind)
    for role in REQUIRED:
        if role not in missing:
            ds.member(f"b1-{role}", role=role)
    ds.meeting("m1", date=MEETING)


def test_full_board_has_no_composition_finding(store: Store) -> None:
    ds = Dataset()
    board_missing(ds, set())
    ds.load(store)
    assert composition(store) == []


def test_one_finding_for_the_missing_role(store: Store) -> None:
    ds = Dataset()
    board_missing(ds, {"carer_rep"})
    ds.load(store)
    result = check(store, AS_OF)
    [missing] = findings(result, "REP-COMPOSITION")
    assert (missing["meeting_id"], missing["role"], missing["board_id"]) == (
        "m1",
        "carer_rep",
        "b1",
    )
    assert missing["severity"] == "major"
    assert "4 June 2024" in missing["message"]


def test_one_finding_per_missing_role(store: Store) -> None:
    ds = Dataset()
    board_missing(ds, set(REQUIRED))
    ds.load(store)
    assert composition(store) == [("m1", role) for role in REQUIRED]


def test_one_finding_per_meeting(store: Store) -> None:
    ds = Dataset()
    board_missing(ds, {"staff_rep"})
    ds.meeting("m2", date=D(2024, 9, 3))
    ds.load(store)
    assert composition(store) == [("m1", "staff_rep"), ("m2", "staff_rep")]


@pytest.mark.parametrize(
    "kind", ["strategic_planning_group", "locality_group", "committee", "other"]
)
def test_composition_applies_only_to_integration_joint_boards(store: Store, kind: str) -> None:
    ds = Dataset()
    board_missing(ds, set(REQUIRED), kind=kind)
    ds.load(store)
    assert composition(store) == []


def test_dpo_rep_does_not_fill_the_service_user_seat(store: Store) -> None:
    ds = Dataset()
    board_missing(ds, {"service_user_rep"})
    ds.member("dpo", role="dpo_rep")
    ds.load(store)
    assert composition(store) == [("m1", "service_user_rep")]


@pytest.mark.parametrize(
    ("start", "end", "current"),
    [
        (MEETING, None, True),  # started on the meeting day
        (MEETING + DAY, None, False),  # started the day after
        (D(2020, 1, 1), MEETING, True),  # left on the meeting day
        (D(2020, 1, 1), MEETING - DAY, False),  # left the day before
    ],
)
def test_membership_is_current_on_the_meeting_date_inclusive(
    store: Store, start: dt.date, end: dt.date | None, current: bool
) -> None:
    ds = Dataset()
    board_missing(ds, {"carer_rep"})
    ds.member("carer", role="carer_rep", start_date=start, end_date=end)
    ds.load(store)
    assert composition(store) == ([] if current else [("m1", "carer_rep")])


def test_another_boards_member_does_not_count(store: Store) -> None:
    ds = Dataset()
    board_missing(ds, {"carer_rep"})
    ds.board("b2", kind="locality_group")
    ds.member("other-carer", board_id="b2", role="carer_rep")
    ds.load(store)
    assert composition(store) == [("m1", "carer_rep")]


# --- HC-GAP ---------------------------------------------------------------------------------

CHECK = D(2024, 9, 10)


def gap(store: Store) -> list[tuple[str | None, str | None, dt.date | None]]:
    return [
        (f["board_id"], f["item"], f["check_date"]) for f in findings(check(store, AS_OF), "HC-GAP")
    ]


def scores(ds: Dataset, pro: list[int], lived: list[int], **fields: Any) -> None:
    """Professionals' scores, then the lived-experience side's spread over its three groups."""
    fields = {"check_date": CHECK} | fields
    ds.responses(pro, group="professional", **fields)
    groups = ["lived_experience", "carer", "dpo"]
    for index, score in enumerate(lived):
        ds.responses([score], group=groups[index % 3], **fields)


def test_gap_of_exactly_one_point_is_flagged(store: Store) -> None:
    ds = Dataset()
    scores(ds, pro=[5, 5, 4, 4, 4], lived=[4, 3, 3, 3, 4])  # 4.4 against 3.4
    ds.load(store)
    result = check(store, AS_OF)
    [found] = findings(result, "HC-GAP")
    assert (found["board_id"], found["item"], found["check_date"]) == ("b1", "trust", CHECK)
    assert found["severity"] == "major"
    assert "10 September 2024" in found["message"]


def test_gap_of_nine_tenths_is_not_flagged(store: Store) -> None:
    ds = Dataset()
    scores(ds, pro=[5] * 9 + [4], lived=[4] * 10)  # 4.9 against 4.0
    ds.load(store)
    assert gap(store) == []


def test_lived_experience_side_scoring_higher_is_not_a_gap(store: Store) -> None:
    ds = Dataset()
    scores(ds, pro=[2] * 5, lived=[5] * 5)
    ds.load(store)
    assert gap(store) == []


def test_fewer_than_five_professionals_shows_no_gap(store: Store) -> None:
    ds = Dataset()
    scores(ds, pro=[5] * 4, lived=[1] * 10)
    ds.load(store)
    assert gap(store) == []


def test_fewer_than_five_on_the_lived_experience_side_shows_no_gap(store: Store) -> None:
    ds = Dataset()
    scores(ds, pro=[5] * 10, lived=[1] * 4)
    ds.load(store)
    assert gap(store) == []


def test_other_respondents_are_not_the_lived_experience_side(store: Store) -> None:
    ds = Dataset()
    scores(ds, pro=[5] * 5, lived=[1] * 4)
    ds.responses([1, 1, 1], group="other", check_date=CHECK)
    ds.load(store)
    assert gap(store) == []


def test_gap_is_per_item(store: Store) -> None:
    ds = Dataset()
    for item, lived in (("trust", 4), ("support", 3)):
        for n in range(5):
            ds.health_check(f"p{n}", item=item, score=5, check_date=CHECK)
            ds.health_check(
                f"l{n}", item=item, score=lived, respondent_group="carer", check_date=CHECK
            )
    ds.load(store)
    assert gap(store) == [("b1", "support", CHECK), ("b1", "trust", CHECK)]


# --- HC-DECLINE -----------------------------------------------------------------------------

FIRST, SECOND, THIRD = D(2024, 1, 10), D(2024, 4, 10), D(2024, 7, 10)


def spread(mean_tenths: int, n: int = 10) -> list[int]:
    """n scores of 1-5 whose sum is mean_tenths * n / 10 (n a multiple of 10)."""
    total = mean_tenths * n // 10
    base, extra = divmod(total, n)
    return [base + 1] * extra + [base] * (n - extra)


def decline(store: Store) -> list[tuple[str | None, str | None, dt.date | None]]:
    return [
        (f["board_id"], f["item"], f["check_date"])
        for f in findings(check(store, AS_OF), "HC-DECLINE")
    ]


def test_fall_of_exactly_half_a_point_is_flagged(store: Store) -> None:
    ds = Dataset()
    ds.responses(spread(41), check_date=FIRST)
    ds.responses(spread(36), check_date=SECOND)  # 4.1 to 3.6
    ds.load(store)
    result = check(store, AS_OF)
    [found] = findings(result, "HC-DECLINE")
    assert (found["board_id"], found["item"], found["check_date"]) == ("b1", "trust", SECOND)
    assert found["severity"] == "minor"
    assert "10 January 2024" in found["message"]
    assert "10 April 2024" in found["message"]


def test_fall_of_four_tenths_is_not_flagged(store: Store) -> None:
    ds = Dataset()
    ds.responses(spread(41), check_date=FIRST)
    ds.responses(spread(37), check_date=SECOND)
    ds.load(store)
    assert decline(store) == []


def test_decline_counts_every_respondent_group(store: Store) -> None:
    ds = Dataset()
    ds.responses([4] * 5, group="professional", check_date=FIRST)
    ds.responses([4] * 5, group="carer", check_date=FIRST)
    ds.responses([4] * 5, group="professional", check_date=SECOND)
    ds.responses([3] * 5, group="carer", check_date=SECOND)  # 4.0 to 3.5
    ds.load(store)
    assert decline(store) == [("b1", "trust", SECOND)]


def test_decline_compares_with_the_latest_earlier_check(store: Store) -> None:
    ds = Dataset()
    ds.responses(spread(45), check_date=FIRST)
    ds.responses(spread(36), check_date=SECOND)  # fell 0.9: flagged
    ds.responses(spread(35), check_date=THIRD)  # fell 0.1 since the second check
    ds.load(store)
    assert decline(store) == [("b1", "trust", SECOND)]


def test_decline_needs_five_respondents_at_the_earlier_check(store: Store) -> None:
    ds = Dataset()
    ds.responses([5] * 4, check_date=FIRST)
    ds.responses([2] * 5, check_date=SECOND)
    ds.load(store)
    assert decline(store) == []


def test_decline_needs_five_respondents_at_the_later_check(store: Store) -> None:
    ds = Dataset()
    ds.responses([5] * 5, check_date=FIRST)
    ds.responses([2] * 4, check_date=SECOND)
    ds.load(store)
    assert decline(store) == []


def test_previous_check_with_few_respondents_is_not_skipped(store: Store) -> None:
    # The previous check is the latest earlier one, even if it is too small to compare.
    ds = Dataset()
    ds.responses([5] * 5, check_date=FIRST)
    ds.responses([5] * 3, check_date=SECOND)
    ds.responses([2] * 5, check_date=THIRD)
    ds.load(store)
    assert decline(store) == []


def test_decline_is_per_board(store: Store) -> None:
    ds = Dataset()
    ds.responses([5] * 5, board_id="b1", check_date=FIRST)
    ds.responses([2] * 5, board_id="b2", check_date=SECOND)
    ds.load(store)
    assert decline(store) == []


# --- HC-OVERDUE -----------------------------------------------------------------------------

OVERDUE_AS_OF = D(2025, 1, 15)
WINDOW_START = D(2024, 7, 15)  # 15 January 2025 minus 6 calendar months


def overdue(store: Store, as_of: dt.date = OVERDUE_AS_OF) -> list[str | None]:
    return [f["board_id"] for f in findings(check(store, as_of), "HC-OVERDUE")]


def test_decision_exactly_six_months_ago_with_no_check_is_overdue(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", decided_on=WINDOW_START)
    ds.load(store)
    result = check(store, OVERDUE_AS_OF)
    [found] = findings(result, "HC-OVERDUE")
    assert found["board_id"] == "b1"
    assert found["severity"] == "minor"
    assert "15 July 2024" in found["message"]
    assert "15 January 2025" in found["message"]


def test_decision_just_before_the_window_is_not_counted(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", decided_on=WINDOW_START - DAY)
    ds.load(store)
    assert overdue(store) == []


def test_decision_after_as_of_is_not_counted(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", decided_on=OVERDUE_AS_OF + DAY)
    ds.load(store)
    assert overdue(store) == []


def test_undecided_decisions_do_not_make_a_check_overdue(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", identified_on=D(2024, 10, 1))
    ds.load(store)
    assert overdue(store) == []


def test_check_exactly_six_months_ago_clears_it(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", decided_on=D(2024, 10, 1))
    ds.health_check(check_date=WINDOW_START)
    ds.load(store)
    assert overdue(store) == []


def test_check_just_before_the_window_does_not_clear_it(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", decided_on=D(2024, 10, 1))
    ds.health_check(check_date=WINDOW_START - DAY)
    ds.load(store)
    assert overdue(store) == ["b1"]


def test_check_after_as_of_does_not_clear_it(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", decided_on=D(2024, 10, 1))
    ds.health_check(check_date=OVERDUE_AS_OF + DAY)
    ds.load(store)
    assert overdue(store) == ["b1"]


def test_check_on_as_of_clears_it(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", decided_on=D(2024, 10, 1))
    ds.health_check(check_date=OVERDUE_AS_OF)
    ds.load(store)
    assert overdue(store) == []


def test_six_calendar_months_from_the_end_of_a_month(store: Store) -> None:
    # 31 August 2024 minus 6 calendar months is 29 February 2024 (no 31 February).
    ds = Dataset()
    ds.decision("d1", board_id="b1", identified_on=D(2024, 1, 1), decided_on=D(2024, 2, 29))
    ds.decision("d2", board_id="b2", identified_on=D(2024, 1, 1), decided_on=D(2024, 2, 28))
    ds.load(store)
    assert overdue(store, D(2024, 8, 31)) == ["b1"]


def test_overdue_window_is_a_setting(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", decided_on=D(2024, 9, 1))
    ds.load(store)
    assert overdue(store) == ["b1"]
    # With a 3-month window (from 15 October 2024) the decision is outside it.
    result = check(store, OVERDUE_AS_OF, thresholds=Thresholds(overdue_months=3))
    assert findings(result, "HC-OVERDUE") == []
