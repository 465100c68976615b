"""The DuckDB store: one file, one process-wide connection, a cursor per query.

Streamlit runs every session in its own thread. A DuckDB connection must not be shared between
threads, but cursors made from one connection may each be used by one thread, and they all see
one database. So the process opens the file once (``Store``) and every query takes its own
``cursor()``. DuckDB lets only one process open a file for writing; when another process holds
it we say so in one sentence (``StoreBusyError``) rather than showing a traceback.
"""

from __future__ import annotations

import getpass
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from coprod.access import SYSTEM, Access
from coprod.settings import store_location

AUDIT = """
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    created_by VARCHAR NOT NULL DEFAULT 'system',
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by VARCHAR NOT NULL DEFAULT 'system',
    withdrawn_at TIMESTAMP,
    withdrawn_by VARCHAR,
    withdrawn_reason VARCHAR
"""

# Columns of each entity table in interchange order, with their DuckDB types.
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "board": [
        ("board_id", "VARCHAR NOT NULL"),
        ("name", "VARCHAR NOT NULL"),
        ("kind", "VARCHAR NOT NULL"),
        ("area", "VARCHAR"),
    ],
    "member": [
        ("member_id", "VARCHAR NOT NULL"),
        ("board_id", "VARCHAR NOT NULL"),
        ("name", "VARCHAR NOT NULL"),
        ("role", "VARCHAR NOT NULL"),
        ("voting", "BOOLEAN NOT NULL"),
        ("lived_experience", "BOOLEAN NOT NULL DEFAULT false"),
        ("organisation", "VARCHAR"),
        ("start_date", "DATE NOT NULL"),
        ("end_date", "DATE"),
    ],
    "meeting": [
        ("meeting_id", "VARCHAR NOT NULL"),
        ("board_id", "VARCHAR NOT NULL"),
        ("date", "DATE NOT NULL"),
        ("kind", "VARCHAR NOT NULL DEFAULT 'public'"),
        ("papers_published_on", "DATE"),
    ],
    "attendance": [
        ("meeting_id", "VARCHAR NOT NULL"),
        ("member_id", "VARCHAR NOT NULL"),
        ("status", "VARCHAR NOT NULL"),
    ],
    "decision": [
        ("decision_id", "VARCHAR NOT NULL"),
        ("board_id", "VARCHAR NOT NULL"),
        ("title", "VARCHAR NOT NULL"),
        ("summary", "VARCHAR"),
        ("service_area", "VARCHAR"),
        ("affects_people_who_use_services", "BOOLEAN NOT NULL DEFAULT true"),
        ("exemption_reason", "VARCHAR"),
        ("claimed_approach", "VARCHAR NOT NULL DEFAULT 'none'"),
        ("identified_on", "DATE NOT NULL"),
        ("options_fixed_on", "DATE"),
        ("decided_on", "DATE"),
        ("meeting_id", "VARCHAR"),
        ("outcome", "VARCHAR"),
        ("review_due_on", "DATE"),
    ],
    "involvement": [
        ("involvement_id", "VARCHAR NOT NULL"),
        ("decision_id", "VARCHAR NOT NULL"),
        ("start_date", "DATE NOT NULL"),
        ("end_date", "DATE"),
        ("group", "VARCHAR NOT NULL"),
        ("organisation", "VARCHAR"),
        ("level", "VARCHAR NOT NULL"),
        ("method", "VARCHAR"),
        ("participants", "INTEGER"),
        ("lived_experience_participants", "INTEGER"),
        ("accessible_formats", "VARCHAR[] NOT NULL DEFAULT []"),
        ("expenses_offered", "BOOLEAN"),
        ("feedback_on", "DATE"),
        ("influence", "VARCHAR"),
        ("attestation", "VARCHAR NOT NULL DEFAULT 'unconfirmed'"),
        ("attestation_note", "VARCHAR"),
    ],
    "health_check": [
        ("response_id", "VARCHAR NOT NULL"),
        ("board_id", "VARCHAR NOT NULL"),
        ("check_date", "DATE NOT NULL"),
        ("respondent_group", "VARCHAR NOT NULL"),
        ("item", "VARCHAR NOT NULL"),
        ("score", "INTEGER NOT NULL"),
        ("comment", "VARCHAR"),
    ],
}

