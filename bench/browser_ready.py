"""Measure how long the dashboard's Overview takes to be ready in a real browser.

    .venv/bin/python bench/browser_ready.py --db /tmp/load31/s.duckdb --repeat 5

Copies the store given by ``--db`` to a temporary file, serves it with ``streamlit run app.py``
on a free loopback port (no sign-in configured, so the browser is served in local mode as
admin), and drives Debian's Chromium (``/usr/bin/chromium``) with Playwright. Each visit opens
``/`` in a new browser context and measures the time from navigation to the Overview being
ready: the app's script state is ``notRunning``, the page's ``h1`` in ``stMain`` is visible
and the Overview's metrics (``stMetric``) are drawn.

Reported: the first visit after the server started (``cold``: the app's modules are imported,
the store opened and the rules run for the first time) and the median and 95th percentile
(nearest rank) of the ``--repeat`` visits after it (``warm``: each a new session in a new
browser context, served from the cached check). Times are measured in the page, from the
navigation's start (``performance.now()``). Also reported, to tell the server's part from the
browser's: ``settled`` (ready, and no element added to the page for 1 s: a large table can
keep the browser busy after the metrics are drawn), ``wall`` (measured here: it also counts
any time the page's main thread was too busy to answer), the server's CPU time and the page's
main-thread busy time (Chrome's ``TaskDuration``) during each visit, and the DOM's size.

Prints one JSON line on stdout (progress and a summary on stderr): ``cold_s``, ``median_s``
and ``p95_s`` are the headline figures. ``--json-out FILE`` writes the same figures,
``--details-out FILE`` adds every visit. A visit fails when it is not ready within
``--timeout``, its navigation fails, or the page shows an exception, "Traceback" or an error
message; failures are counted in ``errors``. Exits 0 whenever the figures were measured;
with ``--strict``, 1 if a visit failed or the server's log has a traceback.

``bench/load.py`` reuses the server and browser helpers defined here.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from coprod.store import is_server

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
GRACE_S = 5.0  # how long past its own timeout a busy page has to answer before it is left
CHECK_TIMEOUT_S = 30.0  # how long a page has to answer a question (its state, its errors)
T = TypeVar("T")


@dataclass(frozen=True)
class PageSpec:
    """A page to load and what must be drawn on it, besides its heading, for it to be ready."""

    name: str
    path: str
    title: str  # the page's h1, to be sure the right page was measured
    needs: str  # a CSS selector (a comma means "any of") that must match a visible element


OVERVIEW = PageSpec(
    "overview", "/", "Were people involved from the start?", "[data-testid='stMetric']"
)
DECISIONS = PageSpec(
    "decisions",
    "/decisions",
    "Decision register",
    "[data-testid='stDataFrame'], [data-testid='stTable']",
)

# Polled in the page: once the run has finished and the heading and the needed element are
# visible (or as soon as the app shows an exception), the time since the navigation started;
# otherwise false (keep polling).
_READY_JS = """
([ready, needs]) => {
  const visible = (el) => !!el && el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== "hidden";
  if (document.querySelector("[data-testid='stException']")) {
    return {t: performance.now(), exception: true};
  }
  if (!document.querySelector(ready)) return false;
  const main = document.querySelector("[data-testid='stMain']");
  if (!main) return false;
  const h1 = main.querySelector("h1");
  if (!visible(h1)) return false;
  if (![...main.querySelectorAll(needs)].some(visible)) return false;
  return {t: performance.now(), exception: false};
}
"""

# Settled: the run has finished and the number of elements on the page has not changed for
# ``quiet`` ms. A large table can keep the browser busy long after the ready signs are drawn
# (no poll runs meanwhile); this is the time of the first poll that saw the final count.
SETTLE_QUIET_MS = 1000
_SETTLED_JS = """
([ready, quiet]) => {
  const now = performance.now();
  const count = document.getElementsByTagName("*").length;
  const seen = window.__coprodBenchSettle;
  if (!seen || seen.count !== count) {
    window.__coprodBenchSettle = {count, since: now};
    return false;
  }
  if (now - seen.since < quiet || !document.querySelector(ready)) return false;
  return {t: seen.since, count};
}
"""

# What the page shows that counts as an error once it is ready.
_ERRORS_JS = """
() => {
  const found = [];
  const exceptions = document.querySelectorAll("[data-testid='stException']").length;
  if (exceptions) found.push(`${exceptions} exception(s) shown`);
  if (document.body.innerText.includes("Traceback")) found.push("'Traceback' on the page");
  for (const el of document.querySelectorAll("[data-testid='stAlertContentError']")) {
    found.push("error message: " + el.innerText.trim().slice(0, 200));
  }
  const h1 = document.querySelector("[data-testid='stMain'] h1");
  return {found, h1: h1 ? h1.innerText.trim() : null};
}
"""

# What the page looked like when a wait gave up, for the error message.
_STATE_JS = """
() => {
  const app = document.querySelector("[data-testid='stApp']");
  const h1 = document.querySelector("[data-testid='stMain'] h1");
  const dialog = document.querySelector("[role='dialog']");
  const error = document.querySelector("[data-testid='stAlertContentError']");
  const exceptions = document.querySelectorAll("[data-testid='stException']").length;
  return {
    script_state: app ? app.getAttribute("data-test-script-state") : null,
    h1: h1 ? h1.innerText.trim() : null,
    error_message: error ? error.innerText.trim().slice(0, 200) : null,
    exceptions: exceptions || null,
    dialog: dialog ? dialog.innerText.trim().slice(0, 200) : null,
  };
}
"""


@dataclass
class Visit:
    """One navigation to a page and how long it took to be ready."""

    page: str
    started: float  # time.monotonic() when the navigation was asked for
    ready_s: float | None = None  # in the page, from the navigation's start
    wall_s: float | None = None  # here, from asking for the navigation to seeing it ready
    commit_s: float | None = None  # here, from asking for the navigation to its response
    settled_s: float | None = None  # in the page: ready, and no element added for a while
    settle_error: str | None = None  # why it did not settle in time (not counted as an error)
    unchecked: str | None = None  # why it could not be checked for errors (ditto)
    server_cpu_s: float | None = None  # CPU the server used meanwhile (sequential visits only)
    browser_busy_s: float | None = None  # the page's main thread busy meanwhile (ditto)
    dom_nodes: int | None = None  # DOM nodes on the page at the end (ditto)
    error: str | None = None
    session: str = ""
    during_import: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.ready_s is not None

    @property
    def clean(self) -> bool:
        """Ready, settled (if asked) and checked: the page is idle."""
        return self.ok and self.settle_error is None and self.unchecked is None


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_store(location: str, folder: Path) -> Path | str:
    """Copy a store file (and its write-ahead log, if any) into ``folder``; return the copy. A
    PostgreSQL store is served as it is."""
    if is_server(location):
        return location
    source = Path(location).resolve()
    if not source.is_file():
        raise SystemExit(f"No store at {source}: make one with `coprod demo --db {source}`.")
    target = folder / "store.duckdb"
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.is_file():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    return target


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def peak_rss_mb(self) -> float | None:
        """The server process's peak resident memory so far (Linux only)."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
        return None

    def cpu_s(self) -> float | None:
        """CPU seconds (user and system) the server process has used so far (Linux only)."""
        stat = _proc_stat(self.process.pid)
        return None if stat is None else (stat[11] + stat[12]) / os.sysconf("SC_CLK_TCK")

    def log_tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _die_with_parent() -> None:
    """In the server's process: be sent SIGTERM if this script dies without stopping it (say,
    killed by a timeout). Linux only; elsewhere nothing."""
    with suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextmanager
