"""Backup and restore: a complete, self-describing copy, restored all or nothing.

A backup holds every table (withdrawn records, audit columns, the audit trail, the schema
version); restoring it gives a store whose exports and audit trail are the original's. A damaged
or partial backup, a store that holds data (without --force) and a store held by another process
are refused in one sentence, and the target is left exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from builders import CHANGE, Dataset, one_sentence, withdraw
from pg_support import PostgresServer

from coprod import backup as backup_module
from coprod import store as store_module
from coprod.backup import BackupError, BackupRejected, backup, restore, verify_backup
from coprod.cli import main
from coprod.interchange import export, write_records
from coprod.models import Board
from coprod.store import SCHEMA_VERSION, TABLES, Store, StoreBusyError, quote

ALL_TABLES = (*TABLES, "audit_log", "store_meta", "schema_version")


def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, every column (audit columns too), in a fixed order."""
    out = {}
    with store.cursor() as cur:
        tables = [
            str(row[0])
            for row in cur.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY table_name"
            ).fetchall()
        ]
        assert set(ALL_TABLES) <= set(tables)
        for table in tables:
            rows = cur.execute(f"SELECT * FROM {quote(table)}").fetchall()
            out[table] = sorted(rows, key=repr)
    return out


def exported(store: Store, folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in export(store, folder)}


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def rich(store: Store) -> Store:
    """A store with history: updates, a withdrawn decision and member, and non-ASCII text."""
    data = Dataset()
    data.board("b1", name="Siân’s board, £ and “quotes”")
    data.member("m1", role="service_user_rep", lived_experience=True)
    data.meeting("mt1", date=dt.date(2024, 6, 1))
    data.attend("mt1", "m1")
    data.decision("d1", decided_on=dt.date(2024, 6, 1), meeting_id="mt1", summary="a\nb")
    data.involvement("i1", accessible_formats=["bsl", "easy_read"], participants=9)
    data.decision("d2", title="To be withdrawn")
    data.health_check("r1")
    data.load(store)
    data.rows["decision"][0]["title"] = "Decision d1 (revised)"
    data.load(store)  # an update in the audit trail
    withdraw(store, "decision", "decision_id = ?", ["d2"])
    withdraw(store, "member", "member_id = ?", ["m1"])
    return store


@pytest.fixture
def empty_target(tmp_path: Path) -> Path:
    return tmp_path / "restored.duckdb"


def test_backup_then_restore_gives_the_same_store(
    rich: Store, tmp_path: Path, empty_target: Path
) -> None:
    result = backup(rich, tmp_path / "bk")
    restored_result = restore(tmp_path / "bk", empty_target)
    assert restored_result.kept is None
    with Store(empty_target) as restored:
        assert dump(restored) == dump(rich)  # withdrawn rows, audit columns, audit trail
        assert exported(restored, tmp_path / "a") == exported(rich, tmp_path / "b")
        assert restored.audit_entries() == rich.audit_entries()
        assert restored.schema_version() == SCHEMA_VERSION
        assert restored.data_version() == rich.data_version()
        # The audit trail carries on after the last entry, as it would have in the original.
        last = max(e["audit_id"] for e in rich.audit_entries())
        with restored.transaction() as cur:
            write_records(cur, "board", [Board(board_id="b9", name="New", kind="other")], CHANGE)
        assert restored.audit_entries()[-1]["audit_id"] > last
    assert result.manifest["tables"]["decision"] == {
        "file": "decision.parquet",
        "rows": 2,
        "withdrawn": 1,
    }


def test_the_backup_describes_itself(rich: Store, tmp_path: Path) -> None:
    result = backup(rich, tmp_path / "bk")
    folder = tmp_path / "bk"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == result.manifest
    assert manifest["format"] == "coprod-backup"
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["created_by"]
    dt.datetime.fromisoformat(manifest["created_at"])
    assert set(manifest["tables"]) >= set(ALL_TABLES)
    for table in TABLES:
        assert manifest["tables"][table]["rows"] == rich.count(table, include_withdrawn=True)
    assert manifest["tables"]["audit_log"]["rows"] == len(rich.audit_entries())
    assert manifest["sequences"]["audit_seq"] >= len(rich.audit_entries())
    on_disk = {p.name for p in folder.iterdir()} - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == file_digest(folder / name)
        assert entry["bytes"] == (folder / name).stat().st_size
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    assert "coprod restore" in readme
    assert "IMPORT DATABASE" in readme
    assert result.size > 0
    assert not list(tmp_path.glob(".bk.partial-*"))


