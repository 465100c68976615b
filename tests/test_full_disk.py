"""A full disk: every command that writes says so in one sentence, and leaves nothing half-done.

The disk is made full without mounting anything: each command runs as a real ``coprod``
process whose files may not grow past a limit (``RLIMIT_FSIZE``, with SIGXFSZ ignored, so a
write past the limit fails with EFBIG as a write to a full disk fails with ENOSPC). The sweep at
the end runs every writing command at a range of limits, from nothing at all to more than it
needs, and checks each run: exit 0 with the whole result, or exit 1 with one sentence, and in
either case no traceback, no half-written file or folder, and a store that is exactly as it
was or exactly as it should be afterwards.
"""

from __future__ import annotations

import hashlib
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from builders import one_sentence

from coprod.cli import main
from coprod.interchange import export
from coprod.settings import DEMO_DIR
from coprod.store import TABLES, Store

# Stress tests of a minute or more: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tests" / "data" / "rules-check"
PERIOD = ["--board", "b1", "--from", "2022-01-01", "--to", "2022-12-31"]
KB, MB = 1 << 10, 1 << 20
WRITE_FAILED = "could not be written (the disk is full or not writable"


def limited(argv: list[str], limit: int) -> subprocess.CompletedProcess[str]:
    """``coprod ARGV`` in a process that cannot make a file larger than ``limit`` bytes."""

    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "coprod.cli", *argv],
        cwd=ROOT,
        preexec_fn=full_disk,  # no threads are running in the child before exec
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def refusal(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert "cannot rollback" not in done.stderr
    assert done.stdout == ""
    message = done.stderr.strip()
    one_sentence(message)
    return message


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(path: Path, folder: Path) -> tuple[dict[str, bytes], dict[str, int], int]:
    """What a store holds: its export, every table's rows and its data version. Opened for
    writing, so a write-ahead log left behind is replayed first."""
    with Store(path) as store:
        files = {p.name: p.read_bytes() for p in export(store, folder)}
        counts = {t: store.count(t, include_withdrawn=True) for t in (*TABLES, "audit_log")}
        version = store.data_version()
    shutil.rmtree(folder)
    return files, counts, version


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the example data, closed."""
    path = tmp_path_factory.mktemp("base") / "base.duckdb"
    assert main(["import", str(EXAMPLE), "--db", str(path)]) == 0
    return path


@pytest.fixture
def work(tmp_path: Path, base: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    shutil.copyfile(base, folder / "s.duckdb")
    return folder


def test_an_import_onto_a_full_disk_says_so_and_imports_nothing(work: Path, tmp_path: Path) -> None:
    db = work / "s.duckdb"
    before = snapshot(db, tmp_path / "before")
    done = limited(["import", str(DEMO_DIR), "--db", str(db)], 64 * KB)
    message = refusal(done)
    assert f"The store {db} {WRITE_FAILED}" in message
    assert message.endswith("so nothing was imported.")
    assert snapshot(db, tmp_path / "after") == before
    assert tree(work) == ["s.duckdb"]


def test_an_import_into_a_new_store_on_a_full_disk_leaves_nothing(tmp_path: Path) -> None:
    new = tmp_path / "new" / "new.duckdb"
    for limit in (4 * KB, 600 * KB):
        message = refusal(limited(["import", str(DEMO_DIR), "--db", str(new)], limit))
        assert WRITE_FAILED in message
        assert not (tmp_path / "new").exists()


def test_a_backup_onto_a_full_disk_makes_no_backup(work: Path) -> None:
    db = work / "s.duckdb"
    message = refusal(limited(["backup", "--db", str(db), "--out", str(work / "bk")], 8 * KB))
    assert WRITE_FAILED in message
    assert "no backup was made" in message
    assert tree(work) == ["s.duckdb"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_an_export_onto_a_full_disk_leaves_no_half_written_folder(
    work: Path, tmp_path: Path, fmt: str
) -> None:
    db = work / "s.duckdb"
    argv = ["export", "--format", fmt, "--db", str(db), "--out"]
    message = refusal(limited([*argv, str(work / "out")], 1 * KB))
    assert WRITE_FAILED in message
    assert "nothing was exported" in message
    assert tree(work) == ["s.duckdb"]
    # Over an earlier export, the earlier files stay whole.
    assert main([*argv, str(work / "earlier")]) == 0
    earlier = {p.name: p.read_bytes() for p in (work / "earlier").iterdir()}
    refusal(limited([*argv, str(work / "earlier")], 1 * KB))
    assert {p.name: p.read_bytes() for p in (work / "earlier").iterdir()} == earlier
    assert tree(work) == ["earlier", *(f"earlier/{n}" for n in sorted(earlier)), "s.duckdb"]


def test_a_restore_onto_a_full_disk_leaves_the_store_as_it_was(work: Path, tmp_path: Path) -> None:
    db = work / "s.duckdb"
    assert main(["backup", "--db", str(db), "--out", str(tmp_path / "bk")]) == 0
    shutil.copyfile(db, work / "old.duckdb")
    with Store(work / "old.duckdb") as old:
        old.conn.execute("DELETE FROM decision WHERE decision_id LIKE 'b0-%'")
    before = digest(work / "old.duckdb")
    argv = ["restore", str(tmp_path / "bk"), "--force", "--db", str(work / "old.duckdb")]
    message = refusal(limited(argv, 64 * KB))
    assert f"The store {work / 'old.duckdb'} {WRITE_FAILED}" in message
    assert message.endswith("so nothing was restored and the store was left unchanged.")
    assert digest(work / "old.duckdb") == before
    assert tree(work) == ["old.duckdb", "s.duckdb"]


@pytest.mark.parametrize("command", ["report", "evidence"])
def test_a_report_or_pack_onto_a_full_disk_writes_no_file(work: Path, command: str) -> None:
    db = work / "s.duckdb"
    out = work / ("r.pdf" if command == "report" else "p.zip")
    message = refusal(limited([command, *PERIOD, "--db", str(db), "--out", str(out)], 2 * KB))
    assert WRITE_FAILED in message
    assert tree(work) == ["s.duckdb"]


# --- the sweep ------------------------------------------------------------------------------

LIMITS = [1, 16 * KB, 256 * KB, 2 * MB, 8 * MB, 64 * MB]
BISECTIONS = 6


def _check_import(work: Path, tmp_path: Path) -> Callable[[int], str]:
    db = work / "s.duckdb"
    before = snapshot(db, tmp_path / "before")
    pristine = tmp_path / "pristine.duckdb"
    shutil.copyfile(db, pristine)
    assert main(["import", str(DEMO_DIR), "--db", str(tmp_path / "expected.duckdb")]) == 0
    shutil.copyfile(pristine, tmp_path / "full.duckdb")
    assert main(["import", str(DEMO_DIR), "--db", str(tmp_path / "full.duckdb")]) == 0
    after = snapshot(tmp_path / "full.duckdb", tmp_path / "after")

    def run(limit: int) -> str:
        shutil.copyfile(pristine, db)
        done = limited(["import", str(DEMO_DIR), "--db", str(db)], limit)
        if done.returncode == 0:
            files, counts, _ = snapshot(db, tmp_path / "now")
            assert (files, counts) == after[:2]
            outcome = "imported"
        else:
            assert WRITE_FAILED in refusal(done)
            assert snapshot(db, tmp_path / "now") == before
            outcome = "refused"
        assert tree(work) == ["s.duckdb"]
        return outcome

    return run


def _check_new_store(work: Path, tmp_path: Path) -> Callable[[int], str]:
    new = work / "new" / "new.duckdb"

    def run(limit: int) -> str:
        shutil.rmtree(work / "new", ignore_errors=True)
        done = limited(["import", str(EXAMPLE), "--db", str(new)], limit)
        if done.returncode == 0:
            with Store(new, read_only=True) as store:
                assert store.count("decision") == 129
            shutil.rmtree(work / "new")
            outcome = "imported"
        else:
            assert WRITE_FAILED in refusal(done)
            outcome = "refused"
        assert tree(work) == ["s.duckdb"]
        return outcome

    return run


def _check_backup(work: Path, tmp_path: Path) -> Callable[[int], str]:
    from coprod.backup import verify_backup

    db = work / "s.duckdb"

    def run(limit: int) -> str:
        done = limited(["backup", "--db", str(db), "--out", str(work / "bk")], limit)
        if done.returncode == 0:
            verify_backup(work / "bk")
            shutil.rmtree(work / "bk")
            outcome = "written"
        else:
            assert WRITE_FAILED in refusal(done)
            outcome = "refused"
        assert tree(work) == ["s.duckdb"]
        return outcome

    return run


def _check_export(fmt: str) -> Callable[[Path, Path], Callable[[int], str]]:
    def make(work: Path, tmp_path: Path) -> Callable[[int], str]:
        db = work / "s.duckdb"
        argv = ["export", "--format", fmt, "--db", str(db), "--out"]
        assert main([*argv, str(tmp_path / "expected")]) == 0
        expected = {p.name: p.read_bytes() for p in (tmp_path / "expected").iterdir()}

        def run(limit: int) -> str:
            done = limited([*argv, str(work / "out")], limit)
            if done.returncode == 0:
                assert {p.name: p.read_bytes() for p in (work / "out").iterdir()} == expected
                shutil.rmtree(work / "out")
                outcome = "written"
            else:
                assert WRITE_FAILED in refusal(done)
                outcome = "refused"
            assert tree(work) == ["s.duckdb"]
            return outcome

        return run

    return make


def _check_restore(work: Path, tmp_path: Path) -> Callable[[int], str]:
    db = work / "s.duckdb"
    assert main(["backup", "--db", str(db), "--out", str(tmp_path / "bk")]) == 0
    target = work / "t.duckdb"
    shutil.copyfile(db, target)
    with Store(target) as old:
        old.conn.execute("DELETE FROM decision WHERE decision_id LIKE 'b0-%'")
    pristine = tmp_path / "old.duckdb"
    shutil.copyfile(target, pristine)
    old_state = snapshot(pristine, tmp_path / "old")
    shutil.copyfile(target, pristine)
    restored = snapshot(db, tmp_path / "restored")

    def run(limit: int) -> str:
        shutil.copyfile(pristine, target)
        for kept in work.glob("t.duckdb.before-restore*"):
            kept.unlink()
        done = limited(["restore", str(tmp_path / "bk"), "--force", "--db", str(target)], limit)
        if done.returncode == 0:
            files, counts, _ = snapshot(target, tmp_path / "now")
            assert (files, counts) == restored[:2]
            (work / "t.duckdb.before-restore").unlink()
            outcome = "restored"
        else:
            assert WRITE_FAILED in refusal(done)
            assert snapshot(target, tmp_path / "now") == old_state
            outcome = "refused"
        assert tree(work) == ["s.duckdb", "t.duckdb"]
        return outcome

    return run


def _check_file(command: str) -> Callable[[Path, Path], Callable[[int], str]]:
    def make(work: Path, tmp_path: Path) -> Callable[[int], str]:
        db = work / "s.duckdb"
        out = work / ("r.pdf" if command == "report" else "p.zip")
        magic = b"%PDF-" if command == "report" else b"PK\x03\x04"

        def run(limit: int) -> str:
            done = limited([command, *PERIOD, "--db", str(db), "--out", str(out)], limit)
            if done.returncode == 0:
                assert out.read_bytes().startswith(magic)
                out.unlink()
                outcome = "written"
            else:
                assert WRITE_FAILED in refusal(done)
                outcome = "refused"
            assert tree(work) == ["s.duckdb"]
            return outcome

        return run

    return make


SWEEP: dict[str, Callable[[Path, Path], Callable[[int], str]]] = {
    "import": _check_import,
    "import-new-store": _check_new_store,
    "backup": _check_backup,
    "export-csv": _check_export("csv"),
    "export-xlsx": _check_export("xlsx"),
    "export-parquet": _check_export("parquet"),
    "restore": _check_restore,
    "report": _check_file("report"),
    "evidence": _check_file("evidence"),
}


@pytest.mark.parametrize("command", list(SWEEP))
def test_every_writing_command_survives_a_full_disk_at_every_point(
    command: str, work: Path, tmp_path: Path
) -> None:
    run = SWEEP[command](work, tmp_path)
    outcomes = {limit: run(limit) for limit in LIMITS}
    # Given room enough, every command does its work: the sweep covers both outcomes.
    assert outcomes[LIMITS[0]] == "refused"
    assert outcomes[LIMITS[-1]] != "refused"
    # Then closer and closer to the room it needs, where the last write is the one that fails.
    low = max(limit for limit, outcome in outcomes.items() if outcome == "refused")
    high = min(limit for limit, outcome in outcomes.items() if limit > low)
    for _ in range(BISECTIONS):
        middle = (low + high) // 2
        outcomes[middle] = run(middle)
        low, high = (middle, high) if outcomes[middle] == "refused" else (low, middle)
    refused = sum(1 for outcome in outcomes.values() if outcome == "refused")
    print(
        f"\n{command}: {len(outcomes)} runs, {refused} full disks refused cleanly, "
        f"{len(outcomes) - refused} completed; needs between {low} and {high} bytes a file"
    )