def serve(
    db: Path | str, log: Path, *, start_timeout: float = 90, app: Path = PROJECT_ROOT / "app.py"
) -> Iterator[Server]:
    """``streamlit run app.py`` (or ``app``) on a free loopback port with COPROD_DB=db; stops
    it on exit.

    An empty secrets file is used so that sign-in is off (local mode, served as admin) whatever
    ``.streamlit/secrets.toml`` holds, and the file watcher is off so that edits to the source
    while a benchmark runs do not disturb it."""
    port = free_port()
    secrets = log.with_name("secrets.toml")
    secrets.write_text("")
    env = {**os.environ, "COPROD_DB": str(db)}
    command = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none", "--secrets.files", str(secrets),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # no threads run yet
        )
        server = Server(url, process, log)
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    if process.poll() is not None:
                        raise RuntimeError(f"streamlit run stopped:\n{server.log_tail()}") from None
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"streamlit run did not start within {start_timeout:.0f} s"
                        ) from None
                    time.sleep(0.3)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so that the server and the browser are shut down."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


# --- the browser -----------------------------------------------------------------------------


async def launch(playwright: Playwright) -> Browser:
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium is missing at {CHROMIUM}: apt-get install chromium")
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


async def new_context(browser: Browser) -> BrowserContext:
    return await browser.new_context(viewport={"width": 1366, "height": 900})


