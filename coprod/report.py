"""The board report: a co-production assurance report for a board's papers, as a PDF.

Real text throughout (searchable, readable by a screen reader), with each chart drawn as a
figure with a caption that says what it shows, and its numbers in a table beside it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from coprod import healthcheck as hc
from coprod import representation as rep
from coprod.charts import CATEGORY_COLOURS
from coprod.errors import CoprodError
from coprod.rules import RULES_BY_CODE, CheckResult, run_check
from coprod.settings import DEFAULT_THRESHOLDS, Thresholds
from coprod.store import Store, current_user
from coprod.views import (
    CATEGORY_LABELS,
    DECIDED_CATEGORIES,
    Period,
    category_by_quarter,
    decisions_frame,
    findings_frame,
    headline,
    in_period,
    long_date,
    plural,
)


class ReportError(CoprodError, ValueError):
    """The report cannot be made; the message says why in one sentence."""


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle(
        "body", parent=base["BodyText"], fontSize=11, leading=15, alignment=TA_LEFT
    )
    return {
        "title": ParagraphStyle(
            "title", parent=base["Title"], fontSize=20, leading=24, alignment=TA_LEFT
        ),
        "h1": ParagraphStyle(
            "h1", parent=base["Heading1"], fontSize=15, leading=19, spaceBefore=10
        ),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontSize=12.5, leading=16),
        "body": body,
        "caption": ParagraphStyle(
            "caption", parent=body, fontSize=10, leading=13, textColor=colors.HexColor("#333333")
        ),
        "cell": ParagraphStyle("cell", parent=body, fontSize=9, leading=11.5),
    }


def _text(value: Any) -> str:
    """Escape text for reportlab's mini-markup: user text is never markup."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(
    rows: Sequence[Sequence[Any]],
    styles: dict[str, ParagraphStyle],
    widths: Sequence[float] | None = None,
) -> Table:
    cells = [[Paragraph(_text(c), styles["cell"]) for c in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#8c8c8c")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _category_chart(table: Any) -> Drawing:
    """Stacked bars of decisions per quarter by first-involvement category."""
    drawing = Drawing(170 * mm, 80 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y = 15 * mm, 22 * mm
    chart.width, chart.height = 150 * mm, 52 * mm
    categories = [c for c in DECIDED_CATEGORIES if c in table]
    chart.data = [[int(v) for v in table[c]] for c in categories]
    chart.categoryAxis.categoryNames = [str(q) for q in table["quarter"]]
    chart.categoryAxis.labels.angle = 45
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.categoryAxis.style = "stacked"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 8
    for index, category in enumerate(categories):
        chart.bars[index].fillColor = colors.HexColor(CATEGORY_COLOURS[category])
        chart.bars[index].strokeColor = colors.black
        chart.bars[index].strokeWidth = 0.4
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = 15 * mm, 6 * mm
    legend.fontSize = 8
    legend.columnMaximum = 1
    legend.deltax = 28 * mm
    legend.alignment = "right"
    legend.colorNamePairs = [
        (colors.HexColor(CATEGORY_COLOURS[c]), CATEGORY_LABELS[c]) for c in categories
    ]
    drawing.add(legend)
    drawing.add(String(2 * mm, 76 * mm, "Decisions per quarter", fontSize=8))
    return drawing


def board_report(
    store: Store,
    board_id: str,
    start: dt.date,
    end: dt.date,
    *,
    as_of: dt.date | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> bytes:
    """The PDF for one board and period, judged as of ``as_of`` (default: the period's end)."""
    boards = store.query("SELECT name, kind, area FROM board WHERE board_id = ?", [board_id])
    if not boards:
        raise ReportError(f"There is no board with the id '{board_id}'.")
    if start > end:
        raise ReportError("The period starts after it ends.")
    board = boards[0]
    as_of = as_of or min(end, dt.date.today())
    period = Period(start, end)
    result = run_check(store, as_of, boards=[board_id], thresholds=thresholds)
    decisions = in_period(decisions_frame(result), period)
    findings = in_period(findings_frame(result), period)
    counts = headline(decisions)
    styles = _styles()

    story: list[Any] = [
        Paragraph(f"Co-production assurance report: {_text(board['name'])}", styles["title"]),
        Paragraph(
            f"Decisions taken {_text(period.describe())}, judged as of {long_date(as_of)}. "
            f"Prepared on {long_date(dt.date.today())} by {_text(current_user())} with coprod.",
            styles["body"],
        ),
    ]
    if board_id.startswith("demo-"):
        story.append(
            Paragraph(
                "<b>Demo data:</b> the board, people and decisions are made up.", styles["body"]
            )
        )
    story += [Spacer(1, 4 * mm), Paragraph("1. Were people involved from the start?", styles["h1"])]
    story.append(Paragraph(_text(counts.sentence(period)), styles["body"]))
    story.append(Spacer(1, 2 * mm))
    story.append(
        _table(
            [["When people who use services were first involved", "Decisions"]]
            + [[CATEGORY_LABELS[c], counts.taken[c]] for c in DECIDED_CATEGORIES]
            + [
                ["Still to be decided, nobody involved yet", counts.pending],
                ["Still to be decided, people involved so far", counts.open_involved],
                ["Marked as not affecting people who use services", counts.not_applicable],
            ],
            styles,
            widths=[120 * mm, 30 * mm],
        )
    )
    quarters = category_by_quarter(decisions)
    if len(quarters):
        decided = sum(int(quarters[c].sum()) for c in DECIDED_CATEGORIES)
        early = int(quarters["from_start"].sum() + quarters["formative"].sum())
        caption = (
            f"Figure 1. Decisions taken in each quarter, by when people who use services were "
            f"first involved. {early} of {decided} decisions involved people while the options "
            f"were still open; {int(quarters['never'].sum())} involved nobody. The numbers are "
            "in Table 2."
        )
        story.append(
            KeepTogether(
                [
                    Spacer(1, 3 * mm),
                    _category_chart(quarters),
                    Paragraph(caption, styles["caption"]),
                ]
            )
        )
        numbers = _table(
            [["Quarter", *(CATEGORY_LABELS[c] for c in DECIDED_CATEGORIES)]]
            + [
                [row["quarter"], *(int(row[c]) for c in DECIDED_CATEGORIES)]
                for _, row in quarters.iterrows()
            ],
            styles,
        )
        story.append(
            KeepTogether(
                [Paragraph("Table 2. The numbers in Figure 1.", styles["caption"]), numbers]
            )
        )

    suspects = decisions[decisions["tick_box_suspect"]] if len(decisions) else decisions
    story.append(Paragraph("2. Tick-box consultation", styles["h1"]))
    story.append(
        Paragraph(
            f"{plural(len(suspects), 'decision')} in the period "
            f"{'looks' if len(suspects) == 1 else 'look'} like a tick-box exercise: the "
            "involvement was disputed, or three or more warning signs were recorded (one-way "
            "consultation, a claim of more involvement than happened, no feedback, no record "
            "of influence, too short a consultation, no lived experience, no support to take "
            "part).",
            styles["body"],
        )
    )
    if len(suspects):
        story.append(
            _table(
                [["Decision", "Title", "Signals"]]
                + [
                    [
                        row["decision_id"],
                        row["title"],
                        ", ".join(c for c in row["findings"] if c.startswith("TB-")),
                    ]
                    for _, row in suspects.iterrows()
                ],
                styles,
                widths=[35 * mm, 70 * mm, 65 * mm],
            )
        )

    serious = (
        findings[findings["severity"].isin(["critical", "major"])] if len(findings) else findings
    )
    story.append(Paragraph("3. Critical and major findings", styles["h1"]))
    critical = int((serious["severity"] == "critical").sum()) if len(serious) else 0
    story.append(
        Paragraph(
            f"{plural(critical, 'critical finding')} and "
            f"{plural(len(serious) - critical, 'major finding')} in the period. Each is listed "
            "with the reason and the principle it rests on.",
            styles["body"],
        )
    )
    if len(serious):
        story.append(
            _table(
                [["Severity", "Finding", "Concerns", "Reason"]]
                + [
                    [
                        row["severity"],
                        f"{RULES_BY_CODE[row['code']].title} ({row['code']})",
                        _concerns(row),
                        row["message"],
                    ]
                    for _, row in serious.iterrows()
                ],
                styles,
                widths=[18 * mm, 42 * mm, 32 * mm, 78 * mm],
            )
        )
        principles = sorted({row["code"] for _, row in serious.iterrows()})
        story.append(Spacer(1, 2 * mm))
        story.append(Paragraph("The principles behind these findings", styles["h2"]))
        for code in principles:
            rule = RULES_BY_CODE[code]
            story.append(
                Paragraph(
                    f"<b>{_text(rule.title)} ({code}).</b> {_text(rule.principle)} "
                    f"Source: {_text(rule.source)}.",
                    styles["body"],
                )
            )

    story += _extra_sections(store, board_id, str(board["name"]), period, as_of, result, styles)
    story.append(Paragraph("How these figures were made", styles["h1"]))
    story.append(
        Paragraph(
            "An involvement counts when it was with people who use services, carers or a "
            "Disabled People's Organisation, at consult level or higher, not disputed, and had "
            "started by the date judged as of. Thresholds in force: "
            + "; ".join(f"{name} = {value}" for name, value, _ in thresholds.describe())
            + ".",
            styles["body"],
        )
    )

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"Co-production assurance report: {board['name']}",
        author="coprod",
        subject=f"Decisions taken {period.describe()}",
        lang="en-GB",
        invariant=True,
    )
    document.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return buffer.getvalue()


def _voice_chart(quarters: Any) -> Drawing:
    """Bars: the share of meetings with a lived-experience voice, per quarter."""
    drawing = Drawing(170 * mm, 62 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y = 15 * mm, 16 * mm
    chart.width, chart.height = 150 * mm, 40 * mm
    shares = [
        0 if v is None or v != v else round(100 * float(v)) for v in quarters["meeting_share"]
    ]
    chart.data = [shares]
    chart.categoryAxis.categoryNames = [str(q) for q in quarters["quarter"]]
    chart.categoryAxis.labels.angle = 45
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = 100
    chart.valueAxis.labels.fontSize = 8
    chart.bars[0].fillColor = colors.HexColor("#0072B2")
    chart.bars[0].strokeColor = colors.black
    drawing.add(chart)
    drawing.add(String(2 * mm, 58 * mm, "% of meetings with a lived-experience voice", fontSize=8))
    return drawing


def _extra_sections(
    store: Store,
    board_id: str,
    board_name: str,
    period: Period,
    as_of: dt.date,
    result: CheckResult,
    styles: dict[str, ParagraphStyle],
) -> list[Any]:
    """Representation and health-check summaries (groups under 5 are never counted)."""
    story: list[Any] = [Paragraph("4. Who was at the table", styles["h1"])]
    meetings = rep.meetings_at_the_table(store, [board_id], period, as_of)
    decisions = rep.decision_voice(store, result, period)
    story.append(
        Paragraph(_text(rep.voice_headline(meetings, decisions).sentence(period)), styles["body"])
    )
    quarters = rep.voice_by_quarter(meetings, decisions)
    if len(quarters):
        with_voice = int(quarters["meetings_with_voice"].sum())
        held = int(quarters["meetings"].sum())
        story.append(
            KeepTogether(
                [
                    _voice_chart(quarters),
                    Paragraph(
                        f"Figure 2. The share of the board's meetings in each quarter at which "
                        f"someone with lived experience was at the table: {with_voice} of "
                        f"{plural(held, 'meeting')} in all. The numbers are in Table 3.",
                        styles["caption"],
                    ),
                ]
            )
        )
        story.append(
            KeepTogether(
                [
                    Paragraph("Table 3. The numbers in Figure 2.", styles["caption"]),
                    _table(
                        [
                            [
                                "Quarter",
                                "Meetings",
                                "With a lived-experience voice",
                                "Decisions",
                                "With a lived-experience voice",
                            ]
                        ]
                        + [
                            [
                                row["quarter"],
                                int(row["meetings"]),
                                int(row["meetings_with_voice"]),
                                int(row["decisions"]),
                                int(row["decisions_with_voice"]),
                            ]
                            for _, row in quarters.iterrows()
                        ],
                        styles,
                    ),
                ]
            )
        )
    gaps = rep.composition_gaps(result, period)
    if len(gaps):
        for _, gap in gaps.iterrows():
            sentence = rep.composition_gap_sentence(gap, lambda _board: board_name)
            story.append(Paragraph(_text(sentence), styles["body"]))
    else:
        story.append(
            Paragraph(
                "The board held every member the law requires at each meeting.", styles["body"]
            )
        )

    story.append(Paragraph("5. Co-production health-checks", styles["h1"]))
    latest = hc.latest_checks(store, [board_id], result)
    story.append(
        Paragraph(
            _text(hc.headline_sentence(latest, result, lambda _board: board_name, period=period)),
            styles["body"],
        )
    )
    story.append(
        Paragraph(
            "Groups of fewer than 5 respondents are never shown as an average or a count, to "
            "protect people's privacy.",
            styles["caption"],
        )
    )
    return story


def _concerns(row: Any) -> str:
    """The decision, meeting or health-check item a finding is about."""
    for column in ("decision_id", "meeting_id", "item"):
        value = row[column]
        if isinstance(value, str) and value:
            return value
    return str(row["board_id"])


def _footer(canvas: Any, document: Any) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 8)
    canvas.drawString(18 * mm, 10 * mm, document.title)
    canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"Page {document.page}")
    canvas.restoreState()
