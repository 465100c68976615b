"""The demo generator: deterministic, valid, and showing every rule of docs/domain.md."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from coprod.demo import DEMO_AS_OF, generate, write_demo
from coprod.interchange import import_source
from coprod.rules import CATEGORIES, RULES, CheckResult, run_check
from coprod.store import COLUMNS, Change, Store


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "csv"
    write_demo(folder)
    return folder


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory, demo_folder: Path) -> Iterator[Store]:
    store = Store(tmp_path_factory.mktemp("store") / "demo.duckdb")
    import_source(store, demo_folder, Change("demo", "cli"))
    yield store
    store.close()


@pytest.fixture(scope="module")
def demo_check(demo_store: Store) -> CheckResult:
    return run_check(demo_store, DEMO_AS_OF)


def test_same_seed_gives_the_same_files_byte_for_byte(demo_folder: Path, tmp_path: Path) -> None:
    write_demo(tmp_path / "again")
    written = sorted(p.name for p in demo_folder.iterdir())
    assert written == sorted(p.name for p in (tmp_path / "again").iterdir())
    assert len(written) == 7
    for name in written:
        assert (demo_folder / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name


def test_another_seed_gives_other_data() -> None:
    assert generate(seed=2026)["decision"] != generate(seed=2027)["decision"]


def test_rows_have_exactly_the_store_columns() -> None:
    tables = generate()
    assert set(tables) == set(COLUMNS)
    for table, rows in tables.items():
        columns = [name for name, _ in COLUMNS[table]]
        assert rows, table
        assert all(list(row) == columns for row in rows), table


def test_the_default_demo_imports_cleanly(demo_store: Store) -> None:
    tables = generate()
    for table, rows in tables.items():
        assert demo_store.count(table) == len(rows), table
    assert demo_store.holds_demo_data()


def test_the_default_demo_has_the_sizes_of_a_real_partnership(demo_store: Store) -> None:
    per_board = demo_store.query(
        "SELECT b.board_id, "
        "(SELECT count(*) FROM meeting m WHERE m.board_id = b.board_id) AS meetings, "
        "(SELECT count(*) FROM decision d WHERE d.board_id = b.board_id) AS decisions "
        "FROM board b"
    )
    for row in per_board:
        assert 30 <= row["meetings"] <= 45, row
        assert 120 <= row["decisions"] <= 200, row
    roles = {r["role"] for r in demo_store.query("SELECT DISTINCT role FROM member")}
    assert roles == {
        "chair", "vice_chair", "voting_health_board", "voting_council", "service_user_rep",
        "carer_rep", "third_sector_rep", "staff_rep", "dpo_rep", "officer", "other",
    }  # fmt: skip
    future = demo_store.query(
        "SELECT count(*) AS n FROM decision WHERE decided_on IS NULL AND outcome = 'pending'"
    )
    assert future[0]["n"] > 0


def test_every_rule_code_fires_at_the_demo_date(demo_check: CheckResult) -> None:
    found = Counter(f["code"] for f in demo_check.findings)
    missing = [rule.code for rule in RULES if found[rule.code] == 0]
    assert missing == []


def test_every_first_involvement_category_occurs(demo_check: CheckResult) -> None:
    seen = Counter(d["first_involvement"] for d in demo_check.decisions)
    assert [c for c in CATEGORIES if seen[c] == 0] == []
    # Mostly reasonable practice: problems are a minority.
    assert seen["from_start"] + seen["formative"] > len(demo_check.decisions) / 2


def test_boards_are_marked_as_demo_data() -> None:
    boards = generate()["board"]
    assert all(b["board_id"].startswith("demo-") for b in boards)
    assert all("(demo)" in b["name"] for b in boards)
    kinds = Counter(b["kind"] for b in boards)
    assert kinds["integration_joint_board"] >= 2
    assert kinds["strategic_planning_group"] >= 1


def test_more_boards_extend_the_default_demo(tmp_path: Path) -> None:
    small, large = generate(boards=3), generate(boards=5)
    assert len(large["board"]) == 5
    assert [b["board_id"] for b in large["board"][3:]] == ["demo-b0004", "demo-b0005"]
    assert all(b["board_id"].startswith("demo-") for b in large["board"])
    assert all("(demo" in b["name"] for b in large["board"])
    default_boards = {b["board_id"] for b in small["board"]}
    assert [d for d in large["decision"] if d["board_id"] in default_boards] == small["decision"]
    # The national-scale boards are bigger: about 640 decisions each.
    extra = Counter(d["board_id"] for d in large["decision"] if d["board_id"] not in default_boards)
    assert all(500 <= n <= 800 for n in extra.values()), extra

    write_demo(tmp_path / "csv", boards=5)
    with Store(tmp_path / "five.duckdb") as store:
        summary = import_source(store, tmp_path / "csv", Change("demo", "cli"))
        assert summary.created["board"] == 5
        assert store.count("decision") == len(large["decision"])


def test_nothing_happens_after_the_demo_date_except_plans() -> None:
    tables = generate()
    assert all(r["check_date"] <= DEMO_AS_OF for r in tables["health_check"])
    for row in tables["involvement"]:
        assert row["feedback_on"] is None or row["feedback_on"] <= DEMO_AS_OF
        if row["start_date"] > DEMO_AS_OF:  # planned: nobody has taken part yet
            assert row["participants"] is None
            assert row["attestation"] == "unconfirmed"
    decided = [d["decided_on"] for d in tables["decision"] if d["decided_on"] is not None]
    assert max(decided) <= DEMO_AS_OF
    assert max(m["date"] for m in tables["meeting"]) <= DEMO_AS_OF + dt.timedelta(days=92)


def test_boards_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one board"):
        generate(boards=0)


def test_the_contract_names_every_rule_with_its_severity() -> None:
    # docs/domain.md is the rules' reference: no rule may be missing from it or differ.
    contract = (Path(__file__).resolve().parents[1] / "docs" / "domain.md").read_text()
    for rule in RULES:  # a row of its table, or a finding of the FTS table
        named = f"| {rule.code} | {rule.severity} |", f"{rule.code} ({rule.severity}"
        assert any(n in contract for n in named), rule.code
