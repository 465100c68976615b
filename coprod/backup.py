"""Backups of the store, and restoring one without ever leaving a store half-written.

A backup is a folder that describes itself:

``schema.sql``, ``load.sql``, ``<table>.parquet``
    DuckDB's ``EXPORT DATABASE ... (FORMAT parquet)`` of every table: all records, withdrawn
    ones included, with their audit columns, the ``audit_log``, ``store_meta`` and
    ``schema_version``. DuckDB alone can load it (``IMPORT DATABASE 'folder'``).
``README.txt``
    What the backup holds and how to restore it, for a person.
``manifest.json``
    Written last, so a backup without one was never finished: the format, the store's schema
    version, the coprod and DuckDB versions, when and by whom it was made, the rows of every
    table, the audit sequence, and the size and SHA-256 of every other file.

``restore`` checks the manifest and every checksum before it touches anything, builds the new
store in a temporary file next to the target from the store's own schema (it never runs SQL
from the backup), loads the parquet files, checks the loaded tables row for row against them,
and only then renames the file over the target in one atomic step. A store that holds data is
replaced only with ``force`` and is kept as ``<name>.before-restore``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from coprod.settings import store_location
from coprod.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    TABLES,
    Store,
    StoreBusyError,
    StoreError,
    current_user,
    is_server,
    quote,
)

FORMAT = "coprod-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
README = "README.txt"
BEFORE_RESTORE = ".before-restore"
RESTORING = ".restoring"
# Tables every backup must hold, whatever the schema version.
REQUIRED_TABLES = (*TABLES, "audit_log", "store_meta", "schema_version")


class BackupError(StoreError):
    """A backup that cannot be made or restored, said in one sentence."""


@dataclass(frozen=True)
class BackupResult:
    folder: Path
    manifest: dict[str, Any]

    @property
    def size(self) -> int:
        return sum(int(f["bytes"]) for f in self.manifest["files"].values()) + (
            (self.folder / MANIFEST).stat().st_size
        )


@dataclass(frozen=True)
class RestoreResult:
    location: Path
    manifest: dict[str, Any]
    kept: Path | None  # where the store that held data was kept, if there was one


def coprod_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("coprod")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _literal(path: Path) -> str:
    """A path as a SQL string literal (EXPORT DATABASE takes no parameters)."""
    return "'" + str(path.resolve()).replace("'", "''") + "'"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _first_line(exc: BaseException) -> str:
    """An error's first line, fit to end one sentence."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text.rstrip(".! ").replace(". ", "; ")


# --- making a backup ------------------------------------------------------------------------


def backup(store: Store, out: str | Path) -> BackupResult:
    """Write a complete copy of the store to the new (or empty) folder ``out``.

    The copy is one consistent snapshot, so it may be made from a store that is in use in this
    process (the dashboard's own). It is written to a hidden folder beside ``out`` and renamed
    into place only once it is complete, so ``out`` is never a partial backup.
    """
    if store.server:
        raise BackupError(
            f"{store.location} is a PostgreSQL store: back it up with PostgreSQL's own tools "
            "(pg_dump, or the server's continuous archiving), or copy it into a store file with "
            "'coprod migrate --from SERVER --to FILE' and back up that file."
        )
    folder = Path(out)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(
            f"{folder} already exists and is not an empty folder: choose a new folder for the "
            "backup."
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f".{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        manifest = _export(store, staging)
        _write_readme(staging, manifest)
        manifest["files"] = {
            path.name: {"bytes": path.stat().st_size, "sha256": _sha256(path)}
            for path in sorted(staging.iterdir())
        }
        (staging / MANIFEST).write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        for path in staging.iterdir():
            _fsync(path)
        _fsync(staging)
        if folder.exists():
            folder.rmdir()  # empty, checked above
        os.replace(staging, folder)
        _fsync(folder.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BackupResult(folder, manifest)


def _export(store: Store, staging: Path) -> dict[str, Any]:
    with store.cursor() as cur:
        # One transaction: the files, the sequence and the schema version are one snapshot.
        cur.execute("BEGIN TRANSACTION")
        try:
            cur.execute(f"EXPORT DATABASE {_literal(staging)} (FORMAT parquet)")
            names = [
                str(row[0])
                for row in cur.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
                    "AND database_name = current_database() AND schema_name = 'main' "
                    "ORDER BY table_name"
                ).fetchall()
            ]
            sequences = {
                str(name): None if last is None else int(last)
                for name, last in cur.execute(
                    "SELECT sequence_name, last_value FROM duckdb_sequences() "
                    "WHERE NOT temporary AND database_name = current_database() "
                    "ORDER BY sequence_name"
                ).fetchall()
            }
            version_row = cur.execute("SELECT max(version) FROM schema_version").fetchone()
            data_row = cur.execute(
                "SELECT value FROM store_meta WHERE key = 'data_version'"
            ).fetchone()
        finally:
            cur.execute("COMMIT")
        tables: dict[str, dict[str, Any]] = {}
        for name in names:
            path = staging / f"{name}.parquet"
            if not path.is_file():
                raise BackupError(
                    f"DuckDB did not write {path.name} for the table {name}, so no backup was made."
                )
            entry: dict[str, Any] = {"file": path.name, "rows": _parquet_rows(cur, path)}
            columns = cur.execute(f"DESCRIBE SELECT * FROM read_parquet({_literal(path)})")  # noqa: S608
            if "withdrawn_at" in {str(c[0]) for c in columns.fetchall()}:
                row = cur.execute(
                    f"SELECT count(*) FROM read_parquet({_literal(path)}) "  # noqa: S608
                    "WHERE withdrawn_at IS NOT NULL"
                ).fetchone()
                entry["withdrawn"] = int(row[0]) if row else 0
            tables[name] = entry
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise BackupError(f"The store {store.location} has no table {missing[0]}.")
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "schema_version": int(version_row[0]) if version_row and version_row[0] else 0,
        "data_version": int(data_row[0]) if data_row else 0,
        "coprod_version": coprod_version(),
        "duckdb_version": duckdb.__version__,
        "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "created_by": current_user(),
        "store": str(Path(store.location).resolve()),
        "tables": tables,
        "sequences": sequences,
    }


