"""Meeting mode: a calm, large-type view of a meeting's agenda for use on a projector, with a
"before you decide" panel for each decision and a sentence for the minutes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from coprod.access import Action
from coprod.meeting import agenda, at_the_table, default_meeting, meetings, signal_titles
from coprod.views import long_date, plain, plain_table, plural

frame = ui.current()
db = ui.store()

# The meetings, the agenda and who is at the table, read once per data version (and check).
options = ui.memo(meetings, db, frame.board_ids)
if not options:
    st.title("Meeting mode")
    st.info("There are no meetings for the boards chosen.")
    st.stop()

by_id = {m["meeting_id"]: m for m in options}
chosen_default = default_meeting(options, frame.as_of)
assert chosen_default is not None
if "meeting_pick" not in st.session_state:
    st.session_state["meeting_pick"] = chosen_default["meeting_id"]
large = st.toggle("Large type for a projector", value=True, key="meeting_large")
if large:
    # Fixed styles, no user text: larger type and spacing on this page only.
    st.html(
        """<style>
        [data-testid="stMainBlockContainer"] p, [data-testid="stMainBlockContainer"] li {
            font-size: 1.35rem; line-height: 1.6;
        }
        [data-testid="stMainBlockContainer"] h1 { font-size: 2.6rem; }
        [data-testid="stMainBlockContainer"] h2 { font-size: 2.1rem; }
        [data-testid="stMainBlockContainer"] h3 { font-size: 1.7rem; }
        </style>"""
    )
meeting_id = st.selectbox(
    "Meeting",
    options=list(by_id),
    format_func=lambda m: (
        f"{by_id[m]['board_name']} — {long_date(by_id[m]['date'])} "
        f"({plural(by_id[m]['items'], 'item')})"
    ),
    key="meeting_pick",
)
board_agenda = ui.memo(agenda, db, meeting_id, frame.result)
assert board_agenda is not None
meeting = board_agenda.meeting

when = "today" if meeting["date"] == frame.as_of else long_date(meeting["date"])
st.title(plain(f"{meeting['board_name']}, {when}"))
st.markdown(
    f"{meeting['kind'].capitalize()} meeting · {plural(len(board_agenda.items), 'decision')} on "
    f"the agenda · {board_agenda.voices.sentence()}"
)
if board_agenda.at_risk:
    st.error(
        f"**{plural(len(board_agenda.at_risk), 'item')} at risk before the board decides:** "
        + "; ".join(
            f"item {i.number}, “{plain(i.decision['title'])}”" for i in board_agenda.at_risk
        )
        + ". The options are fixed and nobody who uses services has been involved.",
        icon=":material/warning:",
    )
with st.expander("Who is at the table"):
    seats = ui.memo(
        at_the_table, db, meeting, names=frame.access.may(Action.read_records, meeting["board_id"])
    )
    if seats:
        st.table(plain_table(pd.DataFrame(seats).set_index("Member")))
    else:
        st.markdown("No members are recorded for this board on this date.")
if not board_agenda.items:
    st.info("No decisions are recorded for this meeting.")

for item in board_agenda.items:
    decision = item.decision
    with st.container(border=True):
        st.header(f"Item {item.number}: {plain(decision['title'])}")
        st.markdown(
            "\n".join(
                [
                    f"**{item.category_text[0].upper()}{item.category_text[1:]}.**",
                    "",
                    "### Before you decide",
                    "",
                    f"- **Who was involved, and when:** {plain(item.involvement_text())}",
                    "- **Tick-box signals:** "
                    + (
                        "; ".join(signal_titles(item.signals)) + "."
                        if item.signals
                        else "none recorded."
                    ),
                    f"- **Lived experience at the table today:** {board_agenda.voices.sentence()}",
                ]
            )
        )
        if item.at_risk:
            st.warning(
                "At risk: involve people who use services before this is decided, or record "
                "why the board is deciding without them.",
                icon=":material/priority_high:",
            )
        st.markdown("**For the minutes** (select and copy):")
        st.code(item.minute(board_agenda.voices), language=None, wrap_lines=True)
        st.page_link(
            "pages/decision.py",
            label=f"The whole story of item {item.number}",
            query_params={"decision": decision["decision_id"]},
            icon=":material/timeline:",
        )
