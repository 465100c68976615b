"""`make bench`: every speed goal as a ratio to a floor, from one run, written to
docs/benchmarks.md (the block ``goals``; the rest of the file is left as it is).

    .venv/bin/python bench/goals.py [--work bench/out] [--out docs/benchmarks.md]
                                    [--cli-boards 200 1000] [--load-boards 31]
                                    [--load-sessions 10] [--load-rounds 5]
                                    [--rounds 7] [--starts 3] [--repeat 5] [--writes 6]
                                    [--no-pages] [--no-cli] [--no-load] [--no-write]
                                    [--report-only]

1. Pages, on the demo data (``coprod demo --db WORK/3/store.duckdb``): bench/ratios.py, the
   Overview, the Decision story, Meeting mode and Decisions in Chromium against the trivial
   Streamlit page (bench/trivial_app.py), and the first Overview after the server starts
   against the trivial app's first page after its own start.
2. The command line, at each of ``--cli-boards`` (200 and 1000; ``coprod demo --boards N --out
   WORK/N/csv``, generated once and kept): bench/floors.py's ratios, the import of those files
   into an empty store against DuckDB's ``read_csv`` of them (and the import's peak memory),
   ``coprod check --format json`` as a whole process against a whole process running the floor
   query, and the rules after a write against the floor query after the same write. The first
   size is judged against the ratio goals; the last against the first (1000 boards may cost
   at most 5.5× what 200 boards cost, figure by figure).
3. The load test at ``--load-boards`` boards (31; ``coprod demo --boards 31 --db``, kept):
   bench/load.py, ten Chromium sessions on the Overview and Decisions while one more imports
   ``coprod demo --boards 5 --seed 7`` through the Import page; the goal is no error and no
   timeout.

About 25 minutes on a 2-core machine once the demo files are made (their first generation at
1000 boards adds a few minutes). Each step that cannot be measured is reported as such and the
run goes on. Prints the table, writes it to docs/benchmarks.md, and keeps every figure in
WORK/goals.json; ``--report-only`` writes the table again from that file. The absolute figures
at every size are bench/run.py's (`make bench-national`, hours).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from browser_ready import machine
from floors import after_write_ratio, check_process_ratio, dump, import_ratio, write_block
from ratios import goals as page_goals
from ratios import verdict as page_verdict
from run import PYTHON, ROOT, generate, script

CHECK_GOAL = 4.0  # `coprod check --format json` within 4× the floor process
AFTER_WRITE_GOAL = 3.0  # the rules after a write within 3× the floor query
IMPORT_GOAL = 10.0  # the import within 10× DuckDB's read_csv of the same files
IMPORT_PEAK_MB = 1024.0  # and under 1 GB of memory
SCALE_GOAL = 5.5  # the largest size against the first, figure by figure
PAGES_BOARDS = 3  # the demo data


# --- measuring ---------------------------------------------------------------------------


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _attempt(what: str, step: Callable[[], dict[str, Any]]) -> dict[str, Any] | str:
    """The step's figures, or why it could not be measured (the run goes on)."""
    try:
        return step()
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError, KeyError) as exc:
        _say(f"  {what} could not be measured: {exc}")
        return f"{what} could not be measured: {exc}"


