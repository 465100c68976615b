"""Move a whole store between a DuckDB file and a PostgreSQL server (either way, or file to
file, server to server), and prove the copy is the same.

``migrate(source, target)`` opens the source read-only and the target for writing (creating and
migrating it if need be), then copies every table whole in ONE transaction on the target: every
record with its audit columns, withdrawn ones included, the health-check item bank, the people
who may sign in, the audit trail with its ids, and the settings of ``store_meta``. Either all of
it arrives or nothing changes. The source is read in one transaction too, so the copy is one
consistent snapshot even of a server in use.

A target that already holds anything (a record, a user, an audit-trail entry) is refused unless
``force``, which replaces everything in it. The target's audit sequence is moved on past the
copied ids, so new entries carry on after them, and its ``data_version`` goes up, so a dashboard
running on the target sees new data.

Before it commits, every table of the target is compared with what was read from the source;
after it commits, both stores are exported (the CSV interchange files) and compared byte for
byte, and every table is compared row for row. A difference is an error naming the first table
that differs. Every error is one sentence that never shows a server's password.
"""

from __future__ import annotations

import tempfile
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from coprod.interchange import export
from coprod.models import ENTITIES
from coprod.store import KEYS, TABLES, Store, StoreError, is_server, quote, shown_location

# The tables copied whole, in this order: everything but the bookkeeping of store_meta and
# schema_version. The audit trail comes last, so it is the last thing written.
COPIED: tuple[str, ...] = (*TABLES, "health_check_item", "app_user", "audit_log")
SETTINGS_TABLE = "store_meta"
# store_meta rows that are copied: all but the target's own data_version.
DATA_VERSION = "data_version"
AUDIT_SEQUENCE = "audit_seq"

# The key of every compared table: rows are compared in this order.
ROW_KEYS: dict[str, tuple[str, ...]] = {
    **KEYS,
    "health_check_item": ("board_id", "item"),
    "app_user": ("identity",),
    "audit_log": ("audit_id",),
    SETTINGS_TABLE: ("key",),
}


class MigrateError(StoreError):
    """A store that cannot be copied, or a copy that does not match, said in one sentence."""


@dataclass(frozen=True)
class MigrateResult:
    source: str  # locations as shown: never a password
    target: str
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows copied
    withdrawn: dict[str, int] = field(default_factory=dict)  # table -> withdrawn rows among them
    settings: dict[str, str] = field(default_factory=dict)  # store_meta, data_version aside
    replaced: int = 0  # rows the target held before (only with force)

    def lines(self) -> list[str]:
        """What was copied, one table a line, as the command line prints it."""
        out = []
        for table in COPIED:
            count = self.rows.get(table, 0)
            if table == "audit_log":
                out.append(f"{table}: {count} audit-trail {'entry' if count == 1 else 'entries'}")
                continue
            text = f"{table}: {count} {'record' if count == 1 else 'records'}"
            if self.withdrawn.get(table):
                text += f" ({self.withdrawn[table]} withdrawn)"
            out.append(text)
        if self.settings:
            out.append(
                "settings: " + ", ".join(f"{k} {v}" for k, v in sorted(self.settings.items()))
            )
        return out


def migrate(source: str, target: str, *, force: bool = False) -> MigrateResult:
    """Copy the whole store at ``source`` into ``target`` in one transaction, then verify it.

    Raises MigrateError (one sentence) when the two are the same store, when the source cannot
    be opened or has another schema version, when the target holds data and ``force`` is not
    given, when the copy fails (the target is then left as it was), or when the copy, once
    committed, does not match the source.
    """
    source, target = str(source), str(target)
    _refuse_same(source, target)
    new_file = not is_server(target) and not Path(target).exists()
    with _opened(source, read_only=True) as src:
        try:
            with _opened(target, read_only=False) as dst:
                result = _copy(src, dst, force=force)
        except BaseException:
            # A file made only for this copy is not left behind, empty, when the copy fails.
            if new_file:
                for path in (Path(target), Path(target + ".wal")):
                    path.unlink(missing_ok=True)
            raise
        with _opened(target, read_only=True) as dst:
            try:
                verify(src, dst)
            except duckdb.Error as exc:
                raise MigrateError(
                    f"The copy in {dst.location} was made but could not be checked against "
                    f"{src.location} ({_first_line(exc, src, dst)}), so check both stores "
                    "before using the copy."
                ) from None
    return result


# --- opening --------------------------------------------------------------------------------


@contextmanager
def _opened(location: str, *, read_only: bool) -> Iterator[Store]:
    try:
        store = Store(location, read_only=read_only)
    except MigrateError:
        raise
    except StoreError as exc:  # already one sentence without a password: keep its words
        raise MigrateError(str(exc)) from None
    except duckdb.Error as exc:  # for example a server user who may not create tables
        text = _hide_password((str(exc).strip().splitlines() or [""])[0], location)
        raise MigrateError(
            f"The store {shown_location(location)} could not be opened "
            f"({text.rstrip('.! ').replace('. ', '; ')}), so nothing was copied."
        ) from None
    try:
        yield store
    finally:
        store.close()


