"""Audit trail: every change to the store — who, when, which record, before and after, and
whether it came from a form, an import or the command line. Filterable and exportable."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

import ui
from coprod import records
from coprod.access import Action
from coprod.models import EARLIEST_DATE, ENTITIES, LATEST_DATE
from coprod.views import plain, plural
from coprod.vocabulary import word

frame = ui.current(Action.audit)
db = ui.store()

st.title("Audit trail")
st.markdown(
    "Every change made to the records, newest first. Nothing is ever deleted: withdrawn "
    "records and their reasons are here too."
    + (
        ""
        if frame.access.every_board
        else " You see the changes to the records of your boards "
        f"({plain(frame.access.scope_text())})."
    )
)
left, middle, right = st.columns(3)
entity = left.selectbox(
    "Kind of record",
    options=[None, *(e.table for e in ENTITIES), "health_check_item", "user", "setting"],
    format_func=lambda t: "Any" if t is None else word(t),
    key="audit_entity",
)
source = middle.selectbox(
    "Made through",
    options=[None, "form", "import", "cli"],
    format_func=lambda s: {
        None: "Any",
        "form": "a form",
        "import": "an import",
        "cli": "the command line",
    }[s],
    key="audit_source",
)
action = right.selectbox(
    "Change",
    options=[None, "create", "update", "withdraw", "restore", "attest"],
    format_func=lambda a: "Any" if a is None else a,
    key="audit_action",
)
left, middle, right = st.columns(3)
who = left.text_input("Who (name contains)", key="audit_actor")
record_key = middle.text_input("Record id", key="audit_record")
since = right.date_input(
    "Since",
    value=None,
    min_value=EARLIEST_DATE,
    max_value=LATEST_DATE,
    format="DD/MM/YYYY",
    key="audit_since",
)

SHOWN = 2000
filters: dict[str, Any] = {
    "entity": entity,
    "source": source,
    "action": action,
    "since": since if isinstance(since, dt.date) else None,
    "record_key": record_key.strip() or None,
    "actor_contains": who.strip() or None,
    # Someone who works on some boards sees the changes to those boards' records only.
    "boards": None if frame.access.every_board else frame.board_ids,
}
total = records.audit_count(db, **filters)
rows = records.audit_trail(db, limit=SHOWN, **filters)

st.markdown(f"{plural(total, 'change')} match.")
if rows:
    table = pd.DataFrame(
        [
            {
                "When": r["changed_at"],
                "Who": r["actor"],
                "How": r["source"],
                "Record": f"{r['entity']} {r['record_key']}",
                "Change": r["action"],
                "What changed": records.describe_changes(r["changes"]),
            }
            for r in rows
        ]
    )
    if ui.simple_table_toggle("audit"):
        ui.simple_table(table.assign(When=table["When"].map(lambda t: f"{t:%-d %b %Y %H:%M}")))
    st.dataframe(
        table,
        hide_index=True,
        column_config={"When": st.column_config.DatetimeColumn("When", format="D MMM YYYY HH:mm")},
    )
    if total > len(rows):
        st.markdown(f"Showing the newest {len(rows)}; the download holds all {total}.")
    st.download_button(
        "Download these changes (CSV)",
        # Made when the button is pressed, not on every rerun: it can hold every change.
        data=lambda: records.audit_trail_csv(records.audit_trail(db, **filters)),
        file_name="coprod-audit-trail.csv",
        mime="text/csv",
    )
