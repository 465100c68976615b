"""The benchmarks' report: each tool rewrites only its own block of docs/benchmarks.md."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from floors import ratio_section, write_block
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
