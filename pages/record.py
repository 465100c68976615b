"""Record: add or edit boards, members, meetings with attendance, decisions, involvement and
health-check responses; withdraw and restore; see each record's history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

import ui
from coprod import healthcheck as hc
from coprod import records
from coprod.access import Action, Forbidden
from coprod.errors import CoprodError
from coprod.forms import FORMS, FieldSpec
from coprod.models import (
    EARLIEST_DATE,
    LATEST_DATE,
    AccessibleFormat,
    Attendance,
    AttendanceStatus,
    Board,
    Decision,
    Entity,
    HealthCheck,
    Involvement,
    Meeting,
    Member,
    RespondentGroup,
)
from coprod.store import KEYS, StoreError
from coprod.views import long_date, plain, plain_table
from coprod.vocabulary import word

frame = ui.current(Action.record)
db = ui.store()

KINDS: dict[str, type[Entity]] = {
    "decision": Decision,
    "involvement": Involvement,
    "meeting": Meeting,
    "member": Member,
    "board": Board,
    "health_check": HealthCheck,
}
KIND_LABELS = {
    "decision": "Decisions",
    "involvement": "Involvement",
    "meeting": "Meetings and attendance",
    "member": "Members",
    "board": "Boards",
    "health_check": "Health-check responses",
}
NEW = "__new__"
# The longest list a picker offers: beyond it, a search narrows the list (national stores hold
# hundreds of thousands of records, and a list of them all takes seconds on every rerun).
LISTED = 1000

st.title("Record")
st.markdown(
    "Add or correct what the rules read. Every change is kept in the audit trail with your "
    f"name (**{plain(frame.access.identity)}**), and nothing is ever deleted: a record can be "
    "withdrawn with a reason, and restored."
)
if flash := st.session_state.pop("record_flash", None):
    st.success(flash, icon=":material/check_circle:")

kind = st.segmented_control(
    "What to record",
    options=list(KINDS),
    format_func=KIND_LABELS.__getitem__,
    key="record_kind",
    default="decision",
    required=True,
)
entity = KINDS[kind or "decision"]


def _label(stored: records.Stored[Any]) -> str:
    r = stored.record
    text = {
        "board": lambda: f"{r.board_id} — {r.name}",
        "member": lambda: f"{r.member_id} — {r.name} ({word(r.role)})",
        "meeting": lambda: f"{r.meeting_id} — {long_date(r.date)}",
        "decision": lambda: f"{r.decision_id} — {r.title}",
        "involvement": lambda: f"{r.involvement_id} — {word(r.level)} with {word(r.group)}",
    }[entity.table]()
    return text + (" (withdrawn)" if stored.withdrawn else "")


def _options(table: str) -> dict[str, str] | None:
    """Ids and labels of the records a reference field can name, on the chosen boards; None
    when there are more than a list can sensibly hold (the field then takes a typed id)."""
    targets: dict[str, type[Entity]] = {"board": Board, "meeting": Meeting, "decision": Decision}
    target = targets[table]
    found: list[records.Stored[Entity]] = records.list_records(
        db, target, board_ids=frame.board_ids, include_withdrawn=False, limit=LISTED + 1
    )
    if len(found) > LISTED:
        return None
    out: dict[str, str] = {}
    for stored in found:
        r = stored.record
        if isinstance(r, Board):
            out[r.board_id] = r.name
        elif isinstance(r, Meeting):
            out[r.meeting_id] = f"{r.meeting_id} — {long_date(r.date)}"
        elif isinstance(r, Decision):
            out[r.decision_id] = f"{r.decision_id} — {r.title}"
    return out


def _widget(spec: FieldSpec, value: Any, key: str, *, editing: bool) -> Any:
    label = spec.label + (" *" if spec.required else "")
    if spec.kind == "id":
        return st.text_input(label, value=value or "", key=key, help=spec.help, disabled=editing)
    if spec.kind == "text":
        return st.text_input(label, value=value or "", key=key, help=spec.help)
    if spec.kind == "longtext":
        return st.text_area(label, value=value or "", key=key, help=spec.help, height=100)
    if spec.kind == "enum":
        assert spec.choices is not None
        options: list[Any] = [c.value for c in spec.choices]
        if not spec.required:
            options = [None, *options]
        current = value.value if hasattr(value, "value") else value
        return st.selectbox(
            label,
            options=options,
            index=options.index(current) if current in options else 0,
            format_func=lambda v: "not recorded" if v is None else word(v),
            key=key,
            help=spec.help,
        )
    if spec.kind == "date":
        return st.date_input(
            label,
            value=value,
            min_value=EARLIEST_DATE,
            max_value=LATEST_DATE,
            format="DD/MM/YYYY",
            key=key,
            help=spec.help,
        )
    if spec.kind == "bool":
        return st.checkbox(label, value=bool(value), key=key, help=spec.help)
    if spec.kind == "count":
        return st.number_input(
            label,
            min_value=0,
            step=1,
            value=value,
            key=key,
            help=spec.help,
            placeholder="not recorded",
        )
    if spec.kind == "formats":
        chosen = [f.value if hasattr(f, "value") else f for f in (value or [])]
        return st.multiselect(
            label,
            options=[f.value for f in AccessibleFormat],
            default=chosen,
            format_func=word,
            key=key,
            help=spec.help,
            placeholder="none",
        )
    if spec.kind == "ref":
        assert spec.refers_to is not None
        listed = _options(spec.refers_to)
        if listed is None:
            # Too many to list: the id is typed, and saving checks that it exists.
            typed = st.text_input(
                label,
                value=value or "",
                key=key,
                help=f"Type the {spec.refers_to}'s id (there are too many to list). "
                + (spec.help or ""),
            )
            return typed.strip() or None
        labels = listed
        if value and value not in labels:
            labels[value] = value
        ref_options: list[str | None] = list(labels)
        if not spec.required:
            ref_options = [None, *ref_options]
        return st.selectbox(
            label,
            options=ref_options,
            index=ref_options.index(value) if value in ref_options else 0,
            format_func=lambda v: "none" if v is None else labels.get(v, v),
            key=key,
            help=spec.help,
        )
    raise ValueError(spec.kind)


def _history(table_entity: type[Entity], key: tuple[str, ...]) -> None:
    entries = records.history(db, table_entity, key)
    with st.expander(f"History of this record ({len(entries)} changes)"):
        if not entries:
            st.write("No changes recorded.")
            return
        rows = [
            {
                "When": f"{e['changed_at']:%-d %b %Y %H:%M}",
                "Who": e["actor"],
                "How": e["source"],
                "What": e["action"],
                "Changes": records.describe_changes(e["changes"]),
            }
            for e in entries
        ]
        st.table(plain_table(pd.DataFrame(rows).set_index("When")))


def _withdraw_or_restore(stored: records.Stored[Any]) -> None:
    key = stored.key
    if stored.withdrawn:
        st.warning(
            f"This record was withdrawn by {plain(stored.withdrawn_by)} on "
            f"{long_date(stored.withdrawn_at)}: “{plain(stored.withdrawn_reason)}”. "
            "It does not count.",
            icon=":material/block:",
        )
        if st.button("Restore this record", key=f"restore_{entity.table}"):
            try:
                records.restore(
                    db, entity, key, ui.change(frame.access), expected_updated_at=stored.updated_at
                )
            except CoprodError as exc:
                st.error(plain(str(exc)))
            else:
                st.session_state["record_flash"] = "Restored: it counts again."
                st.rerun()
        return
    with st.expander("Withdraw this record"):
        st.markdown(
            "A withdrawn record stops counting in every figure and finding, but stays in the "
            "store and its history. It can be restored."
        )
        with st.form(f"withdraw_{entity.table}"):
            reason = st.text_input("Why is it withdrawn? *", key=f"withdraw_reason_{entity.table}")
            if st.form_submit_button("Withdraw"):
                try:
                    records.withdraw(
                        db,
                        entity,
                        key,
                        reason,
                        ui.change(frame.access),
                        expected_updated_at=stored.updated_at,
                    )
                except CoprodError as exc:
                    st.error(plain(str(exc)))
                else:
                    st.session_state["record_flash"] = "Withdrawn. It no longer counts."
                    st.rerun()


def _forget_form(form_id: str) -> None:
    """Drop a form's typed values, errors and opened version so it shows the stored record."""
    for key in [k for k in st.session_state if str(k).startswith(f"{form_id}_")]:
        del st.session_state[key]
    st.session_state.pop(f"errors_{form_id}", None)
    st.session_state.pop(f"version_{form_id}", None)


