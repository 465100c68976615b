"""Overview: how many decisions involved people who use services from the start."""

from __future__ import annotations

import streamlit as st

import ui
from coprod.charts import category_by_quarter_chart
from coprod.healthcheck import findings_count, findings_sentence
from coprod.representation import decision_voice, meetings_at_the_table, voice_headline
from coprod.rules import CATEGORIES
from coprod.views import (
    CATEGORY_LABELS,
    DECIDED_CATEGORIES,
    category_by_quarter,
    headline,
    headline_sentence,
    percent,
    plain_table,
    plural,
)

# Long lists stop here: a table of thousands of rows helps nobody in a meeting, and the
# Decisions page filters them all.
LISTED = 100

frame = ui.current()
decisions = frame.decisions()
findings = frame.findings()

st.title("Were people involved from the start?")
counts = headline(decisions)
st.markdown(headline_sentence(counts, frame.period))

columns = st.columns(len(DECIDED_CATEGORIES))
for column, category in zip(columns, DECIDED_CATEGORIES, strict=True):
    column.metric(CATEGORY_LABELS[category], counts[category], help=CATEGORIES[category])

st.header("Findings that need attention")
serious = (
    findings[findings["severity"].isin(["critical", "major"])] if not findings.empty else findings
)
critical = int((serious["severity"] == "critical").sum()) if not serious.empty else 0
major = len(serious) - critical
suspects = decisions[decisions["tick_box_suspect"]] if not decisions.empty else decisions
st.markdown(
    f"In the period there {'is' if critical == 1 else 'are'} {plural(critical, 'critical finding')}"
    f" and {plural(major, 'major finding')}, and "
    f"{plural(len(suspects), 'decision')} {'looks' if len(suspects) == 1 else 'look'} like a "
    "tick-box exercise."
)
first, second, third = st.columns(3)
first.metric("Critical findings", critical)
second.metric("Major findings", major)
third.metric("Tick-box suspects", len(suspects))

if not serious.empty:
    by_code = (
        serious.groupby(["severity", "code", "title"])
        .size()
        .reset_index(name="findings")
        .sort_values(["severity", "findings"], ascending=[True, False])
    )
    by_code.columns = ["Severity", "Code", "What it means", "Findings"]
    st.subheader("Critical and major findings by kind")
    st.table(by_code.set_index("Code"))
    label = (
        f"Every critical and major finding ({len(serious)})"
        if len(serious) <= LISTED
        else f"The first {LISTED} of {len(serious):,} critical and major findings"
    )
    with st.expander(label):
        if len(serious) > LISTED:
            st.markdown(
                "The Decisions page lists every decision with its findings, and filters them by "
                "finding code and board."
            )
        listed = serious.head(LISTED)[
            ["severity", "code", "board_id", "decision_id", "meeting_id", "message"]
        ]
        listed = listed.assign(board_id=listed["board_id"].map(frame.board_label))
        listed.columns = ["Severity", "Code", "Board", "Decision", "Meeting", "What was found"]
        # An HTML table, which screen readers read cell by cell (the data grid is a canvas).
        st.table(plain_table(listed.fillna("").set_index("Severity")))

if not suspects.empty:
    st.subheader("Tick-box suspects")
    if len(suspects) > LISTED:
        st.markdown(
            f"The {LISTED} with the most signals, of {len(suspects):,}. The Decisions page lists "
            "them all."
        )
    table = (
        suspects.sort_values("tick_box_signals", ascending=False, kind="stable")
        .head(LISTED)[["decision_id", "title", "board_id", "tick_box_signals", "findings"]]
        .copy()
    )
    table["board_id"] = table["board_id"].map(frame.board_label)
    table["findings"] = table["findings"].map(
        lambda codes: ", ".join(c for c in codes if c.startswith("TB-"))
    )
    table.columns = ["Decision", "Title", "Board", "Signals", "Tick-box signals"]
    st.table(plain_table(table.set_index("Decision")))

st.header("Over time")
ui.show_chart(category_by_quarter_chart(category_by_quarter(decisions)), key="by_quarter")

st.header("Representation and health-checks")
db = ui.store()
voice = voice_headline(
    ui.memo(meetings_at_the_table, db, frame.board_ids, frame.period, frame.as_of),
    ui.memo(decision_voice, db, frame.result, frame.period),
)
hc_counts = ui.memo(findings_count, frame.result, frame.period)
first, second, third = st.columns(3)
first.metric(
    "Meetings with a lived-experience voice",
    percent(voice.meetings_with_voice, voice.meetings) if voice.meetings else "no meetings",
)
second.metric(
    "Decisions with no lived-experience voice", voice.decisions - voice.decisions_with_voice
)
third.metric("Health-check findings", sum(hc_counts.values()))
st.markdown(voice.sentence(frame.period))
st.markdown(findings_sentence(hc_counts, frame.result.thresholds))
st.page_link("pages/representation.py", label="Representation", icon=":material/groups:")
st.page_link("pages/health_check.py", label="Health-checks", icon=":material/monitor_heart:")