def record_tables(manifest: dict[str, Any]) -> list[str]:
    """The tables of a backup that hold records: the entities first, then any others."""
    others = sorted(t for t in manifest["tables"] if t not in (*TABLES, "audit_log", *BOOKKEEPING))
    return [*TABLES, *others]


def record_count(manifest: dict[str, Any]) -> int:
    return sum(int(manifest["tables"][t]["rows"]) for t in record_tables(manifest))


def _parquet_rows(cur: duckdb.DuckDBPyConnection, path: Path) -> int:
    row = cur.execute(f"SELECT count(*) FROM read_parquet({_literal(path)})").fetchone()  # noqa: S608
    return int(row[0]) if row else 0


def _write_readme(staging: Path, manifest: dict[str, Any]) -> None:
    tables = manifest["tables"]
    records = textwrap.fill(
        "Records, withdrawn ones included: "
        + ", ".join(
            f"{name} {tables[name]['rows']}"
            + (f" ({tables[name]['withdrawn']} withdrawn)" if tables[name].get("withdrawn") else "")
            for name in record_tables(manifest)
        )
        + ".",
        width=92,
    )
    text = f"""coprod backup
=============

Store:          {manifest["store"]}
Made:           {manifest["created_at"]} (UTC) by {manifest["created_by"]}
Schema version: {manifest["schema_version"]} (coprod {manifest["coprod_version"]}, \
DuckDB {manifest["duckdb_version"]})

{records}
Audit trail entries: {tables["audit_log"]["rows"]}.

Every table of the store is here as a parquet file (schema.sql and load.sql are DuckDB's own
EXPORT DATABASE files). manifest.json lists every file with its size and SHA-256 checksum.

Restore with coprod, which checks every file first and never replaces a store that holds data
unless told to (the replaced store is kept as <store>.before-restore):

    coprod restore THIS-FOLDER --db path/to/store.duckdb [--force]

Or load it with DuckDB alone:

    duckdb new.duckdb "IMPORT DATABASE 'THIS-FOLDER'"
"""
    (staging / README).write_text(text, encoding="utf-8")


# --- checking a backup ----------------------------------------------------------------------


