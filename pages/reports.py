"""Reports: a board's co-production assurance report (PDF) for its papers."""

from __future__ import annotations

import streamlit as st

import ui
from coprod.report import ReportError, board_report

frame = ui.current()
db = ui.store()

st.title("Board report")
st.markdown(
    "A co-production assurance report fit for a board paper: the headline figures, the "
    "charts with captions and their numbers, tick-box suspects, and the critical and major "
    f"findings with their reasons, for decisions taken {frame.period.describe()} (change the "
    "period in the sidebar), judged as of "
    f"{frame.as_of:%-d %B %Y}. The PDF holds real text, so it can be searched and read aloud."
)
board_id = st.selectbox(
    "Board", options=list(frame.board_ids), format_func=frame.board_label, key="report_board"
)
if st.button("Prepare the report", type="primary", key="prepare_report"):
    try:
        pdf = board_report(
            db, str(board_id), frame.period.start, frame.period.end, as_of=frame.as_of
        )
    except ReportError as exc:
        st.error(str(exc))
    else:
        st.download_button(
            "Download the report (PDF)",
            data=pdf,
            file_name=f"coprod-report-{board_id}-{frame.period.start}-{frame.period.end}.pdf",
            mime="application/pdf",
            key="download_report",
        )
