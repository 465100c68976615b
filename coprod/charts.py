"""Plotly charts, each with its text alternative and its numbers as a table.

One palette for the whole app: Okabe–Ito, which stays distinct for the common kinds of colour
blindness. Colour never carries meaning alone: bars also carry patterns, lines markers, and
every chart is given an alt text that states its message and a table of its numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from coprod.representation import ROLE_LABELS
from coprod.views import CATEGORY_LABELS, DECIDED_CATEGORIES, long_date, plural
from coprod.vocabulary import word

if TYPE_CHECKING:
    from coprod.story import DecisionStory

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
    "late": "#A36A00",  # Okabe–Ito orange darkened to 4.5:1 on white
    "retrofitted": OKABE_ITO["vermillion"],
    "never": OKABE_ITO["black"],
    "unknown": OKABE_ITO["grey"],
    "pending": "#2B7BA8",  # Okabe–Ito sky blue darkened to 4.6:1 on white
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


def figure_text(text: str) -> str:
    """Text people typed, made safe for a Plotly figure (titles, axis labels, hover text),
    which reads ``<b>``, ``<i>``, ``<a href>`` and ``<br>`` in it as formatting: ``&``, ``<`` and
    ``>`` become entities, which Plotly shows as the characters themselves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
                "pattern": {
                    "shape": CATEGORY_PATTERNS[category],
                    "fgcolor": "#ffffff",
                    "bgcolor": CATEGORY_COLOURS[category],
                },
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


