"""Export → import into an empty store → export gives byte-identical files, in CSV and xlsx.

The text is chosen to break things: commas, quotes, line breaks (LF and CRLF), a leading '='
that a spreadsheet takes for a formula (exported with a leading apostrophe), numbers that are
ids ('007'), characters XML cannot carry, text that looks like Excel's own escapes, and non-ASCII
('Siân', '£', '’').
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from builders import Dataset, withdraw
from openpyxl import load_workbook

from coprod.cli import main
from coprod.interchange import (
    XLSX_TIMESTAMP,
    export,
    import_source,
    xlsx_escape,
    xlsx_unescape,
)
from coprod.store import COLUMNS, KEYS, TABLES, Change, Store, quote

EXAMPLE = Path(__file__).resolve().parent / "data" / "rules-check"
CHANGE = Change(actor="test", source="import")

TRICKY = [
    "Siân’s café, £5 a head",
    'He said "not again", then left',
    "line one\nline two",
    "line one\r\nline two",
    "lone\rreturn",
    '=HYPERLINK("http://example.com","click")',
    "=1+1",
    "+44 7700 900000",
    "-5",
    "@everyone",
    "tab\tinside",
    "back\\slash | bar and \u00a0no-break space",
    "_x000D_ is how Excel writes a return",
    "_x005F_ too",
    "Board _x0041_x0042_ end: overlapping escapes",
    "'quoted as a spreadsheet user types it",
    "Gàidhlig: Comhairle nan Eilean Siar – “quoted” — dash",
    "emoji 🙂 and ß",
    "#N/A",
    "TRUE",
    "2024-01-01",
    "x" * 5000,
]


def tricky_dataset() -> Dataset:
    data = Dataset()
    data.board("b1", name=TRICKY[0], area=TRICKY[14])
    data.board("007", name="=1+1", kind="committee", area="  spaces around  ")
    data.member("m1", name=TRICKY[1], organisation=TRICKY[2], role="service_user_rep")
    data.meeting("m-1", date=dt.date(2024, 6, 1))
    data.attend("m-1", "m1")
    for number, text in enumerate(TRICKY, start=1):
        data.decision(
            f"d{number}",
            title=text,
            summary=TRICKY[(number + 3) % len(TRICKY)],
            service_area=TRICKY[(number + 7) % len(TRICKY)],
            identified_on=dt.date(2024, 1, number),
            decided_on=dt.date(2024, 6, 1),
            meeting_id="m-1",
        )
        data.involvement(
            f"i{number}",
            influence=text,
            organisation=TRICKY[(number + 1) % len(TRICKY)],
            attestation_note=TRICKY[(number + 2) % len(TRICKY)],
            accessible_formats=["bsl", "easy_read"],
            participants=number,
            lived_experience_participants=0,
        )
    data.health_check("r1", comment=TRICKY[3], board_id="007")
    return data


def contents(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every exported column of every record, as stored."""
    out = {}
    for table in TABLES:
        cols = ", ".join(quote(c) for c, _ in COLUMNS[table])
        order = ", ".join(quote(k) for k in KEYS[table])
        with store.cursor() as cur:
            out[table] = cur.execute(
                f"SELECT {cols} FROM {quote(table)} ORDER BY {order}"
            ).fetchall()
    return out


def exported_bytes(store: Store, folder: Path, fmt: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in export(store, folder, fmt)}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_tricky_text_round_trips_byte_for_byte(store: Store, tmp_path: Path, fmt: str) -> None:
    tricky_dataset().load(store)
    withdraw(store, "decision", "decision_id = ?", ["d3"])  # withdrawn, named by i3: exported
    first = exported_bytes(store, tmp_path / "first", fmt)

    with Store(tmp_path / "empty.duckdb") as other:
        source = tmp_path / "first" / ("coprod.xlsx" if fmt == "xlsx" else "")
        import_source(other, source, CHANGE)
        second = exported_bytes(other, tmp_path / "second", fmt)
        assert second == first
        assert contents(other) == contents(store)  # every character survived, not just the shape


def test_text_is_stored_exactly(store: Store) -> None:
    tricky_dataset().load(store)
    titles = [r["title"] for r in store.query("SELECT title FROM decision ORDER BY identified_on")]
    assert titles == TRICKY


