"""The malformed corpus (tests/malformed/): every entry is rejected, precisely, and changes nothing.

Each entry is imported on top of a small valid store (``_base``). The test checks the exact
problem (file, spreadsheet row, field, and a fragment of the reason), that nothing else was
reported, and that the store afterwards exports byte for byte as before, with the same audit
trail and data version. A few entries also go through the ``coprod`` command line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
from builders import CHANGE

from coprod.cli import main
from coprod.interchange import ImportRejected, export, import_source
from coprod.store import TABLES, Store

CORPUS = Path(__file__).resolve().parent / "malformed"
BASE = CORPUS / "_base"


class Expected(NamedTuple):
    entry: str
    file: str
    row: int | None
    field: str | None
    reason: str
    problems: int = 1  # how many problems the entry reports in all


NOT_FORMAT = "not a file of the format; expected one of boards.csv"

CASES = [
    # the header
    Expected("unknown-column", "decisions.csv", 1, "titel", "unknown column", problems=2),
    Expected("missing-required-column", "boards.csv", 1, "kind", "required column is missing"),
    Expected("duplicate-header", "boards.csv", 1, "name", "appears twice in the header"),
    Expected("column-without-a-name", "boards.csv", 1, None, "column 3 has no name"),
    # the shape of a row
    Expected("too-many-values", "boards.csv", 3, None, "more values than the header has columns"),
    Expected("unclosed-quote", "boards.csv", 2, None, "quoted value is never closed"),
    Expected("field-over-the-csv-limit", "decisions.csv", 2, "summary", "at most 32,767"),
    Expected("stray-quote-merges-cells", "decisions.csv", 2, None, 'a stray " inside it'),
    # ids and keys
    Expected("duplicate-id", "boards.csv", 3, "board_id", "duplicate board_id b3 (first on row 2)"),
    Expected("id-with-space", "boards.csv", 2, "board_id", "must be 1–64 letters, digits"),
    Expected("id-65-characters", "boards.csv", 2, "board_id", "must be 1–64 letters, digits"),
    Expected(
        "health-check-item-with-a-dot",
        "health_checks.csv",
        2,
        "item",
        "must be 1–64 lower-case letters, digits or '_'",
    ),
    # texts every way in can store, and export as they came
    Expected("text-longer-than-a-cell", "decisions.csv", 2, "summary", "40,000 characters long"),
    Expected("control-character-in-text", "boards.csv", 2, "name", "control character (U+001B)"),
    # dates
    Expected("impossible-iso-date", "meetings.csv", 2, "date", "'2024-02-30' is not a real"),
    Expected("impossible-uk-date", "decisions.csv", 2, "identified_on", "'31/04/2024' is not a"),
    Expected("uk-date-month-13", "decisions.csv", 2, "identified_on", "'02/13/2024' is not a real"),
    Expected("time-in-date", "meetings.csv", 2, "date", "'2024-06-04 10:30' is not a date"),
    Expected("date-before-1900", "members.csv", 2, "start_date", "0001-01-01 is outside the dates"),
    Expected("date-after-2199", "decisions.csv", 2, "review_due_on", "9999-12-31 is outside"),
    # numbers
    Expected("negative-participants", "involvements.csv", 2, "participants", "greater than or"),
    Expected("fractional-participants", "involvements.csv", 2, "participants", "not a whole"),
    Expected("participants-too-large", "involvements.csv", 2, "participants", "too large"),
    Expected("score-zero", "health_checks.csv", 2, "score", "greater than or equal to 1"),
    Expected("score-six", "health_checks.csv", 2, "score", "less than or equal to 5"),
    # values from a fixed list, booleans, sets, required values
    Expected("bad-enum", "members.csv", 2, "role", "'service_user_rep'"),
    Expected("bad-boolean", "members.csv", 2, "voting", "must be true or false"),
    Expected(
        "bad-accessible-format",
        "involvements.csv",
        2,
        "accessible_formats",
        "'sign_language' is not an accessible format",
    ),
    Expected("title-missing", "decisions.csv", 2, "title", "a value is required"),
    # consistency rules
    Expected(
        "lived-more-than-participants",
        "involvements.csv",
        2,
        "lived_experience_participants",
        "more than participants",
    ),
    Expected(
        "options-fixed-before-identified",
        "decisions.csv",
        2,
        "options_fixed_on",
        "options_fixed_on is before identified_on",
    ),
    Expected(
        "decided-before-options-fixed",
        "decisions.csv",
        2,
        "decided_on",
        "decided_on is before options_fixed_on",
    ),
    Expected("member-end-before-start", "members.csv", 2, "end_date", "before start_date"),
    Expected("involvement-end-before-start", "involvements.csv", 2, "end_date", "before start"),
    Expected(
        "exemption-reason-missing",
        "decisions.csv",
        2,
        "exemption_reason",
        "required when affects_people_who_use_services is false",
    ),
    # references
    Expected("dangling-reference", "involvements.csv", 2, "decision_id", "no decision has the id"),
    Expected(
        "attendance-member-of-another-board",
        "attendance.csv",
        2,
        "member_id",
        "member 'm-south' belongs to board 'b2', not 'b1'",
    ),
    Expected(
        "decision-meeting-of-another-board",
        "decisions.csv",
        2,
        "meeting_id",
        "meeting 'mt-south' belongs to board 'b2', not 'b1'",
    ),
    Expected(
        "meeting-moved-away-from-its-decision",
        "meetings.csv",
        2,
        "board_id",
        "meeting 'mt1' cannot move from board 'b1' to board 'b2': decision 'd1' and the "
        "attendance of members 'm-chair', 'm-user' of board 'b1' depend on it",
    ),
    Expected(
        "member-moved-away-from-its-attendance",
        "members.csv",
        2,
        "board_id",
        "member 'm-chair' cannot move from board 'b1' to board 'b2': the attendance at meeting "
        "'mt1'",
    ),
    Expected(
        "response-two-check-dates",
        "health_checks.csv",
        3,
        "check_date",
        "response 'r9' has a different check_date on row 2",
    ),
    # not the format at all
    Expected("empty-file", "boards.csv", None, None, "the file is empty"),
    Expected("blank-lines-only", "boards.csv", None, None, "the file is empty"),
    Expected("binary-garbage", "decisions.csv", None, None, "not a text CSV file"),
    Expected("nul-after-the-first-4k", "boards.csv", None, None, "not a text CSV file"),
    Expected("utf-16-from-excel", "boards.csv", None, None, "not a text CSV file"),
    Expected("windows-1252-bad-value", "boards.csv", 2, "kind", "'integration_joint_board'"),
    Expected(
        "utf-8-with-one-windows-1252-byte",
        "boards.csv",
        3,
        None,
        "the file is UTF-8, but this row holds a byte (0x92) that is not",
    ),
    Expected(
        "byte-neither-utf-8-nor-windows-1252",
        "boards.csv",
        2,
        None,
        "a byte (0x81) that is neither UTF-8 nor Windows-1252",
    ),
    Expected("unknown-file-name", "decisons.csv", None, None, NOT_FORMAT),
    Expected("no-csv-files", "no-csv-files", None, None, "holds no CSV files"),
    Expected("not-csv.txt", "not-csv.txt", None, None, "not a CSV folder, .csv file or .xlsx"),
    Expected("csv-named-xlsx.xlsx", "csv-named-xlsx.xlsx", None, None, "not a readable .xlsx"),
    # workbooks
    Expected("unknown-sheet.xlsx", "unknown-sheet.xlsx › decisons", None, None, NOT_FORMAT),
    Expected(
        "xlsx-date-with-a-time.xlsx",
        "xlsx-date-with-a-time.xlsx › meetings",
        2,
        "date",
        "must be a date without a time of day",
    ),
    Expected(
        "xlsx-number-in-a-date-column.xlsx",
        "xlsx-number-in-a-date-column.xlsx › meetings",
        2,
        "date",
        "'45447' is not a date",
    ),
    Expected(
        "xlsx-true-as-a-score.xlsx",
        "xlsx-true-as-a-score.xlsx › health_checks",
        2,
        "score",
        "'TRUE' is not a whole number",
    ),
    Expected("xlsx-bad-enum.xlsx", "xlsx-bad-enum.xlsx › boards", 2, "kind", "'locality_group'"),
    Expected(
        "xlsx-nul-escape.xlsx",
        "xlsx-nul-escape.xlsx › boards",
        2,
        "name",
        "control character (U+0000)",
    ),
    Expected(
        "xlsx-very-hidden-sheet.xlsx",
        "xlsx-very-hidden-sheet.xlsx › meetings",
        None,
        None,
        "this sheet is very hidden",
    ),
    Expected(
        "xlsx-ref-error.xlsx",
        "xlsx-ref-error.xlsx › boards",
        2,
        "name",
        "cell B2 shows the error #REF!",
    ),
    Expected(
        "xlsx-formula-without-a-value.xlsx",
        "xlsx-formula-without-a-value.xlsx › boards",
        2,
        "name",
        'cell B2 holds the formula =A2&"x" with no value saved with it',
    ),
    Expected(
        "xlsx-truncated-sheet.xlsx",
        "xlsx-truncated-sheet.xlsx › boards",
        None,
        None,
        "this sheet cannot be read: the workbook is damaged",
    ),
    Expected(
        "xlsx-doctype-entity.xlsx", "xlsx-doctype-entity.xlsx", None, None, "declares a DOCTYPE"
    ),
]


def test_the_corpus_and_the_table_agree() -> None:
    on_disk = {p.name for p in CORPUS.iterdir() if not p.name.startswith(("_", "README"))}
    assert on_disk == {c.entry for c in CASES}
    assert len(CASES) >= 25


def snapshot(store: Store, folder: Path) -> tuple[dict[str, bytes], dict[str, int], int]:
    """What must not change: the CSV export, every table's size with the audit log, the version."""
    export(store, folder)
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    counts = {t: store.count(t, include_withdrawn=True) for t in (*TABLES, "audit_log")}
    return files, counts, store.data_version()


