"""Reading and writing the interchange format: a folder of CSV files or one .xlsx workbook.

Import is all-or-nothing. Every row of every file is read and validated first; if anything
is wrong, every problem is reported (file, row as a spreadsheet shows it, field, reason) and
nothing is written. Only a clean set is written, in one transaction, upserting by id, with an
audit-trail entry for every record it creates or changes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pyarrow as pa
from pydantic import TypeAdapter, ValidationError

from coprod.access import SYSTEM, Access, Action
from coprod.errors import CoprodError
from coprod.models import (
    ENTITIES,
    ENTITY_BY_FILE,
    MAX_TEXT,
    Attendance,
    Attestation,
    Board,
    Decision,
    Entity,
    FieldProblem,
    HealthCheck,
    Involvement,
    Meeting,
    Member,
)
from coprod.store import COLUMNS, KEYS, Change, Store, StoreError, path_literal, quote

FILE_ORDER = [e.file_name for e in ENTITIES]
E = TypeVar("E", bound=Entity)


@dataclass(frozen=True)
class Problem:
    """One reason an import was rejected, phrased for the person who made the file."""

    file: str
    row: int | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.field:
            where += f", field {self.field}"
        return f"{where}: {self.reason}"


class ExportRefused(StoreError):
    """An export that could not be written without changing a value."""


class ImportRejected(CoprodError):
    """The data was not imported; ``problems`` says why, row by row."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s); nothing was imported")


@dataclass
class Sheet:
    """One file's rows as read: (spreadsheet row number, {column: raw value})."""

    name: str  # file name as the user sees it (decisions.csv, or workbook.xlsx › decisions)
    entity: type[Entity]
    header: list[str]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


@dataclass
class ImportSummary:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return (
            sum(self.created.values()) + sum(self.updated.values()) + sum(self.unchanged.values())
        )

    def lines(self) -> list[str]:
        out = []
        for entity in (e.table for e in ENTITIES):
            if entity in self.created or entity in self.updated or entity in self.unchanged:
                out.append(
                    f"{entity}: {self.created.get(entity, 0)} new, "
                    f"{self.updated.get(entity, 0)} updated, "
                    f"{self.unchanged.get(entity, 0)} unchanged"
                )
        return out


# --- reading ------------------------------------------------------------------------------


def read_source(source: str | Path) -> list[Sheet]:
    """Read a CSV folder, a single CSV file or an .xlsx workbook into sheets."""
    path = Path(source)
    if not path.exists():
        raise ImportRejected([Problem(str(path), None, None, "no such file or folder")])
    if path.is_dir():
        return _read_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return read_workbook(path.read_bytes(), path.name)
    if suffix == ".csv":
        return [read_csv_bytes(path.read_bytes(), path.name)]
    raise ImportRejected(
        [Problem(path.name, None, None, "not a CSV folder, .csv file or .xlsx workbook")]
    )


def _read_folder(folder: Path) -> list[Sheet]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    if not files:
        raise ImportRejected(
            [Problem(folder.name, None, None, "the folder holds no CSV files of the format")]
        )
    sheets, problems = [], []
    for path in files:
        try:
            sheets.append(read_csv_bytes(path.read_bytes(), path.name))
        except ImportRejected as rejected:
            problems.extend(rejected.problems)
    if problems:
        raise ImportRejected(problems)
    return sheets


def _entity_for(name: str, shown: str) -> type[Entity]:
    stem = name.strip().lower()
    stem = stem[:-4] if stem.endswith(".csv") else stem
    entity = ENTITY_BY_FILE.get(stem)
    if entity is None:
        raise ImportRejected(
            [
                Problem(
                    shown,
                    None,
                    None,
                    "not a file of the format; expected one of "
                    + ", ".join(f"{n}.csv" for n in FILE_ORDER),
                )
            ]
        )
    return entity


