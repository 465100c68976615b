"""The benchmarks' report: each tool rewrites only its own block of docs/benchmarks.md."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from floors import ratio_section, write_block
from goals import goals_section
from page_profile import group


def test_a_block_is_replaced_and_the_rest_kept(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\nWritten by hand.\n\n<!-- ratios -->\nold\n<!-- /ratios -->\n\n"
        "Conclusions by hand.\n\n<!-- national -->\nfigures\n<!-- /national -->\n"
    )
    write_block(doc, "ratios", "## New\n\nnew figures\n")
    text = doc.read_text()
    assert "old" not in text
    assert "<!-- ratios -->\n## New\n\nnew figures\n<!-- /ratios -->" in text
    for kept in ("Written by hand.", "Conclusions by hand.", "figures\n<!-- /national -->"):
        assert kept in text


def test_a_new_block_goes_before_the_one_named(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n<!-- national -->\nfigures\n<!-- /national -->\n")
    write_block(doc, "profile", "profile table", before="national")
    text = doc.read_text()
    assert text.index("profile table") < text.index("<!-- national -->")
    write_block(doc, "other", "at the end")
    assert doc.read_text().rstrip().endswith("<!-- /other -->")


def test_a_missing_report_is_started(tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "benchmarks.md"
    write_block(doc, "ratios", "figures")
    assert doc.read_text().startswith("# Benchmarks\n")


def test_profile_groups_code_by_its_file() -> None:
    base = "http://127.0.0.1:1/static/js/"
    assert group(base + "PlotlyChart.D9Z0_fxz.js", "f") == "plotly.js"
    assert group(base + "StreamlitMarkdown.oOG-xoxw.js", "c").startswith("Markdown")
    assert group(base + "react-dom.Dzbslgj4.js", "x") == "React"
    assert group(base + "index.DormvYxC.js", "x") == "other Streamlit code"
    assert group("", "(garbage collector)") == "garbage collector"
    assert group("", "(program)") == "browser's own work"


def test_the_ratio_section_says_which_goals_are_met() -> None:
    machine = {"when": "2026-12-03T09:00:00", "cpus": 2, "load_average_1m": 3.0}

    def entry(median: float, floor: float, goal: float, failed: int = 0) -> dict[str, Any]:
        ratio = round(median / floor, 2)
        return {"median_s": median, "floor_s": floor, "ratio": ratio, "best_ratio": ratio,
                "goal": goal, "failed": failed}  # fmt: skip

    pages: dict[int, dict[str, Any] | str] = {
        3: {
            "rounds": 7,
            "starts": 3,
            "pages": {
                "Overview": entry(2.8, 2.0, 1.5),
                "Decisions": entry(3.2, 2.0, 1.5),
                "Meeting mode": entry(2.0, 2.0, 1.5, failed=2),
            },
            "first": entry(7.0, 4.0, 3.0),
            "source": {"commit": "abc", "dirty": []},
        },
        31: "did not finish within 3600 s",
    }
    cli = {31: {"after_write": {"rules_s": 0.5, "floor_s": 0.05, "ratio": 10.0}}}
    text = ratio_section(pages, cli, command="make bench-quick", started=machine, ended=machine)
    assert "| Overview ≤ 1.5× | 2.80 s | 2.00 s | 1.40× | 1.40× | met |" in text
    assert "| Decisions ≤ 1.5× | 3.20 s | 2.00 s | 1.60× | 1.60× | **not met** |" in text
    assert "| 1.00× | 1.00× | **2 visit(s) failed** |" in text
    assert "| first Overview after the server starts ≤ 3× | 7.00 s | 4.00 s | 1.75× |" in text
    assert "Not measured: did not finish within 3600 s" in text
    assert "10.0× | **not met** |" in text
    assert "load average 3.0" in text


# --- make bench's block: every goal from one run ---------------------------------------------

MACHINE = {"when": "2026-12-03T09:00:00", "cpus": 2, "load_average_1m": 3.0}
MACHINE_AFTER = {"when": "2026-12-03T09:24:00", "cpus": 2, "load_average_1m": 2.5}


def _page(median: float, floor: float, goal: float, failed: int = 0) -> dict[str, Any]:
    ratio = round(median / floor, 2)
    return {"median_s": median, "floor_s": floor, "ratio": ratio, "best_ratio": ratio,
            "goal": goal, "failed": failed}  # fmt: skip


def _cli(check: float, rules: float, imported: float, peak_mb: float) -> dict[str, Any]:
    """Figures as bench/floors.py measures them: floors of 1 s, 0.1 s and 2 s."""
    return {
        "check_json": {"check_s": check, "floor_s": 1.0, "ratio": check / 1.0},
        "after_write": {"rules_s": rules, "floor_s": 0.1, "ratio": rules / 0.1},
        "import": {
            "seconds": imported,
            "rows": 1_500_000,
            "peak_mb": peak_mb,
            "floor_s": 2.0,
            "ratio": imported / 2.0,
        },
    }


def _load(errors: int = 0, timeouts: int = 0, ok: bool = True) -> dict[str, Any]:
    ready = {"count": 100 - errors, "median": 4.0, "p95": 9.5, "max": 12.0, "min": 2.0}
    return {
        "sessions": 10,
        "ramp_up_s": 5.0,
        "warm_up": True,
        "loads": 100,
        "errors": errors,
        "timeouts": timeouts,
        "session_failures": [],
        "ready_s": ready,
        "during_import": {"loads": 30, "errors": 0, "ready_s": ready},
        "import": {"ok": ok, "duration_s": 40.0, "error": None if ok else "commit: timeout"},
        "error_messages": ["overview: timeout after 60.0 s"] if timeouts else [],
        "cpu_s": {"server": 38.0},
        "server_peak_rss_mb": 600.0,
        "server_log_tracebacks": 0,
    }


def _goal_figures(**changes: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "command": "make bench",
        "machine": MACHINE,
        "machine_after": MACHINE_AFTER,
        "source": {"commit": "0123456789abcdef", "dirty": []},
        "pages": {
            "rounds": 7,
            "starts": 3,
            "pages": {
                "Overview": _page(2.8, 2.0, 1.5),
                "Decision story": _page(3.2, 2.0, 1.5),
                "Meeting mode": _page(2.0, 2.0, 1.5, failed=2),
                "Decisions": _page(2.4, 2.0, 1.5),
            },
            "first": _page(7.0, 4.0, 3.0),
            "errors": ["Meeting mode, round 3: timeout"],
        },
        # As WORK/goals.json holds them: the sizes are strings once written as JSON.
        "cli": {"200": _cli(3.9, 0.35, 24.0, 900.0), "1000": _cli(20.0, 1.6, 140.0, 1100.0)},
        "load_boards": 31,
        "load": _load(),
    }
    figures.update(changes)
    return figures


def _row(text: str, starts: str) -> str:
    """The one table row beginning with ``starts``."""
    found = [line for line in text.splitlines() if line.startswith(f"| {starts}")]
    assert len(found) == 1, (starts, found)
    return found[0]


def test_the_goals_block_judges_every_goal_of_one_run() -> None:
    text = goals_section(_goal_figures())
    assert text.startswith("## Every speed goal in one run (3 December 2026)\n")
    assert "from 09:00 to 09:24 by `make bench`, 2 cores, load average 3.0" in text
    assert "commit `0123456789ab`." in text
    # The pages against the trivial page.
    assert _row(text, "Overview |") == "| Overview | 2.80 s | 2.00 s | 1.40× | ≤ 1.5× | met |"
    assert _row(text, "Decision story") == (
        "| Decision story | 3.20 s | 2.00 s | 1.60× | ≤ 1.5× | **not met** |"
    )
    assert _row(text, "Meeting mode").endswith("| ≤ 1.5× | **2 visit(s) failed** |")
    assert _row(text, "first Overview after the server starts") == (
        "| first Overview after the server starts | 7.00 s | 4.00 s | 1.75× | ≤ 3× | met |"
    )
    assert "- 1 page visit(s) failed: Meeting mode, round 3: timeout" in text
    # The command line at 200 boards.
    assert "| **The command line, 200 boards (`coprod demo --boards 200`)** |" in text
    assert _row(text, "`coprod check --format json`, whole process").endswith(
        "| 3.90 s | 1.00 s | 3.90× | ≤ 4× | met |"
    )
    assert _row(text, "rules after a write (what").endswith(
        "| 0.35 s | 0.10 s | 3.50× | ≤ 3× | **not met** |"
    )
    assert _row(text, "import of the demo's CSV files (1,500,000 rows)").endswith(
        "| 24.00 s | 2.00 s | 12.0× | ≤ 10× | **not met** |"
    )
    assert "| the import's peak memory | 900 MB |  |  | < 1 GB | met |" in text
    # 1000 boards against 200, figure by figure.
    assert "| **1000 boards against 200 boards (the figures above, at both sizes)** |" in text
    assert _row(text, "`coprod check --format json` |") == (
        "| `coprod check --format json` | 20.00 s | 3.90 s at 200 | 5.13× | ≤ 5.5× | met |"
    )
    assert _row(text, "rules after a write |").endswith("| 4.57× | ≤ 5.5× | met |")
    assert _row(text, "import |") == (
        "| import | 140.00 s | 24.00 s at 200 | 5.83× | ≤ 5.5× | **not met** |"
    )
    assert "| the import's peak memory | 1,100 MB | 900 MB at 200 | 1.22× | ≤ 5.5× | met |" in text
    assert "- At 1000 boards, import / `read_csv`: 70.0×." in text
    # The load test.
    assert "| **10 browser sessions on the Overview and Decisions while an import runs" in text
    assert _row(text, "page loads with an error") == (
        "| page loads with an error (a timeout, an exception, an error message) "
        "| 0 of 100 loads |  |  | 0 | met |"
    )
    assert _row(text, "of which timeouts") == "| of which timeouts | 0 |  |  | 0 | met |"
    assert _row(text, "the import itself").endswith("| committed |  |  | committed | met |")
    assert "median 4.00 s, 95th percentile 9.50 s, slowest 12.00 s" in text
    assert (
        "- The sessions started over 5 s, after one visit of each page warmed the server." in text
    )
    # 5 page goals, 4 at 200 boards, 4 of scale, 3 of load: 11 met.
    assert "**11 of 16 goals met.**" in text


def test_the_goals_block_says_what_was_not_measured() -> None:
    figures = _goal_figures(
        pages="did not finish within 1800 s",
        cli={"200": _cli(3.0, 0.2, 15.0, 500.0), "1000": "the import could not be measured"},
        load=_load(errors=3, timeouts=2, ok=False),
    )
    figures["source_after"] = {"commit": "fedcba9876543210", "dirty": []}
    text = goals_section(figures)
    assert "commit `0123456789ab` at the start and `fedcba987654` at the end." in text
    assert _row(text, "Overview |").endswith("| — | — | — | ≤ 1.5× | **not measured** |")
    assert "- Pages not measured: did not finish within 1800 s." in text
    assert _row(text, "import |").endswith("| — | 15.00 s at 200 | — | ≤ 5.5× | **not measured** |")
    assert "- The command line at 1000 boards: the import could not be measured." in text
    assert _row(text, "page loads with an error").endswith(
        "| 3 of 100 loads |  |  | 0 | **not met** |"
    )
    assert _row(text, "of which timeouts") == "| of which timeouts | 2 |  |  | 0 | **not met** |"
    assert _row(text, "the import itself").endswith("| failed |  |  | committed | **not met** |")
    assert "(commit: timeout)" in text
    assert "- Errors seen: overview: timeout after 60.0 s." in text
    assert "**4 of 16 goals met.**" in text


def test_the_goals_block_goes_first_and_leaves_the_others(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\nBy hand.\n\n<!-- ratios -->\nquick\n<!-- /ratios -->\n\n"
        "<!-- national -->\nhours\n<!-- /national -->\n"
    )
    write_block(doc, "goals", goals_section(_goal_figures()), before="ratios")
    write_block(doc, "goals", goals_section(_goal_figures(load="not run")), before="ratios")
    text = doc.read_text()
    assert text.count("<!-- goals -->") == 1
    assert text.index("By hand.") < text.index("<!-- goals -->") < text.index("<!-- ratios -->")
    assert "- The load test was not measured: not run." in text
    assert "quick\n<!-- /ratios -->" in text
    assert "hours\n<!-- /national -->" in text