def _record_form(stored: records.Stored[Any] | None) -> None:
    specs = FORMS[entity.table]
    editing = stored is not None
    if stored is not None:
        current: dict[str, Any] = stored.record.model_dump()
    else:  # a new record starts from the model's defaults (affects people: yes; ...)
        current = {
            name: f.get_default(call_default_factory=True)
            for name, f in entity.model_fields.items()
            if not f.is_required()
        }
    if not editing and len(frame.board_ids) >= 1:
        current.setdefault("board_id", frame.board_ids[0])
    form_id = f"{entity.table}_{'__'.join(stored.key) if stored else NEW}"
    # The version the person saw when they opened the form: saving checks nobody has changed
    # the record since, so that two people saving at once never silently lose a change.
    version_key = f"version_{form_id}"
    opened = st.session_state.setdefault(version_key, stored.updated_at) if stored else None
    errors: dict[str, str] = st.session_state.get(f"errors_{form_id}", {})
    with st.form(f"form_{form_id}"):
        values: dict[str, Any] = {}
        for spec in specs:
            values[spec.name] = _widget(
                spec, current.get(spec.name), f"{form_id}_{spec.name}", editing=editing
            )
            if spec.name in errors:
                st.error(f"{spec.label}: {plain(errors[spec.name])}", icon=":material/error:")
        if "" in errors:
            st.error(plain(errors[""]), icon=":material/error:")
        submitted = st.form_submit_button("Save", type="primary")
    if not submitted:
        return
    if entity is Involvement and stored is not None:
        # Attestation is changed on the decision's story, never by this form.
        values["attestation"] = stored.record.attestation
        values["attestation_note"] = stored.record.attestation_note
    try:
        record = records.parse(entity, values)
        result = records.save(db, record, ui.change(frame.access), expected_updated_at=opened)
    except records.RecordRejected as rejected:
        st.session_state[f"errors_{form_id}"] = rejected.fields
        st.rerun()
    except Forbidden as exc:
        st.error(plain(str(exc)), icon=":material/lock:")
        return
    except StoreError as exc:  # a full disk, say: nothing was saved
        st.error(plain(str(exc)), icon=":material/error:")
        return
    except records.RecordsError as exc:
        st.error(plain(str(exc)), icon=":material/sync_problem:")
        st.button(
            "Load the record as it is now (your unsaved changes are dropped)",
            key=f"reload_{form_id}",
            on_click=_forget_form,
            args=(form_id,),
        )
        return
    _forget_form(form_id)
    st.session_state["record_flash"] = {
        "created": f"Saved the new {entity.label}.",
        "updated": f"Saved your changes to the {entity.label}.",
        "unchanged": "Nothing had changed, so nothing was saved.",
    }[result.action]
    st.session_state[f"pick_next_{entity.table}"] = "__".join(result.stored.key)
    st.rerun()


