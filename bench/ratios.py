"""Each page goal in Chromium as a ratio to a trivial Streamlit page measured in the same run.

    .venv/bin/python bench/ratios.py --db STORE [--rounds 7] [--starts 3] [--json-out F]

This machine's load moves absolute times (two cores, shared), so a page is judged by how many
times longer it takes than a trivial page (bench/trivial_app.py: a heading, a sentence, one
Plotly chart and one small table) served the same way (``streamlit run``, headless, loopback,
the options of bench/browser_ready.py's ``serve``) and measured in the same browser with the
same definition of ready:

- the script has finished (``stApp``'s ``data-test-script-state`` is ``notRunning``) and the
  page's ``h1`` is in ``stMain`` (so the run has drawn the page, not only the app's shell);
- no skeleton is left (``[data-testid='stSkeleton']``: an element whose code is still loading);
- every chart has drawn (every ``.js-plotly-plot``, and every ``stPlotlyChart``, has its
  ``.main-svg``).

Time is measured in the page, from the navigation's start (``performance.now()``), each visit
in a new browser context (a new session). After one warm-up visit of each page, ``--rounds``
rounds each visit the trivial page and every page once, in an order that turns by one every
round, so that a change in the machine's load reaches the floor and the pages alike. A page's
ratio is its median over the rounds divided by the trivial page's median.

The first Overview after the server starts is measured ``--starts`` times: each time a fresh
dashboard server is started, and once it answers its health check the Overview is opened (its
modules are imported, the store opened and the rules run in that visit); its ratio is to the
median of the trivial app's own first visit after a fresh start, measured alternately.

The pages: the Overview (``/``); the Decision story of the decision with the most involvements
(``/decision?decision=ID``, as a link opens it); Meeting mode (``/meeting``: it opens on the
next meeting with an agenda, and the visit checks that an item is drawn); Decisions
(``/decisions``). Goals: every page within 1.5× the floor, the first Overview after a start
within 3×. Prints a table on stderr and one JSON line on stdout; ``--json-out`` writes the
same JSON. A visit fails when it is not ready in ``--timeout`` seconds, shows an exception or
"Traceback", or draws another page than the one asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from browser_ready import (
    PROJECT_ROOT,
    Server,
    close_quietly,
    copy_store,
    launch,
    machine,
    new_context,
    run_async,
    serve,
    stop_on_sigterm,
)
from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import Error as PlaywrightError

TRIVIAL_APP = PROJECT_ROOT / "bench" / "trivial_app.py"
PAGE_GOAL = 1.5  # times the trivial page
FIRST_GOAL = 3.0  # times the trivial app's first page after its server starts

# Polled in the page (see the module's docstring): the time since the navigation started once
# the page is ready, or as soon as it shows an exception; false until then.
READY_JS = """
() => {
  if (document.querySelector("[data-testid='stException']")) {
    return {t: performance.now(), exception: true};
  }
  const app = document.querySelector("[data-testid='stApp']");
  if (!app || app.getAttribute("data-test-script-state") !== "notRunning") return false;
  const main = document.querySelector("[data-testid='stMain']");
  if (!main || !main.querySelector("h1")) return false;
  if (document.querySelector("[data-testid='stSkeleton']")) return false;
  for (const chart of document.querySelectorAll(".js-plotly-plot")) {
    if (!chart.querySelector(".main-svg")) return false;
  }
  for (const chart of document.querySelectorAll("[data-testid='stPlotlyChart']")) {
    if (!chart.querySelector(".js-plotly-plot .main-svg")) return false;
  }
  return {t: performance.now(), exception: false};
}
"""

# Once ready: what the page shows, to be sure it is the page asked for and it did not fail.
SHOWN_JS = """
() => {
  const main = document.querySelector("[data-testid='stMain']");
  const h1 = main ? main.querySelector("h1") : null;
  return {
    h1: h1 ? h1.innerText.trim() : null,
    headings: main ? [...main.querySelectorAll("h2")].map((h) => h.innerText.trim()) : [],
    exceptions: document.querySelectorAll("[data-testid='stException']").length,
    traceback: document.body.innerText.includes("Traceback"),
  };
}
"""


@dataclass(frozen=True)
class Target:
    """A page to open, and how to tell that the page drawn is that one."""

    name: str
    path: str
    check: Callable[[dict[str, Any]], str | None]  # SHOWN_JS's answer -> what is wrong, or None
    trivial: bool = False


def titled(title: str) -> Callable[[dict[str, Any]], str | None]:
    def check(shown: dict[str, Any]) -> str | None:
        return None if shown["h1"] == title else f"h1 is {shown['h1']!r}, not {title!r}"

    return check


def meeting_with_items(shown: dict[str, Any]) -> str | None:
    if any(h.startswith("Item 1:") for h in shown["headings"]):
        return None
    return f"no agenda item drawn (h1 {shown['h1']!r})"


TRIVIAL = Target("Trivial page", "/", titled("A trivial page"), trivial=True)


def targets(db: Path | str) -> list[Target]:
    """The pages measured, with the decision (the one with the most involvements) read from
    the store."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            """SELECT d.decision_id, d.title FROM decision d
               JOIN involvement i USING (decision_id)
               WHERE d.withdrawn_at IS NULL AND i.withdrawn_at IS NULL
               GROUP BY ALL ORDER BY count(*) DESC, d.decision_id LIMIT 1"""
        ).fetchone()
    finally:
        con.close()
    if row is None:
        raise SystemExit(f"No decision with involvements in {db}: use `coprod demo --db`.")
    decision_id, title = row
    return [
        Target("Overview", "/", titled("Were people involved from the start?")),
        Target("Decision story", f"/decision?decision={decision_id}", titled(str(title))),
        Target("Meeting mode", "/meeting", meeting_with_items),
        Target("Decisions", "/decisions", titled("Decision register")),
    ]


@dataclass
class Visit:
    target: str
    round: int  # 0: the warm-up; -1: the first visit after a start
    ready_s: float | None = None
    error: str | None = None


async def open_page(page: Page, url: str, target: Target, timeout_s: float) -> Visit:
    """Navigate to ``target`` and wait for it to be ready; never raises on a page's failure."""
    result = Visit(target.name, 0)
    try:
        await page.goto(url + target.path, wait_until="commit", timeout=timeout_s * 1000)
        handle = await page.wait_for_function(READY_JS, polling="raf", timeout=timeout_s * 1000)
        seen = await handle.json_value()
        shown = await page.evaluate(SHOWN_JS)
    except PlaywrightError as exc:
        result.error = str(exc).splitlines()[0]
        return result
    if seen["exception"] or shown["exceptions"]:
        result.error = "the page shows an exception"
    elif shown["traceback"]:
        result.error = "the page shows 'Traceback'"
    else:
        result.error = target.check(shown)
    if result.error is None:
        result.ready_s = float(seen["t"]) / 1000
    return result


