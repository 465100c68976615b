"""Reports: a board's co-production assurance report (PDF) for its papers, and an auditor's
evidence pack (zip)."""

from __future__ import annotations

import streamlit as st

import ui
from coprod.access import Action
from coprod.evidence import evidence_pack
from coprod.report import ReportError, board_report
from coprod.store import StoreError
from coprod.views import plain

frame = ui.current()
if not frame.board_ids:
    st.stop()  # the frame has said why there is nothing to show
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
        st.error(plain(str(exc)))
    else:
        st.download_button(
            "Download the report (PDF)",
            data=pdf,
            file_name=f"coprod-report-{board_id}-{frame.period.start}-{frame.period.end}.pdf",
            mime="application/pdf",
            key="download_report",
        )

if not frame.access.may(Action.evidence, str(board_id)):
    st.stop()  # evidence packs hold named records: auditors and admins only

st.header("Evidence pack")
st.markdown(
    "For a Disabled People's Organisation's audit: one zip for the board and period above with "
    "its records in the import format, the current findings (CSV and JSON) and the audit trail "
    "of those records, with a note of what it holds."
)
if st.button("Prepare the evidence pack", key="prepare_evidence"):
    try:
        pack = evidence_pack(
            db,
            str(board_id),
            frame.period.start,
            frame.period.end,
            frame.as_of,
            access=frame.access,
        )
    except StoreError as exc:
        st.error(plain(str(exc)))
    else:
        st.download_button(
            "Download the evidence pack (zip)",
            data=pack,
            file_name=f"coprod-evidence-{board_id}-{frame.period.start}-{frame.period.end}.zip",
            mime="application/zip",
            key="download_evidence",
        )
