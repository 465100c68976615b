"""The store: a DuckDB file, or a PostgreSQL database reached through DuckDB.

Streamlit runs every session in its own thread. A DuckDB connection must not be shared between
threads, but cursors made from one connection may each be used by one thread, and they all see
one database. So the process opens the store once (``Store``) and every query takes its own
``cursor()``. DuckDB lets only one process open a file for writing; when another process holds
it we say so in one sentence (``StoreBusyError``) rather than showing a traceback.

A location such as ``postgresql://user@host:5432/dbname`` is a shared store on a PostgreSQL
server instead. DuckDB attaches it with its ``postgres`` extension and every query is the same
DuckDB SQL: DuckDB reads and writes PostgreSQL's tables, and PostgreSQL keeps the data, the
constraints and the transactions. Any number of processes may open it. Their writes take turns
(a PostgreSQL advisory lock held until each write commits), so two app servers saving at once
queue rather than conflict, exactly as two sessions of one server do.
"""

from __future__ import annotations

import errno
import getpass
import importlib.util
import json
import os
import re
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import duckdb

from coprod.access import SYSTEM, Access
from coprod.errors import CoprodError
from coprod.settings import store_location
from coprod.terminal import printable

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
        # of docs/domain.md, which live in coprod.models.DEFAULT_HEALTH_CHECK_ITEMS and are not
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


_WRITES_KEPT = 1000  # the data versions Store remembers having written
# DuckDB's memory while an import runs (Store.bounded_memory): at least IMPORT_MEMORY, and more
# as the files and the store grow. Measured: at 200 boards (181 MB of files, 1.3 million rows)
# the import peaks at 0.9 GB with 600 MB and 1.7 GB without; at 1000 boards (911 MB) 600 MB is
# too little to commit, and with 2 GB it peaks at 2.4 GB instead of 6.7 GB.
IMPORT_MEMORY = 600 * 2**20


def import_memory(incoming_bytes: int, store_bytes: int) -> int:
    """DuckDB's memory limit for an import of ``incoming_bytes`` into a store file of
    ``store_bytes``, in bytes."""
    return max(IMPORT_MEMORY, int(2.2 * incoming_bytes) + store_bytes)


def _file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}.wal")) if p.exists())


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether DuckDB failed for want of memory (a bounded import may then go unbounded)."""
    text = str(exc).lower()
    return isinstance(exc, duckdb.OutOfMemoryException) or (
        isinstance(exc, duckdb.Error) and ("out of memory" in text or "failed to pin block" in text)
    )


def _data_version(cur: duckdb.DuckDBPyConnection) -> int:
    row = cur.execute("SELECT value FROM store_meta WHERE key = 'data_version'").fetchone()
    return int(row[0]) if row else 0


def _last_audit_id(cur: duckdb.DuckDBPyConnection, *, server: bool) -> int:
    """The audit trail's last id, in the cursor's transaction. On a server PostgreSQL answers
    from the key's index; DuckDB reading the table would bring every id over on each write."""
    sql = "SELECT coalesce(max(audit_id), 0) FROM audit_log"
    if server:
        sql = f"SELECT * FROM postgres_query('{ATTACHED}', {sql_literal(sql)})"
    row = cur.execute(sql).fetchone()
    return int(row[0]) if row else 0


class StoreError(CoprodError, RuntimeError):
    """A problem opening or using the store, phrased for the person who hit it."""


class StoreBusyError(StoreError):
    pass


class StoreWriteError(StoreError):
    """The store file could not be written (a full disk, a read-only file system, no right to
    write): nothing of the write was kept. ``sentence(what)`` says so for one kind of write."""

    def __init__(self, location: str, reason: str | None = None) -> None:
        self.location = location
        self.reason = reason
        super().__init__(self.sentence("saved"))

    def sentence(self, what: str) -> str:
        """One sentence: the store could not be written, so nothing was ``what``."""
        why = unwritable(self.reason)
        return f"The store {self.location} could not be written ({why}), so nothing was {what}."


def unwritable(reason: str | None) -> str:
    """Why a file could not be written, as the sentences about it say it."""
    return (
        f"the disk is full or not writable: {reason}"
        if reason
        else "the disk is full or not writable"
    )


# What an operating system says when a file cannot be written, as DuckDB passes it on.
_WRITE_ERRNOS = {
    errno.ENOSPC: "No space left on device",
    errno.EFBIG: "File too large",
    errno.EDQUOT: "Disk quota exceeded",
    errno.EROFS: "Read-only file system",
    errno.EACCES: "Permission denied",
    errno.EPERM: "Operation not permitted",
    errno.EIO: "Input/output error",
}
_WRITE_WORDS = re.compile(
    "|".join(re.escape(text) for text in _WRITE_ERRNOS.values())
    + r"|Could not write|Could not truncate|Could not fsync|database has been invalidated",
    re.IGNORECASE,
)


