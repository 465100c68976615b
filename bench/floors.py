"""The command-line goals as ratios to floors measured in the same run, and the report's ratio
section (used by bench/quick.py, `make bench-quick`, and bench/run.py, `make bench`).

Each figure is a whole measurement divided by the least that could do the same job on this
machine at the same moment, so that the machine's load cancels out:

- ``coprod check --format json``, a whole process, over a whole process that opens the store
  read-only with DuckDB and runs one query giving every decision its first-involvement
  category (bench/run.py's FLOOR_QUERY): each the median of a few runs, taken alternately;
- an import of the demo CSV files into an empty store over DuckDB's ``read_csv`` of the same
  files (bench/run.py's IMPORT_CODE and csv_floor);
- the rules warm after a write: in one process on a copy of the store, the check run once,
  then six times a write (an involvement confirmed or unconfirmed, in turn) and ``run_check``
  timed, over the floor query run on the same connection after the same write (medians).

``write_block`` replaces one generated block of docs/benchmarks.md (between ``<!-- NAME -->``
and ``<!-- /NAME -->``) and leaves everything else in the file as it is.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ratios import goals, verdict
from run import FLOOR_QUERY, IMPORT_CODE, PYTHON, ROOT, child, csv_floor

AS_OF = "2026-11-21"  # the demo's date (coprod.demo.DEMO_AS_OF)
RULES_GOAL = 4.0  # warm rules within 4× the floor query (docs/benchmarks.md's goals)

# The whole-process floor: Python starts, DuckDB opens the store read-only, one query runs.
# The date is written into the query: a Python date as a parameter makes DuckDB's client import
# pandas (0.6 s), which the least process doing this job need not do.
FLOOR_PROCESS = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
rows = con.execute(sys.argv[2].replace("$as_of", f"DATE '{sys.argv[3]}'")).fetchall()
print(len(rows))
"""

AFTER_WRITE_CODE = """
import json, statistics, sys, time
from coprod.demo import DEMO_AS_OF
from coprod.models import Attestation
from coprod.records import attest
from coprod.rules import run_check
from coprod.store import Change, Store
store = Store(sys.argv[1])
run_check(store, DEMO_AS_OF)
row = store.query(
    "SELECT involvement_id, attestation FROM involvement WHERE withdrawn_at IS NULL "
    "AND attestation <> 'disputed' ORDER BY involvement_id LIMIT 1")[0]
now = Attestation(row["attestation"])
other = Attestation.unconfirmed if now == Attestation.confirmed else Attestation.confirmed
rules, floor = [], []
for n in range(int(sys.argv[3])):
    attest(store, row["involvement_id"], (other, now)[n % 2], None, Change("bench", "cli"))
    start = time.perf_counter()
    result = run_check(store, DEMO_AS_OF)
    rules.append(time.perf_counter() - start)
    with store.cursor() as cur:
        start = time.perf_counter()
        cur.execute(sys.argv[2], {"as_of": DEMO_AS_OF}).fetchall()
        floor.append(time.perf_counter() - start)
print(json.dumps({"rules_s": statistics.median(rules), "floor_s": statistics.median(floor),
                  "rules_samples_s": rules, "floor_samples_s": floor, "writes": len(rules),
                  "decisions": result.decision_table.num_rows}))
"""