async def visit(browser: Browser, url: str, target: Target, timeout_s: float) -> Visit:
    context = await new_context(browser)
    try:
        page = await context.new_page()
        return await asyncio.wait_for(open_page(page, url, target, timeout_s), timeout_s + 10)
    except TimeoutError:
        return Visit(target.name, 0, error=f"the page did not answer within {timeout_s + 10:g} s")
    finally:
        await close_quietly(context)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _when(item: Visit) -> str:
    return "warm-up" if item.round == 0 else "first" if item.round < 0 else f"round {item.round}"


def _line(item: Visit) -> str:
    when = _when(item)
    shown = f"{item.ready_s:.2f} s" if item.ready_s is not None else f"FAILED: {item.error}"
    return f"  {when:>8} {item.target}: {shown}"


async def rounds(
    trivial: Server, dashboard: Server, pages: list[Target], count: int, timeout_s: float
) -> list[Visit]:
    visits: list[Visit] = []
    everything = [TRIVIAL, *pages]
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            for number in range(count + 1):
                turn = number % len(everything)
                for target in everything[turn:] + everything[:turn]:
                    server = trivial if target.trivial else dashboard
                    done = await visit(browser, server.url, target, timeout_s)
                    done.round = number
                    visits.append(done)
                    _say(_line(done))
        finally:
            await browser.close()
    return visits


async def first_visit(server: Server, target: Target, timeout_s: float) -> Visit:
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            done = await visit(browser, server.url, target, timeout_s)
        finally:
            await browser.close()
    done.round = -1
    _say(_line(done))
    return done


@contextmanager
def served(db: Path | str, folder: Path, app: Path) -> Iterator[Server]:
    folder.mkdir(parents=True, exist_ok=True)
    with serve(db, folder / "server.log", app=app) as server:
        yield server