def write_failure(exc: BaseException) -> str | None:
    """Why ``exc`` means a file could not be written (``File too large``), else None.

    A failed write may reach us as an OSError (Python's own writes) or as a DuckDB error whose
    text names the operating system's reason; DuckDB then also refuses the rest of the
    transaction, and sometimes every later statement ("database has been invalidated").
    """
    if isinstance(exc, OSError):
        if exc.errno in _WRITE_ERRNOS:
            return exc.strerror or _WRITE_ERRNOS[exc.errno]
        return None
    if not isinstance(exc, duckdb.Error):
        return None
    text = str(exc)
    for reason in _WRITE_ERRNOS.values():
        if reason.lower() in text.lower():
            return reason
    if isinstance(exc, duckdb.FatalException) or _WRITE_WORDS.search(text):
        return ""
    return None


def _end(cur: duckdb.DuckDBPyConnection) -> None:
    """Roll back after a failure, never hiding it: when the failure has already ended the
    transaction (a COMMIT that could not be written), ROLLBACK fails too, and that second error
    says nothing the first did not."""
    with suppress(duckdb.Error):
        cur.execute("ROLLBACK")


# --- PostgreSQL ----------------------------------------------------------------------------

SERVER_SCHEMES = ("postgresql://", "postgres://")
ATTACHED = "store"  # the name the PostgreSQL database is attached under
# Every write transaction on a server store holds this advisory lock until it commits.
WRITE_LOCK_KEY = 7_001_000_001


def is_server(location: str | Path) -> bool:
    """Whether a store location names a PostgreSQL database rather than a file."""
    return str(location).lower().startswith(SERVER_SCHEMES)


def shown_location(location: str) -> str:
    """A location fit to show or log: a server address without its password."""
    if not is_server(location):
        return location
    parts = urllib.parse.urlsplit(location)
    if parts.password is None:
        return location
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _extension_file(name: str) -> Path:
    """The DuckDB extension shipped by the PyPI wheel duckdb-extension-<name>."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or spec.origin is None:
        raise StoreError(
            f"coprod cannot reach PostgreSQL without DuckDB's {name} extension: install it "
            f"with 'pip install duckdb-extension-{name}=={duckdb.__version__}' (make run and "
            "make test install it)."
        )
    path = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}"
    path = path / f"{name}.duckdb_extension"
    if not path.is_file():
        raise StoreError(
            f"The {name} extension installed does not match DuckDB {duckdb.__version__}: "
            f"install duckdb-extension-{name}=={duckdb.__version__}."
        )
    return path


def load_extension(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load a DuckDB extension from its wheel: DuckDB itself never downloads one here."""
    path = _extension_file(name)
    conn.execute(f"INSTALL {sql_literal(str(path))}")
    conn.execute(f"LOAD {name}")


def sql_literal(text: str) -> str:
    """A text as a SQL string literal, quotes and all: for the few statements that take no
    parameters (a file name in INSTALL, ATTACH, COPY or read_csv, a statement sent on)."""
    return "'" + text.replace("'", "''") + "'"


def path_literal(path: Path) -> str:
    """A file's absolute path as a SQL string literal."""
    return sql_literal(str(path.resolve()))


