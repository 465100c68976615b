"""Load test: ten browser sessions reading the dashboard while an import runs through the app.

    .venv/bin/coprod demo --boards 5 --seed 7 --out /tmp/import5
    .venv/bin/python bench/load.py --db /tmp/load31/s.duckdb --import-dir /tmp/import5

Copies the store given by ``--db`` to a temporary file (the import writes to it), serves the
copy with ``streamlit run app.py`` on a free loopback port (no sign-in, so local mode, served
as admin) and drives Debian's Chromium with Playwright's async API: one browser, one context
per session, all sessions at once on one event loop.

``--sessions`` sessions (default 10) each load the Overview (``/``) and then the Decisions
page (``/decisions``), ``--rounds`` times (default 5) or for ``--duration`` seconds, and keep
going until the import has ended, so that the import runs under load from start to end. The
sessions start ``--ramp-up`` seconds apart in all (default 5 s: ten people do not open the
dashboard in the same instant; ten new browser contexts starting at once on two cores spend a
minute compiling the app's code before any page is drawn). Before the clock starts, one visit
of each page, not counted, warms the server (its modules, the store and the check), as on a
server that has been running: the first page after a start is judged by
bench/ratios.py's goal of its own.
Each load is timed from navigation to the page being ready: the script state is
``notRunning``, the page's ``h1`` is visible and its content is drawn (the Overview's metrics;
the Decisions page's data grid or table). ``settled`` is later: no element added for 1 s (a
large table can keep the browser busy after the ready signs are drawn). Load times are
measured in the page, from the navigation's start.

Meanwhile, after ``--import-delay`` seconds, one more session opens ``/data`` (Import and
export), uploads every ``.csv`` file of ``--import-dir`` with the file uploader, waits for the
preview ("The files are valid", with as many rows as the files hold), clicks "Commit the
import" and waits for "Imported.". Use files whose ids are not in the store (another
``--seed``) for an import that adds records rather than finding them unchanged.

An error is: a load that is not ready within ``--timeout`` seconds, a navigation that fails,
an exception shown by the app (``stException``), "Traceback" on the page, or an error message
(``st.error``). Reported: the number of loads and errors, the median, 95th percentile (nearest
rank, over the loads without error) and maximum ready time, overall, by page and for the loads
that overlapped the import; the import's stages; the server's CPU time and peak memory.
The goal reported against: no errors and a 95th percentile within 5 s.

Prints one JSON line on stdout (progress on stderr); ``--json-out FILE`` writes the same
figures, ``--details-out FILE`` adds every load. Exits 0 whenever the figures were measured,
whatever they are; with ``--strict``, 1 when the goal was missed and 2 when the import failed.
The browsers run on the same machine as the server and compete with it for CPU; on a small
machine they account for much of the time.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from browser_ready import (
    DECISIONS,
    GRACE_S,
    OVERVIEW,
    READY,
    PageSpec,
    Server,
    Visit,
    add_output_arguments,
    close_quietly,
    copy_store,
    descendants_cpu_s,
    emit,
    launch,
    machine,
    machine_busy_cpu_s,
    new_context,
    run_async,
    seconds,
    serve,
    stop_on_sigterm,
    summary,
    visit,
    visit_dict,
)
from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import Error as PlaywrightError

GOAL_P95_S = 5.0
DATA = PageSpec("data", "/data", "Import and export", "[data-testid='stFileUploader']")

# Polled while the import's preview or commit runs: the run has finished and the page shows
# the success message wanted, or an error message, or an exception.
_IMPORT_STEP_JS = """
([ready, wanted]) => {
  if (document.querySelector("[data-testid='stException']")) {
    return {status: "exception", text: ""};
  }
  if (!document.querySelector(ready)) return false;
  for (const el of document.querySelectorAll("[data-testid='stAlertContentError']")) {
    return {status: "error", text: el.innerText.trim()};
  }
  for (const el of document.querySelectorAll("[data-testid='stAlertContentSuccess']")) {
    const text = el.innerText.trim();
    if (text.startsWith(wanted)) return {status: "ok", text};
  }
  return false;
}
"""


@dataclass
class ImportRun:
    """What happened to the import, with times from the start of the load test."""

    files: int
    rows_in_files: int
    opened_s: float | None = None  # /data ready
    upload_started_s: float | None = None
    preview_s: float | None = None  # from the upload to "The files are valid"
    rows_previewed: int | None = None
    commit_s: float | None = None  # from the click to "Imported."
    ended_s: float | None = None
    ok: bool = False
    error: str | None = None
    message: str | None = None  # the "Imported." message

    @property
    def duration_s(self) -> float | None:
        if self.upload_started_s is None or self.ended_s is None:
            return None
        return self.ended_s - self.upload_started_s


def csv_files(folder: Path) -> tuple[list[Path], int]:
    """The folder's .csv files and the number of records they hold (without headers)."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
    if not files:
        raise SystemExit(f"No .csv files in {folder}: write some with `coprod demo --out`.")
    rows = 0
    for path in files:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows += max(0, sum(1 for record in csv.reader(handle) if record) - 1)
    return files, rows


