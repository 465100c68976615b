"""Where the command line writes files and folders, safely.

- An output is never the store (the same file by any spelling, link or hard link) nor the
  store's write-ahead log, and never replaces an existing file of another kind: a report is
  written over a PDF, a pack over a zip, a workbook over a workbook, a parquet file over a
  parquet file, a CSV file over a text file, and over nothing else (an empty file is fine).
  ``refuse_unsafe_file`` and ``refuse_unsafe_folder`` say so in one sentence before anything is
  written.
- A folder of files is written into a hidden staging folder beside it
  (``.<name>.partial-<pid>``) and moved into place only when every file is whole
  (``staged_folder``), so a full disk never leaves half of it.
- A process killed while writing leaves its staging folder (or ``<store>.restoring-<pid>``)
  behind. ``remove_leftovers`` removes those whose process is no longer running and says what it
  removed; one of a process that is still running is left alone, and said too.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from coprod.store import StoreError, is_server

# What each kind of output starts with, and what it is called in a sentence.
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_BINARY = (b"%PDF-", b"PAR1", *_ZIP, b"\x7fELF", b"SQLite format 3")
KINDS: dict[str, str] = {
    "pdf": "a PDF",
    "zip": "a zip file",
    "xlsx": "an Excel workbook",
    "parquet": "a parquet file",
    "csv": "a CSV file",
}
PARTIAL = re.compile(r"^\.(?P<name>.+)\.partial-(?P<pid>\d+)$")


class OutputRefused(StoreError):
    """An output that would overwrite the store or a file of another kind, in one sentence."""


def _head(path: Path, size: int = 8192) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def is_kind(path: Path, kind: str) -> bool:
    """Whether the existing file ``path`` is of the output's ``kind`` (or empty)."""
    if path.stat().st_size == 0:
        return True
    head = _head(path)
    if kind == "pdf":
        return head.startswith(b"%PDF-")
    if kind in ("zip", "xlsx"):
        return head.startswith(_ZIP)
    if kind == "parquet":
        return head.startswith(b"PAR1")
    if kind == "csv":  # text: no NUL byte, and none of the binary formats above
        return b"\0" not in head and not head.startswith(_BINARY) and head[8:12] != b"DUCK"
    raise ValueError(f"unknown kind of output: {kind}")


def store_files(store: str | None) -> list[Path]:
    """The files that are the store: the store file and its write-ahead log."""
    if not store or is_server(store) or store == ":memory:":
        return []
    path = Path(store)
    return [path, path.with_name(path.name + ".wal")]


def _same(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)  # a hard link
    except OSError:
        return False


def refuse_unsafe_file(path: Path, kind: str, store: str | None, what: str) -> None:
    """Raise OutputRefused if writing ``what`` (a report, ...) to ``path`` could destroy data."""
    for own in store_files(store):
        if _same(path, own):
            part = "the store" if own == store_files(store)[0] else "the store's write-ahead log"
            raise OutputRefused(
                f"{path} is {part} {store_files(store)[0]}, so nothing was written: choose "
                f"another file for the {what}."
            )
    if path.is_dir():
        raise OutputRefused(
            f"{path} is a folder, so nothing was written: give a file name for the {what}."
        )
    if path.exists() and not is_kind(path, kind):
        raise OutputRefused(
            f"{path} already exists and is not {KINDS[kind]}, so it was not overwritten: choose "
            f"another file for the {what}."
        )


def refuse_unsafe_folder(folder: Path, files: dict[str, str], store: str | None, what: str) -> None:
    """Raise OutputRefused if writing ``files`` ({name: kind}) into ``folder`` could destroy
    data: the folder is a file, or one of the files would be the store or another kind."""
    for own in store_files(store):
        if _same(folder, own):
            raise OutputRefused(
                f"{folder} is the store, not a folder, so nothing was written: choose a folder "
                f"for the {what}."
            )
    if folder.exists() and not folder.is_dir():
        raise OutputRefused(
            f"{folder} is a file, not a folder, so nothing was written: choose a folder for the "
            f"{what}."
        )
    for name, kind in files.items():
        path = folder / name
        for own in store_files(store):
            if _same(path, own):
                raise OutputRefused(
                    f"{path} would be written over the store {store_files(store)[0]}, so "
                    f"nothing was written: export to another folder."
                )
        if path.is_dir() or (path.exists() and not is_kind(path, kind)):
            raise OutputRefused(
                f"{path} already exists and is not {KINDS[kind]}, so nothing was written: "
                f"choose another folder for the {what}."
            )


# --- staging --------------------------------------------------------------------------------


def staging_for(target: Path, pid: int | None = None) -> Path:
    """The hidden name beside ``target`` that a folder or file is written under first."""
    return target.with_name(f".{target.name}.partial-{os.getpid() if pid is None else pid}")


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """A hidden staging folder to write into; its files are moved into ``target`` when the
    block ends without error, and it is removed whatever happens.

    A new (or empty) ``target`` is the staging folder renamed in one step. Into a folder that
    holds files already (an earlier export), each file is moved over its namesake, so each is
    the old one or the new one, whole. Renames need no room on the disk.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_for(target)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
            target.rmdir()
        if not target.exists():
            os.replace(staging, target)
        else:
            for path in sorted(staging.iterdir()):
                os.replace(path, target / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --- leftovers ------------------------------------------------------------------------------


def process_alive(pid: int) -> bool:
    """Whether a process with this id is running (a zombie, killed but not yet reaped, is not).

    A process of another user that we may not signal is taken to be running."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


@dataclass(frozen=True)
class Leftover:
    """A file or folder left by a backup, export or restore that was killed."""

    path: Path
    pid: int | None  # None when the name does not say (an older coprod's)
    what: str  # "an unfinished backup or export", ...
    removed: bool

    def sentence(self) -> str:
        if self.removed and self.pid is None:
            return f"Removed {self.path}, {self.what}, which no program had open."
        if self.removed:
            return (
                f"Removed {self.path}, {self.what} left by process {self.pid}, which is no "
                "longer running."
            )
        return (
            f"Left {self.path} alone: it is {self.what} of process {self.pid}, which is still "
            "running."
        )


def _remove(path: Path) -> bool:
    """Remove a leftover file, or a folder holding only files (as coprod's staging folders
    do); never a folder with folders in it, which is not one of coprod's."""
    try:
        if path.is_dir() and not path.is_symlink():
            if any(p.is_dir() and not p.is_symlink() for p in path.iterdir()):
                return False
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass
    return True


def remove_leftovers(folder: Path, *, name: str | None = None) -> list[Leftover]:
    """Remove ``.<name>.partial-<pid>`` entries of ``folder`` (any name if ``name`` is None)
    whose process is no longer running; say what was removed, and what was left alone."""
    found: list[Leftover] = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return found
    for path in entries:
        match = PARTIAL.match(path.name)
        if not match or (name is not None and match["name"] != name):
            continue
        pid = int(match["pid"])
        what = (
            "an unfinished backup or export"
            if path.is_dir()
            else "a file an interrupted command was writing"
        )
        if pid == os.getpid():
            continue  # this process's own, being written now or about to be
        if process_alive(pid):
            found.append(Leftover(path, pid, what, removed=False))
        elif _remove(path):
            found.append(Leftover(path, pid, what, removed=True))
    return found