@pytest.fixture
def loaded(store: Store) -> Store:
    import_source(store, BASE, CHANGE)
    return store


@pytest.mark.parametrize("case", CASES, ids=[c.entry for c in CASES])
def test_malformed_entry_is_rejected_and_changes_nothing(
    loaded: Store, case: Expected, tmp_path: Path
) -> None:
    before = snapshot(loaded, tmp_path / "before")
    with pytest.raises(ImportRejected) as caught:
        import_source(loaded, CORPUS / case.entry, CHANGE)
    problems = caught.value.problems
    assert len(problems) == case.problems, [str(p) for p in problems]
    matching = [
        p for p in problems if (p.file, p.row, p.field) == (case.file, case.row, case.field)
    ]
    assert matching, f"no problem at {(case.file, case.row, case.field)}: {problems}"
    assert case.reason in matching[0].reason
    assert case.file in str(matching[0])
    assert snapshot(loaded, tmp_path / "after") == before


def test_the_base_is_valid_and_a_header_only_file_imports_nothing(
    loaded: Store, tmp_path: Path
) -> None:
    # Decided: a file with a header and no rows is valid and imports nothing (an export of an
    # empty table looks exactly like that); a file with no header at all is rejected.
    before = snapshot(loaded, tmp_path / "before")
    folder = tmp_path / "header-only"
    folder.mkdir()
    (folder / "boards.csv").write_text("board_id,name,kind,area\n", encoding="utf-8")
    (folder / "decisions.csv").write_text("decision_id,board_id,title,identified_on\n\n\n")
    summary = import_source(loaded, folder, CHANGE)
    assert summary.total_rows == 0
    files, counts, _version = snapshot(loaded, tmp_path / "after")
    assert (files, counts) == before[:2]  # no record and no audit entry written