async def _import_step(page: Page, wanted: str, timeout_s: float) -> dict[str, str]:
    try:
        handle = await asyncio.wait_for(
            page.wait_for_function(
                _IMPORT_STEP_JS, arg=[READY, wanted], polling=200, timeout=timeout_s * 1000
            ),
            timeout_s + GRACE_S,
        )
        return dict(await handle.json_value())
    except TimeoutError:
        return {"status": "timeout", "text": f"no answer within {timeout_s:g} s"}
    except PlaywrightError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {
            "status": "timeout" if "timeout" in first.lower() else "browser error",
            "text": first,
        }


def _rows_read(text: str) -> int | None:
    found = re.search(r"The files are valid: ([\d,]+) rows? read", text)
    return int(found.group(1).replace(",", "")) if found else None


async def run_import(
    browser: Browser,
    url: str,
    files: list[Path],
    result: ImportRun,
    *,
    origin: float,
    delay_s: float,
    timeout_s: float,
) -> None:
    """Open /data, upload ``files``, check the preview and commit; fills in ``result``."""

    def now() -> float:
        return time.monotonic() - origin

    await asyncio.sleep(delay_s)
    context = await new_context(browser)
    try:
        page = await context.new_page()
        opened = await visit(page, url, DATA, timeout_s=timeout_s, session="import")
        if not opened.ok:
            result.error = f"/data did not open: {opened.error}"
            return
        result.opened_s = now()
        print(f"  import: /data ready after {opened.ready_s:.1f} s", file=sys.stderr, flush=True)

        result.upload_started_s = now()
        uploader = page.locator("[data-testid='stFileUploader'] input[type='file']")
        await asyncio.wait_for(
            uploader.set_input_files(files, timeout=timeout_s * 1000), timeout_s + GRACE_S
        )
        step = await _import_step(page, "The files are valid", timeout_s)
        deadline = time.monotonic() + 15
        # One preview with every file: a run may have started before the last file arrived.
        while step["status"] == "ok" and _rows_read(step["text"]) != result.rows_in_files:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
            step = await _import_step(page, "The files are valid", timeout_s)
        if step["status"] != "ok":
            result.error = f"preview: {step['status']}: {step['text'][:500]}"
            return
        result.rows_previewed = _rows_read(step["text"])
        result.preview_s = now() - result.upload_started_s
        print(
            f"  import: preview after {result.preview_s:.1f} s: {step['text'][:120]}",
            file=sys.stderr,
            flush=True,
        )
        if result.rows_previewed != result.rows_in_files:
            result.error = (
                f"the preview read {result.rows_previewed} rows, the files hold "
                f"{result.rows_in_files}: not committed"
            )
            return

        clicked = now()
        button = page.get_by_role("button", name="Commit the import")
        await asyncio.wait_for(button.click(timeout=timeout_s * 1000), timeout_s + GRACE_S)
        step = await _import_step(page, "Imported.", timeout_s)
        result.ended_s = now()
        if step["status"] != "ok":
            result.error = f"commit: {step['status']}: {step['text'][:500]}"
            return
        result.commit_s = result.ended_s - clicked
        result.message = step["text"][:1000]
        result.ok = True
        print(
            f"  import: committed after {result.commit_s:.1f} s: {step['text'][:200]}",
            file=sys.stderr,
            flush=True,
        )
    except PlaywrightError as exc:
        result.error = f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    except TimeoutError:
        result.error = f"the page did not answer within {timeout_s + GRACE_S:g} s"
    finally:
        if result.ended_s is None:
            result.ended_s = now()
        await close_quietly(context)


