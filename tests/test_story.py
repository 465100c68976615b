"""A decision's story as the Decision story page shows it (coprod.story): what counts towards
"from the start", and why not, in the rules' own terms."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from builders import Dataset, check, load_demo

from coprod.demo import DEMO_AS_OF
from coprod.models import QUALIFYING_GROUPS
from coprod.rules import QUALIFYING_GROUP_NAMES
from coprod.store import Store
from coprod.story import decision_story

D = dt.date
AS_OF = D(2024, 6, 1)


def test_each_involvement_says_whether_it_counts_and_why_not(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1", options_fixed_on=D(2024, 3, 1), decided_on=D(2024, 5, 1))
    ds.involvement("i1", start_date=D(2024, 2, 1), attestation="disputed",
                   attestation_note="We were not there.")  # fmt: skip
    ds.involvement("i2", start_date=D(2024, 2, 2), group="staff")
    ds.involvement("i3", start_date=D(2024, 2, 3), level="inform")
    ds.involvement("i4", start_date=D(2024, 7, 1))
    ds.involvement("i5", start_date=D(2024, 4, 1), level="consult", group="carers")
    ds.load(store)
    story = decision_story(store, "d1", check(store, AS_OF))
    assert story is not None
    assert {i.involvement_id: i.reason for i in story.involvements} == {
        "i1": "Does not count: disputed",
        "i2": "Does not count: staff are not people who use services",
        "i3": "Does not count: informing is one-way",
        "i5": "Counts",
        "i4": "Not yet: planned to start 1 July 2024",
    }
    assert [i.involvement_id for i in story.involvements] == ["i1", "i2", "i3", "i5", "i4"]
    # Only i5 counts, and it came after the options were fixed: late.
    assert story.verdict.first_involvement == "late"
    assert story.verdict.first_involved_on == D(2024, 4, 1)
    assert story.sentence().startswith("“Decision d1” — ")
    assert "first involved on 1 April 2024; options were fixed on 1 March 2024" in story.sentence()
    assert [e.event for e in story.events][-2:] == ["Decided", "Involvement i4 starts"]
    assert "FTS-AFTER-OPTIONS" in [f.code for f in story.findings]


def test_the_story_and_the_rules_agree_on_every_demo_decision(store: Store, tmp_path: Path) -> None:
    # The first involvement that counts on the story is the one the rules date the decision by.
    result = check(load_demo(store, tmp_path / "demo"), DEMO_AS_OF)
    checked = 0
    for verdict in result.decisions[::7]:
        story = decision_story(store, verdict["decision_id"], result)
        assert story is not None
        counting = [i.start_date for i in story.involvements if i.counts]
        assert (min(counting) if counting else None) == verdict["first_involved_on"]
        assert story.verdict.first_involvement == verdict["first_involvement"]
        checked += 1
    assert checked > 50


def test_the_rules_count_the_groups_the_models_name() -> None:
    assert tuple(g.value for g in QUALIFYING_GROUPS) == QUALIFYING_GROUP_NAMES


def test_there_is_no_story_of_a_decision_not_recorded(store: Store) -> None:
    ds = Dataset()
    ds.decision("d1")
    ds.load(store)
    assert decision_story(store, "d2", check(store, AS_OF)) is None
