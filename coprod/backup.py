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

``restore`` checks the manifest and every checksum before it touches anything, then validates
every row of every table exactly as an import validates it (withdrawn rows too, as they are
restored too): a backup whose checksums were re-computed after its rows were changed is refused
with every problem, each naming the file, row and field (``BackupRejected``). It then builds the
new store in a temporary file next to the target from the store's own schema (it never runs SQL
from the backup), loads the parquet files, checks the loaded tables row for row against them,
and only then renames the file over the target in one atomic step. A store that holds data is
replaced only with ``force`` and is kept as ``<name>.before-restore``.

A backup or restore that was killed leaves its hidden folder (``.<folder>.partial-<pid>``) or
file (``<store>.restoring-<pid>``) behind; the next backup or restore removes those of processes
no longer running, and says so (``leftovers`` of the result).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import textwrap
from contextlib import suppress
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import duckdb

from coprod.access import EVERY_BOARD
from coprod.outputs import Leftover, process_alive, remove_leftovers, staging_for
from coprod.settings import store_location
from coprod.store import (
    COLUMNS,
    MIGRATIONS,
    SCHEMA_VERSION,
    TABLES,
    Store,
    StoreBusyError,
    StoreError,
    current_user,
    is_server,
    path_literal,
    quote,
    unwritable,
    write_failure,
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


class BackupRejected(BackupError):
    """A backup whose rows an import would refuse: nothing was restored. The message is one
    sentence; ``problems`` lists every problem (file, row, field, reason) as an import does."""

    def __init__(self, folder: Path, problems: list[Any]) -> None:
        self.problems = problems
        count = len(problems)
        super().__init__(
            f"The backup {folder} holds records an import would refuse ({count} "
            f"problem{'s' if count != 1 else ''}), so nothing was restored."
        )


@dataclass(frozen=True)
class BackupResult:
    folder: Path
    manifest: dict[str, Any]
    # Files and folders of backups that were killed, removed (or found still in use) first.
    leftovers: tuple[Leftover, ...] = field(default=())

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
    # Files of restores that were killed, removed (or found still in use) first.
    leftovers: tuple[Leftover, ...] = field(default=())


def coprod_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("coprod")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


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
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _not_written(folder, exc) from None
    leftovers = tuple(remove_leftovers(folder.parent))
    staging = staging_for(folder)
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
    except (OSError, duckdb.Error) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise _not_written(folder, exc) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BackupResult(folder, manifest, leftovers)


def _not_written(folder: Path, exc: BaseException) -> BackupError:
    """A backup that could not be written, in one sentence: a full disk says so."""
    reason = write_failure(exc)
    if reason is not None:
        why = unwritable(reason)
        return BackupError(
            f"The backup {folder} could not be written ({why}), so no backup was made."
        )
    return BackupError(
        f"The backup {folder} could not be written ({_first_line(exc)}), so no backup was made."
    )


def _export(store: Store, staging: Path) -> dict[str, Any]:
    with store.cursor() as cur:
        # One transaction: the files, the sequence and the schema version are one snapshot.
        cur.execute("BEGIN TRANSACTION")
        try:
            cur.execute(f"EXPORT DATABASE {path_literal(staging)} (FORMAT parquet)")
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
        except BaseException:
            with suppress(duckdb.Error):  # a snapshot: ending it never hides why it failed
                cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
        tables: dict[str, dict[str, Any]] = {}
        for name in names:
            path = staging / f"{name}.parquet"
            if not path.is_file():
                raise BackupError(
                    f"DuckDB did not write {path.name} for the table {name}, so no backup was made."
                )
            entry: dict[str, Any] = {"file": path.name, "rows": _parquet_rows(cur, path)}
            columns = cur.execute(f"DESCRIBE SELECT * FROM read_parquet({path_literal(path)})")  # noqa: S608
            if "withdrawn_at" in {str(c[0]) for c in columns.fetchall()}:
                row = cur.execute(
                    f"SELECT count(*) FROM read_parquet({path_literal(path)}) "  # noqa: S608
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
    row = cur.execute(f"SELECT count(*) FROM read_parquet({path_literal(path)})").fetchone()  # noqa: S608
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


# --- validating a backup's rows ------------------------------------------------------------

# The audit columns that hold text a person or a program wrote.
_AUDIT_TEXT = ("created_by", "updated_by", "withdrawn_by", "withdrawn_reason")
_RECORD_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_ITEM_ID = re.compile(r"^[a-z0-9_]{1,64}$")
# The audit trail's values before and after each change: JSON of records that were validated
# when they were written, and longer than a text may be; not read to validate a backup.
_JSON_COLUMNS = ("before", "after")


def validate_backup(folder: Path, manifest: dict[str, Any]) -> None:
    """Validate every row of a verified backup exactly as an import validates it.

    Every record (withdrawn ones too: they are restored too) is read from its parquet file and
    validated by ``coprod.interchange.validate`` against an empty store, so the backup must be
    whole on its own: every id, enum value, date, text and reference as an import requires. A
    record must also be stored as an import stores it (an enum value ``Co-design`` validates,
    but coprod keeps ``co_design``). Then the audit columns, the people who may sign in, the
    health-check item bank, the audit trail and the settings: every text must be storable.
    Raises BackupRejected with every problem, each naming the file, its row (the first row is
    1) and the field.
    """
    from coprod.interchange import ImportRejected, Problem, Sheet, validate
    from coprod.models import ENTITIES

    tables: dict[str, dict[str, Any]] = manifest["tables"]
    problems: list[Problem] = []
    sheets: list[Sheet] = []
    conn = duckdb.connect(":memory:")
    try:
        for entity in ENTITIES:
            name = str(tables[entity.table]["file"])
            path = folder / name
            names, rows = _read_rows(conn, path)
            columns = [c for c, _ in COLUMNS[entity.table] if c in names]
            sheet = Sheet(name, entity, columns)
            for number, row in enumerate(rows, start=1):
                sheet.rows.append((number, {c: row[c] for c in columns}))
                problems.extend(_text_problems(name, number, row, _AUDIT_TEXT))
            sheets.append(sheet)
        boards = {str(v) for _n, row in sheets[0].rows if (v := row.get("board_id")) is not None}
        for table, check in _OTHER_TABLES.items():
            if table in tables:
                name = str(tables[table]["file"])
                _names, rows = _read_rows(conn, folder / name, skip=_JSON_COLUMNS)
                for number, row in enumerate(rows, start=1):
                    problems.extend(check(name, number, row, boards))
    finally:
        conn.close()
    try:
        with Store(":memory:") as empty:
            records = validate(empty, sheets)
    except ImportRejected as rejected:
        problems = [*rejected.problems, *problems]
    else:
        for sheet in sheets:
            kept = records.get(sheet.entity.table, [])
            for (number, row), record in zip(sheet.rows, kept, strict=True):
                problems.extend(_canonical_problems(sheet.name, number, row, record))
    if problems:
        raise BackupRejected(folder, problems)


def _read_rows(
    conn: duckdb.DuckDBPyConnection, path: Path, *, skip: tuple[str, ...] = ()
) -> tuple[list[str], list[dict[str, Any]]]:
    """Every row of a parquet file, in file order, as {column: value} (but ``skip``)."""
    source = f"read_parquet({path_literal(path)})"
    described = conn.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()  # noqa: S608
    names = [str(c[0]) for c in described if str(c[0]) not in skip]
    if not names:
        return [], []
    cols = ", ".join(f'"{n.replace(chr(34), chr(34) * 2)}"' for n in names)
    result = conn.execute(f"SELECT {cols} FROM {source}")  # noqa: S608
    return names, [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _problem(file: str, row: int, column: str, reason: str) -> Any:
    from coprod.interchange import Problem

    return Problem(file, row, column, reason)


def _text_problems(
    file: str, number: int, row: dict[str, Any], columns: tuple[str, ...]
) -> list[Any]:
    """A text that no record may hold (a control character, more than a cell holds)."""
    from coprod.models import storable_problem

    out = []
    for column in columns:
        value = row.get(column)
        if value is None:
            continue
        if not isinstance(value, str):
            out.append(_problem(file, number, column, f"'{value}' is not a text"))
        elif problem := storable_problem(value):
            out.append(_problem(file, number, column, problem))
    return out


def _required_text(file: str, number: int, row: dict[str, Any], column: str) -> list[Any]:
    value = row.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        return [_problem(file, number, column, "a value is required")]
    return []


def _app_user_problems(file: str, number: int, row: dict[str, Any], boards: set[str]) -> list[Any]:
    from coprod.access import Role
    from coprod.users import UserError, normalise_identity

    out = [
        *_required_text(file, number, row, "identity"),
        *_text_problems(file, number, row, ("identity", "name", "role", "boards", *_AUDIT_TEXT)),
    ]
    if out:
        return out
    identity = str(row["identity"])
    try:
        if normalise_identity(identity) != identity:
            out.append(_problem(file, number, "identity", f"'{identity}' is not kept lower-cased"))
    except UserError:
        out.append(_problem(file, number, "identity", f"'{identity}' is not an email address"))
    if row.get("role") not in {r.value for r in Role}:
        out.append(
            _problem(
                file,
                number,
                "role",
                f"'{row.get('role')}' is not a role; use one of "
                + ", ".join(r.value for r in Role),
            )
        )
    parts = str(row.get("boards") or "").split(";")
    if parts != [EVERY_BOARD] and not all(_RECORD_ID.match(p) for p in parts if p):
        out.append(_problem(file, number, "boards", f"'{row.get('boards')}' is not * or board ids"))
    return out


def _item_problems(file: str, number: int, row: dict[str, Any], boards: set[str]) -> list[Any]:
    out = [
        *_required_text(file, number, row, "statement"),
        *_text_problems(file, number, row, ("board_id", "item", "statement", *_AUDIT_TEXT)),
    ]
    board = row.get("board_id")
    if board != EVERY_BOARD and board not in boards:
        out.append(_problem(file, number, "board_id", f"no board has the id '{board}'"))
    item = row.get("item")
    if not isinstance(item, str) or not _ITEM_ID.match(item):
        out.append(
            _problem(
                file, number, "item", f"'{item}' is not 1 to 64 lower-case letters, digits or _"
            )
        )
    return out


def _audit_problems(file: str, number: int, row: dict[str, Any], boards: set[str]) -> list[Any]:
    return _text_problems(file, number, row, ("actor", "source", "entity", "record_key", "action"))


def _meta_problems(file: str, number: int, row: dict[str, Any], boards: set[str]) -> list[Any]:
    return _text_problems(file, number, row, ("key", "value"))


_OTHER_TABLES = {
    "app_user": _app_user_problems,
    "health_check_item": _item_problems,
    "audit_log": _audit_problems,
    "store_meta": _meta_problems,
}


def _stored(value: Any) -> Any:
    """A value as the store holds it, to compare what a backup holds with what an import would
    store: an enum as its text, a list as a list of texts, a date as a date."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_stored(v) for v in value]
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value


def _canonical_problems(file: str, number: int, row: dict[str, Any], record: Any) -> list[Any]:
    out = []
    for column, value in row.items():
        got = getattr(record, column)
        if value == got and (
            type(value) is type(got) or (type(value) is str and isinstance(got, Enum))
        ):
            continue
        if _same_stored(value, got):
            continue
        expected = _stored(got)
        out.append(
            _problem(
                file,
                number,
                column,
                f"holds {_stored(value)!r}, which coprod would store as {expected!r}",
            )
        )
    return out


def _same_stored(value: Any, got: Any) -> bool:
    """Whether a value read from a backup is what the store holds for the validated ``got``."""
    held, expected = _stored(value), _stored(got)
    if held == expected and type(held) is type(expected):
        return True
    # A date kept as text: the store reads it as that date.
    return isinstance(expected, dt.date) and held == expected.isoformat()


# --- restoring ------------------------------------------------------------------------------


def restore(
    source: str | Path, location: str | Path | None = None, *, force: bool = False
) -> RestoreResult:
    """Restore the backup folder ``source`` into the store at ``location``; all or nothing.

    Refuses a backup whose rows an import would refuse (BackupRejected, with every problem), a
    store that holds data unless ``force`` (it is then kept as ``<name>.before-restore``), and
    a store another process holds (StoreBusyError). On any failure the target is left exactly
    as it was.
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
    validate_backup(folder, manifest)  # before anything is touched
    made = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _restore_failed(folder, target, exc) from None
    try:
        return _restore_into(folder, manifest, target, before, force=force)
    except BaseException:
        for path in made:  # the folders made for a store that never came to be
            try:
                path.rmdir()
            except OSError:
                break
        raise


def _restore_into(
    folder: Path, manifest: dict[str, Any], target: Path, before: Path, *, force: bool
) -> RestoreResult:
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

    leftovers = tuple(remove_restore_leftovers(target))
    building = target.with_name(f"{target.name}{RESTORING}-{os.getpid()}")
    try:
        _remove_store_files(building)
        try:
            _build(folder, manifest, building)
        except BackupError:
            raise
        except (duckdb.Error, StoreError, OSError, ValueError) as exc:
            raise _restore_failed(folder, target, exc) from None
        # The swap: hold nothing open, keep the old file, then one atomic rename.
        if current is not None:
            current.close()
            current = None
        try:
            _swap(building, target, before if holds_data else None)
        except OSError as exc:
            raise _restore_failed(folder, target, exc) from None
    finally:
        if current is not None:
            current.close()
        _remove_store_files(building)
    return RestoreResult(target, manifest, before if holds_data else None, leftovers)


def _restore_failed(folder: Path, target: Path, exc: BaseException) -> BackupError:
    """Why a restore failed, in one sentence: a full disk says so."""
    from coprod.store import StoreWriteError

    reason = exc.reason if isinstance(exc, StoreWriteError) else write_failure(exc)
    if reason is not None:
        why = unwritable(reason)
        return BackupError(
            f"The store {target} could not be written ({why}), so nothing was restored and "
            "the store was left unchanged."
        )
    return BackupError(
        f"The backup {folder} could not be loaded ({_first_line(exc)}), so the store was left "
        "unchanged."
    )


_RESTORING = re.compile(r"^(?P<name>.+)\.restoring(?:-(?P<pid>\d+))?(?:\.wal)?$")


def remove_restore_leftovers(target: Path) -> list[Leftover]:
    """Remove the ``<store>.restoring-<pid>`` files (and their .wal) of restores into
    ``target`` that were killed; say what was removed, and what was left alone because its
    process is still running. ``<store>.restoring``, as an older coprod named it, is removed
    when no process holds it open."""
    found: list[Leftover] = []
    what = "a store an interrupted restore was building"
    try:
        entries = sorted(target.parent.iterdir())
    except OSError:
        return found
    for path in entries:
        match = _RESTORING.match(path.name)
        if not match or match["name"] != target.name or path.is_dir():
            continue
        pid = int(match["pid"]) if match["pid"] else None
        if pid == os.getpid():
            continue
        if pid is None:
            if _held_open(path):
                continue
            path.unlink(missing_ok=True)
            found.append(Leftover(path, None, what, removed=True))
        elif process_alive(pid):
            found.append(Leftover(path, pid, what, removed=False))
        else:
            path.unlink(missing_ok=True)
            found.append(Leftover(path, pid, what, removed=True))
    return found


def _held_open(path: Path) -> bool:
    """Whether another process has the DuckDB file ``path`` open (its lock)."""
    if path.name.endswith(".wal"):
        return _held_open(path.with_name(path.name.removesuffix(".wal")))
    if not path.exists():
        return False
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.IOException as exc:
        return "lock" in str(exc).lower()
    except duckdb.Error:
        return False
    return False


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
    source = f"read_parquet({path_literal(path)})"
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
