"""Decision story: one decision's whole story in date order, and its findings."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from coprod import records
from coprod.access import Action
from coprod.charts import decision_timeline_chart
from coprod.errors import CoprodError
from coprod.models import Attestation
from coprod.story import StoryInvolvement, decision_story
from coprod.views import CATEGORY_LABELS, facts_list, long_date, plain, plain_table, story_history
from coprod.vocabulary import word

frame = ui.current()
table = frame.checked.decisions
if table.empty:
    st.title("Decision story")
    st.info("There are no decisions for the boards chosen.")
    st.stop()

SHOWN = 500
ids = table["decision_id"]
# The URL carries the decision (?decision=ID) so that a story can be linked to and bookmarked.
# A new id in the URL (a link, a bookmark, the register) picks the decision; after that the
# picker leads and the URL follows it.
wanted = st.query_params.get("decision")
if wanted and wanted != st.session_state.get("_decision_in_url") and (ids == wanted).any():
    st.session_state["decision"] = wanted
search = st.text_input(
    "Find a decision",
    key="decision_search",
    placeholder="Its id or words from its title",
    help="Narrows the list below. Leave empty to list the decisions in order.",
)
matches = table
if search.strip():
    words = search.strip()
    matches = table[
        ids.str.contains(words, case=False, regex=False)
        | table["title"].str.contains(words, case=False, regex=False)
    ]
shown = matches.head(SHOWN)
labels = dict(zip(shown["decision_id"], shown["decision_id"] + " — " + shown["title"], strict=True))
current = st.session_state.get("decision")
if current not in labels and (ids == current).any():
    row = table[ids == current].iloc[0]
    labels = {current: f"{current} — {row['title']}", **labels}
if not labels:
    st.title("Decision story")
    st.info("No decision matches that search: try part of its id or another word of its title.")
    st.stop()
decision_id = st.selectbox(
    "Decision", options=list(labels), format_func=labels.__getitem__, key="decision"
)
if len(matches) > SHOWN:
    # Small print as markdown: st.caption's grey is below 4.5:1 contrast (see ui.ACCESSIBLE_STYLE).
    st.markdown(
        f"The list shows {SHOWN} of {len(matches):,} decisions: type part of an id or title "
        "above to find the others."
    )
st.query_params["decision"] = decision_id
st.session_state["_decision_in_url"] = decision_id
db = ui.store()
# The story and its history, read once per data version and check.
story = ui.memo(decision_story, db, decision_id, frame.result)
if story is None:
    st.error(f"There is no decision with the id {plain(decision_id)}.")
    st.stop()

category = story.verdict.first_involvement

head = st.container()  # the title, the facts and the findings, drawn below
# The timeline is sent first, into its place after the findings: the browser starts loading
# the chart's code (the largest of the page) while the rest of the story arrives.
with st.container():
    st.header("The story in date order")
    ui.show_chart(ui.shared(decision_timeline_chart, story), key="timeline")
    events = pd.DataFrame(
        [(long_date(e.date), e.event, e.detail) for e in story.events],
        columns=["Date", "What happened", "Detail"],
    )
    st.table(plain_table(events.set_index("Date")))
with head:
    st.title(plain(story.title))
    if flash := st.session_state.pop("story_flash", None):
        st.success(flash, icon=":material/check_circle:")
    st.markdown(
        f"**{plain(story.board_name)}** · "
        f"{plain(story.service_area or 'service area not recorded')}"
        f" · decision `{story.decision_id}`"
        + (f"\n\n{plain(story.summary)}" if story.summary else "")
    )
    st.markdown(
        f"### First involvement: {CATEGORY_LABELS[category].lower()}\n\n" + plain(story.sentence())
    )

    facts = {
        "Identified": long_date(story.identified_on),
        "Options fixed": long_date(story.options_fixed_on),
        "Decided": long_date(story.decided_on)
        + (f" (meeting {story.meeting_id})" if story.meeting_id else ""),
        "Outcome": story.outcome or "not recorded",
        "First involved": long_date(story.verdict.first_involved_on),
        "Approach the paper claims": word(story.claimed),
        "Tick-box suspect": "yes" if story.verdict.tick_box_suspect else "no",
    }
    if not story.affects_people_who_use_services:
        facts["Exempt because"] = story.exemption_reason or ""
    st.markdown(facts_list(facts))

    st.header("Findings")
    if not story.findings:
        st.success("No findings: nothing here breaks the rules.")
    for finding in story.findings:
        with st.container(border=True):
            st.markdown(
                f"**{finding.title}** · `{finding.code}` · {finding.severity}\n\n"
                f"{plain(finding.message)}\n\n"
                f"*Principle:* {finding.principle}"
            )


def _attest(inv: StoryInvolvement) -> None:
    """A DPO representative confirms or disputes what officers recorded."""
    # A popover: the browser draws its form only once it is opened.
    with (
        st.popover(f"Confirm or dispute {plain(inv.involvement_id)}"),
        st.form(f"attest_{inv.involvement_id}"),
    ):
        choice = st.radio(
            "What do you say about this record?",
            options=["confirmed", "disputed", "unconfirmed"],
            index=["confirmed", "disputed", "unconfirmed"].index(inv.attestation),
            format_func={
                "confirmed": "Confirm: it happened as recorded",
                "disputed": "Dispute: it did not happen as recorded",
                "unconfirmed": "Not yet confirmed",
            }.__getitem__,
            key=f"attestation_{inv.involvement_id}",
        )
        note = st.text_area(
            "Note (required to dispute)",
            value=inv.attestation_note or "",
            key=f"attestation_note_{inv.involvement_id}",
        )
        if st.form_submit_button("Save"):
            try:
                records.attest(
                    db,
                    inv.involvement_id,
                    Attestation(choice),
                    note.strip() or None,
                    ui.change(frame.access),
                )
            except CoprodError as exc:
                st.error(plain(str(exc)), icon=":material/error:")
            else:
                st.session_state["story_flash"] = (
                    f"Saved: {plain(inv.involvement_id)} is now {choice}. "
                    + ("It no longer counts." if choice == "disputed" else "")
                )
                st.rerun()


st.header("Involvement")
if not story.involvements:
    st.info("No involvement is recorded for this decision.")
for inv in story.involvements:
    with st.container(border=True):
        details = {
            "When": f"{long_date(inv.start_date)} to {long_date(inv.end_date)}",
            "Method": word(inv.method or "not recorded"),
            "Participants": "not recorded" if inv.participants is None else str(inv.participants),
            "With lived experience": "not recorded"
            if inv.lived_experience_participants is None
            else str(inv.lived_experience_participants),
            "Support offered": ", ".join(
                [word(f) for f in inv.accessible_formats]
                + (["expenses"] if inv.expenses_offered else [])
            )
            or "none recorded",
            "Told the result": long_date(inv.feedback_on),
            "What changed because of it": inv.influence or "not recorded",
            "Attestation": inv.attestation
            + (
                f": {inv.attestation_note}"
                if inv.attestation_note and frame.access.names_visible
                else ""
            ),
        }
        st.markdown(
            f"**{plain(inv.involvement_id)}** · {word(inv.level)} with "
            f"{word(inv.group)}"
            + (f" ({plain(inv.organisation)})" if inv.organisation else "")
            + f" · **{inv.reason}**\n\n"
            + facts_list(details)
        )
        if frame.access.may(Action.attest, story.board_id):
            _attest(inv)

if not frame.access.may(Action.read_records, story.board_id):
    st.stop()  # the public view: no notes, no names of who changed what

st.header("History")
changes = ui.memo(
    story_history, db, decision_id, tuple(inv.involvement_id for inv in story.involvements)
)
if not changes:
    st.info("No changes are recorded for this decision.")
else:
    st.markdown(
        f"{len(changes)} recorded changes to this decision and its involvement, oldest first. "
        "The whole audit trail is on the Audit trail page."
    )
    st.table(plain_table(pd.DataFrame(changes).set_index("When")))