async def run_session(
    browser: Browser,
    url: str,
    index: int,
    visits: list[Visit],
    import_done: asyncio.Event,
    *,
    rounds: int,
    until: float | None,
    hard_stop: float,
    timeout_s: float,
    settle_timeout_s: float | None,
    start_s: float = 0,
) -> None:
    """After ``start_s`` seconds, load the Overview and the Decisions page in turn until the
    rounds (or the duration) are done and the import has ended."""
    name = f"s{index:02d}"
    await asyncio.sleep(start_s)
    context = await new_context(browser)
    try:
        page = await context.new_page()
        done_rounds = 0
        while time.monotonic() < hard_stop:
            enough = time.monotonic() >= until if until is not None else done_rounds >= rounds
            if enough and import_done.is_set():
                break
            for spec in (OVERVIEW, DECISIONS):
                result = await visit(
                    page,
                    url,
                    spec,
                    timeout_s=timeout_s,
                    settle_timeout_s=settle_timeout_s,
                    poll_ms=100,
                    session=name,
                )
                visits.append(result)
                shown = "-" if result.ready_s is None else f"{result.ready_s:.2f} s"
                settled = "-" if result.settled_s is None else f"{result.settled_s:.2f} s"
                print(
                    f"  {name} {spec.name:9} ready {shown:>8} settled {settled:>8}"
                    + (f"  ERROR {result.error}" if result.error else "")
                    + (f"  (not settled: {result.settle_error})" if result.settle_error else "")
                    + (f"  ({result.unchecked})" if result.unchecked else ""),
                    file=sys.stderr,
                    flush=True,
                )
                if not result.clean:
                    # It may still be busy (or gone): start the next load on a new page.
                    await close_quietly(page)
                    page = await context.new_page()
            done_rounds += 1
    finally:
        await close_quietly(context)


async def warm_up(browser: Browser, url: str, timeout_s: float) -> None:
    """One visit of each page in a context of its own, not counted."""
    context = await new_context(browser)
    try:
        page = await context.new_page()
        for spec in (OVERVIEW, DECISIONS):
            done = await visit(page, url, spec, timeout_s=timeout_s, session="warm-up")
            shown = f"{done.ready_s:.2f} s" if done.ready_s is not None else done.error
            print(f"  warm-up {spec.name}: {shown}", file=sys.stderr, flush=True)
    finally:
        await close_quietly(context)


