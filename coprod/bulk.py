"""Importing a folder of clean CSV files in sets: DuckDB reads, checks and writes every row.

An import reads every row, checks it and writes it (``coprod.interchange``): row by row, with a
model per row, so that every problem can be named by file, row and field. For the files an
export writes, and the files of a national data set, that is slow and holds every row as a
Python object. So ``import_folder`` first tries this: DuckDB reads each file and checks, with
one query per rule over whole columns, that every value is already in the one form the models
would store it in (ids, enum values, ``true``/``false``, ISO dates, whole numbers, ``;``-sets in
their canonical order, texts without outer spaces, control characters or anything a workbook
would escape), and that every rule of consistency, reference and board holds. Only when all of
them hold does it write, through the same audited upsert as any import.

When anything at all is not so (a value typed as a person types it, a problem, a file it cannot
read the same way as the row-by-row reader), it writes nothing and says so, and the row-by-row
import runs instead: it reads the same files and either writes what it reads, exactly as before,
or names every problem. So this path never changes what is stored, only how fast; a test feeds
both paths the same damaged files and checks that whatever this one accepts, the other stores
identically.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb

from coprod.access import Access, Action
from coprod.models import (
    EARLIEST_DATE,
    ENTITY_BY_FILE,
    LATEST_DATE,
    MAX_TEXT,
    AccessibleFormat,
    Approach,
    AttendanceStatus,
    Attestation,
    BoardKind,
    Entity,
    Group,
    Level,
    MeetingKind,
    MemberRole,
    Method,
    Outcome,
    RespondentGroup,
)
from coprod.store import COLUMNS, KEYS, Change, Store, is_out_of_memory, path_literal, quote

# What each column holds, beyond its SQL type: the form its text must already be in.
ID = r"^[A-Za-z0-9._-]{1,64}$"
ITEM = r"^[a-z0-9_]{1,64}$"
ENUMS: dict[tuple[str, str], tuple[StrEnum, ...]] = {
    ("board", "kind"): tuple(BoardKind),
    ("member", "role"): tuple(MemberRole),
    ("meeting", "kind"): tuple(MeetingKind),
    ("attendance", "status"): tuple(AttendanceStatus),
    ("decision", "claimed_approach"): tuple(Approach),
    ("decision", "outcome"): tuple(Outcome),
    ("involvement", "group"): tuple(Group),
    ("involvement", "level"): tuple(Level),
    ("involvement", "method"): tuple(Method),
    ("involvement", "attestation"): tuple(Attestation),
    ("health_check", "respondent_group"): tuple(RespondentGroup),
}
# Blank means the model's default, not NULL, for these.
DEFAULTS: dict[tuple[str, str], str] = {
    ("member", "lived_experience"): "false",
    ("meeting", "kind"): "public",
    ("decision", "affects_people_who_use_services"): "true",
    ("decision", "claimed_approach"): "none",
    ("involvement", "attestation"): "unconfirmed",
}
ID_COLUMNS = {
    "board_id",
    "member_id",
    "meeting_id",
    "decision_id",
    "involvement_id",
    "response_id",
}
# Every character Python's str.strip() takes off: a text with one at either end is not in
# stored form (the models strip it), so it goes the row-by-row way.
_SPACE = "".join(f"\\x{{{code:x}}}" for code in range(sys.maxunicode + 1) if chr(code).isspace())
# Characters the models refuse, and the start of a workbook escape (_xHHHH_), whose length in a
# cell differs from its length as text.
_UNSTORABLE = r"[\x{0}-\x{8}\x{b}\x{c}\x{e}-\x{1f}\x{7f}-\x{9f}\x{fffe}\x{ffff}]|_x[0-9A-Fa-f]{4}_"


@dataclass
class Declined(Exception):
    """The folder is not one this path takes; why, for the curious (never shown as an error)."""

    why: str

    def __str__(self) -> str:
        return self.why


def _header(path: Path) -> list[str]:
    with path.open("rb") as handle:
        first = handle.readline(1 << 16)
    if b"\r" in first or first.startswith(b"\xef\xbb\xbf") or not first.endswith(b"\n"):
        raise Declined(f"{path.name}: the header is not one plain line")
    try:
        [header] = list(csv.reader(io.StringIO(first.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error, ValueError):
        raise Declined(f"{path.name}: the header cannot be read") from None
    return [h.strip().lower() for h in header]


def _plain_bytes(path: Path) -> None:
    """Decline a file with a carriage return, a NUL or a byte-order mark anywhere: the
    row-by-row reader and DuckDB's could read those differently."""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            if b"\r" in chunk or b"\x00" in chunk or b"\xef\xbb\xbf" in chunk:
                raise Declined(f"{path.name}: holds a carriage return, NUL or byte-order mark")