def _attendance(meeting: Meeting) -> None:
    st.subheader("Who attended")
    members = [
        m
        for m in records.list_records(
            db, Member, board_ids=[meeting.board_id], include_withdrawn=False
        )
        if m.record.start_date <= meeting.date
        and (m.record.end_date is None or meeting.date <= m.record.end_date)
    ]
    seats = {
        s.record.member_id: s
        for s in records.list_records(db, Attendance, where={"meeting_id": meeting.meeting_id})
    }
    if not members:
        st.info("Nobody was a member of this board on the day of the meeting.")
        return
    statuses: list[str | None] = [None, *(s.value for s in AttendanceStatus)]
    with st.form(f"attendance_{meeting.meeting_id}"):
        chosen: dict[str, AttendanceStatus | None] = {}
        for m in members:
            seat = seats.get(m.record.member_id)
            now = seat.record.status if seat and not seat.withdrawn else None
            picked = st.selectbox(
                f"{plain(m.record.name)} — {word(m.record.role)}"
                + (" (lived experience)" if m.record.lived_experience else ""),
                options=statuses,
                index=statuses.index(now),
                format_func=lambda v: "not recorded" if v is None else v,
                key=f"seat_{meeting.meeting_id}_{m.record.member_id}",
            )
            chosen[m.record.member_id] = AttendanceStatus(picked) if picked else None
        if st.form_submit_button("Save attendance", type="primary"):
            try:
                done = records.save_attendance(
                    db,
                    meeting.meeting_id,
                    chosen,
                    ui.change(frame.access),
                    expected={k: v.updated_at for k, v in seats.items()},
                )
            except CoprodError as exc:
                st.error(plain(str(exc)))
            except records.RecordRejected as rejected:
                st.error(plain(str(rejected)))
            else:
                st.session_state["record_flash"] = (
                    "Attendance saved." if done.changed else "Nothing had changed."
                )
                st.rerun()