def _server_identity(location: str) -> tuple[str, int, str]:
    parts = urllib.parse.urlsplit(location)
    try:
        port = parts.port or 5432
    except ValueError:
        port = -1
    database = parts.path.lstrip("/") or (parts.username or "")
    return ((parts.hostname or "").lower(), port, urllib.parse.unquote(database))


def _refuse_same(source: str, target: str) -> None:
    for location, side in ((source, "from"), (target, "to")):
        if not location.strip():
            raise MigrateError(f"Say which store to copy {side}: a store file or a server address.")
        if location == ":memory:":
            raise MigrateError(
                "A store in memory cannot be copied from or to: name a store file or a server."
            )
    if is_server(source) and is_server(target):
        same = _server_identity(source) == _server_identity(target)
    elif not is_server(source) and not is_server(target):
        same = Path(source).resolve() == Path(target).resolve()
    else:
        same = False
    if same:
        raise MigrateError(
            f"{shown_location(source)} and {shown_location(target)} are the same store, so "
            "nothing was copied: name another store to copy to."
        )


# --- copying --------------------------------------------------------------------------------


def _hide_password(text: str, address: str) -> str:
    if not is_server(address):
        return text
    text = text.replace(address, shown_location(address))
    password = urllib.parse.urlsplit(address).password
    return text.replace(password, "***") if password else text


def _first_line(exc: BaseException, *stores: Store) -> str:
    """An error's first line, fit to end one sentence, with no server password in it."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    for store in stores:
        text = _hide_password(text, store.address)
    return text.rstrip(".! ").replace(". ", "; ")


def _columns(cur: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    result = cur.execute(f"SELECT * FROM {quote(table)} LIMIT 0")  # noqa: S608
    return [str(d[0]) for d in result.description or []]


def _count(cur: duckdb.DuckDBPyConnection, table: str) -> int:
    row = cur.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()  # noqa: S608
    return int(row[0]) if row else 0


def _held(cur: duckdb.DuckDBPyConnection) -> tuple[int, str | None]:
    """How many rows the copied tables hold, and the first table that holds any."""
    total, first = 0, None
    for table in COPIED:
        count = _count(cur, table)
        if count and first is None:
            first = table
        total += count
    return total, first


def _read(cur: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str]) -> pa.Table:
    """Every row of a source table, every column, as Arrow."""
    cols = ", ".join(quote(c) for c in columns)
    return cur.execute(f"SELECT {cols} FROM {quote(table)}").to_arrow_table()  # noqa: S608


def _write(cur: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    """Replace every row of a target table with ``rows``, every column given (a server's
    table gets no column defaults from DuckDB)."""
    cols = ", ".join(quote(c) for c in rows.column_names)
    cur.execute(f"DELETE FROM {quote(table)}")  # noqa: S608
    if rows.num_rows == 0:
        return
    cur.register("_migrating", rows)
    try:
        cur.execute(
            f"INSERT INTO {quote(table)} ({cols}) SELECT {cols} FROM _migrating"  # noqa: S608
        )
    finally:
        cur.unregister("_migrating")


def _sorted_rows(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> list[Any]:
    at = [list(columns).index(k) for k in ROW_KEYS[table]]
    return sorted(rows, key=lambda row: tuple(row[i] for i in at))


def _rows_of(cur: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str]) -> list[Any]:
    cols = ", ".join(quote(c) for c in columns)
    fetched = cur.execute(f"SELECT {cols} FROM {quote(table)}").fetchall()  # noqa: S608
    if table == SETTINGS_TABLE:
        fetched = [r for r in fetched if r[0] != DATA_VERSION]
    return _sorted_rows(table, columns, fetched)


def _arrow_rows(table: str, rows: pa.Table) -> list[Any]:
    names = rows.column_names
    return _sorted_rows(table, names, [tuple(r[c] for c in names) for r in rows.to_pylist()])


def _copy(src: Store, dst: Store, *, force: bool) -> MigrateResult:
    rows: dict[str, int] = {}
    withdrawn: dict[str, int] = {}
    with src.cursor() as read:
        # One read transaction: the copy is one snapshot of the source.
        read.execute("BEGIN TRANSACTION")
        try:
            with dst.transaction() as cur:
                replaced, first = _held(cur)
                if replaced and not force:
                    held = _count(cur, str(first))
                    raise MigrateError(
                        f"The store {dst.location} already holds data ({held} "
                        f"{'row' if held == 1 else 'rows'} in {first}), so nothing was copied: "
                        "use --force to replace everything in it."
                    )
                for table in COPIED:
                    _copy_table(src, dst, read, cur, table, rows, withdrawn)
                settings = _copy_settings(src, dst, read, cur)
                _continue_audit_sequence(dst, cur)
        finally:
            read.execute("ROLLBACK")
    return MigrateResult(
        source=src.location,
        target=dst.location,
        rows=rows,
        withdrawn=withdrawn,
        settings=settings,
        replaced=replaced,
    )


def _copy_table(
    src: Store,
    dst: Store,
    read: duckdb.DuckDBPyConnection,
    cur: duckdb.DuckDBPyConnection,
    table: str,
    rows: dict[str, int],
    withdrawn: dict[str, int],
) -> None:
    columns = _columns(cur, table)
    if sorted(_columns(read, table)) != sorted(columns):
        raise MigrateError(
            f"The table {table} has other columns in {src.location} than in {dst.location}, "
            "so nothing was copied."
        )
    try:
        data = _read(read, table, columns)
    except duckdb.Error as exc:
        raise MigrateError(
            f"The table {table} could not be read from {src.location} "
            f"({_first_line(exc, src, dst)}), so nothing was copied."
        ) from None
    try:
        _write(cur, table, data)
        copied = _rows_of(cur, table, columns)
    except duckdb.Error as exc:
        raise MigrateError(
            f"The table {table} could not be copied into {dst.location} "
            f"({_first_line(exc, src, dst)}), so nothing was changed there."
        ) from None
    if copied != _arrow_rows(table, data):
        raise MigrateError(
            f"The table {table} did not arrive in {dst.location} as it is in {src.location} "
            f"({data.num_rows} rows sent, {len(copied)} there), so nothing was changed there."
        )
    rows[table] = data.num_rows
    if "withdrawn_at" in columns:
        withdrawn[table] = data.num_rows - data.column("withdrawn_at").null_count


def _copy_settings(
    src: Store, dst: Store, read: duckdb.DuckDBPyConnection, cur: duckdb.DuckDBPyConnection
) -> dict[str, str]:
    """store_meta but the target's own data_version, which the transaction moves on."""
    try:
        settings = {
            str(k): str(v)
            for k, v in read.execute("SELECT key, value FROM store_meta").fetchall()
            if k != DATA_VERSION
        }
        cur.execute("DELETE FROM store_meta WHERE key <> ?", [DATA_VERSION])
        for key, value in sorted(settings.items()):
            cur.execute("INSERT INTO store_meta (key, value) VALUES (?, ?)", [key, value])
    except duckdb.Error as exc:
        raise MigrateError(
            f"The settings could not be copied into {dst.location} "
            f"({_first_line(exc, src, dst)}), so nothing was changed there."
        ) from None
    return settings