def demo_store(folder: Path, boards: int, *args: str) -> Path:
    """``coprod demo --boards N`` in a store in ``folder``, made once and kept."""
    db = folder / "store.duckdb"
    if not (folder / ".complete").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for path in (db, db.with_name(db.name + ".wal")):
            path.unlink(missing_ok=True)
        subprocess.run(
            [PYTHON, "-m", "coprod.cli", "demo", "--boards", str(boards), "--db", str(db), *args],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        (folder / ".complete").touch()
    return db


def measure_cli(boards: int, work: Path, *, repeat: int, writes: int) -> dict[str, Any]:
    """bench/floors.py's command-line ratios at one size, each step on its own (a step that
    fails is reported and the others are still measured)."""
    folder = work / str(boards)
    _say(f"[{boards} boards] the demo's CSV files")
    made = generate(boards, folder / "csv")
    figures: dict[str, Any] = {"boards": boards, "generate_s": made}
    store = folder / "import.duckdb"
    _say(f"[{boards} boards] import / read_csv")
    figures["import"] = _attempt(
        "the import", lambda: import_ratio(store, [folder / "csv"], folder / "csv")
    )
    if isinstance(figures["import"], str):
        figures["check_json"] = figures["after_write"] = "the import failed"
        return figures
    _say(f"[{boards} boards] coprod check --format json / the floor process")
    figures["check_json"] = _attempt(
        "coprod check", lambda: check_process_ratio(str(store), repeat=repeat)
    )
    _say(f"[{boards} boards] rules after a write / the floor query")
    figures["after_write"] = _attempt(
        "the rules after a write", lambda: after_write_ratio(str(store), folder, writes=writes)
    )
    return figures


def measure_pages(work: Path, *, rounds: int, starts: int) -> dict[str, Any] | str:
    _say(f"[{PAGES_BOARDS} boards] the demo data: pages in Chromium against the trivial page")
    db = demo_store(work / str(PAGES_BOARDS), PAGES_BOARDS)
    return script(
        "ratios.py",
        str(db),
        "--rounds",
        str(rounds),
        "--starts",
        str(starts),
        out=work / str(PAGES_BOARDS) / "ratios.json",
        timeout=1800,
        progress=True,
    )


def measure_load(work: Path, boards: int, *, sessions: int, rounds: int) -> dict[str, Any] | str:
    _say(
        f"[{boards} boards] load: {sessions} sessions while an import runs through the Import page"
    )
    folder = work / f"load-{boards}"
    db = demo_store(folder, boards)
    extra = folder / "import"
    if not (extra / ".complete").exists():
        subprocess.run(
            [
                PYTHON,
                "-m",
                "coprod.cli",
                "demo",
                "--boards",
                "5",
                "--seed",
                "7",
                "--out",
                str(extra),
            ],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        (extra / ".complete").touch()
    return script(
        "load.py",
        str(db),
        "--import-dir",
        str(extra),
        "--sessions",
        str(sessions),
        "--rounds",
        str(rounds),
        "--details-out",
        str(folder / "load-details.json"),
        "--server-log",
        str(folder / "server.log"),
        out=folder / "load.json",
        timeout=1800,
        progress=True,
    )


# --- the report ----------------------------------------------------------------------------


def _s(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f} s" if value >= 0.1 else f"{value:.3f} s"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}×" if value >= 10 else f"{value:.2f}×"


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} MB"


def _verdict(value: float | None, goal: float, *, below: bool = False) -> str:
    """Met when ``value`` is at most ``goal`` (under it, with ``below``)."""
    if value is None:
        return "**not measured**"
    met = value < goal if below else value <= goal
    return "met" if met else "**not met**"


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _figure(figures: Mapping[str, Any] | str | None, *keys: str) -> Any:
    """``figures[k1][k2]…``, or None where a step was not measured."""
    value: Any = figures
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


class _Table:
    """The goals table: rows of (goal, measured, floor, ratio, goal, verdict)."""

    def __init__(self) -> None:
        self.lines = ["| | measured | floor | ratio | goal | |", "|---|---|---|---|---|---|"]
        self.verdicts: list[str] = []

    def heading(self, text: str) -> None:
        self.lines.append(f"| **{text}** | | | | | |")

    def row(
        self, name: str, measured: str, floor: str, ratio: str, goal: str, verdict: str
    ) -> None:
        self.lines.append(f"| {name} | {measured} | {floor} | {ratio} | {goal} | {verdict} |")
        self.verdicts.append(verdict)


def _pages_rows(table: _Table, pages: Mapping[str, Any] | str | None, notes: list[str]) -> None:
    table.heading(
        f"Pages on the demo data ({PAGES_BOARDS} boards): median time to ready in "
        "Chromium, against the trivial page"
    )
    if not isinstance(pages, Mapping):
        names = ["Overview", "Decision story", "Meeting mode", "Decisions"]
        for name in names:
            table.row(name, "—", "—", "—", "≤ 1.5×", "**not measured**")
        table.row(
            "first Overview after the server starts", "—", "—", "—", "≤ 3×", "**not measured**"
        )
        notes.append(f"Pages not measured: {pages or 'not run'}.")
        return
    for label, entry in page_goals(pages):
        name, _, goal = label.rpartition(" ≤ ")
        table.row(
            name,
            _s(entry["median_s"]),
            _s(entry["floor_s"]),
            _x(entry["ratio"]),
            f"≤ {goal}",
            page_verdict(entry),
        )
    if pages.get("errors"):
        notes.append(f"{len(pages['errors'])} page visit(s) failed: " + "; ".join(pages["errors"]))


def _cli_rows(
    table: _Table, first: Mapping[str, Any] | str | None, boards: int, notes: list[str]
) -> None:
    table.heading(f"The command line, {boards} boards (`coprod demo --boards {boards}`)")
    imp = _figure(first, "import")
    check = _figure(first, "check_json")
    after = _figure(first, "after_write")
    table.row(
        "`coprod check --format json`, whole process / one whole-process DuckDB query giving "
        "every decision its first-involvement category",
        _s(_figure(check, "check_s")),
        _s(_figure(check, "floor_s")),
        _x(_figure(check, "ratio")),
        f"≤ {CHECK_GOAL:g}×",
        _verdict(_figure(check, "ratio"), CHECK_GOAL),
    )
    table.row(
        "rules after a write (what the first page after a save pays) / that query after the "
        "same write",
        _s(_figure(after, "rules_s")),
        _s(_figure(after, "floor_s")),
        _x(_figure(after, "ratio")),
        f"≤ {AFTER_WRITE_GOAL:g}×",
        _verdict(_figure(after, "ratio"), AFTER_WRITE_GOAL),
    )
    rows = _figure(imp, "rows")
    table.row(
        "import of the demo's CSV files"
        + (f" ({rows:,} rows)" if isinstance(rows, int) else "")
        + " / DuckDB `read_csv` of the same files",
        _s(_figure(imp, "seconds")),
        _s(_figure(imp, "floor_s")),
        _x(_figure(imp, "ratio")),
        f"≤ {IMPORT_GOAL:g}×",
        _verdict(_figure(imp, "ratio"), IMPORT_GOAL),
    )
    table.row(
        "the import's peak memory",
        _mb(_figure(imp, "peak_mb")),
        "",
        "",
        "< 1 GB",
        _verdict(_figure(imp, "peak_mb"), IMPORT_PEAK_MB, below=True),
    )
    for what, value in (("import", imp), ("check", check), ("rules after a write", after)):
        if isinstance(value, str):
            notes.append(f"At {boards} boards, the {what}: {value}.")
    if isinstance(first, str):
        notes.append(f"The command line at {boards} boards: {first}.")


def _scale_rows(
    table: _Table,
    large: Mapping[str, Any] | str | None,
    small: Mapping[str, Any] | str | None,
    sizes: tuple[int, int],
    notes: list[str],
) -> None:
    big, little = sizes
    table.heading(f"{big} boards against {little} boards (the figures above, at both sizes)")
    for name, keys in (
        ("`coprod check --format json`", ("check_json", "check_s")),
        ("rules after a write", ("after_write", "rules_s")),
        ("import", ("import", "seconds")),
    ):
        a, b = _figure(large, *keys), _figure(small, *keys)
        table.row(
            name,
            _s(a),
            f"{_s(b)} at {little}",
            _x(_ratio(a, b)),
            f"≤ {SCALE_GOAL:g}×",
            _verdict(_ratio(a, b), SCALE_GOAL),
        )
    a, b = _figure(large, "import", "peak_mb"), _figure(small, "import", "peak_mb")
    table.row(
        "the import's peak memory",
        _mb(a),
        f"{_mb(b)} at {little}",
        _x(_ratio(a, b)),
        f"≤ {SCALE_GOAL:g}×",
        _verdict(_ratio(a, b), SCALE_GOAL),
    )
    for name, keys in (
        ("`coprod check --format json` / the floor process", ("check_json", "ratio")),
        ("rules after a write / the floor query", ("after_write", "ratio")),
        ("import / `read_csv`", ("import", "ratio")),
    ):
        value = _figure(large, *keys)
        if value is not None:
            notes.append(f"At {big} boards, {name}: {_x(value)}.")
    if isinstance(large, str):
        notes.append(f"The command line at {big} boards: {large}.")


def _load_rows(
    table: _Table, load: Mapping[str, Any] | str | None, boards: int, notes: list[str]
) -> None:
    sessions = _figure(load, "sessions") or 10
    table.heading(
        f"{sessions} browser sessions on the Overview and Decisions while an import "
        f"runs through the Import page ({boards} boards)"
    )
    loads = _figure(load, "loads")
    errors, timeouts = _figure(load, "errors"), _figure(load, "timeouts")
    failures = _figure(load, "session_failures") or []
    imported = _figure(load, "import", "ok")
    out_of = f" of {loads:,} loads" if isinstance(loads, int) else ""
    table.row(
        "page loads with an error (a timeout, an exception, an error message)",
        "—" if errors is None else f"{errors}{out_of}",
        "",
        "",
        "0",
        _verdict(errors, 0),
    )
    table.row(
        "of which timeouts",
        "—" if timeouts is None else str(timeouts),
        "",
        "",
        "0",
        _verdict(timeouts, 0),
    )
    table.row(
        "the import itself",
        "—" if imported is None else "committed" if imported else "failed",
        "",
        "",
        "committed",
        "**not measured**" if imported is None else "met" if imported else "**not met**",
    )
    if not isinstance(load, Mapping):
        notes.append(f"The load test was not measured: {load or 'not run'}.")
        return
    if _figure(load, "ramp_up_s") is not None:
        notes.append(
            f"The sessions started over {_figure(load, 'ramp_up_s'):g} s"
            + (
                ", after one visit of each page warmed the server."
                if load.get("warm_up")
                else ", on a cold server."
            )
        )
    ready = _figure(load, "ready_s") or {}
    during = _figure(load, "during_import", "ready_s") or {}
    notes.append(
        f"Load test: ready in a median {_s(ready.get('median'))}, 95th percentile "
        f"{_s(ready.get('p95'))}, slowest {_s(ready.get('max'))}; while the import ran "
        f"({_figure(load, 'during_import', 'loads') or 0} loads) median "
        f"{_s(during.get('median'))}, 95th percentile {_s(during.get('p95'))}; the import took "
        f"{_s(_figure(load, 'import', 'duration_s'))}"
        + (f" ({_figure(load, 'import', 'error')})" if _figure(load, "import", "error") else "")
        + f"; the server used {_figure(load, 'cpu_s', 'server') or '—'} s of CPU and at most "
        f"{_mb(_figure(load, 'server_peak_rss_mb'))}."
    )
    if failures:
        notes.append("Sessions that failed: " + "; ".join(map(str, failures)) + ".")
    if _figure(load, "error_messages"):
        notes.append("Errors seen: " + "; ".join(load["error_messages"][:5]) + ".")
    if _figure(load, "server_log_tracebacks"):
        notes.append(f"The server's log holds {load['server_log_tracebacks']} traceback(s).")


def goals_section(figures: Mapping[str, Any]) -> str:
    """The ``goals`` block of docs/benchmarks.md from one run's figures (see ``main``): a
    table of every goal with its verdict, then what was not measured or failed."""
    started, ended = figures["machine"], figures["machine_after"]
    when = dt.datetime.fromisoformat(started["when"])
    ends = dt.datetime.fromisoformat(ended["when"])
    cli: dict[int, Any] = {int(k): v for k, v in (figures.get("cli") or {}).items()}
    sizes = sorted(cli)
    lines = [
        f"## Every speed goal in one run ({when:%-d %B %Y})",
        "",
        f"Measured on {when:%-d %B %Y} from {when:%H:%M} to {ends:%H:%M} by "
        f"`{figures.get('command', 'make bench')}`, {started['cpus']} cores, load average "
        f"{started['load_average_1m']} at the start and {ended['load_average_1m']} at the end. "
        "Each ratio is a measurement divided by a floor measured in the same run (the trivial "
        "Streamlit page, one DuckDB query, DuckDB's `read_csv`), so that the machine's load, "
        "which moves absolute times, cancels out; other work on the machine still makes them "
        "rough.",
        "",
    ]
    commit = _figure(figures, "source", "commit")
    later = _figure(figures, "source_after", "commit")
    if commit:
        dirty = _figure(figures, "source", "dirty") or []
        moved = (
            f" at the start and `{str(later)[:12]}` at the end"
            if later not in (None, commit)
            else ""
        )
        lines += [
            f"The code was at commit `{str(commit)[:12]}`{moved}"
            + (
                f", with uncommitted changes to {', '.join(f'`{d}`' for d in dirty)}."
                if dirty
                else "."
            ),
            "",
        ]
    table = _Table()
    notes: list[str] = []
    if "pages" in figures:
        _pages_rows(table, figures["pages"], notes)
    if sizes:
        _cli_rows(table, cli[sizes[0]], sizes[0], notes)
    if len(sizes) > 1:
        _scale_rows(table, cli[sizes[-1]], cli[sizes[0]], (sizes[-1], sizes[0]), notes)
    if "load" in figures:
        _load_rows(table, figures["load"], int(figures.get("load_boards", 31)), notes)
    met = sum(v == "met" for v in table.verdicts)
    lines += [f"**{met} of {len(table.verdicts)} goals met.**", "", *table.lines, ""]
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines).rstrip() + "\n"


