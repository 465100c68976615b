"""Health-checks: trends per side, the small-number rule everywhere, the perception gap, the
findings read from the rule engine, and the item bank with its audit trail
(coprod.healthcheck), on small datasets in a real DuckDB file per test."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from builders import D, Dataset, check, findings, withdraw

from coprod import healthcheck as hc
from coprod.charts import item_trend_chart, side_gap_chart
from coprod.models import DEFAULT_HEALTH_CHECK_ITEMS
from coprod.store import MIGRATIONS, SCHEMA_VERSION, Change, Store
from coprod.views import Period

AS_OF = D(2025, 1, 1)
CHECK = D(2024, 6, 1)
EARLIER = D(2024, 3, 1)
BOARDS = ["b1"]
FEW = "fewer than 5 responses"
# A count below five, written anywhere as a number of responses, would break the rule.
SMALL_COUNT = re.compile(r"\b[0-4] respon")


def trends(store: Store, as_of: dt.date = AS_OF) -> pd.DataFrame:
    return hc.item_trends(store, BOARDS, as_of)


def cell(
    frame: pd.DataFrame, side: str, check_date: dt.date = CHECK, item: str = "trust"
) -> dict[str, Any]:
    rows = frame[
        (frame["side"] == side) & (frame["check_date"] == check_date) & (frame["item"] == item)
    ].to_dict("records")
    assert len(rows) == 1
    return dict(rows[0])


def everything_said(*texts: object) -> str:
    return " ".join(str(t) for t in texts)


def drawn(chart: Any) -> str:
    """Everything a chart draws or says on hover: its traces and annotations, as JSON."""
    figure = chart.figure
    return json.dumps(
        [t.to_plotly_json() for t in figure.data]
        + [a.to_plotly_json() for a in figure.layout.annotations],
        default=str,
    )


# --- the small-number rule ----------------------------------------------------------------------


def test_four_respondents_are_never_shown_as_a_mean_or_a_count(store: Store) -> None:
    ds = Dataset()
    ds.responses([5, 5, 5, 5], group="professional")  # four professionals
    ds.responses([2, 2, 3, 3, 3], group="lived_experience")  # five on the lived-experience side
    ds.load(store)
    result = check(store, AS_OF)
    frame = trends(store)
    pro = cell(frame, "professional")
    assert (pro["respondents"], pro["mean"], pro["mean_shown"]) == (None, None, None)
    assert pro["text"] == FEW
    lived = cell(frame, "lived_experience")
    assert (lived["respondents"], lived["mean_shown"]) == (5, 2.6)
    assert lived["text"] == "2.6 (5 responses)"
    assert cell(frame, "all")["text"] == "3.7 (9 responses)"
    # No gap without both sides, and the rule engine agrees.
    gaps = hc.perception_gaps(frame, result)
    [row] = gaps.to_dict("records")
    assert row["gap"] is None
    assert row["professional"] is None
    assert row["professional_text"] == FEW
    assert row["gap_text"] == f"not compared: professionals had {FEW}"
    assert findings(result, "HC-GAP") == []
    sentence = hc.gap_sentence(gaps, "trust")
    assert FEW in sentence
    # Charts: the suppressed point is absent, its hover and table say so, nothing leaks a count.
    chart = side_gap_chart(gaps, "trust", summary=sentence)
    pro_line = next(t for t in chart.figure.data if t.name == "Professionals")
    assert list(pro_line.y) == [None]
    assert list(pro_line.customdata) == [FEW]
    assert chart.table.loc[0, "Professionals"] == FEW
    assert "No average is shown where a side had fewer than 5 responses: professionals" in (
        chart.summary
    )
    said = everything_said(
        frame.to_string(),
        gaps.to_string(),
        sentence,
        chart.alt,
        chart.summary,
        chart.table.to_string(),
        drawn(chart),
    )
    assert not SMALL_COUNT.search(said)
    assert "5.0" not in said  # the four professionals' mean is never given


def test_five_respondents_are_shown(store: Store) -> None:
    ds = Dataset()
    ds.responses([5, 5, 5, 5, 4], group="professional")
    ds.responses([2, 2, 3, 3, 3], group="lived_experience")
    ds.load(store)
    frame = trends(store)
    assert cell(frame, "professional")["text"] == "4.8 (5 responses)"
    gaps = hc.perception_gaps(frame, check(store, AS_OF))
    [row] = gaps.to_dict("records")
    assert row["gap"] == pytest.approx(2.2)
    assert row["gap_text"] == "+2.2"
    assert row["flagged"]


def test_a_whole_check_of_four_is_suppressed_in_the_headline(store: Store) -> None:
    ds = Dataset()
    ds.responses([3, 4], group="professional")
    ds.responses([2, 3], group="carer")
    ds.load(store)
    result = check(store, AS_OF)
    frame = trends(store)
    assert {r["text"] for r in frame.to_dict("records")} == {FEW}
    latest = hc.latest_checks(store, BOARDS, result)
    assert latest.loc[0, "respondents"] is None
    assert latest.loc[0, "respondents_text"] == FEW
    headline = hc.headline_sentence(latest, result)
    assert f"b1 on 1 June 2024 ({FEW})" in headline
    chart = item_trend_chart(frame, board_name="b1")
    assert chart.table.loc[0, "trust"] == FEW
    assert f"1 average at 1 check had {FEW} and is not shown" in chart.summary
    said = everything_said(
        latest.to_string(), headline, chart.alt, chart.table.to_string(), drawn(chart)
    )
    assert not SMALL_COUNT.search(said)


def test_a_withdrawn_response_drops_a_group_below_five(store: Store) -> None:
    ds = Dataset()
    ds.responses([4, 4, 4, 4, 4], group="professional")
    ds.load(store)
    assert cell(trends(store), "professional")["respondents"] == 5
    first = store.query("SELECT min(response_id) AS r FROM health_check")[0]["r"]
    withdraw(store, "health_check", "response_id = ?", [first])
    assert cell(trends(store), "professional")["text"] == FEW


def test_respondents_are_people_not_rows_and_other_counts_only_in_everyone(store: Store) -> None:
    ds = Dataset()
    for n in range(5):
        ds.health_check(f"p{n}", respondent_group="professional", item="trust", score=4)
        ds.health_check(f"p{n}", respondent_group="professional", item="support", score=2)
    ds.responses([1, 1, 1, 1, 1], group="other")
    ds.responses([3, 3], group="dpo")
    ds.responses([3, 3, 3], group="carer")
    ds.load(store)
    frame = trends(store)
    assert cell(frame, "professional", item="support")["text"] == "2.0 (5 responses)"
    # dpo + carer make five on the lived-experience side; 'other' is in everyone only.
    assert cell(frame, "lived_experience")["text"] == "3.0 (5 responses)"
    assert cell(frame, "all")["respondents"] == 15
    # the support item had nobody on the lived-experience side: suppressed, not "0"
    assert cell(frame, "lived_experience", item="support")["text"] == FEW


# --- the gap and the rules' findings ------------------------------------------------------------


def test_a_gap_of_exactly_the_threshold_is_flagged_and_said_in_words(store: Store) -> None:
    ds = Dataset()
    ds.responses([4, 4, 4, 4, 4], group="professional")
    ds.responses([3, 3, 3, 3, 3], group="lived_experience")
    ds.load(store)
    result = check(store, AS_OF)
    gaps = hc.perception_gaps(trends(store), result)
    assert gaps.loc[0, "gap"] == pytest.approx(1.0)
    assert gaps.loc[0, "flagged"]
    assert len(findings(result, "HC-GAP")) == 1
    assert hc.gap_sentence(gaps, "trust") == (
        "At the latest health-check, professionals rate trust 1.0 point higher than people "
        "with lived experience: partners may be making wrong assumptions about each other "
        "(HC-GAP)."
    )


def test_a_gap_below_the_threshold_and_a_reversed_gap(store: Store) -> None:
    ds = Dataset()
    ds.responses([4, 4, 4, 4, 3], group="professional", check_date=EARLIER)
    ds.responses([3, 3, 3, 3, 3], group="lived_experience", check_date=EARLIER)
    ds.responses([3, 3, 3, 3, 3], group="professional")
    ds.responses([4, 4, 4, 4, 4], group="dpo")
    ds.load(store)
    result = check(store, AS_OF)
    gaps = hc.perception_gaps(trends(store), result)
    assert list(gaps["gap_text"]) == ["+0.8", "-1.0"]
    assert not gaps["flagged"].any()
    assert hc.gap_sentence(gaps.iloc[:1], "trust").endswith(
        "less than the 1.0 points that signals a gap."
    )
    assert hc.gap_sentence(gaps, "trust").startswith(
        "At the latest health-check, people with lived experience rate trust 1.0 point higher "
        "than professionals do."
    )
    assert "Of 2 health-checks where both sides could be compared, none showed" in (
        hc.gap_sentence(gaps, "trust")
    )


def test_the_gap_shown_matches_the_rule_engines_message(store: Store) -> None:
    ds = Dataset()
    ds.responses([5, 5, 4, 4, 4, 4], group="professional")
    ds.responses([3, 3, 3, 2, 2, 2, 3], group="lived_experience")
    ds.load(store)
    result = check(store, AS_OF)
    [finding] = findings(result, "HC-GAP")
    gaps = hc.perception_gaps(trends(store), result)
    row = gaps.to_dict("records")[0]
    assert f'"trust" {row["professional"]} on average' in finding["message"]
    assert f"the lived-experience side {row['lived_experience']}" in finding["message"]
    assert f"a gap of {row['gap_text'].lstrip('+')}." in finding["message"]


def test_declines_and_overdue_are_the_rule_engines(store: Store) -> None:
    ds = Dataset()
    ds.responses([4, 4, 4, 4, 4], group="professional", check_date=EARLIER)
    ds.responses([3, 3, 4, 4, 3], group="professional")  # 3.4: fell by 0.6
    ds.decision("d1", decided_on=D(2024, 12, 1))  # a decision in the last six months...
    ds.load(store)  # ...and no check since June: overdue
    result = check(store, AS_OF)
    declines = hc.findings_of(result, "HC-DECLINE")
    assert list(declines["item"]) == ["trust"]
    assert list(declines["message"]) == [f["message"] for f in findings(result, "HC-DECLINE")]
    assert hc.findings_of(result, "HC-DECLINE", Period(D(2024, 7, 1), D(2024, 12, 31))).empty
    latest = hc.latest_checks(store, BOARDS, result)
    assert latest.to_dict("records")[0] == {
        "board_id": "b1",
        "check_date": CHECK,
        "previous_date": EARLIER,
        "respondents": 5,
        "respondents_text": "5 responses",
        "declines": 1,
        "gaps": 0,
    }
    headline = hc.headline_sentence(latest, result, period=Period(D(2024, 1, 1), AS_OF))
    assert "At that check, 1 item fell by 0.5 points or more since the previous check" in headline
    assert "professionals rated no item 1.0 points or more higher" in headline
    assert "an item fell by 0.5 points or more 1 time" in headline
    assert "1 board took decisions in the last 6 months without a health-check" in headline
    counts = hc.findings_count(result, Period(D(2024, 1, 1), AS_OF))
    assert counts == {"HC-GAP": 0, "HC-DECLINE": 1, "HC-OVERDUE": 1}
    assert "1 fall of 0.5 points or more" in hc.findings_sentence(counts)
    assert "1 board is overdue a health-check" in hc.findings_sentence(counts)


def test_trend_chart_draws_every_item_with_its_own_marker(store: Store) -> None:
    ds = Dataset()
    for item in ("trust", "support", "manageable_focus"):
        ds.responses([3, 3, 3, 3, 3], item=item, check_date=EARLIER)
        ds.responses([4, 4, 4, 4, 4], item=item)
    ds.load(store)
    chart = item_trend_chart(trends(store), board_name="b1")
    assert len({t.marker.symbol for t in chart.figure.data}) == 3
    assert all(t.mode == "lines+markers" for t in chart.figure.data)
    assert "3 of 3 items rose" in chart.alt
    assert list(chart.table.columns) == ["Health-check", "manageable focus", "support", "trust"]
    assert list(chart.table["trust"]) == ["3.0 (5 responses)", "4.0 (5 responses)"]


# --- the item bank -----------------------------------------------------------------------------


CHANGE = Change("Morag (DPO)", "form")


def test_the_default_items_come_first_and_are_not_stored(store: Store) -> None:
    ds = Dataset()
    ds.board("b1")
    ds.load(store)
    bank = hc.item_bank(store, "b1")
    assert [b.item for b in bank] == list(DEFAULT_HEALTH_CHECK_ITEMS)
    assert not any(b.board_specific for b in bank)
    assert store.count("health_check_item", include_withdrawn=True) == 0


def test_add_a_boards_own_item_with_its_audit_entry(store: Store) -> None:
    ds = Dataset()
    ds.board("b1")
    ds.board("b2")
    ds.load(store)
    version = store.data_version()
    added = hc.add_item(store, "b1", "Good Communication", "  We  talk to each other. ", CHANGE)
    assert added == hc.BankItem("good_communication", "We talk to each other.", True)
    assert hc.item_bank(store, "b1")[-1] == added
    assert "good_communication" not in [b.item for b in hc.item_bank(store, "b2")]
    assert store.data_version() == version + 1
    [entry] = store.audit_entries("health_check_item")
    assert entry["record_key"] == "b1/good_communication"
    assert (entry["actor"], entry["source"], entry["action"]) == ("Morag (DPO)", "form", "create")
    assert entry["before"] is None
    assert entry["after"] == {
        "board_id": "b1",
        "item": "good_communication",
        "statement": "We talk to each other.",
    }
    [row] = store.query("SELECT created_by, updated_by FROM health_check_item")
    assert row == {"created_by": "Morag (DPO)", "updated_by": "Morag (DPO)"}


def test_an_item_for_every_board(store: Store) -> None:
    ds = Dataset()
    ds.board("b1")
    ds.board("b2")
    ds.load(store)
    hc.add_item(store, None, "involvement", "People are involved from the start.", CHANGE)
    hc.add_item(store, "b2", "own", "Our own item.", CHANGE)
    for board in ("b1", "b2"):
        bank = hc.item_bank(store, board)
        assert hc.BankItem("involvement", "People are involved from the start.", False) in bank
    assert [b.item for b in hc.item_bank(store, "b2")][-2:] == ["involvement", "own"]
    assert store.audit_entries("health_check_item", "*/involvement")
    table = hc.bank_table(store, "b2").set_index("Item")
    assert table.loc["trust", "Asked by"] == "every board (default)"
    assert table.loc["involvement", "Asked by"] == "every board"
    assert table.loc["own", "Asked by"] == "this board only"


@pytest.mark.parametrize(
    ("board", "item", "why"),
    [
        ("b1", "trust", "it is a default item"),
        ("b1", "mine", "already in the bank of b1"),
        ("b1", "everyone", "already in every board's bank"),
        (None, "mine", "already in the bank of b1"),
        ("b2", "everyone", "already in every board's bank"),
    ],
)
def test_no_duplicate_items(store: Store, board: str | None, item: str, why: str) -> None:
    ds = Dataset()
    ds.board("b1")
    ds.board("b2")
    ds.load(store)
    hc.add_item(store, "b1", "mine", "Mine.", CHANGE)
    hc.add_item(store, None, "everyone", "Everyone's.", CHANGE)
    before = len(store.audit_entries("health_check_item"))
    with pytest.raises(hc.ItemBankError, match=why) as raised:
        hc.add_item(store, board, item, "Again.", CHANGE)
    assert raised.value.field == "item"
    assert len(store.audit_entries("health_check_item")) == before
    assert store.count("health_check_item") == 2


@pytest.mark.parametrize(
    ("board", "item", "statement", "field"),
    [
        ("b1", "", "A statement.", "item"),
        ("b1", "not ok!", "A statement.", "item"),
        ("b1", "x" * 65, "A statement.", "item"),
        ("b1", "fine", "   ", "statement"),
        ("nope", "fine", "A statement.", "board_id"),
    ],
)
def test_invalid_items_are_refused_and_nothing_is_written(
    store: Store, board: str, item: str, statement: str, field: str
) -> None:
    ds = Dataset()
    ds.board("b1")
    ds.load(store)
    with pytest.raises(hc.ItemBankError) as raised:
        hc.add_item(store, board, item, statement, CHANGE)
    assert raised.value.field == field
    assert store.count("health_check_item", include_withdrawn=True) == 0
    assert store.audit_entries("health_check_item") == []


def test_an_item_scored_but_in_no_bank_shows_by_its_id(store: Store) -> None:
    ds = Dataset()
    ds.responses([4, 4, 4, 4, 4], item="nsce_support")
    ds.load(store)
    table = hc.bank_table(store, "b1").set_index("Item")
    assert table.loc["nsce_support", "Statement"] == "(not in the item bank)"
    assert table.loc["nsce_support", "Asked by"] == "scored in responses"
    assert hc.statements(store, ["b1"]).get("nsce_support") is None
    assert hc.item_label("nsce_support") == "nsce support"


def test_the_item_bank_table_arrives_with_an_upgrade_from_schema_one(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)")
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("INSERT INTO schema_version VALUES (1)")
    conn.close()
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.count("health_check_item") == 0
        columns = [
            r["column_name"]
            for r in store.query(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'health_check_item' ORDER BY ordinal_position"
            )
        ]
        assert columns[:4] == ["board_id", "item", "statement", "created_at"]
        assert "withdrawn_reason" in columns