# One valid UTF-8 sequence of two or more bytes: a file holding one is UTF-8, whatever else it
# holds, since Windows-1252 text almost never forms one by chance.
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def decode_text(data: bytes, name: str = "the file") -> str:
    """UTF-8 (with or without a byte-order mark), else Windows-1252 as Excel writes it.

    Nothing is guessed past that: a UTF-8 file with a byte that is not UTF-8 (one row pasted
    from elsewhere) is refused, naming that row, rather than read whole as Windows-1252 (which
    would garble every other non-English letter in it); so is a byte Windows-1252 does not use.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        odd = exc.start
    if _UTF8_SEQUENCE.search(data):
        raise ImportRejected(
            [
                Problem(
                    name,
                    _row_of_byte(data, odd),
                    None,
                    f"the file is UTF-8, but this row holds a byte (0x{data[odd]:02X}) that is "
                    "not: the row was probably pasted from a file in another encoding. Retype "
                    "its special characters, or save the whole file again as CSV UTF-8",
                )
            ]
        )
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ImportRejected(
            [
                Problem(
                    name,
                    _row_of_byte(data, exc.start),
                    None,
                    f"this row holds a byte (0x{data[exc.start]:02X}) that is neither UTF-8 nor "
                    "Windows-1252: save the file again as CSV UTF-8",
                )
            ]
        ) from None


def _row_of_byte(data: bytes, offset: int) -> int:
    """The spreadsheet row (CSV record, header = 1) holding the byte at ``offset``."""
    text = data[:offset].decode("utf-8", errors="surrogateescape")
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return data.count(b"\n", 0, offset) + 1
    ends_inside = bool(text) and not text.endswith(("\n", "\r"))
    return max(1, len(records) + (0 if ends_inside else 1))


def read_csv_bytes(data: bytes, name: str) -> Sheet:
    entity = _entity_for(name, name)
    if b"\x00" in data:
        raise ImportRejected([Problem(name, None, None, "this is not a text CSV file")])
    text = decode_text(data, name)
    return _sheet_from_records(name, entity, _csv_records(text, name))


# The text is in memory already, so no one value can be larger than it: the csv module's own
# limit (128 KiB) would only stop a long value before the model can say which field it is in.
csv.field_size_limit(2**31 - 1)


def _csv_records(text: str, name: str) -> list[list[Any]]:
    """Parse CSV text strictly: every quirk of quoting is an error naming its row.

    A lenient parse reads ``"Budget,"Cuts, and more"`` as the two values ``Budget,Cuts`` and
    ``and more"``, and everything after an unclosed ``"`` as one value, silently merging or
    swallowing cells, so nothing is forgiven.
    """
    records: list[list[Any]] = []
    try:
        records.extend(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        row = len(records) + 1
        if "unexpected end of data" in str(exc):
            reason = 'a quoted value is never closed (a closing " is missing)'
        elif "',' expected after '\"'" in str(exc):
            reason = (
                'a quoted value has a stray " inside it: write a quote inside a quoted value '
                'twice (""), or quote the whole value'
            )
        else:
            reason = f"this row cannot be read as CSV ({exc})"
        raise ImportRejected([Problem(name, row, None, reason)]) from None
    return records


# A workbook is a zip: refuse one that would unpack to more than this (a "zip bomb").
MAX_WORKBOOK_UNPACKED = 200 * 1024 * 1024


def _refuse(name: str, reason: str) -> ImportRejected:
    return ImportRejected([Problem(name, None, None, reason)])


def _scan_parts(packed: zipfile.ZipFile, name: str) -> set[str]:
    """Refuse a workbook whose XML declares a DOCTYPE (entities can expand without bound or
    reach outside); return the worksheet parts that hold a formula."""
    with_formulas: set[str] = set()
    for entry in packed.infolist():
        if not entry.filename.endswith((".xml", ".rels", ".vml")):
            continue
        tail = b""
        with packed.open(entry) as part:
            while chunk := part.read(1 << 20):
                window = tail + chunk
                if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                    raise _refuse(
                        name,
                        "this workbook declares a DOCTYPE, which no spreadsheet program writes: "
                        "it is not read. Save it again from Excel or LibreOffice",
                    )
                if entry.filename.startswith("xl/worksheets/") and _FORMULA_ELEMENT.search(window):
                    with_formulas.add(entry.filename)
                tail = chunk[-16:]
    return with_formulas


_FORMULA_ELEMENT = re.compile(rb"<(?:\w+:)?f[\s>/]")
# What a spreadsheet shows in a cell whose formula failed.
_ERROR_CELL = "e"


def read_workbook(data: bytes, name: str) -> list[Sheet]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as packed:
            unpacked = sum(entry.file_size for entry in packed.infolist())
            if unpacked > MAX_WORKBOOK_UNPACKED:
                raise _refuse(
                    name,
                    f"this workbook would unpack to {unpacked / 2**20:,.0f} MB, more than the "
                    f"{MAX_WORKBOOK_UNPACKED / 2**20:,.0f} MB an import reads: split it, or "
                    "import CSV files",
                )
            formulas = _scan_parts(packed, name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise _refuse(name, "this is not a readable .xlsx workbook") from None
    except ImportRejected:
        raise
    except Exception:  # zlib.error and friends from a damaged zip
        raise _refuse(name, "this is not a readable .xlsx workbook") from None
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise _refuse(name, "this is not a readable .xlsx workbook") from None
    sheets, problems = [], []
    try:
        formula_cells = _formula_cells(data, formulas) if formulas else {}
        for ws in workbook.worksheets:
            shown = f"{name} › {ws.title}"
            try:
                if ws.sheet_state != "visible":
                    raise _refuse(
                        shown,
                        f"this sheet is {'very ' if ws.sheet_state == 'veryHidden' else ''}"
                        "hidden, so what it holds cannot be seen: unhide it, or delete it",
                    )
                entity = _entity_for(ws.title, shown)
                records = _sheet_records(ws, shown, formula_cells.get(ws.title, {}))
                sheets.append(_sheet_from_records(shown, entity, records))
            except ImportRejected as rejected:
                problems.extend(rejected.problems)
            except Exception as exc:  # a damaged part: truncated or malformed XML
                problems.append(
                    Problem(
                        shown,
                        None,
                        None,
                        f"this sheet cannot be read: the workbook is damaged ({_first(exc)}). "
                        "Save it again from Excel or LibreOffice",
                    )
                )
    except Exception as exc:
        raise _refuse(name, f"this workbook cannot be read ({_first(exc)})") from None
    finally:
        workbook.close()
    if problems:
        raise ImportRejected(problems)
    if not sheets:
        raise _refuse(name, "the workbook has no sheets")
    return sheets


def _first(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _formula_cells(data: bytes, parts: set[str]) -> dict[str, dict[tuple[int, int], str]]:
    """{sheet title: {(row, column): formula}} for the sheets whose XML holds a formula."""
    from openpyxl import load_workbook

    out: dict[str, dict[tuple[int, int], str]] = {}
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        for ws in workbook.worksheets:
            cells: dict[tuple[int, int], str] = {}
            for row in ws.iter_rows():
                for cell in row:
                    if getattr(cell, "data_type", None) == "f":
                        cells[(cell.row, cell.column)] = str(cell.value)
            if cells:
                out[ws.title] = cells
    finally:
        workbook.close()
    return out


def _sheet_records(ws: Any, shown: str, formulas: dict[tuple[int, int], str]) -> list[list[Any]]:
    """A sheet's rows as values; a failed formula (#REF!) or one with no value saved with it
    is an error naming its cell, never an empty cell or a title."""
    from openpyxl.utils import get_column_letter

    records: list[list[Any]] = []
    problems: list[Problem] = []
    header: list[Any] = []
    for number, row in enumerate(ws.iter_rows(), start=1):
        values = []
        for position, cell in enumerate(row, start=1):
            value = getattr(cell, "value", None)
            place = (number, position)
            column = (
                str(header[position - 1]).strip().lower()
                if position <= len(header) and header[position - 1] is not None
                else None
            )
            where = f"cell {get_column_letter(position)}{number}"
            if getattr(cell, "data_type", None) == _ERROR_CELL:
                problems.append(
                    Problem(
                        shown,
                        number,
                        column,
                        f"{where} shows the error {value}: its formula failed; type the value",
                    )
                )
            elif place in formulas and value is None:
                problems.append(
                    Problem(
                        shown,
                        number,
                        column,
                        f"{where} holds the formula {formulas[place]} with no value saved "
                        "with it: type the value, or open and save the workbook in a "
                        "spreadsheet program first",
                    )
                )
            values.append(_workbook_value(value))
        if number == 1:
            header = list(values)
        records.append(values)
    if problems:
        raise ImportRejected(problems)
    return records


def _workbook_value(value: Any) -> Any:
    """A cell as the CSV format would hold it where the two could differ: text with Excel's
    ``_xHHHH_`` escapes undone, and a TRUE/FALSE cell as the words ``true``/``false`` (so that
    a boolean cell is a boolean where one is expected, and never the number 1 or 0; in a text
    column it is the word the spreadsheet shows, ``TRUE`` or ``FALSE``)."""
    if isinstance(value, str):
        return xlsx_unescape(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return value


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _sheet_from_records(name: str, entity: type[Entity], records: list[list[Any]]) -> Sheet:
    # Excel often pads rows: drop trailing rows and columns that are wholly empty.
    while records and all(_is_blank(v) for v in records[-1]):
        records.pop()
    if not records:
        raise ImportRejected([Problem(name, None, None, "the file is empty: it has no header row")])
    raw_header = records[0]
    while raw_header and _is_blank(raw_header[-1]):
        raw_header = raw_header[:-1]
    header = [str(h).strip().lower() if h is not None else "" for h in raw_header]
    problems = []
    allowed = list(entity.model_fields)
    seen: set[str] = set()
    for position, column in enumerate(header, start=1):
        if column == "":
            problems.append(Problem(name, 1, None, f"column {position} has no name in the header"))
        elif column in seen:
            problems.append(Problem(name, 1, column, "this column appears twice in the header"))
        elif column not in allowed:
            problems.append(
                Problem(
                    name,
                    1,
                    column,
                    "unknown column; the columns of this file are " + ", ".join(allowed),
                )
            )
        seen.add(column)
    for required in (n for n, f in entity.model_fields.items() if f.is_required()):
        if required not in seen:
            problems.append(Problem(name, 1, required, "required column is missing"))
    if problems:
        raise ImportRejected(problems)
    sheet = Sheet(name, entity, header)
    for index, raw in enumerate(records[1:], start=2):
        record = [unneutralise(v) for v in raw]  # export's leading ' on a formula-like text
        if all(_is_blank(v) for v in record):
            continue  # blank lines are skipped, but still counted so row numbers match
        extra = record[len(header) :]
        if any(not _is_blank(v) for v in extra):
            problems.append(
                Problem(
                    name,
                    index,
                    None,
                    f"this row has more values than the header has columns ({len(header)})",
                )
            )
            continue
        values = {col: record[i] if i < len(record) else None for i, col in enumerate(header)}
        sheet.rows.append((index, values))
    if problems:
        raise ImportRejected(problems)
    return sheet


# --- validating ---------------------------------------------------------------------------


def _problem_from(error: dict[str, Any], name: str, row: int) -> Problem:
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, FieldProblem):
        return Problem(name, row, cause.field, str(cause))
    loc = error.get("loc") or ()
    field_name = str(loc[0]) if loc else None
    message = str(error.get("msg", "is not valid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if error.get("type") == "missing":
        message = "a value is required"
    elif error.get("type") == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        message = (
            "must be 1–64 lower-case letters, digits or '_'"
            if pattern.startswith("^[a-z0-9_]")
            else "must be 1–64 letters, digits, '.', '_' or '-'"
        )
    elif error.get("type") == "string_too_short":
        message = "a value is required"
    elif error.get("type") == "string_type":
        given = error.get("input")
        message = (
            "must be text, but the cell holds a date or time: format the column as Text and "
            "type the value again"
            if isinstance(given, dt.date | dt.time)
            else "must be text"
        )
    return Problem(name, row, field_name, message)


# The store keeps whole numbers as 32-bit INTEGER columns.
_INT_MAX = 2**31 - 1
_INTEGER_COLUMNS = {
    table: [name for name, sql in columns if sql.startswith("INTEGER")]
    for table, columns in COLUMNS.items()
}


def _annotated(annotation: Any, metadata: list[Any]) -> Any:
    return Annotated[(annotation, *metadata)]


@cache
def _key_adapters(entity: type[Entity]) -> tuple[tuple[str, TypeAdapter[Any]], ...]:
    """Each key field's own validation, to read a row's key before the whole row is read."""
    fields = entity.model_fields
    return tuple(
        (name, TypeAdapter[Any](_annotated(fields[name].annotation, fields[name].metadata)))
        for name in entity.key
    )


def raw_key(entity: type[Entity], values: dict[str, Any]) -> tuple[str, ...] | None:
    """The key a row names, as its record will hold it; None when a key value is not valid."""
    try:
        return tuple(
            str(adapter.validate_python(values.get(name)))
            for name, adapter in _key_adapters(entity)
        )
    except ValidationError:
        return None


def absent_columns(sheet: Sheet) -> list[str]:
    """The entity's columns the file leaves out: an update keeps their stored values."""
    return [name for name in sheet.entity.model_fields if name not in sheet.header]


