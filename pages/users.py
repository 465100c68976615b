"""Users and settings: who may sign in, with which role and boards, and what visitors who are
not signed in may see. Admins only; every change is in the audit trail."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from coprod import users
from coprod.access import ROLE_DESCRIPTIONS, Action, Role
from coprod.errors import CoprodError
from coprod.views import plain, plain_table

frame = ui.current(Action.manage)
db = ui.store()

st.title("Users and settings")
if flash := st.session_state.pop("users_flash", None):
    st.success(flash, icon=":material/check_circle:")
if not ui.sign_in_configured():
    st.info(
        "Sign-in is not configured, so nobody signs in yet: the dashboard serves this computer "
        "only, as admin. The people below can sign in once it is (README: Security).",
        icon=":material/info:",
    )

st.header("Roles")
st.table(
    pd.DataFrame(
        [(r.value, ROLE_DESCRIPTIONS[r]) for r in Role], columns=["Role", "May"]
    ).set_index("Role")
)

st.header("People who may sign in")
people = users.list_users(db)
if people:
    listed = pd.DataFrame(
        [
            {
                "Email": u.identity,
                "Name": u.name or "",
                "Role": u.role.value,
                "Boards": "every board"
                if u.boards is None
                else ", ".join(frame.board_label(b) for b in sorted(u.boards)),
                "Last changed by": u.updated_by,
            }
            for u in people
        ]
    )
    st.table(plain_table(listed.set_index("Email")))
else:
    st.markdown("Nobody has been given a role yet.")

all_boards = list(frame.board_names)
st.subheader("Add someone, or change their role")
with st.form("save_user"):
    identity = st.text_input(
        "Email address *", help="The address they sign in with.", key="user_identity"
    )
    name = st.text_input("Name", key="user_name")
    role = st.selectbox(
        "Role *",
        options=[r.value for r in Role if r != Role.public],
        format_func=lambda r: f"{r}: {ROLE_DESCRIPTIONS[Role(r)]}",
        key="user_role",
    )
    every = st.checkbox("Every board", key="user_every_board")
    chosen = st.multiselect(
        "Boards (unless every board)",
        options=all_boards,
        format_func=frame.board_label,
        key="user_boards",
    )
    if st.form_submit_button("Save", type="primary"):
        try:
            action, saved = users.save_user(
                db,
                identity,
                role,
                "*" if every else chosen,
                ui.change(frame.access),
                name=name,
            )
        except CoprodError as exc:
            st.error(plain(str(exc)), icon=":material/error:")
        else:
            st.session_state["users_flash"] = (
                f"Saved: {plain(saved.identity)} is {saved.role.value}."
                if action != "unchanged"
                else "Nothing had changed."
            )
            st.rerun()

if people:
    st.subheader("Remove someone")
    with st.form("remove_user"):
        who = st.selectbox("Person", options=[u.identity for u in people], key="remove_identity")
        reason = st.text_input("Why *", key="remove_reason")
        if st.form_submit_button("Remove their role"):
            try:
                users.remove_user(db, who, reason, ui.change(frame.access))
            except CoprodError as exc:
                st.error(plain(str(exc)), icon=":material/error:")
            else:
                st.session_state["users_flash"] = f"Removed: {plain(who)} now sees the public view."
                st.rerun()

st.header("Visitors who are not signed in")
current = users.public_view(db)
choice = st.radio(
    "What do they see?",
    options=["on", "off"],
    index=0 if current else 1,
    format_func={
        "on": "The public view: figures only, with no names, notes or comments",
        "off": "Nothing but the sign-in button",
    }.__getitem__,
    key="public_view_choice",
)
if choice != ("on" if current else "off") and st.button("Save this setting", key="save_public"):
    try:
        users.set_setting(db, "public_view", choice, ui.change(frame.access))
    except CoprodError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
    else:
        st.session_state["users_flash"] = "Saved the setting."
        st.rerun()
