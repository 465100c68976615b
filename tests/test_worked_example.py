"""The worked example (tests/data/rules-check): the whole rule engine at once, against
expected.json.

The folder is part of the repository; if it is missing the test fails rather than skips, so
that a broken checkout cannot pass silently.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from builders import CHANGE

from coprod.interchange import import_source
from coprod.rules import CheckResult, run_check
from coprod.store import Store

EXAMPLE = Path(__file__).resolve().parent / "data" / "rules-check"


def finding_key(finding: dict[str, Any]) -> tuple[str, ...]:
    """The key shapes of expected.json's note."""
    code = str(finding["code"])
    if code == "REP-COMPOSITION":
        return (code, finding["meeting_id"], finding["role"])
    if code in ("HC-GAP", "HC-DECLINE"):
        return (code, finding["board_id"], finding["item"], finding["check_date"].isoformat())
    if code == "HC-OVERDUE":
        return (code, finding["board_id"])
    return (code, finding["decision_id"])


@pytest.fixture
def expected() -> dict[str, Any]:
    assert EXAMPLE.is_dir(), f"the worked example is missing: {EXAMPLE}"
    data: dict[str, Any] = json.loads((EXAMPLE / "expected.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture
def result(store: Store, expected: dict[str, Any]) -> CheckResult:
    import_source(store, EXAMPLE, CHANGE)
    return run_check(store, dt.date.fromisoformat(expected["as_of"]))


def test_worked_example_is_present() -> None:
    assert (EXAMPLE / "expected.json").is_file(), f"the worked example is missing: {EXAMPLE}"
    assert (EXAMPLE / "decisions.csv").is_file()


def test_as_of_is_the_documented_date(expected: dict[str, Any]) -> None:
    assert expected["as_of"] == "2026-01-15"


def test_every_decision_has_the_expected_category(
    result: CheckResult, expected: dict[str, Any]
) -> None:
    got = {d["decision_id"]: d["first_involvement"] for d in result.decisions}
    want = {k: v["first_involvement"] for k, v in expected["decisions"].items()}
    assert got.keys() == want.keys()
    wrong = {k: (want[k], got[k]) for k in want if got[k] != want[k]}
    assert wrong == {}, "decision: (expected, got)"


def test_every_decision_has_the_expected_tick_box_verdict(
    result: CheckResult, expected: dict[str, Any]
) -> None:
    got = {d["decision_id"]: d["tick_box_suspect"] for d in result.decisions}
    want = {k: v["tick_box_suspect"] for k, v in expected["decisions"].items()}
    assert got.keys() == want.keys()
    wrong = {k: (want[k], got[k]) for k in want if got[k] != want[k]}
    assert wrong == {}, "decision: (expected, got)"


def test_exactly_the_expected_findings(result: CheckResult, expected: dict[str, Any]) -> None:
    got = Counter(finding_key(f) for f in result.findings)
    want = Counter(tuple(k) for k in expected["findings"])
    missing = sorted((want - got).elements())
    extra = sorted((got - want).elements())
    assert (missing, extra) == ([], [])
    assert len(result.findings) == len(expected["findings"])


def test_example_covers_every_category_and_rule_family(expected: dict[str, Any]) -> None:
    # Guards the comparison above against an example that exercises too little.
    categories = {v["first_involvement"] for v in expected["decisions"].values()}
    assert categories == {
        "not_applicable",
        "never",
        "pending",
        "retrofitted",
        "late",
        "from_start",
        "formative",
        "unknown",
    }
    families = {k[0].split("-")[0] for k in expected["findings"]}
    assert families == {"FTS", "TB", "REP", "HC"}


def test_the_streamed_json_is_the_json_of_the_check(result: CheckResult) -> None:
    out = io.StringIO()
    result.write_json(out)
    written = json.loads(out.getvalue())
    assert written == json.loads(json.dumps(result.to_json()))
    assert len(written["findings"]) == result.finding_table.num_rows > 0
    assert "\x1b" not in out.getvalue()


def test_the_streamed_json_holds_every_row_of_a_national_check_one_per_line(
    result: CheckResult,
) -> None:
    """More rows than one batch of the writer (50,000): every row is written once, in order,
    each on its own line, and the text is still one JSON document."""
    times = 50_000 // result.decision_table.num_rows + 2
    big = CheckResult(
        as_of=result.as_of,
        thresholds=result.thresholds,
        decision_table=pa.concat_tables([result.decision_table] * times),
        finding_table=result.finding_table.slice(1),  # a table that starts part-way in
    )
    out = io.StringIO()
    big.write_json(out)
    text = out.getvalue()
    written = json.loads(text)
    assert len(written["decisions"]) == big.decision_table.num_rows > 50_000
    assert [d["decision_id"] for d in written["decisions"]] == (
        big.decision_table["decision_id"].to_pylist()
    )
    assert written["findings"] == json.loads(json.dumps(big.to_json()["findings"]))
    lines = text.splitlines()
    assert sum(line.startswith('{"decision_id"') for line in lines) == len(written["decisions"])
    assert lines[-1] == "]}"