def decision_timeline_chart(story: DecisionStory) -> Chart:
    """One decision's milestones and involvements on a time axis."""
    fig = go.Figure()
    milestones = [
        ("Identified", story.identified_on, "circle"),
        ("Options fixed", story.options_fixed_on, "square"),
        ("Decided", story.decided_on, "diamond"),
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
    for inv in story.involvements:
        end = inv.end_date or inv.start_date
        label = f"{inv.involvement_id} ({word(inv.level)})"
        fig.add_scatter(
            x=[inv.start_date, end],
            y=[label, label],
            mode="lines+markers",
            line={
                "color": OKABE_ITO["bluish_green"] if inv.counts else OKABE_ITO["vermillion"],
                "width": 8,
                "dash": "solid" if inv.counts else "dot",
            },
            marker={"symbol": "circle" if inv.counts else "x", "size": 12},
            name=("Counts: " if inv.counts else "Does not count: ") + inv.involvement_id,
            hovertemplate=f"{label}: %{{x|%-d %b %Y}}<extra></extra>",
        )
        rows.append(
            {
                "Involvement": inv.involvement_id,
                "From": inv.start_date,
                "To": inv.end_date,
                "Level": inv.level,
                "Counts?": inv.reason,
            }
        )
    _layout(fig, "Timeline of the decision", y_title="", x_title="Date")
    fig.update_layout(showlegend=False, height=max(260, 80 + 50 * (len(rows) + 1)))
    first = story.verdict.first_involved_on
    message = (
        f"Identified on {long_date(story.identified_on)}, options fixed on "
        f"{long_date(story.options_fixed_on)}, decided on "
        f"{long_date(story.decided_on)}. "
    )
    message += (
        f"People who use services were first involved on {long_date(first)}."
        if first
        else "No involvement of people who use services counts."
    )
    table = pd.DataFrame(rows, columns=["Involvement", "From", "To", "Level", "Counts?"])
    return Chart(fig, alt=message, summary=message, table=table)


# --- representation and health-check charts -------------------------------------------------

# Colours for lines and marks that keep at least 3:1 contrast against the white background
# (WCAG 1.4.11): orange, sky blue and yellow do not, so they are left to fills with outlines.
LINE_COLOURS = (
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["black"],
    OKABE_ITO["grey"],
)
LINE_SYMBOLS = (
    "circle",
    "square",
    "diamond",
    "triangle-up",
    "x",
    "cross",
    "star",
    "hexagon",
    "triangle-down",
    "pentagon",
)
# Five dashes against six colours: colour and dash together repeat only after 30 lines.
LINE_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
OUTLINE = "#1f1f1f"


def _line_style(index: int) -> dict[str, Any]:
    """The index-th line's colour, marker and dash: no two of the first ten lines share all
    three, so lines differ without colour."""
    return {
        "line": {
            "color": LINE_COLOURS[index % len(LINE_COLOURS)],
            "width": 2.5,
            "dash": LINE_DASHES[index % len(LINE_DASHES)],
        },
        "marker": {
            "color": LINE_COLOURS[index % len(LINE_COLOURS)],
            "symbol": LINE_SYMBOLS[index % len(LINE_SYMBOLS)],
            "size": 10,
            "line": {"color": OUTLINE, "width": 1},
        },
    }


def _absent(value: Any) -> bool:
    """A value that is not given: None (suppressed, or nothing to show) or NaN."""
    return value is None or bool(pd.isna(value))


def _share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "none held"


def voice_share_chart(by_quarter: pd.DataFrame) -> Chart:
    """Lines with markers: the share of meetings, and of decisions, with a lived-experience
    voice at the table, by quarter (``coprod.representation.voice_by_quarter``)."""
    fig = go.Figure()
    series = (
        ("meeting", "meetings", "meetings_with_voice", "meeting_share", "Meetings", 0),
        ("decision", "decisions", "decisions_with_voice", "decision_share", "Decisions", 1),
    )
    for noun, total, voiced, share, name, style in series:
        y = [None if _absent(s) else round(100 * s, 1) for s in by_quarter[share]]
        fig.add_scatter(
            x=list(by_quarter["quarter"]),
            y=y,
            mode="lines+markers",
            name=name,
            connectgaps=False,
            customdata=list(zip(by_quarter[voiced], by_quarter[total], strict=True)),
            hovertemplate=(
                "%{x}: a lived-experience voice at %{customdata[0]} of %{customdata[1]} "
                f"{noun}s (%{{y:.0f}}%)<extra></extra>"
            ),
            **_line_style(style),
        )
    _layout(
        fig,
        "Meetings and decisions with a lived-experience voice at the table, by quarter",
        y_title="Share with a lived-experience voice (%)",
        x_title="Quarter",
    )
    fig.update_yaxes(range=[0, 105], ticksuffix="%")
    fig.update_xaxes(type="category")
    meetings, with_voice = (
        int(by_quarter["meetings"].sum()),
        int(by_quarter["meetings_with_voice"].sum()),
    )
    decisions, decided_with_voice = (
        int(by_quarter["decisions"].sum()),
        int(by_quarter["decisions_with_voice"].sum()),
    )
    if meetings == 0:
        message = "No meetings were held in the period, so there is nothing to show."
    else:
        message = (
            f"Over {plural(len(by_quarter), 'quarter')}, a lived-experience voice was at the table "
            f"at {with_voice} of {plural(meetings, 'meeting')} ({_share(with_voice, meetings)})"
        )
        if decisions:
            message += (
                f" and for {decided_with_voice} of {plural(decisions, 'decision')} "
                f"({_share(decided_with_voice, decisions)})"
            )
        held = by_quarter[by_quarter["meetings"] > 0]
        short = held[held["meetings_with_voice"] < held["meetings"]]
        if short.empty:
            message += "; every meeting in every quarter had one."
        else:
            worst = held.loc[held["meeting_share"].astype(float).idxmin()]
            message += (
                f"; {plural(len(short), 'quarter')} had a meeting without one, the lowest being "
                f"{worst['quarter']} ({worst['meetings_with_voice']} of "
                f"{plural(int(worst['meetings']), 'meeting')})."
            )
    table = pd.DataFrame(
        {
            "Quarter": by_quarter["quarter"],
            "Meetings": by_quarter["meetings"],
            "Meetings with a lived-experience voice": by_quarter["meetings_with_voice"],
            "Share of meetings": [
                _share(v, n)
                for v, n in zip(
                    by_quarter["meetings_with_voice"], by_quarter["meetings"], strict=True
                )
            ],
            "Decisions": by_quarter["decisions"],
            "Decisions with a lived-experience voice": by_quarter["decisions_with_voice"],
            "Share of decisions": [
                _share(v, n) if n else "none taken"
                for v, n in zip(
                    by_quarter["decisions_with_voice"], by_quarter["decisions"], strict=True
                )
            ],
        }
    )
    return Chart(fig, alt=message, summary=message, table=table)


ROLE_GROUP_STYLES = {
    "lived_experience": (OKABE_ITO["blue"], ""),
    "voting": (OKABE_ITO["bluish_green"], "/"),
    "officer": (OKABE_ITO["reddish_purple"], "x"),
    "other": (OKABE_ITO["grey"], "."),
}


def attendance_chart(
    attendance: pd.DataFrame, *, months: int = 12, as_of: dt.date | None = None
) -> Chart:
    """Bars: each role group's attendance rate (``coprod.representation.attendance_by_group``).

    Groups, never named people: there is no league table of individuals.
    """
    fig = go.Figure()
    rows = list(attendance.to_dict("records"))
    for row in rows:
        colour, pattern = ROLE_GROUP_STYLES.get(row["role_group"], (OKABE_ITO["grey"], ""))
        rate = row["rate"]
        shown = None if _absent(rate) else round(100 * rate, 1)
        text = (
            f"{round(shown)}% ({row['at_table']} of {plural(int(row['seats']), 'seat')})"
            if shown is not None
            else "no seats"
        )
        fig.add_bar(
            name=row["label"],
            y=[row["label"]],
            x=[shown],
            orientation="h",
            text=[text],
            textposition="outside",
            cliponaxis=False,
            marker={
                "color": colour,
                "line": {"color": OUTLINE, "width": 1.5},
                # bgcolor too: with only fgcolor set, Plotly leaves the bar white
                "pattern": {
                    "shape": pattern,
                    "fgcolor": "#ffffff",
                    "bgcolor": colour,
                    "solidity": 0.3,
                },
            },
            hovertemplate=f"{row['label']}: {text}<extra></extra>",
        )
    _layout(
        fig,
        f"Attendance by role group, {months} months to {long_date(as_of)}"
        if as_of
        else f"Attendance by role group, last {months} months",
        y_title="",
        x_title="Seats at the table: present, remote or a substitute (%)",
    )
    fig.update_layout(showlegend=False, height=320, margin={"l": 150, "r": 160})
    fig.update_xaxes(range=[0, 100], ticksuffix="%")
    fig.update_yaxes(autorange="reversed")
    window = f"In the {months} months to {long_date(as_of)}" if as_of else "In the last year"
    with_seats = [r for r in rows if r["seats"]]
    if not with_seats:
        message = f"{window} no meetings were held, so there is no attendance to show."
    else:
        parts = [f"{r['label'].lower()} {round(100 * r['rate'])}%" for r in with_seats]
        listed = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else parts[0]
        message = (
            f"{window}, the share of seats at the table (present, remote or a substitute) was: "
            f"{listed}."
        )
    table = pd.DataFrame(
        {
            "Role group": [r["label"] for r in rows],
            "Seats": [r["seats"] for r in rows],
            "At the table": [r["at_table"] for r in rows],
            "Present": [r["present"] for r in rows],
            "Remote": [r["remote"] for r in rows],
            "Substitute": [r["substitute"] for r in rows],
            "Apologies": [r["apologies"] for r in rows],
            "Absent": [r["absent"] for r in rows],
            "Not recorded": [r["not_recorded"] for r in rows],
            "Rate": [_share(int(r["at_table"]), int(r["seats"])) for r in rows],
        }
    )
    return Chart(fig, alt=message, summary=message, table=table)


def _meetings_between(n: int, first: dt.date, last: dt.date) -> str:
    if n == 1:
        return f"1 meeting, on {long_date(first)}"
    return f"{n} meetings, {long_date(first)} to {long_date(last)}"


COMPOSITION_STYLES = {
    # fill, pattern, pattern colour, outline: held is solid, vacant hatched, with words on both
    "held": (OKABE_ITO["bluish_green"], "", OUTLINE, OUTLINE),
    "vacant": ("#ffffff", "/", OKABE_ITO["vermillion"], OKABE_ITO["vermillion"]),
}
_DAY_MS = 24 * 60 * 60 * 1000


def composition_chart(runs: pd.DataFrame, board_label: Callable[[str], str] = str) -> Chart:
    """Bars along time, one row per board and required role, labelled "held" or "vacant"
    (``coprod.representation.composition_runs``)."""

    def role_name(role: str) -> str:
        return next((v for k, v in ROLE_LABELS.items() if k.value == role), role)

    boards = list(dict.fromkeys(runs["board_id"]))
    many = len(boards) > 1

    def row_lines(board_id: str, role: str) -> list[str]:
        name = role_name(role)
        return [board_label(board_id), name] if many else [name[0].upper() + name[1:]]

    def row_label(board_id: str, role: str) -> str:
        return "<br>".join(figure_text(line) for line in row_lines(board_id, role))

    fig = go.Figure()
    for state, (fill, pattern, pattern_colour, outline) in COMPOSITION_STYLES.items():
        part = runs[runs["state"] == state]
        if part.empty:
            continue
        widths = [
            max((until - start).days, 10) * _DAY_MS
            for start, until in zip(part["start"], part["until"], strict=True)
        ]
        hover = [
            figure_text(
                f"{board_label(b)} · {role_name(r)}: {state} at {_meetings_between(int(n), s, e)}"
            )
            for b, r, n, s, e in zip(
                part["board_id"],
                part["role"],
                part["meetings"],
                part["start"],
                part["end"],
                strict=True,
            )
        ]
        fig.add_bar(
            name=state.capitalize(),
            y=[row_label(b, r) for b, r in zip(part["board_id"], part["role"], strict=True)],
            x=widths,
            base=[pd.Timestamp(s) for s in part["start"]],
            orientation="h",
            text=[state] * len(part),
            textposition="inside",
            insidetextanchor="middle",
            textfont={"color": "#000000", "size": 13},
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            marker={
                "color": fill,
                "line": {"color": outline, "width": 1.5},
                "pattern": {
                    "shape": pattern,
                    "fgcolor": pattern_colour,
                    "bgcolor": fill,
                    "solidity": 0.25,
                },
            },
        )
    _layout(
        fig,
        "Required members of the board at each meeting",
        y_title="",
        x_title="Meeting date",
    )
    rows_shown = len(runs.groupby(["board_id", "role"])) if not runs.empty else 0
    fig.update_layout(
        barmode="overlay",
        height=max(260, 120 + 48 * rows_shown),
        uniformtext={"minsize": 10, "mode": "hide"},
        bargap=0.35,
    )
    fig.update_xaxes(type="date")
    fig.update_yaxes(autorange="reversed")
    # Room for the longest line of the row labels (Plotly's automargin does not grow enough).
    lines = [
        line
        for b, r in runs[["board_id", "role"]].itertuples(index=False)
        for line in row_lines(b, r)
    ]
    fig.update_layout(margin={"l": 24 + 8 * max((len(t) for t in lines), default=10)})
    vacant = runs[runs["state"] == "vacant"]
    if runs.empty:
        message = "No meetings of the boards chosen were held in the period."
    elif vacant.empty:
        message = (
            "Every required role (service user, carer, third sector and staff representatives) "
            "was held at every meeting in the period."
        )
    else:
        gaps = "; ".join(
            f"{role_name(r)} of {board_label(b)} ({_meetings_between(int(n), s, e)})"
            for b, r, n, s, e in zip(
                vacant["board_id"],
                vacant["role"],
                vacant["meetings"],
                vacant["start"],
                vacant["end"],
                strict=True,
            )
        )
        message = f"The required roles were held at every meeting except where vacant: {gaps}."
    table = pd.DataFrame(
        {
            "Board": [board_label(b) for b in runs["board_id"]],
            "Role": [role_name(r) for r in runs["role"]],
            "State": list(runs["state"]),
            "From meeting": [long_date(d) for d in runs["start"]],
            "To meeting": [long_date(d) for d in runs["end"]],
            "Meetings": list(runs["meetings"]),
        }
    )
    return Chart(fig, alt=message, summary=message, table=table)


def item_trend_chart(
    trends: pd.DataFrame,
    *,
    board_name: str = "the board",
    suppressed: str = "fewer than 5 responses",
) -> Chart:
    """Lines with markers: each item's average score (everyone) at each check of one board
    (``coprod.healthcheck.item_trends``). Suppressed averages are absent, and said so."""
    everyone = trends[trends["side"] == "all"].sort_values(["check_date", "item"])
    items = list(dict.fromkeys(sorted(everyone["item"])))
    fig = go.Figure()
    for index, item in enumerate(items):
        part = everyone[everyone["item"] == item]
        fig.add_scatter(
            x=list(part["check_date"]),
            y=list(part["mean_shown"]),
            mode="lines+markers",
            name=word(item),
            connectgaps=False,
            customdata=list(part["text"]),
            hovertemplate=(f"{word(item)}, %{{x|%-d %b %Y}}: %{{customdata}}<extra></extra>"),
            **_line_style(index),
        )
    _layout(
        fig,
        f"Health-check scores by item, {figure_text(board_name)}",
        y_title="Average score (1 = strongly disagree, 5 = strongly agree)",
        x_title="Health-check",
    )
    fig.update_yaxes(range=[0.8, 5.2], dtick=1)
    # Many items: the legend hangs below the axis title rather than growing up into it.
    fig.update_layout(
        height=620,
        legend={"orientation": "h", "yanchor": "top", "y": -0.16, "x": 0},
        margin={"b": 200},
    )
    checks = sorted(set(everyone["check_date"]))
    given = pd.Series([not _absent(v) for v in everyone["mean_shown"]], index=everyone.index)
    hidden = everyone[~given]
    if not checks:
        message = f"No health-check of {board_name} is recorded in the period."
    else:
        rose = fell = same = 0
        for item in items:
            shown = everyone[(everyone["item"] == item) & given]
            if len(shown) < 2:
                continue
            change = float(shown["mean"].iloc[-1]) - float(shown["mean"].iloc[0])
            if change >= 0.1:
                rose += 1
            elif change <= -0.1:
                fell += 1
            else:
                same += 1
        message = (
            f"Across {plural(len(checks), 'health-check')} of {board_name} from "
            f"{long_date(checks[0])} to {long_date(checks[-1])}, between the first and the "
            f"latest check {rose} of {plural(len(items), 'item')} rose, {fell} fell and {same} "
            "stayed within 0.1 points."
        )
        latest = everyone[(everyone["check_date"] == checks[-1]) & everyone["mean_shown"].map(bool)]
        if not latest.empty:
            low = latest.loc[latest["mean"].astype(float).idxmin()]
            message += (
                f" At the latest check the lowest-scored item was "
                f"{word(low['item'])} ({low['mean_shown']:.1f})."
            )
        if not hidden.empty:
            message += (
                f" {plural(len(hidden), 'average')} at "
                f"{plural(hidden['check_date'].nunique(), 'check')} had {suppressed} and "
                f"{'is' if len(hidden) == 1 else 'are'} not shown."
            )
    table = everyone.pivot(index="check_date", columns="item", values="text").reset_index()
    table.columns.name = None
    table["check_date"] = table["check_date"].map(long_date)
    table = table.rename(columns={"check_date": "Health-check", **{i: word(i) for i in items}})
    return Chart(fig, alt=message, summary=message, table=table)


def side_gap_chart(
    gaps: pd.DataFrame,
    item: str,
    *,
    board_name: str = "the board",
    summary: str = "",
    suppressed: str = "fewer than 5 responses",
) -> Chart:
    """Two lines, professionals and the lived-experience side, with the gap between them drawn
    and labelled at each check where both sides have enough responses
    (``coprod.healthcheck.perception_gaps`` rows of one board and item)."""
    gaps = gaps.sort_values("check_date")
    label = word(item)
    fig = go.Figure()
    # The gap: a dotted segment from one side's average to the other's, labelled with its size.
    for _, row in gaps.iterrows():
        if _absent(row["gap"]):
            continue
        fig.add_scatter(
            x=[row["check_date"], row["check_date"]],
            y=[row["lived_experience"], row["professional"]],
            mode="lines",
            line={"color": OKABE_ITO["grey"], "width": 2, "dash": "dot"},
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_annotation(
            x=row["check_date"],
            y=max(row["professional"], row["lived_experience"]),
            text=f"<b>{row['gap_text']}</b>" if row["flagged"] else row["gap_text"],
            showarrow=False,
            yshift=16,
            font={"size": 11, "color": "#1f1f1f"},
        )
    sides = (
        ("professional", "Professionals", OKABE_ITO["blue"], "circle", "solid"),
        ("lived_experience", "Lived-experience side", OKABE_ITO["vermillion"], "diamond", "dash"),
    )
    for column, name, colour, symbol, dash in sides:
        fig.add_scatter(
            x=list(gaps["check_date"]),
            y=list(gaps[column]),
            mode="lines+markers",
            name=name,
            connectgaps=False,
            customdata=list(gaps[f"{column}_text"]),
            hovertemplate=f"{name}, %{{x|%-d %b %Y}}: %{{customdata}}<extra></extra>",
            line={"color": colour, "width": 2.5, "dash": dash},
            marker={"color": colour, "symbol": symbol, "size": 11, "line": {"color": OUTLINE}},
        )
    _layout(
        fig,
        f"“{label}”: professionals and the lived-experience side",
        y_title="Average score (1 to 5)",
        x_title="Health-check",
    )
    fig.update_yaxes(range=[0.8, 5.6], dtick=1)
    hidden_pro = sum(_absent(v) for v in gaps["professional"])
    hidden_lived = sum(_absent(v) for v in gaps["lived_experience"])
    message = summary or f"Professionals' and the lived-experience side's scores for {label}."
    notes = []
    if hidden_lived:
        notes.append(f"the lived-experience side at {plural(hidden_lived, 'check')}")
    if hidden_pro:
        notes.append(f"professionals at {plural(hidden_pro, 'check')}")
    if notes:
        message += (
            f" No average is shown where a side had {suppressed}: " + " and ".join(notes) + "."
        )
    table = pd.DataFrame(
        {
            "Health-check": [long_date(d) for d in gaps["check_date"]],
            "Professionals": list(gaps["professional_text"]),
            "Lived-experience side": list(gaps["lived_experience_text"]),
            "Gap (professionals − lived experience)": list(gaps["gap_text"]),
            "HC-GAP": ["yes" if f else "" for f in gaps["flagged"]],
        }
    )
    alt = (
        f"The average score for {label} at each health-check of {board_name}, professionals "
        f"against the lived-experience side. {message}"
    )
    return Chart(fig, alt=alt, summary=message, table=table)