def stored_values(
    store: Store, entity: type[Entity], keys: Iterable[tuple[str, ...]], columns: list[str]
) -> dict[tuple[str, ...], dict[str, Any]]:
    """{key: {column: stored value}} of the records with these keys that the store holds."""
    wanted = sorted(set(keys))
    if not wanted or not columns:
        return {}
    names = list(entity.key)
    probe = pa.table({name: [key[i] for key in wanted] for i, name in enumerate(names)})
    join = " AND ".join(f"t.{quote(k)} = p.{quote(k)}" for k in names)
    selected = ", ".join(f"t.{quote(c)}" for c in [*names, *columns])
    with store.cursor() as cur:
        cur.register("_probe", probe)
        try:
            rows = cur.execute(
                f"SELECT {selected} FROM {quote(entity.table)} t JOIN _probe p ON {join}"
            ).fetchall()
        finally:
            cur.unregister("_probe")
    width = len(names)
    return {
        tuple(str(v) for v in row[:width]): dict(zip(columns, row[width:], strict=True))
        for row in rows
    }


def validate_rows(
    sheet: Sheet, stored: dict[tuple[str, ...], dict[str, Any]] | None = None
) -> tuple[list[tuple[int, Entity]], list[Problem]]:
    """Validate each row with its entity's model.

    ``stored`` holds, for records the store already has, the values of the columns the file
    leaves out: a row updating such a record keeps them (a file without the attestation
    columns never resets an attestation), and the record is checked as it will be stored.
    """
    good: list[tuple[int, Entity]] = []
    problems: list[Problem] = []
    first_seen: dict[tuple[str, ...], int] = {}
    for row_number, values in sheet.rows:
        present = {k: v for k, v in values.items() if not _is_blank(v)}
        if stored and (key := raw_key(sheet.entity, values)) in stored:
            present = {**stored[key], **present}
            present = {k: v for k, v in present.items() if v is not None}
        try:
            record = sheet.entity.model_validate(present)
        except ValidationError as exc:
            problems.extend(_problem_from(e, sheet.name, row_number) for e in exc.errors())  # type: ignore[arg-type]
            continue
        too_large = [
            Problem(sheet.name, row_number, name, f"'{value}' is too large: at most {_INT_MAX}")
            for name in _INTEGER_COLUMNS[sheet.entity.table]
            if (value := getattr(record, name)) is not None and value > _INT_MAX
        ]
        if too_large:
            problems.extend(too_large)
            continue
        key = record.key_values()
        if key in first_seen:
            problems.append(
                Problem(
                    sheet.name,
                    row_number,
                    sheet.entity.key[-1] if len(key) > 1 else sheet.entity.key[0],
                    f"duplicate {'/'.join(sheet.entity.key)} {'/'.join(key)} "
                    f"(first on row {first_seen[key]})",
                )
            )
            continue
        first_seen[key] = row_number
        good.append((row_number, record))
    return good, problems


