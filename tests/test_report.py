"""The board report: a PDF with real text, checked by turning it back into text."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from coprod.demo import DEMO_AS_OF
from coprod.interchange import import_source
from coprod.report import ReportError, board_report
from coprod.rules import run_check
from coprod.settings import DEMO_DIR
from coprod.store import Change, Store

BOARD = "demo-glenmoray-ijb"
START, END = dt.date(2025, 11, 22), DEMO_AS_OF


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "demo.duckdb"
    with Store(path) as store:
        import_source(store, DEMO_DIR, Change("test", "import"))
    return path


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


def test_the_report_is_real_text_with_the_headline_and_findings(demo: Path) -> None:
    with Store(demo) as store:
        pdf = board_report(store, BOARD, START, END, as_of=DEMO_AS_OF)
        result = run_check(store, DEMO_AS_OF, boards=[BOARD])
    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    assert "Co-production assurance report: Glenmoray Integration Joint Board (demo)" in text
    assert "Decisions taken between 22 November 2025 and 21 November 2026" in text
    assert "Demo data" in text
    assert "Figure 1. Decisions taken in each quarter" in text
    taken = [
        d
        for d in result.decisions
        if d["decided"]
        and START <= d["decided_on"] <= END
        and d["first_involvement"] != "not_applicable"
    ]
    assert f"Of {len(taken)} decisions taken between" in text
    serious = [
        f
        for f in result.findings
        if f["severity"] == "critical" and START <= f["period_date"] <= END
    ]
    assert serious, "the demo board has critical findings in the last year"
    for finding in serious:
        assert re.sub(r"\s+", " ", finding["message"]) in text


def test_the_report_carries_its_title_and_language(demo: Path) -> None:
    with Store(demo) as store:
        pdf = board_report(store, BOARD, START, END, as_of=DEMO_AS_OF)
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None
    assert (
        reader.metadata.title
        == "Co-production assurance report: Glenmoray Integration Joint Board (demo)"
    )
    assert b"/Lang" in pdf


def test_an_unknown_board_or_a_backwards_period_is_explained(demo: Path) -> None:
    with Store(demo) as store:
        with pytest.raises(ReportError, match="no board with the id 'nope'"):
            board_report(store, "nope", START, END)
        with pytest.raises(ReportError, match="starts after it ends"):
            board_report(store, BOARD, END, START)


def test_the_report_page_offers_the_pdf(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("COPROD_DB", str(demo))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    at.session_state["as_of"] = DEMO_AS_OF
    at.switch_page("pages/reports.py").run()
    assert not at.exception
    at.selectbox(key="report_board").set_value(BOARD)
    at.button(key="prepare_report").click().run()
    assert not at.exception
    assert "Download the report (PDF)" in [
        getattr(b, "label", None) for b in at.get("download_button")
    ]


def test_coprod_report_writes_the_pdf(demo: Path, tmp_path: Path) -> None:
    import shutil

    from coprod.cli import main

    db = tmp_path / "copy.duckdb"
    shutil.copy(demo, db)
    out = tmp_path / "out" / "report.pdf"
    code = main(
        [
            "report",
            "--db",
            str(db),
            "--board",
            BOARD,
            "--from",
            "2025-11-22",
            "--to",
            "2026-11-21",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert "Co-production assurance report" in _text(out.read_bytes())
    assert (
        main(
            [
                "report",
                "--db",
                str(db),
                "--board",
                "nope",
                "--from",
                "2025-11-22",
                "--to",
                "2026-11-21",
                "--out",
                str(out),
            ]
        )
        == 1
    )
    with pytest.raises(SystemExit) as usage:
        main(
            [
                "report",
                "--db",
                str(db),
                "--board",
                BOARD,
                "--from",
                "2026-11-22",
                "--to",
                "2025-11-21",
                "--out",
                str(out),
            ]
        )
    assert usage.value.code == 2


def test_the_report_page_offers_the_evidence_pack(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("COPROD_DB", str(demo))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    at.session_state["as_of"] = DEMO_AS_OF
    at.switch_page("pages/reports.py").run()
    at.selectbox(key="report_board").set_value(BOARD)
    at.button(key="prepare_evidence").click().run()
    assert not at.exception
    buttons = [
        b
        for b in at.get("download_button")
        if getattr(b, "label", None) == "Download the evidence pack (zip)"
    ]
    assert len(buttons) == 1


def test_the_report_summarises_representation_and_health_checks(demo: Path) -> None:
    with Store(demo) as store:
        text = _text(board_report(store, BOARD, dt.date(2023, 1, 1), END, as_of=DEMO_AS_OF))
    assert "4. Who was at the table" in text
    assert "A lived-experience voice was at the table at" in text
    assert "Figure 2. The share of the board's meetings in each quarter" in text
    assert "5. Co-production health-checks" in text
    assert "Latest health-check: Glenmoray Integration Joint Board (demo) on" in text
    assert "Groups of fewer than 5 respondents are never shown" in text