CLI_CASES = ["unclosed-quote", "decision-meeting-of-another-board", "xlsx-date-with-a-time.xlsx"]


@pytest.mark.parametrize("entry", CLI_CASES)
def test_the_command_line_rejects_it_naming_file_row_and_field(
    entry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "cli.duckdb")
    assert main(["import", str(BASE), "--db", db]) == 0
    assert main(["export", "--db", db, "--out", str(tmp_path / "before")]) == 0
    capsys.readouterr()

    assert main(["import", str(CORPUS / entry), "--db", db]) == 1
    captured = capsys.readouterr()
    case = next(c for c in CASES if c.entry == entry)
    where = f"{case.file}, row {case.row}" + (f", field {case.field}" if case.field else "")
    assert "Nothing was imported: 1 problem found." in captured.err
    assert where in captured.err
    assert case.reason in captured.err
    assert captured.out == ""

    assert main(["export", "--db", db, "--out", str(tmp_path / "after")]) == 0
    for path in sorted((tmp_path / "before").iterdir()):
        assert (tmp_path / "after" / path.name).read_bytes() == path.read_bytes()


def test_the_command_line_never_shows_a_traceback(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.duckdb")
    assert main(["import", str(BASE), "--db", db]) == 0
    for entry in (
        "binary-garbage",
        "field-over-the-csv-limit",
        "csv-named-xlsx.xlsx",
        "xlsx-truncated-sheet.xlsx",
        "xlsx-doctype-entity.xlsx",
    ):
        done = subprocess.run(
            [sys.executable, "-m", "coprod.cli", "import", str(CORPUS / entry), "--db", db],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert done.stderr.startswith("Nothing was imported: 1 problem found.")
