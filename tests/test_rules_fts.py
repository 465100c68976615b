"""From the start (FTS): one category per decision, first match wins (docs/domain.md, FTS table).

Every test builds one small board, loads it through the import path and checks the category
and the finding a board officer would see. Unless a test says otherwise the decision was
identified on 1 January 2024, its options fixed on 5 March 2024, decided on 4 June 2024, and
the check runs as of 1 January 2025.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from builders import DAY, D, Dataset, category, check, codes, finding, verdict, withdraw

from coprod.settings import Thresholds
from coprod.store import Store

IDENTIFIED = D(2024, 1, 1)
OPTIONS = D(2024, 3, 5)
DECIDED = D(2024, 6, 4)
AS_OF = D(2025, 1, 1)


def decided(ds: Dataset, **fields: Any) -> None:
    """A decision with the full timeline, decided well before AS_OF."""
    ds.decision(
        "d1",
        **{"identified_on": IDENTIFIED, "options_fixed_on": OPTIONS, "decided_on": DECIDED}
        | fields,
    )


def fts(store: Store, as_of: dt.date = AS_OF, **kwargs: Any) -> tuple[str, list[str]]:
    result = check(store, as_of, **kwargs)
    return category(result), codes(result, prefix="FTS-")


# --- not_applicable -------------------------------------------------------------------------


def test_exempt_decision_is_not_applicable_and_shows_the_reason(store: Store) -> None:
    ds = Dataset()
    decided(
        ds,
        affects_people_who_use_services=False,
        exemption_reason="Renewal of the internal audit contract",
    )
    ds.load(store)
    result = check(store, AS_OF)
    assert category(result) == "not_applicable"
    exempt = finding(result, "FTS-EXEMPT")
    assert exempt["severity"] == "info"
    assert "Renewal of the internal audit contract" in exempt["message"]
    assert codes(result, prefix="FTS-") == ["FTS-EXEMPT"]


def test_exemption_wins_over_involvement(store: Store) -> None:
    ds = Dataset()
    decided(ds, affects_people_who_use_services=False, exemption_reason="Accounting change")
    ds.involvement(start_date=DECIDED)  # would be retrofitted
    ds.load(store)
    assert fts(store) == ("not_applicable", ["FTS-EXEMPT"])


# --- never / pending ------------------------------------------------------------------------


def test_decided_without_involvement_is_never_and_critical(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.load(store)
    result = check(store, AS_OF)
    assert category(result) == "never"
    none = finding(result, "FTS-NONE")
    assert none["severity"] == "critical"
    assert "4 June 2024" in none["message"]
    assert codes(result, prefix="FTS-") == ["FTS-NONE"]


def test_decided_exactly_on_as_of_counts_as_decided(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.load(store)
    assert fts(store, DECIDED) == ("never", ["FTS-NONE"])


def test_decided_after_as_of_is_not_decided_yet(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.load(store)
    # options were fixed by then, so the decision is at risk, but not "never"
    assert fts(store, DECIDED - DAY) == ("pending", ["FTS-AT-RISK"])


def test_pending_with_options_open_has_no_finding(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", options_fixed_on=OPTIONS)
    ds.load(store)
    assert fts(store, OPTIONS - DAY) == ("pending", [])


def test_pending_with_options_fixed_is_at_risk(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", options_fixed_on=OPTIONS)
    ds.load(store)
    result = check(store, D(2024, 4, 1))
    assert category(result) == "pending"
    risk = finding(result, "FTS-AT-RISK")
    assert risk["severity"] == "major"
    assert "5 March 2024" in risk["message"]


def test_pending_with_options_fixed_on_as_of_is_at_risk(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", options_fixed_on=OPTIONS)
    ds.load(store)
    assert fts(store, OPTIONS) == ("pending", ["FTS-AT-RISK"])


def test_pending_without_options_date_has_no_finding(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1")
    ds.load(store)
    assert fts(store) == ("pending", [])


# --- retrofitted / late ---------------------------------------------------------------------


def test_involved_after_the_decision_is_retrofitted_and_critical(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=D(2024, 7, 8))
    ds.load(store)
    result = check(store, AS_OF)
    assert category(result) == "retrofitted"
    after = finding(result, "FTS-AFTER-DECISION")
    assert after["severity"] == "critical"
    assert "4 June 2024" in after["message"]
    assert "8 July 2024" in after["message"]
    assert codes(result, prefix="FTS-") == ["FTS-AFTER-DECISION"]


def test_involved_on_the_day_of_the_decision_is_retrofitted(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=DECIDED)
    ds.load(store)
    assert fts(store) == ("retrofitted", ["FTS-AFTER-DECISION"])


def test_involved_after_options_fixed_is_late_and_major(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=D(2024, 4, 9))
    ds.load(store)
    result = check(store, AS_OF)
    assert category(result) == "late"
    late = finding(result, "FTS-AFTER-OPTIONS")
    assert late["severity"] == "major"
    assert "5 March 2024" in late["message"]
    assert "9 April 2024" in late["message"]
    assert codes(result, prefix="FTS-") == ["FTS-AFTER-OPTIONS"]


def test_involved_on_the_day_options_were_fixed_is_late(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=OPTIONS)
    ds.load(store)
    assert fts(store) == ("late", ["FTS-AFTER-OPTIONS"])


def test_involved_the_day_before_options_were_fixed_is_not_late(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=OPTIONS - DAY)
    ds.load(store)
    assert fts(store) == ("formative", ["FTS-LATE-START"])


# --- from_start / formative / unknown -------------------------------------------------------


def test_involved_within_the_start_window_is_from_start(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=D(2024, 1, 10))
    ds.load(store)
    result = check(store, AS_OF)
    assert category(result) == "from_start"
    assert codes(result, prefix="FTS-") == []
    assert verdict(result)["first_involved_on"] == D(2024, 1, 10)


def test_exactly_30_days_after_identified_is_from_start(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=IDENTIFIED + 30 * DAY)  # 31 January 2024
    ds.load(store)
    assert fts(store) == ("from_start", [])


def test_31_days_after_identified_is_not_from_start(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=IDENTIFIED + 31 * DAY)  # 1 February 2024
    ds.load(store)
    result = check(store, AS_OF)
    assert category(result) == "formative"
    late_start = finding(result, "FTS-LATE-START")
    assert late_start["severity"] == "minor"
    assert "1 January 2024" in late_start["message"]
    assert "1 February 2024" in late_start["message"]
    assert "5 March 2024" in late_start["message"]


def test_involvement_already_running_when_identified_is_from_start(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=D(2023, 11, 1))  # a standing reference group
    ds.load(store)
    assert fts(store) == ("from_start", [])


def test_involved_late_without_options_date_is_unknown(store: Store) -> None:
    ds = Dataset()
    decided(ds, options_fixed_on=None)
    ds.involvement(start_date=D(2024, 3, 7))
    ds.load(store)
    result = check(store, AS_OF)
    assert category(result) == "unknown"
    gap = finding(result, "FTS-TIMELINE-GAP")
    assert gap["severity"] == "warning"
    assert "1 January 2024" in gap["message"]
    assert "7 March 2024" in gap["message"]
    assert codes(result, prefix="FTS-") == ["FTS-TIMELINE-GAP"]


def test_undecided_decision_with_involvement_in_window_is_from_start(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1")
    ds.involvement(start_date=D(2024, 1, 20))
    ds.load(store)
    assert fts(store) == ("from_start", [])


# --- first match wins -----------------------------------------------------------------------


def test_retrofitted_wins_over_late(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=D(2024, 8, 1))  # after options and after the decision
    ds.load(store)
    assert fts(store) == ("retrofitted", ["FTS-AFTER-DECISION"])


def test_retrofitted_wins_over_from_start(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", decided_on=D(2024, 1, 5))  # decided inside the start window
    ds.involvement(start_date=D(2024, 1, 5))
    ds.load(store)
    assert fts(store) == ("retrofitted", ["FTS-AFTER-DECISION"])


def test_late_wins_over_from_start(store: Store) -> None:
    ds = Dataset()
    decided(ds, options_fixed_on=D(2024, 1, 8))  # options fixed a week after identified
    ds.involvement(start_date=D(2024, 1, 15))  # inside the start window, after options
    ds.load(store)
    assert fts(store) == ("late", ["FTS-AFTER-OPTIONS"])


def test_earliest_qualifying_involvement_decides(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=D(2024, 8, 1))
    ds.involvement(start_date=D(2024, 1, 20))
    ds.involvement(start_date=D(2024, 4, 1))
    ds.load(store)
    result = check(store, AS_OF)
    assert category(result) == "from_start"
    assert verdict(result)["first_involved_on"] == D(2024, 1, 20)


# --- what counts as qualifying involvement --------------------------------------------------


def test_disputed_involvement_does_not_count(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=D(2024, 1, 10), attestation="disputed")
    ds.load(store)
    assert fts(store) == ("never", ["FTS-NONE"])


def test_disputed_early_involvement_leaves_the_later_one(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=D(2024, 1, 10), attestation="disputed")
    ds.involvement(start_date=D(2024, 4, 1), attestation="confirmed")
    ds.load(store)
    assert fts(store) == ("late", ["FTS-AFTER-OPTIONS"])


def test_involvement_planned_after_as_of_does_not_count(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", options_fixed_on=OPTIONS)
    ds.involvement(start_date=D(2024, 4, 2))
    ds.load(store)
    assert fts(store, D(2024, 4, 1)) == ("pending", ["FTS-AT-RISK"])


def test_involvement_starting_on_as_of_counts(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", options_fixed_on=OPTIONS)
    ds.involvement(start_date=D(2024, 4, 1))
    ds.load(store)
    assert fts(store, D(2024, 4, 1)) == ("late", ["FTS-AFTER-OPTIONS"])


def test_inform_never_counts(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=D(2024, 1, 10), level="inform")
    ds.load(store)
    assert fts(store) == ("never", ["FTS-NONE"])


def test_consult_counts(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=D(2024, 1, 10), level="consult")
    ds.load(store)
    assert fts(store) == ("from_start", [])


@pytest.mark.parametrize("level", ["engage", "co_design", "co_produce"])
def test_levels_above_consult_count(store: Store, level: str) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=D(2024, 1, 10), level=level)
    ds.load(store)
    assert fts(store) == ("from_start", [])


@pytest.mark.parametrize("group", ["community", "staff", "other"])
def test_other_groups_never_count(store: Store, group: str) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=D(2024, 1, 10), group=group, level="co_produce")
    ds.load(store)
    assert fts(store) == ("never", ["FTS-NONE"])


@pytest.mark.parametrize("group", ["people_who_use_services", "carers", "dpo"])
def test_people_carers_and_dpos_count(store: Store, group: str) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=D(2024, 1, 10), group=group)
    ds.load(store)
    assert fts(store) == ("from_start", [])


def test_non_qualifying_early_involvement_does_not_set_the_first_date(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=D(2024, 1, 5), group="staff", level="co_produce")
    ds.involvement(start_date=D(2024, 1, 6), level="inform")
    ds.involvement(start_date=D(2024, 4, 1))
    ds.load(store)
    assert fts(store) == ("late", ["FTS-AFTER-OPTIONS"])


# --- messages, settings, filters, withdrawn records -----------------------------------------


def test_messages_name_dates_without_leading_zeros(store: Store) -> None:
    ds = Dataset()
    decided(
        ds, options_fixed_on=D(2025, 3, 3), decided_on=D(2025, 3, 3), identified_on=D(2025, 1, 2)
    )
    ds.load(store)
    result = check(store, D(2025, 4, 1))
    message = finding(result, "FTS-NONE")["message"]
    assert "3 March 2025" in message
    assert "03 March" not in message
    assert "2025-03-03" not in message


def test_start_window_is_a_setting(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=IDENTIFIED + 20 * DAY)
    ds.load(store)
    assert fts(store) == ("from_start", [])
    custom = check(store, AS_OF, thresholds=Thresholds(start_window_days=10))
    assert category(custom) == "formative"
    assert "10 days" in finding(custom, "FTS-LATE-START")["message"]


def test_start_window_setting_boundary_is_inclusive(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement(start_date=IDENTIFIED + 10 * DAY)
    ds.load(store)
    custom = check(store, AS_OF, thresholds=Thresholds(start_window_days=10))
    assert category(custom) == "from_start"


def test_board_filter_keeps_only_that_board(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", board_id="b1", decided_on=DECIDED)
    ds.decision("d2", board_id="b2", decided_on=DECIDED)
    ds.load(store)
    result = check(store, AS_OF, boards=["b2"])
    assert [d["decision_id"] for d in result.decisions] == ["d2"]
    assert {f["board_id"] for f in result.findings} == {"b2"}
    assert codes(result, "d2", prefix="FTS-") == ["FTS-NONE"]
    everything = check(store, AS_OF)
    assert {d["decision_id"] for d in everything.decisions} == {"d1", "d2"}


def test_withdrawn_involvement_does_not_count(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.involvement("early", start_date=D(2024, 1, 10))
    ds.involvement("late", start_date=D(2024, 4, 1))
    ds.load(store)
    assert fts(store) == ("from_start", [])
    withdraw(store, "involvement", "involvement_id = ?", ["early"])
    assert fts(store) == ("late", ["FTS-AFTER-OPTIONS"])
    withdraw(store, "involvement", "involvement_id = ?", ["late"])
    assert fts(store) == ("never", ["FTS-NONE"])


def test_withdrawn_decision_is_not_checked(store: Store) -> None:
    ds = Dataset()
    decided(ds)
    ds.decision("d2", decided_on=DECIDED)
    ds.load(store)
    withdraw(store, "decision", "decision_id = ?", ["d1"])
    result = check(store, AS_OF)
    assert [d["decision_id"] for d in result.decisions] == ["d2"]
    assert codes(result, "d1") == []


def test_of_involvements_starting_the_same_day_the_first_by_id_is_the_first(
    store: Store,
) -> None:
    # Meeting mode names the first involvement: the same one on every check, whatever order
    # the rows are read in.
    ds = Dataset()
    decided(ds)
    for name in ("i-zeta", "i-alpha", "i-mu", "i-beta"):
        ds.involvement(name, start_date=D(2024, 1, 10))
    ds.involvement("i-earlier-but-disputed", start_date=D(2024, 1, 2), attestation="disputed")
    ds.load(store)
    for _ in range(5):
        chosen = verdict(check(store, AS_OF))
        assert chosen["first_involvement_id"] == "i-alpha"
        assert chosen["first_involved_on"] == D(2024, 1, 10)
