"""What the pages show, computed without Streamlit: tables, headline figures and sentences.

Pages stay thin: they ask this module for a frame or a sentence and display it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from coprod.rules import RULES_BY_CODE, CheckResult
from coprod.store import Store

# Plain-English labels for codes shown on screen (the codes stay beside them for auditors).
CATEGORY_LABELS = {
    "from_start": "From the start",
    "formative": "Formative",
    "late": "Late",
    "retrofitted": "Retrofitted",
    "never": "Never",
    "unknown": "Unknown",
    "pending": "Pending",
    "not_applicable": "Not applicable",
}
GROUP_LABELS = {
    "people_who_use_services": "people who use services",
    "carers": "carers",
    "dpo": "a Disabled People's Organisation",
    "community": "the community",
    "staff": "staff",
    "other": "others",
}
DECIDED_CATEGORIES = ("from_start", "formative", "late", "retrofitted", "never", "unknown")


# Every symbol markdown gives a meaning to, and those Streamlit adds: ``&`` starts an HTML
# entity (``&lt;`` would show as ``<``), ``:`` an emoji (``:smile:``), a colour or icon
# directive (``:red[x]``, ``:material/lock:``, which also needs its ``/``).
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&:/])")


def plain(text: object) -> str:
    """Text people typed, made safe to show inside markdown: its symbols stay symbols, so a
    title like ``*Draft* [x](y)`` shows as typed rather than as formatting or a link, and
    ``&lt;``, ``:smile:`` or ``:red[x]`` stay those characters. (A web address still shows as
    a link: Streamlit links addresses in the text itself, whatever the markdown says.)"""
    return _MARKDOWN.sub(r"\\\1", str(text))


def plain_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a table for ``st.table``, which reads every cell as markdown: each text cell,
    and each text in the index, made ``plain`` so that it shows as typed. The column names are
    the page's own words and are left as they are."""

    def cell(value: object) -> object:
        return plain(value) if isinstance(value, str) else value

    shown = frame.map(cell)
    shown.index = shown.index.map(cell)
    return shown


def long_date(value: dt.date | None) -> str:
    return f"{value:%-d %B %Y}" if value else "not recorded"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "0%"


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date

    def describe(self) -> str:
        return f"between {long_date(self.start)} and {long_date(self.end)}"


def boards(store: Store) -> pd.DataFrame:
    rows = store.query(
        "SELECT board_id, name, kind, area FROM board WHERE withdrawn_at IS NULL ORDER BY name"
    )
    return pd.DataFrame(rows, columns=["board_id", "name", "kind", "area"])


def decisions_frame(result: CheckResult) -> pd.DataFrame:
    """One row per decision with its category, tick-box verdict and finding codes."""
    frame = arrow_frame(result.decision_table)
    if frame.empty:
        return pd.DataFrame(
            columns=[
                "decision_id",
                "board_id",
                "title",
                "first_involvement",
                "tick_box_suspect",
                "decided",
                "findings",
                "period_date",
            ]
        )
    frame["findings"] = pd.Series(_codes_by_decision(result), index=frame.index, dtype=object)
    frame["category"] = frame["first_involvement"].map(CATEGORY_LABELS)
    return frame


def _codes_by_decision(result: CheckResult) -> list[list[str]]:
    """Each decision's finding codes in byte order, in the order of the decision table: Arrow
    groups them (a Python function per decision costs seconds at national scale)."""
    decisions = result.decision_table["decision_id"]
    findings = result.finding_table
    if not findings.num_rows:
        return [[] for _ in range(len(decisions))]
    pairs = findings.select(["decision_id", "code"]).filter(pc.is_valid(findings["decision_id"]))
    pairs = pairs.sort_by([("decision_id", "ascending"), ("code", "ascending")])
    grouped = pairs.group_by("decision_id", use_threads=False).aggregate([("code", "list")])
    place = pc.index_in(decisions, value_set=grouped["decision_id"])
    lists = pc.take(grouped["code_list"], place).to_pylist()
    return [codes or [] for codes in lists]


def arrow_frame(table: pa.Table) -> pd.DataFrame:
    """A check's Arrow table as the pages read it: dates as dates, lists as Python lists."""
    if table.num_rows == 0:
        return pd.DataFrame()
    frame = table.to_pandas(date_as_object=True)
    for name, kind in zip(table.column_names, table.schema.types, strict=True):
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            frame[name] = pd.Series(table[name].to_pylist(), index=frame.index, dtype=object)
    return frame