def _owners(store: Store, table: str, column: str) -> dict[str, str]:
    """{id: owning board} (or {id: board kind} for boards) of records already in the store."""
    key = quote(KEYS[table][0])
    with store.cursor() as cur:
        rows = cur.execute(f"SELECT {key}, {quote(column)} FROM {quote(table)}").fetchall()
    return {str(k): str(v) for k, v in rows}


Rows = dict[str, list[tuple[int, str, Entity]]]


def _of(records: Rows, kind: type[E]) -> list[tuple[int, str, E]]:
    return [(row, name, r) for row, name, r in records.get(kind.table, []) if isinstance(r, kind)]


def check_references(store: Store, records: Rows) -> list[Problem]:
    """Every board, meeting, member and decision a row names must exist (here or in the store),
    and a meeting, member or decision must belong to the same board as the row that names it."""
    boards = _owners(store, "board", "kind")
    boards.update({r.board_id: r.kind for _row, _name, r in _of(records, Board)})
    stored_meetings = _owners(store, "meeting", "board_id")
    meetings = dict(stored_meetings)
    meetings.update({r.meeting_id: r.board_id for _row, _name, r in _of(records, Meeting)})
    stored_members = _owners(store, "member", "board_id")
    members = dict(stored_members)
    members.update({r.member_id: r.board_id for _row, _name, r in _of(records, Member)})
    decisions = _owners(store, "decision", "board_id")
    decisions.update({r.decision_id: r.board_id for _row, _name, r in _of(records, Decision)})

    problems: list[Problem] = []

    def need(name: str, row: int, column: str, value: str, pool: dict[str, str], what: str) -> bool:
        if value not in pool:
            problems.append(Problem(name, row, column, f"no {what} has the id '{value}'"))
            return False
        return True

    def same_board(name: str, row: int, column: str, what: str, owner: str, board: str) -> None:
        if owner != board:
            problems.append(
                Problem(name, row, column, f"{what} belongs to board '{owner}', not '{board}'")
            )

    for row, name, member in _of(records, Member):
        need(name, row, "board_id", member.board_id, boards, "board")
    for row, name, meeting in _of(records, Meeting):
        need(name, row, "board_id", meeting.board_id, boards, "board")
    for row, name, seat in _of(records, Attendance):
        known_meeting = need(name, row, "meeting_id", seat.meeting_id, meetings, "meeting")
        known_member = need(name, row, "member_id", seat.member_id, members, "member")
        if known_meeting and known_member:
            same_board(
                name,
                row,
                "member_id",
                f"member '{seat.member_id}'",
                members[seat.member_id],
                meetings[seat.meeting_id],
            )
    for row, name, decision in _of(records, Decision):
        need(name, row, "board_id", decision.board_id, boards, "board")
        if decision.meeting_id is not None and need(
            name, row, "meeting_id", decision.meeting_id, meetings, "meeting"
        ):
            same_board(
                name,
                row,
                "meeting_id",
                f"meeting '{decision.meeting_id}'",
                meetings[decision.meeting_id],
                decision.board_id,
            )
    for row, name, involvement in _of(records, Involvement):
        need(name, row, "decision_id", involvement.decision_id, decisions, "decision")
    problems.extend(
        _broken_by_moves(
            store,
            records,
            {"meeting": stored_meetings, "member": stored_members},
            meetings,
            members,
        )
    )
    # One respondent's answers share a board, a date and a group: with each other, and with
    # the answers to other items already in the store.
    answers = _of(records, HealthCheck)
    incoming = {(a.response_id, a.item) for _row, _name, a in answers}
    stored: dict[str, list[tuple[str, Any, Any, Any]]] = {}
    if answers:
        # A join with the incoming ids, not a list parameter: list_contains would compare each
        # stored answer with every incoming id, which grows with the square of a national store.
        responses = pa.table({"response_id": sorted({a.response_id for _r, _n, a in answers})})
        with store.cursor() as cur:
            cur.register("_responses", responses)
            rows = cur.execute(
                "SELECT response_id, item, board_id, check_date, respondent_group "
                "FROM health_check WHERE withdrawn_at IS NULL "
                "AND response_id IN (SELECT response_id FROM _responses)"
            ).fetchall()
            cur.unregister("_responses")
        for response_id, item, *facts in rows:
            if (response_id, item) not in incoming:
                stored.setdefault(response_id, []).append((item, *facts))
    first_rows: dict[str, tuple[int, HealthCheck]] = {}
    for row, name, answer in answers:
        need(name, row, "board_id", answer.board_id, boards, "board")
        mine = (answer.board_id, answer.check_date, str(answer.respondent_group))
        if earlier := stored.get(answer.response_id):
            item, *theirs = earlier[0]  # stored answers already agree with each other
            for column, value, other in zip(
                ("board_id", "check_date", "respondent_group"), mine, theirs, strict=True
            ):
                if value != other:
                    problems.append(
                        Problem(
                            name,
                            row,
                            column,
                            f"response '{answer.response_id}' already has a different {column} "
                            f"for the item '{item}' in the store",
                        )
                    )
        first_row, first = first_rows.setdefault(answer.response_id, (row, answer))
        for column in ("board_id", "check_date", "respondent_group"):
            if getattr(first, column) != getattr(answer, column):
                problems.append(
                    Problem(
                        name,
                        row,
                        column,
                        f"response '{answer.response_id}' has a different {column} on row "
                        f"{first_row}",
                    )
                )
    return problems


