"""Method: every rule in plain English, its source, and the thresholds in force."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from coprod.rules import CATEGORIES, CATEGORY_ORDER, RULES
from coprod.views import CATEGORY_LABELS

frame = ui.current(None)

st.title("How decisions are judged")
st.markdown(
    "coprod asks one question above all: were people who use services involved **from the "
    "start**, “before important decisions are taken when as much as possible can still be "
    "influenced”? It looks at what was recorded about each decision and its involvement "
    f"events, as of **{frame.as_of:%-d %B %Y}**."
)
st.header("What counts as involvement")
st.markdown(
    "An involvement counts when it was with **people who use services, carers or a Disabled "
    "People's Organisation**, at **consult** level or higher on the ladder (inform → consult → "
    "engage → co-design → co-produce; *inform* is one-way and never counts), it is **not "
    "disputed**, and it had **started** by the date the rules judge as of. Being in the room on "
    "the day of the decision is representation, not involvement from the start: an involvement "
    "that starts on the day options are fixed or the decision is taken counts as after it."
)
st.header("When people were first involved")
st.markdown("Each decision gets one category; the first that fits wins.")
st.table(
    pd.DataFrame(
        [(CATEGORY_LABELS[c], c, CATEGORIES[c]) for c in CATEGORY_ORDER],
        columns=["Category", "Code", "Meaning"],
    ).set_index("Category")
)
st.header("The rules")
for rule in RULES:
    with st.container(border=True):
        st.markdown(f"**{rule.title}** · `{rule.code}` · severity: {rule.severity}")
        st.markdown(rule.condition)
        st.markdown(f"*Why it matters:* {rule.principle}")
        st.markdown(f"Source: {rule.source}")
st.header("Thresholds in force")
st.table(
    pd.DataFrame(
        frame.result.thresholds.describe(), columns=["Setting", "Value", "Meaning"]
    ).set_index("Setting")
)