def _attach_server(location: str, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(":memory:")
    try:
        load_extension(conn, "postgres")
        options = "TYPE postgres, READ_ONLY" if read_only else "TYPE postgres"
        conn.execute(f"ATTACH {sql_literal(location)} AS {ATTACHED} ({options})")
    except duckdb.Error as exc:
        conn.close()
        first = str(exc).splitlines()[0]
        password = urllib.parse.urlsplit(location).password
        if password:
            first = first.replace(password, "***")
        first = first.replace(location, shown_location(location))
        raise StoreError(
            f"The PostgreSQL store {shown_location(location)} could not be reached: "
            f"{first.removeprefix('IO Error: ')}"
        ) from None
    except BaseException:
        conn.close()
        raise
    conn.execute(f"USE {ATTACHED}")
    return conn


def server_ddl(statement: str) -> str:
    """A migration statement as PostgreSQL reads it: the schema is written once, in DuckDB's
    SQL, and differs from PostgreSQL's only in how an empty list is written."""
    return statement.replace("DEFAULT []", "DEFAULT '{}'")


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
    """One store, opened once per process: a DuckDB file or a PostgreSQL database."""

    def __init__(self, location: str | Path | None = None, *, read_only: bool = False) -> None:
        address = store_location(location)
        self.server = is_server(address)
        self._address = address
        # What messages, logs and pages show: never a server's password.
        self.location = shown_location(address)
        self.read_only = read_only
        self._write_lock = threading.Lock()
        # Each data version this process committed, with the last audit-trail id before it:
        # what lets the rules recompute only the boards a run of this process's writes touched.
        # A write that left no audit entry is kept as None: what it changed is not known.
        self._writes: dict[int, int | None] = {}
        self._bounded = 0  # imports now holding DuckDB's memory down (see bounded_memory)
        self._bounded_lock = threading.Lock()
        if self.server:
            self.conn = _attach_server(address, read_only=read_only)
        else:
            self._open_file(read_only)
        if not read_only:
            self._upgrade()
        elif (version := self.schema_version()) != SCHEMA_VERSION:
            # Read-only opens cannot upgrade: say what the store is rather than fail on a query.
            self.conn.close()
            raise StoreError(_version_problem(self.location, version))

    @property
    def address(self) -> str:
        """The location as given, password included: for opening the same store again."""
        return self._address

    def _open_file(self, read_only: bool) -> None:
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
            raise _explain_open_error(self.location, exc, read_only=read_only) from None
        except duckdb.Error as exc:
            raise StoreError(
                f"The store {self.location} could not be opened: it is not a coprod store "
                f"or it is damaged ({str(exc).splitlines()[0]})."
            ) from None

    # -- connections ---------------------------------------------------------------------

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for one query or one unit of work, in any thread."""
        cur = self.conn.cursor()
        try:
            if self.server:
                cur.execute(f"USE {ATTACHED}")  # a new cursor starts in DuckDB's own catalogue
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
            self._begin(cur)
            try:
                self._take_turn(cur)
                audited: int | None = _last_audit_id(cur, server=self.server)
                yield cur
                cur.execute(
                    "UPDATE store_meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
                    "WHERE key = 'data_version'"
                )
                version = _data_version(cur)
                if _last_audit_id(cur, server=self.server) == audited:
                    audited = None
                cur.execute("COMMIT")
            except BaseException as exc:
                _end(cur)
                self._written(exc)
            self._writes[version] = audited
            if len(self._writes) > _WRITES_KEPT:
                del self._writes[min(self._writes)]

    def audited_since(self, version: int, now: int) -> int | None:
        """The last audit-trail id before the writes that took the store from data version
        ``version`` to ``now``, when this process made every one of them (so that the audit
        trail after that id holds all they changed); else None."""
        if now <= version or any(self._writes.get(v) is None for v in range(version + 1, now + 1)):
            return None
        return self._writes[version + 1]

    @contextmanager
    def bounded_memory(self, incoming_bytes: int) -> Iterator[None]:
        """While an import of ``incoming_bytes`` of files writes, DuckDB's memory is held to
        what it must keep in memory (the new rows' keys and the store's indexes grow with them:
        ``import_memory``) and the rest goes to its temporary files, so that the import's peak
        does not grow with everything it reads (it is faster, too: less memory to fill). A
        store file only: a server store's DuckDB works in memory and has nowhere to spill.
        Should the bound still be too small, the caller sees ``is_out_of_memory`` and may try
        again without it."""
        if self.server or self.location == ":memory:":
            yield
            return
        with self._bounded_lock:
            if not self._bounded:
                limit = import_memory(incoming_bytes, _file_bytes(Path(self.location)))
                # When DuckDB holds more than that already, the import goes unbounded.
                with self.cursor() as cur, suppress(duckdb.OutOfMemoryException):
                    cur.execute(f"SET memory_limit = '{limit // 2**20}MiB'")
            self._bounded += 1
        try:
            yield
        finally:
            with self._bounded_lock:
                self._bounded -= 1
                if not self._bounded:
                    with self.cursor() as cur:
                        cur.execute("RESET memory_limit")  # DuckDB's own: 80% of the memory

    def _begin(self, cur: duckdb.DuckDBPyConnection) -> None:
        try:
            cur.execute("BEGIN TRANSACTION")
        except duckdb.Error as exc:
            self._written(exc)

    def _written(self, exc: BaseException) -> NoReturn:
        """Raise a failed write as it should be seen: a full disk (or a file that may not be
        written) as one StoreWriteError sentence, anything else as it was."""
        if self.server or isinstance(exc, StoreError):
            raise exc
        reason = write_failure(exc)
        if reason is None:
            raise exc
        raise StoreWriteError(self.location, reason or None) from exc

    @contextmanager
    def rolled_back(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A transaction that is always rolled back: to see what a write would do."""
        with self._write_lock, self.cursor() as cur:
            self._begin(cur)
            try:
                self._take_turn(cur)
                yield cur
            except BaseException as exc:
                _end(cur)
                self._written(exc)
            cur.execute("ROLLBACK")

    def _take_turn(self, cur: duckdb.DuckDBPyConnection) -> None:
        """On a server, wait for other processes' writes: the first statement of every write.

        The PostgreSQL transaction reads committed data (DuckDB would start it as repeatable
        read, whose snapshot predates the wait) and holds an advisory lock until it ends, so
        writes from every process take turns and each sees what the one before it committed.
        """
        if self.server:
            self.execute_on_server(
                cur,
                "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; "
                f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})",
            )

    def execute_on_server(self, cur: duckdb.DuckDBPyConnection, sql: str) -> None:
        """Run PostgreSQL's own SQL on the server, in the cursor's transaction."""
        # A literal, not a parameter: a parameter makes DuckDB load pandas, seconds of start-up.
        cur.execute(f"CALL postgres_execute('{ATTACHED}', {sql_literal(sql)})")

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
        if self.server:
            self._upgrade_server()
            return
        with self._write_lock, self.cursor() as cur:
            try:
                cur.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)"
                )
            except duckdb.Error as exc:
                self.conn.close()
                self._written(exc)
            row = cur.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                self.conn.close()
                raise StoreError(_version_problem(self.location, version))
            for number in range(version + 1, SCHEMA_VERSION + 1):
                self._begin(cur)
                try:
                    for statement in MIGRATIONS[number - 1]:
                        cur.execute(statement)
                    cur.execute("INSERT INTO schema_version VALUES (?)", [number])
                    cur.execute("COMMIT")
                except BaseException as exc:
                    _end(cur)
                    self.conn.close()
                    self._written(exc)

    def _upgrade_server(self) -> None:
        """The migrations, in PostgreSQL's own SQL, in one transaction that waits its turn:
        two servers starting at once on an empty database migrate it once."""
        with self._write_lock, self.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                self._take_turn(cur)
                self.execute_on_server(
                    cur, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)"
                )
                row = cur.execute(
                    f"SELECT * FROM postgres_query('{ATTACHED}', "
                    "'SELECT coalesce(max(version), 0) FROM schema_version')"
                ).fetchone()
                version = int(row[0]) if row else 0
                if version > SCHEMA_VERSION:
                    raise StoreError(_version_problem(self.location, version))
                for number in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[number - 1]:
                        self.execute_on_server(cur, server_ddl(statement))
                    self.execute_on_server(
                        cur, f"INSERT INTO schema_version VALUES ({int(number)})"
                    )
                cur.execute("COMMIT")
            except BaseException:
                _end(cur)
                raise
            # DuckDB caches the server's tables: let it see the ones just made.
            cur.execute("CALL pg_clear_cache()")

    # -- reading -------------------------------------------------------------------------

    def data_version(self) -> int:
        """A number that changes with every committed write: the key for caches."""
        with self.cursor() as cur:
            return _data_version(cur)

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