def test_xlsx_export_is_the_same_bytes_every_time(store: Store, tmp_path: Path) -> None:
    tricky_dataset().load(store)
    [one] = export(store, tmp_path / "one", "xlsx")
    [two] = export(store, tmp_path / "two", "xlsx")
    assert one.read_bytes() == two.read_bytes()
    with zipfile.ZipFile(one) as book:
        infos = book.infolist()
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert infos[0].filename == "[Content_Types].xml"
        core = book.read("docProps/core.xml").decode()
        assert XLSX_TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ") in core
        assert str(dt.date.today().year) not in core
        # Every part is well-formed XML, and every part is declared in [Content_Types].xml.
        types = book.read("[Content_Types].xml").decode()
        for info in infos:
            if info.filename.endswith((".xml", ".rels")):
                ElementTree.fromstring(book.read(info))
            if info.filename.endswith(".xml") and info.filename != "[Content_Types].xml":
                assert f'PartName="/{info.filename}"' in types, info.filename


def test_xlsx_cells_are_text_never_formulas(store: Store, tmp_path: Path) -> None:
    tricky_dataset().load(store)
    [path] = export(store, tmp_path, "xlsx")
    book = load_workbook(path)  # the full reader, not the read-only one import uses
    try:
        decisions = book["decisions"]
        header = [c.value for c in decisions[1]]
        title = header.index("title") + 1
        cells = {decisions.cell(row=r, column=title).value: r for r in range(2, len(TRICKY) + 2)}
        formula_row = cells["'=1+1"]  # neutralised: a spreadsheet shows =1+1, never runs it
        assert decisions.cell(row=formula_row, column=title).data_type == "s"
        assert all(
            decisions.cell(row=r, column=title).data_type == "s" for r in range(2, len(TRICKY) + 2)
        )
        boards = book["boards"]
        assert boards["A2"].value == "007"
        assert boards["A2"].data_type == "s"
        assert set(book.sheetnames) == {
            "boards",
            "members",
            "meetings",
            "attendance",
            "decisions",
            "involvements",
            "health_checks",
        }
    finally:
        book.close()


@pytest.mark.parametrize("text", [*TRICKY, "_x", "_x12_", "_X000d_", "a_x0041_b", ""])
def test_xlsx_escaping_gives_the_text_back(text: str) -> None:
    escaped = xlsx_escape(text)
    assert xlsx_unescape(escaped) == text
    assert "\r" not in escaped
    assert not any(ord(ch) < 32 and ch not in "\t\n" for ch in escaped)


def test_an_escape_of_half_a_character_is_left_as_text() -> None:
    assert xlsx_unescape("_xD800_ and _x0041_") == "_xD800_ and A"


def test_a_return_written_by_excel_is_read_as_a_return(store: Store, tmp_path: Path) -> None:
    # Excel stores a carriage return in a cell as _x000D_; import reads it back as one.
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "boards"
    sheet.append(["board_id", "name", "kind"])
    sheet.append(["b1", "North_x000D_\nBoard", "committee"])
    book.save(tmp_path / "excel.xlsx")
    import_source(store, tmp_path / "excel.xlsx", CHANGE)
    assert store.query("SELECT name FROM board")[0]["name"] == "North\r\nBoard"


def test_cli_round_trip_of_the_worked_example_in_xlsx(tmp_path: Path) -> None:
    assert EXAMPLE.is_dir(), f"the worked example is missing: {EXAMPLE}"
    first, second = str(tmp_path / "a.duckdb"), str(tmp_path / "b.duckdb")
    assert main(["import", str(EXAMPLE), "--db", first]) == 0
    assert main(["export", "--db", first, "--out", str(tmp_path / "one"), "--format", "xlsx"]) == 0
    assert main(["import", str(tmp_path / "one" / "coprod.xlsx"), "--db", second]) == 0
    assert main(["export", "--db", second, "--out", str(tmp_path / "two"), "--format", "xlsx"]) == 0
    one = (tmp_path / "one" / "coprod.xlsx").read_bytes()
    assert one == (tmp_path / "two" / "coprod.xlsx").read_bytes()
    # and the CSV export of both stores is the same too
    assert main(["export", "--db", first, "--out", str(tmp_path / "c1")]) == 0
    assert main(["export", "--db", second, "--out", str(tmp_path / "c2")]) == 0
    for path in sorted((tmp_path / "c1").iterdir()):
        assert (tmp_path / "c2" / path.name).read_bytes() == path.read_bytes()
    assert zipfile.ZipFile(io.BytesIO(one)).testzip() is None
