"""The coprod command line: exit codes, messages and output formats."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from coprod.cli import main
from coprod.demo import DEMO_AS_OF
from coprod.rules import RULES
from coprod.settings import DEMO_DIR

EXAMPLE = Path(__file__).resolve().parent / "data" / "rules-check"
FTS_TB = {r.code for r in RULES if r.code.startswith(("FTS-", "TB-"))}


@pytest.fixture(params=["file", "postgres"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Makes the location of a new store: a file, or a database on a PostgreSQL server. The
    commands must behave the same on both."""
    numbers = itertools.count(1)

    def make() -> str:
        if request.param == "postgres":
            return str(request.getfixturevalue("postgres").new_database())
        return str(tmp_path / f"store-{next(numbers)}.duckdb")

    return make


def test_import_then_check_json_lists_every_fts_and_tb_code(
    new_store: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    db = new_store()
    assert main(["import", str(DEMO_DIR), "--db", db]) == 0
    assert "decision:" in capsys.readouterr().out
    assert main(["check", "--db", db, "--format", "json", "--as-of", DEMO_AS_OF.isoformat()]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["as_of"] == DEMO_AS_OF.isoformat()
    assert {f["code"] for f in report["findings"]} >= FTS_TB
    finding = report["findings"][0]
    assert set(finding) >= {
        "code",
        "severity",
        "board_id",
        "decision_id",
        "meeting_id",
        "item",
        "check_date",
        "message",
        "principle",
    }
    decision = report["decisions"][0]
    assert set(decision) == {"decision_id", "board_id", "first_involvement", "tick_box_suspect"}


def test_check_table_is_readable(
    new_store: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    db = new_store()
    main(["import", str(EXAMPLE), "--db", db])
    capsys.readouterr()
    assert main(["check", "--db", db, "--as-of", "2026-01-15"]) == 0
    out = capsys.readouterr().out
    assert "Co-production check as of 15 January 2026" in out
    assert "129 decisions" in out
    assert "FTS-AFTER-DECISION" in out
    assert "332 findings" in out


def test_check_table_shows_every_finding_of_the_json_whole_and_in_order(
    new_store: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    db = new_store()
    main(["import", str(EXAMPLE), "--db", db])
    capsys.readouterr()
    main(["check", "--db", db, "--as-of", "2026-01-15", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    main(["check", "--db", db, "--as-of", "2026-01-15"])
    lines = capsys.readouterr().out.splitlines()
    severities = Counter(f["severity"] for f in report["findings"])
    assert (
        f"{len(report['findings'])} findings: {severities['critical']} critical, "
        f"{severities['major']} major, {severities['minor']} minor, "
        f"{severities['warning']} warning, {severities['info']} info"
    ) in lines
    suspects = sum(1 for d in report["decisions"] if d["tick_box_suspect"])
    assert f"  {suspects:>6}  tick-box suspects" in lines
    rows = iter(lines[lines.index("-" * 66) + 1 :])
    line = next(rows, None)
    for finding in report["findings"]:
        # What each finding concerns: its decision, meeting or board, or a board's item.
        concerns = finding["decision_id"] or finding["meeting_id"] or finding["board_id"]
        if finding["item"] and not finding["meeting_id"]:
            concerns = f"{finding['board_id']} {finding['item']}"
        start = f"{finding['severity']:<9} {finding['code']:<23} {concerns:<24} "
        assert line is not None
        assert line.startswith(start)
        text = line[len(start) :]
        while (line := next(rows, None)) is not None and line.startswith(" " * 58):
            assert len(line) <= 59 + 70
            text += " " + line.strip()
        assert text == finding["message"]
    assert line is None  # nothing else


def test_check_board_filter(
    new_store: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    db = new_store()
    main(["import", str(EXAMPLE), "--db", db])
    capsys.readouterr()
    main(["check", "--db", db, "--as-of", "2026-01-15", "--format", "json", "--board", "b1"])
    report = json.loads(capsys.readouterr().out)
    assert {d["board_id"] for d in report["decisions"]} == {"b1"}
    assert {f["board_id"] for f in report["findings"]} == {"b1"}


def test_rejected_import_exits_1_names_the_row_and_writes_nothing(
    tmp_path: Path, new_store: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("boards.csv", "decisions.csv"):
        (bad / name).write_text((EXAMPLE / name).read_text())
    lines = (bad / "decisions.csv").read_text().splitlines()
    lines[4] = lines[4].replace("2022-", "2022-13-", 1)
    (bad / "decisions.csv").write_text("\n".join(lines) + "\n")
    db = new_store()
    assert main(["import", str(bad), "--db", db]) == 1
    err = capsys.readouterr().err
    assert "Nothing was imported: 1 problem found." in err
    assert "decisions.csv, row 5, field identified_on" in err
    if db.startswith("postgresql://"):
        assert main(["check", "--db", db, "--format", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["decisions"] == []
    else:  # a store file made for the import is not left behind, empty
        assert not Path(db).exists()
        assert main(["check", "--db", db, "--format", "json"]) == 1
        assert "There is no store at" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--as-of", "yesterday"],
        ["frobnicate"],
        ["check", "--format", "yaml"],
        ["demo", "--boards", "0"],
        [],
    ],
)
def test_usage_mistakes_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2


def test_check_without_a_store_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--db", str(tmp_path / "none.duckdb")]) == 1
    assert "There is no store at" in capsys.readouterr().err


def test_store_held_by_another_process_gives_one_sentence(tmp_path: Path) -> None:
    db = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from coprod.store import Store; s = Store(sys.argv[1]); "
            "print('ready', flush=True); time.sleep(60)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        done = subprocess.run(
            [sys.executable, "-m", "coprod.cli", "import", str(EXAMPLE), "--db", str(db)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1
        assert "Traceback" not in done.stderr
        assert done.stderr.strip().count("\n") == 0
        assert "is in use by another program" in done.stderr
    finally:
        holder.kill()
        holder.wait()


def test_demo_writes_the_same_files_as_committed(tmp_path: Path) -> None:
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    for committed in sorted(DEMO_DIR.glob("*.csv")):
        assert (tmp_path / "demo" / committed.name).read_bytes() == committed.read_bytes(), (
            committed.name
        )


def test_demo_loads_into_a_store(
    new_store: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    db = new_store()
    assert main(["demo", "--db", db, "--boards", "4", "--seed", "7"]) == 0
    assert "Loaded demo data" in capsys.readouterr().out
    main(["check", "--db", db, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert len({d["board_id"] for d in report["decisions"]}) == 4


def test_export_round_trips(tmp_path: Path, new_store: Callable[[], str]) -> None:
    # From a file into a store of each kind, and out again: the same bytes.
    first, second = str(tmp_path / "a.duckdb"), new_store()
    assert main(["import", str(EXAMPLE), "--db", first]) == 0
    assert main(["export", "--db", first, "--out", str(tmp_path / "one")]) == 0
    assert main(["import", str(tmp_path / "one"), "--db", second]) == 0
    assert main(["export", "--db", second, "--out", str(tmp_path / "two")]) == 0
    for path in sorted((tmp_path / "one").glob("*.csv")):
        assert path.read_bytes() == (tmp_path / "two" / path.name).read_bytes()


def test_a_file_that_is_not_a_coprod_store_is_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import duckdb

    foreign = tmp_path / "foreign.duckdb"
    duckdb.connect(str(foreign)).close()
    assert main(["check", "--db", str(foreign)]) == 1
    assert "is not a coprod store" in capsys.readouterr().err


def test_a_row_that_cannot_be_read_as_csv_is_rejected_not_crashed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    long = "y" * 200_000
    (folder / "boards.csv").write_text(
        f'board_id,name,kind\nb1,"x"{long},other\n', encoding="utf-8"
    )
    assert main(["import", str(folder), "--db", str(tmp_path / "x.duckdb")]) == 1
    assert "boards.csv, row 2" in capsys.readouterr().err