# A free text not in stored form: outer white space, a leading apostrophe, or a character the
# models refuse or a workbook escapes. (Ids, enum values, dates, numbers and sets are held to
# patterns of their own that allow none of these.)
_NOT_STORED_FORM = f"^[{_SPACE}']|[{_SPACE}]$|{_UNSTORABLE}".replace("'", "''")


def _text_ok(expr: str) -> str:
    return (
        f"({expr} IS NULL OR (length({expr}) <= {MAX_TEXT}"
        f" AND NOT regexp_matches({expr}, '{_NOT_STORED_FORM}')))"
    )


def _value_checks(table: str) -> tuple[list[str], list[str]]:
    """(the typed SELECT list, the conditions every row must meet) for one table's raw text."""
    select: list[str] = []
    ok: list[str] = []
    for name, sql in COLUMNS[table]:
        raw = f"nullif(r.{quote(name)}, '')"
        kind = sql.split(" ")[0]
        required = "NOT NULL" in sql and (table, name) not in DEFAULTS and kind != "VARCHAR[]"
        if (table, name) in DEFAULTS:
            raw = f"coalesce({raw}, '{DEFAULTS[(table, name)]}')"
        free_text = name not in ID_COLUMNS and (table, name) not in (
            *ENUMS,
            ("health_check", "item"),
        )
        if kind == "VARCHAR" and free_text:
            ok.append(_text_ok(raw))
        if required:
            ok.append(f"{raw} IS NOT NULL")
        if kind == "VARCHAR":
            if name in ID_COLUMNS:
                ok.append(f"({raw} IS NULL OR regexp_matches({raw}, '{ID}'))")
            elif (table, name) == ("health_check", "item"):
                ok.append(f"regexp_matches({raw}, '{ITEM}')")
            elif (table, name) in ENUMS:
                allowed = ", ".join(f"'{v.value}'" for v in ENUMS[(table, name)])
                ok.append(f"({raw} IS NULL OR {raw} IN ({allowed}))")
            select.append(f"{raw} AS {quote(name)}")
        elif kind == "BOOLEAN":
            ok.append(f"({raw} IS NULL OR {raw} IN ('true', 'false'))")
            select.append(f"TRY_CAST({raw} AS BOOLEAN) AS {quote(name)}")
        elif kind == "DATE":
            ok.append(
                f"({raw} IS NULL OR (regexp_matches({raw}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$')"
                f" AND TRY_CAST({raw} AS DATE) BETWEEN DATE '{EARLIEST_DATE}'"
                f" AND DATE '{LATEST_DATE}'))"
            )
            select.append(f"TRY_CAST({raw} AS DATE) AS {quote(name)}")
        elif kind == "INTEGER":
            low, high = (1, 5) if (table, name) == ("health_check", "score") else (0, 2**31 - 1)
            ok.append(
                f"({raw} IS NULL OR (regexp_matches({raw}, '^[0-9]{{1,10}}$')"
                f" AND TRY_CAST({raw} AS BIGINT) BETWEEN {low} AND {high}))"
            )
            select.append(f"TRY_CAST({raw} AS INTEGER) AS {quote(name)}")
        elif kind == "VARCHAR[]":
            known = "[" + ", ".join(f"'{f.value}'" for f in AccessibleFormat) + "]"
            parts = f"string_split({raw}, ';')"
            canonical = (
                f"array_to_string(list_filter({known}, f -> list_contains({parts}, f)), ';')"
            )
            ok.append(f"({raw} IS NULL OR {canonical} = {raw})")
            select.append(
                f"CASE WHEN {raw} IS NULL THEN []::VARCHAR[] ELSE {parts} END AS {quote(name)}"
            )
        else:  # pragma: no cover - the schema has no other types
            raise Declined(f"{table}.{name}: a column type this path does not know")
    return select, ok