async def run_load(
    server: Server,
    files: list[Path],
    result: ImportRun,
    failures: list[str],
    cpu: dict[str, float],
    args: argparse.Namespace,
) -> tuple[list[Visit], float]:
    """Every session and the import at once; returns the loads and the start time. A session
    that fails for want of a browser (not a page) adds to ``failures``; the CPU time Chromium
    and the Playwright driver used goes to ``cpu``."""
    visits: list[Visit] = []
    import_done = asyncio.Event()
    settle = args.settle_timeout or None
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        if args.warm_up:
            await warm_up(browser, server.url, args.timeout)
        origin = time.monotonic()
        until = origin + args.duration if args.duration else None
        hard_stop = origin + args.max_duration

        async def importing() -> None:
            try:
                await run_import(
                    browser,
                    server.url,
                    files,
                    result,
                    origin=origin,
                    delay_s=args.import_delay,
                    timeout_s=args.import_timeout,
                )
            finally:
                import_done.set()

        try:
            generator_before = descendants_cpu_s({server.process.pid})
            outcomes = await asyncio.gather(
                importing(),
                *(
                    run_session(
                        browser,
                        server.url,
                        index,
                        visits,
                        import_done,
                        rounds=args.rounds,
                        until=until,
                        hard_stop=hard_stop,
                        timeout_s=args.timeout,
                        settle_timeout_s=settle,
                        start_s=args.ramp_up * (index - 1) / args.sessions,
                    )
                    for index in range(1, args.sessions + 1)
                ),
                return_exceptions=True,
            )
            generator_after = descendants_cpu_s({server.process.pid})
            if generator_before is not None and generator_after is not None:
                cpu["load_generator"] = generator_after - generator_before
        finally:
            await browser.close()
    for name, outcome in zip(["import", *range(1, args.sessions + 1)], outcomes, strict=True):
        if isinstance(outcome, asyncio.CancelledError):
            raise outcome
        if isinstance(outcome, BaseException):
            failures.append(f"session {name}: {type(outcome).__name__}: {outcome}")
    return visits, origin


