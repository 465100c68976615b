"""Two ways to reach PostgreSQL, measured on the rule queries beside the DuckDB file.

    .venv/bin/python bench/backends.py --store bench/out/200/store.duckdb [--json-out F]
                                       [--repeat 3] [--work DIR]

Starts a throwaway PostgreSQL on this machine (tests/pg_support.py, with fsync turned back on)
and copies every table of an existing coprod store file into:

- file: a fresh DuckDB file with coprod's schema (``Store(path)``), as the yardstick;
- postgres: a PostgreSQL database with coprod's schema (``Store(url)``), which DuckDB reaches
  with its postgres extension (ATTACH): the way coprod.store goes;
- ducklake: DuckLake with its catalogue in a PostgreSQL database and its data as Parquet files
  in a local folder (DATA_PATH); ``CREATE TABLE lake.t AS SELECT * FROM file.t``, since DuckLake
  has no primary keys.

Then, for each, in a fresh process: opening it, bench/run.py's hand-written first-involvement
query (the floor: its first run and the best of --repeat) and the whole rule engine
(``run_check`` as of the demo date: cold, the first after opening, and warm, the best of
--repeat), and whether the decisions and findings are the same as the file's. It also times
copying the tables in (rows/s) and notes the space each takes. Prints a markdown table and writes
the figures as JSON (by default beside the store, as backends.json, where bench/run.py's report
finds them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from coprod.store import Store, load_extension, quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (
    FLOOR_QUERY,
    ROOT,
    backends_section,
    file_mb,
    postgres_server,
    server_facts,
)

LAKE = "lake"  # the catalogue DuckLake is attached as


def _text(value: str) -> str:
    return value.replace("'", "''")


class LakeStore(Store):
    """Bench only: a read-only "store" over DuckLake, enough for run_check and the floor query
    (cursor() and data_version()). coprod itself has no DuckLake store."""

    def __init__(self, catalogue: str, data_path: str) -> None:  # no super().__init__: no file
        self.server = False
        self._address = self.location = f"ducklake:postgres:{catalogue}"
        self.read_only = True
        self._write_lock = threading.Lock()
        self.conn = lake_connection(catalogue, data_path, read_only=True)

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self.conn.cursor()
        try:
            cur.execute(f"USE {LAKE}")  # a new cursor starts in DuckDB's own catalogue
            yield cur
        finally:
            cur.close()


def lake_connection(
    catalogue: str, data_path: str, *, read_only: bool
) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(":memory:")
    load_extension(conn, "postgres")
    load_extension(conn, "ducklake")
    options = f"DATA_PATH '{_text(data_path)}'" + (", READ_ONLY" if read_only else "")
    conn.execute(f"ATTACH 'ducklake:postgres:{_text(catalogue)}' AS {LAKE} ({options})")
    return conn


# --- measuring one backend (in a child process of its own) ---------------------------------


def open_store(spec: dict[str, str]) -> Store:
    if spec["kind"] == "ducklake":
        return LakeStore(spec["catalogue"], spec["data_path"])
    return Store(spec["location"], read_only=True)


def digest(rows: list[dict[str, Any]]) -> str:
    """The same for the same rows in any order, whatever backend they came from."""
    lines = sorted(json.dumps(row, sort_keys=True, default=str) for row in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def measure_one(spec: dict[str, str], repeat: int) -> dict[str, Any]:
    from coprod.demo import DEMO_AS_OF
    from coprod.rules import run_check

    start = time.perf_counter()
    store = open_store(spec)
    opened = time.perf_counter() - start
    start = time.perf_counter()
    result = run_check(store, DEMO_AS_OF)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(repeat):
        start = time.perf_counter()
        run_check(store, DEMO_AS_OF)
        warm.append(time.perf_counter() - start)
    floor, floor_rows = [], []
    with store.cursor() as cur:
        for _ in range(repeat + 1):
            start = time.perf_counter()
            rows = cur.execute(FLOOR_QUERY, {"as_of": DEMO_AS_OF}).fetchall()
            floor.append(time.perf_counter() - start)
            floor_rows = sorted(rows)
    figures = {
        "open": opened,
        "cold": cold,
        "warm": min(warm),
        "floor_first": floor[0],
        "floor": min(floor[1:]),
        "floor_digest": digest([{"row": row} for row in floor_rows]),
        "decisions": result.decision_table.num_rows,
        "findings": result.finding_table.num_rows,
        "digest": digest(
            # Among involvements that start on the same day, coprod.rules picks the first one
            # (arg_min by start date) at random, from run to run on one backend too: leave it
            # out; first_involved_on, its date, stays in.
            [
                {k: v for k, v in row.items() if k != "first_involvement_id"}
                for row in result.decision_table.to_pylist()
            ]
        )
        + digest(result.finding_table.to_pylist()),
        "data_version": store.data_version(),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    store.close()
    return figures


def measure(spec: dict[str, str], repeat: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", json.dumps(spec), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"measuring {spec['kind']} failed:\n{done.stderr.strip()}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --- copying the store in ------------------------------------------------------------------


def source_tables(source: Path) -> dict[str, int]:
    with duckdb.connect(str(source), read_only=True) as con:
        names = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "ORDER BY table_name"
            ).fetchall()
        ]
        counts = {}
        for name in names:
            row = con.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()  # noqa: S608
            counts[name] = int(row[0]) if row else 0
    return counts


def copy_into_store(store: Store, source: Path, tables: dict[str, int]) -> float:
    """Every table's rows into a store with coprod's schema, in one transaction; seconds."""
    with store.cursor() as cur:
        cur.execute(f"ATTACH '{_text(str(source))}' AS src (READ_ONLY)")
        start = time.perf_counter()
        cur.execute("BEGIN TRANSACTION")
        for name in tables:
            # The migrations fill store_meta and schema_version: the copy replaces them.
            cur.execute(f"DELETE FROM {quote(name)}")  # noqa: S608
            cur.execute(f"INSERT INTO {quote(name)} SELECT * FROM src.{quote(name)}")  # noqa: S608
        if store.server:
            # audit_id comes from a sequence: carry on after the ids copied.
            store.execute_on_server(
                cur,
                "SELECT setval('audit_seq', (SELECT coalesce(max(audit_id), 0) + 1 "
                "FROM audit_log), false)",
            )
        cur.execute("COMMIT")
        if not store.server:
            cur.execute("CHECKPOINT")
        seconds = time.perf_counter() - start
        cur.execute("DETACH src")
    return seconds


def load_file(source: Path, work: Path, tables: dict[str, int]) -> tuple[dict[str, str], Any]:
    target = work / "file.duckdb"
    target.unlink(missing_ok=True)
    with Store(target) as store:
        seconds = copy_into_store(store, source, tables)
    spec = {"kind": "file", "location": str(target)}
    return spec, {"seconds": seconds, "size_mb": file_mb(target), "size_note": "the file"}


def load_postgres(server: Any, source: Path, tables: dict[str, int]) -> tuple[dict[str, str], Any]:
    url = server.new_database(migrated=False)
    with Store(url) as store:  # coprod's own schema, made by its migrations
        seconds = copy_into_store(store, source, tables)
    start = time.perf_counter()
    server.sql(url.rsplit("/", 1)[1], "VACUUM ANALYZE")  # as autovacuum soon would
    analyze = time.perf_counter() - start
    facts = server_facts(url)
    load = {
        "seconds": seconds,
        "analyze_s": analyze,
        "size_mb": facts["database_mb"],
        "size_note": f"the database; its tables and indexes {facts['tables_mb']:,.1f} MB",
    }
    return {"kind": "postgres", "location": url}, load


def load_ducklake(
    server: Any, source: Path, work: Path, tables: dict[str, int]
) -> tuple[dict[str, str], Any]:
    url = server.new_database(migrated=False)
    catalogue = f"dbname={url.rsplit('/', 1)[1]} host=127.0.0.1 port={server.port} user=coprod"
    data_path = work / "lake"
    shutil.rmtree(data_path, ignore_errors=True)
    data_path.mkdir(parents=True)
    start = time.perf_counter()
    conn = lake_connection(catalogue, str(data_path) + "/", read_only=False)
    attach = time.perf_counter() - start
    try:
        conn.execute(f"ATTACH '{_text(str(source))}' AS src (READ_ONLY)")
        start = time.perf_counter()
        for name in tables:
            conn.execute(
                f"CREATE TABLE {LAKE}.{quote(name)} AS SELECT * FROM src.{quote(name)}"  # noqa: S608
            )
        seconds = time.perf_counter() - start
    finally:
        conn.close()
    files = [p for p in data_path.rglob("*") if p.is_file()]
    # DuckLake keeps a table of a few rows in the catalogue itself rather than a Parquet file.
    inlined = [t for t, n in tables.items() if n and not any((data_path / "main" / t).rglob("*"))]
    data_mb = sum(p.stat().st_size for p in files) / 2**20
    facts = server_facts(url)
    load = {
        "seconds": seconds,
        "catalogue_s": attach,
        "size_mb": data_mb + facts["database_mb"],
        "size_note": f"{len(files)} Parquet files {data_mb:,.1f} MB; the catalogue database "
        f"{facts['database_mb']:,.1f} MB, with {len(inlined)} small tables inlined in it",
        "data_files": len(files),
        "inlined_tables": inlined,
        "data_mb": data_mb,
        "catalogue_mb": facts["database_mb"],
    }
    spec = {"kind": "ducklake", "catalogue": catalogue, "data_path": str(data_path) + "/"}
    return spec, load


# --- the whole comparison ------------------------------------------------------------------


def compare(source: Path, work: Path, repeat: int) -> dict[str, Any]:
    tables = source_tables(source)
    rows = sum(tables.values())
    with duckdb.connect(str(source), read_only=True) as con:
        found = con.execute("SELECT count(*) FROM board").fetchone()
    data: dict[str, Any] = {
        "store": str(source),
        "boards": int(found[0]) if found else 0,
        "rows": rows,
        "tables": tables,
        "repeat": repeat,
        "duckdb": duckdb.__version__,
        "backends": {},
    }
    with postgres_server() as server:
        loads: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        print(f"Copying {rows:,} rows into a DuckDB file…", file=sys.stderr, flush=True)
        loads.append(("file", *load_file(source, work, tables)))
        print("… into PostgreSQL (attached)…", file=sys.stderr, flush=True)
        loads.append(("postgres", *load_postgres(server, source, tables)))
        print("… into DuckLake with a PostgreSQL catalogue…", file=sys.stderr, flush=True)
        loads.append(("ducklake", *load_ducklake(server, source, work, tables)))
        data["server"] = server_facts(server.url("postgres"))
        for kind, spec, load in loads:
            print(f"Measuring {kind}…", file=sys.stderr, flush=True)
            figures = measure(spec, repeat)
            data["backends"][kind] = {
                "load": {k: v for k, v in load.items() if not k.startswith("size")},
                "size_mb": load["size_mb"],
                "size_note": load["size_note"],
                **figures,
            }
    file = data["backends"]["file"]
    data["same_results"] = all(
        f["digest"] == file["digest"] and f["floor_digest"] == file["floor_digest"]
        for f in data["backends"].values()
    )
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="the coprod store file to copy")
    parser.add_argument(
        "--json-out", type=Path, help="where to write the figures (default: STORE's folder/"
        "backends.json)"
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="warm runs; the best counts")
    parser.add_argument(
        "--work", type=Path, help="keep the copies here (default: a temporary folder)"
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # in the child process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure_one(json.loads(args.measure), args.repeat)))
        return
    if args.store is None or not args.store.is_file():
        parser.error(f"--store: no store file at {args.store}")
    source = args.store.resolve()
    with tempfile.TemporaryDirectory(prefix="coprod-backends-") as tmp:
        work = args.work.resolve() if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        data = compare(source, work, args.repeat)
    out = args.json_out or source.parent / "backends.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n")
    print("\n".join(backends_section(data["boards"], data)).strip())
    print(f"\nWrote {out}")


if __name__ == "__main__":
    main()
