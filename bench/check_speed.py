"""Measure import and rule-check speed on generated national-scale data.

    .venv/bin/python bench/check_speed.py --boards 200

Generates `coprod demo --boards N` data into a temporary folder, then measures: the import
(rows per second, peak memory of the importing process), `run_check` cold (first run on a
freshly opened store) and warm (best of the next runs), and the floor: one hand-written DuckDB
query computing every decision's first-involvement category, and DuckDB's own `read_csv` of
the same files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from coprod.demo import DEMO_AS_OF, write_demo
from coprod.rules import run_check
from coprod.store import Store

FLOOR_QUERY = """
WITH q AS (
    SELECT decision_id, min(start_date) AS q FROM involvement
    WHERE "group" IN ('people_who_use_services', 'carers', 'dpo')
      AND level IN ('consult', 'engage', 'co_design', 'co_produce')
      AND attestation <> 'disputed' AND start_date <= $as_of
    GROUP BY decision_id
)
SELECT d.decision_id,
    CASE
        WHEN NOT affects_people_who_use_services THEN 'not_applicable'
        WHEN q IS NULL AND decided_on <= $as_of THEN 'never'
        WHEN q IS NULL THEN 'pending'
        WHEN q >= decided_on THEN 'retrofitted'
        WHEN q >= options_fixed_on THEN 'late'
        WHEN q <= identified_on + 30 THEN 'from_start'
        WHEN options_fixed_on IS NOT NULL THEN 'formative'
        ELSE 'unknown'
    END
FROM decision d LEFT JOIN q USING (decision_id)
"""


def _import_in_child(folder: Path, db: Path) -> dict[str, float]:
    """Import in a fresh process so that its peak memory is the import's own."""
    code = (
        "import json, resource, sys, time\n"
        "from coprod.interchange import import_source\n"
        "from coprod.store import Change, Store\n"
        "t = time.perf_counter()\n"
        "with Store(sys.argv[2]) as s:\n"
        "    summary = import_source(s, sys.argv[1], Change('bench', 'cli'))\n"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'rows': summary.total_rows,\n"
        "    'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(folder), str(db)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout))


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--boards", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder, db = Path(tmp) / "demo", Path(tmp) / "bench.duckdb"
        start = time.perf_counter()
        write_demo(folder, boards=args.boards, seed=args.seed)
        generated = time.perf_counter() - start
        imported = _import_in_child(folder, db)

        reader = duckdb.connect()
        csv_floor = _best(
            lambda: [
                reader.execute("SELECT count(*) FROM read_csv(?)", [str(p)]).fetchall()
                for p in sorted(folder.glob("*.csv"))
            ],
            repeat=1,
        )
        store = Store(db)
        start = time.perf_counter()
        result = run_check(store, DEMO_AS_OF)
        cold = time.perf_counter() - start
        warm = _best(lambda: run_check(store, DEMO_AS_OF))
        with store.cursor() as cur:
            floor = _best(lambda: cur.execute(FLOOR_QUERY, {"as_of": DEMO_AS_OF}).fetchall())
        store.close()
    rows = [
        ("boards", str(args.boards)),
        ("decisions", str(len(result.decisions))),
        ("findings", str(len(result.findings))),
        ("generate demo CSV (s)", f"{generated:.1f}"),
        ("import (s)", f"{imported['seconds']:.1f}"),
        ("import rows/s", f"{imported['rows'] / imported['seconds']:,.0f}"),
        ("import peak memory (MB)", f"{imported['peak_mb']:,.0f}"),
        ("floor: DuckDB read_csv of the same files (s)", f"{csv_floor:.2f}"),
        ("check, cold (s)", f"{cold:.2f}"),
        ("check, warm (s)", f"{warm:.2f}"),
        ("floor: one first-involvement query (s)", f"{floor:.3f}"),
        ("warm check / floor", f"{warm / floor:.1f}x"),
    ]
    print(
        f"Measured {dt.datetime.now():%Y-%m-%d %H:%M} on {platform.machine()} with "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, DuckDB {duckdb.__version__}"
    )
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
