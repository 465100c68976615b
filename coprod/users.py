"""People who may sign in, their roles and boards, and the dashboard's settings.

An admin manages them on the Users page or with ``coprod users``; every change goes into the
audit trail (entity ``user`` or ``setting``) like any record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from coprod.access import (
    EVERY_BOARD,
    ROLE_DESCRIPTIONS,
    Access,
    Action,
    Role,
    boards_text,
    parse_boards,
)
from coprod.errors import CoprodError
from coprod.store import Change, Store

# An identity is the email address the identity provider vouches for, compared lower-cased.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

SETTINGS: dict[str, tuple[str, ...]] = {"public_view": ("on", "off")}


class UserError(CoprodError, ValueError):
    """A user or setting change that cannot be made, said in one sentence."""


@dataclass(frozen=True)
class User:
    identity: str
    role: Role
    boards: frozenset[str] | None
    name: str | None = None
    active: bool = True
    updated_by: str = ""
    updated_at: Any = None

    def access(self) -> Access:
        return Access(
            identity=self.identity,
            role=self.role,
            boards=self.boards,
            name=self.name,
            signed_in=True,
        )

    def row(self) -> dict[str, Any]:
        return {
            "identity": self.identity,
            "name": self.name,
            "role": self.role.value,
            "boards": boards_text(self.boards),
        }


def normalise_identity(identity: str) -> str:
    text = (identity or "").strip().lower()
    if not _EMAIL.match(text):
        raise UserError(
            f"'{identity}' is not an email address: give the address people sign in with."
        )
    return text


def _user(row: tuple[Any, ...]) -> User:
    identity, name, role, boards, withdrawn_at, updated_by, updated_at = row
    return User(
        identity=identity,
        role=Role(role),
        boards=parse_boards(boards),
        name=name,
        active=withdrawn_at is None,
        updated_by=updated_by,
        updated_at=updated_at,
    )


_SELECT = "SELECT identity, name, role, boards, withdrawn_at, updated_by, updated_at FROM app_user"


def list_users(store: Store, *, include_removed: bool = False) -> list[User]:
    where = "" if include_removed else " WHERE withdrawn_at IS NULL"
    with store.cursor() as cur:
        rows = cur.execute(f"{_SELECT}{where} ORDER BY role, identity").fetchall()
    return [_user(r) for r in rows]


def find(store: Store, identity: str) -> User | None:
    """The active user with this identity, or None."""
    try:
        key = normalise_identity(identity)
    except UserError:
        return None
    with store.cursor() as cur:
        row = cur.execute(
            f"{_SELECT} WHERE identity = ? AND withdrawn_at IS NULL", [key]
        ).fetchone()
    return _user(row) if row else None


def _audit(
    cur: Any, change: Change, entity: str, key: str, action: str, before: Any, after: Any
) -> None:
    cur.execute(
        "INSERT INTO audit_log (actor, source, entity, record_key, action, before, after) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            change.actor,
            change.source,
            entity,
            key,
            action,
            None if before is None else json.dumps(before),
            None if after is None else json.dumps(after),
        ],
    )


def _active_admins(cur: Any) -> set[str]:
    rows = cur.execute(
        "SELECT identity FROM app_user WHERE role = 'admin' AND withdrawn_at IS NULL"
    ).fetchall()
    return {r[0] for r in rows}


def save_user(
    store: Store,
    identity: str,
    role: Role | str,
    boards: str | Iterable[str] | None,
    change: Change,
    *,
    name: str | None = None,
) -> tuple[str, User]:
    """Add a person or change their role, boards or name. Returns (what happened, the user).

    ``boards`` is ``*`` (or None) for every board, else board ids. An admin always has every
    board. A removed person given a role again is brought back."""
    change.access.require(Action.manage)
    key = normalise_identity(identity)
    try:
        role = Role(str(role).strip().lower())
    except ValueError:
        raise UserError(
            f"'{role}' is not a role: use one of " + ", ".join(r.value for r in Role) + "."
        ) from None
    if role == Role.public:
        raise UserError(
            "public is what everyone without a role sees: remove the person instead, or give "
            "them member, auditor, editor or admin."
        )
    scope = parse_boards(EVERY_BOARD if boards is None else boards)
    if role == Role.admin:
        scope = None
    name = name.strip() if name and name.strip() else None
    with store.transaction() as cur:
        if scope:
            known = {
                r[0]
                for r in cur.execute(
                    "SELECT board_id FROM board WHERE list_contains(?, board_id)", [sorted(scope)]
                ).fetchall()
            }
            unknown = sorted(scope - known)
            if unknown:
                raise UserError(
                    "There is no board with the id "
                    + ", ".join(f"'{b}'" for b in unknown)
                    + ": give the ids of boards in the store, or * for every board."
                )
        row = cur.execute(f"{_SELECT} WHERE identity = ?", [key]).fetchone()
        before = _user(row) if row else None
        wanted = User(identity=key, role=role, boards=scope, name=name)
        if (
            before is not None
            and before.active
            and before.role == Role.admin
            and role != Role.admin
            and _active_admins(cur) == {key}
        ):
            raise UserError(
                f"{key} is the only admin: make someone else an admin before changing their role."
            )
        if before is not None and before.active and before.row() == wanted.row():
            return "unchanged", before
        if before is None:
            cur.execute(
                "INSERT INTO app_user (identity, name, role, boards, created_by, updated_by) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [key, name, role.value, boards_text(scope), change.actor, change.actor],
            )
            action = "create"
        else:
            cur.execute(
                "UPDATE app_user SET name = ?, role = ?, boards = ?, updated_by = ?, "
                "updated_at = now()::TIMESTAMP, withdrawn_at = NULL, withdrawn_by = NULL, "
                "withdrawn_reason = NULL WHERE identity = ?",
                [name, role.value, boards_text(scope), change.actor, key],
            )
            action = "update" if before.active else "restore"
        _audit(cur, change, "user", key, action, before.row() if before else None, wanted.row())
    saved = find(store, key)
    assert saved is not None
    return ("created" if before is None else "updated"), saved


def remove_user(store: Store, identity: str, reason: str, change: Change) -> User:
    """Take a person's role away (they see the public view, if any, from their next page)."""
    change.access.require(Action.manage)
    key = normalise_identity(identity)
    if not reason or not reason.strip():
        raise UserError("Say why this person is removed.")
    with store.transaction() as cur:
        row = cur.execute(
            f"{_SELECT} WHERE identity = ? AND withdrawn_at IS NULL", [key]
        ).fetchone()
        if row is None:
            raise UserError(f"{key} has no role to remove.")
        before = _user(row)
        if before.role == Role.admin and _active_admins(cur) == {key}:
            raise UserError(f"{key} is the only admin: make someone else an admin first.")
        cur.execute(
            "UPDATE app_user SET withdrawn_at = now()::TIMESTAMP, withdrawn_by = ?, "
            "withdrawn_reason = ?, updated_by = ?, updated_at = now()::TIMESTAMP "
            "WHERE identity = ?",
            [change.actor, reason.strip(), change.actor, key],
        )
        _audit(cur, change, "user", key, "withdraw", before.row(), None)
    return before


