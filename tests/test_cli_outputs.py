"""What the command line writes and prints: never over the store or a file of another kind, no
empty store left by a command that failed, and no terminal control sequence from stored or
typed text."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest
from builders import one_sentence

from coprod.cli import main
from coprod.store import Store
from coprod.terminal import printable

EXAMPLE = Path(__file__).resolve().parent / "data" / "rules-check"
PERIOD = ["--board", "b1", "--from", "2022-01-01", "--to", "2022-12-31"]


@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("example") / "example.duckdb"
    assert main(["import", str(EXAMPLE), "--db", str(path)]) == 0
    return path


@pytest.fixture
def db(example_store: Path, tmp_path: Path) -> Path:
    """A copy of the example store, closed, for one test to try to damage."""
    path = tmp_path / "s.duckdb"
    shutil.copyfile(example_store, path)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    message = captured.err.strip()
    one_sentence(message)
    return message


# --- 1. an output is never the store, nor a file of another kind ---------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["evidence", *PERIOD, "--out", "{db}"],
        ["report", *PERIOD, "--out", "{db}"],
        ["report", *PERIOD, "--out", "{db}.wal"],
        ["evidence", *PERIOD, "--out", "{spelled}"],
        ["evidence", *PERIOD, "--out", "{link}"],
        ["export", "--out", "{db}"],
        ["backup", "--out", "{db}"],
        ["demo", "--out", "{db}"],
    ],
    ids=[
        "evidence",
        "report",
        "report-over-wal",
        "evidence-spelled-otherwise",
        "evidence-through-a-link",
        "export",
        "backup",
        "demo",
    ],
)
def test_an_output_that_is_the_store_is_refused(
    command: list[str], db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.zip").symlink_to(db)
    names = {"db": str(db), "spelled": str(tmp_path / "sub" / ".." / db.name)}
    names["link"] = str(tmp_path / "link.zip")
    argv = [part.format(**names) for part in command]
    before = digest(db)
    refused([*argv, "--db", str(db)], capsys)
    assert digest(db) == before
    assert not Path(f"{db}.wal").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.zip", "s.duckdb", "sub"]
    with Store(db, read_only=True) as store:
        assert store.count("decision") > 0


def test_an_export_whose_files_would_be_the_store_is_refused(
    example_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A store named like an export file, in the folder exported into.
    for name, fmt in (
        ("decisions.csv", "csv"),
        ("coprod.xlsx", "xlsx"),
        ("boards.parquet", "parquet"),
    ):
        folder = tmp_path / fmt
        folder.mkdir()
        store = folder / name
        shutil.copyfile(example_store, store)
        before = digest(store)
        message = refused(
            ["export", "--format", fmt, "--out", str(folder), "--db", str(store)], capsys
        )
        assert str(store) in message
        assert digest(store) == before
        assert sorted(p.name for p in folder.iterdir()) == [name]


@pytest.mark.parametrize(
    ("command", "existing", "content"),
    [
        (["report", *PERIOD], "notes.pdf", b"my own notes, not a PDF\n"),
        (["report", *PERIOD], "minutes.txt", b"%PD no\n"),
        (["evidence", *PERIOD], "pack.zip", b"%PDF-1.4 a PDF, not a zip\n"),
        (["export", "--format", "xlsx"], "coprod.xlsx", b"%PDF-1.4 not a workbook\n"),
        (["export", "--format", "parquet"], "decisions.parquet", b"decision_id\nd1\n"),
        (["export", "--format", "csv"], "boards.csv", None),  # a DuckDB file
    ],
    ids=["pdf-over-text", "pdf-over-txt", "zip-over-pdf", "xlsx-over-pdf", "parquet", "csv"],
)
def test_an_output_over_a_file_of_another_kind_is_refused(
    command: list[str],
    existing: str,
    content: bytes | None,
    db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / existing
    if content is None:
        shutil.copyfile(db, target)
        content = target.read_bytes()
    else:
        target.write_bytes(content)
    out = str(folder) if command[0] == "export" else str(target)
    message = refused([*command, "--out", out, "--db", str(db)], capsys)
    assert existing in message
    assert target.read_bytes() == content
    assert sorted(p.name for p in folder.iterdir()) == [existing]


def test_an_output_over_a_file_of_its_own_kind_or_an_empty_one_is_written(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf, pack, empty = tmp_path / "r.pdf", tmp_path / "p.zip", tmp_path / "empty.pdf"
    empty.touch()
    for path, command in ((pdf, "report"), (pack, "evidence"), (empty, "report")):
        assert main([command, *PERIOD, "--out", str(path), "--db", str(db)]) == 0
        assert main([command, *PERIOD, "--out", str(path), "--db", str(db)]) == 0  # again
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert empty.read_bytes().startswith(b"%PDF-")
    assert pack.read_bytes().startswith(b"PK\x03\x04")
    for fmt in ("csv", "xlsx", "parquet"):  # and an export over an earlier export
        for _ in range(2):
            assert (
                main(["export", "--format", fmt, "--out", str(tmp_path / fmt), "--db", str(db)])
                == 0
            )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    capsys.readouterr()


def test_an_output_that_is_a_folder_is_refused(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "r.pdf").mkdir()
    message = refused(
        ["report", *PERIOD, "--out", str(tmp_path / "r.pdf"), "--db", str(db)], capsys
    )
    assert "folder" in message
    assert list((tmp_path / "r.pdf").iterdir()) == []


# --- 6. a command that fails leaves no store behind ---------------------------------------


def test_a_rejected_import_leaves_no_store_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "boards.csv").write_text("board_id,name,kind\nb1,North,not-a-kind\n", encoding="utf-8")
    new = tmp_path / "new" / "deeper" / "new.duckdb"
    assert main(["import", str(bad), "--db", str(new)]) == 1
    assert "boards.csv, row 2, field kind" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "nowhere"), "--db", str(new)]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["users", "remove", "a@b.example", "--reason", "x", "--db", str(new)]) == 1
    assert "no role to remove" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


def test_a_failed_import_into_a_store_that_existed_keeps_it(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "boards.csv").write_text("board_id,name,kind\nb1,North,not-a-kind\n", encoding="utf-8")
    assert main(["import", str(bad), "--db", str(db)]) == 1
    capsys.readouterr()
    with Store(db, read_only=True) as store:
        assert store.count("decision") > 0


@pytest.mark.parametrize(
    "command",
    [
        ["check"],
        ["check", "--format", "json"],
        ["export", "--out", "{tmp}/out"],
        ["backup", "--out", "{tmp}/bk"],
        ["evidence", *PERIOD, "--out", "{tmp}/p.zip"],
        ["report", *PERIOD, "--out", "{tmp}/r.pdf"],
        ["users", "list"],
    ],
    ids=["check", "check-json", "export", "backup", "evidence", "report", "users-list"],
)
def test_a_command_on_a_missing_store_says_so_and_makes_nothing(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [part.format(tmp=tmp_path) for part in command]
    message = refused([*argv, "--db", str(tmp_path / "none" / "none.duckdb")], capsys)
    assert "There is no store at" in message
    assert list(tmp_path.iterdir()) == []


# --- 7. no terminal control sequence from stored or typed text ----------------------------

ESC = "\x1b[31m"
CSI = "\x9b2J"


def poison(path: Path) -> None:
    """Text an older coprod let in, written straight into the store with SQL."""
    conn = duckdb.connect(str(path))
    try:
        conn.execute(
            "INSERT INTO decision (decision_id, board_id, title, identified_on, decided_on) "
            "VALUES (?, 'b1', ?, DATE '2022-03-01', DATE '2022-05-01')",
            [f"evil{ESC}", f"Title {ESC} and {CSI}\x07\x7f"],
        )
        conn.execute(
            "INSERT INTO app_user (identity, name, role, boards) VALUES (?, ?, 'admin', '*')",
            [f"x{ESC}@example.org", f"Name {ESC}{CSI}"],
        )
    finally:
        conn.close()


def no_control(text: str) -> None:
    for bad in ("\x1b", "\x9b", "\x07", "\x7f"):
        assert bad not in text, repr(text)


def test_stored_control_characters_never_reach_the_terminal(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    poison(db)
    assert main(["check", "--db", str(db), "--as-of", "2026-01-15"]) == 0
    out = capsys.readouterr().out
    no_control(out)
    assert "evil\\x1b[31m" in out  # shown, visibly escaped
    assert main(["check", "--db", str(db), "--as-of", "2026-01-15", "--format", "json"]) == 0
    no_control(capsys.readouterr().out)
    assert main(["users", "list", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    no_control(out)
    assert "Name \\x1b[31m\\x9b2J" in out
    assert (
        main(
            [
                "report",
                "--board",
                f"b{ESC}",
                "--from",
                "2022-01-01",
                "--to",
                "2022-12-31",
                "--out",
                str(db.parent / "r.pdf"),
                "--db",
                str(db),
            ]
        )
        == 1
    )
    no_control(capsys.readouterr().err)


def test_typed_control_characters_never_reach_the_terminal(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "boards.csv").write_text(
        f"board_id,name,kind\nb{ESC},North,kind{ESC}{CSI}\n", encoding="utf-8"
    )
    assert main(["import", str(bad), "--db", str(db)]) == 1
    err = capsys.readouterr().err
    no_control(err)
    assert "boards.csv, row 2" in err
    assert main(["import", str(tmp_path / f"no{ESC}where"), "--db", str(db)]) == 1
    no_control(capsys.readouterr().err)
    with pytest.raises(SystemExit):
        main(["check", "--db", str(db), "--as-of", f"{ESC}2026"])
    no_control(capsys.readouterr().err)
    assert main(["users", "add", f"someone{ESC}", "--role", "admin", "--db", str(db)]) == 1
    no_control(capsys.readouterr().err)


def test_printable_escapes_every_control_character() -> None:
    assert printable("a\tb\nc") == "a\tb\nc"
    assert printable("\x1b[31mred\x9b") == "\\x1b[31mred\\x9b"
    assert printable("\x00\x7f\x85é’") == "\\x00\\x7f\\x85é’"
    for code in [*range(0x20), *range(0x7F, 0xA0)]:
        if chr(code) not in "\t\n":
            assert printable(chr(code)) == f"\\x{code:02x}"


def test_a_store_path_that_is_another_kind_of_file_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf = tmp_path / "minutes.pdf"
    pdf.write_bytes(b"%PDF-1.4 the minutes\n")
    for argv in (
        ["import", str(EXAMPLE)],
        ["check"],
        ["users", "add", "a@b.example", "--role", "admin"],
    ):
        message = refused([*argv, "--db", str(pdf)], capsys)
        assert "is not a coprod store or it is damaged" in message
    assert pdf.read_bytes() == b"%PDF-1.4 the minutes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["minutes.pdf"]
