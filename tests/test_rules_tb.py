"""Tick-box consultation (TB): each signal, its edges, severities and the suspect verdict.

The baseline is a decision decided on 4 June 2024 (identified 1 January, options fixed 5 March)
with one involvement that raises no signal at all: people who use services at co-produce level
from 10 January 2024, with lived-experience participants, an easy-read format, expenses, a
recorded influence and feedback a fortnight after the decision. Each test changes one thing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from builders import DAY, D, Dataset, check, codes, finding, verdict

from coprod.rules import CheckResult
from coprod.store import Store

DECIDED = D(2024, 6, 4)
AS_OF = D(2025, 1, 1)
WINDOW = 84  # feedback window, days

CLEAN: dict[str, Any] = {
    "start_date": D(2024, 1, 10),
    "end_date": D(2024, 3, 1),
    "group": "people_who_use_services",
    "level": "co_produce",
    "method": "workshop",
    "participants": 12,
    "lived_experience_participants": 8,
    "accessible_formats": "easy_read",
    "expenses_offered": True,
    "feedback_on": D(2024, 6, 18),
    "influence": "Day centre kept open on Saturdays",
}


def base(ds: Dataset, **decision: Any) -> None:
    fields = {
        "identified_on": D(2024, 1, 1),
        "options_fixed_on": D(2024, 3, 5),
        "decided_on": DECIDED,
    }
    ds.decision("d1", **fields | decision)


def one(
    store: Store, *, as_of: dt.date = AS_OF, decision: dict[str, Any] | None = None, **changes: Any
) -> CheckResult:
    """Load the baseline decision with one involvement changed as given; check it."""
    ds = Dataset()
    base(ds, **(decision or {}))
    ds.involvement("i1", **CLEAN | changes)
    ds.load(store)
    return check(store, as_of)


def tb(result: CheckResult, decision_id: str = "d1") -> list[str]:
    return codes(result, decision_id, prefix="TB-")


def test_baseline_raises_no_signal(store: Store) -> None:
    result = one(store)
    assert tb(result) == []
    assert verdict(result)["first_involvement"] == "from_start"
    assert verdict(result)["tick_box_suspect"] is False


# --- TB-ONE-WAY -----------------------------------------------------------------------------


def test_consult_only_is_one_way(store: Store) -> None:
    result = one(store, level="consult")
    assert tb(result) == ["TB-ONE-WAY"]
    assert verdict(result)["tb_one_way"] is True


def test_engage_is_not_one_way(store: Store) -> None:
    assert tb(one(store, level="engage")) == []


def test_one_way_looks_at_the_highest_qualifying_level(store: Store) -> None:
    ds = Dataset()
    base(ds)
    ds.involvement("i1", **CLEAN | {"level": "consult"})
    ds.involvement("i2", **CLEAN | {"level": "co_design"})
    ds.load(store)
    assert tb(check(store, AS_OF)) == []


def test_higher_levels_that_do_not_qualify_leave_it_one_way(store: Store) -> None:
    ds = Dataset()
    base(ds)
    ds.involvement("i1", **CLEAN | {"level": "consult"})
    ds.involvement("i2", **CLEAN | {"level": "co_produce", "group": "staff"})
    ds.load(store)
    assert "TB-ONE-WAY" in tb(check(store, AS_OF))


# --- TB-LABEL-MISMATCH ----------------------------------------------------------------------


def test_claim_above_what_happened_is_a_mismatch(store: Store) -> None:
    result = one(store, level="engage", decision={"claimed_approach": "co_produce"})
    assert tb(result) == ["TB-LABEL-MISMATCH"]
    mismatch = finding(result, "TB-LABEL-MISMATCH")
    assert mismatch["severity"] == "major"
    assert "co-produce" in mismatch["message"]
    assert "engage" in mismatch["message"]


def test_claim_with_no_qualifying_involvement_is_a_mismatch(store: Store) -> None:
    result = one(store, level="inform", decision={"claimed_approach": "consult"})
    assert "TB-LABEL-MISMATCH" in tb(result)


def test_claim_with_no_involvement_at_all_is_a_mismatch(store: Store) -> None:
    ds = Dataset()
    base(ds, claimed_approach="co_design")
    ds.load(store)
    assert tb(check(store, AS_OF)) == ["TB-LABEL-MISMATCH"]


def test_claim_equal_to_what_happened_is_not_a_mismatch(store: Store) -> None:
    result = one(store, level="co_design", decision={"claimed_approach": "co_design"})
    assert tb(result) == []


def test_claim_below_what_happened_is_not_a_mismatch(store: Store) -> None:
    result = one(store, level="co_produce", decision={"claimed_approach": "consult"})
    assert tb(result) == []


def test_claiming_none_is_never_a_mismatch(store: Store) -> None:
    ds = Dataset()
    base(ds, claimed_approach="none")
    ds.load(store)
    assert tb(check(store, AS_OF)) == []


def test_mismatch_applies_to_exempt_decisions(store: Store) -> None:
    ds = Dataset()
    base(
        ds,
        claimed_approach="co_produce",
        affects_people_who_use_services=False,
        exemption_reason="Technical accounting change",
    )
    ds.load(store)
    result = check(store, AS_OF)
    assert verdict(result)["first_involvement"] == "not_applicable"
    assert tb(result) == ["TB-LABEL-MISMATCH"]


def test_disputed_involvement_does_not_support_the_claim(store: Store) -> None:
    result = one(store, attestation="disputed", decision={"claimed_approach": "co_produce"})
    assert "TB-LABEL-MISMATCH" in tb(result)


# --- TB-NO-FEEDBACK -------------------------------------------------------------------------


@pytest.mark.parametrize("days_after", [0, 1, WINDOW])
def test_feedback_within_the_window_counts(store: Store, days_after: int) -> None:
    assert tb(one(store, feedback_on=DECIDED + days_after * DAY)) == []


def test_feedback_one_day_after_the_window_does_not_count(store: Store) -> None:
    result = one(store, feedback_on=DECIDED + (WINDOW + 1) * DAY)
    assert tb(result) == ["TB-NO-FEEDBACK"]
    message = finding(result, "TB-NO-FEEDBACK")["message"]
    assert "4 June 2024" in message
    assert "27 August 2024" in message  # decided_on + 84 days


def test_feedback_before_the_decision_does_not_count(store: Store) -> None:
    assert tb(one(store, feedback_on=DECIDED - DAY)) == ["TB-NO-FEEDBACK"]


def test_no_feedback_is_not_flagged_until_the_window_has_passed(store: Store) -> None:
    assert tb(one(store, as_of=DECIDED + WINDOW * DAY, feedback_on=None)) == []


def test_no_feedback_is_flagged_the_day_after_the_window(store: Store) -> None:
    result = one(store, as_of=DECIDED + (WINDOW + 1) * DAY, feedback_on=None)
    assert tb(result) == ["TB-NO-FEEDBACK"]


def test_feedback_to_a_non_qualifying_group_does_not_count(store: Store) -> None:
    ds = Dataset()
    base(ds)
    ds.involvement("i1", **CLEAN | {"feedback_on": None})
    ds.involvement("i2", **CLEAN | {"group": "staff", "feedback_on": D(2024, 6, 10)})
    ds.load(store)
    assert tb(check(store, AS_OF)) == ["TB-NO-FEEDBACK"]


def test_undecided_decision_has_no_feedback_signal(store: Store) -> None:
    result = one(store, decision={"decided_on": None}, feedback_on=None)
    assert tb(result) == []


# --- TB-NO-INFLUENCE ------------------------------------------------------------------------


def test_no_recorded_influence_is_flagged(store: Store) -> None:
    result = one(store, influence=None)
    assert tb(result) == ["TB-NO-INFLUENCE"]
    assert "4 June 2024" in finding(result, "TB-NO-INFLUENCE")["message"]


def test_whitespace_influence_does_not_count(store: Store) -> None:
    ds = Dataset()
    base(ds)
    ds.involvement("i1", **CLEAN)
    ds.load(store)
    # A form or an older import may leave blanks in the store; they record nothing.
    with store.transaction() as cur:
        cur.execute("UPDATE involvement SET influence = '   ' WHERE involvement_id = 'i1'")
    assert tb(check(store, AS_OF)) == ["TB-NO-INFLUENCE"]
    with store.transaction() as cur:
        cur.execute("UPDATE involvement SET influence = '' WHERE involvement_id = 'i1'")
    assert tb(check(store, AS_OF)) == ["TB-NO-INFLUENCE"]


def test_undecided_decision_has_no_influence_signal(store: Store) -> None:
    assert tb(one(store, decision={"decided_on": None}, influence=None)) == []


def test_influence_on_any_qualifying_involvement_is_enough(store: Store) -> None:
    ds = Dataset()
    base(ds)
    ds.involvement("i1", **CLEAN | {"influence": None})
    ds.involvement("i2", **CLEAN | {"group": "carers"})
    ds.load(store)
    assert tb(check(store, AS_OF)) == []


# --- TB-SHORT-WINDOW ------------------------------------------------------------------------


def consultation(days: int) -> dict[str, Any]:
    start = D(2024, 1, 10)
    return {"method": "consultation", "start_date": start, "end_date": start + days * DAY}


def test_consultation_of_41_days_is_too_short(store: Store) -> None:
    result = one(store, **consultation(41))
    assert tb(result) == ["TB-SHORT-WINDOW"]
    message = finding(result, "TB-SHORT-WINDOW")["message"]
    assert "41 days" in message
    assert "42 days" in message


def test_consultation_of_exactly_42_days_is_adequate(store: Store) -> None:
    assert tb(one(store, **consultation(42))) == []


def test_short_window_applies_only_to_formal_consultations(store: Store) -> None:
    short_workshop = consultation(5) | {"method": "survey"}
    assert tb(one(store, **short_workshop)) == []


def test_consultation_without_end_date_is_not_judged(store: Store) -> None:
    assert tb(one(store, **consultation(5) | {"end_date": None})) == []


# --- TB-NO-LIVED-EXPERIENCE -----------------------------------------------------------------


def test_recorded_lived_experience_summing_to_zero_is_flagged(store: Store) -> None:
    result = one(store, lived_experience_participants=0)
    assert tb(result) == ["TB-NO-LIVED-EXPERIENCE"]


def test_lived_experience_not_recorded_is_not_flagged(store: Store) -> None:
    assert tb(one(store, lived_experience_participants=None)) == []


def test_lived_experience_sums_over_qualifying_involvements(store: Store) -> None:
    ds = Dataset()
    base(ds)
    ds.involvement("i1", **CLEAN | {"lived_experience_participants": 0})
    ds.involvement("i2", **CLEAN | {"lived_experience_participants": 2})
    ds.load(store)
    assert tb(check(store, AS_OF)) == []


def test_zero_recorded_with_another_unrecorded_is_flagged(store: Store) -> None:
    ds = Dataset()
    base(ds)
    ds.involvement("i1", **CLEAN | {"lived_experience_participants": 0})
    ds.involvement("i2", **CLEAN | {"lived_experience_participants": None})
    ds.load(store)
    assert tb(check(store, AS_OF)) == ["TB-NO-LIVED-EXPERIENCE"]


# --- TB-NO-SUPPORT --------------------------------------------------------------------------


@pytest.mark.parametrize("expenses", [False, None])
def test_no_format_and_no_expenses_is_flagged(store: Store, expenses: bool | None) -> None:
    result = one(store, accessible_formats=None, expenses_offered=expenses)
    assert tb(result) == ["TB-NO-SUPPORT"]


def test_an_accessible_format_alone_is_support(store: Store) -> None:
    assert tb(one(store, accessible_formats="bsl", expenses_offered=False)) == []


def test_expenses_alone_are_support(store: Store) -> None:
    assert tb(one(store, accessible_formats=None, expenses_offered=True)) == []


def test_support_offered_only_to_staff_does_not_count(store: Store) -> None:
    ds = Dataset()
    base(ds)
    ds.involvement("i1", **CLEAN | {"accessible_formats": None, "expenses_offered": False})
    ds.involvement("i2", **CLEAN | {"group": "staff"})
    ds.load(store)
    assert tb(check(store, AS_OF)) == ["TB-NO-SUPPORT"]


# --- TB-DISPUTED ----------------------------------------------------------------------------


def test_disputed_involvement_is_flagged(store: Store) -> None:
    ds = Dataset()
    base(ds)
    ds.involvement("i1", **CLEAN)
    ds.involvement("i2", **CLEAN | {"attestation": "disputed"})
    ds.load(store)
    result = check(store, AS_OF)
    assert tb(result) == ["TB-DISPUTED"]
    disputed = finding(result, "TB-DISPUTED")
    assert disputed["severity"] == "major"
    assert "1 of the recorded involvements is disputed" in disputed["message"]


def test_disputed_non_qualifying_involvement_is_flagged(store: Store) -> None:
    ds = Dataset()
    base(ds)
    ds.involvement("i1", **CLEAN)
    ds.involvement("i2", group="community", level="inform", attestation="disputed")
    ds.load(store)
    assert tb(check(store, AS_OF)) == ["TB-DISPUTED"]


def test_disputed_alone_makes_a_tick_box_suspect(store: Store) -> None:
    result = one(store, attestation="disputed")
    assert "TB-DISPUTED" in tb(result)
    assert verdict(result)["first_involvement"] == "never"
    assert verdict(result)["tick_box_suspect"] is True


# --- which decisions the signals apply to ---------------------------------------------------


def test_only_label_and_dispute_apply_without_qualifying_involvement(store: Store) -> None:
    # decided long ago, nothing at consult or above: every other signal would otherwise fire
    result = one(
        store,
        level="inform",
        accessible_formats=None,
        expenses_offered=False,
        feedback_on=None,
        influence=None,
        lived_experience_participants=0,
        **consultation(5),
    )
    assert tb(result) == []
    assert verdict(result)["first_involvement"] == "never"


def test_planned_involvement_raises_no_signal_yet(store: Store) -> None:
    result = one(
        store,
        decision={"decided_on": None},
        start_date=D(2025, 2, 1),
        end_date=D(2025, 2, 5),
        method="consultation",
        accessible_formats=None,
        expenses_offered=False,
    )
    assert tb(result) == []


# --- severities -----------------------------------------------------------------------------


def test_severities(store: Store) -> None:
    ds = Dataset()
    base(ds, claimed_approach="co_produce")
    ds.involvement(
        "i1",
        **CLEAN
        | consultation(10)
        | {
            "level": "consult",
            "accessible_formats": None,
            "expenses_offered": False,
            "feedback_on": None,
            "influence": None,
            "lived_experience_participants": 0,
        },
    )
    ds.involvement("i2", **CLEAN | {"attestation": "disputed"})
    ds.load(store)
    result = check(store, AS_OF)
    severities = {f["code"]: f["severity"] for f in result.findings if f["code"].startswith("TB-")}
    assert severities == {
        "TB-ONE-WAY": "minor",
        "TB-LABEL-MISMATCH": "major",
        "TB-NO-FEEDBACK": "minor",
        "TB-NO-INFLUENCE": "minor",
        "TB-SHORT-WINDOW": "minor",
        "TB-NO-LIVED-EXPERIENCE": "minor",
        "TB-NO-SUPPORT": "minor",
        "TB-DISPUTED": "major",
    }
    assert verdict(result)["tick_box_suspect"] is True


# --- tick_box_suspect -----------------------------------------------------------------------


def test_three_signals_make_a_suspect(store: Store) -> None:
    result = one(
        store, level="consult", influence=None, accessible_formats=None, expenses_offered=False
    )
    assert tb(result) == ["TB-NO-INFLUENCE", "TB-NO-SUPPORT", "TB-ONE-WAY"]
    assert verdict(result)["tick_box_suspect"] is True


def test_two_signals_do_not_make_a_suspect(store: Store) -> None:
    result = one(store, level="consult", influence=None)
    assert tb(result) == ["TB-NO-INFLUENCE", "TB-ONE-WAY"]
    assert verdict(result)["tick_box_suspect"] is False


def test_label_mismatch_counts_towards_a_suspect(store: Store) -> None:
    result = one(store, level="consult", influence=None, decision={"claimed_approach": "co_design"})
    assert tb(result) == ["TB-LABEL-MISMATCH", "TB-NO-INFLUENCE", "TB-ONE-WAY"]
    assert verdict(result)["tick_box_suspect"] is True


def test_claim_without_any_involvement_is_not_a_suspect(store: Store) -> None:
    ds = Dataset()
    base(ds, claimed_approach="co_produce")
    ds.load(store)
    result = check(store, AS_OF)
    assert tb(result) == ["TB-LABEL-MISMATCH"]
    assert verdict(result)["tick_box_suspect"] is False


def test_non_qualifying_involvement_is_recorded_involvement(store: Store) -> None:
    # inform-only involvement is recorded, so a dispute about it makes a suspect
    result = one(store, level="inform", attestation="disputed")
    assert verdict(result)["tick_box_suspect"] is True