KEYS: dict[str, tuple[str, ...]] = {
    "board": ("board_id",),
    "member": ("member_id",),
    "meeting": ("meeting_id",),
    "attendance": ("meeting_id", "member_id"),
    "decision": ("decision_id",),
    "involvement": ("involvement_id",),
    "health_check": ("response_id", "item"),
}

TABLES = tuple(COLUMNS)
AUDIT_COLUMNS = (
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "withdrawn_at",
    "withdrawn_by",
    "withdrawn_reason",
)


def quote(identifier: str) -> str:
    """Quote an identifier from the fixed schema above (``group`` is a keyword)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", identifier):
        raise ValueError(f"not a schema identifier: {identifier}")
    return f'"{identifier}"'


def _entity_ddl(table: str) -> str:
    cols = ",\n    ".join(f"{quote(name)} {sql}" for name, sql in COLUMNS[table])
    key = ", ".join(quote(k) for k in KEYS[table])
    return f"CREATE TABLE {quote(table)} (\n    {cols},\n{AUDIT},\n    PRIMARY KEY ({key})\n)"


# Each migration takes the store from version n-1 to n; they run in order, once, on open.
MIGRATIONS: list[list[str]] = [
    [
        *(_entity_ddl(t) for t in TABLES),
        "CREATE SEQUENCE audit_seq START 1",
        """CREATE TABLE audit_log (
            audit_id BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
            changed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            actor VARCHAR NOT NULL,
            source VARCHAR NOT NULL,       -- form, import or cli
            entity VARCHAR NOT NULL,
            record_key VARCHAR NOT NULL,
            action VARCHAR NOT NULL,       -- create, update, withdraw, restore, attest
            before JSON,
            after JSON
        )""",
        "CREATE TABLE store_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
        "INSERT INTO store_meta VALUES ('data_version', '0')",
    ],
    [
        # The health-check item bank: items a board (or every board) asks beyond the defaults
        # of DOMAIN.md, which live in coprod.models.DEFAULT_HEALTH_CHECK_ITEMS and are not
        # stored. A primary key cannot hold NULL, so board_id '*' means "every board"; '*' can
        # never be a real board id (ids are letters, digits, '.', '_' and '-').
        f"""CREATE TABLE health_check_item (
            board_id VARCHAR NOT NULL,
            item VARCHAR NOT NULL,
            statement VARCHAR NOT NULL,
            {AUDIT},
            PRIMARY KEY (board_id, item)
        )""",
    ],
    [
        # People who may sign in, with their role and boards (see coprod.access). The identity
        # is the lower-cased email address the identity provider vouches for. boards is '*'
        # for every board, else board ids separated by ';'. Removing a person withdraws them.
        f"""CREATE TABLE app_user (
            identity VARCHAR NOT NULL PRIMARY KEY,
            name VARCHAR,
            role VARCHAR NOT NULL,
            boards VARCHAR NOT NULL,
            {AUDIT}
        )""",
        # Whether visitors who are not signed in see the public view (when sign-in is on).
        "INSERT INTO store_meta VALUES ('public_view', 'on')",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(RuntimeError):
    """A problem opening or using the store, phrased for the person who hit it."""


class StoreBusyError(StoreError):
    pass


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


@dataclass(frozen=True)
class Change:
    """Who made a change and through what: recorded with every write in the audit trail."""

    actor: str
    source: str  # form, import or cli
    # What the person making the change may do: every writer checks it before it writes.
    access: Access = SYSTEM


class Store:
    """One DuckDB database, opened once per process."""

    def __init__(self, location: str | Path | None = None, *, read_only: bool = False) -> None:
        self.location = store_location(location)
        self.read_only = read_only
        self._write_lock = threading.Lock()
        if self.location != ":memory:":
            if read_only and not Path(self.location).exists():
                raise StoreError(
                    f"There is no store at {self.location} yet: load data with "
                    "'coprod import' or 'coprod demo' first."
                )
            Path(self.location).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = duckdb.connect(self.location, read_only=read_only)
        except duckdb.IOException as exc:
            raise _explain_open_error(self.location, exc) from None
        except duckdb.Error as exc:
            raise StoreError(
                f"The store {self.location} could not be opened: it is not a coprod store "
                f"or it is damaged ({str(exc).splitlines()[0]})."
            ) from None
        if not read_only:
            self._upgrade()
        elif (version := self.schema_version()) != SCHEMA_VERSION:
            # Read-only opens cannot upgrade: say what the file is rather than fail on a query.
            self.conn.close()
            raise StoreError(_version_problem(self.location, version))

    # -- connections ---------------------------------------------------------------------

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for one query or one unit of work, in any thread."""
        cur = self.conn.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All-or-nothing: commits when the block ends, rolls back if it raises.

        Writes are serialised within the process so that two sessions saving at once queue
        rather than conflict; each write bumps ``data_version`` so caches see it.
        """
        if self.read_only:
            raise StoreError(f"The store {self.location} is open read-only.")
        with self._write_lock, self.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
                cur.execute(
                    "UPDATE store_meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
                    "WHERE key = 'data_version'"
                )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    @contextmanager
    def rolled_back(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A transaction that is always rolled back: to see what a write would do."""
        with self._write_lock, self.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            finally:
                cur.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema --------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self.cursor() as cur:
            exists = cur.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
            ).fetchone()
            if not exists or exists[0] == 0:
                return 0
            row = cur.execute("SELECT max(version) FROM schema_version").fetchone()
            return int(row[0]) if row and row[0] is not None else 0

    def _upgrade(self) -> None:
        with self._write_lock, self.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)")
            row = cur.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(_version_problem(self.location, version))
            for number in range(version + 1, SCHEMA_VERSION + 1):
                cur.execute("BEGIN TRANSACTION")
                try:
                    for statement in MIGRATIONS[number - 1]:
                        cur.execute(statement)
                    cur.execute("INSERT INTO schema_version VALUES (?)", [number])
                    cur.execute("COMMIT")
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise

    # -- reading -------------------------------------------------------------------------

    def data_version(self) -> int:
        """A number that changes with every committed write: the key for caches."""
        with self.cursor() as cur:
            row = cur.execute("SELECT value FROM store_meta WHERE key = 'data_version'").fetchone()
            return int(row[0]) if row else 0

    def query(
        self, sql: str, params: list[Any] | dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Rows of a read query as dicts."""
        with self.cursor() as cur:
            result = cur.execute(sql, params or [])
            names = [d[0] for d in result.description or []]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    def count(self, table: str, *, include_withdrawn: bool = False) -> int:
        where = "" if include_withdrawn else " WHERE withdrawn_at IS NULL"
        with self.cursor() as cur:
            row = cur.execute(f"SELECT count(*) FROM {quote(table)}{where}").fetchone()
            return int(row[0]) if row else 0

    def is_empty(self) -> bool:
        return all(self.count(t, include_withdrawn=True) == 0 for t in TABLES)

    def holds_demo_data(self) -> bool:
        """Demo boards all have ids starting ``demo-``; pages say so when they are shown."""
        with self.cursor() as cur:
            row = cur.execute("SELECT count(*) FROM board WHERE board_id LIKE 'demo-%'").fetchone()
            return bool(row and row[0])

    def audit_entries(
        self, entity: str | None = None, record_key: str | None = None
    ) -> list[dict[str, Any]]:
        clauses, params = [], []
        if entity:
            clauses.append("entity = ?")
            params.append(entity)
        if record_key:
            clauses.append("record_key = ?")
            params.append(record_key)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.query(
            "SELECT audit_id, changed_at, actor, source, entity, record_key, action, before, "
            f"after FROM audit_log {where} ORDER BY audit_id",
            params,
        )
        for row in rows:
            for side in ("before", "after"):
                if isinstance(row[side], str):
                    row[side] = json.loads(row[side])
        return rows


def _version_problem(location: str, version: int) -> str:
    if version == 0:
        return f"The store {location} is not a coprod store: it holds none of coprod's tables."
    if version < SCHEMA_VERSION:
        return (
            f"The store {location} was written by an older coprod (schema {version}): open it "
            "once for writing, for example with 'coprod import', to upgrade it."
        )
    return (
        f"The store {location} was written by a newer version of coprod (schema {version}); "
        "upgrade coprod to open it."
    )


def _explain_open_error(location: str, exc: duckdb.IOException) -> StoreError:
    text = str(exc)
    if "lock" in text.lower():
        pid = re.search(r"PID (\d+)", text)
        holder = f" (process {pid.group(1)})" if pid else ""
        return StoreBusyError(
            f"The store {location} is in use by another program{holder}, probably the "
            "dashboard: stop it first, or load data through the dashboard's own pages."
        )
    return StoreError(f"The store {location} could not be opened: {text.splitlines()[0]}")