def whole_process(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def check_process_ratio(db: str, repeat: int = 5) -> dict[str, Any]:
    """``coprod check --format json`` over the floor process, each run ``repeat`` times in
    turn (the first of each is thrown away: it pays for reading the files into the page
    cache)."""
    check = [PYTHON, "-m", "coprod.cli", "check", "--db", db, "--format", "json",
             "--as-of", AS_OF]  # fmt: skip
    floor = [PYTHON, "-c", FLOOR_PROCESS, db, FLOOR_QUERY, AS_OF]
    times: dict[str, list[float]] = {"check": [], "floor": []}
    for number in range(repeat + 1):
        for name, command in (("check", check), ("floor", floor)):
            seconds = whole_process(command)
            if number:
                times[name].append(seconds)
    check_s, floor_s = statistics.median(times["check"]), statistics.median(times["floor"])
    return {
        "check_s": check_s,
        "floor_s": floor_s,
        "ratio": check_s / floor_s,
        "check_samples_s": times["check"],
        "floor_samples_s": times["floor"],
    }


def import_ratio(db: Path, folders: list[Path], csv: Path) -> dict[str, Any]:
    """An import into a new store at ``db`` over read_csv of the same files (best of 3)."""
    db.unlink(missing_ok=True)
    done = child(IMPORT_CODE, str(db), *map(str, folders))
    floor = min(csv_floor(csv) for _ in range(3))
    return {**done, "floor_s": floor, "ratio": done["seconds"] / floor}


def after_write_ratio(db: str, work: Path, writes: int = 6) -> dict[str, Any]:
    """On a copy of the store in ``work``: the store measured is left as it was."""
    copy = work / "after-write.duckdb"
    for suffix in ("", ".wal"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
        if Path(f"{db}{suffix}").exists():
            shutil.copyfile(f"{db}{suffix}", f"{copy}{suffix}")
    try:
        done = child(AFTER_WRITE_CODE, str(copy), FLOOR_QUERY, str(writes))
    finally:
        for suffix in ("", ".wal"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
    return {**done, "ratio": done["rules_s"] / done["floor_s"]}


def measure_cli(db: str, *, work: Path, csv: Path | None = None) -> dict[str, Any]:
    """The command-line ratios on one size. With ``csv`` (the demo's files) the import is
    measured too, into ``work``/import.duckdb, and the other figures read that store."""
    figures: dict[str, Any] = {}
    if csv is not None:
        store = work / "import.duckdb"
        print("  import / read_csv", file=sys.stderr, flush=True)
        figures["import"] = import_ratio(store, [csv], csv)
        db = str(store)
    print("  coprod check --format json / floor process", file=sys.stderr, flush=True)
    figures["check_json"] = check_process_ratio(db)
    print("  rules after a write / floor query", file=sys.stderr, flush=True)
    figures["after_write"] = after_write_ratio(db, work)
    return figures


# --- the report ---------------------------------------------------------------------------


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min) / {five:.1f} (5 min)"


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s" if value >= 0.1 else f"{value:.3f} s"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}×" if value >= 10 else f"{value:.2f}×"


def _met(value: float | None, goal: float | None) -> str:
    if goal is None or value is None:
        return ""
    return "met" if value <= goal else "**not met**"


def _pressure(started: Mapping[str, Any], ended: Mapping[str, Any]) -> str:
    """Linux's CPU pressure at both ends, when it is known."""
    first, last = started.get("cpu_pressure_avg60_pct"), ended.get("cpu_pressure_avg60_pct")
    if first is None or last is None:
        return ""
    return f" (some task was waiting for a CPU {first:.0f}% and {last:.0f}% of the minute before)"


def ratio_section(
    pages: Mapping[int, Mapping[str, Any] | str],
    cli: Mapping[int, Mapping[str, Any]],
    *,
    command: str,
    started: dict[str, Any],
    ended: dict[str, Any],
) -> str:
    """The ratio section: bench/ratios.py's figures by size (or why they are missing) and
    measure_cli's by size. ``started``/``ended``: browser_ready.machine() at both ends."""
    when = dt.datetime.fromisoformat(started["when"])
    lines = [
        f"## The speed goals as ratios to a floor ({when:%-d %B %Y})",
        "",
        f"Measured on {when:%-d %B %Y} from {when:%H:%M} to "
        f"{dt.datetime.fromisoformat(ended['when']):%H:%M} by `{command}`, "
        f"{started['cpus']} cores, load average {started['load_average_1m']} at the start and "
        f"{ended['load_average_1m']} at the end{_pressure(started, ended)}. Each figure is a "
        "median divided by a floor measured in the same run, so that the machine's load, which "
        "moves absolute times, cancels out.",
        "",
    ]
    measured = [f for f in pages.values() if not isinstance(f, str)]
    sources = {f.get("source", {}).get("commit") for f in measured}
    dirty = sorted({d for f in measured for d in f.get("source", {}).get("dirty", [])})
    if sources - {None}:
        lines += [
            f"The dashboard was at commit `{', '.join(sorted(s for s in sources if s))[:12]}`"
            + (
                f", with uncommitted changes to {', '.join(f'`{d}`' for d in dirty)}."
                if dirty
                else "."
            ),
            "",
        ]
    for boards, figures in sorted(pages.items()):
        lines += [f"### Pages in Chromium, {boards} boards", ""]
        if isinstance(figures, str):
            lines += [f"Not measured: {figures}", ""]
            continue
        lines += [
            "The floor is bench/trivial_app.py (a heading, a sentence, one Plotly chart, one "
            "small table) served and measured the same way (bench/ratios.py: ready = the "
            "script has finished, no skeleton is left and every chart has drawn). Median of "
            f"{figures['rounds']} visits after a warm-up, each in a new browser context, the "
            "pages and the floor taken in turn; the first Overview after a start: median of "
            f"{figures['starts']} fresh servers, against the trivial app's first page after "
            "its own fresh start. The fastest visit over the floor's fastest is there to show "
            "the noise: load only adds time, so where it is far from the median ratio the "
            "machine's load moved during the run.",
            "",
            "| goal | page | floor | ratio | fastest / fastest | |",
            "|---|---|---|---|---|---|",
        ]
        for label, entry in goals(figures):
            lines.append(
                f"| {label} | {_s(entry['median_s'])} | {_s(entry['floor_s'])} | "
                f"{_x(entry['ratio'])} | {_x(entry.get('best_ratio'))} | {verdict(entry)} |"
            )
        if figures.get("errors"):
            lines += ["", f"{len(figures['errors'])} visit(s) failed: " + "; ".join(
                figures["errors"])]  # fmt: skip
        lines.append("")
    for boards, figures in sorted(cli.items()):
        lines += [
            f"### The command line, {boards} boards",
            "",
            "| | measured | floor | ratio | |",
            "|---|---|---|---|---|",
        ]
        if "import" in figures:
            imp = figures["import"]
            lines.append(
                f"| import of the demo's CSV files ({imp['rows']:,} rows) / DuckDB `read_csv` "
                f"of the same files | {_s(imp['seconds'])} | {_s(imp['floor_s'])} | "
                f"{_x(imp['ratio'])} | |"
            )
        check = figures.get("check_json")
        if check:
            lines.append(
                "| `coprod check --format json`, whole process / a whole process running the "
                f"floor query | {_s(check['check_s'])} | {_s(check['floor_s'])} | "
                f"{_x(check['ratio'])} | |"
            )
        after = figures.get("after_write")
        if after:
            lines.append(
                f"| rules (`run_check`) warm after a write ≤ {RULES_GOAL:g}× / the floor query "
                f"after the same write | {_s(after['rules_s'])} | {_s(after['floor_s'])} | "
                f"{_x(after['ratio'])} | {_met(after['ratio'], RULES_GOAL)} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_block(path: Path, name: str, text: str, *, before: str | None = None) -> None:
    """Put ``text`` between ``<!-- name -->`` and ``<!-- /name -->`` in ``path``: in place of
    the block already there, or else before the block ``before`` (or at the end)."""
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{text.strip()}\n{end}"
    content = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in content and end in content:
        head, rest = content.split(start, 1)
        content = head + block + rest.split(end, 1)[1]
    elif before is not None and f"<!-- {before} -->" in content:
        head, rest = content.split(f"<!-- {before} -->", 1)
        content = head + block + f"\n\n<!-- {before} -->" + rest
    else:
        content = content.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def dump(path: Path, figures: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, default=str) + "\n")
