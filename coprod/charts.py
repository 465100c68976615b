"""Plotly charts, each with its text alternative and its numbers as a table.

One palette for the whole app: Okabe–Ito, which stays distinct for the common kinds of colour
blindness. Colour never carries meaning alone: bars also carry patterns, lines markers, and
every chart is given an alt text that states its message and a table of its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from coprod.views import CATEGORY_LABELS, DECIDED_CATEGORIES, long_date, plural

OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
    "grey": "#767676",
}

CATEGORY_COLOURS = {
    "from_start": OKABE_ITO["bluish_green"],
    "formative": OKABE_ITO["blue"],
    "late": OKABE_ITO["orange"],
    "retrofitted": OKABE_ITO["vermillion"],
    "never": OKABE_ITO["black"],
    "unknown": OKABE_ITO["grey"],
    "pending": OKABE_ITO["sky_blue"],
    "not_applicable": OKABE_ITO["reddish_purple"],
}
# Patterns so that categories differ without colour too.
CATEGORY_PATTERNS = {
    "from_start": "",
    "formative": "/",
    "late": "x",
    "retrofitted": "\\",
    "never": ".",
    "unknown": "-",
    "pending": "+",
    "not_applicable": "|",
}

FONT = "Source Sans Pro, Arial, sans-serif"


@dataclass
class Chart:
    figure: go.Figure
    alt: str  # what the chart shows, as a sentence: its message, not its type
    summary: str  # the sentence printed under the chart
    table: pd.DataFrame  # its numbers


def _layout(fig: go.Figure, title: str, *, y_title: str, x_title: str) -> go.Figure:
    fig.update_layout(
        title={"text": title, "font": {"size": 18}},
        font={"family": FONT, "size": 14, "color": "#1f1f1f"},
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
        legend={"orientation": "h", "yanchor": "bottom", "y": -0.35, "x": 0},
        margin={"l": 60, "r": 20, "t": 60, "b": 90},
        xaxis={"title": x_title, "linecolor": "#1f1f1f", "gridcolor": "#d9d9d9"},
        yaxis={"title": y_title, "linecolor": "#1f1f1f", "gridcolor": "#d9d9d9"},
    )
    return fig


def category_by_quarter_chart(table: pd.DataFrame) -> Chart:
    """Stacked bars: decisions per quarter by when people were first involved."""
    fig = go.Figure()
    for category in DECIDED_CATEGORIES:
        if category not in table:
            continue
        fig.add_bar(
            name=CATEGORY_LABELS[category],
            x=table["quarter"],
            y=table[category],
            marker={
                "color": CATEGORY_COLOURS[category],
                "line": {"color": "#1f1f1f", "width": 1},
                "pattern": {"shape": CATEGORY_PATTERNS[category], "fgcolor": "#ffffff"},
            },
            hovertemplate="%{x}: %{y} " + CATEGORY_LABELS[category].lower() + "<extra></extra>",
        )
    fig.update_layout(barmode="stack")
    _layout(
        fig,
        "When people who use services were first involved, by quarter decided",
        y_title="Decisions",
        x_title="Quarter decided",
    )
    totals = {c: int(table[c].sum()) for c in DECIDED_CATEGORIES if c in table}
    decided = sum(totals.values())
    if decided == 0:
        message = "No decisions were taken in the period."
    else:
        quarters = len(table)
        early = totals.get("from_start", 0) + totals.get("formative", 0)
        message = (
            f"Over {plural(quarters, 'quarter')}, {early} of {decided} decisions involved people "
            f"who use services while options were open (from the start or formative), and "
            f"{totals.get('never', 0)} involved nobody."
        )
        trend = _trend_sentence(table)
        if trend:
            message += " " + trend
    renamed = table.rename(columns={c: CATEGORY_LABELS[c] for c in DECIDED_CATEGORIES})
    renamed = renamed.rename(columns={"quarter": "Quarter"})
    return Chart(fig, alt=message, summary=message, table=renamed)


def _trend_sentence(table: pd.DataFrame) -> str:
    if len(table) < 4:
        return ""
    half = len(table) // 2

    def share(rows: pd.DataFrame) -> float:
        total = int(rows[list(DECIDED_CATEGORIES)].to_numpy().sum())
        good = int(rows["from_start"].sum()) if total else 0
        return good / total if total else 0.0

    first, second = share(table.iloc[:half]), share(table.iloc[half:])
    if abs(second - first) < 0.05:
        return "The share involved from the start stayed about the same over the period."
    direction = "rose" if second > first else "fell"
    return (
        f"The share involved from the start {direction} from {round(first * 100)}% in the "
        f"first half of the period to {round(second * 100)}% in the second."
    )


def decision_timeline_chart(story: dict[str, Any]) -> Chart:
    """One decision's milestones and involvements on a time axis."""
    decision = story["decision"]
    fig = go.Figure()
    milestones = [
        ("Identified", decision["identified_on"], "circle"),
        ("Options fixed", decision["options_fixed_on"], "square"),
        ("Decided", decision["decided_on"], "diamond"),
    ]
    for label, when, symbol in milestones:
        if when is None:
            continue
        fig.add_scatter(
            x=[when],
            y=["Decision"],
            mode="markers+text",
            text=[label],
            textposition="top center",
            marker={"symbol": symbol, "size": 16, "color": OKABE_ITO["black"]},
            name=label,
            hovertemplate=f"{label}: %{{x|%-d %b %Y}}<extra></extra>",
        )
    rows = []
    for inv in story["involvements"]:
        counts = inv["counts"] == "Counts"
        end = inv["end_date"] or inv["start_date"]
        label = f"{inv['involvement_id']} ({inv['level'].replace('_', '-')})"
        fig.add_scatter(
            x=[inv["start_date"], end],
            y=[label, label],
            mode="lines+markers",
            line={
                "color": OKABE_ITO["bluish_green"] if counts else OKABE_ITO["vermillion"],
                "width": 8,
                "dash": "solid" if counts else "dot",
            },
            marker={"symbol": "circle" if counts else "x", "size": 12},
            name=("Counts: " if counts else "Does not count: ") + inv["involvement_id"],
            hovertemplate=f"{label}: %{{x|%-d %b %Y}}<extra></extra>",
        )
        rows.append(
            {
                "Involvement": inv["involvement_id"],
                "From": inv["start_date"],
                "To": inv["end_date"],
                "Level": inv["level"],
                "Counts?": inv["counts"],
            }
        )
    _layout(fig, "Timeline of the decision", y_title="", x_title="Date")
    fig.update_layout(showlegend=False, height=max(260, 80 + 50 * (len(rows) + 1)))
    first = story["verdict"].get("first_involved_on") if story["verdict"] else None
    message = (
        f"Identified on {long_date(decision['identified_on'])}, options fixed on "
        f"{long_date(decision['options_fixed_on'])}, decided on "
        f"{long_date(decision['decided_on'])}. "
    )
    message += (
        f"People who use services were first involved on {long_date(first)}."
        if first
        else "No involvement of people who use services counts."
    )
    table = pd.DataFrame(rows, columns=["Involvement", "From", "To", "Level", "Counts?"])
    return Chart(fig, alt=message, summary=message, table=table)
