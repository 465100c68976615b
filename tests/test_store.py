"""The store: schema versions, one writer process on a file, many threads in one process, and
a PostgreSQL store that many processes open, migrate and write at once."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from browser_support import free_port
from pg_support import PostgresServer

from coprod.interchange import write_records
from coprod.models import Board
from coprod.rules import run_check
from coprod.store import SCHEMA_VERSION, Change, Store, StoreBusyError, StoreError

ROOT = Path(__file__).resolve().parents[1]
CHANGE = Change(actor="test", source="cli")

HOLD_OPEN = """
import sys
from coprod.store import Store
store = Store(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
store.close()
"""


def test_new_store_has_the_current_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.is_empty()


def test_reopened_store_keeps_its_schema_and_data(tmp_path: Path) -> None:
    path = tmp_path / "again.duckdb"
    with Store(path) as store, store.transaction() as cur:
        write_records(cur, "board", [Board(board_id="b1", name="North", kind="committee")], CHANGE)
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        versions = store.query("SELECT version FROM schema_version ORDER BY version")
        assert [r["version"] for r in versions] == list(range(1, SCHEMA_VERSION + 1))
        assert store.count("board") == 1


def test_second_process_gets_a_clear_busy_error(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    Store(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()
        assert line.strip() == "ready", holder.stderr.read() if holder.stderr else ""
        with pytest.raises(StoreBusyError) as caught:
            Store(path)
        message = str(caught.value)
        assert "\n" not in message
        assert message.endswith(".")
        assert message.count(". ") == 0, "one sentence"
        assert str(path) in message
        assert "Traceback" not in message
    finally:
        if holder.stdin is not None:
            holder.stdin.write("\n")
            holder.stdin.close()
        holder.wait(timeout=30)
    # once the other process has let go, the store opens again
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION


def test_sixteen_threads_read_and_write_at_once(store: Store) -> None:
    threads_n, writes_each = 16, 10
    start = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(writes_each):
                board = Board(board_id=f"t{n}-{i}", name=f"Board {n}/{i}", kind="committee")
                with store.transaction() as cur:
                    write_records(cur, "board", [board], CHANGE)
                with store.cursor() as cur:
                    row = cur.execute(
                        "SELECT count(*) FROM board WHERE board_id LIKE ?", [f"t{n}-%"]
                    ).fetchone()
                    assert row is not None
                    assert row[0] == i + 1  # this thread sees its own writes
            result = run_check(store, dt.date(2025, 1, 1))  # a dashboard session's read
            assert len(result.decisions) == 0
        except BaseException as exc:
            errors.append(exc)

    before = store.data_version()
    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert store.count("board") == threads_n * writes_each
    names = {r["board_id"] for r in store.query("SELECT board_id FROM board")}
    assert names == {f"t{n}-{i}" for n in range(threads_n) for i in range(writes_each)}
    assert store.data_version() == before + threads_n * writes_each
    assert store.count("audit_log", include_withdrawn=True) == threads_n * writes_each


WRITER = """
import sys, time
from pathlib import Path
from coprod.interchange import write_records
from coprod.models import Board
from coprod.store import Change, Store
address, name, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
store = Store(address)  # read-write, while the other processes hold it too
print("ready", flush=True)
while not go.exists():
    time.sleep(0.01)
for i in range(count):
    with store.transaction() as cur:
        write_records(cur, "board", [Board(board_id=f"{name}-{i}", name=name, kind="committee")],
                      Change(name, "cli"))
store.close()
"""


def test_a_new_server_store_is_migrated_once_by_processes_opening_it_at_once(
    postgres: PostgresServer,
) -> None:
    address = postgres.new_database(migrated=False)
    opening = [
        subprocess.Popen(
            [sys.executable, "-c", "import sys; from coprod.store import Store; Store(sys.argv[1])",
             address],
            cwd=ROOT, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(3)
    ]  # fmt: skip
    for process in opening:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors
    with Store(address) as store:
        assert store.schema_version() == SCHEMA_VERSION
        versions = store.query("SELECT version FROM schema_version ORDER BY version")
        assert [r["version"] for r in versions] == list(range(1, SCHEMA_VERSION + 1))
        with store.transaction() as cur:
            write_records(
                cur, "board", [Board(board_id="kept", name="Kept", kind="committee")], CHANGE
            )
    with Store(address, read_only=True) as again:
        assert [r["board_id"] for r in again.query("SELECT board_id FROM board")] == ["kept"]


def test_processes_writing_to_one_server_store_at_once_lose_nothing(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    address = postgres.new_database()
    with Store(address) as store:
        before = store.data_version()
    go, names, each = tmp_path / "go", ["alpha", "beta", "gamma"], 15
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, address, name, str(each), str(go)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name in names
    ]  # fmt: skip
    for writer in writers:  # every process holds the store open for writing at once
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
    go.touch()
    for writer in writers:
        _, errors = writer.communicate(timeout=180)
        assert writer.returncode == 0, errors
    with Store(address) as store:
        ids = {r["board_id"] for r in store.query("SELECT board_id FROM board")}
        assert ids == {f"{name}-{i}" for name in names for i in range(each)}
        assert store.data_version() == before + len(names) * each
        actors = store.query("SELECT actor, count(*) AS n FROM audit_log GROUP BY actor")
        assert {r["actor"]: r["n"] for r in actors} == dict.fromkeys(names, each)


def test_a_server_that_cannot_be_reached_is_one_sentence_without_its_password() -> None:
    address = f"postgresql://coprod:s3cret-word@127.0.0.1:{free_port()}/nowhere"
    with pytest.raises(StoreError) as caught:
        Store(address)
    message = str(caught.value)
    assert message.startswith("The PostgreSQL store postgresql://coprod:***@127.0.0.1:")
    assert "could not be reached" in message
    assert "s3cret-word" not in message
    done = subprocess.run(
        [sys.executable, "-m", "coprod.cli", "check", "--db", address],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "could not be reached" in done.stderr
    assert "s3cret-word" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
