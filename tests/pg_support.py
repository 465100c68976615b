"""A throwaway PostgreSQL server for tests: Debian's ``postgresql`` package, ``initdb`` into a
temporary folder and ``pg_ctl`` on a free loopback port, stopped and deleted afterwards.

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user the
package creates. A machine without the package fails the tests that need it: ``.ci/run``
installs it, and a test never skips for want of it.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from browser_support import free_port

from coprod.store import Store

TEMPLATE = "coprod_template"


def _bin_folder() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed: these tests need Debian's postgresql package "
            "(apt-get install -y postgresql; .ci/run installs it)."
        )
    return found[-1].parent


class PostgresServer:
    """One running server, with a migrated template database to copy for each test."""

    def __init__(self, folder: Path, *, durable: bool = False) -> None:
        self.folder = folder
        # Tests need no durability (fsync off is faster); a benchmark must not be flattered.
        self.durable = durable
        self.port = free_port()
        self.bin = _bin_folder()
        self._numbers = itertools.count(1)
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> None:
        if self._as_root:
            shutil.chown(self.folder, "postgres")
        data = self.folder / "data"
        self._run("initdb", "-D", str(data), "-U", "coprod", "--auth=trust", "-E", "UTF8")
        self._run(
            "pg_ctl",
            "-D",
            str(data),
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "-o",
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
            + ("" if self.durable else " -c fsync=off"),
            "start",
        )
        self.sql("postgres", f"CREATE DATABASE {TEMPLATE}")
        Store(self.url(TEMPLATE)).close()  # migrated once; each test copies it

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql://coprod@127.0.0.1:{self.port}/{database}"

    def sql(self, database: str, statement: str) -> None:
        """Run one statement with psql (CREATE DATABASE cannot run inside a transaction, and
        DuckDB's postgres_execute opens one)."""
        command = [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port)]
        command += ["-U", "coprod", "-d", database, "-v", "ON_ERROR_STOP=1", "-qc", statement]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")

    def new_database(self, *, migrated: bool = True) -> str:
        """The address of a new database: a copy of the migrated template, or empty."""
        name = f"store_{os.getpid()}_{next(self._numbers)}"
        template = f" TEMPLATE {TEMPLATE}" if migrated else ""
        self.sql("postgres", f"CREATE DATABASE {name}{template}")
        return self.url(name)


@contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[PostgresServer]:
    # A folder of its own directly under /tmp, which the postgres user can reach.
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="coprod-postgres-")), durable=durable)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)
