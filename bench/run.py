"""The national-scale benchmark: `make bench-national` runs it and writes docs/benchmarks.md.

    .venv/bin/python bench/run.py [--boards 3 31 200 1000] [--out docs/benchmarks.md]
                                  [--work bench/out] [--no-browser] [--no-load]
                                  [--backend file|postgres]

For each number of boards N it generates `coprod demo --boards N` data (kept in bench/out/N/
to reuse), then measures, each in a fresh process:

- import: rows per second and peak memory of the importing process, against DuckDB's own
  `read_csv` of the same files (the floor). Above 200 boards the files are imported in batches
  of 200 boards, one after another in one process, as a national collection would be loaded.
- the rule engine (`run_check`, every FTS, TB, REP and HC rule): cold (the first check after
  opening the store) and warm (best of three), against one hand-written DuckDB query that
  computes every decision's first-involvement category (the floor); and `coprod check
  --format json` end to end.
- every page's server-side render time with AppTest, first (caches empty) and repeated
  (bench/pages.py);
- the time in Chromium from navigation to the Overview being ready (bench/browser_ready.py);
- at 200 boards, 10 browser sessions on the Overview and Decisions while an import runs
  through the app (bench/load.py).

With `--backend postgres` the same figures (but the load test) are measured on a PostgreSQL
store: for each size a throwaway PostgreSQL server on this machine (tests/pg_support.py, with
fsync turned back on), the same CSV files imported into a fresh database through
`Store(url)`, and the check, `coprod check`, the pages and the browser all reading it through
DuckDB's postgres extension. Those figures go to WORK/N/figures-postgres.json (the file store's
to WORK/N/figures.json), and the report puts the two side by side for every size measured on
both, with bench/backends.py's comparison (WORK/N/backends.json) when it is there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    from pg_support import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BATCH = 200  # boards per import batch above this size
BACKENDS = ("file", "postgres")
FIGURES = {"file": "figures.json", "postgres": "figures-postgres.json"}

FLOOR_QUERY = """
WITH q AS (
    SELECT decision_id, min(start_date) AS q FROM involvement
    WHERE "group" IN ('people_who_use_services', 'carers', 'dpo')
      AND level IN ('consult', 'engage', 'co_design', 'co_produce')
      AND attestation <> 'disputed' AND start_date <= $as_of AND withdrawn_at IS NULL
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
WHERE d.withdrawn_at IS NULL
"""

# Each measurement runs in a child process so that memory and caches are its own.
IMPORT_CODE = """
import json, resource, sys, time
from coprod.interchange import import_source
from coprod.store import Change, Store
rows = 0
start = time.perf_counter()
with Store(sys.argv[1]) as store:
    for folder in sys.argv[2:]:
        rows += import_source(store, folder, Change("bench", "cli")).total_rows
print(json.dumps({"seconds": time.perf_counter() - start, "rows": rows,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CHECK_CODE = """
import json, sys, time
from coprod.demo import DEMO_AS_OF
from coprod.rules import run_check
from coprod.store import Store
start = time.perf_counter()
store = Store(sys.argv[1], read_only=True)
opened = time.perf_counter() - start
start = time.perf_counter()
result = run_check(store, DEMO_AS_OF)
cold = time.perf_counter() - start
warm = []
for _ in range(3):
    start = time.perf_counter()
    run_check(store, DEMO_AS_OF)
    warm.append(time.perf_counter() - start)
floor = []
with store.cursor() as cur:
    for _ in range(3):
        start = time.perf_counter()
        cur.execute(sys.argv[2], {"as_of": DEMO_AS_OF}).fetchall()
        floor.append(time.perf_counter() - start)
print(json.dumps({"open": opened, "cold": cold, "warm": min(warm), "floor": min(floor),
                  "decisions": result.decision_table.num_rows,
                  "findings": result.finding_table.num_rows}))
"""


def child(code: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def script(
    name: str, db: str, *args: str, out: Path, timeout: int = 3600, progress: bool = False
) -> dict[str, Any] | str:
    """Run bench/<name> --db DB with --json-out OUT; its figures, or why it could not run.
    With ``progress`` its stderr (its progress) is shown as it runs."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    command = [PYTHON, str(ROOT / "bench" / name), "--db", db]
    try:
        done = subprocess.run(
            [*command, *args, "--json-out", str(out)],
            stdout=subprocess.PIPE,
            stderr=None if progress else subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"did not finish within {timeout} s"
    if done.returncode != 0 or not out.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()
        return tail[-1] if tail else f"exit code {done.returncode}"
    return dict(json.loads(out.read_text()))


def generate(boards: int, folder: Path) -> float | None:
    """Write the demo CSVs once; None when they were already there."""
    marker = folder / ".complete"
    if marker.exists():
        return None
    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(
        [PYTHON, "-m", "coprod.cli", "demo", "--boards", str(boards), "--out", str(folder)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    marker.touch()
    return time.perf_counter() - start


def batches(folder: Path, work: Path, boards: int) -> list[Path]:
    """Split a large demo into folders of BATCH boards (each one whole: its members, meetings,
    decisions, attendance, involvement and health-checks)."""
    if boards <= BATCH:
        return [folder]
    out = work / "batches"
    marker = out / ".complete"
    parts = sorted(p for p in out.iterdir() if p.is_dir()) if marker.exists() else []
    if parts:
        return parts
    shutil.rmtree(out, ignore_errors=True)
    con = duckdb.connect()

    def table(name: str) -> str:
        return f"read_csv('{folder / name}', all_varchar = true, header = true)"

    split = (
        "CREATE TABLE b AS SELECT board_id, (row_number() OVER (ORDER BY board_id) - 1) "  # noqa: S608
        f"// {BATCH} AS part FROM {table('boards.csv')}"
    )
    con.execute(split)
    owner = {
        "boards.csv": "t.board_id",
        "members.csv": "t.board_id",
        "meetings.csv": "t.board_id",
        "decisions.csv": "t.board_id",
        "health_checks.csv": "t.board_id",
        "attendance.csv": f"(SELECT board_id FROM {table('meetings.csv')} m "  # noqa: S608
        "WHERE m.meeting_id = t.meeting_id)",
        "involvements.csv": f"(SELECT board_id FROM {table('decisions.csv')} d "  # noqa: S608
        "WHERE d.decision_id = t.decision_id)",
    }
    count = con.execute("SELECT max(part) + 1 FROM b").fetchone()
    assert count is not None
    for part in range(int(count[0])):
        target = out / f"{part:03d}"
        target.mkdir(parents=True)
        for name, board in owner.items():
            if not (folder / name).exists():
                continue
            con.execute(
                f"COPY (SELECT t.* FROM {table(name)} t WHERE {board} IN "  # noqa: S608
                f"(SELECT board_id FROM b WHERE part = {part})) TO '{target / name}' "
                "(HEADER, DELIMITER ',')"
            )
    marker.touch()
    return sorted(p for p in out.iterdir() if p.is_dir())


def csv_floor(folder: Path) -> float:
    con = duckdb.connect()
    start = time.perf_counter()
    for path in sorted(folder.glob("*.csv")):
        con.execute("SELECT count(*) FROM read_csv(?)", [str(path)]).fetchall()
    return time.perf_counter() - start


def check_json(db: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [PYTHON, "-m", "coprod.cli", "check", "--db", db, "--format", "json",
         "--as-of", "2026-11-21"],
        check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    return time.perf_counter() - start


def is_server(db: str) -> bool:
    return db.lower().startswith(("postgresql://", "postgres://"))


# --- PostgreSQL --------------------------------------------------------------------------


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL on this machine (tests/pg_support.py), durable as a real one:
    the tests' server runs with fsync off, which a store's figures must not flatter."""
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    from pg_support import postgres_server as throwaway

    with throwaway(durable=True) as server:
        yield server


def server_facts(url: str) -> dict[str, Any]:
    """PostgreSQL's version, and the space the database and its tables take on disk."""
    from coprod.store import load_extension

    con = duckdb.connect()
    try:
        load_extension(con, "postgres")
        con.execute(f"ATTACH '{url}' AS pg (TYPE postgres, READ_ONLY)")
        row = con.execute(
            "SELECT * FROM postgres_query('pg', 'SELECT current_setting(''server_version'') "
            "AS version, current_setting(''fsync'') AS fsync, "
            "pg_database_size(current_database())::bigint AS database, "
            "(SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ''public'' AND c.relkind = ''r'') AS tables')"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return {
        "version": row[0],
        "fsync": row[1],
        "database_mb": row[2] / 2**20,
        "tables_mb": row[3] / 2**20,  # with their indexes and TOAST
    }


def file_mb(path: Path) -> float:
    wal = path.with_name(path.name + ".wal")
    return sum(p.stat().st_size for p in (path, wal) if p.exists()) / 2**20


def measure(
    boards: int,
    work: Path,
    *,
    browser: bool,
    load: bool,
    pages: bool = True,
    backend: str = "file",
) -> dict[str, Any]:
    from browser_ready import machine

    folder = work / "csv"
    figures: dict[str, Any] = {"boards": boards, "machine": machine()}
    if backend != "file":
        figures["backend"] = backend
    tag = "" if backend == "file" else f"-{backend}"
    print(f"[{boards} boards] generating", flush=True)
    figures["generate_s"] = generate(boards, folder)
    parts = batches(folder, work, boards)
    with ExitStack() as stack:
        if backend == "postgres":
            print(f"[{boards} boards] starting PostgreSQL", flush=True)
            server = stack.enter_context(postgres_server())
            server.sql("postgres", "CREATE DATABASE bench")
            db = server.url("bench")
        else:
            path = work / "store.duckdb"
            path.unlink(missing_ok=True)
            db = str(path)
        print(f"[{boards} boards] importing ({len(parts)} part(s))", flush=True)
        figures["import"] = child(IMPORT_CODE, db, *map(str, parts))
        figures["import"]["batches"] = len(parts)
        if backend == "postgres":
            figures["server"] = server_facts(db)
            figures["store_mb"] = figures["server"]["database_mb"]
        else:
            figures["store_mb"] = file_mb(Path(db))
        figures["read_csv_floor_s"] = csv_floor(folder)
        print(f"[{boards} boards] checking", flush=True)
        figures["check"] = child(CHECK_CODE, db, FLOOR_QUERY)
        figures["check_json_s"] = check_json(db)
        if backend == "file":
            from floors import measure_cli

            print(f"[{boards} boards] command-line ratios", flush=True)
            figures["cli_ratios"] = measure_cli(db, work=work)
        figures["pages"] = "not measured in this run"
        if pages:
            print(f"[{boards} boards] pages", flush=True)
            figures["pages"] = script("pages.py", db, out=work / f"pages{tag}.json")
        if browser:
            print(f"[{boards} boards] browser", flush=True)
            figures["browser"] = script(
                "browser_ready.py", db, out=work / f"browser_ready{tag}.json"
            )
            if backend == "file":
                print(f"[{boards} boards] pages as ratios to a trivial page", flush=True)
                figures["ratios"] = script("ratios.py", db, out=work / "ratios.json")
    if load and backend != "file":
        print(f"[{boards} boards] load test: measured on the file store only", flush=True)
    elif load:
        print(f"[{boards} boards] load test", flush=True)
        extra = work / "load-import"
        if not (extra / ".complete").exists():
            shutil.rmtree(extra, ignore_errors=True)
            subprocess.run(
                [PYTHON, "-m", "coprod.cli", "demo", "--boards", "5", "--seed", "7",
                 "--out", str(extra)],
                check=True, capture_output=True, cwd=ROOT,
            )  # fmt: skip
            (extra / ".complete").touch()
        figures["load"] = script("load.py", db, "--import-dir", str(extra), out=work / "load.json")
    figures["machine_after"] = machine()
    return figures


# --- the report -------------------------------------------------------------------------


def _s(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f} s"


def _ok(good: bool) -> str:
    return "met" if good else "**not met**"


def report(
    results: list[dict[str, Any]],
    postgres: list[dict[str, Any]] | None = None,
    backends: dict[int, dict[str, Any]] | None = None,
) -> str:
    """The report: the file store's figures (``results``), then, when there are any, the
    PostgreSQL store's beside them and bench/backends.py's comparison for each size."""
    now = dt.datetime.now()
    lines = [
        f"## At national scale: absolute figures ({now:%-d %B %Y})",
        "",
        f"Measured on {now:%-d %B %Y at %H:%M} by `make bench` "
        "(`bench/run.py`): "
        f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB memory, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}. Each figure comes "
        "from a fresh process; re-run with `make bench` (or `.venv/bin/python bench/run.py "
        "--boards 200`).",
        "",
        "The browser and load figures come from Chromium running on the same machine as the "
        "dashboard: with 2 cores, ten browser tabs leave the server little CPU (the load test "
        "reports where the CPU went). Run the browsers from another machine to judge the "
        "dashboard alone.",
    ]
    if results:
        lines += _file_sections(results)
    if postgres:
        lines += _side_by_side(results, postgres)
    for boards, comparison in sorted((backends or {}).items()):
        lines += backends_section(boards, comparison)
    return "\n".join(lines) + "\n"


def _file_sections(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "### Store, import and rules",
        "",
        "| boards | " + " | ".join(str(r["boards"]) for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]

    def row(name: str, cells: list[str]) -> None:
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    row("decisions", [f"{r['check']['decisions']:,}" for r in results])
    row("findings", [f"{r['check']['findings']:,}" for r in results])
    row("rows imported", [f"{r['import']['rows']:,}" for r in results])
    row("import", [_s(r["import"]["seconds"], 1) for r in results])
    row("import rows/s", [f"{r['import']['rows'] / r['import']['seconds']:,.0f}" for r in results])
    row("import peak memory", [f"{r['import']['peak_mb']:,.0f} MB" for r in results])
    row("import batches of 200 boards", [str(r["import"]["batches"]) for r in results])
    row("floor: DuckDB read_csv of the same files", [_s(r["read_csv_floor_s"]) for r in results])
    row(
        "import / read_csv floor",
        [f"{r['import']['seconds'] / r['read_csv_floor_s']:.0f}×" for r in results],
    )
    row("rules (run_check), cold", [_s(r["check"]["cold"]) for r in results])
    row("rules (run_check), warm", [_s(r["check"]["warm"]) for r in results])
    row("floor: one first-involvement query", [_s(r["check"]["floor"], 3) for r in results])
    row("warm rules / floor", [f"{r['check']['warm'] / r['check']['floor']:.1f}×" for r in results])
    row("`coprod check --format json`, whole command", [_s(r["check_json_s"]) for r in results])

    lines += ["", "### Pages on the server (AppTest): first run / repeated run", ""]
    lines.append("| page | " + " | ".join(f"{r['boards']} boards" for r in results) + " |")
    lines.append("|---|" + "---|" * len(results))
    titles = next((list(r["pages"]) for r in results if isinstance(r["pages"], dict)), [])
    for title in titles:
        cells = []
        for r in results:
            p = r["pages"]
            cells.append(
                f"{p[title]['first']:.2f} / {p[title]['repeated']:.2f} s"
                if isinstance(p, dict) and title in p
                else "—"
            )
        row(title, cells)

    if any("browser" in r for r in results):
        lines += ["", "### The Overview in Chromium: navigation to ready", ""]
        lines.append("| boards | first session | median | 95th percentile |")
        lines.append("|---|---|---|---|")
        for r in results:
            b = r.get("browser")
            if isinstance(b, dict):
                lines.append(
                    f"| {r['boards']} | {_s(b.get('cold_s'))} | {_s(b.get('median_s'))} | "
                    f"{_s(b.get('p95_s'))} |"
                )
            elif b is not None:
                lines.append(f"| {r['boards']} | not measured: {b} | | |")

    for r in results:
        if "load" in r:
            lines += ["", f"### Load: 10 sessions while an import runs ({r['boards']} boards)", ""]
            load = r["load"]
            if isinstance(load, dict):
                lines.append("```json")
                lines.append(json.dumps(load, indent=2, default=str))
                lines.append("```")
            else:
                lines.append(f"Not measured: {load}")

    at200 = next((r for r in results if r["boards"] == 200), None)
    if at200:
        c = at200["check"]
        pages = at200["pages"] if isinstance(at200["pages"], dict) else {}
        warm_pages = max((p["repeated"] for p in pages.values()), default=float("nan"))
        cold_pages = max((p["first"] for p in pages.values()), default=float("nan"))
        browser = at200.get("browser")
        ready = browser.get("median_s") if isinstance(browser, dict) else None
        lines += [
            "",
            "### Goals at 200 boards",
            "",
            "| goal | measured | |",
            "|---|---|---|",
            f"| rules within 4× the floor | {c['warm'] / c['floor']:.1f}× | "
            f"{_ok(c['warm'] <= 4 * c['floor'])} |",
            f"| rules under 0.5 s warm | {_s(c['warm'])} | {_ok(c['warm'] < 0.5)} |",
            f"| every page under 1 s warm | slowest {_s(warm_pages)} | {_ok(warm_pages < 1)} |",
            f"| every page under 3 s cold | slowest {_s(cold_pages)} | {_ok(cold_pages < 3)} |",
            f"| Overview ready in the browser within 2.5 s | median {_s(ready)} | "
            f"{_ok(ready is not None and ready < 2.5)} |",
            f"| import within 30 s | {_s(at200['import']['seconds'], 1)} | "
            f"{_ok(at200['import']['seconds'] < 30)} |",
            f"| import under 2 GB peak | {at200['import']['peak_mb']:,.0f} MB | "
            f"{_ok(at200['import']['peak_mb'] < 2048)} |",
        ]
        at1000 = next((r for r in results if r["boards"] == 1000), None)
        if at1000:
            ratios = {
                "import": at1000["import"]["seconds"] / at200["import"]["seconds"],
                "rules, warm": at1000["check"]["warm"] / c["warm"],
                "rules, cold": at1000["check"]["cold"] / c["cold"],
            }
            for name, ratio in ratios.items():
                lines.append(
                    f"| 1000 boards cost at most 6× 200 ({name}) | {ratio:.1f}× | "
                    f"{_ok(ratio <= 6)} |"
                )
    return lines


def ratios_report(results: list[dict[str, Any]]) -> str | None:
    """The ratio section (bench/floors.py) for the sizes measured with the ratios, if any."""
    from floors import ratio_section

    measured = [r for r in results if "cli_ratios" in r or "ratios" in r]
    if not measured:
        return None
    cli = {}
    for r in measured:
        cli[r["boards"]] = {
            "import": {
                "seconds": r["import"]["seconds"],
                "rows": r["import"]["rows"],
                "floor_s": r["read_csv_floor_s"],
                "ratio": r["import"]["seconds"] / r["read_csv_floor_s"],
            },
            **r.get("cli_ratios", {}),
        }
    machines = [r["machine"] for r in measured if "machine" in r]
    ends = [r["machine_after"] for r in measured if "machine_after" in r]
    if not machines or not ends:
        return None
    return ratio_section(
        {r["boards"]: r["ratios"] for r in measured if "ratios" in r},
        cli,
        command="make bench",
        started=min(machines, key=lambda m: str(m["when"])),
        ended=max(ends, key=lambda m: str(m["when"])),
    )


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} MB" if value >= 10 else f"{value:.1f} MB"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or not b else f"{a / b:.1f}×"


def _side_by_side(file: list[dict[str, Any]], postgres: list[dict[str, Any]]) -> list[str]:
    """For every size measured on PostgreSQL: its figures beside the file store's."""
    pairs = [(next((f for f in file if f["boards"] == p["boards"]), None), p) for p in postgres]
    server: dict[str, Any] = next((p["server"] for p in postgres if "server" in p), {})
    lines = [
        "",
        "### The file store and the PostgreSQL store side by side",
        "",
        f"The PostgreSQL store is a throwaway PostgreSQL {server.get('version', '?')} server on "
        f"this same machine (default settings, fsync {server.get('fsync', '?')}), started for "
        "each size; the CSV files are imported into "
        "an empty database and every query reaches it through DuckDB's postgres extension "
        "(ATTACH). The server's own CPU and memory are not in the importing process's figures. "
        "`bench/run.py --backend postgres` measures it; the load test runs on the file store "
        "only.",
        "",
        "| | "
        + " | ".join(
            f"file, {p['boards']} boards | PostgreSQL, {p['boards']} boards" for _, p in pairs
        )
        + " |",
        "|---|" + "---|---|" * len(pairs),
    ]

    def get(figures: dict[str, Any] | None, *keys: str) -> Any:
        value: Any = figures
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value

    def row(name: str, cell: Any) -> None:
        cells = [
            cell(figures) if figures is not None else "—" for pair in pairs for figures in pair
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    def seconds(*keys: str, digits: int = 2) -> Any:
        return lambda f: _s(get(f, *keys), digits)

    row("decisions", lambda f: f"{f['check']['decisions']:,}")
    row("findings", lambda f: f"{f['check']['findings']:,}")
    row("rows imported", lambda f: f"{f['import']['rows']:,}")
    row("import", seconds("import", "seconds", digits=1))
    row("import rows/s", lambda f: f"{f['import']['rows'] / f['import']['seconds']:,.0f}")
    row("import peak memory (importing process)", lambda f: _mb(f["import"]["peak_mb"]))
    row("store on disk", lambda f: _mb(f.get("store_mb")))
    row("opening the store (read-only)", seconds("check", "open", digits=3))
    row("rules (run_check), cold", seconds("check", "cold"))
    row("rules (run_check), warm", seconds("check", "warm"))
    row("floor: one first-involvement query", seconds("check", "floor", digits=3))
    row("warm rules / floor", lambda f: _ratio(f["check"]["warm"], f["check"]["floor"]))
    row("`coprod check --format json`, whole command", seconds("check_json_s"))
    titles: list[str] = []
    for pair in pairs:
        for figures in pair:
            for title in get(figures, "pages") or {}:
                if title not in titles:
                    titles.append(title)
    for title in titles:
        row(
            f"page {title}: first / repeated",
            lambda f, t=title: (
                f"{f['pages'][t]['first']:.2f} / {f['pages'][t]['repeated']:.2f} s"
                if isinstance(get(f, "pages", t), dict)
                else "—"
            ),
        )
    if any(get(f, "browser") is not None for pair in pairs for f in pair):
        row("Overview in Chromium, first session", seconds("browser", "cold_s"))
        row("Overview in Chromium, median", seconds("browser", "median_s"))
    return lines


BACKEND_NAMES = {
    "file": "DuckDB file",
    "postgres": "PostgreSQL, attached",
    "ducklake": "DuckLake, PostgreSQL catalogue",
}


def backends_section(boards: int, data: dict[str, Any]) -> list[str]:
    """bench/backends.py's comparison of the ways to reach PostgreSQL, as a section."""
    kinds = [k for k in BACKEND_NAMES if k in data["backends"]]
    figures = [data["backends"][k] for k in kinds]
    lines = [
        "",
        f"### Reaching PostgreSQL: attached, or through DuckLake ({boards} boards)",
        "",
        f"`bench/backends.py` copied every table of one store ({data['rows']:,} rows) into a "
        f"database on a throwaway PostgreSQL {data['server']['version']} (fsync "
        f"{data['server']['fsync']}) reached by DuckDB's postgres extension (ATTACH), and into "
        "DuckLake with its catalogue in PostgreSQL and its data in Parquet files on local disk; "
        "then measured each, in a fresh process, beside a fresh DuckDB file. Warm figures are "
        f"the best of {data['repeat']}.",
        "",
        "| | " + " | ".join(BACKEND_NAMES[k] for k in kinds) + " |",
        "|---|" + "---|" * len(kinds),
    ]

    def row(name: str, cells: list[str]) -> None:
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    row("copying the tables in", [_s(f["load"]["seconds"]) for f in figures])
    row("rows/s", [f"{data['rows'] / f['load']['seconds']:,.0f}" for f in figures])
    row("size", [f"{_mb(f['size_mb'])} ({f['size_note']})" for f in figures])
    row("opening", [_s(f["open"], 3) for f in figures])
    row("floor query, first run", [_s(f["floor_first"], 3) for f in figures])
    row("floor query, best", [_s(f["floor"], 3) for f in figures])
    row("rules (run_check), cold", [_s(f["cold"]) for f in figures])
    row("rules (run_check), warm", [_s(f["warm"]) for f in figures])
    row("warm rules / file's warm rules", [_ratio(f["warm"], figures[0]["warm"]) for f in figures])
    row("decisions / findings", [f"{f['decisions']:,} / {f['findings']:,}" for f in figures])
    row(
        "same decisions, findings and floor rows as the file",
        [
            "yes"
            if (f["digest"], f.get("floor_digest"))
            == (figures[0]["digest"], figures[0].get("floor_digest"))
            else "**no**"
            for f in figures
        ],
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--boards",
        type=int,
        nargs="*",
        default=[3, 31, 200, 1000],
        help="sizes to measure (none: only write the report of --report-also sizes)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium timing")
    parser.add_argument("--no-load", action="store_true", help="skip the 10-session load test")
    parser.add_argument(
        "--no-pages", action="store_true", help="skip the page timings (long at 1000 boards)"
    )
    parser.add_argument(
        "--report-also",
        type=int,
        nargs="*",
        default=[],
        help="sizes measured by an earlier run to include (read from WORK/N/figures.json and "
        "WORK/N/figures-postgres.json)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="file",
        help="the store to measure --boards on: a DuckDB file (default) or a throwaway "
        "PostgreSQL server; the report shows the two side by side wherever both were measured",
    )
    args = parser.parse_args()
    results: dict[str, list[dict[str, Any]]] = {backend: [] for backend in BACKENDS}
    backends: dict[int, dict[str, Any]] = {}  # bench/backends.py's comparisons, by size

    def write_report() -> None:
        from floors import write_block

        write_block(args.out, "national", report(results["file"], results["postgres"], backends))
        ratios = ratios_report(results["file"])
        if ratios:
            write_block(args.out, "ratios", ratios, before="profile")

    for boards in sorted({*args.boards, *args.report_also}):
        work = args.work / str(boards)
        if boards in args.boards:
            work.mkdir(parents=True, exist_ok=True)
            figures = measure(
                boards,
                work,
                browser=not args.no_browser,
                load=not args.no_load and boards == 200,
                pages=not args.no_pages,
                backend=args.backend,
            )
            (work / FIGURES[args.backend]).write_text(json.dumps(figures, indent=2, default=str))
        found = [backend for backend in BACKENDS if (work / FIGURES[backend]).exists()]
        if not found:
            raise SystemExit(f"No figures for {boards} boards in {work}: measure them first.")
        for backend in found:
            figures = json.loads((work / FIGURES[backend]).read_text())
            if "store_mb" not in figures and backend == "file" and (work / "store.duckdb").exists():
                figures["store_mb"] = file_mb(work / "store.duckdb")  # measured before it was
            results[backend].append(figures)
        if (work / "backends.json").exists():
            backends[boards] = json.loads((work / "backends.json").read_text())
        if boards in args.boards:
            write_report()  # after each size, so a long run shows progress
    write_report()
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
