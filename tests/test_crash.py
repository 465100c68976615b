"""Crash safety: an import killed while it is writing leaves the store exactly as it was.

A large import (the demo generator's 20 boards, about 120,000 rows) runs as a real ``coprod
import`` process. It spends most of its time reading and validating; then it writes, in one
transaction, and the store file grows as DuckDB writes the new rows. The test watches the file
and sends SIGKILL (no clean-up, as if the power went) at two points of that writing: as soon as
the file starts to grow, and once 10 MB of new data is on disk. Both imports run at once, each
on its own copy of the store. Afterwards each store must open cleanly and export exactly what it
held before, with the same audit trail.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from builders import CHANGE

from coprod.demo import write_demo
from coprod.interchange import export, import_source
from coprod.settings import DEMO_DIR
from coprod.store import TABLES, Store

# Stress tests of a minute or more: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow

MB = 1 << 20
# Kill when the store file has grown by this much: the first write, and well into the writing.
KILL_AFTER = {"first-write": 1, "ten-megabytes": 10 * MB}
DEADLINE = 90  # seconds; the whole test normally takes 15 to 25


def snapshot(store: Store, folder: Path) -> tuple[dict[str, bytes], dict[str, int], int]:
    files = {p.name: p.read_bytes() for p in export(store, folder)}
    counts = {t: store.count(t, include_withdrawn=True) for t in (*TABLES, "audit_log")}
    return files, counts, store.data_version()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_an_import_killed_while_writing_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    big = tmp_path / "big"
    write_demo(big, boards=20)
    original = tmp_path / "original.duckdb"
    with Store(original) as store:
        import_source(store, DEMO_DIR, CHANGE)
        before = snapshot(store, tmp_path / "before")
    size = original.stat().st_size

    running: dict[str, subprocess.Popen[bytes]] = {}
    killed_at: dict[str, float] = {}
    started = time.monotonic()
    try:
        for name in KILL_AFTER:
            copy = tmp_path / f"{name}.duckdb"
            shutil.copyfile(original, copy)
            running[name] = subprocess.Popen(
                [sys.executable, "-m", "coprod.cli", "import", str(big), "--db", str(copy)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        while len(killed_at) < len(running):
            assert time.monotonic() - started < DEADLINE, "the imports took far too long"
            for name, process in running.items():
                if name in killed_at:
                    continue
                grown = (tmp_path / f"{name}.duckdb").stat().st_size - size
                if grown >= KILL_AFTER[name]:
                    assert process.poll() is None
                    os.kill(process.pid, signal.SIGKILL)
                    killed_at[name] = time.monotonic() - started
                elif process.poll() is not None:
                    out, err = process.communicate()
                    pytest.fail(
                        f"{name}: the import ended before it could be killed "
                        f"(exit {process.returncode}): {out.decode()} {err.decode()}"
                    )
            time.sleep(0.001)
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=30)

    for name, process in running.items():
        assert process.returncode == -signal.SIGKILL, name
        copy = tmp_path / f"{name}.duckdb"
        with Store(copy) as store:  # opens cleanly: no lock left, no half-written transaction
            assert snapshot(store, tmp_path / f"after-{name}") == before, name
    # ... and carries on as before: re-importing what it held changes nothing.
    with Store(tmp_path / "ten-megabytes.duckdb") as store:
        summary = import_source(store, DEMO_DIR, CHANGE)
        assert sum(summary.created.values()) == 0
        assert sum(summary.updated.values()) == 0
