"""Where a page's time goes, in Chromium: the server's script, the websocket, the DOM, the
browser's main thread, and which of the browser's code used it.

    .venv/bin/python bench/page_profile.py --db STORE [--visits 3] [--json-out F]

Serves a copy of the store with the dashboard and bench/trivial_app.py as bench/ratios.py does,
and opens the trivial page, the Overview, the Decision story (bench/ratios.py's decision) and
Decisions (for its data grid): one warm-up visit each, then ``--visits`` visits each, every
one in a new browser context, with the ready of bench/ratios.py. For each visit:

- **phases**, from the browser's network events (Chrome DevTools Protocol, ``Network``): the
  shell (navigation to the websocket's first message out: the HTML, the JavaScript bundle and
  the connection), the server's script run (the browser's rerun request out to Streamlit's
  ``script_finished`` in) and the tail (``script_finished`` to ready: drawing what arrived,
  with any component's code still loading);
- the **websocket**: the bytes received, and by what they carry (each element kind's deltas,
  decoded with Streamlit's own protobuf classes);
- the **DOM**: elements in all, and inside each kind of Streamlit element (tables, charts...);
- the **main thread** (``Performance.getMetrics``): busy (``TaskDuration``), in JavaScript,
  in layout and in style recalculation; the JavaScript heap;
- **whose code** (a sampling CPU profile, ``Profiler``): self time grouped by the file it runs
  in: plotly.js (Streamlit's PlotlyChart chunk), Markdown (StreamlitMarkdown: st.markdown, and
  every st.table cell, which Streamlit reads as Markdown), React, styling (emotion),
  tables and Arrow decoding, the data grid (DataFrame chunk), the browser's own work
  (``(program)``: parsing, compiling, layout and painting outside JavaScript) and the garbage
  collector;
- the server's CPU time during the visit.

Prints a summary (medians over the visits) on stderr and one JSON line on stdout;
``--json-out`` writes the same, and ``--doc docs/benchmarks.md`` writes the table to that
report's block ``profile`` (the rest of the file is left as it is). The profiler slows the
page a little: the times here are for telling parts apart; bench/ratios.py's are the ones to
judge a page by.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import datetime as dt
import json
import re
import statistics
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from browser_ready import (
    PROJECT_ROOT,
    Server,
    close_quietly,
    copy_store,
    launch,
    machine,
    new_context,
    run_async,
    stop_on_sigterm,
)
from floors import write_block
from playwright.async_api import Browser, CDPSession, async_playwright
from playwright.async_api import Error as PlaywrightError
from ratios import READY_JS, TRIVIAL, TRIVIAL_APP, Target, served, source_state, targets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

# The DOM's elements, in all and inside each kind of Streamlit element in the main area.
DOM_JS = """
() => {
  const all = (root) => root ? root.getElementsByTagName("*").length : 0;
  const kinds = {};
  const main = document.querySelector("[data-testid='stMain']");
  for (const box of main ? main.querySelectorAll("[data-testid='stElementContainer']") : []) {
    const inner = box.firstElementChild;
    const kind = (inner && inner.getAttribute("data-testid")) || "other";
    const seen = kinds[kind] || (kinds[kind] = {elements: 0, dom: 0});
    seen.elements += 1;
    seen.dom += all(box);
  }
  return {
    dom: all(document),
    main: all(main),
    sidebar: all(document.querySelector("[data-testid='stSidebar']")),
    table_cells: document.querySelectorAll(
      "[data-testid='stTable'] td, [data-testid='stTable'] th").length,
    svg: document.querySelectorAll(".js-plotly-plot svg *").length,
    kinds,
    tables: [...(main ? main.querySelectorAll("[data-testid='stTable']") : [])].map((t) => ({
      cells: t.querySelectorAll("td, th").length,
      dom: all(t),
      closed: !!t.closest("[data-testid='stExpanderDetails'][inert]"),
    })),
  };
}
"""

# Profile self time, by the file the code is in (Streamlit's chunk names, without the hash).
GROUPS = [
    ("plotly.js", ("PlotlyChart",)),
    ("Markdown (st.markdown, st.table cells)", ("StreamlitMarkdown", "rehype", "remark", "katex")),
    ("React", ("react-dom", "react.", "scheduler")),
    ("styling (emotion)", ("emotion", "styled-components", "opacities")),
    ("tables and Arrow", ("Table", "arrowFormatUtils", "recordbatch", "Quiver", "serialization",
                          "moment", "numbro", "pandasStylerUtils")),
    ("data grid (st.dataframe)", ("DataFrame", "glide", "data-grid")),
    ("protobuf", ("protobuf",)),
]  # fmt: skip
METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def chunk(url: str) -> str:
    name = re.sub(r"^.*/", "", url.split("?")[0])
    return re.sub(r"\.[A-Za-z0-9_-]{8}\.(js|mjs)$", "", name)


def group(url: str, function: str) -> str:
    if not url:
        return {"(program)": "browser's own work", "(garbage collector)": "garbage collector",
                "(idle)": "idle"}.get(function, "browser's own work")  # fmt: skip
    name = chunk(url)
    for label, prefixes in GROUPS:
        if name.startswith(prefixes):
            return label
    return "other Streamlit code"


def by_group(profile: dict[str, Any]) -> dict[str, float]:
    """Seconds of self time in each group."""
    nodes = {node["id"]: node["callFrame"] for node in profile["nodes"]}
    seconds: collections.Counter[str] = collections.Counter()
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        frame = nodes[sample]
        seconds[group(frame["url"], frame["functionName"])] += delta / 1e6
    return dict(seconds)


@dataclass
class Frames:
    """The websocket's frames as the browser's network saw them (CDP timestamps, seconds)."""

    document_at: float | None = None
    first_out_at: float | None = None
    rerun_at: float | None = None
    finished_at: float | None = None
    bytes_in: int = 0
    bytes_by_kind: collections.Counter[str] = field(default_factory=collections.Counter)
    count_by_kind: collections.Counter[str] = field(default_factory=collections.Counter)

    def received(self, at: float, payload: bytes) -> None:
        self.bytes_in += len(payload)
        try:
            message = ForwardMsg.FromString(payload)
        except Exception:  # a frame that is not a ForwardMsg
            self.bytes_by_kind["undecoded"] += len(payload)
            return
        kind = message.WhichOneof("type") or "?"
        if kind == "delta":
            kind = message.delta.WhichOneof("type") or "?"
            if kind == "new_element":
                kind = message.delta.new_element.WhichOneof("type") or "?"
        elif kind == "script_finished" and self.finished_at is None:
            self.finished_at = at
        self.bytes_by_kind[kind] += len(payload)
        self.count_by_kind[kind] += 1

    def sent(self, at: float, payload: bytes) -> None:
        if self.first_out_at is None:
            self.first_out_at = at
        try:
            message = BackMsg.FromString(payload)
        except Exception:
            return
        if message.WhichOneof("type") == "rerun_script" and self.rerun_at is None:
            self.rerun_at = at


def _payload(event: dict[str, Any]) -> bytes:
    response = event["response"]
    data = response.get("payloadData", "")
    return base64.b64decode(data) if response.get("opcode") == 2 else data.encode()


async def profiled_visit(
    browser: Browser, server: Server, target: Target, timeout_s: float
) -> dict[str, Any]:
    context = await new_context(browser)
    try:
        page = await context.new_page()
        cdp: CDPSession = await context.new_cdp_session(page)
        frames = Frames()

        def on_request(event: dict[str, Any]) -> None:
            if event.get("type") == "Document" and frames.document_at is None:
                frames.document_at = float(event["timestamp"])

        cdp.on("Network.requestWillBeSent", on_request)
        cdp.on(
            "Network.webSocketFrameReceived",
            lambda e: frames.received(float(e["timestamp"]), _payload(e)),
        )
        cdp.on(
            "Network.webSocketFrameSent", lambda e: frames.sent(float(e["timestamp"]), _payload(e))
        )
        await cdp.send("Network.enable")
        await cdp.send("Performance.enable")
        await cdp.send("Profiler.enable")
        await cdp.send("Profiler.setSamplingInterval", {"interval": 1000})
        await cdp.send("Profiler.start")
        cpu_before = server.cpu_s()
        await page.goto(server.url + target.path, wait_until="commit", timeout=timeout_s * 1000)
        handle = await page.wait_for_function(READY_JS, polling="raf", timeout=timeout_s * 1000)
        seen = await handle.json_value()
        cpu_after = server.cpu_s()
        profile = (await cdp.send("Profiler.stop"))["profile"]
        metrics = {
            m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]
        }
        dom = await page.evaluate(DOM_JS)
    finally:
        await close_quietly(context)
    if seen["exception"]:
        raise RuntimeError(f"{target.name} shows an exception")
    ready = float(seen["t"]) / 1000
    start = frames.document_at

    def since(at: float | None) -> float | None:
        return None if at is None or start is None else at - start

    rerun, finished = since(frames.rerun_at), since(frames.finished_at)
    return {
        "ready_s": ready,
        "shell_s": rerun,
        "server_s": None if rerun is None or finished is None else finished - rerun,
        "tail_s": None if finished is None else ready - finished,
        "server_cpu_s": None if cpu_before is None or cpu_after is None else cpu_after - cpu_before,
        "ws_bytes": frames.bytes_in,
        "ws_bytes_by_kind": dict(frames.bytes_by_kind.most_common()),
        "ws_messages_by_kind": dict(frames.count_by_kind.most_common()),
        "dom": dom,
        "main_thread_s": {name: metrics.get(name) for name in METRICS},
        "js_heap_mb": metrics.get("JSHeapUsedSize", 0) / 2**20,
        "self_time_s": by_group(profile),
    }


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def summarise(visits: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the visits (the DOM and the websocket are the same every visit)."""
    last = visits[-1]
    groups = sorted({g for v in visits for g in v["self_time_s"]})
    return {
        "visits": len(visits),
        **{
            key: _median([v[key] for v in visits])
            for key in ("ready_s", "shell_s", "server_s", "tail_s", "server_cpu_s", "js_heap_mb")
        },
        "main_thread_s": {m: _median([v["main_thread_s"][m] for v in visits]) for m in METRICS},
        "self_time_s": {
            g: _median([v["self_time_s"].get(g, 0.0) for v in visits])
            for g in sorted(groups, key=lambda g: -sum(v["self_time_s"].get(g, 0) for v in visits))
        },
        "ws_bytes": last["ws_bytes"],
        "ws_bytes_by_kind": last["ws_bytes_by_kind"],
        "ws_messages_by_kind": last["ws_messages_by_kind"],
        "dom": last["dom"],
    }