def _continue_audit_sequence(dst: Store, cur: duckdb.DuckDBPyConnection) -> None:
    """Move the audit sequence on past the copied ids: new entries carry on after them."""
    row = cur.execute("SELECT max(audit_id) FROM audit_log").fetchone()
    last = int(row[0]) if row and row[0] is not None else 0
    if last < 1:
        return
    try:
        if dst.server:
            # Never backwards: a replaced store's entries may have gone further.
            move = f"SELECT setval('{AUDIT_SEQUENCE}', GREATEST({last}, "
            move += f"(SELECT last_value FROM {AUDIT_SEQUENCE})))"  # noqa: S608
            dst.execute_on_server(cur, move)
            return
        at = cur.execute(
            "SELECT last_value FROM duckdb_sequences() WHERE sequence_name = ? "
            "AND database_name = current_database()",
            [AUDIT_SEQUENCE],
        ).fetchone()
        current = int(at[0]) if at and at[0] is not None else 0
        if last > current:
            # Literals, not parameters: a parameter here makes DuckDB load pandas.
            advance = f"SELECT max(nextval('{AUDIT_SEQUENCE}')) FROM range({last - current})"  # noqa: S608
            cur.execute(advance).fetchall()
    except duckdb.Error as exc:
        raise MigrateError(
            f"The audit trail's numbering could not be moved on in {dst.location} "
            f"({_first_line(exc, dst)}), so nothing was changed there."
        ) from None


# --- verifying ------------------------------------------------------------------------------


def _differs(source: Store, target: Store, table: str, detail: str) -> MigrateError:
    return MigrateError(
        f"The copy in {target.location} does not match {source.location}: the table {table} "
        f"differs ({detail}), so check both stores before using the copy."
    )


def verify(source: Store, target: Store) -> None:
    """Raise MigrateError naming the first table that differs between the two stores: their
    CSV exports byte for byte, and every table (withdrawn rows, audit columns, the audit
    trail, users, the item bank, the settings) row for row."""
    with tempfile.TemporaryDirectory(prefix="coprod-migrate-") as folder:
        export(source, Path(folder) / "source", "csv")
        export(target, Path(folder) / "target", "csv")
        exported = {
            entity.table: (
                (Path(folder) / "source" / f"{entity.file_name}.csv").read_bytes(),
                (Path(folder) / "target" / f"{entity.file_name}.csv").read_bytes(),
            )
            for entity in ENTITIES
        }
    with source.cursor() as a, target.cursor() as b:
        for table in (*COPIED, SETTINGS_TABLE):
            if table in exported and exported[table][0] != exported[table][1]:
                raise _differs(source, target, table, "its exports are not the same")
            columns = _columns(b, table)
            theirs, ours = _rows_of(a, table, columns), _rows_of(b, table, columns)
            if len(theirs) != len(ours):
                detail = f"{len(theirs)} rows in the source, {len(ours)} in the copy"
                raise _differs(source, target, table, detail)
            if theirs != ours:
                detail = f"{len(ours)} rows in both, but not the same rows"
                raise _differs(source, target, table, detail)
