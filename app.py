"""coprod dashboard: the router and the shared frame. Pages live in pages/."""

from __future__ import annotations

import streamlit as st

import ui
from coprod.errors import CoprodError
from coprod.store import StoreWriteError
from coprod.views import plain

st.set_page_config(page_title="coprod: co-production from the start", layout="wide")

# Who is looking decides the menu (ui.PAGES); every page checks again when it runs. One flat
# list: Streamlit's section headings put non-list items inside the navigation's list, which
# screen readers announce wrongly (axe: "list").
access = ui.viewer()
page = st.navigation(ui.pages(access), expanded=True)
try:
    if access is not None and ui.draws_frame(page):
        st.session_state["_frame"] = ui.frame(access)
    page.run()
except StoreWriteError as failed:  # a full disk, say: one sentence, and nothing was kept
    st.error(plain(failed.sentence("saved")), icon=":material/error:")
except CoprodError as failed:  # the store could not be opened or read, say: its sentence
    st.error(plain(failed), icon=":material/error:")
