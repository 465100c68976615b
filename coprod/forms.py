"""How each entity's fields are asked for on a recording form.

The answers are checked by the same pydantic models as an import (``coprod.records.parse``),
so a form and a file obey one set of rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from coprod.models import (
    Approach,
    BoardKind,
    Group,
    Level,
    MeetingKind,
    MemberRole,
    Method,
    Outcome,
)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str  # id, text, longtext, enum, date, bool, count, formats, ref
    required: bool = False
    help: str | None = None
    choices: type[StrEnum] | None = None
    refers_to: str | None = None  # board, meeting, member or decision


def _enum(
    name: str, label: str, choices: type[StrEnum], *, required: bool = True, help: str | None = None
) -> FieldSpec:
    return FieldSpec(name, label, "enum", required=required, help=help, choices=choices)


FORMS: dict[str, list[FieldSpec]] = {
    "board": [
        FieldSpec(
            "board_id", "Board id", "id", required=True, help="Letters, digits, '.', '_' or '-'."
        ),
        FieldSpec("name", "Name", "text", required=True),
        _enum("kind", "Kind of board", BoardKind),
        FieldSpec("area", "Area", "text"),
    ],
    "member": [
        FieldSpec("member_id", "Member id", "id", required=True),
        FieldSpec("board_id", "Board", "ref", required=True, refers_to="board"),
        FieldSpec("name", "Name", "text", required=True),
        _enum("role", "Role", MemberRole),
        FieldSpec("voting", "Voting member", "bool"),
        FieldSpec(
            "lived_experience",
            "Has lived experience of the services",
            "bool",
            help="Counts as a lived-experience voice at the table, whatever the role.",
        ),
        FieldSpec("organisation", "Organisation", "text"),
        FieldSpec("start_date", "Member from", "date", required=True),
        FieldSpec("end_date", "Member until", "date", help="Leave empty while still a member."),
    ],
    "meeting": [
        FieldSpec("meeting_id", "Meeting id", "id", required=True),
        FieldSpec("board_id", "Board", "ref", required=True, refers_to="board"),
        FieldSpec("date", "Date", "date", required=True),
        _enum("kind", "Kind of meeting", MeetingKind),
        FieldSpec("papers_published_on", "Papers published on", "date"),
    ],
    "decision": [
        FieldSpec("decision_id", "Decision id", "id", required=True),
        FieldSpec("board_id", "Board", "ref", required=True, refers_to="board"),
        FieldSpec("title", "Title", "text", required=True),
        FieldSpec("summary", "Summary", "longtext"),
        FieldSpec("service_area", "Service area", "text"),
        FieldSpec(
            "affects_people_who_use_services",
            "Affects people who use services",
            "bool",
            help="Untick only for decisions that do not affect them; then give the reason.",
        ),
        FieldSpec("exemption_reason", "Why it does not affect them", "longtext"),
        _enum(
            "claimed_approach",
            "Approach the board paper claims",
            Approach,
            help="What the paper says was done: checked against what was recorded.",
        ),
        FieldSpec("identified_on", "Identified on", "date", required=True),
        FieldSpec("options_fixed_on", "Options fixed on", "date"),
        FieldSpec("decided_on", "Decided on", "date", help="Leave empty while it is pending."),
        FieldSpec("meeting_id", "Decided at meeting", "ref", refers_to="meeting"),
        _enum("outcome", "Outcome", Outcome, required=False),
        FieldSpec("review_due_on", "Review due on", "date"),
    ],
    "involvement": [
        FieldSpec("involvement_id", "Involvement id", "id", required=True),
        FieldSpec("decision_id", "Decision", "ref", required=True, refers_to="decision"),
        FieldSpec("start_date", "Started on", "date", required=True),
        FieldSpec("end_date", "Ended on", "date"),
        _enum("group", "Who was involved", Group),
        FieldSpec("organisation", "Organisation", "text"),
        _enum("level", "Level on the ladder", Level, help="Inform is one-way and never counts."),
        _enum("method", "Method", Method, required=False),
        FieldSpec("participants", "Participants", "count"),
        FieldSpec("lived_experience_participants", "Of whom with lived experience", "count"),
        FieldSpec("accessible_formats", "Support offered", "formats"),
        FieldSpec("expenses_offered", "Expenses offered", "bool"),
        FieldSpec(
            "feedback_on",
            "Participants told the result on",
            "date",
            help="The date they were told the result and how their input was used.",
        ),
        FieldSpec("influence", "What changed because of it", "longtext"),
    ],
}