async def profile_all(
    servers: dict[bool, Server], pages: list[Target], visits: int, timeout_s: float
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {t.name: [] for t in pages}
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            for number in range(visits + 1):
                for target in pages:
                    try:
                        done = await asyncio.wait_for(
                            profiled_visit(browser, servers[target.trivial], target, timeout_s),
                            timeout_s + 10,
                        )
                    except (PlaywrightError, RuntimeError, TimeoutError) as exc:
                        print(f"  {target.name}: FAILED {exc}", file=sys.stderr, flush=True)
                        continue
                    if number:  # the first round warms up
                        out[target.name].append(done)
                    print(
                        f"  {'warm-up' if not number else f'visit {number}'} {target.name}: "
                        f"ready {done['ready_s']:.2f} s",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            await browser.close()
    return out


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def show(name: str, p: dict[str, Any]) -> str:
    busy = p["main_thread_s"]
    lines = [
        f"{name}: ready {_s(p['ready_s'])} = shell {_s(p['shell_s'])} + server script "
        f"{_s(p['server_s'])} + tail {_s(p['tail_s'])}; server CPU {_s(p['server_cpu_s'])}",
        f"  websocket {p['ws_bytes'] / 1024:.0f} KB: "
        + ", ".join(f"{k} {v / 1024:.1f} KB" for k, v in list(p["ws_bytes_by_kind"].items())[:6]),
        f"  DOM {p['dom']['dom']} elements (main {p['dom']['main']}, sidebar "
        f"{p['dom']['sidebar']}; {p['dom']['table_cells']} table cells): "
        + ", ".join(
            f"{k} {v['elements']}×/{v['dom']}"
            for k, v in sorted(p["dom"]["kinds"].items(), key=lambda kv: -kv[1]["dom"])[:6]
        ),
        "  tables (cells, * in a closed expander): "
        + ", ".join(f"{t['cells']}{'*' if t['closed'] else ''}" for t in p["dom"]["tables"]),
        f"  main thread busy {_s(busy['TaskDuration'])} (script {_s(busy['ScriptDuration'])}, "
        f"layout {_s(busy['LayoutDuration'])}, style {_s(busy['RecalcStyleDuration'])}); "
        f"JS heap {p['js_heap_mb']:.0f} MB",
        "  self time: "
        + ", ".join(f"{k} {_s(v)}" for k, v in p["self_time_s"].items() if k != "idle"),
    ]
    return "\n".join(lines)


# The websocket's messages that are not a page's elements or blocks.
NOT_ELEMENTS = {
    "new_session", "session_status_changed", "page_config_changed", "navigation",
    "page_info_changed", "script_finished", "add_block", "new_transient", "?",
}  # fmt: skip


def _elements(counts: dict[str, int]) -> int:
    return sum(n for kind, n in counts.items() if kind not in NOT_ELEMENTS)


def _kb(value: float) -> str:
    return f"{value / 1024:.1f} KB"


def _source(figures: dict[str, Any]) -> str:
    source = figures.get("source") or {}
    if not source.get("commit"):
        return ""
    dirty = source.get("dirty") or []
    return f" The dashboard was at commit `{source['commit'][:12]}`" + (
        f", with uncommitted changes to {', '.join(f'`{d}`' for d in dirty)}." if dirty else "."
    )


def profile_section(figures: dict[str, Any]) -> str:
    """The report's block: one column per page, medians of the visits."""
    pages: dict[str, dict[str, Any]] = figures["pages"]
    names = list(pages)
    started = figures["machine"]
    when = dt.datetime.fromisoformat(started["when"])
    lines = [
        f"## Where a page's time goes ({when:%-d %B %Y})",
        "",
        f"Measured on {when:%-d %B %Y at %H:%M} by `bench/page_profile.py --db` on the demo data "
        f"(3 boards), load average {started['load_average_1m']} at the start and "
        f"{figures['machine_after']['load_average_1m']} at the end: medians of "
        f"{min(p['visits'] for p in pages.values())} visits per page after a warm-up, each in "
        "a new browser context, with Chrome's sampling profiler on (it slows the page a "
        "little). The phases come from the browser's network events; the self time is the "
        "JavaScript profiler's, by the file the code runs in." + _source(figures),
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]

    def row(label: str, cell: Any) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(pages[n]) for n in names) + " |")

    row("ready", lambda p: _s(p["ready_s"]))
    row("… shell: navigation to the websocket's rerun request", lambda p: _s(p["shell_s"]))
    row("… the server's script run (rerun request to script_finished)", lambda p: _s(p["server_s"]))
    row("… tail: script_finished to ready (drawing)", lambda p: _s(p["tail_s"]))
    row("server CPU during the visit", lambda p: _s(p["server_cpu_s"]))
    row("websocket received", lambda p: _kb(p["ws_bytes"]))
    row(
        "… its largest parts",
        lambda p: ", ".join(f"{k} {_kb(v)}" for k, v in list(p["ws_bytes_by_kind"].items())[:3]),
    )
    row(
        "Streamlit elements / blocks sent",
        lambda p: (
            f"{_elements(p['ws_messages_by_kind'])} / "
            f"{p['ws_messages_by_kind'].get('add_block', 0)}"
        ),
    )
    row(
        "DOM elements (main area / sidebar)",
        lambda p: f"{p['dom']['dom']:,} ({p['dom']['main']:,} / {p['dom']['sidebar']:,})",
    )
    row(
        "… in st.table: tables, cells (in a closed expander)",
        lambda p: (
            f"{len(p['dom']['tables'])}, {p['dom']['table_cells']:,} "
            f"({sum(t['cells'] for t in p['dom']['tables'] if t['closed']):,})"
        ),
    )
    row("… SVG elements of the Plotly chart(s)", lambda p: f"{p['dom']['svg']:,}")
    row("main thread busy", lambda p: _s(p["main_thread_s"]["TaskDuration"]))
    row("… of which JavaScript", lambda p: _s(p["main_thread_s"]["ScriptDuration"]))
    row(
        "… of which layout and style",
        lambda p: _s(
            (p["main_thread_s"]["LayoutDuration"] or 0)
            + (p["main_thread_s"]["RecalcStyleDuration"] or 0)
        ),
    )
    groups: list[str] = []
    for p in pages.values():
        groups += [g for g in p["self_time_s"] if g not in groups and g != "idle"]
    for name in groups:
        row(f"self time: {name}", lambda p, g=name: _s(p["self_time_s"].get(g)))
    row("JavaScript heap", lambda p: f"{p['js_heap_mb']:.0f} MB")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the store (a file; it is copied first)")
    parser.add_argument("--visits", type=int, default=3, help="visits per page after a warm-up")
    parser.add_argument("--timeout", type=float, default=120, help="seconds a visit may take")
    parser.add_argument("--json-out", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--doc", type=Path, help="write the table to this report (docs/benchmarks.md's block)"
    )
    args = parser.parse_args(argv)
    stop_on_sigterm()
    before = machine()
    source = source_state()
    with tempfile.TemporaryDirectory(prefix="coprod-profile-") as tmp:
        folder = Path(tmp)
        store = copy_store(args.db, folder)
        overview, story, _meeting, register = targets(store)
        pages = [TRIVIAL, overview, story, register]
        with ExitStack() as stack:
            servers = {
                True: stack.enter_context(served(store, folder / "trivial", TRIVIAL_APP)),
                False: stack.enter_context(served(store, folder / "app", PROJECT_ROOT / "app.py")),
            }
            visits = run_async(profile_all(servers, pages, args.visits, args.timeout))
    figures: dict[str, Any] = {
        "bench": "page_profile",
        "db": args.db,
        "pages": {name: summarise(v) for name, v in visits.items() if v},
        "paths": {t.name: t.path for t in pages},
        "source": source,
        "machine": before,
        "machine_after": machine(),
    }
    for name, summary in figures["pages"].items():
        print(show(name, summary), file=sys.stderr)
    print(json.dumps(figures))
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n")
    if args.doc:
        write_block(args.doc, "profile", profile_section(figures), before="national")
    return 0


if __name__ == "__main__":
    sys.exit(main())
