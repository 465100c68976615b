"""Spreadsheet formula injection: every CSV and xlsx coprod writes neutralises formulas.

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or ``'`` gets one
leading ``'`` on export, so a spreadsheet shows the text and never runs it; import takes exactly
one leading ``'`` away, so export → import → export stays byte-for-byte the same. Numbers, dates
and booleans are never text cells and are never neutralised. Parquet is not a spreadsheet
format and stays exact.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from builders import CHANGE, Dataset
from openpyxl import Workbook, load_workbook

from coprod import records
from coprod.archive import export_archive, frame_csv, problems_csv, read_uploads, table_csv
from coprod.evidence import evidence_pack
from coprod.interchange import (
    ImportRejected,
    Problem,
    csv_bytes,
    export,
    export_cell,
    export_xlsx_bytes,
    import_sheets,
    import_source,
    neutralise,
    read_csv_bytes,
    unneutralise,
    write_csv_folder,
    xlsx_escape,
    xlsx_unescape,
)
from coprod.store import COLUMNS, KEYS, TABLES, Change, Store, quote

D = dt.date

# Each probe and the exact text a spreadsheet cell holds for it once exported.
SHOWN = {
    "=1+1": "'=1+1",
    '=HYPERLINK("http://example.com","click")': '\'=HYPERLINK("http://example.com","click")',
    "+44 7700": "'+44 7700",
    "-x": "'-x",
    "-5": "'-5",
    "@SUM(A1)": "'@SUM(A1)",
    "\tx": "'\tx",
    "\rx": "'\rx",
    "'quoted": "''quoted",
    "''double": "'''double",
    "plain text": "plain text",
    "it's = fine": "it's = fine",
    "x=1+1": "x=1+1",
    " =1+1": " =1+1",  # a leading space: not run as a formula by a spreadsheet
}
# Import strips the whitespace around a text, so a text stored in coprod never starts with a
# tab, a carriage return or a space; those probes are checked on the files alone.
PROBES = [text for text in SHOWN if text == text.strip()]
RUNS_AS_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def probe_dataset() -> Dataset:
    """Every probe in every kind of text field, and ids that start with '-'."""
    data = Dataset()
    data.board("b1", name="=1+1", area="@SUM(A1)")
    data.board("-b2", name="-x", kind="committee", area="'quoted")
    data.member("m1", name="+44 7700", organisation="=HYPERLINK(1)", role="service_user_rep")
    data.member("-m2", board_id="-b2", name="''double", organisation="@team")
    data.meeting("-1-1", date=D(2024, 6, 1))
    data.attend("-1-1", "m1")
    for number, text in enumerate(PROBES, start=1):
        data.decision(
            f"d{number}",
            title=text,
            summary=PROBES[(number + 1) % len(PROBES)],
            service_area=PROBES[(number + 2) % len(PROBES)],
            identified_on=D(2024, 1, number),
            decided_on=D(2024, 6, 1),
            meeting_id="-1-1",
        )
        data.involvement(
            f"i{number}",
            influence=text,
            organisation=PROBES[(number + 3) % len(PROBES)],
            attestation_note=PROBES[(number + 4) % len(PROBES)],
            participants=number,
            lived_experience_participants=0,
            accessible_formats=["bsl", "easy_read"],
        )
        data.health_check(f"r{number}", comment=text, score=1 + number % 5)
    data.decision("-d", title="Its id starts with a minus", identified_on=D(2024, 2, 1))
    return data


def table(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def by_id(rows: list[list[str]], key: str = "") -> dict[str, dict[str, str]]:
    header, *body = rows
    column = header.index(key) if key else 0
    return {row[column]: dict(zip(header, row, strict=True)) for row in body}


def assert_nothing_runs(rows: list[list[str]], where: str) -> None:
    """No cell of a CSV starts with a character a spreadsheet takes for the start of a formula."""
    for number, row in enumerate(rows, start=1):
        for cell in row:
            assert not cell.startswith(RUNS_AS_FORMULA), f"{where}, row {number}: {cell!r}"


def contents(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for name in TABLES:
        cols = ", ".join(quote(c) for c, _ in COLUMNS[name])
        order = ", ".join(quote(k) for k in KEYS[name])
        with store.cursor() as cur:
            out[name] = cur.execute(f"SELECT {cols} FROM {quote(name)} ORDER BY {order}").fetchall()
    return out


@pytest.fixture
def probed(store: Store) -> Store:
    probe_dataset().load(store)
    return store


# --- the rule itself -------------------------------------------------------------------------


@pytest.mark.parametrize("text", list(SHOWN))
def test_neutralise_adds_one_apostrophe_and_import_takes_one_away(text: str) -> None:
    assert neutralise(text) == SHOWN[text]
    assert unneutralise(neutralise(text)) == text
    # In a CSV file: written neutralised, read back (before validation) exactly as it was.
    data = csv_bytes(["board_id", "name", "kind"], [["b1", text, "committee"]])
    assert table(data)[1] == ["b1", SHOWN[text], "committee"]
    [(row, values)] = read_csv_bytes(data, "boards.csv").rows
    assert (row, values) == (2, {"board_id": "b1", "name": text, "kind": "committee"})
    # In a workbook cell: neutralised, then escaped as Excel escapes a carriage return.
    assert unneutralise(xlsx_unescape(xlsx_escape(export_cell(text)))) == text


def test_the_type_of_the_value_decides_not_how_it_reads() -> None:
    assert export_cell("-5") == "'-5"
    assert export_cell(-5) == "-5"
    assert export_cell(-1.5) == "-1.5"
    assert export_cell(D(2024, 1, 2)) == "2024-01-02"
    assert export_cell(True) == "true"
    assert export_cell(None) == ""
    assert export_cell(["-a", "b"]) == "'-a;b"  # a set is written as one text cell
    assert export_cell(["bsl", "easy_read"]) == "bsl;easy_read"
    assert unneutralise(5) == 5
    assert unneutralise("no apostrophe") == "no apostrophe"


# --- export paths ----------------------------------------------------------------------------


def test_csv_export_neutralises_every_text_cell(probed: Store, tmp_path: Path) -> None:
    files = {p.name: table(p.read_bytes()) for p in export(probed, tmp_path, "csv")}
    for name, rows in files.items():
        assert_nothing_runs(rows, name)
    decisions = by_id(files["decisions.csv"])
    for number, text in enumerate(PROBES, start=1):
        assert decisions[f"d{number}"]["title"] == SHOWN[text]
        assert decisions[f"d{number}"]["meeting_id"] == "'-1-1"
        assert decisions[f"d{number}"]["identified_on"] == f"2024-01-{number:02d}"
    assert "'-d" in decisions
    involvements = by_id(files["involvements.csv"])
    assert [involvements[f"i{n}"]["influence"] for n in range(1, len(PROBES) + 1)] == [
        SHOWN[t] for t in PROBES
    ]
    assert involvements["i3"]["participants"] == "3"
    assert involvements["i3"]["accessible_formats"] == "easy_read;bsl"
    checks = by_id(files["health_checks.csv"])
    assert [checks[f"r{n}"]["comment"] for n in range(1, len(PROBES) + 1)] == [
        SHOWN[t] for t in PROBES
    ]
    boards = by_id(files["boards.csv"])
    assert boards["b1"]["name"] == "'=1+1"
    assert boards["b1"]["area"] == "'@SUM(A1)"
    assert boards["'-b2"] == {
        "board_id": "'-b2",
        "name": "'-x",
        "kind": "committee",
        "area": "''quoted",
    }
    members = by_id(files["members.csv"])
    assert members["m1"]["name"] == "'+44 7700"
    assert members["m1"]["organisation"] == "'=HYPERLINK(1)"
    assert members["'-m2"]["organisation"] == "'@team"
    assert members["'-m2"]["board_id"] == "'-b2"
    assert by_id(files["meetings.csv"])["'-1-1"]["date"] == "2024-06-01"


def test_the_csv_zip_download_is_neutralised(probed: Store) -> None:
    name, data = export_archive(probed, "csv")
    assert name == "coprod-csv.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        rows = table(archive.read("decisions.csv"))
    assert_nothing_runs(rows, "decisions.csv")
    assert by_id(rows)["d1"]["title"] == "'=1+1"


def xlsx_cells(data: bytes) -> dict[str, list[list[Any]]]:
    """Every sheet's cells as the full openpyxl reader sees them (values and types)."""
    book = load_workbook(io.BytesIO(data))
    try:
        sheets = {}
        for ws in book.worksheets:
            cells = [list(row) for row in ws.iter_rows()]
            for row in cells:
                for cell in row:
                    assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula"
                    if cell.value is not None:
                        assert cell.data_type == "s", f"{ws.title}!{cell.coordinate}"
                        assert isinstance(cell.value, str)
            sheets[ws.title] = [[c.value for c in row] for row in cells]
        return sheets
    finally:
        book.close()