# Rules between the columns of one row (the models' own consistency checks).
ROW_RULES: dict[str, list[str]] = {
    "member": ["end_date IS NULL OR end_date >= start_date"],
    "decision": [
        "options_fixed_on IS NULL OR options_fixed_on >= identified_on",
        "decided_on IS NULL OR decided_on >= identified_on",
        "decided_on IS NULL OR options_fixed_on IS NULL OR decided_on >= options_fixed_on",
        "affects_people_who_use_services OR exemption_reason IS NOT NULL",
    ],
    "involvement": [
        "end_date IS NULL OR end_date >= start_date",
        "participants IS NULL OR lived_experience_participants IS NULL "
        "OR lived_experience_participants <= participants",
    ],
}

# Rules between tables, on the store as it would be after the import (_new_<table> shadowing
# the stored rows of the same keys). Each query counts what is wrong.
CROSS_RULES = [
    # every reference exists
    *(
        f"SELECT count(*) FROM _new_{table} n ANTI JOIN _all_{parent} p USING ({column})"
        for table, column, parent in (
            ("member", "board_id", "board"),
            ("meeting", "board_id", "board"),
            ("decision", "board_id", "board"),
            ("health_check", "board_id", "board"),
            ("involvement", "decision_id", "decision"),
            ("attendance", "meeting_id", "meeting"),
            ("attendance", "member_id", "member"),
        )
    ),
    # attendance links a member and a meeting of one board (each attendance is given its
    # meeting's board first: in the transaction the new tables have no statistics, and DuckDB
    # would otherwise pair every meeting with every member of another board, 60 million pairs
    # at 200 boards)
    "WITH a AS MATERIALIZED (SELECT n.member_id, m.board_id FROM _new_attendance n "
    "JOIN _all_meeting m USING (meeting_id)) "
    "SELECT count(*) FROM a JOIN _all_member p USING (member_id) "
    "WHERE a.board_id IS DISTINCT FROM p.board_id",
    # a decision's meeting exists and is of its board
    "SELECT count(*) FROM _new_decision n LEFT JOIN _all_meeting m USING (meeting_id) "
    "WHERE n.meeting_id IS NOT NULL AND m.board_id IS DISTINCT FROM n.board_id",
    # nothing moves to another board (the row-by-row import says what depends on it)
    "SELECT count(*) FROM _new_meeting n JOIN meeting s USING (meeting_id) "
    "WHERE s.board_id IS DISTINCT FROM n.board_id",
    "SELECT count(*) FROM _new_member n JOIN member s USING (member_id) "
    "WHERE s.board_id IS DISTINCT FROM n.board_id",
    # one respondent's answers share a board, a date and a group, here and with the store
    "SELECT count(*) FROM (SELECT response_id FROM ("
    "  SELECT response_id, board_id, check_date, respondent_group FROM _new_health_check"
    "  UNION SELECT s.response_id, s.board_id, s.check_date, s.respondent_group"
    "  FROM health_check s SEMI JOIN _new_health_check i USING (response_id)"
    "  ANTI JOIN _new_health_check same USING (response_id, item)"
    "  WHERE s.withdrawn_at IS NULL"
    ") GROUP BY response_id HAVING count(*) > 1)",
]


def _entity(path: Path) -> type[Entity]:
    entity = ENTITY_BY_FILE.get(path.name.lower().removesuffix(".csv"))
    if entity is None or not path.name.lower().endswith(".csv"):
        raise Declined(f"{path.name}: not a file of the format")
    return entity


def import_folder(
    store: Store, folder: Path, change: Change
) -> tuple[dict[str, tuple[int, int, int]], None] | tuple[None, Declined]:
    """Import a folder of clean CSV files in one transaction, or decline without writing.

    Returns ({table: (created, updated, unchanged)}, None), or (None, why it declined)."""
    access: Access = change.access
    if not (access.every_board and access.may(Action.import_records)):
        return None, Declined("a person of some boards only: the row-by-row import checks each")
    if not access.may(Action.attest):
        return None, Declined("may not attest: the row-by-row import checks attestations")
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
        if not files:
            raise Declined("no CSV files")
        tables: dict[str, tuple[Path, list[str]]] = {}
        for path in files:
            entity = _entity(path)
            if entity.table in tables:
                raise Declined(f"{entity.table} twice")
            header = _header(path)
            if sorted(header) != sorted(n for n, _ in COLUMNS[entity.table]):
                raise Declined(f"{path.name}: not every column, or others")
            _plain_bytes(path)
            tables[entity.table] = (path, header)
    except OSError as exc:
        return None, Declined(f"cannot read the folder ({exc})")
    except Declined as declined:
        return None, declined

    size = sum(path.stat().st_size for path, _ in tables.values())
    try:
        try:
            with store.bounded_memory(size):
                return _write_sets(store, tables, change), None
        except duckdb.Error as exc:
            if not is_out_of_memory(exc):
                raise
        # The bound was too small for this store: the same import again, without it.
        return _write_sets(store, tables, change), None
    except Declined as declined:
        return None, declined
    except duckdb.Error as exc:  # whatever DuckDB could not do, the row-by-row import will say
        return None, Declined(f"DuckDB: {str(exc).splitlines()[0]}")


