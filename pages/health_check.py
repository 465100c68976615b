"""Health-checks: how partners rate their co-production, item by item and side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from coprod import healthcheck as hc
from coprod.access import Action
from coprod.charts import item_trend_chart, side_gap_chart
from coprod.errors import CoprodError
from coprod.rules import RULES_BY_CODE
from coprod.views import long_date, plain, plain_table

frame = ui.current()
if not frame.board_ids:
    st.stop()  # the frame has said why there is nothing to show
db = ui.store()
thresholds = frame.result.thresholds
few = hc.suppressed_text(thresholds)

trends = ui.memo(
    hc.item_trends, db, frame.board_ids, frame.as_of, period=frame.period, thresholds=thresholds
)
latest = ui.memo(hc.latest_checks, db, frame.board_ids, frame.result, thresholds=thresholds)

st.title("Health-checks")
if flash := st.session_state.pop("health_check_flash", None):
    st.success(flash, icon=":material/check_circle:")
st.markdown(
    hc.headline_sentence(
        latest,
        frame.result,
        lambda b: plain(frame.board_label(b)),
        period=frame.period,
        thresholds=thresholds,
    )
)
declines = hc.findings_of(frame.result, "HC-DECLINE", frame.period)
gap_findings = hc.findings_of(frame.result, "HC-GAP", frame.period)
overdue = hc.findings_of(frame.result, "HC-OVERDUE")
first, second, third = st.columns(3)
first.metric("Falls since the previous check (period)", len(declines))
second.metric("Perception gaps (period)", len(gap_findings))
third.metric("Boards overdue a health-check", len(overdue))
st.markdown(
    f"To protect the people who answer, a group of fewer than {thresholds.suppression_size} "
    f"respondents is never shown as an average or a count: it shows as “{few}”. "
    "The lived-experience side is people who use services, carers and DPO respondents."
)

with_checks = list(dict.fromkeys(trends["board_id"]))
choices = with_checks + [b for b in frame.board_ids if b not in with_checks]
board_id = st.selectbox(
    "Board", options=choices, format_func=frame.board_label, key="health_check_board"
)
board_name = frame.board_label(str(board_id))
board_trends = trends[trends["board_id"] == board_id]
statements = hc.statements(db, [str(board_id)])

st.header("Item by item, over time")
if board_trends.empty:
    st.info(f"No health-check of {plain(board_name)} is recorded in the period.")
else:
    ui.show_chart(
        item_trend_chart(board_trends, board_name=board_name, suppressed=few), key="item_trends"
    )

    st.subheader("The latest health-check, item by item")
    last_date = max(board_trends["check_date"])
    at_last = board_trends[board_trends["check_date"] == last_date]
    table = at_last.pivot(index="item", columns="side", values="text").reset_index()
    table.insert(1, "Statement", table["item"].map(lambda i: statements.get(i, i)))
    table = table[["item", "Statement", *hc.SIDES]].rename(
        columns={"item": "Item", **hc.SIDE_LABELS}
    )
    st.markdown(
        f"Average scores at the health-check of {long_date(last_date)} (1 = strongly disagree, "
        "5 = strongly agree), with the number who answered."
    )
    st.table(plain_table(table.set_index("Item")))

st.header("Professionals and people with lived experience")
board_gaps = hc.perception_gaps(board_trends, frame.result, thresholds=thresholds)
items = list(dict.fromkeys(board_gaps["item"]))
if not items:
    st.info(f"No health-check of {plain(board_name)} is recorded in the period.")
else:
    item = st.selectbox(
        "Item",
        options=items,
        format_func=lambda i: f"{hc.item_label(i)} — {statements.get(i, '(not in the item bank)')}",
        key="health_check_item",
    )
    item_gaps = board_gaps[board_gaps["item"] == item]
    sentence = hc.gap_sentence(item_gaps, str(item), thresholds=thresholds)
    ui.show_chart(
        side_gap_chart(
            item_gaps, str(item), board_name=board_name, summary=sentence, suppressed=few
        ),
        key="side_gap",
    )


def _findings(found: pd.DataFrame, code: str, empty: str) -> None:
    rule = RULES_BY_CODE[code]
    st.subheader(f"{rule.title} · `{rule.code}`")
    if found.empty:
        st.success(empty)
        return
    if code != "HC-OVERDUE":  # newest check first, by date rather than by its text
        found = found.sort_values("check_date", ascending=False)
    shown = pd.DataFrame(
        {
            "Board": found["board_id"].map(frame.board_label),
            "Item": found["item"].map(lambda i: hc.item_label(i) if isinstance(i, str) else ""),
            "Health-check": found["check_date"].map(lambda d: long_date(d) if d else ""),
            "What was found": found["message"],
        }
    )
    # An HTML table, which screen readers read cell by cell (the data grid is a canvas).
    st.table(plain_table(shown.set_index("Board")))
    st.markdown(f"Why it matters: {rule.principle}")


st.header("What the rules found")
_findings(declines, "HC-DECLINE", "No item's average fell by the decline threshold in the period.")
_findings(
    gap_findings,
    "HC-GAP",
    "At no health-check in the period did professionals rate an item much higher than the "
    "lived-experience side.",
)
_findings(overdue, "HC-OVERDUE", "No board chosen is overdue a health-check.")

st.header("The item bank")
st.markdown(
    f"The statements respondents score at {plain(board_name)}'s health-checks: the eight "
    "default items, any added for every board, and the board's own. Items scored in responses "
    "but in no bank are listed by their id."
)
st.table(plain_table(hc.bank_table(db, str(board_id)).set_index("Item")))
if frame.access.may(Action.record, str(board_id)):
    with st.form("add_health_check_item", clear_on_submit=False):
        st.markdown(
            "**Add an item** — every addition is kept in the audit trail as "
            f"{plain(frame.access.identity)}."
        )
        scope = st.radio(
            "Who asks it",
            options=["board", "every"],
            format_func={"board": f"{plain(board_name)} only", "every": "Every board"}.__getitem__,
            horizontal=True,
            key="new_item_scope",
        )
        new_item = st.text_input(
            "Item id *",
            key="new_item_id",
            help="Lower-case letters, digits and underscores, for example good_communication.",
            max_chars=64,
        )
        new_statement = st.text_area(
            "Statement *",
            key="new_item_statement",
            help="What respondents agree or disagree with, from 1 (strongly disagree) to 5 "
            "(strongly agree).",
        )
        if st.form_submit_button("Add the item", type="primary"):
            try:
                added = hc.add_item(
                    db,
                    str(board_id) if scope == "board" else None,
                    new_item,
                    new_statement,
                    ui.change(frame.access),
                )
            except CoprodError as problem:
                st.error(f"The item was not added: {plain(str(problem))}", icon=":material/error:")
            else:
                where = (
                    f"{plain(board_name)}'s bank" if added.board_specific else "every board's bank"
                )
                st.session_state["health_check_flash"] = f"Added “{plain(added.item)}” to {where}."
                st.rerun()
if frame.access.may(Action.record, str(board_id)):
    st.page_link(
        "pages/record.py",
        label="Record a health-check response",
        icon=":material/edit_note:",
    )