def test_xlsx_export_cells_are_neutralised_text_never_formulas(probed: Store) -> None:
    data = export_xlsx_bytes(probed)
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        for name in book.namelist():
            if name.startswith("xl/worksheets/"):
                assert not re.search(rb"<f[ >/]", book.read(name)), f"a formula element in {name}"
    sheets = xlsx_cells(data)
    decisions = sheets["decisions"]
    header = decisions[0]
    titles = {row[0]: row[header.index("title")] for row in decisions[1:]}
    for number, text in enumerate(PROBES, start=1):
        # The workbook holds a carriage return as Excel writes it (_x000D_).
        assert titles[f"d{number}"] == SHOWN[text].replace("\r", "_x000D_")
    assert titles["'-d"] == "Its id starts with a minus"
    boards = {row[0]: row for row in sheets["boards"][1:]}
    assert boards["b1"][1] == "'=1+1"
    assert boards["'-b2"] == ["'-b2", "'-x", "committee", "''quoted"]
    members = {row[0]: row for row in sheets["members"][1:]}
    assert members["m1"][2] == "'+44 7700"
    for ws_name, rows in sheets.items():
        for row in rows:
            for value in row:
                if value is not None:
                    assert not value.startswith(RUNS_AS_FORMULA), f"{ws_name}: {value!r}"
    involvements = sheets["involvements"]
    participants = involvements[0].index("participants")
    assert {row[participants] for row in involvements[1:]} == {
        str(n) for n in range(1, len(PROBES) + 1)
    }