def test_duckdb_alone_can_load_a_backup(rich: Store, tmp_path: Path) -> None:
    backup(rich, tmp_path / "bk")
    shutil.move(tmp_path / "bk", tmp_path / "moved")  # paths in load.sql are not needed
    conn = duckdb.connect(":memory:")
    try:
        conn.execute(f"IMPORT DATABASE '{tmp_path / 'moved'}'")
        for table in TABLES:
            row = conn.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()
            assert row is not None
            assert row[0] == rich.count(table, include_withdrawn=True)
    finally:
        conn.close()


def test_a_backup_never_overwrites_a_folder(rich: Store, tmp_path: Path) -> None:
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / "keep.txt").write_text("mine")
    with pytest.raises(BackupError) as caught:
        backup(rich, tmp_path / "bk")
    one_sentence(str(caught.value))
    assert sorted(p.name for p in (tmp_path / "bk").iterdir()) == ["keep.txt"]
    (tmp_path / "empty").mkdir()
    backup(rich, tmp_path / "empty")  # an empty folder is fine
    verify_backup(tmp_path / "empty")


# --- refusing to restore ------------------------------------------------------------------


@pytest.fixture
def made(rich: Store, tmp_path: Path) -> Path:
    backup(rich, tmp_path / "bk")
    return tmp_path / "bk"


@pytest.fixture
def occupied(tmp_path: Path) -> Path:
    """A store file that already holds other data, closed."""
    path = tmp_path / "occupied.duckdb"
    with Store(path) as other:
        data = Dataset()
        data.board("other-board")
        data.decision("other-d", board_id="other-board")
        data.load(other)
    return path


def test_restore_refuses_a_store_that_holds_data(made: Path, occupied: Path) -> None:
    before = file_digest(occupied)
    with pytest.raises(BackupError) as caught:
        restore(made, occupied)
    message = str(caught.value)
    one_sentence(message)
    assert "already holds data" in message
    assert "--force" in message
    assert file_digest(occupied) == before
    assert not occupied.with_name(occupied.name + ".before-restore").exists()


def test_restore_with_force_replaces_it_and_keeps_the_old_one(
    made: Path, occupied: Path, rich: Store, tmp_path: Path
) -> None:
    with Store(occupied) as old:
        old_dump = dump(old)
    result = restore(made, occupied, force=True)
    kept = occupied.with_name(occupied.name + ".before-restore")
    assert result.kept == kept
    with Store(occupied) as restored:
        assert dump(restored) == dump(rich)
    with Store(kept) as previous:
        assert dump(previous) == old_dump
    # A second forced restore would overwrite the kept store: it is refused instead.
    with pytest.raises(BackupError) as caught:
        restore(made, occupied, force=True)
    one_sentence(str(caught.value))
    assert "before-restore" in str(caught.value)