def _broken_by_moves(
    store: Store,
    records: Rows,
    stored: dict[str, dict[str, str]],
    meetings: dict[str, str],
    members: dict[str, str],
) -> list[Problem]:
    """A meeting or member moved to another board must take nothing of the old board with it:
    stored decisions taken at the meeting, and stored attendance linking a member of one board
    with a meeting of another, would otherwise point across boards (and the store's own export
    would no longer import). Rows of this import are checked where they are read."""
    moved: dict[str, dict[str, tuple[int, str, str, str]]] = {"meeting": {}, "member": {}}
    for kind, incoming in (("meeting", _of(records, Meeting)), ("member", _of(records, Member))):
        for row, name, record in incoming:
            key = record.key_values()[0]
            before = stored[kind].get(key)
            if before is not None and before != record.board_id:
                moved[kind][key] = (row, name, before, record.board_id)
    if not moved["meeting"] and not moved["member"]:
        return []
    incoming_decisions = {r.decision_id for _row, _name, r in _of(records, Decision)}
    incoming_seats = {r.key_values() for _row, _name, r in _of(records, Attendance)}
    probe = pa.table({"meeting_id": pa.array(sorted(moved["meeting"]), pa.string())})
    people = pa.table({"member_id": pa.array(sorted(moved["member"]), pa.string())})
    with store.cursor() as cur:
        cur.register("_moved_meetings", probe)
        cur.register("_moved_members", people)
        try:
            taken = cur.execute(
                "SELECT d.meeting_id, d.decision_id, d.board_id FROM decision d "
                "JOIN _moved_meetings USING (meeting_id) ORDER BY d.decision_id"
            ).fetchall()
            seats = cur.execute(
                "SELECT meeting_id, member_id FROM attendance WHERE meeting_id IN "
                "(SELECT meeting_id FROM _moved_meetings) OR member_id IN "
                "(SELECT member_id FROM _moved_members) ORDER BY meeting_id, member_id"
            ).fetchall()
        finally:
            cur.unregister("_moved_meetings")
            cur.unregister("_moved_members")
    # (kind, id) -> {what depends on it: [ids]}
    why: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for meeting_id, decision_id, board_id in taken:
        if decision_id not in incoming_decisions and board_id != meetings[meeting_id]:
            why[("meeting", meeting_id)]["decision"].append(decision_id)
    for meeting_id, member_id in seats:
        if (meeting_id, member_id) in incoming_seats:
            continue
        if members.get(member_id) != meetings.get(meeting_id):
            if meeting_id in moved["meeting"]:
                why[("meeting", meeting_id)]["the attendance of member"].append(member_id)
            if member_id in moved["member"]:
                why[("member", member_id)]["the attendance at meeting"].append(meeting_id)
    problems = []
    for (kind, key), needs in sorted(why.items()):
        row, name, before, after = moved[kind][key]
        parts = []
        for what, ids in needs.items():
            plural = "s" if len(ids) > 1 else ""
            shown = ", ".join(f"'{i}'" for i in ids[:3]) + (
                f" and {len(ids) - 3} more" if len(ids) > 3 else ""
            )
            parts.append(f"{what}{plural} {shown}")
        problems.append(
            Problem(
                name,
                row,
                "board_id",
                f"{kind} '{key}' cannot move from board '{before}' to board '{after}': "
                f"{' and '.join(parts)} of board '{before}' depend on it. Move or change them "
                f"in the same import, or record a new {kind} for board '{after}'",
            )
        )
    return problems


def check_scope(store: Store, records: Rows, access: Access) -> list[Problem]:
    """A person may import only for their own boards: every row, and every stored record a row
    would change, must belong to one of them."""
    if not access.may(Action.import_records):
        return [Problem("import", None, None, f"{access.who} may not import records")]
    if access.every_board:
        return []
    meetings = _owners(store, "meeting", "board_id")
    decisions = _owners(store, "decision", "board_id")
    stored = {t: _owners(store, t, "board_id") for t in ("member", "meeting", "decision")}
    meetings.update({r.meeting_id: r.board_id for _row, _name, r in _of(records, Meeting)})
    decisions.update({r.decision_id: r.board_id for _row, _name, r in _of(records, Decision)})
    problems: list[Problem] = []
    mine = access.scope_text()
    for rows in records.values():
        for row, name, record in rows:
            checks: list[tuple[str, str | None]] = []
            if isinstance(record, Attendance):
                checks.append(("meeting_id", meetings.get(record.meeting_id)))
            elif isinstance(record, Involvement):
                checks.append(("decision_id", decisions.get(record.decision_id)))
            else:
                checks.append(("board_id", getattr(record, "board_id", None)))
                table = type(record).table
                if table in stored:
                    checks.append(("board_id", stored[table].get(record.key_values()[0])))
            for column, board in checks:
                if board is not None and not access.may(Action.import_records, board):
                    problems.append(
                        Problem(
                            name,
                            row,
                            column,
                            f"this row is for board '{board}': you may import only for {mine}",
                        )
                    )
                    break
    return problems


def check_attestation(store: Store, records: Rows, access: Access) -> list[Problem]:
    """Confirming or disputing an involvement needs the attest right, whatever way it comes in:
    an import may carry an attestation only as the store holds it (or, for a new involvement,
    unconfirmed) unless the person importing may attest for that board."""
    rows = _of(records, Involvement)
    if not rows or (access.may(Action.attest) and access.every_board):
        return []
    ids = pa.table({"involvement_id": sorted({r.involvement_id for _row, _name, r in rows})})
    # Only the stored involvements and decisions these rows name, not whole tables.
    named = pa.table({"decision_id": sorted({r.decision_id for _row, _name, r in rows})})
    with store.cursor() as cur:
        cur.register("_ids", ids)
        cur.register("_named", named)
        try:
            found = cur.execute(
                "SELECT i.involvement_id, i.attestation, i.attestation_note FROM involvement i "
                "JOIN _ids USING (involvement_id)"
            ).fetchall()
            owners = cur.execute(
                "SELECT d.decision_id, d.board_id FROM decision d JOIN _named USING (decision_id)"
            ).fetchall()
        finally:
            cur.unregister("_ids")
            cur.unregister("_named")
    before = {str(k): (str(a), n) for k, a, n in found}
    boards = {str(k): str(b) for k, b in owners}
    boards.update({r.decision_id: r.board_id for _row, _name, r in _of(records, Decision)})
    problems: list[Problem] = []
    for row, name, involvement in rows:
        attestation, note = before.get(
            involvement.involvement_id, (Attestation.unconfirmed.value, None)
        )
        if access.may(Action.attest, boards.get(involvement.decision_id)):
            continue
        if involvement.attestation.value != attestation:
            problems.append(
                Problem(
                    name,
                    row,
                    "attestation",
                    f"only an auditor or an admin may confirm or dispute an involvement: this "
                    f"row would change it from {attestation} to {involvement.attestation.value}."
                    " Leave the attestation columns out of the file, or give the stored values",
                )
            )
        elif involvement.attestation_note != note:
            problems.append(
                Problem(
                    name,
                    row,
                    "attestation_note",
                    "only an auditor or an admin may change the note of a confirmation or "
                    "dispute: leave the attestation columns out of the file, or give the stored "
                    "values",
                )
            )
    return problems