async def _state(page: Page) -> str:
    try:
        state = await asyncio.wait_for(page.evaluate(_STATE_JS), CHECK_TIMEOUT_S)
    except PlaywrightError as exc:
        return f"page state unreadable: {str(exc).splitlines()[0]}"
    except TimeoutError:
        return "page state unreadable: the page did not answer"
    return ", ".join(f"{key}={value!r}" for key, value in state.items() if value is not None)


async def visit(
    page: Page,
    base_url: str,
    spec: PageSpec,
    *,
    timeout_s: float,
    settle_timeout_s: float | None = None,
    poll_ms: float = 50,
    session: str = "",
) -> Visit:
    """Navigate ``page`` to ``spec`` and wait until it is ready, then (unless
    ``settle_timeout_s`` is None) until it has settled, then check it for errors.

    Never raises on a page error, a timeout or a failed navigation: they are recorded in the
    returned Visit. A page whose main thread is busy does not answer Playwright, not even to
    time out, so every wait is also bounded here; after ``not visit.clean`` the page may still
    be busy, and is best closed."""
    result = Visit(page=spec.name, started=time.monotonic(), session=session)
    start = time.perf_counter()

    def elapsed() -> float:
        return time.perf_counter() - start

    async def until_ready() -> dict[str, Any]:
        await page.goto(base_url + spec.path, wait_until="commit", timeout=timeout_s * 1000)
        result.commit_s = elapsed()
        handle = await page.wait_for_function(
            _READY_JS,
            arg=[READY, spec.needs],
            polling=poll_ms,
            timeout=max(1, round((timeout_s - elapsed()) * 1000)),
        )
        return dict(await handle.json_value())

    try:
        seen = await asyncio.wait_for(until_ready(), timeout_s + GRACE_S)
    except PlaywrightError as exc:
        result.error = f"{_failure(exc, elapsed())} [{await _state(page)}]"
        return result
    except TimeoutError:
        result.error = (
            f"timeout after {elapsed():.1f} s: not ready within {timeout_s:g} s, and the page "
            f"did not answer [{await _state(page)}]"
        )
        return result
    result.wall_s = elapsed()
    result.ready_s = float(seen["t"]) / 1000
    exception_seen = bool(seen["exception"])
    if exception_seen:
        result.error = "an exception shown by the app"  # the check below may say more

    if settle_timeout_s is not None and not exception_seen:
        try:
            handle = await asyncio.wait_for(
                page.wait_for_function(
                    _SETTLED_JS,
                    arg=[READY, SETTLE_QUIET_MS],
                    polling=max(poll_ms, 100),
                    timeout=settle_timeout_s * 1000,
                ),
                settle_timeout_s + GRACE_S,
            )
            result.settled_s = float((await handle.json_value())["t"]) / 1000
        except PlaywrightError as exc:
            result.settle_error = _failure(exc, elapsed())
        except TimeoutError:
            result.settle_error = f"the page did not answer for {settle_timeout_s + GRACE_S:g} s"

    try:
        checked = await asyncio.wait_for(page.evaluate(_ERRORS_JS), CHECK_TIMEOUT_S)
    except (PlaywrightError, TimeoutError) as exc:
        # Ready but too busy to be read: not an error by the definition, but not checked.
        why = str(exc).splitlines()[0] if str(exc) else "the page did not answer"
        result.unchecked = f"not checked for errors: {why}"
        return result
    problems = list(checked["found"])
    if checked["h1"] != spec.title and not exception_seen:
        problems.append(f"wrong page: h1 is {checked['h1']!r}, expected {spec.title!r}")
    if problems:
        result.error = "; ".join(problems)
    return result


def _failure(exc: PlaywrightError, after_s: float) -> str:
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    kind = "timeout" if "timeout" in first.lower() else "browser error"
    return f"{kind} after {after_s:.1f} s: {first}"


