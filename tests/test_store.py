"""The store: schema versions, one writer process on a file, many threads in one process, and
a PostgreSQL store that many processes open, migrate and write at once."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
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


# --- a write that fails: the first error is the one reported ------------------------------


class FailingCommit:
    """A cursor whose COMMIT fails as on a full disk, and whose ROLLBACK then fails too (as
    DuckDB's does once a failed commit has ended the transaction)."""

    def __init__(self, real: object, commit_error: BaseException) -> None:
        self._real = real
        self._commit_error = commit_error

    def execute(self, sql: str, *args: object) -> object:
        import duckdb

        if sql == "COMMIT":
            self._real.execute("ROLLBACK")  # type: ignore[attr-defined]
            raise self._commit_error
        if sql == "ROLLBACK":
            raise duckdb.TransactionException(
                "TransactionContext Error: cannot rollback - no transaction is active"
            )
        return self._real.execute(sql, *args)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


def failing_cursor(store: Store, commit_error: BaseException) -> object:
    from contextlib import contextmanager

    real_cursor = store.cursor

    @contextmanager
    def cursor():  # type: ignore[no-untyped-def]
        with real_cursor() as cur:
            yield FailingCommit(cur, commit_error)

    return cursor


@pytest.mark.parametrize(
    "commit_error",
    [
        'IOException:Could not write file "{path}.wal": No space left on device',
        'TransactionException:Failed to commit: Could not write file "{path}.wal": File too large',
        "OSError",
    ],
    ids=["io-error", "failed-commit", "os-error"],
)
def test_a_failed_commit_is_reported_and_not_hidden_by_the_rollback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, commit_error: str
) -> None:
    import errno

    import duckdb

    from coprod.store import StoreWriteError

    path = tmp_path / "full.duckdb"
    if commit_error == "OSError":
        error: BaseException = OSError(errno.ENOSPC, "No space left on device")
    else:
        kind, text = commit_error.split(":", 1)
        error = getattr(duckdb, kind)(text.format(path=path))
    with Store(path) as store:
        monkeypatch.setattr(store, "cursor", failing_cursor(store, error))
        with pytest.raises(StoreWriteError) as caught, store.transaction() as cur:
            write_records(cur, "board", [Board(board_id="b1", name="N", kind="committee")], CHANGE)
        monkeypatch.undo()
        message = str(caught.value)
        assert "cannot rollback" not in message
        assert f"The store {path} could not be written (the disk is full or not writable" in message
        assert message.endswith("so nothing was saved.")
        assert caught.value.sentence("imported").endswith("so nothing was imported.")
        for text in (message, caught.value.sentence("imported")):
            assert "\n" not in text
            assert ". " not in text
        assert store.count("board") == 0  # nothing was written, and the store still works


def test_an_error_in_the_block_is_not_hidden_by_a_failed_rollback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        monkeypatch.setattr(store, "cursor", failing_cursor(store, RuntimeError("unused")))
        with pytest.raises(ValueError, match="the first error"), store.transaction():
            raise ValueError("the first error")
        with pytest.raises(ValueError, match="the first error"), store.rolled_back():
            raise ValueError("the first error")


# --- who holds a store file -------------------------------------------------------------

HOLDER = """
import sys, time
from coprod.store import Store
store = Store(sys.argv[-1])
print("ready", flush=True)
time.sleep(120)
"""


def hold(argv: list[str]) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "ready", (
        holder.stderr.read() if holder.stderr else ""
    )
    return holder


@pytest.mark.parametrize(
    ("program", "said"),
    [
        ("streamlit", "is in use by the dashboard (streamlit, process {pid})"),
        ("other", "is in use by another program (process {pid})"),
    ],
)
def test_the_busy_message_names_what_holds_the_store(
    tmp_path: Path, program: str, said: str
) -> None:
    path = tmp_path / "held.duckdb"
    Store(path).close()
    script = tmp_path / ("streamlit" if program == "streamlit" else "holder.py")
    script.write_text(HOLDER, encoding="utf-8")
    args = ["run", "app.py"] if program == "streamlit" else []
    holder = hold([sys.executable, str(script), *args, str(path)])
    try:
        with pytest.raises(StoreBusyError) as caught:
            Store(path)
        message = str(caught.value)
        assert said.format(pid=holder.pid) in message
        assert "probably" not in message
        assert "\n" not in message
        assert ". " not in message
        assert message.endswith(".")
    finally:
        holder.kill()
        holder.wait()


def holds(pid: int, path: Path) -> bool:
    """Whether the process has the file open (read from /proc: Linux)."""
    import os

    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            continue
    return False


def test_the_busy_message_names_another_coprod_command(tmp_path: Path) -> None:
    import os

    path = tmp_path / "held.duckdb"
    Store(path).close()
    fifo = tmp_path / "boards.csv"
    os.mkfifo(fifo)  # the import opens the store, then waits to read this
    coprod = Path(sys.executable).parent / "coprod"
    holder = subprocess.Popen(
        [str(coprod), "import", str(fifo), "--db", str(path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not holds(holder.pid, path):  # without touching the store ourselves
            assert holder.poll() is None, holder.communicate()
            assert time.monotonic() < deadline, "the import never opened the store"
            time.sleep(0.05)
        with pytest.raises(StoreBusyError) as caught:
            Store(path, read_only=True)
        message = str(caught.value)
        assert f"is in use by another coprod command (coprod import {fifo}" in message
        assert f"process {holder.pid})" in message
        done = subprocess.run(
            [str(coprod), "import", str(ROOT / "data" / "demo"), "--db", str(path)],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 1
        assert done.stderr.count("\n") == 1
        assert f"another coprod command (coprod import {fifo}" in done.stderr
        assert "Traceback" not in done.stderr
    finally:
        holder.kill()
        holder.wait()