def source_state() -> dict[str, Any]:
    """The commit measured, and the dashboard's files that differed from it (uncommitted)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
        )
        return done.stdout.rstrip("\n") if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", "app.py", "ui.py", "pages", "coprod")
    return {
        "commit": git("rev-parse", "HEAD") or None,
        "dirty": sorted(line[3:] for line in changed.splitlines() if line[3:]),
    }


def median(visits: list[Visit], name: str) -> float | None:
    times = [v.ready_s for v in visits if v.target == name and v.ready_s is not None]
    return statistics.median(times) if times else None


def ratio(value: float | None, floor: float | None) -> float | None:
    return None if value is None or not floor else round(value / floor, 2)


def goal(visits: list[Visit], name: str, times: float) -> dict[str, Any]:
    """One goal: the page's visits against the trivial page's visits of the same kind. Also the
    ratio of the fastest visits (load only adds time, so a best ratio far from the median one
    says the machine's load moved during the run), and how many visits failed."""
    mine = [v for v in visits if v.target == name]
    floor = [v for v in visits if v.target == TRIVIAL.name]

    def best(items: list[Visit]) -> float | None:
        return min((v.ready_s for v in items if v.ready_s is not None), default=None)

    value, floor_s = median(visits, name), median(visits, TRIVIAL.name)
    return {
        "median_s": value,
        "floor_s": floor_s,
        "ratio": ratio(value, floor_s),
        "best_ratio": ratio(best(mine), best(floor)),
        "goal": times,
        "visits": len(mine),
        "failed": sum(v.ready_s is None for v in mine + floor),
        "samples_s": [v.ready_s for v in mine],
        "floor_samples_s": [v.ready_s for v in floor],
    }


def verdict(entry: Mapping[str, Any]) -> str:
    """Met, not met, or not measured because visits failed (the page's or the floor's)."""
    if entry["failed"]:
        return f"**{entry['failed']} visit(s) failed**"
    met = entry["ratio"] is not None and entry["ratio"] <= entry["goal"]
    return "met" if met else "**not met**"


def measure(db: str, *, count: int, starts: int, timeout_s: float) -> dict[str, Any]:
    before = machine()
    source = source_state()
    with tempfile.TemporaryDirectory(prefix="coprod-ratios-") as tmp:
        folder = Path(tmp)
        store = copy_store(db, folder)
        pages = targets(store)
        _say(f"Rounds: the trivial page and {len(pages)} pages, 1 warm-up and {count} rounds")
        with ExitStack() as stack:
            trivial = stack.enter_context(served(store, folder / "trivial", TRIVIAL_APP))
            dashboard = stack.enter_context(served(store, folder / "app", PROJECT_ROOT / "app.py"))
            visits = run_async(rounds(trivial, dashboard, pages, count, timeout_s))
        _say(f"First visits after a fresh start, {starts} times each")
        firsts: list[Visit] = []
        for number in range(starts):
            for target, app in ((TRIVIAL, TRIVIAL_APP), (pages[0], PROJECT_ROOT / "app.py")):
                with served(store, folder / f"start-{number}", app) as server:
                    firsts.append(run_async(first_visit(server, target, timeout_s)))
    timed = [v for v in visits if v.round > 0]
    figures: dict[str, Any] = {
        "bench": "ratios",
        "db": db,
        "rounds": count,
        "starts": starts,
        "floor_s": median(timed, TRIVIAL.name),
        "trivial_samples_s": [v.ready_s for v in timed if v.target == TRIVIAL.name],
        "pages": {
            target.name: {"path": target.path, **goal(timed, target.name, PAGE_GOAL)}
            for target in pages
        },
        "first": goal(firsts, pages[0].name, FIRST_GOAL),
        "errors": [f"{v.target}, {_when(v)}: {v.error}" for v in visits + firsts if v.error],
    }
    figures["source"] = source
    figures["machine"] = before
    figures["machine_after"] = machine()
    return figures


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def goals(figures: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(what the goal is, its figures) for every goal measured."""
    out = [(f"{name} ≤ {entry['goal']:g}×", entry) for name, entry in figures["pages"].items()]
    first = figures["first"]
    out.append((f"first Overview after the server starts ≤ {first['goal']:g}×", first))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the store (a file; it is copied first)")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument(
        "--starts", type=int, default=3, help="fresh server starts for the first visit (3)"
    )
    parser.add_argument("--timeout", type=float, default=120, help="seconds a visit may take")
    parser.add_argument("--json-out", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.starts < 1:
        parser.error("--rounds and --starts must be at least 1")
    stop_on_sigterm()
    started = time.perf_counter()
    figures = measure(args.db, count=args.rounds, starts=args.starts, timeout_s=args.timeout)
    figures["duration_s"] = round(time.perf_counter() - started, 1)
    figures["when"] = dt.datetime.now().isoformat(timespec="seconds")
    _say("")
    for label, entry in goals(figures):
        _say(
            f"  {label:<48} {_s(entry['median_s']):>8}  floor {_s(entry['floor_s']):>8}  "
            f"{_x(entry['ratio']):>7} (fastest {_x(entry['best_ratio'])})  {verdict(entry)}"
        )
    if figures["errors"]:
        _say(f"{len(figures['errors'])} visit(s) failed: " + "; ".join(figures["errors"]))
    text = json.dumps(figures)
    print(text)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