async def close_quietly(target: Page | BrowserContext) -> None:
    """Close a page or a context, even one whose page is busy or gone."""
    with suppress(PlaywrightError, TimeoutError):
        await asyncio.wait_for(target.close(), CHECK_TIMEOUT_S)


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(work)``, with SIGTERM (like Ctrl-C) cancelling it so that its ``finally``
    blocks close the browsers; then SIGTERM raises SystemExit again (see stop_on_sigterm)."""

    async def runner() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            return await work
        finally:
            loop.remove_signal_handler(signal.SIGTERM)

    try:
        return asyncio.run(runner())
    except asyncio.CancelledError:
        raise SystemExit(128 + signal.SIGTERM) from None
    finally:
        stop_on_sigterm()


# --- figures ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile: the smallest value with at least p% of values at or below
    it (so the 95th of 5 values is the largest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "median": None, "p95": None, "max": None, "min": None}
    return {
        "count": len(values),
        "median": round(statistics.median(values), 3),
        "p95": round(percentile(values, 95), 3),
        "max": round(max(values), 3),
        "min": round(min(values), 3),
    }


def _proc_stat(pid: int) -> list[int] | None:
    """The numeric fields of /proc/PID/stat after the command name (Linux only): [1] is the
    parent's pid, [11] to [14] the user and system time of the process and of its reaped
    children, in clock ticks."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]
    except (OSError, IndexError):
        return None
    return [int(field) if field.lstrip("-").isdigit() else 0 for field in text.split()]


def descendants_cpu_s(skip: set[int]) -> float | None:
    """CPU seconds used so far by this process's descendants (with the children they have
    reaped), leaving out the processes in ``skip`` and theirs: here, the Playwright driver and
    Chromium, i.e. the load generator (Linux only)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    if not stats:
        return None
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        children.setdefault(stat[1], []).append(pid)
    total, todo = 0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        if pid in skip:
            continue
        total += sum(stats[pid][11:15])
        todo.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_cpu_s() -> float | None:
    """CPU seconds every process on the machine has used since boot (Linux only)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_pressure() -> float | None:
    """The share of the last 60 s in which some runnable task waited for a CPU (Linux PSI), in
    percent: well above 0, other work on the machine is slowing the measurements down."""
    try:
        for line in Path("/proc/pressure/cpu").read_text().splitlines():
            if line.startswith("some"):
                return float(line.split("avg60=")[1].split()[0])
    except (OSError, IndexError, ValueError):
        pass
    return None


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpu_pressure_avg60_pct": cpu_pressure(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "when": dt.datetime.now().isoformat(timespec="seconds"),
    }


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json-out", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--details-out", type=Path, help="write the figures and every page load to this file"
    )
    parser.add_argument("--server-log", type=Path, help="keep the server's log in this file")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a load failed or the goal was missed (default: exit 0 whenever the "
        "figures were measured, whatever they are)",
    )


def emit(figures: dict[str, Any], args: argparse.Namespace, details: dict[str, Any]) -> None:
    """One JSON line on stdout; the figures to --json-out, with the details to --details-out."""
    print(json.dumps(figures), flush=True)
    for path, content in ((args.json_out, figures), (args.details_out, {**figures, **details})):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(content, indent=2) + "\n")


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def describe(item: Visit) -> str:
    text = f"ready {seconds(item.ready_s)}, settled {seconds(item.settled_s)}"
    text += f" (wall {seconds(item.wall_s)}"
    text += f", response {seconds(item.commit_s)}"
    if item.server_cpu_s is not None:
        text += f", server CPU {seconds(item.server_cpu_s)}"
    if item.browser_busy_s is not None:
        text += f", page main thread busy {seconds(item.browser_busy_s)}"
    if item.dom_nodes is not None:
        text += f", {item.dom_nodes} DOM nodes"
    text += ")" + (f"  not settled: {item.settle_error}" if item.settle_error else "")
    text += f"  {item.unchecked}" if item.unchecked else ""
    return text + (f"  ERROR {item.error}" if item.error else "")


def visit_dict(item: Visit, origin: float) -> dict[str, Any]:
    row = asdict(item)
    row["started"] = round(item.started - origin, 3)
    for key in ("ready_s", "settled_s", "wall_s", "commit_s", "server_cpu_s", "browser_busy_s"):
        if row[key] is not None:
            row[key] = round(row[key], 3)
    return row


# --- this benchmark --------------------------------------------------------------------------