def validate(
    store: Store, sheets: Iterable[Sheet], access: Access = SYSTEM
) -> dict[str, list[Entity]]:
    """Validate every sheet fully; raise ImportRejected with every problem found."""
    problems: list[Problem] = []
    by_table: Rows = defaultdict(list)
    seen_tables: dict[str, str] = {}
    for sheet in sheets:
        table = sheet.entity.table
        if table in seen_tables:
            problems.append(
                Problem(sheet.name, None, None, f"the same data is also in {seen_tables[table]}")
            )
            continue
        seen_tables[table] = sheet.name
        absent = absent_columns(sheet)
        stored = (
            stored_values(
                store,
                sheet.entity,
                (k for _row, values in sheet.rows if (k := raw_key(sheet.entity, values))),
                absent,
            )
            if absent and sheet.rows
            else {}
        )
        good, bad = validate_rows(sheet, stored)
        problems.extend(bad)
        by_table[table].extend((row, sheet.name, record) for row, record in good)
    if not problems:
        problems.extend(check_references(store, by_table))
    if not problems:
        problems.extend(check_scope(store, by_table, access))
    if not problems:
        problems.extend(check_attestation(store, by_table, access))
    if problems:
        raise ImportRejected(problems)
    return {table: [r for _row, _name, r in rows] for table, rows in by_table.items()}


# --- writing ------------------------------------------------------------------------------

_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "INTEGER": pa.int32(),
    "VARCHAR[]": pa.list_(pa.string()),
}


def arrow_type(sql_type: str) -> pa.DataType:
    return _ARROW_TYPES[sql_type.split(" ")[0]]


def to_arrow(table: str, records: list[Entity]) -> pa.Table:
    columns = COLUMNS[table]
    # Enum members are str subclasses, so Arrow takes them (and lists of them) as they are.
    data = {name: [getattr(r, name) for r in records] for name, _ in columns}
    schema = pa.schema([(name, arrow_type(sql)) for name, sql in columns])
    return pa.table(data, schema=schema)


def write_records(
    cur: Any, table: str, records: list[Entity] | pa.Table | str, change: Change
) -> tuple[int, int, int]:
    """Upsert records by key inside the caller's transaction; audit every change.

    ``records`` are models, an Arrow table of the table's columns, or the name of a table the
    cursor can read holding them (an import in sets passes its staging table). The incoming rows
    are compared with the stored ones once; new rows are inserted, changed rows updated, and
    every new or changed row gets an audit-trail entry with its values before and after.

    Returns (created, updated, unchanged).
    """
    registered = not isinstance(records, str)
    if isinstance(records, str):
        source = records
    else:
        incoming = records if isinstance(records, pa.Table) else to_arrow(table, records)
        if incoming.num_rows == 0:
            return 0, 0, 0
        cur.register("_incoming", incoming)
        source = "_incoming"
    cols = [name for name, _ in COLUMNS[table]]
    keys = KEYS[table]
    qt = quote(table)
    col_list = ", ".join(quote(c) for c in cols)
    join = " AND ".join(f"t.{quote(k)} = i.{quote(k)}" for k in keys)
    key_expr = "concat_ws('/', " + ", ".join(f"{quote(k)}" for k in keys) + ")"
    differs = (
        "row("
        + ", ".join(f"t.{quote(c)}" for c in cols)
        + ") IS DISTINCT FROM row("
        + ", ".join(f"i.{quote(c)}" for c in cols)
        + ")"
    )
    as_struct = (
        "to_json(struct_pack(" + ", ".join(f"{quote(c)} := {{a}}{quote(c)}" for c in cols) + "))"
    )
    stored = f"t.{quote(keys[0])}"
    try:
        # One comparison with the stored rows, while the old values are there to record.
        cur.execute(
            f"""
            CREATE TEMP TABLE _compared AS
            SELECT {", ".join(f"i.{quote(c)}" for c in cols)},
                   {stored} IS NULL AS _created,
                   {stored} IS NOT NULL AND {differs} AS _changed,
                   CASE WHEN {stored} IS NOT NULL AND {differs}
                        THEN {as_struct.format(a="t.")} END AS _before
            FROM {source} i LEFT JOIN {qt} t ON {join}
            """
        )
        counts = cur.execute(
            "SELECT count(*) FILTER (WHERE _created), count(*) FILTER (WHERE _changed), "
            "count(*) FILTER (WHERE NOT _created AND NOT _changed) FROM _compared"
        ).fetchone()
        assert counts is not None
        if counts[0] or counts[1]:
            cur.execute(
                f"""
                INSERT INTO audit_log (actor, source, entity, record_key, action, before, after)
                SELECT ?, ?, ?, {key_expr}, CASE WHEN _created THEN 'create' ELSE 'update' END,
                       _before, {as_struct.format(a="")}
                FROM _compared WHERE _created OR _changed
                """,
                [change.actor, change.source, table],
            )
        # The times are given rather than left to the columns' defaults: DuckDB's writes into
        # PostgreSQL send every column, so a default would arrive there as NULL.
        if counts[0]:
            cur.execute(
                f"""
                INSERT INTO {qt} ({col_list}, created_by, updated_by, created_at, updated_at)
                SELECT {col_list}, ?, ?, now()::TIMESTAMP, now()::TIMESTAMP
                FROM _compared WHERE _created
                """,
                [change.actor, change.actor],
            )
        updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in cols if c not in keys)
        if counts[1] and updates:
            cur.execute(
                f"""
                INSERT INTO {qt} ({col_list}, created_by, updated_by, created_at, updated_at)
                SELECT {col_list}, ?, ?, now()::TIMESTAMP, now()::TIMESTAMP
                FROM _compared WHERE _changed
                ON CONFLICT ({", ".join(quote(k) for k in keys)}) DO UPDATE SET {updates},
                    updated_at = now()::TIMESTAMP, updated_by = excluded.updated_by
                """,
                [change.actor, change.actor],
            )
        cur.execute("DROP TABLE _compared")
    finally:
        if registered:
            cur.unregister("_incoming")
    return int(counts[0]), int(counts[1]), int(counts[2])


