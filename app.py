"""coprod dashboard: the router and the shared frame. Pages live in pages/."""

from __future__ import annotations

import streamlit as st

import ui

st.set_page_config(page_title="coprod: co-production from the start", layout="wide")

# One flat list: Streamlit's section headings put non-list items inside the navigation's
# list, which screen readers announce wrongly (axe: "list").
pages = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("pages/decisions.py", title="Decisions", icon=":material/list_alt:"),
    st.Page("pages/decision.py", title="Decision story", icon=":material/timeline:"),
    st.Page("pages/representation.py", title="Representation", icon=":material/groups:"),
    st.Page("pages/health_check.py", title="Health-checks", icon=":material/monitor_heart:"),
    st.Page("pages/meeting.py", title="Meeting mode", icon=":material/co_present:"),
    st.Page("pages/reports.py", title="Board report", icon=":material/summarize:"),
    st.Page("pages/record.py", title="Record", icon=":material/edit_note:"),
    st.Page("pages/data.py", title="Import and export", icon=":material/upload_file:"),
    st.Page("pages/audit.py", title="Audit trail", icon=":material/history:"),
    st.Page("pages/method.py", title="Method", icon=":material/rule:"),
    st.Page("pages/glossary.py", title="Glossary", icon=":material/menu_book:"),
    st.Page("pages/accessibility.py", title="Accessibility", icon=":material/accessibility:"),
]
page = st.navigation(pages, expanded=True)
st.session_state["_frame"] = ui.frame()
page.run()