def verify_backup(source: str | Path) -> dict[str, Any]:
    """The manifest of a complete, undamaged backup; BackupError (one sentence) otherwise."""
    folder = Path(source)
    if not folder.is_dir():
        raise BackupError(f"There is no backup folder at {folder}.")
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(
            f"{folder} is not a complete coprod backup: it has no {MANIFEST}, so nothing was "
            "restored."
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files: dict[str, dict[str, Any]] = manifest["files"]
        tables: dict[str, dict[str, Any]] = manifest["tables"]
        schema_version = int(manifest["schema_version"])
        format_version = int(manifest.get("format_version", 0))
        if not isinstance(manifest.get("sequences") or {}, dict):
            raise ValueError("sequences is not a mapping")
        if manifest.get("format") != FORMAT:
            raise ValueError("not a coprod backup")
        for entry in tables.values():
            int(entry["rows"])
            str(entry["file"])
        for entry in files.values():
            int(entry["bytes"])
            str(entry["sha256"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise BackupError(
            f"The backup {folder} is damaged: its {MANIFEST} cannot be read, so nothing was "
            "restored."
        ) from None
    if format_version > FORMAT_VERSION or schema_version > SCHEMA_VERSION:
        raise BackupError(
            f"The backup {folder} was made by a newer version of coprod (schema "
            f"{schema_version}): upgrade coprod to restore it."
        )
    for table in REQUIRED_TABLES:
        if table not in tables:
            raise BackupError(
                f"The backup {folder} is incomplete: it has no table {table}, so nothing was "
                "restored."
            )
    for name in sorted({*files, *(t["file"] for t in tables.values())}):
        path = folder / name
        if name not in files or Path(name).name != name or name == MANIFEST:
            raise BackupError(
                f"The backup {folder} is damaged: its {MANIFEST} does not describe {name}, so "
                "nothing was restored."
            )
        if not path.is_file():
            raise BackupError(
                f"The backup {folder} is incomplete: {name} is missing, so nothing was restored."
            )
        expected = files[name]
        if path.stat().st_size != int(expected["bytes"]) or _sha256(path) != expected["sha256"]:
            raise BackupError(
                f"The backup {folder} is damaged: {name} does not match its checksum, so nothing "
                "was restored."
            )
    return dict(manifest)


# --- restoring ------------------------------------------------------------------------------


def restore(
    source: str | Path, location: str | Path | None = None, *, force: bool = False
) -> RestoreResult:
    """Restore the backup folder ``source`` into the store at ``location``; all or nothing.

    Refuses a store that holds data unless ``force`` (it is then kept as
    ``<name>.before-restore``), and a store another process holds (StoreBusyError). On any
    failure the target is left exactly as it was.
    """
    folder = Path(source)
    manifest = verify_backup(folder)
    where = store_location(location)
    if is_server(where):
        raise BackupError(
            "A backup is restored into a store file: to put it on a PostgreSQL server, restore "
            "it into a file, then copy that with 'coprod migrate --from FILE --to SERVER'."
        )
    if where == ":memory:":
        raise BackupError("A backup can only be restored into a store file, not into memory.")
    target = Path(where)
    before = target.with_name(target.name + BEFORE_RESTORE)
    target.parent.mkdir(parents=True, exist_ok=True)

    current: Store | None = None
    holds_data = False
    if target.exists():
        try:
            current = Store(target)  # also tells us when another process holds it
        except StoreBusyError:
            raise
        except StoreError as exc:
            if not force:
                raise BackupError(
                    f"{_first_line(exc)}; nothing was restored (use --force to replace that "
                    f"store, which is then kept as {before.name})."
                ) from None
            holds_data = True
        else:
            holds_data = _holds_data(current)
            if holds_data and not force:
                current.close()
                raise BackupError(
                    f"The store {target} already holds data, so nothing was restored: use "
                    f"--force to replace it (it is then kept as {before.name})."
                )
        if holds_data and (before.exists() or _wal(before).exists()):
            if current is not None:
                current.close()
            raise BackupError(
                f"{before} is still there from an earlier restore, so nothing was restored: "
                "move or delete it first."
            )

    building = target.with_name(target.name + RESTORING)
    try:
        _remove_store_files(building)
        try:
            _build(folder, manifest, building)
        except BackupError:
            raise
        except (duckdb.Error, StoreError, OSError, ValueError) as exc:
            raise BackupError(
                f"The backup {folder} could not be loaded ({_first_line(exc)}), so the store was "
                "left unchanged."
            ) from None
        # The swap: hold nothing open, keep the old file, then one atomic rename.
        if current is not None:
            current.close()
            current = None
        _swap(building, target, before if holds_data else None)
    finally:
        if current is not None:
            current.close()
        _remove_store_files(building)
    return RestoreResult(target, manifest, before if holds_data else None)


# Tables that describe the store rather than hold what people recorded.
BOOKKEEPING = ("schema_version", "store_meta")


def _holds_data(store: Store) -> bool:
    """Whether any table other than the bookkeeping ones has a row (records, audit trail, ...)."""
    with store.cursor() as cur:
        names = [
            str(row[0])
            for row in cur.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
                "AND database_name = current_database() AND schema_name = 'main'"
            ).fetchall()
        ]
        for name in names:
            if name in BOOKKEEPING:
                continue
            row = cur.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()  # noqa: S608
            if row and row[0]:
                return True
    return False


def _swap(new: Path, target: Path, keep_as: Path | None) -> None:
    """Put ``new`` in place of ``target`` with one rename, keeping the old file as ``keep_as``.

    If the rename fails, the target is still the old store and nothing extra is left behind.
    """
    kept = moved_wal = False
    try:
        if keep_as is not None and target.exists():
            _keep(target, keep_as)
            kept = True
        if _wal(target).exists():  # only after a store that could not be opened
            if keep_as is not None:
                os.replace(_wal(target), _wal(keep_as))
                moved_wal = True
            else:
                _wal(target).unlink()
        os.replace(new, target)
    except BaseException:
        if moved_wal and keep_as is not None:
            os.replace(_wal(keep_as), _wal(target))
        if kept and keep_as is not None:
            keep_as.unlink(missing_ok=True)
        raise
    _fsync(target.parent)


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _remove_store_files(path: Path) -> None:
    path.unlink(missing_ok=True)
    _wal(path).unlink(missing_ok=True)


def _keep(target: Path, before: Path) -> None:
    """A second name for the current store file, so it survives the rename over it."""
    try:
        os.link(target, before)
    except OSError:  # a file system without hard links
        shutil.copy2(target, before)


def _build(folder: Path, manifest: dict[str, Any], path: Path) -> None:
    """A new store file at ``path`` holding exactly the backup, checked table by table."""
    version = int(manifest["schema_version"])
    tables: dict[str, dict[str, Any]] = manifest["tables"]
    conn = duckdb.connect(str(path))
    try:
        conn.execute("BEGIN TRANSACTION")
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)")
        for migration in MIGRATIONS[:version]:
            for statement in migration:
                conn.execute(statement)
        created = {
            str(row[0])
            for row in conn.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
                "AND database_name = current_database()"
            ).fetchall()
        }
        if created != set(tables):
            odd = sorted(created ^ set(tables))[0]
            raise BackupError(
                f"The backup {folder} does not match schema version {version}: the table {odd} "
                "is only on one side, so nothing was restored."
            )
        for name, entry in sorted(tables.items()):
            _load_table(conn, folder, name, folder / str(entry["file"]), int(entry["rows"]))
        for name, last in (manifest.get("sequences") or {}).items():
            if last:
                # Move the sequence on to where it was, so new audit ids carry on after the
                # restored ones. Literals rather than parameters: a parameter makes DuckDB load
                # pandas, a second of start-up for nothing.
                quote(str(name))  # a plain identifier, or ValueError
                advance = f"SELECT max(nextval('{name}')) FROM range({int(last)})"  # noqa: S608
                conn.execute(advance).fetchall()
        conn.execute("COMMIT")
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    # Open it as coprod does: it upgrades an older backup to the current schema.
    with Store(path) as restored:
        if restored.schema_version() != SCHEMA_VERSION:  # pragma: no cover - defensive
            raise BackupError(f"The backup {folder} could not be upgraded to the current schema.")


