"""The rule engine's own guarantees, whatever the rules say: the order of its two tables, a board
filter that gives exactly what the whole check says about those boards, and recorded influence
that only looks empty.

The worked example (tests/data/rules-check) exercises every rule family, so it is the data.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from builders import CHANGE, D, Dataset, check, codes

from coprod.interchange import import_source
from coprod.rules import SEVERITIES, CheckResult, run_check
from coprod.store import Store

EXAMPLE = Path(__file__).resolve().parent / "data" / "rules-check"
AS_OF = dt.date.fromisoformat(json.loads((EXAMPLE / "expected.json").read_text())["as_of"])

# The order the engine promises, as DuckDB's ORDER BY would give it.
DECISION_ORDER = "ORDER BY board_id, identified_on, decision_id"
FINDING_ORDER = (
    "ORDER BY CASE severity "
    + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SEVERITIES))
    + " END, board_id, code, decision_id NULLS LAST, meeting_id NULLS LAST, item NULLS LAST, "
    "check_date NULLS LAST"
)


@pytest.fixture
def example(store: Store) -> Store:
    import_source(store, EXAMPLE, CHANGE)
    return store


def ordered(table: pa.Table, order_by: str) -> pa.Table:
    with duckdb.connect() as con:
        con.register("t", table)
        return con.execute(f"SELECT * FROM t {order_by}").to_arrow_table()


def assert_in_promised_order(result: CheckResult) -> None:
    assert result.decision_table.num_rows > 1
    assert result.finding_table.num_rows > 1
    assert result.decision_table.equals(ordered(result.decision_table, DECISION_ORDER))
    assert result.finding_table.equals(ordered(result.finding_table, FINDING_ORDER))


def test_tables_come_in_the_order_sql_would_give(example: Store) -> None:
    result = run_check(example, AS_OF)
    assert len(set(result.finding_table["severity"].to_pylist())) > 2
    assert_in_promised_order(result)


def test_ids_order_byte_by_byte_as_in_sql(store: Store) -> None:
    # Ids differing in case and punctuation: '-' before '.', digits, capitals, '_', then small
    # letters, in both tables.
    ids = ("b_a", "ba", "bZ", "b.a", "b-a", "b9")
    ds = Dataset()
    for board in ids:
        for decision in ids:
            ds.decision(f"d{decision}{board}", board_id=board, decided_on=D(2024, 6, 4))
    ds.load(store)
    result = check(store, D(2025, 1, 1))
    boards = result.decision_table["board_id"].to_pylist()
    assert boards[:: len(ids)] == ["b-a", "b.a", "b9", "bZ", "b_a", "ba"]
    assert_in_promised_order(result)


def rows_of(table: pa.Table, boards: list[str]) -> pa.Table:
    return table.filter(pc.is_in(table["board_id"], value_set=pa.array(boards)))


def test_a_board_filter_gives_what_the_whole_check_says_about_those_boards(
    example: Store,
) -> None:
    whole = run_check(example, AS_OF)
    boards = sorted(set(whole.decision_table["board_id"].to_pylist()))
    assert len(boards) > 1
    for chosen in [[b] for b in boards] + [boards[:2]]:
        part = run_check(example, AS_OF, boards=chosen)
        assert part.decision_table.equals(rows_of(whole.decision_table, chosen))
        assert part.finding_table.equals(rows_of(whole.finding_table, chosen))


def test_an_earlier_as_of_is_in_the_promised_order_too(example: Store) -> None:
    assert_in_promised_order(run_check(example, AS_OF - dt.timedelta(days=200)))


# --- recorded influence ---------------------------------------------------------------------
# An influence counts when trimming it would leave text. Trimming takes off space separators
# (Unicode category Zs: the space, the no-break space, the em space, the ideographic space, ...)
# and nothing else.


@pytest.mark.parametrize(
    ("influence", "counts"),
    [
        ("\u00a0", False),
        ("\u3000 \u2003\u00a0", False),
        ("  ", False),
        ("\u00a0Day centre kept open", True),
        (" Day centre kept open", True),
        ("Évaluation reprise", True),
        ("\u200bDay centre", True),  # a zero-width space is not a space separator
    ],
)
def test_influence_counts_when_trimming_leaves_text(
    store: Store, influence: str, counts: bool
) -> None:
    ds = Dataset()
    ds.decision("d1", options_fixed_on=D(2024, 3, 5), decided_on=D(2024, 6, 4))
    ds.involvement(
        "i1",
        level="co_produce",
        lived_experience_participants=8,
        accessible_formats="easy_read",
        expenses_offered=True,
        feedback_on=D(2024, 6, 18),
        influence="Recorded",
    )
    ds.load(store)
    with store.transaction() as cur:
        cur.execute("UPDATE involvement SET influence = ? WHERE involvement_id = 'i1'", [influence])
    tb = codes(check(store, D(2025, 1, 1)), prefix="TB-")
    assert tb == ([] if counts else ["TB-NO-INFLUENCE"])
