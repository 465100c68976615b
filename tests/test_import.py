"""The interchange format: reading CSV folders and workbooks, rejecting bad data, round-trips.

An import is one transaction: every row valid, or nothing written and every bad row reported
with the file, the row number a spreadsheet shows (header = row 1, blank lines counted), the
field and the reason (docs/domain.md, Interchange format).
"""

from __future__ import annotations

import csv
import datetime as dt
import filecmp
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from builders import CHANGE, withdraw
from openpyxl import Workbook, load_workbook

from coprod import bulk, interchange
from coprod.demo import write_demo
from coprod.interchange import (
    ImportRejected,
    ImportSummary,
    Problem,
    export,
    import_sheets,
    import_source,
    read_source,
)
from coprod.models import ENTITY_BY_TABLE
from coprod.store import TABLES, Change, Store

EXAMPLE = Path(__file__).resolve().parent / "data" / "rules-check"

# A small valid folder; the row numbers below are the ones a spreadsheet shows.
SMALL: dict[str, str] = {
    "boards.csv": """board_id,name,kind,area
b1,North IJB,integration_joint_board,North
b2,South planning group,strategic_planning_group,
""",
    "members.csv": """member_id,board_id,name,role,voting,lived_experience,start_date,end_date
m-chair,b1,Ann Chair,chair,true,false,2022-01-01,
m-user,b1,Sam User,service_user_rep,false,true,2022-01-01,
""",
    "meetings.csv": """meeting_id,board_id,date,kind
mt1,b1,2024-06-04,public
""",
    "attendance.csv": """meeting_id,member_id,status
mt1,m-chair,present
mt1,m-user,apologies
""",
    "decisions.csv": """decision_id,board_id,title,affects_people_who_use_services,\
exemption_reason,claimed_approach,identified_on,options_fixed_on,decided_on,meeting_id,outcome
d1,b1,Day services review,true,,co_design,2024-01-01,2024-03-05,2024-06-04,mt1,approved
d2,b1,Audit contract,false,Internal only,,2024-02-01,,,,pending
""",
    "involvements.csv": """involvement_id,decision_id,start_date,end_date,group,level,method,\
participants,lived_experience_participants,accessible_formats,expenses_offered,feedback_on,\
influence,attestation
i1,d1,2024-01-10,2024-03-01,people_who_use_services,co_design,workshop,12,8,easy_read;bsl,\
true,2024-06-18,Kept Saturday opening,confirmed
i2,d1,2024-02-01,2024-03-20,carers,consult,consultation,40,30,,false,,,unconfirmed
""",
    "health_checks.csv": """response_id,board_id,check_date,respondent_group,item,score,comment
r1,b1,2024-05-01,professional,trust,4,
r1,b1,2024-05-01,professional,support,3,
r2,b1,2024-05-01,carer,trust,2,Not listened to
""",
}


@pytest.fixture
def small(tmp_path: Path) -> Path:
    folder = tmp_path / "small"
    folder.mkdir()
    for name, text in SMALL.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the worked example (CSV files only); fails if it is missing."""
    assert EXAMPLE.is_dir(), f"the worked example is missing: {EXAMPLE}"
    folder = tmp_path / "example"
    folder.mkdir()
    for path in EXAMPLE.glob("*.csv"):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def other_store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "other.duckdb")
    try:
        yield opened
    finally:
        opened.close()


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def rejected(store: Store, source: Path) -> list[Problem]:
    with pytest.raises(ImportRejected) as caught:
        import_source(store, source, CHANGE)
    return caught.value.problems


def problem_at(problems: list[Problem], file: str, row: int | None, field: str | None) -> str:
    """The reason given for (file, row, field); fails listing every problem if there is none."""
    for p in problems:
        if (p.file, p.row, p.field) == (file, row, field):
            assert p.reason.strip(), "a problem must say why"
            assert file in str(p)
            return p.reason
    raise AssertionError(f"no problem at {(file, row, field)}; got {[str(p) for p in problems]}")


def counts(store: Store) -> dict[str, int]:
    return {t: store.count(t, include_withdrawn=True) for t in (*TABLES, "audit_log")}


def exported(store: Store, folder: Path) -> dict[str, bytes]:
    export(store, folder)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def value(store: Store, sql: str, params: list[object] | None = None) -> object:
    rows = store.query(sql, list(params or []))
    assert len(rows) == 1
    return next(iter(rows[0].values()))


# --- valid imports --------------------------------------------------------------------------


def test_small_folder_imports(store: Store, small: Path) -> None:
    summary = import_source(store, small, CHANGE)
    assert summary.created == {
        "board": 2,
        "member": 2,
        "meeting": 1,
        "attendance": 2,
        "decision": 2,
        "involvement": 2,
        "health_check": 3,
    }
    assert value(store, "SELECT accessible_formats FROM involvement WHERE involvement_id='i1'") == [
        "easy_read",
        "bsl",
    ]
    assert value(store, "SELECT claimed_approach FROM decision WHERE decision_id='d2'") == "none"


def memory_limit(store: Store) -> str:
    """DuckDB's memory limit as it shows it (``600.0 MiB``)."""
    return str(value(store, "SELECT current_setting('memory_limit')"))