def import_source(
    store: Store, source: str | Path, change: Change, *, in_sets: bool = True
) -> ImportSummary:
    """Read, validate and write a folder or workbook; all or nothing.

    A folder of clean files is imported in sets (``coprod.bulk``); anything that path declines
    is imported row by row, which names every problem. ``in_sets=False`` goes row by row."""
    path = Path(source)
    if in_sets and path.is_dir():
        from coprod.bulk import import_folder

        written, _declined = import_folder(store, path, change)
        if written is not None:
            summary = ImportSummary()
            for table, (created, updated, unchanged) in written.items():
                summary.created[table] = created
                summary.updated[table] = updated
                summary.unchanged[table] = unchanged
            return summary
    return import_sheets(store, read_source(source), change)


def import_sheets(
    store: Store, sheets: list[Sheet], change: Change, *, dry_run: bool = False
) -> ImportSummary:
    """Validate and write sheets in one transaction.

    With ``dry_run`` the writes are made and counted, then rolled back: the summary says what
    the import *would* change (the import page shows it before the user commits).
    """
    records = validate(store, sheets, change.access)
    summary = ImportSummary()

    def write(cur: Any) -> None:
        for entity in ENTITIES:
            if entity.table not in records:
                continue
            created, updated, unchanged = write_records(
                cur, entity.table, records[entity.table], change
            )
            summary.created[entity.table] = created
            summary.updated[entity.table] = updated
            summary.unchanged[entity.table] = unchanged

    if dry_run:
        with store.rolled_back() as cur:
            write(cur)
    else:
        with store.transaction() as cur:
            write(cur)
    return summary


# --- exporting ----------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


# A text cell starting with one of these is run as a formula by a spreadsheet (``=``, ``+``,
# ``-``, ``@``; a tab or carriage return is dropped first), or loses its first character to one
# (``'``). Export puts one ``'`` in front of such a text, and import takes that one away.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def neutralise(text: str) -> str:
    """Text as a spreadsheet cell should hold it: ``=1+1`` becomes ``'=1+1``, so it is never run.

    ``unneutralise`` gives the text back exactly.
    """
    return "'" + text if text.startswith(FORMULA_START) else text


def unneutralise(value: Any) -> Any:
    """A cell as read from a CSV file or workbook, with export's mark taken away: one leading
    ``'`` before a text that ``neutralise`` would have marked. Any other text, ``'quoted``
    among them, is kept exactly as typed."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def export_cell(value: Any) -> str:
    """A value as a CSV or xlsx cell holds it. Text (and a set, written as text) is neutralised;
    a number, date or boolean never is: what decides is the value's type, not how it reads."""
    text = _cell(value)
    return neutralise(text) if isinstance(value, str | list) else text


class CsvWriter:
    """Writes interchange CSV rows, each line ending in ``\\n``.

    ``csv.writer`` quotes a value that holds a line-ending character only when it is one of the
    characters of *its* line ending, so with ``\\n`` a value holding a lone ``\\r`` would be
    written bare and read back as a line break. Rows are written with ``\\r\\n`` (so any
    ``\\r`` or ``\\n`` is quoted) and the line then ends with ``\\n``; every other row comes out
    exactly as ``csv.writer(lineterminator="\\n")`` writes it.

    With ``neutralise`` each value is written by ``export_cell``: a text that a spreadsheet
    would run as a formula gets a leading ``'`` (import takes it away again); ``None`` is an
    empty cell, and numbers, dates and booleans are written as export writes them. Without it,
    the values are written as given.
    """

    def __init__(self, handle: Any, *, neutralise: bool = False) -> None:
        self._handle = handle
        self._neutralise = neutralise
        self._buffer = io.StringIO(newline="")
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> None:
        if self._neutralise:
            row = [export_cell(v) for v in row]
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow(row)
        self._handle.write(self._buffer.getvalue()[:-2] + "\n")


