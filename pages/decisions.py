"""Decisions: the register, filterable, with each decision's category and flags."""

from __future__ import annotations

import streamlit as st

import ui
from coprod.rules import RULES
from coprod.views import CATEGORY_LABELS, plural

frame = ui.current()
decisions = frame.decisions()

st.title("Decision register")
if decisions.empty:
    st.info(f"No decisions are recorded for the boards chosen {frame.period.describe()}.")
    st.stop()

left, middle, right = st.columns(3)
categories = left.multiselect(
    "When people were first involved",
    options=list(CATEGORY_LABELS),
    format_func=CATEGORY_LABELS.__getitem__,
    key="register_categories",
    placeholder="Any",
)
codes = middle.multiselect(
    "Finding", options=[r.code for r in RULES], key="register_codes", placeholder="Any"
)
text = right.text_input(
    "Search titles, summaries and ids", key="register_text", placeholder="e.g. day services"
)
only_suspects = st.checkbox("Only tick-box suspects", key="register_suspects")

shown = decisions
if categories:
    shown = shown[shown["first_involvement"].isin(categories)]
if codes:
    wanted = set(codes)
    shown = shown[shown["findings"].map(lambda found: bool(wanted.intersection(found)))]
if text.strip():
    needle = text.strip().lower()
    haystack = (
        shown["decision_id"].str.lower()
        + " "
        + shown["title"].str.lower()
        + " "
        + shown["service_area"].fillna("").str.lower()
        + " "
        + shown["summary"].fillna("").str.lower()
    )
    shown = shown[haystack.str.contains(needle, regex=False)]
if only_suspects:
    shown = shown[shown["tick_box_suspect"]]

st.markdown(
    f"Showing {plural(len(shown), 'decision')} of {len(decisions)} in the period "
    f"{frame.period.describe()}."
)

if shown.empty:
    st.info("No decision matches these filters.")
    st.stop()

table = shown[
    [
        "decision_id",
        "title",
        "category",
        "tick_box_suspect",
        "findings",
        "decided_on",
        "first_involved_on",
        "identified_on",
        "options_fixed_on",
        "service_area",
        "board_id",
    ]
].copy()
table["board_id"] = table["board_id"].map(frame.board_label)
table["findings"] = table["findings"].map(", ".join)
table = table.sort_values(
    ["decided_on", "decision_id"], ascending=[False, True], na_position="first"
)
# Before the grid, so that keyboard users reach it without crossing every cell.
with st.form("open_decision"):
    # At most 500 to choose from here; the search above narrows the register first.
    first = table.head(500)
    labels = dict(zip(first["decision_id"], first["title"], strict=True))
    picked = st.selectbox(
        "Open a decision's story",
        options=list(labels),
        format_func=lambda d: f"{d} — {labels[d]}",
    )
    if len(table) > len(first):
        st.markdown(
            f"This list holds the first {len(first)} of {len(table):,}: search above to narrow it."
        )
    if st.form_submit_button("Open"):
        st.switch_page("pages/decision.py", query_params={"decision": str(picked)})

if ui.simple_table_toggle("register"):
    readable = table.rename(
        columns={
            "decision_id": "Decision",
            "title": "Title",
            "category": "First involvement",
            "tick_box_suspect": "Tick-box suspect",
            "findings": "Findings",
            "decided_on": "Decided",
            "first_involved_on": "First involved",
            "identified_on": "Identified",
            "options_fixed_on": "Options fixed",
            "service_area": "Service area",
            "board_id": "Board",
        }
    )
    readable["Tick-box suspect"] = readable["Tick-box suspect"].map({True: "yes", False: "no"})
    ui.simple_table(readable)
selection = st.dataframe(
    table,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="register_table",
    column_config={
        "decision_id": "Decision",
        "board_id": "Board",
        "title": st.column_config.TextColumn("Title", width="large"),
        "service_area": "Service area",
        "identified_on": st.column_config.DateColumn("Identified", format="D MMM YYYY"),
        "options_fixed_on": st.column_config.DateColumn("Options fixed", format="D MMM YYYY"),
        "decided_on": st.column_config.DateColumn("Decided", format="D MMM YYYY"),
        "first_involved_on": st.column_config.DateColumn("First involved", format="D MMM YYYY"),
        "category": "First involvement",
        "tick_box_suspect": st.column_config.CheckboxColumn("Tick-box suspect"),
        "findings": "Findings",
    },
)
st.markdown("Select a row to open that decision's story, or choose it above.")

rows = selection.selection.rows if selection else []
if rows:
    chosen = str(table.iloc[rows[0]]["decision_id"])
    st.switch_page("pages/decision.py", query_params={"decision": chosen})
