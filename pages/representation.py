"""Representation: was a lived-experience voice at the table, and did the board hold the
members it must have?"""

from __future__ import annotations

import streamlit as st

import ui
from coprod import representation as rep
from coprod.archive import frame_csv
from coprod.charts import attendance_chart, composition_chart, voice_share_chart
from coprod.rules import RULES_BY_CODE
from coprod.views import long_date, plain, plural

# Long lists stop here, as on the Overview: a page of thousands of links helps nobody.
LISTED = 100

frame = ui.current()
db = ui.store()

meetings = ui.memo(rep.meetings_at_the_table, db, frame.board_ids, frame.period, frame.as_of)
decisions = ui.memo(rep.decision_voice, db, frame.result, frame.period)
headline = rep.voice_headline(meetings, decisions)

st.title("Representation")
st.markdown(headline.sentence(frame.period))
first, second, third = st.columns(3)
first.metric("Meetings with a lived-experience voice", headline.meetings_with_voice)
second.metric("Decisions with a lived-experience voice", headline.decisions_with_voice)
third.metric(
    "Decisions with no lived-experience voice", headline.decisions - headline.decisions_with_voice
)
st.markdown(
    "A lived-experience voice is someone at the table — present, joining remotely or as a "
    "substitute — who is a service user, carer or DPO representative, or is recorded as having "
    "lived experience."
)

st.header("A lived-experience voice, quarter by quarter")
quarters = ui.memo(
    rep.voice_by_quarter_for, db, frame.result, frame.board_ids, frame.period, frame.as_of
)
ui.show_chart(voice_share_chart(quarters), key="voice_by_quarter")

st.header("Attendance by role group")
st.markdown(
    "Each group's seats at the table over the 12 months to "
    f"{long_date(frame.as_of)}, whatever period is chosen: groups of members, never named "
    "people. "
    + " ".join(
        f"*{rep.ROLE_GROUP_LABELS[g]}*: {rep.ROLE_GROUP_MEANINGS[g]}." for g in rep.ROLE_GROUPS
    )
)
attendance = ui.memo(rep.attendance_by_group, db, frame.board_ids, frame.as_of)
ui.show_chart(attendance_chart(attendance, as_of=frame.as_of), key="attendance_by_group")

st.header("Required members of the board")
composition = ui.memo(rep.composition_over_time, db, frame.board_ids, frame.period, frame.as_of)
ijb = composition[composition["required_by_law"]]
others = sorted(set(composition["board_id"]) - set(ijb["board_id"]))
not_ijb = (
    f" Not shown: {', '.join(plain(frame.board_label(b)) for b in others)}, which "
    + (
        "is not an Integration Joint Board."
        if len(others) == 1
        else "are not Integration Joint Boards."
    )
    if others
    else ""
)
st.markdown(
    "An Integration Joint Board must have a service user, a carer, a third sector and a staff "
    "representative among its members (Public Bodies (Joint Working) (Integration Joint Boards) "
    "(Scotland) Order 2014). This shows, meeting by meeting, whether a current member held each "
    "role." + not_ijb
)
if ijb.empty:
    st.info("No Integration Joint Board chosen held a meeting in the period.")
else:
    ui.show_chart(
        composition_chart(rep.composition_runs(ijb), frame.board_label), key="composition"
    )
gaps = rep.composition_gaps(frame.result, frame.period)
rule = RULES_BY_CODE["REP-COMPOSITION"]
if gaps.empty:
    st.success(f"No {rule.title.lower()} in the period (`{rule.code}`).")
else:
    st.subheader(f"{rule.title} · `{rule.code}`")
    st.markdown(
        "\n".join(
            f"- {rep.composition_gap_sentence(gap, lambda b: plain(frame.board_label(b)))}"
            for _, gap in gaps.iterrows()
        )
    )
    st.markdown(f"Why it matters: {rule.principle}")

st.header("Decisions taken with no lived-experience voice")
silent = rep.no_voice_decisions(frame.result, frame.period)
rule = RULES_BY_CODE["REP-NO-VOICE"]
if silent.empty:
    st.success(
        "Every decision taken at a meeting in the period had someone with lived experience at "
        "the table."
    )
else:
    st.markdown(
        f"{plural(len(silent), 'decision')} {'was' if len(silent) == 1 else 'were'} taken at a "
        f"meeting where nobody with lived experience was at the table (`{rule.code}`, "
        f"{rule.severity}). Open one to see its whole story."
        + (
            f" The {LISTED} newest are listed here; on the Decisions page, choose `{rule.code}` "
            "under Finding to see them all."
            if len(silent) > LISTED
            else ""
        )
    )
    for _, decision in silent.head(LISTED).iterrows():
        st.page_link(
            "pages/decision.py",
            label=(
                f"{plain(decision['decision_id'])} — {plain(decision['title'])} "
                f"({plain(frame.board_label(decision['board_id']))}, meeting of "
                f"{long_date(decision['meeting_date'])})"
            ),
            query_params={"decision": decision["decision_id"]},
            icon=":material/arrow_forward:",
        )
    st.markdown(f"Why it matters: {rule.principle}")

st.header("Who was at the table, meeting by meeting")
if meetings.empty:
    st.info("No meetings of the boards chosen were held in the period.")
else:
    st.markdown(
        f"{plural(len(meetings), 'meeting')}, newest first. Each role group shows who was "
        "present, remote or a substitute."
    )
    table = ui.memo(
        rep.at_the_table_for,
        db,
        frame.board_ids,
        frame.period,
        frame.as_of,
        tuple(sorted(frame.board_names.items())),
    )
    st.dataframe(
        table,
        hide_index=True,
        key="at_the_table",
        column_config={
            "Board": st.column_config.TextColumn("Board", width="medium"),
        },
    )
    st.download_button(
        "Download this table (CSV)",
        data=frame_csv(table),
        file_name="who-was-at-the-table.csv",
        mime="text/csv",
    )