def test_restore_into_an_empty_store_needs_no_force(made: Path, tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    Store(path).close()
    result = restore(made, path)
    assert result.kept is None
    assert not path.with_name(path.name + ".before-restore").exists()
    with Store(path) as restored:
        assert restored.count("decision", include_withdrawn=True) == 2


def damage(folder: Path, name: str) -> None:
    path = folder / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (lambda f: damage(f, "decision.parquet"), "is damaged: decision.parquet does not match"),
        (lambda f: damage(f, "audit_log.parquet"), "is damaged: audit_log.parquet does not match"),
        (lambda f: (f / "member.parquet").unlink(), "is incomplete: member.parquet is missing"),
        (lambda f: (f / "manifest.json").unlink(), "is not a complete coprod backup"),
        (lambda f: (f / "manifest.json").write_text("{not json"), "manifest.json cannot be read"),
        (lambda f: shutil.rmtree(f), "There is no backup folder at"),
    ],
    ids=["damaged-table", "damaged-audit", "missing-file", "no-manifest", "bad-manifest", "gone"],
)
def test_a_damaged_or_partial_backup_is_refused_and_nothing_changes(
    made: Path, occupied: Path, spoil: Any, words: str, tmp_path: Path
) -> None:
    spoil(made)
    before = file_digest(occupied)
    for target, force in ((occupied, True), (tmp_path / "new.duckdb", False)):
        with pytest.raises(BackupError) as caught:
            restore(made, target, force=force)
        one_sentence(str(caught.value))
        assert words in str(caught.value)
    assert file_digest(occupied) == before
    assert not (tmp_path / "new.duckdb").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if "occupied" in p.name) == ["occupied.duckdb"]


def rewrite_manifest(folder: Path, change: Any) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_data_that_does_not_match_its_manifest_is_refused(
    made: Path, occupied: Path, tmp_path: Path
) -> None:
    # Checksums right, but the row count wrong: caught when the loaded table is checked.
    rewrite_manifest(made, lambda m: m["tables"]["decision"].update(rows=3))
    before = file_digest(occupied)
    with pytest.raises(BackupError) as caught:
        restore(made, occupied, force=True)
    one_sentence(str(caught.value))
    assert "does not hold the 3 rows" in str(caught.value)
    assert file_digest(occupied) == before
    assert not list(tmp_path.glob("*.restoring*"))
    assert not list(tmp_path.glob("*.before-restore*"))


def test_a_backup_from_a_newer_coprod_is_refused(made: Path, tmp_path: Path) -> None:
    rewrite_manifest(made, lambda m: m.update(schema_version=SCHEMA_VERSION + 1))
    with pytest.raises(BackupError) as caught:
        restore(made, tmp_path / "new.duckdb")
    one_sentence(str(caught.value))
    assert "newer version of coprod" in str(caught.value)