def _difference(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else round(after - before, 1)


def _stats(visits: list[Visit]) -> dict[str, Any]:
    ok = [v for v in visits if v.ok]
    return {
        "loads": len(visits),
        "errors": len(visits) - len(ok),
        "ready_s": summary([v.ready_s for v in ok if v.ready_s is not None]),
        "settled_s": summary([v.settled_s for v in ok if v.settled_s is not None]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Ten browser sessions load the Overview and the Decisions page over and "
        "over while one more session imports CSV files through the Import and export page; "
        "reports every page's ready time and every error.",
    )
    parser.add_argument(
        "--db", required=True, help="the store: a file (copied first) or a postgresql:// address"
    )
    parser.add_argument(
        "--import-dir",
        type=Path,
        required=True,
        help="a folder of import CSV files (e.g. from `coprod demo --boards 5 --seed 7 --out`)",
    )
    parser.add_argument("--sessions", type=int, default=10, help="browser sessions (default 10)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="Overview + Decisions loads per session (default 5)"
    )
    parser.add_argument(
        "--duration", type=float, help="load for this many seconds instead of --rounds"
    )
    parser.add_argument(
        "--max-duration",
        type=float,
        default=1800,
        help="start no load after this many seconds, whatever else (default 1800)",
    )
    parser.add_argument(
        "--ramp-up",
        type=float,
        default=5,
        help="the sessions start this many seconds apart in all (default 5)",
    )
    parser.add_argument(
        "--no-warm-up",
        dest="warm_up",
        action="store_false",
        help="measure from a cold server: no visit of each page before the clock starts",
    )
    parser.add_argument(
        "--import-delay",
        type=float,
        default=5,
        help="seconds after the sessions start before the import starts (default 5)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60,
        help="seconds a page may take to be ready; longer is an error (default 60)",
    )
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=60,
        help="seconds to wait, once ready, for the page to settle (default 60; 0: do not wait)",
    )
    parser.add_argument(
        "--import-timeout",
        type=float,
        default=600,
        help="seconds each import step (open, preview, commit) may take (default 600)",
    )
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.rounds < 1:
        parser.error("--sessions and --rounds must be at least 1")
    if not args.import_dir.is_dir():
        parser.error(f"--import-dir {args.import_dir} is not a folder")
    files, rows = csv_files(args.import_dir.resolve())
    stop_on_sigterm()

    imported = ImportRun(files=len(files), rows_in_files=rows)
    failures: list[str] = []
    cpu: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="coprod-load-") as tmp:
        folder = Path(tmp)
        db = copy_store(args.db, folder)
        log = folder / "server.log"
        started_on = machine()
        print(
            f"Serving a copy of {args.db}; {args.sessions} sessions; importing {len(files)} "
            f"files ({rows} rows) from {args.import_dir}…",
            file=sys.stderr,
            flush=True,
        )
        with serve(db, log) as server:
            cpu_before, machine_before = server.cpu_s(), machine_busy_cpu_s()
            began = time.monotonic()
            visits, origin = run_async(run_load(server, files, imported, failures, cpu, args))
            elapsed = time.monotonic() - began
            cpu_after, machine_after = server.cpu_s(), machine_busy_cpu_s()
            peak_mb = server.peak_rss_mb()
        tracebacks = server.log_tracebacks()
        if args.server_log:
            shutil.copyfile(log, args.server_log)
        if tracebacks:
            print(f"The server log has tracebacks:\n{server.log_tail()}", file=sys.stderr)

    window = (
        (origin + imported.upload_started_s, origin + imported.ended_s)
        if imported.upload_started_s is not None and imported.ended_s is not None
        else None
    )
    for item in visits:
        end = item.started + (item.wall_s if item.wall_s is not None else args.timeout)
        item.during_import = window is not None and item.started < window[1] and end > window[0]
    overall = _stats(visits)
    p95 = overall["ready_s"]["p95"]
    met = overall["errors"] == 0 and not failures and p95 is not None and p95 <= GOAL_P95_S
    messages = sorted({f"{v.page}: {v.error}" for v in visits if v.error})
    import_figures = {**asdict(imported), "duration_s": imported.duration_s}
    for key, value in import_figures.items():
        if isinstance(value, float):
            import_figures[key] = round(value, 3)
    figures: dict[str, Any] = {
        "bench": "load",
        "db": str(args.db),
        "sessions": args.sessions,
        "rounds": None if args.duration else args.rounds,
        "ramp_up_s": args.ramp_up,
        "warm_up": args.warm_up,
        "duration_s": round(elapsed, 1),
        **overall,
        "timeouts": sum(v.error is not None and v.error.startswith("timeout") for v in visits),
        "not_settled": sum(v.settle_error is not None for v in visits),
        "not_checked": sum(v.unchecked is not None for v in visits),
        "session_failures": failures,
        "by_page": {
            spec.name: _stats([v for v in visits if v.page == spec.name])
            for spec in (OVERVIEW, DECISIONS)
        },
        "during_import": _stats([v for v in visits if v.during_import]),
        "import": import_figures,
        "goal": {"errors": 0, "p95_s": GOAL_P95_S, "met": met},
        "error_messages": messages[:20],
        "server_log_tracebacks": tracebacks,
        # Where the CPU went during the run: the dashboard's server, the browsers driving it,
        # and the whole machine (the rest is other work), against what the machine had.
        "cpu_s": {
            "server": _difference(cpu_before, cpu_after),
            "load_generator": round(cpu["load_generator"], 1) if "load_generator" in cpu else None,
            "machine_busy": _difference(machine_before, machine_after),
            "machine_capacity": round((os.cpu_count() or 1) * elapsed, 1),
        },
        "server_peak_rss_mb": peak_mb,
        "machine": started_on,
        "machine_after": machine(),
    }
    emit(figures, args, {"visits": [visit_dict(v, origin) for v in visits]})
    ready = overall["ready_s"]
    print(
        f"{overall['loads']} loads, {overall['errors']} error(s); ready median "
        f"{seconds(ready['median'])}, p95 {seconds(ready['p95'])}, max {seconds(ready['max'])}; "
        "import "
        + (
            f"took {imported.duration_s:.1f} s"
            if imported.ok and imported.duration_s is not None
            else f"FAILED: {imported.error}"
        )
        + f". Goal (no errors, p95 <= {GOAL_P95_S:g} s): {'met' if met else 'NOT met'}.",
        file=sys.stderr,
    )
    if not args.strict:
        return 0
    if not imported.ok:
        return 2
    return 0 if met and not tracebacks else 1


if __name__ == "__main__":
    sys.exit(main())