def setting(store: Store, key: str) -> str:
    if key not in SETTINGS:
        raise UserError(f"There is no setting called '{key}'.")
    with store.cursor() as cur:
        row = cur.execute("SELECT value FROM store_meta WHERE key = ?", [key]).fetchone()
    return str(row[0]) if row else SETTINGS[key][0]


def set_setting(store: Store, key: str, value: str, change: Change) -> bool:
    """Change a setting; returns whether it changed."""
    change.access.require(Action.manage)
    if key not in SETTINGS:
        raise UserError(f"There is no setting called '{key}'.")
    value = value.strip().lower()
    if value not in SETTINGS[key]:
        raise UserError(f"{key} is one of " + ", ".join(SETTINGS[key]) + f", not '{value}'.")
    with store.transaction() as cur:
        row = cur.execute("SELECT value FROM store_meta WHERE key = ?", [key]).fetchone()
        before = str(row[0]) if row else None
        if before == value:
            return False
        cur.execute(
            "INSERT INTO store_meta VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )
        _audit(cur, change, "setting", key, "update", {key: before}, {key: value})
    return True


def public_view(store: Store) -> bool:
    return setting(store, "public_view") == "on"


def role_choices() -> list[tuple[str, str]]:
    return [(r.value, ROLE_DESCRIPTIONS[r]) for r in Role if r != Role.public]