async def measure(
    server: Server, repeat: int, timeout_s: float, settle_timeout_s: float | None
) -> list[Visit]:
    """The cold visit and then ``repeat`` more, each in a new browser context."""
    visits: list[Visit] = []
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            for index in range(repeat + 1):
                context = await new_context(browser)
                try:
                    page = await context.new_page()
                    name = "cold" if index == 0 else f"warm-{index}"
                    cdp = await context.new_cdp_session(page)
                    await cdp.send("Performance.enable")
                    cpu_before = server.cpu_s()
                    done = await visit(
                        page,
                        server.url,
                        OVERVIEW,
                        timeout_s=timeout_s,
                        settle_timeout_s=settle_timeout_s,
                        session=name,
                    )
                    cpu_after = server.cpu_s()
                    if cpu_before is not None and cpu_after is not None:
                        done.server_cpu_s = cpu_after - cpu_before
                    try:
                        answer = await cdp.send("Performance.getMetrics")
                        metrics = {m["name"]: m["value"] for m in answer["metrics"]}
                        done.browser_busy_s = float(metrics["TaskDuration"])
                        done.dom_nodes = int(metrics["Nodes"])
                    except (PlaywrightError, KeyError):
                        pass
                    visits.append(done)
                    print(f"  {name}: {describe(done)}", file=sys.stderr, flush=True)
                finally:
                    await close_quietly(context)
        finally:
            await browser.close()
    return visits


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time from navigation to the Overview being ready, in Chromium: the first "
        "visit after the server starts (cold) and the median and 95th percentile of the "
        "visits after it (each in a new browser context).",
    )
    parser.add_argument(
        "--db", required=True, help="the store: a file (copied first) or a postgresql:// address"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="visits after the cold one (default 5)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120,
        help="seconds a visit may take to be ready (default 120); longer is an error",
    )
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=120,
        help="seconds to wait, once ready, for the page to settle (default 120; 0: do not wait)",
    )
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    stop_on_sigterm()

    with tempfile.TemporaryDirectory(prefix="coprod-bench-") as tmp:
        folder = Path(tmp)
        db = copy_store(args.db, folder)
        log = folder / "server.log"
        started_on = machine()
        print(f"Serving a copy of {args.db}…", file=sys.stderr, flush=True)
        with serve(db, log) as server:
            visits = run_async(
                measure(server, args.repeat, args.timeout, args.settle_timeout or None)
            )
            peak_mb = server.peak_rss_mb()
        tracebacks = server.log_tracebacks()
        if args.server_log:
            shutil.copyfile(log, args.server_log)
        if tracebacks:
            print(f"The server log has tracebacks:\n{server.log_tail()}", file=sys.stderr)

    cold, warm = visits[0], visits[1:]
    warm_ok = [v for v in warm if v.ok]
    errors = [v for v in visits if not v.ok]
    figures: dict[str, Any] = {
        "bench": "browser_ready",
        "db": str(args.db),
        "page": OVERVIEW.path,
        "cold_s": _rounded(cold.ready_s if cold.ok else None),
        "cold_settled_s": _rounded(cold.settled_s if cold.ok else None),
        "median_s": None,  # of the warm visits, filled in below
        "p95_s": None,
        "warm_s": summary([v.ready_s for v in warm_ok if v.ready_s is not None]),
        "warm_settled_s": summary([v.settled_s for v in warm_ok if v.settled_s is not None]),
        "warm_wall_s": summary([v.wall_s for v in warm_ok if v.wall_s is not None]),
        # Where the time goes: the server's CPU and the page's main thread, per visit.
        "cold_server_cpu_s": _rounded(cold.server_cpu_s),
        "cold_browser_busy_s": _rounded(cold.browser_busy_s),
        "warm_server_cpu_s": summary([v.server_cpu_s for v in warm if v.server_cpu_s is not None]),
        "warm_browser_busy_s": summary(
            [v.browser_busy_s for v in warm if v.browser_busy_s is not None]
        ),
        "dom_nodes": max((v.dom_nodes for v in visits if v.dom_nodes is not None), default=None),
        "repeat": args.repeat,
        "errors": len(errors),
        "error_messages": [f"{v.session}: {v.error}" for v in errors],
        "not_settled": sum(v.settle_error is not None for v in visits),
        "not_checked": sum(v.unchecked is not None for v in visits),
        "server_log_tracebacks": tracebacks,
        "server_peak_rss_mb": peak_mb,
        "machine": started_on,
        "machine_after": machine(),
    }
    figures["median_s"] = figures["warm_s"]["median"]
    figures["p95_s"] = figures["warm_s"]["p95"]
    origin = visits[0].started
    emit(figures, args, {"visits": [visit_dict(v, origin) for v in visits]})
    warm_s, settled = figures["warm_s"], figures["warm_settled_s"]
    print(
        f"Overview ready: cold {seconds(figures['cold_s'])} (settled "
        f"{seconds(figures['cold_settled_s'])}); warm median {seconds(warm_s['median'])}, p95 "
        f"{seconds(warm_s['p95'])} over {len(warm_ok)} visits (settled: median "
        f"{seconds(settled['median'])}, p95 {seconds(settled['p95'])}); {len(errors)} error(s).",
        file=sys.stderr,
    )
    return 1 if args.strict and (errors or tracebacks) else 0


if __name__ == "__main__":
    sys.exit(main())