# --- the run -----------------------------------------------------------------------------


def source_state() -> dict[str, Any]:
    from ratios import source_state as state

    return state()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--work",
        type=Path,
        default=ROOT / "bench" / "out",
        help="where the demo data is made once and kept (bench/out)",
    )
    parser.add_argument(
        "--cli-boards",
        type=int,
        nargs="*",
        default=[200, 1000],
        help="sizes for the command line: the first is judged against the "
        "ratio goals, the last against the first (200 1000)",
    )
    parser.add_argument("--load-boards", type=int, default=31, help="size for the load test")
    parser.add_argument("--load-sessions", type=int, default=10, help="browser sessions (10)")
    parser.add_argument("--load-rounds", type=int, default=5, help="loads of each page (5)")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds of pages (7)")
    parser.add_argument("--starts", type=int, default=3, help="fresh server starts (3)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of coprod check (5)")
    parser.add_argument("--writes", type=int, default=6, help="writes for the rules (6)")
    parser.add_argument("--no-pages", action="store_true", help="skip the pages in Chromium")
    parser.add_argument("--no-cli", action="store_true", help="skip the command line")
    parser.add_argument("--no-load", action="store_true", help="skip the load test")
    parser.add_argument("--no-write", action="store_true", help="do not touch --out")
    parser.add_argument(
        "--report-only", action="store_true", help="write the report again from WORK/goals.json"
    )
    args = parser.parse_args(argv)
    args.work = args.work.resolve()  # the steps run in other processes, from the project's root
    saved = args.work / "goals.json"
    if args.report_only:
        if not saved.exists():
            parser.error(f"{saved} does not exist: run the benchmark first")
        figures: dict[str, Any] = json.loads(saved.read_text())
    else:
        args.work.mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        figures = {"command": "make bench", "machine": machine(), "source": source_state()}
        if not args.no_pages:
            figures["pages"] = measure_pages(args.work, rounds=args.rounds, starts=args.starts)
        if not args.no_cli:
            figures["cli"] = {
                boards: measure_cli(boards, args.work, repeat=args.repeat, writes=args.writes)
                for boards in sorted(set(args.cli_boards))
            }
        if not args.no_load:
            figures["load_boards"] = args.load_boards
            figures["load"] = _attempt(
                "the load test",
                lambda: _as_dict(
                    measure_load(
                        args.work,
                        args.load_boards,
                        sessions=args.load_sessions,
                        rounds=args.load_rounds,
                    )
                ),
            )
        figures["machine_after"] = machine()
        figures["source_after"] = source_state()
        figures["duration_s"] = round(time.perf_counter() - began, 1)
        dump(saved, figures)
        figures = json.loads(saved.read_text())  # as --report-only would read it
    text = goals_section(figures)
    print(text)
    if not args.no_write:
        write_block(args.out, "goals", text, before="ratios")
        _say(f"Wrote the goals to {args.out}; every figure is in {saved}")
    return 0


def _as_dict(found: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(found, str):
        raise RuntimeError(found)
    return found


if __name__ == "__main__":
    sys.exit(main())