def test_an_import_in_sets_holds_duckdbs_memory_down_while_it_writes_and_then_lets_it_go(
    store: Store, small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A store file's import in sets spills to disk beyond its bound rather than growing with
    # the files; a server store's DuckDB, in memory, has nowhere to spill and keeps its limit.
    before = memory_limit(store)
    during: list[str] = []
    write_records = interchange.write_records

    def watched(*args: Any, **kwargs: Any) -> Any:
        during.append(memory_limit(store))
        return write_records(*args, **kwargs)

    monkeypatch.setattr(interchange, "write_records", watched)
    write_demo(tmp_path / "demo", boards=1)  # files in stored form: imported in sets
    import_source(store, tmp_path / "demo", CHANGE)
    assert len(during) == 7
    assert set(during) == ({before} if store.server else {"600.0 MiB"})
    assert memory_limit(store) == before
    during.clear()
    import_source(store, small, CHANGE, in_sets=False)  # row by row: Python holds the rows
    assert set(during) == {before}
    assert memory_limit(store) == before


def test_an_import_whose_bound_is_too_small_runs_again_without_it(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = memory_limit(store)
    attempts: list[str] = []
    write_sets = bulk._write_sets

    def short_of_memory(*args: Any) -> Any:
        attempts.append(memory_limit(store))
        if len(attempts) == 1:
            with store.transaction() as cur:  # a first write that DuckDB could not finish
                cur.execute("UPDATE store_meta SET value = 'off' WHERE key = 'public_view'")
                raise duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block")
        return write_sets(*args)

    monkeypatch.setattr(bulk, "_write_sets", short_of_memory)
    write_demo(tmp_path / "demo", boards=1)
    summary = import_source(store, tmp_path / "demo", CHANGE)
    assert attempts == [before if store.server else "600.0 MiB", before]  # then unbounded
    assert value(store, "SELECT value FROM store_meta WHERE key = 'public_view'") == "on"
    with (tmp_path / "demo" / "health_checks.csv").open(newline="") as responses:
        rows = len(list(csv.DictReader(responses)))
    assert summary.created["health_check"] == store.count("health_check") == rows


def test_example_folder_imports(store: Store, example: Path) -> None:
    summary = import_source(store, example, CHANGE)
    for name in TABLES:
        with (example / f"{ENTITY_BY_TABLE[name].file_name}.csv").open(encoding="utf-8") as handle:
            rows = sum(1 for _ in csv.reader(handle)) - 1
        assert summary.created[name] == rows == store.count(name)


DATE_COLUMNS = {
    "start_date",
    "end_date",
    "date",
    "papers_published_on",
    "identified_on",
    "options_fixed_on",
    "decided_on",
    "review_due_on",
    "feedback_on",
    "check_date",
}
BOOL_COLUMNS = {"voting", "lived_experience", "affects_people_who_use_services", "expenses_offered"}
INT_COLUMNS = {"participants", "lived_experience_participants", "score"}


def workbook_from(folder: Path, target: Path) -> Path:
    """An .xlsx with one sheet per CSV file, with real date, boolean and number cells."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for path in sorted(folder.glob("*.csv")):
        sheet = workbook.create_sheet(path.stem)
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            sheet.append(header)
            for record in reader:
                row: list[object] = []
                for column, text in zip(header, record, strict=True):
                    if text == "":
                        row.append(None)
                    elif column in DATE_COLUMNS:
                        row.append(dt.date.fromisoformat(text))
                    elif column in BOOL_COLUMNS:
                        row.append(text == "true")
                    elif column in INT_COLUMNS:
                        row.append(int(text))
                    else:
                        row.append(text)
                sheet.append(row)
    workbook.save(target)
    return target


def test_xlsx_with_real_date_cells_imports_like_the_csv(
    store: Store, other_store: Store, example: Path, tmp_path: Path
) -> None:
    book = workbook_from(example, tmp_path / "example.xlsx")
    check = load_workbook(book)
    assert check["decisions"]["I2"].is_date  # identified_on is a real date cell
    check.close()

    from_xlsx = import_source(store, book, CHANGE)
    from_csv = import_source(other_store, example, CHANGE)
    assert from_xlsx == from_csv
    assert exported(store, tmp_path / "a") == exported(other_store, tmp_path / "b")


def test_xlsx_export_imports_back(
    store: Store, other_store: Store, small: Path, tmp_path: Path
) -> None:
    import_source(store, small, CHANGE)
    [book] = export(store, tmp_path / "book", fmt="xlsx")
    import_source(other_store, book, CHANGE)
    assert exported(store, tmp_path / "a") == exported(other_store, tmp_path / "b")


# --- one bad row rejects everything ---------------------------------------------------------


def test_bad_row_in_a_first_import_writes_nothing(store: Store, small: Path) -> None:
    edit(small, "health_checks.csv", "carer,trust,2,", "carer,trust,6,")
    problems = rejected(store, small)
    assert len(problems) == 1
    assert store.is_empty()
    assert store.count("audit_log", include_withdrawn=True) == 0


def test_bad_row_anywhere_leaves_the_store_unchanged(
    store: Store, small: Path, tmp_path: Path
) -> None:
    import_source(store, small, CHANGE)
    before_counts = counts(store)
    before_export = exported(store, tmp_path / "before")
    before_version = store.data_version()

    edit(small, "decisions.csv", "Day services review", "Day services review (revised)")
    edit(small, "boards.csv", "b2,South", "b3,East locality,locality_group,\nb2,South")
    edit(small, "health_checks.csv", "carer,trust,2,", "carer,trust,6,")  # the last row
    problems = rejected(store, small)

    assert [(p.file, p.row, p.field) for p in problems] == [("health_checks.csv", 4, "score")]
    assert counts(store) == before_counts
    assert exported(store, tmp_path / "after") == before_export
    assert store.data_version() == before_version


def test_every_bad_row_in_every_file_is_reported(store: Store, small: Path) -> None:
    edit(small, "boards.csv", "strategic_planning_group", "quango")
    edit(small, "decisions.csv", "2024-02-01,,,,pending", "2024-02-30,,,,pending")
    edit(small, "health_checks.csv", "carer,trust,2,", "carer,trust,0,")
    problems = rejected(store, small)
    assert {(p.file, p.row, p.field) for p in problems} == {
        ("boards.csv", 3, "kind"),
        ("decisions.csv", 3, "identified_on"),
        ("health_checks.csv", 4, "score"),
    }
    assert store.is_empty()


def test_a_failure_while_writing_rolls_back_every_file(
    store: Store, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Validation passed, then the disk filled up half-way: nothing may be left behind.
    real = interchange.write_records

    def failing(cur: Any, table: str, records: Any, change: Change) -> tuple[int, int, int]:
        if table == "involvement":
            raise OSError("disk full")
        return real(cur, table, records, change)

    monkeypatch.setattr(interchange, "write_records", failing)
    with pytest.raises(OSError, match="disk full"):
        import_source(store, small, CHANGE)
    assert store.is_empty()
    assert store.count("audit_log", include_withdrawn=True) == 0


# --- each problem names file, row, field and reason -----------------------------------------


def test_unknown_column(store: Store, small: Path) -> None:
    edit(small, "decisions.csv", ",outcome\n", ",outcome,titel\n")
    edit(small, "decisions.csv", "mt1,approved\n", "mt1,approved,x\n")
    reason = problem_at(rejected(store, small), "decisions.csv", 1, "titel")
    assert "unknown column" in reason


def test_missing_required_column(store: Store, small: Path) -> None:
    edit(small, "boards.csv", "board_id,name,kind,area", "board_id,kind,area")
    edit(small, "boards.csv", "b1,North IJB,", "b1,")
    edit(small, "boards.csv", "b2,South planning group,", "b2,")
    reason = problem_at(rejected(store, small), "boards.csv", 1, "name")
    assert "missing" in reason


def test_optional_columns_may_be_absent(store: Store, small: Path) -> None:
    edit(small, "boards.csv", "board_id,name,kind,area", "board_id,name,kind")
    edit(small, "boards.csv", ",North\n", "\n")
    edit(small, "boards.csv", "group,\n", "group\n")
    import_source(store, small, CHANGE)
    assert store.count("board") == 2


def test_bad_enum(store: Store, small: Path) -> None:
    edit(small, "boards.csv", "strategic_planning_group", "quango")
    reason = problem_at(rejected(store, small), "boards.csv", 3, "kind")
    assert "strategic_planning_group" in reason  # says what is allowed


def test_bad_date(store: Store, small: Path) -> None:
    edit(small, "decisions.csv", "2024-01-01,2024-03-05", "next week,2024-03-05")
    reason = problem_at(rejected(store, small), "decisions.csv", 2, "identified_on")
    assert "next week" in reason


def test_impossible_date(store: Store, small: Path) -> None:
    edit(small, "meetings.csv", "2024-06-04", "2024-02-30")
    reason = problem_at(rejected(store, small), "meetings.csv", 2, "date")
    assert "2024-02-30" in reason


def test_negative_participants(store: Store, small: Path) -> None:
    edit(small, "involvements.csv", "consultation,40,30", "consultation,-4,")
    problem_at(rejected(store, small), "involvements.csv", 3, "participants")


def test_more_lived_experience_participants_than_participants(store: Store, small: Path) -> None:
    edit(small, "involvements.csv", "consultation,40,30", "consultation,40,41")
    reason = problem_at(
        rejected(store, small), "involvements.csv", 3, "lived_experience_participants"
    )
    assert "participants" in reason


def test_score_of_six(store: Store, small: Path) -> None:
    edit(small, "health_checks.csv", "professional,support,3", "professional,support,6")
    reason = problem_at(rejected(store, small), "health_checks.csv", 3, "score")
    assert "5" in reason


def test_duplicate_id(store: Store, small: Path) -> None:
    edit(small, "boards.csv", "b2,South", "b1,South")
    reason = problem_at(rejected(store, small), "boards.csv", 3, "board_id")
    assert "duplicate" in reason
    assert "row 2" in reason  # where the first one is


def test_duplicate_health_check_item_of_one_respondent(store: Store, small: Path) -> None:
    edit(small, "health_checks.csv", "professional,support,3", "professional,trust,3")
    reason = problem_at(rejected(store, small), "health_checks.csv", 3, "item")
    assert "duplicate" in reason


def test_dangling_reference(store: Store, small: Path) -> None:
    edit(small, "involvements.csv", "i2,d1,", "i2,d9,")
    reason = problem_at(rejected(store, small), "involvements.csv", 3, "decision_id")
    assert "d9" in reason


def test_reference_to_a_record_already_in_the_store_is_fine(store: Store, small: Path) -> None:
    import_source(store, small, CHANGE)
    for name in list(SMALL):
        if name != "involvements.csv":
            (small / name).unlink()
    edit(small, "involvements.csv", "i2,d1,", "i3,d1,")
    import_source(store, small, CHANGE)
    assert store.count("involvement") == 3


def test_options_fixed_before_identified(store: Store, small: Path) -> None:
    edit(small, "decisions.csv", "2024-01-01,2024-03-05", "2024-01-01,2023-12-31")
    reason = problem_at(rejected(store, small), "decisions.csv", 2, "options_fixed_on")
    assert "identified_on" in reason


def test_exemption_reason_missing(store: Store, small: Path) -> None:
    edit(small, "decisions.csv", "false,Internal only,", "false,,")
    reason = problem_at(rejected(store, small), "decisions.csv", 3, "exemption_reason")
    assert "required" in reason


def test_blank_lines_are_counted_in_row_numbers(store: Store, small: Path) -> None:
    edit(small, "boards.csv", "area\n", "area\n\n,,,\n")
    edit(small, "boards.csv", "strategic_planning_group", "quango")
    problem_at(rejected(store, small), "boards.csv", 5, "kind")


def test_workbook_problems_name_the_sheet_and_count_blank_rows(
    store: Store, tmp_path: Path
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "boards"
    sheet.append(["board_id", "name", "kind"])
    sheet.append(["b1", "North", "committee"])
    for column, text in enumerate(["b2", "South", "quango"], start=1):
        sheet.cell(row=5, column=column, value=text)  # rows 3 and 4 left blank
    workbook.save(tmp_path / "boards.xlsx")
    problems = rejected(store, tmp_path / "boards.xlsx")
    problem_at(problems, "boards.xlsx › boards", 5, "kind")
    assert store.is_empty()


# --- how people type files ------------------------------------------------------------------

NAME = "Comhairle – Café’s board"


def test_utf8_with_byte_order_mark(store: Store, small: Path) -> None:
    text = (small / "boards.csv").read_text(encoding="utf-8").replace("North IJB", NAME)
    (small / "boards.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    import_source(store, small, CHANGE)
    assert value(store, "SELECT name FROM board WHERE board_id = 'b1'") == NAME


def test_windows_1252_from_excel(store: Store, small: Path) -> None:
    text = (small / "boards.csv").read_text(encoding="utf-8").replace("North IJB", NAME)
    (small / "boards.csv").write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
    import_source(store, small, CHANGE)
    assert value(store, "SELECT name FROM board WHERE board_id = 'b1'") == NAME
    assert store.count("board") == 2


def test_uk_dates(store: Store, small: Path) -> None:
    edit(small, "decisions.csv", "2024-01-01,2024-03-05", "31/01/2024,01/02/2024")
    import_source(store, small, CHANGE)
    row = store.query("SELECT identified_on, options_fixed_on FROM decision WHERE decision_id='d1'")
    assert row == [{"identified_on": dt.date(2024, 1, 31), "options_fixed_on": dt.date(2024, 2, 1)}]


@pytest.mark.parametrize("typed", ["Co-design", "co design", "CO_DESIGN", " co-Design "])
def test_enums_as_people_type_them(store: Store, small: Path, typed: str) -> None:
    edit(small, "decisions.csv", ",co_design,", f",{typed},")
    import_source(store, small, CHANGE)
    assert (
        value(store, "SELECT claimed_approach FROM decision WHERE decision_id='d1'") == "co_design"
    )


@pytest.mark.parametrize(
    ("typed", "meant"), [("yes", True), ("No", False), ("1", True), ("0", False)]
)
def test_booleans_as_people_type_them(store: Store, small: Path, typed: str, meant: bool) -> None:
    edit(small, "members.csv", "Ann Chair,chair,true", f"Ann Chair,chair,{typed}")
    import_source(store, small, CHANGE)
    assert value(store, "SELECT voting FROM member WHERE member_id='m-chair'") is meant


# --- re-import and round trips --------------------------------------------------------------


def test_reimport_is_idempotent(store: Store, example: Path, tmp_path: Path) -> None:
    first = import_source(store, example, CHANGE)
    before_counts = counts(store)
    before_export = exported(store, tmp_path / "before")
    second = import_source(store, example, CHANGE)
    assert sum(second.created.values()) == 0
    assert sum(second.updated.values()) == 0
    assert second.unchanged == first.created
    assert counts(store) == before_counts  # no new audit entries either
    assert exported(store, tmp_path / "after") == before_export


def test_reimport_upserts_by_id_and_audits_the_change(store: Store, small: Path) -> None:
    import_source(store, small, CHANGE)
    edit(small, "decisions.csv", "Day services review", "Day services review (revised)")
    summary: ImportSummary = import_source(store, small, CHANGE)
    assert summary.updated["decision"] == 1
    assert summary.unchanged["decision"] == 1
    assert summary.created["decision"] == 0
    assert store.count("decision") == 2
    title = value(store, "SELECT title FROM decision WHERE decision_id='d1'")
    assert title == "Day services review (revised)"
    entries = store.audit_entries("decision", "d1")
    assert [e["action"] for e in entries] == ["create", "update"]
    update = entries[-1]
    assert update["before"]["title"] == "Day services review"
    assert update["after"]["title"] == "Day services review (revised)"
    assert update["actor"] == CHANGE.actor
    assert update["source"] == "import"


def test_export_import_export_round_trips(
    store: Store, other_store: Store, example: Path, tmp_path: Path
) -> None:
    import_source(store, example, CHANGE)
    first = tmp_path / "first"
    export(store, first)
    import_source(other_store, first, CHANGE)
    second = tmp_path / "second"
    export(other_store, second)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert len(names) == 7
    _same, mismatch, errors = filecmp.cmpfiles(first, second, names, shallow=False)
    assert (mismatch, errors) == ([], [])


def test_export_with_a_withdrawn_meeting_still_imports(
    store: Store, other_store: Store, small: Path, tmp_path: Path
) -> None:
    # Records are withdrawn, never deleted; an export must still be a folder that imports.
    import_source(store, small, CHANGE)
    withdraw(store, "meeting", "meeting_id = ?", ["mt1"])
    export(store, tmp_path / "out")
    try:
        import_source(other_store, tmp_path / "out", CHANGE)
    except ImportRejected as rejection:
        pytest.fail(f"the export does not import: {[str(p) for p in rejection.problems]}")
    assert exported(store, tmp_path / "a") == exported(other_store, tmp_path / "b")


# --- not the format -------------------------------------------------------------------------


def test_empty_file_is_rejected(store: Store, small: Path) -> None:
    (small / "boards.csv").write_bytes(b"")
    problems = rejected(store, small)
    assert [p.file for p in problems] == ["boards.csv"]
    assert "empty" in problems[0].reason
    assert store.is_empty()


def test_text_file_is_rejected(store: Store, small: Path) -> None:
    text_file = small.parent / "boards.txt"
    text_file.write_text(SMALL["boards.csv"], encoding="utf-8")
    problems = rejected(store, text_file)
    assert [p.file for p in problems] == ["boards.txt"]
    assert store.is_empty()


def test_csv_with_an_unknown_file_name_is_rejected(store: Store, small: Path) -> None:
    (small / "decisons.csv").write_text(SMALL["decisions.csv"], encoding="utf-8")
    problems = rejected(store, small)
    assert [p.file for p in problems] == ["decisons.csv"]
    assert store.is_empty()


def test_a_dry_run_counts_changes_and_writes_nothing(store: Store, small: Path) -> None:
    sheets = read_source(small)
    preview = import_sheets(store, sheets, CHANGE, dry_run=True)
    assert preview.created["decision"] > 0
    assert store.is_empty()
    assert store.audit_entries() == []
    done = import_sheets(store, sheets, CHANGE)
    assert done.created == preview.created


def test_a_response_cannot_move_board_by_a_later_import(store: Store, tmp_path: Path) -> None:
    first = tmp_path / "first"
    first.mkdir()
    (first / "boards.csv").write_text("board_id,name,kind\nb1,One,other\nb2,Two,other\n")
    (first / "health_checks.csv").write_text(
        "response_id,board_id,check_date,respondent_group,item,score\n"
        "r1,b1,2024-06-01,professional,trust,4\n"
    )
    import_source(store, first, CHANGE)
    second = tmp_path / "second"
    second.mkdir()
    (second / "health_checks.csv").write_text(
        "response_id,board_id,check_date,respondent_group,item,score\n"
        "r1,b2,2024-06-01,professional,support,3\n"
    )
    with pytest.raises(ImportRejected) as rejected:
        import_source(store, second, CHANGE)
    [problem] = rejected.value.problems
    assert (problem.file, problem.row, problem.field) == ("health_checks.csv", 2, "board_id")
    assert "already has a different board_id for the item 'trust'" in problem.reason
    # Re-importing the same answer with a new score is still an ordinary update.
    (second / "health_checks.csv").write_text(
        "response_id,board_id,check_date,respondent_group,item,score\n"
        "r1,b1,2024-06-01,professional,trust,5\n"
    )
    assert import_source(store, second, CHANGE).updated["health_check"] == 1