def _explain_open_error(
    location: str, exc: duckdb.IOException, *, read_only: bool = False
) -> StoreError:
    text = str(exc)
    if "lock" in text.lower():
        pid = re.search(r"PID (\d+)", text)
        return StoreBusyError(
            f"The store {location} is in use by {holder(int(pid.group(1)) if pid else None)}"
        )
    if not read_only and (reason := write_failure(exc)) is not None:
        return StoreWriteError(location, reason or None)
    first = (text.strip().splitlines() or [""])[0].removeprefix("IO Error: ")
    return StoreError(
        f"The store {location} could not be opened: it is not a coprod store or it is damaged "
        f"({first.rstrip('.! ').replace('. ', '; ')})."
    )


def command_line(pid: int) -> list[str] | None:
    """The command line of a running process (from /proc, on Linux), or None."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    args = [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]
    return args or None


def holder(pid: int | None) -> str:
    """Who holds a store file, and what to do about it: the end of a one-sentence message."""
    if pid is None:
        return "another program: stop it first, or point this command at another store."
    args = command_line(pid) or []
    names = [os.path.basename(a) for a in args]
    modules = {args[i + 1] for i, a in enumerate(args[:-1]) if a == "-m"}
    if "streamlit" in names or "streamlit" in modules:
        return (
            f"the dashboard (streamlit, process {pid}): stop it first, or load data through the "
            "dashboard's own pages."
        )
    start = next((i for i, n in enumerate(names) if n == "coprod"), None)
    if start is None and "coprod.cli" in modules:
        start = args.index("coprod.cli")
    if start is not None:
        shown = " ".join(["coprod", *args[start + 1 :]])
        if len(shown) > 120:
            shown = shown[:119] + "…"
        return (
            f"another coprod command ({printable(shown)}, process {pid}): wait for it to finish, "
            "then try again."
        )
    return (
        f"another program (process {pid}): stop it first, or point this command at another store."
    )