def test_a_failure_while_restoring_leaves_the_target_as_it_was(
    made: Path, occupied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = backup_module._load_table
    calls = []

    def failing(*args: Any) -> None:
        calls.append(args)
        if len(calls) == 4:
            raise duckdb.IOException("disk full")
        real(*args)

    monkeypatch.setattr(backup_module, "_load_table", failing)
    before = file_digest(occupied)
    with pytest.raises(BackupError) as caught:
        restore(made, occupied, force=True)
    one_sentence(str(caught.value))
    assert "disk full" in str(caught.value)
    assert "left unchanged" in str(caught.value)
    assert file_digest(occupied) == before
    assert sorted(p.name for p in tmp_path.iterdir() if "occupied" in p.name) == ["occupied.duckdb"]


def test_the_swap_is_one_rename(
    made: Path, occupied: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # If the final rename fails, the target is still the old store, whole.
    with Store(occupied) as old:
        old_dump = dump(old)

    def broken(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(BackupError) as caught:
        restore(made, occupied, force=True)
    one_sentence(str(caught.value))
    assert "could not be written (the disk is full or not writable: No space left" in str(
        caught.value
    )
    monkeypatch.undo()
    with Store(occupied) as still:
        assert dump(still) == old_dump
    assert not occupied.with_name(occupied.name + ".restoring").exists()
    assert not occupied.with_name(occupied.name + ".before-restore").exists()
    restore(made, occupied, force=True)  # and once the disk has room, it works


def test_an_older_backup_is_upgraded_when_restored(
    made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pretend coprod has moved on to schema 2 since the backup (schema 1) was made.
    newer = [*store_module.MIGRATIONS, ["CREATE TABLE later_table (x INTEGER)"]]
    monkeypatch.setattr(store_module, "MIGRATIONS", newer)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", len(newer))
    monkeypatch.setattr(backup_module, "MIGRATIONS", newer)
    monkeypatch.setattr(backup_module, "SCHEMA_VERSION", len(newer))
    restore(made, tmp_path / "upgraded.duckdb")
    with Store(tmp_path / "upgraded.duckdb") as restored:
        assert restored.schema_version() == len(newer)
        assert restored.count("decision", include_withdrawn=True) == 2


HOLD = """
import sys
from coprod.store import Store
store = Store(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
store.close()
"""


def test_a_store_held_by_another_process_is_left_alone(
    made: Path, occupied: Path, tmp_path: Path
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(occupied)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreBusyError) as caught:
            restore(made, occupied, force=True)
        one_sentence(str(caught.value))
        done = subprocess.run(
            [sys.executable, "-m", "coprod.cli", "restore", str(made), "--db", str(occupied)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1
        assert done.stderr.count("\n") == 1
        assert "is in use by another program" in done.stderr
        assert "Traceback" not in done.stderr
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "coprod.cli",
                "backup",
                "--db",
                str(occupied),
                "--out",
                str(tmp_path / "bk2"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1
        assert "is in use by another program" in done.stderr
        assert not (tmp_path / "bk2").exists()
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    assert not occupied.with_name(occupied.name + ".before-restore").exists()
    assert not occupied.with_name(occupied.name + ".restoring").exists()


# --- the command line ---------------------------------------------------------------------


def test_cli_backup_and_restore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from coprod.settings import DEMO_DIR

    first, second = str(tmp_path / "a.duckdb"), str(tmp_path / "b.duckdb")
    assert main(["import", str(DEMO_DIR), "--db", first]) == 0
    capsys.readouterr()
    assert main(["backup", "--db", first, "--out", str(tmp_path / "bk")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Backed up {first} to {tmp_path / 'bk'}:")
    assert main(["restore", str(tmp_path / "bk"), "--db", second]) == 0
    assert f"into {second}" in capsys.readouterr().out

    # Refused the second time: the store now holds data.
    assert main(["restore", str(tmp_path / "bk"), "--db", second]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "already holds data" in captured.err
    assert main(["restore", str(tmp_path / "bk"), "--db", second, "--force"]) == 0
    assert "kept as" in capsys.readouterr().out

    for fmt in ("csv", "xlsx"):
        main(["export", "--db", first, "--out", str(tmp_path / f"one-{fmt}"), "--format", fmt])
        main(["export", "--db", second, "--out", str(tmp_path / f"two-{fmt}"), "--format", fmt])
        for path in sorted((tmp_path / f"one-{fmt}").iterdir()):
            assert (tmp_path / f"two-{fmt}" / path.name).read_bytes() == path.read_bytes()
    with Store(first, read_only=True) as a, Store(second, read_only=True) as b:
        assert a.audit_entries() == b.audit_entries()

    assert main(["backup", "--db", first, "--out", str(tmp_path / "bk")]) == 1
    assert "not an empty folder" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "nowhere"), "--db", second]) == 1
    assert "There is no backup folder" in capsys.readouterr().err
    assert os.path.exists(second)


def test_a_store_that_cannot_be_opened_is_replaced_only_with_force(
    made: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database at all")
    with pytest.raises(BackupError) as caught:
        restore(made, junk)
    one_sentence(str(caught.value))
    assert "--force" in str(caught.value)
    assert junk.read_bytes() == b"not a database at all"
    result = restore(made, junk, force=True)
    assert result.kept is not None
    assert result.kept.read_bytes() == b"not a database at all"
    with Store(junk) as restored:
        assert restored.count("decision", include_withdrawn=True) == 2


def test_a_postgresql_store_is_backed_up_and_restored_with_postgresql_tools(
    postgres: PostgresServer, made: Path, tmp_path: Path
) -> None:
    address = postgres.new_database()
    with Store(address) as shared:
        with pytest.raises(BackupError) as caught:
            backup(shared, tmp_path / "never")
        one_sentence(str(caught.value))
        assert "pg_dump" in str(caught.value)
        assert "coprod migrate" in str(caught.value)
        assert not (tmp_path / "never").exists()
    with pytest.raises(BackupError) as refused:
        restore(made, address)
    one_sentence(str(refused.value))
    assert "coprod migrate --from FILE --to SERVER" in str(refused.value)
    with Store(address) as shared:
        assert shared.is_empty()


# --- a doctored backup: every row is validated as an import validates it -------------------


def doctor(folder: Path, table: str, sql: str) -> None:
    """Change a table of a backup with SQL on ``t`` (its rows), then re-compute the manifest
    so that every checksum and row count agrees: only validation can tell."""
    path = folder / f"{table}.parquet"
    conn = duckdb.connect(":memory:")
    try:
        conn.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{path}')")
        conn.execute(sql)
        rows = conn.execute("SELECT count(*) FROM t").fetchone()
        conn.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    finally:
        conn.close()
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert rows is not None
    manifest["tables"][table]["rows"] = int(rows[0])
    for name in manifest["files"]:
        manifest["files"][name] = {
            "bytes": (folder / name).stat().st_size,
            "sha256": file_digest(folder / name),
        }
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize(
    ("table", "sql", "where"),
    [
        (
            "decision",
            "UPDATE t SET decision_id = '../evil id' WHERE decision_id = 'd1'",
            "decision.parquet, row 1, field decision_id",
        ),
        (
            "involvement",
            "UPDATE t SET level = 'total_control'",
            "involvement.parquet, row 1, field level",
        ),
        (
            "board",
            "DELETE FROM t",
            "decision.parquet, row 1, field board_id: no board has the id 'b1'",
        ),
        (
            "decision",
            "UPDATE t SET identified_on = DATE '2024-07-01' WHERE decision_id = 'd1'",
            "decision.parquet, row 1",
        ),
        (  # a withdrawn row is restored too, so it is validated too
            "decision",
            "UPDATE t SET title = 'x' || chr(27) || '[31m' WHERE decision_id = 'd2'",
            "decision.parquet, row 2, field title",
        ),
        (
            "decision",
            "UPDATE t SET decided_on = DATE '2250-01-01' WHERE decision_id = 'd2'",
            "decision.parquet, row 2, field decided_on",
        ),
        (
            "board",
            "UPDATE t SET name = repeat('x', 40000)",
            "board.parquet, row 1, field name",
        ),
        (
            "decision",
            "INSERT INTO t SELECT * FROM t WHERE decision_id = 'd1'",
            "decision.parquet, row 3, field decision_id",
        ),
        (  # a value an import would store otherwise (spaces around it) is not coprod's
            "member",
            "UPDATE t SET role = ' service_user_rep'",
            "member.parquet, row 1, field role",
        ),
        (
            "member",
            "UPDATE t SET withdrawn_by = 'x' || chr(155)",
            "member.parquet, row 1, field withdrawn_by",
        ),
        (
            "app_user",
            "INSERT INTO t (identity, role, boards, created_at, created_by, updated_at, "
            "updated_by) VALUES ('not an address', 'overlord', '*', now(), 'x', now(), 'x')",
            "app_user.parquet, row 1, field identity",
        ),
    ],
    ids=[
        "bad-id",
        "unknown-enum",
        "missing-board",
        "decided-before-identified",
        "withdrawn-row-control-character",
        "date-out-of-range",
        "text-too-long",
        "duplicate-key",
        "not-canonical",
        "audit-column",
        "app-user",
    ],
)
def test_a_doctored_backup_is_refused_row_by_row_and_nothing_changes(
    made: Path, occupied: Path, tmp_path: Path, table: str, sql: str, where: str
) -> None:
    doctor(made, table, sql)
    verify_backup(made)  # the checksums agree: only the rows are wrong
    before = file_digest(occupied)
    for target, force in ((occupied, True), (tmp_path / "new" / "new.duckdb", False)):
        with pytest.raises(BackupRejected) as caught:
            restore(made, target, force=force)
        one_sentence(str(caught.value))
        assert "nothing was restored" in str(caught.value)
        shown = [str(p) for p in caught.value.problems]
        assert any(p.startswith(where) for p in shown), shown
    assert file_digest(occupied) == before
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if "occupied" in p.name) == ["occupied.duckdb"]


def test_the_command_line_lists_the_problems_of_a_doctored_backup(
    made: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doctor(made, "decision", "UPDATE t SET decision_id = '../evil id' WHERE decision_id = 'd1'")
    target = tmp_path / "new.duckdb"
    assert main(["restore", str(made), "--db", str(target)]) == 1
    captured = capsys.readouterr()
    first, *rest = captured.err.splitlines()
    one_sentence(first)
    assert "nothing was restored" in first
    assert any(
        line.strip().startswith("decision.parquet, row 1, field decision_id") for line in rest
    )
    assert not target.exists()


def test_a_valid_backup_of_the_demo_restores(tmp_path: Path) -> None:
    from coprod.interchange import import_source
    from coprod.settings import DEMO_DIR

    with Store(tmp_path / "demo.duckdb") as demo:
        import_source(demo, DEMO_DIR, CHANGE)
        withdraw(demo, "decision", "decision_id IN (SELECT decision_id FROM decision LIMIT 5)", [])
        backup(demo, tmp_path / "bk")
        original = dump(demo)
    restore(tmp_path / "bk", tmp_path / "restored.duckdb")
    with Store(tmp_path / "restored.duckdb") as restored:
        assert dump(restored) == original


# --- leftovers of a backup or restore that was killed ---------------------------------------

KILLED_MIDWAY = """
import sys, time
from coprod import backup as b
pause = lambda *args, **kwargs: (print("ready", flush=True), time.sleep(120))
if sys.argv[1] == "backup":
    b._write_readme = pause
    from coprod.store import Store
    b.backup(Store(sys.argv[2], read_only=True), sys.argv[3])
else:
    real = b._build
    def build(*args):
        real(*args)
        pause()
    b._build = build
    b.restore(sys.argv[2], sys.argv[3], force=True)
"""


def killed_midway(*argv: str) -> int:
    """Run a backup or restore and SIGKILL it halfway, as a power cut would: its pid."""
    import signal

    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_MIDWAY, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready", process.communicate()
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return process.pid


def test_leftovers_of_a_killed_backup_are_removed_by_the_next(
    rich: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "coprod.duckdb"
    rich.close()
    backups = tmp_path / "backups"
    pid = killed_midway("backup", str(db), str(backups / "monday"))
    leftover = backups / f".monday.partial-{pid}"
    assert leftover.is_dir()
    assert any(leftover.iterdir())  # what a killed backup leaves
    # One of a process still running is never touched: only said.
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        running = backups / f".sunday.partial-{live.pid}"
        running.mkdir()
        (running / "board.parquet").write_bytes(b"PAR1")
        assert main(["backup", "--db", str(db), "--out", str(backups / "tuesday")]) == 0
        out = capsys.readouterr().out
        assert not leftover.exists()
        assert running.is_dir()
        assert f"Removed {leftover}" in out
        assert f"process {pid}" in out
        assert f"Left {running} alone" in out
        assert f"process {live.pid}, which is still running" in out
        assert sorted(p.name for p in backups.iterdir()) == [running.name, "tuesday"]
        verify_backup(backups / "tuesday")
    finally:
        live.kill()
        live.wait()


def test_leftovers_of_a_killed_restore_are_removed_by_the_next(
    made: Path, occupied: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = file_digest(occupied)
    pid = killed_midway("restore", str(made), str(occupied))
    leftovers = [p for p in tmp_path.iterdir() if ".restoring" in p.name]
    assert leftovers  # what a killed restore leaves beside the store
    assert file_digest(occupied) == before
    legacy = occupied.with_name(occupied.name + ".restoring")  # as an older coprod named it
    shutil.copyfile(occupied, legacy)
    assert main(["restore", str(made), "--db", str(occupied), "--force"]) == 0
    out = capsys.readouterr().out
    assert f"process {pid}" in out
    assert not [p for p in tmp_path.iterdir() if ".restoring" in p.name]
    with Store(occupied) as restored:
        assert restored.count("decision", include_withdrawn=True) == 2
