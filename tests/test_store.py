"""The DuckDB store: schema versions, one writer process, many threads in one process."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from coprod.interchange import write_records
from coprod.models import Board
from coprod.rules import run_check
from coprod.store import SCHEMA_VERSION, Change, Store, StoreBusyError

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