def csv_bytes(columns: list[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """Rows as one interchange CSV file (UTF-8, header first, values as export writes them,
    formulas neutralised)."""
    out = io.StringIO(newline="")
    writer = CsvWriter(out, neutralise=True)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


# Which rows an export holds: every live row, plus any withdrawn row that an exported row still
# names, so that the folder always imports (a withdrawn meeting with a live decision on it is
# exported with the decision rather than leaving the decision pointing at nothing).
_LIVE = "withdrawn_at IS NULL"
_EXPORTED_DECISIONS = (
    f"SELECT decision_id FROM decision WHERE {_LIVE} "
    f"OR decision_id IN (SELECT decision_id FROM involvement WHERE {_LIVE})"
)
_EXPORTED_MEETINGS = (
    f"SELECT meeting_id FROM meeting WHERE {_LIVE} "
    f"OR meeting_id IN (SELECT meeting_id FROM attendance WHERE {_LIVE}) "
    f"OR meeting_id IN (SELECT meeting_id FROM decision WHERE decision_id IN "
    f"({_EXPORTED_DECISIONS}))"
)
_EXPORTED_MEMBERS = (
    f"SELECT member_id FROM member WHERE {_LIVE} "
    f"OR member_id IN (SELECT member_id FROM attendance WHERE {_LIVE})"
)
EXPORTED: dict[str, str] = {
    "board": f"""{_LIVE}
        OR board_id IN (SELECT board_id FROM member WHERE member_id IN ({_EXPORTED_MEMBERS}))
        OR board_id IN (SELECT board_id FROM meeting WHERE meeting_id IN ({_EXPORTED_MEETINGS}))
        OR board_id IN (SELECT board_id FROM decision WHERE decision_id IN ({_EXPORTED_DECISIONS}))
        OR board_id IN (SELECT board_id FROM health_check WHERE {_LIVE})""",
    "member": f"member_id IN ({_EXPORTED_MEMBERS})",
    "meeting": f"meeting_id IN ({_EXPORTED_MEETINGS})",
    "attendance": _LIVE,
    "decision": f"decision_id IN ({_EXPORTED_DECISIONS})",
    "involvement": _LIVE,
    "health_check": _LIVE,
}


def export_rows(
    store: Store, table: str, *, include_withdrawn: bool = False
) -> Iterator[list[Any]]:
    cols = [name for name, _ in COLUMNS[table]]
    where = "" if include_withdrawn else f"WHERE {EXPORTED[table]}"
    order = ", ".join(quote(k) for k in KEYS[table])
    with store.cursor() as cur:
        result = cur.execute(
            f"SELECT {', '.join(quote(c) for c in cols)} FROM {quote(table)} {where} "
            f"ORDER BY {order}"
        )
        while batch := result.fetchmany(10_000):
            yield from (list(row) for row in batch)


def export(store: Store, out: str | Path, fmt: str = "csv") -> list[Path]:
    """Write every entity in the interchange format (csv or xlsx) or as parquet files."""
    target = Path(out)
    written: list[Path] = []
    if fmt == "xlsx":
        target.mkdir(parents=True, exist_ok=True)
        path = target / "coprod.xlsx"
        write_file_atomically(path, export_xlsx_bytes(store))
        return [path]
    target.mkdir(parents=True, exist_ok=True)
    for entity in ENTITIES:
        cols = [name for name, _ in COLUMNS[entity.table]]
        if fmt == "parquet":
            path = target / f"{entity.file_name}.parquet"
            with store.cursor() as cur:
                order = ", ".join(quote(k) for k in KEYS[entity.table])
                cur.execute(
                    f"COPY (SELECT {', '.join(quote(c) for c in cols)} FROM {quote(entity.table)} "
                    f"WHERE {EXPORTED[entity.table]} ORDER BY {order}) "
                    f"TO {path_literal(path)} (FORMAT parquet)"
                )
        elif fmt == "csv":
            path = target / f"{entity.file_name}.csv"
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = CsvWriter(handle, neutralise=True)
                writer.writerow(cols)
                for row in export_rows(store, entity.table):
                    writer.writerow(row)
        else:
            raise ValueError(f"unknown export format {fmt!r}: use csv, xlsx or parquet")
        written.append(path)
    return written


# --- xlsx: text cells, one fixed timestamp, the same bytes for the same data ---------------

# Characters XML 1.0 cannot carry, and the carriage return (an XML reader turns it into a line
# feed), are written the way Excel writes them: ``_xHHHH_`` (ECMA-376 ST_Xstring). Text that
# already looks like such an escape is protected as ``_x005F_xHHHH_`` so it reads back as typed.
_XLSX_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff]")
_XLSX_ESCAPE = re.compile(r"_x[0-9A-Fa-f]{4}_")
# An underscore that begins such an escape, found even where escapes overlap (_x0041_x0042_).
_XLSX_ESCAPE_START = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
# The one date every exported workbook carries, in its document properties and zip entries.
XLSX_TIMESTAMP = dt.datetime(1980, 1, 1)


def xlsx_escape(text: str) -> str:
    """Text as an xlsx cell holds it; ``xlsx_unescape`` gives it back exactly."""
    text = _XLSX_ESCAPE_START.sub("_x005F_", text)
    return _XLSX_UNSAFE.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


def xlsx_unescape(text: str) -> str:
    """Undo ``_xHHHH_`` escapes, as Excel does when it reads a cell."""
    if "_x" not in text:
        return text

    def character(match: re.Match[str]) -> str:
        code = int(match.group(0)[2:6], 16)
        return match.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)  # no lone surrogates

    return _XLSX_ESCAPE.sub(character, text)


def export_xlsx_bytes(store: Store) -> bytes:
    """The whole store as one workbook (one sheet per file), byte-identical for the same data.

    Every value is written as a text cell, as the CSV files hold it (a text a spreadsheet would
    run as a formula with its leading ``'``), so that nothing is taken for a formula (a title
    starting with ``=``), a number (an id ``007``) or a date; the
    document properties carry a fixed date instead of the time of export, and the zip is
    rewritten with fixed entry times and a fixed entry order.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.writer.excel import ExcelWriter

    workbook = Workbook(write_only=True)
    workbook.properties.creator = "coprod"
    workbook.properties.created = XLSX_TIMESTAMP
    workbook.properties.modified = XLSX_TIMESTAMP
    too_long: list[str] = []
    for entity in ENTITIES:
        ws = workbook.create_sheet(entity.file_name)

        def text_cell(value: str, ws: Any = ws, sheet: str = entity.file_name) -> Any:
            escaped = xlsx_escape(value)
            if len(escaped) > MAX_TEXT and not too_long:  # a cell would cut it: never silently
                too_long.append(
                    f"A value in {sheet} is too long for one spreadsheet cell "
                    f"({len(escaped):,} characters, at most {MAX_TEXT:,}), so no workbook was "
                    f"written: export CSV instead. It begins: {value[:60]!r}"
                )
            cell = WriteOnlyCell(ws, value=escaped)
            cell.data_type = "s"  # never a formula, number or date
            return cell

        ws.append([text_cell(name) for name, _ in COLUMNS[entity.table]])
        for row in export_rows(store, entity.table):
            ws.append([text_cell(export_cell(v)) if v is not None else None for v in row])
    raw = io.BytesIO()
    # ExcelWriter rather than workbook.save(), which stamps the time of saving as "modified".
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(workbook, archive).save()
    if too_long:
        raise ExportRefused(too_long[0])
    return deterministic_zip(raw.getvalue())


def deterministic_zip(data: bytes) -> bytes:
    """The same zip with fixed entry times and attributes, in a fixed order.

    ``[Content_Types].xml`` and the package relationships come first, as Excel writes them;
    the other parts follow in name order.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    first = [name for name in ("[Content_Types].xml", "_rels/.rels") if name in parts]
    order = first + sorted(name for name in parts if name not in first)
    return zip_bytes((name, parts[name]) for name in order)


def zip_bytes(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """A deflated zip of (name, content) in the given order, every entry dated 1 January 1980."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=XLSX_TIMESTAMP.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, content, compresslevel=6)
    return out.getvalue()


def write_file_atomically(path: Path, data: bytes) -> None:
    """Write a file so that it is either the old one or the whole new one, never half."""
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        with partial.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_csv_folder(folder: str | Path, tables: dict[str, list[dict[str, Any]]]) -> None:
    """Write rows (dicts keyed by column) as interchange CSV files; used by the demo generator."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    for entity in ENTITIES:
        rows = tables.get(entity.table)
        if rows is None:
            continue
        cols = [name for name, _ in COLUMNS[entity.table]]
        with (target / f"{entity.file_name}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = CsvWriter(handle, neutralise=True)
            writer.writerow(cols)
            for row in rows:
                writer.writerow([row.get(c) for c in cols])
