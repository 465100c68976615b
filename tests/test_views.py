"""The tables the pages build from a check (coprod.views)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from builders import check, load_demo

from coprod.demo import DEMO_AS_OF
from coprod.store import Store
from coprod.views import Headline, Period, decisions_frame, headline


def test_each_decision_row_lists_the_codes_of_its_findings_in_order(
    store: Store, tmp_path: Path
) -> None:
    result = check(load_demo(store, tmp_path / "demo"), DEMO_AS_OF)
    frame = decisions_frame(result)
    assert list(frame["decision_id"]) == [d["decision_id"] for d in result.decisions]
    listed = dict(zip(frame["decision_id"], frame["findings"], strict=True))
    for decision in result.decisions:
        want = sorted(f["code"] for f in result.findings_about(decision["decision_id"]))
        assert listed[decision["decision_id"]] == want
    assert sum(1 for codes in listed.values() if not codes) > 0  # some have none: []
    assert sum(1 for codes in listed.values() if len(codes) > 2) > 0


def test_the_headline_counts_decisions_taken_apart_from_those_still_open(
    store: Store, tmp_path: Path
) -> None:
    result = check(load_demo(store, tmp_path / "demo"), DEMO_AS_OF)
    counts = headline(decisions_frame(result))
    rows = result.decisions
    exempt = [d for d in rows if d["first_involvement"] == "not_applicable"]
    taken = [d for d in rows if d["decided"] and d not in exempt]
    still_open = [d for d in rows if not d["decided"] and d not in exempt]
    assert counts.taken == {
        c: sum(d["first_involvement"] == c for d in taken) for c in counts.taken
    }
    assert set(counts.taken) == {
        "from_start",
        "formative",
        "late",
        "retrofitted",
        "never",
        "unknown",
    }
    assert counts.decided == len(taken)
    assert counts.not_applicable == len(exempt) > 0
    assert counts.pending == sum(d["first_involvement"] == "pending" for d in still_open) > 0
    assert counts.pending + counts.open_involved == len(still_open)
    period = Period(dt.date(2000, 1, 1), DEMO_AS_OF)
    sentence = counts.sentence(period)
    assert sentence.startswith(f"Of {len(taken):,} decisions taken ")
    assert f"{counts.taken['never']} (" in sentence
    assert f"in {counts.pending} nobody has been involved yet" in sentence
    assert Headline(dict.fromkeys(counts.taken, 0)).sentence(period).startswith("No decisions")
