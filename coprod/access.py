"""Who may see and do what: roles, the boards a person works on, and the check every write makes.

Five roles, from the least to the most rights:

- ``public``: anyone who is not signed in (when the admin allows it) and anyone signed in with
  no role yet. Aggregates only: no names of people, no notes or comments, no history.
- ``member``: a board member. Reads everything of their boards.
- ``auditor``: a Disabled People's Organisation representative. Reads everything of the boards
  they audit, confirms or disputes involvement, downloads evidence packs, reads the audit trail.
- ``editor``: an officer. Records and imports for their boards, reads their audit trail.
- ``admin``: everything, on every board, including users, roles and settings.

Pages ask ``Access.may`` before they draw; the store's writers call ``Access.require`` before
they write, so hiding a menu entry is never the only protection. The command line acts as an
admin (``CLI``): it is the store administrator's tool.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from coprod.errors import CoprodError


class Role(StrEnum):
    public = "public"
    member = "member"
    auditor = "auditor"
    editor = "editor"
    admin = "admin"


class Action(StrEnum):
    read_aggregates = "read aggregates"
    read_records = "read records"  # names of people, notes, comments, record history
    record = "record"  # create, edit, withdraw and restore records with the forms
    import_records = "import"
    export = "export"
    attest = "attest"  # confirm or dispute involvement
    evidence = "download evidence packs"
    audit = "read the audit trail"
    manage = "manage users and settings"


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.public: frozenset({Action.read_aggregates}),
    Role.member: frozenset({Action.read_aggregates, Action.read_records}),
    Role.auditor: frozenset(
        {
            Action.read_aggregates,
            Action.read_records,
            Action.attest,
            Action.evidence,
            Action.audit,
        }
    ),
    Role.editor: frozenset(
        {
            Action.read_aggregates,
            Action.read_records,
            Action.record,
            Action.import_records,
            Action.export,
            Action.audit,
        }
    ),
    Role.admin: frozenset(Action),
}

ROLE_DESCRIPTIONS: dict[Role, str] = {
    Role.public: "sees aggregates only: no names, notes or comments",
    Role.member: "a board member: reads everything of their boards",
    Role.auditor: (
        "a DPO representative: reads the boards they audit, confirms or disputes involvement, "
        "downloads evidence packs"
    ),
    Role.editor: "an officer: records and imports for their boards",
    Role.admin: "manages users, roles and settings; every right on every board",
}

ACTION_WORDS: dict[Action, str] = {
    Action.read_aggregates: "see this dashboard",
    Action.read_records: "see named records, notes and comments",
    Action.record: "record or change records",
    Action.import_records: "import records",
    Action.export: "export records",
    Action.attest: "confirm or dispute involvement",
    Action.evidence: "download evidence packs",
    Action.audit: "read the audit trail",
    Action.manage: "manage users and settings",
}

# "Every board", where the store names boards: a person's boards (app_user.boards) and the
# health-check item bank's board_id. No board id can be '*' (ids are letters, digits, '.', '_'
# and '-').
EVERY_BOARD = "*"


class Forbidden(CoprodError, PermissionError):
    """A person tried to do something their role does not allow: said in one sentence."""


@dataclass(frozen=True)
class Access:
    """One person's rights: their role and the boards they work on (None: every board)."""

    identity: str  # what the audit trail records: an email, or "<os user> (local)"
    role: Role
    boards: frozenset[str] | None = None
    name: str | None = None
    signed_in: bool = False
    local: bool = False  # the embedded default: no sign-in, this machine only, acting as admin
    known: bool = True  # False: signed in, but no role has been given to this identity

    def may(self, action: Action, board_id: str | None = None) -> bool:
        """May this person do ``action`` (on ``board_id``, when given)?"""
        if action not in ROLE_ACTIONS[self.role]:
            return False
        if board_id is None or self.boards is None or self.role == Role.public:
            return True
        return board_id in self.boards

    def may_all(self, action: Action, board_ids: Iterable[str]) -> bool:
        return all(self.may(action, b) for b in board_ids)

    def require(self, action: Action, board_ids: Iterable[str] = ()) -> None:
        """Raise ``Forbidden`` unless this person may do ``action`` on every board named."""
        if action not in ROLE_ACTIONS[self.role]:
            raise Forbidden(
                f"{self.who} may not {ACTION_WORDS[action]}: "
                f"that needs a different role than {self.role.value}."
            )
        outside = sorted({b for b in board_ids if not self.may(action, b)})
        if outside:
            raise Forbidden(
                f"{self.who} may not {ACTION_WORDS[action]} for "
                + ("board " if len(outside) == 1 else "boards ")
                + ", ".join(f"'{b}'" for b in outside)
                + ": it is not one of their boards."
            )

    def readable(self, board_ids: Iterable[str]) -> list[str]:
        """The boards of ``board_ids`` this person may see (in the order given)."""
        return [b for b in board_ids if self.may(Action.read_aggregates, b)]

    @property
    def every_board(self) -> bool:
        return self.boards is None

    @property
    def names_visible(self) -> bool:
        """Names of people, notes, comments and record history: not for the public view."""
        return Action.read_records in ROLE_ACTIONS[self.role]

    @property
    def who(self) -> str:
        return self.name or self.identity or "This visitor"

    def scope_text(self) -> str:
        if self.boards is None:
            return "every board"
        if not self.boards:
            return "no boards yet"
        return ", ".join(sorted(self.boards))


def cli_access(identity: str) -> Access:
    """The command line: the administrator's tool, with every right on every board."""
    return Access(identity=identity, role=Role.admin, local=True)


# Writes made by code that has no person behind it (tests, the demo generator): every right.
SYSTEM = Access(identity="system", role=Role.admin, local=True)

PUBLIC = Access(identity="", role=Role.public)


def parse_boards(text: str | Iterable[str]) -> frozenset[str] | None:
    """Boards as stored and typed: ``*`` for every board, else ids split on "," or ";".

    Nothing at all means no boards (never every board)."""
    parts = text.replace(";", ",").split(",") if isinstance(text, str) else list(text)
    cleaned = {p.strip() for p in parts if p and p.strip()}
    if EVERY_BOARD in cleaned:
        return None
    return frozenset(cleaned)


def boards_text(boards: frozenset[str] | None) -> str:
    return EVERY_BOARD if boards is None else ";".join(sorted(boards))