def findings_frame(result: CheckResult) -> pd.DataFrame:
    frame = arrow_frame(result.finding_table)
    if frame.empty:
        return pd.DataFrame(
            columns=[
                "code",
                "severity",
                "board_id",
                "decision_id",
                "meeting_id",
                "item",
                "check_date",
                "role",
                "period_date",
                "message",
                "principle",
            ]
        )
    frame["title"] = frame["code"].map(lambda c: RULES_BY_CODE[c].title)
    return frame


def in_period(frame: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The rows whose period date falls in the period, as a new frame (callers may change it)."""
    if frame.empty:
        return frame.copy()
    dates = pd.to_datetime(frame["period_date"]).dt.date
    return frame[(dates >= period.start) & (dates <= period.end)]


@dataclass(frozen=True)
class Headline:
    """When people who use services were first involved in a period's decisions.

    ``taken`` counts the decisions *taken* (decided by the as-of date) by category, for each of
    ``DECIDED_CATEGORIES``; decisions still to be taken are counted apart, as ``open_involved``
    (people involved so far) and ``pending`` (nobody involved yet); exempt decisions are
    ``not_applicable`` whether taken or not. The Overview, the board report and their tables
    read it.
    """

    taken: Mapping[str, int]
    pending: int = 0
    open_involved: int = 0
    not_applicable: int = 0

    @property
    def decided(self) -> int:
        return sum(self.taken.values())

    def sentence(self, period: Period) -> str:
        """The headline as a person reads it, for the period given."""
        taken, decided = self.taken, self.decided
        if decided == 0:
            text = f"No decisions were taken {period.describe()}."
        else:
            text = (
                f"Of {plural(decided, 'decision')} taken {period.describe()}, "
                f"{taken['from_start']} ({percent(taken['from_start'], decided)}) involved "
                f"people who use services from the start, {taken['formative']} while options "
                f"were still open, {taken['late']} only after options were fixed, "
                f"{taken['retrofitted']} only after the decision, and {taken['never']} "
                f"({percent(taken['never'], decided)}) not at all."
            )
            if taken["unknown"]:
                text += (
                    f" For {taken['unknown']}, the date options were fixed is not recorded, so "
                    "it cannot be told."
                )
        still_open = self.pending + self.open_involved
        if still_open:
            text += (
                f" {plural(still_open, 'decision')} {'is' if still_open == 1 else 'are'} still "
                f"to be taken: people who use services have been involved in "
                f"{self.open_involved} so far, and in {self.pending} nobody has been involved yet."
            )
        if self.not_applicable:
            text += (
                f" {plural(self.not_applicable, 'decision')} "
                f"{'was' if self.not_applicable == 1 else 'were'} marked as not affecting "
                "people who use services."
            )
        return text


def headline(decisions: pd.DataFrame) -> Headline:
    """The headline of a period's decisions (``decisions_frame`` rows, ``in_period``)."""
    taken = dict.fromkeys(DECIDED_CATEGORIES, 0)
    if decisions.empty:
        return Headline(taken)
    exempt = decisions["first_involvement"] == "not_applicable"
    for category, n in (
        decisions[decisions["decided"] & ~exempt]["first_involvement"].value_counts().items()
    ):
        taken[str(category)] = int(n)
    still_open = decisions[~decisions["decided"] & ~exempt]
    pending = int((still_open["first_involvement"] == "pending").sum())
    return Headline(
        taken,
        pending=pending,
        open_involved=len(still_open) - pending,
        not_applicable=int(exempt.sum()),
    )


def quarter_label(value: dt.date) -> str:
    return f"{value.year} Q{(value.month - 1) // 3 + 1}"


def category_by_quarter(decisions: pd.DataFrame) -> pd.DataFrame:
    """Decided decisions counted by quarter of decision and first-involvement category."""
    decided = decisions[
        decisions["decided"] & decisions["first_involvement"].isin(DECIDED_CATEGORIES)
    ]
    if decided.empty:
        return pd.DataFrame(columns=["quarter", *DECIDED_CATEGORIES])
    quarters = pd.to_datetime(decided["decided_on"]).dt.date.map(quarter_label)
    table = (
        pd.crosstab(quarters, decided["first_involvement"])
        .reindex(columns=list(DECIDED_CATEGORIES), fill_value=0)
        .sort_index()
    )
    table.index.name = "quarter"
    return table.reset_index()


# --- the overview ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OverviewFigures:
    """Everything the Overview shows of a period's decisions and findings, computed once."""

    counts: Headline
    critical: int  # critical findings
    major: int  # major findings
    suspects: int  # tick-box suspects
    by_code: pd.DataFrame  # critical and major findings counted by kind, shown as a table
    serious: pd.DataFrame  # the first ``listed`` critical and major findings, shown as a table
    suspect_table: pd.DataFrame  # the ``listed`` suspects with the most signals, shown
    by_quarter: pd.DataFrame  # ``category_by_quarter``


def overview_figures(
    decisions: pd.DataFrame,
    findings: pd.DataFrame,
    board_names: dict[str, str],
    listed: int,
) -> OverviewFigures:
    """The Overview's figures and tables for a period's decisions and findings. Lists stop at
    ``listed`` rows; board ids are shown by ``board_names``."""

    def board(board_id: object) -> object:
        return board_names.get(str(board_id), board_id)

    serious = (
        findings[findings["severity"].isin(["critical", "major"])]
        if not findings.empty
        else findings
    )
    critical = int((serious["severity"] == "critical").sum()) if not serious.empty else 0
    suspects = decisions[decisions["tick_box_suspect"]] if not decisions.empty else decisions
    by_code = pd.DataFrame(columns=["Severity", "Code", "What it means", "Findings"])
    listed_findings = pd.DataFrame(
        columns=["Severity", "Code", "Board", "Decision", "Meeting", "What was found"]
    )
    if not serious.empty:
        by_code = (
            serious.groupby(["severity", "code", "title"])
            .size()
            .reset_index(name="findings")
            .sort_values(["severity", "findings"], ascending=[True, False])
        )
        by_code.columns = ["Severity", "Code", "What it means", "Findings"]
        listed_findings = serious.head(listed)[
            ["severity", "code", "board_id", "decision_id", "meeting_id", "message"]
        ]
        listed_findings = listed_findings.assign(board_id=listed_findings["board_id"].map(board))
        listed_findings.columns = [
            "Severity",
            "Code",
            "Board",
            "Decision",
            "Meeting",
            "What was found",
        ]
    suspect_table = pd.DataFrame(
        columns=["Decision", "Title", "Board", "Signals", "Tick-box signals"]
    )
    if not suspects.empty:
        suspect_table = (
            suspects.sort_values("tick_box_signals", ascending=False, kind="stable")
            .head(listed)[["decision_id", "title", "board_id", "tick_box_signals", "findings"]]
            .copy()
        )
        suspect_table["board_id"] = suspect_table["board_id"].map(board)
        suspect_table["findings"] = suspect_table["findings"].map(
            lambda codes: ", ".join(c for c in codes if c.startswith("TB-"))
        )
        suspect_table.columns = ["Decision", "Title", "Board", "Signals", "Tick-box signals"]
    return OverviewFigures(
        counts=headline(decisions),
        critical=critical,
        major=len(serious) - critical,
        suspects=len(suspects),
        by_code=by_code,
        serious=listed_findings,
        suspect_table=suspect_table,
        by_quarter=category_by_quarter(decisions),
    )


def story_history(
    store: Store, decision_id: str, involvement_ids: tuple[str, ...]
) -> list[dict[str, str]]:
    """Every recorded change to a decision and its involvement, oldest first, as the story's
    history table shows them (When, Record, Who, How, What, Changes)."""
    from coprod import records  # records reads and writes; the pages ask it only for this
    from coprod.models import Decision, Involvement

    changes = records.history(store, Decision, decision_id)
    for involvement_id in involvement_ids:
        changes += records.history(store, Involvement, involvement_id)
    changes.sort(key=lambda e: e["changed_at"])
    return [
        {
            "When": f"{e['changed_at']:%-d %b %Y %H:%M}",
            "Record": e["record_key"],
            "Who": e["actor"],
            "How": e["source"],
            "What": e["action"],
            "Changes": records.describe_changes(e["changes"]),
        }
        for e in changes
    ]


def facts_list(facts: dict[str, str]) -> str:
    """Labelled facts as a markdown list (``- **Label:** value``), each value made ``plain``: one
    element where a table would draw two cells a fact. A value's own line breaks stay inside
    its item."""
    return "\n".join(
        f"- **{label}:** " + plain(value).replace("\n", "\n   ") for label, value in facts.items()
    )