def _health_check_form() -> None:
    st.markdown(
        "One respondent's answers to every item on one health-check form. Scores run from "
        "1 (strongly disagree) to 5 (strongly agree)."
    )
    board_names = frame.board_names
    # The board comes first: its own items (the item bank) join the default ones on the form.
    board_id = st.selectbox(
        "Board *", options=list(frame.board_ids), format_func=frame.board_label, key="hc_board"
    )
    with st.form("health_check_response"):
        response_id = st.text_input("Response id *", key="hc_response_id")
        check_date = st.date_input(
            "Date of the health-check *",
            min_value=EARLIEST_DATE,
            max_value=LATEST_DATE,
            format="DD/MM/YYYY",
            key="hc_date",
        )
        group = st.selectbox(
            "Respondent *",
            options=[g.value for g in RespondentGroup],
            format_func=word,
            key="hc_group",
        )
        scores: dict[str, int | None] = {}
        comments: dict[str, str | None] = {}
        for item, statement in hc.statements(db, [str(board_id)]).items():
            scores[item] = st.radio(
                plain(statement),
                options=[1, 2, 3, 4, 5],
                index=None,
                horizontal=True,
                key=f"hc_score_{item}",
                help="1 = strongly disagree, 5 = strongly agree",
            )
            comments[item] = (
                st.text_input(
                    f"Comment on “{plain(statement)}”",
                    key=f"hc_comment_{item}",
                    label_visibility="collapsed",
                    placeholder="Comment (optional)",
                )
                or None
            )
        if st.form_submit_button("Save the response", type="primary"):
            try:
                records.save_response(
                    db,
                    response_id.strip(),
                    str(board_id),
                    check_date if isinstance(check_date, dt.date) else dt.date.today(),
                    RespondentGroup(group),
                    scores,
                    comments,
                    ui.change(frame.access),
                )
            except records.RecordRejected as rejected:
                st.error(plain(str(rejected)))
            except CoprodError as exc:
                st.error(plain(str(exc)))
            else:
                board_name = board_names.get(str(board_id), str(board_id))
                st.session_state["record_flash"] = (
                    f"Saved the response {plain(response_id.strip())} for {plain(board_name)}."
                )
                st.rerun()


if entity is HealthCheck:
    _health_check_form()
    st.stop()

# The boards whose records are listed: those chosen (else every one this person may see) and,
# for boards themselves, the withdrawn boards this person may record on, so that a withdrawn
# board can be restored here (the sidebar offers live boards only).
listed_boards = frame.board_ids
if entity is Board:
    withdrawn_boards = [
        str(row["board_id"])
        for row in db.query("SELECT board_id FROM board WHERE withdrawn_at IS NOT NULL")
        if frame.access.may(Action.record, str(row["board_id"]))
    ]
    listed_boards = (*frame.board_ids, *withdrawn_boards)
total = records.count_records(db, entity, board_ids=listed_boards)
search = ""
if total > LISTED:
    search = st.text_input(
        f"Find a {entity.label}",
        key=f"find_{entity.table}",
        placeholder="Its id, or words from its name or title",
        help=f"There are {total:,} on the boards chosen: the list below shows the first "
        f"{LISTED:,} that match.",
    )
existing = records.list_records(
    db, entity, board_ids=listed_boards, search=search or None, limit=LISTED
)
just_saved = st.session_state.pop(f"pick_next_{entity.table}", None)
if just_saved is not None:
    st.session_state[f"pick_{entity.table}"] = just_saved  # show the record just saved
picked = st.session_state.get(f"pick_{entity.table}")
if picked not in (None, NEW) and all("__".join(s.key) != picked for s in existing):
    # The record open in the form stays in the list whatever the search shows.
    keys = KEYS[entity.table]
    key = dict(zip(keys, str(picked).split("__", len(keys) - 1), strict=True))
    existing = [
        *records.list_records(db, entity, board_ids=listed_boards, where=key),
        *existing,
    ]
labels = {"__".join(s.key): _label(s) for s in existing}
by_key = {"__".join(s.key): s for s in existing}
if picked not in labels:
    st.session_state.pop(f"pick_{entity.table}", None)
pick = st.selectbox(
    f"Which {entity.label}",
    options=[NEW, *labels],
    format_func=lambda k: f"New {entity.label}…" if k == NEW else labels[k],
    key=f"pick_{entity.table}",
)
stored = by_key.get(pick) if pick != NEW else None
if stored is not None and stored.withdrawn:
    _withdraw_or_restore(stored)
else:
    _record_form(stored)
    if stored is not None:
        if isinstance(stored.record, Meeting):
            _attendance(stored.record)
        _withdraw_or_restore(stored)
if stored is not None:
    _history(entity, stored.key)
    st.markdown(
        f"Created by {plain(stored.created_by)} on {stored.created_at:%-d %B %Y}; last changed by "
        f"{plain(stored.updated_by)} on {stored.updated_at:%-d %B %Y at %H:%M}."
    )