def test_parquet_export_stays_exact(probed: Store, tmp_path: Path) -> None:
    export(probed, tmp_path, "parquet")
    titles = [
        r[0]
        for r in duckdb.sql(
            f"SELECT title FROM read_parquet('{tmp_path / 'decisions.parquet'}') "
            "WHERE decision_id LIKE 'd%' ORDER BY identified_on"
        ).fetchall()
    ]
    assert titles == PROBES


def test_problems_csv_of_a_rejected_import_is_neutralised(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    lines = ["decision_id,board_id,title,identified_on", "d1,b1,A title,=1+1"]
    (folder / "decisions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Store(tmp_path / "s.duckdb") as store, pytest.raises(ImportRejected) as caught:
        import_source(store, folder, CHANGE)
    rows = table(problems_csv(caught.value.problems))
    assert_nothing_runs(rows, "import-problems.csv")
    assert rows[0] == ["file", "row", "field", "problem"]
    assert [
        "decisions.csv",
        "2",
        "identified_on",
        "''=1+1' is not a date: use YYYY-MM-DD or DD/MM/YYYY",
    ] in rows
    # A problem without a row or field has empty cells there.
    made = problems_csv([Problem("=x.csv", None, None, "-x is wrong")])
    assert table(made) == [["file", "row", "field", "problem"], ["'=x.csv", "", "", "'-x is wrong"]]


def test_a_table_download_is_neutralised_but_its_numbers_are_not() -> None:
    frame = pd.DataFrame(
        {
            "Meeting": ["-1-1", "m2"],
            "Who": ["=HYPERLINK(1)", None],
            "Count": [-3, 4],
            "Share": [float("nan"), -0.5],
            "Date": [pd.Timestamp(2024, 6, 1), pd.NaT],
        }
    )
    data = frame_csv(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    assert table(data) == [
        ["Meeting", "Who", "Count", "Share", "Date"],
        ["'-1-1", "'=HYPERLINK(1)", "-3", "", "2024-06-01T00:00:00"],
        ["m2", "", "4", "-0.5", ""],
    ]
    assert table(table_csv(["a", "b"], [["@x", 7]])) == [["a", "b"], ["'@x", "7"]]


def test_csv_bytes_neutralises_text_only() -> None:
    data = csv_bytes(["text", "number", "date"], [["+1", -1, D(2024, 1, 1)]])
    assert data.decode("utf-8") == "text,number,date\n'+1,-1,2024-01-01\n"


def test_the_demo_writer_neutralises_and_imports_back(store: Store, tmp_path: Path) -> None:
    write_csv_folder(
        tmp_path,
        {"board": [{"board_id": "b1", "name": "=1+1", "kind": "committee", "area": "'x"}]},
    )
    assert (tmp_path / "boards.csv").read_text(encoding="utf-8") == (
        "board_id,name,kind,area\nb1,'=1+1,committee,''x\n"
    )
    import_source(store, tmp_path, CHANGE)
    assert store.query("SELECT name, area FROM board") == [{"name": "=1+1", "area": "'x"}]


def unpack(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}


def test_evidence_pack_csvs_are_neutralised_and_import_back(probed: Store, tmp_path: Path) -> None:
    pack = unpack(evidence_pack(probed, "b1", D(2024, 1, 1), D(2024, 12, 31), D(2025, 1, 1)))
    csvs = {name: table(data) for name, data in pack.items() if name.endswith(".csv")}
    assert {"findings.csv", "audit_trail.csv", "records/decisions.csv"} <= set(csvs)
    for name, rows in csvs.items():
        assert_nothing_runs(rows, name)
    decisions = by_id(csvs["records/decisions.csv"])
    assert [decisions[f"d{n}"]["title"] for n in range(1, len(PROBES) + 1)] == [
        SHOWN[t] for t in PROBES
    ]
    assert by_id(csvs["records/members.csv"])["m1"]["organisation"] == "'=HYPERLINK(1)"
    findings = csvs["findings.csv"]
    meeting = findings[0].index("meeting_id")
    assert {row[meeting] for row in findings[1:]} >= {"'-1-1"}
    audit = by_id(csvs["audit_trail.csv"], "record_key")
    assert audit["'-1-1"]["entity"] == "meeting"
    # The records folder imports into an empty store with every character as it was.
    folder = tmp_path / "records"
    folder.mkdir()
    for name, data in pack.items():
        if name.startswith("records/"):
            (folder / name.removeprefix("records/")).write_bytes(data)
    with Store(tmp_path / "other.duckdb") as other:
        import_source(other, folder, CHANGE)
        titles = other.query("SELECT title FROM decision WHERE decision_id LIKE 'd%'")
        assert sorted(r["title"] for r in titles) == sorted(PROBES)
        assert other.query("SELECT name FROM board") == [{"name": "=1+1"}]


def audit_rows(store: Store, actor: str) -> list[list[str]]:
    data = Dataset()
    data.board("-b9", name="A board", kind="committee")
    import_sheets(store, data.sheets(), Change(actor=actor, source="import"))
    return table(records.audit_trail_csv(records.audit_trail(store)))


def test_audit_trail_csv_neutralises_who_made_the_change(store: Store) -> None:
    rows = audit_rows(store, "=HYPERLINK(1)")
    header = rows[0]
    assert [row[header.index("actor")] for row in rows[1:]] == ["'=HYPERLINK(1)"]


def test_audit_trail_csv_neutralises_every_text_cell(store: Store) -> None:
    rows = audit_rows(store, "'quoted")
    assert_nothing_runs(rows, "audit trail")
    header = rows[0]
    entry = dict(zip(header, rows[1], strict=True))
    assert entry["record_key"] == "'-b9"
    assert entry["actor"] == "''quoted"


# --- import ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_probes_round_trip_byte_for_byte(probed: Store, tmp_path: Path, fmt: str) -> None:
    first = {p.name: p.read_bytes() for p in export(probed, tmp_path / "first", fmt)}
    with Store(tmp_path / "empty.duckdb") as other:
        source = tmp_path / "first" / ("coprod.xlsx" if fmt == "xlsx" else "")
        import_source(other, source, CHANGE)
        second = {p.name: p.read_bytes() for p in export(other, tmp_path / "second", fmt)}
        assert second == first
        assert contents(other) == contents(probed)
    titles = probed.query("SELECT title FROM decision WHERE decision_id LIKE 'd%'")
    assert sorted(r["title"] for r in titles) == sorted(PROBES)


HAND_TYPED = {
    # cell as typed in a spreadsheet or CSV file → value stored: one leading ' is taken away
    # only where it is the mark export puts before a text a spreadsheet would change
    "'=1+1": "=1+1",
    "'-5": "-5",
    "'@here": "@here",
    "''double": "'double",
    "'''triple": "''triple",
    "'plain": "'plain",
    "'quoted'": "'quoted'",
    "it's": "it's",
    "=1+1": "=1+1",  # not neutralised by whoever wrote the file: still just text to coprod
    "-x": "-x",
    "plain": "plain",
}


def test_csv_import_takes_away_only_the_exports_apostrophe(store: Store, tmp_path: Path) -> None:
    lines = ["board_id,name,kind,area"]
    for number, typed in enumerate(HAND_TYPED, start=1):
        lines.append(f"b{number},{typed},committee,")
    lines.append("'-b0,'Quoted id,committee,'")  # an id and an area of one apostrophe
    (tmp_path / "boards.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_source(store, tmp_path, CHANGE)
    stored = {r["board_id"]: r for r in store.query("SELECT board_id, name, kind, area FROM board")}
    for number, expected in enumerate(HAND_TYPED.values(), start=1):
        assert stored[f"b{number}"]["name"] == expected
        assert stored[f"b{number}"]["kind"] == "committee"
    assert stored["-b0"] == {
        "board_id": "-b0",
        "name": "'Quoted id",
        "kind": "committee",
        "area": "'",
    }


def test_xlsx_import_takes_away_only_the_exports_apostrophe(store: Store, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "boards"
    sheet.append(["board_id", "name", "kind"])
    for number, typed in enumerate(HAND_TYPED, start=1):
        sheet.append([f"b{number}", typed, "committee"])
    decisions = book.create_sheet("decisions")
    decisions.append(["decision_id", "board_id", "title", "identified_on"])
    decisions.append(["d1", "b1", "'@SUM(A1)", dt.datetime(2024, 1, 2)])  # a real date cell
    # openpyxl takes a str starting with "=" for a formula: make that cell a text cell
    row = 2 + list(HAND_TYPED).index("=1+1")
    sheet.cell(row=row, column=2).data_type = "s"
    path = tmp_path / "typed.xlsx"
    book.save(path)
    [boards, decision_sheet] = read_uploads([("typed.xlsx", path.read_bytes())])
    assert [values["name"] for _row, values in boards.rows] == list(HAND_TYPED.values())
    assert decision_sheet.rows[0][1]["title"] == "@SUM(A1)"
    import_source(store, path, CHANGE)
    names = [
        r["name"]
        for r in store.query("SELECT name FROM board ORDER BY CAST(board_id[2:] AS INTEGER)")
    ]
    assert names == list(HAND_TYPED.values())
    assert store.query("SELECT title, identified_on FROM decision") == [
        {"title": "@SUM(A1)", "identified_on": D(2024, 1, 2)}
    ]
