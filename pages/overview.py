"""Overview: how many decisions involved people who use services from the start."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from coprod.charts import category_by_quarter_chart
from coprod.healthcheck import findings_count, findings_sentence
from coprod.representation import decision_voice, meetings_at_the_table, voice_headline
from coprod.rules import CATEGORIES
from coprod.views import (
    CATEGORY_LABELS,
    DECIDED_CATEGORIES,
    overview_figures,
    percent,
    plain_table,
    plural,
)

# Long lists stop here: a table of thousands of rows helps nobody in a meeting, and the
# Decisions page filters them all.
LISTED = 100

frame = ui.current()
# Every figure and table below, computed once per data version, check and period.
figures = ui.memo_period(overview_figures, frame, frame.board_names, LISTED)
counts = figures.counts


@st.fragment
def every_serious_finding(listed: pd.DataFrame, serious: int) -> None:
    """The critical and major findings one by one, drawn only once the expander is opened
    (it reruns only itself): a long table the browser need not draw for everyone."""
    label = (
        f"Every critical and major finding ({serious})"
        if serious <= LISTED
        else f"The first {LISTED} of {serious:,} critical and major findings"
    )
    shown = st.expander(label, on_change="rerun", key="overview_findings")
    if not shown.open:
        return
    with shown:
        if serious > LISTED:
            st.markdown(
                "The Decisions page lists every decision with its findings, and filters them by "
                "finding code and board."
            )
        # An HTML table, which screen readers read cell by cell (the data grid is a canvas).
        st.table(plain_table(listed.fillna("").set_index("Severity")))


head = st.container()  # the headline and the findings, drawn below
# The chart is sent first, into its place after the findings: the browser starts loading the
# chart's code (the largest of the page) while the rest arrives.
with st.container():
    st.header("Over time")
    # The figure is shared by every session, as it is: building it again costs more than the page.
    ui.show_chart(ui.shared(category_by_quarter_chart, figures.by_quarter), key="by_quarter")
with head:
    st.title("Were people involved from the start?")
    st.markdown(counts.sentence(frame.period))

    columns = st.columns(len(DECIDED_CATEGORIES))
    for column, category in zip(columns, DECIDED_CATEGORIES, strict=True):
        column.metric(CATEGORY_LABELS[category], counts.taken[category], help=CATEGORIES[category])

    st.header("Findings that need attention")
    critical, major, suspects = figures.critical, figures.major, figures.suspects
    st.markdown(
        f"In the period there {'is' if critical == 1 else 'are'} "
        f"{plural(critical, 'critical finding')} and {plural(major, 'major finding')}, and "
        f"{plural(suspects, 'decision')} {'looks' if suspects == 1 else 'look'} like a "
        "tick-box exercise."
    )
    first, second, third = st.columns(3)
    first.metric("Critical findings", critical)
    second.metric("Major findings", major)
    third.metric("Tick-box suspects", suspects)

    if critical + major:
        st.subheader("Critical and major findings by kind")
        st.table(figures.by_code.set_index("Code"))
        every_serious_finding(figures.serious, critical + major)

    if suspects:
        st.subheader("Tick-box suspects")
        if suspects > LISTED:
            st.markdown(
                f"The {LISTED} with the most signals, of {suspects:,}. The Decisions page lists "
                "them all."
            )
        st.table(plain_table(figures.suspect_table.set_index("Decision")))

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