def _write_sets(
    store: Store, tables: dict[str, tuple[Path, list[str]]], change: Change
) -> dict[str, tuple[int, int, int]]:
    """Stage, check and write the files in one transaction; Declined (nothing written) when
    a value or a rule needs the row-by-row import."""
    from coprod.interchange import write_records

    written: dict[str, tuple[int, int, int]] = {}
    with store.transaction() as cur:
        for table, (path, header) in tables.items():
            _stage(cur, table, path, header)
        for table in COLUMNS:
            if table not in tables:
                cols = ", ".join(quote(n) for n, _ in COLUMNS[table])
                cur.execute(
                    f"CREATE TEMP TABLE {quote('_new_' + table)} AS "
                    f"SELECT {cols} FROM {quote(table)} LIMIT 0"
                )
            cur.execute(
                f"CREATE TEMP TABLE {quote('_all_' + table)} AS "
                f"SELECT * FROM {quote('_new_' + table)} UNION ALL "
                f"SELECT {', '.join('s.' + quote(n) for n, _ in COLUMNS[table])} "
                f"FROM {quote(table)} s ANTI JOIN {quote('_new_' + table)} n USING "
                f"({', '.join(quote(k) for k in KEYS[table])})"
            )
        for rule in CROSS_RULES:
            row = cur.execute(rule).fetchone()
            if row and row[0]:
                raise Declined(f"a rule between files: {rule[:60]}…")
        for table in COLUMNS:  # in the order of the format, as every import writes
            if table in tables:
                written[table] = write_records(cur, table, "_new_" + table, change)
        for table in COLUMNS:
            cur.execute(f"DROP TABLE {quote('_all_' + table)}")
            cur.execute(f"DROP TABLE {quote('_new_' + table)}")
    return written


def _stage(cur: Any, table: str, path: Path, header: list[str]) -> None:
    """Read one file (whose header holds every column of the table) into the temporary table
    _new_<table>, typed, or decline."""
    columns = "{" + ", ".join(f"'{h}': 'VARCHAR'" for h in header) + "}"
    select, ok = _value_checks(table)
    source = (
        f"read_csv({path_literal(path)}, columns = {columns}, header = true, delim = ',', "
        "quote = '\"', escape = '\"', new_line = '\\n', auto_detect = false, "
        "strict_mode = true, null_padding = false, ignore_errors = false, "
        "encoding = 'utf-8')"
    )
    staged = quote("_new_" + table)
    try:
        cur.execute(f"CREATE TEMP TABLE _raw AS SELECT * FROM {source}")
    except Exception as exc:  # any reading DuckDB and Python might not agree on
        raise Declined(f"{path.name}: {str(exc).splitlines()[0]}") from None
    # Each condition is made false when it is NULL (a NULL in SQL would let a row through).
    every = " AND ".join(f"coalesce({c}, false)" for c in ok)
    bad = cur.execute(f"SELECT count(*) FROM _raw r WHERE NOT ({every})").fetchone()
    if bad and bad[0]:
        raise Declined(f"{path.name}: {bad[0]} row(s) not in stored form")
    cur.execute(f"CREATE TEMP TABLE {staged} AS SELECT {', '.join(select)} FROM _raw r")
    cur.execute("DROP TABLE _raw")
    for rule in ROW_RULES.get(table, []):
        row = cur.execute(
            f"SELECT count(*) FROM {staged} WHERE NOT coalesce(({rule}), false)"
        ).fetchone()
        if row and row[0]:
            raise Declined(f"{path.name}: {rule}")
    keys = ", ".join(quote(k) for k in KEYS[table])
    dup = cur.execute(
        f"SELECT count(*) FROM (SELECT {keys} FROM {staged} GROUP BY {keys} HAVING count(*) > 1)"
    ).fetchone()
    if dup and dup[0]:
        raise Declined(f"{path.name}: a key appears twice")