def _load_table(
    conn: duckdb.DuckDBPyConnection, folder: Path, name: str, path: Path, rows: int
) -> None:
    table = quote(name)
    source = f"read_parquet({_literal(path)})"
    columns = [str(r[0]) for r in conn.execute(f"DESCRIBE {table}").fetchall()]
    described = conn.execute(f"DESCRIBE SELECT * FROM {source}")  # noqa: S608
    in_file = [str(r[0]) for r in described.fetchall()]
    if sorted(columns) != sorted(in_file):
        raise BackupError(
            f"The backup {folder} is damaged: {path.name} does not have the columns of the "
            f"table {name}, so nothing was restored."
        )
    cols = ", ".join(quote(c) for c in columns)
    conn.execute(f"DELETE FROM {table}")  # noqa: S608 - the rows a migration seeds
    conn.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {source}")  # noqa: S608
    loaded = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    differs = conn.execute(
        f"SELECT (SELECT count(*) FROM (SELECT {cols} FROM {table} EXCEPT ALL "  # noqa: S608
        f"SELECT {cols} FROM {source})) + (SELECT count(*) FROM (SELECT {cols} FROM {source} "
        f"EXCEPT ALL SELECT {cols} FROM {table}))"
    ).fetchone()
    if not loaded or int(loaded[0]) != rows or not differs or int(differs[0]) != 0:
        raise BackupError(
            f"The backup {folder} is damaged: the table {name} does not hold the {rows} rows "
            "its manifest lists, so nothing was restored."
        )
