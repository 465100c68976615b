"""The seven entities of docs/domain.md as pydantic models, shared by import, forms and tests.

Each model accepts values the way a person types them into a spreadsheet (``Co-design``,
``yes``, ``31/01/2024``, ``easy read; BSL``) and stores them in one canonical form, so that
export followed by import gives identical files.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

# --- enumerations ---------------------------------------------------------------------


class BoardKind(StrEnum):
    integration_joint_board = "integration_joint_board"
    strategic_planning_group = "strategic_planning_group"
    locality_group = "locality_group"
    committee = "committee"
    other = "other"


class MemberRole(StrEnum):
    """A member's role on a board (a person's role in the dashboard is coprod.access.Role)."""

    chair = "chair"
    vice_chair = "vice_chair"
    voting_health_board = "voting_health_board"
    voting_council = "voting_council"
    service_user_rep = "service_user_rep"
    carer_rep = "carer_rep"
    third_sector_rep = "third_sector_rep"
    staff_rep = "staff_rep"
    dpo_rep = "dpo_rep"
    officer = "officer"
    other = "other"


LIVED_EXPERIENCE_ROLES = (MemberRole.service_user_rep, MemberRole.carer_rep, MemberRole.dpo_rep)
# Roles an Integration Joint Board must have among its members (REP-COMPOSITION).
REQUIRED_IJB_ROLES = (
    MemberRole.service_user_rep,
    MemberRole.carer_rep,
    MemberRole.third_sector_rep,
    MemberRole.staff_rep,
)


class MeetingKind(StrEnum):
    public = "public"
    private = "private"
    development = "development"


class AttendanceStatus(StrEnum):
    present = "present"
    remote = "remote"
    substitute = "substitute"
    apologies = "apologies"
    absent = "absent"


AT_THE_TABLE = (AttendanceStatus.present, AttendanceStatus.remote, AttendanceStatus.substitute)


class Approach(StrEnum):
    """The involvement ladder, lowest first; ``none`` is below the ladder."""

    none = "none"
    inform = "inform"
    consult = "consult"
    engage = "engage"
    co_design = "co_design"
    co_produce = "co_produce"

    @property
    def rank(self) -> int:
        return list(Approach).index(self)


class Level(StrEnum):
    """A rung of the ladder an involvement reached (``inform`` never counts)."""

    inform = "inform"
    consult = "consult"
    engage = "engage"
    co_design = "co_design"
    co_produce = "co_produce"

    @property
    def rank(self) -> int:
        return Approach(self.value).rank


class Outcome(StrEnum):
    approved = "approved"
    amended = "amended"
    rejected = "rejected"
    deferred = "deferred"
    pending = "pending"


class Group(StrEnum):
    people_who_use_services = "people_who_use_services"
    carers = "carers"
    dpo = "dpo"
    community = "community"
    staff = "staff"
    other = "other"


QUALIFYING_GROUPS = (Group.people_who_use_services, Group.carers, Group.dpo)


class Method(StrEnum):
    survey = "survey"
    workshop = "workshop"
    focus_group = "focus_group"
    public_meeting = "public_meeting"
    reference_group = "reference_group"
    consultation = "consultation"
    one_to_one = "one_to_one"
    board_seat = "board_seat"
    other = "other"


class AccessibleFormat(StrEnum):
    easy_read = "easy_read"
    bsl = "bsl"
    large_print = "large_print"
    audio = "audio"
    translation = "translation"
    accessible_venue = "accessible_venue"
    transport = "transport"
    online = "online"
    hearing_loop = "hearing_loop"
    other = "other"


class Attestation(StrEnum):
    unconfirmed = "unconfirmed"
    confirmed = "confirmed"
    disputed = "disputed"


class RespondentGroup(StrEnum):
    lived_experience = "lived_experience"
    carer = "carer"
    dpo = "dpo"
    professional = "professional"
    other = "other"


LIVED_EXPERIENCE_SIDE = (
    RespondentGroup.lived_experience,
    RespondentGroup.carer,
    RespondentGroup.dpo,
)

DEFAULT_HEALTH_CHECK_ITEMS: dict[str, str] = {
    "trust": "Partners trust each other and don't play games.",
    "information_sharing": "Important information is shared, not held back.",
    "support": "Everyone gets the support they need to take part as equals.",
    "shared_understanding_coproduction": "We share an understanding of what co-production is.",
    "shared_understanding_problem": "We share an understanding of the problem we are solving.",
    "shared_understanding_outcome": "We share an understanding of the outcome we want.",
    "shared_responsibility": "We share responsibility for the work and its results.",
    "manageable_focus": "We focus on what we can deliver.",
}

# --- what can be stored ------------------------------------------------------------------

# One text value holds at most what one spreadsheet cell holds, so that every record a form, an
# import or a restore accepts can be exported to a workbook and imported again unchanged.
MAX_TEXT = 32_767
# The dates coprod keeps, for every way in: the forms' date pickers show exactly this range.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2199, 12, 31)
# Characters no text may hold: control characters other than tab, line feed and carriage return
# (they cannot travel in a workbook's XML, and some drive a terminal), lone surrogates and the
# two non-characters XML forbids.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


# In a workbook a carriage return is written _x000D_, and a text that looks like such an escape
# gets _x005F_ before it: each takes six characters more of the cell.
_WIDER_IN_A_CELL = re.compile(r"\r|_(?=x[0-9A-Fa-f]{4}_)")


def storable_problem(text: str) -> str | None:
    """Why a text cannot be stored as it is, or None when it can."""
    if len(text) > MAX_TEXT:
        return (
            f"is {len(text):,} characters long; a value holds at most {MAX_TEXT:,} "
            "(what one spreadsheet cell holds)"
        )
    if len(text) + 6 * len(_WIDER_IN_A_CELL.findall(text)) > MAX_TEXT:
        return (
            f"is too long for one spreadsheet cell: a value holds at most {MAX_TEXT:,} "
            "characters, and in a workbook each carriage return takes 7"
        )
    bad = _UNSTORABLE.search(text)
    if bad:
        return (
            f"holds a control character (U+{ord(bad.group(0)):04X}) at character "
            f"{bad.start() + 1}, which cannot be stored: remove it"
        )
    return None


def _storable(value: Any) -> Any:
    if isinstance(value, str) and (problem := storable_problem(value)):
        raise ValueError(problem)
    return value


def date_problem(value: dt.date) -> str | None:
    """Why a date is outside the range coprod keeps, or None."""
    if EARLIEST_DATE <= value <= LATEST_DATE:
        return None
    return (
        f"{value.isoformat()} is outside the dates coprod keeps "
        f"({EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()})"
    )


def _in_range(value: Any) -> Any:
    if isinstance(value, dt.date) and (problem := date_problem(value)):
        raise ValueError(problem)
    return value


# --- how people type values -------------------------------------------------------------


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
    return value


@lru_cache(maxsize=8192)
def normalise_token(value: str) -> str:
    """``Co-design``, ``co design`` and ``CO_DESIGN`` all become ``co_design``.

    Cached: an import meets the same few tokens hundreds of thousands of times."""
    token = re.sub(r"[\s\-]+", "_", value.strip().lower())
    return token.replace("'", "")


def _enum_value(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, str):
        return normalise_token(value)
    return value


_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


def _boolean(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise ValueError("must be true or false (also yes/no, 1/0)")


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UK = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def _date(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0):
            raise ValueError("must be a date without a time of day")
        return value.date()
    if isinstance(value, str):
        return _date_text(value)
    raise ValueError(f"'{value}' is not a date: use YYYY-MM-DD or DD/MM/YYYY")


@lru_cache(maxsize=65536)
def _date_text(value: str) -> dt.date:
    """A typed date; cached, as an import reads the same dates many times."""
    try:
        if _ISO.match(value):
            return dt.date.fromisoformat(value)
        uk = _UK.match(value)
        if uk:
            day, month, year = (int(g) for g in uk.groups())
            return dt.date(year, month, day)
        if (
            len(value) > 10
            and _ISO.match(value[:10])
            and value[10:].strip(" T")
            in (
                "00:00:00",
                "00:00",
            )
        ):
            return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(f"'{value}' is not a real calendar date") from None
    raise ValueError(f"'{value}' is not a date: use YYYY-MM-DD or DD/MM/YYYY")


def _count(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a whole number") from None
        if not number.is_integer():
            raise ValueError(f"'{value}' is not a whole number")
        return int(number)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"'{value}' is not a whole number")
        return int(value)
    return value


def _format_set(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return []
    if isinstance(value, str):
        return list(_format_text(value))
    return _formats(value)


@lru_cache(maxsize=4096)
def _format_text(value: str) -> tuple[AccessibleFormat, ...]:
    return tuple(_formats([part for part in value.split(";") if part.strip()]))


_FORMAT_VALUES = frozenset(f.value for f in AccessibleFormat)


def _formats(value: Any) -> Any:
    if isinstance(value, list | tuple | set | frozenset):
        tokens = [normalise_token(str(v)) for v in value]
        known = _FORMAT_VALUES
        unknown = [t for t in tokens if t not in known]
        if unknown:
            raise ValueError(
                f"'{unknown[0]}' is not an accessible format; use one of "
                + ", ".join(f.value for f in AccessibleFormat)
            )
        # Canonical order (the enum's) so that export is stable.
        chosen = set(tokens)
        return [f for f in AccessibleFormat if f.value in chosen]
    return value


def _text(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


RecordId = Annotated[
    str,
    BeforeValidator(_text),
    StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$"),
]
Text = Annotated[
    str, BeforeValidator(_text), StringConstraints(min_length=1), AfterValidator(_storable)
]
OptText = Annotated[str | None, BeforeValidator(_text), AfterValidator(_storable)]
Flag = Annotated[bool, BeforeValidator(_boolean)]
OptFlag = Annotated[bool | None, BeforeValidator(_boolean)]
Day = Annotated[dt.date, BeforeValidator(_date), AfterValidator(_in_range)]
OptDay = Annotated[dt.date | None, BeforeValidator(_date), AfterValidator(_in_range)]
OptCount = Annotated[int | None, BeforeValidator(_count), Field(ge=0)]
Formats = Annotated[list[AccessibleFormat], BeforeValidator(_format_set)]


def _enum(enum_type: type[StrEnum]) -> Any:
    return Annotated[enum_type, BeforeValidator(_enum_value)]


def _opt_enum(enum_type: type[StrEnum]) -> Any:
    return Annotated[enum_type | None, BeforeValidator(_enum_value)]


class Entity(BaseModel):
    """Common configuration: unknown fields are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    table: ClassVar[str]
    file_name: ClassVar[str]
    key: ClassVar[tuple[str, ...]]
    label: ClassVar[str]

    def key_values(self) -> tuple[str, ...]:
        return tuple(str(getattr(self, k)) for k in self.key)


class Board(Entity):
    table: ClassVar[str] = "board"
    file_name: ClassVar[str] = "boards"
    key: ClassVar[tuple[str, ...]] = ("board_id",)
    label: ClassVar[str] = "board"

    board_id: RecordId
    name: Text
    kind: _enum(BoardKind)  # type: ignore[valid-type]
    area: OptText = None


class Member(Entity):
    table: ClassVar[str] = "member"
    file_name: ClassVar[str] = "members"
    key: ClassVar[tuple[str, ...]] = ("member_id",)
    label: ClassVar[str] = "member"

    member_id: RecordId
    board_id: RecordId
    name: Text
    role: _enum(MemberRole)  # type: ignore[valid-type]
    voting: Flag
    lived_experience: Flag = False
    organisation: OptText = None
    start_date: Day
    end_date: OptDay = None

    @field_validator("lived_experience", mode="before")
    @classmethod
    def _default_false(cls, value: Any) -> Any:
        return False if _blank_to_none(value) is None else value

    @model_validator(mode="after")
    def _dates_in_order(self) -> Member:
        if self.end_date is not None and self.end_date < self.start_date:
            raise_field("end_date", "end_date is before start_date")
        return self


class Meeting(Entity):
    table: ClassVar[str] = "meeting"
    file_name: ClassVar[str] = "meetings"
    key: ClassVar[tuple[str, ...]] = ("meeting_id",)
    label: ClassVar[str] = "meeting"

    meeting_id: RecordId
    board_id: RecordId
    date: Day
    kind: _enum(MeetingKind) = MeetingKind.public  # type: ignore[valid-type]
    papers_published_on: OptDay = None

    @field_validator("kind", mode="before")
    @classmethod
    def _default_public(cls, value: Any) -> Any:
        return MeetingKind.public if _blank_to_none(value) is None else value


class Attendance(Entity):
    table: ClassVar[str] = "attendance"
    file_name: ClassVar[str] = "attendance"
    key: ClassVar[tuple[str, ...]] = ("meeting_id", "member_id")
    label: ClassVar[str] = "attendance"

    meeting_id: RecordId
    member_id: RecordId
    status: _enum(AttendanceStatus)  # type: ignore[valid-type]


class Decision(Entity):
    table: ClassVar[str] = "decision"
    file_name: ClassVar[str] = "decisions"
    key: ClassVar[tuple[str, ...]] = ("decision_id",)
    label: ClassVar[str] = "decision"

    decision_id: RecordId
    board_id: RecordId
    title: Text
    summary: OptText = None
    service_area: OptText = None
    affects_people_who_use_services: Flag = True
    exemption_reason: OptText = None
    claimed_approach: _enum(Approach) = Approach.none  # type: ignore[valid-type]
    identified_on: Day
    options_fixed_on: OptDay = None
    decided_on: OptDay = None
    meeting_id: RecordId | None = None
    outcome: _opt_enum(Outcome) = None  # type: ignore[valid-type]
    review_due_on: OptDay = None

    @field_validator("affects_people_who_use_services", mode="before")
    @classmethod
    def _default_true(cls, value: Any) -> Any:
        return True if _blank_to_none(value) is None else value

    @field_validator("claimed_approach", mode="before")
    @classmethod
    def _default_none(cls, value: Any) -> Any:
        return Approach.none if _blank_to_none(value) is None else value

    @field_validator("meeting_id", mode="before")
    @classmethod
    def _blank_meeting(cls, value: Any) -> Any:
        return _text(value)

    @model_validator(mode="after")
    def _consistent(self) -> Decision:
        if self.options_fixed_on is not None and self.options_fixed_on < self.identified_on:
            raise_field("options_fixed_on", "options_fixed_on is before identified_on")
        if self.decided_on is not None:
            if self.decided_on < self.identified_on:
                raise_field("decided_on", "decided_on is before identified_on")
            if self.options_fixed_on is not None and self.decided_on < self.options_fixed_on:
                raise_field("decided_on", "decided_on is before options_fixed_on")
        if not self.affects_people_who_use_services and not self.exemption_reason:
            raise_field(
                "exemption_reason",
                "exemption_reason is required when affects_people_who_use_services is false",
            )
        return self


class Involvement(Entity):
    table: ClassVar[str] = "involvement"
    file_name: ClassVar[str] = "involvements"
    key: ClassVar[tuple[str, ...]] = ("involvement_id",)
    label: ClassVar[str] = "involvement"

    involvement_id: RecordId
    decision_id: RecordId
    start_date: Day
    end_date: OptDay = None
    group: _enum(Group)  # type: ignore[valid-type]
    organisation: OptText = None
    level: _enum(Level)  # type: ignore[valid-type]
    method: _opt_enum(Method) = None  # type: ignore[valid-type]
    participants: OptCount = None
    lived_experience_participants: OptCount = None
    accessible_formats: Formats = Field(default_factory=list)
    expenses_offered: OptFlag = None
    feedback_on: OptDay = None
    influence: OptText = None
    attestation: _enum(Attestation) = Attestation.unconfirmed  # type: ignore[valid-type]
    attestation_note: OptText = None

    @field_validator("attestation", mode="before")
    @classmethod
    def _default_unconfirmed(cls, value: Any) -> Any:
        return Attestation.unconfirmed if _blank_to_none(value) is None else value

    @model_validator(mode="after")
    def _consistent(self) -> Involvement:
        if self.end_date is not None and self.end_date < self.start_date:
            raise_field("end_date", "end_date is before start_date")
        if (
            self.participants is not None
            and self.lived_experience_participants is not None
            and self.lived_experience_participants > self.participants
        ):
            raise_field(
                "lived_experience_participants",
                "lived_experience_participants is more than participants",
            )
        return self


class HealthCheck(Entity):
    """One item scored by one respondent at one health-check."""

    table: ClassVar[str] = "health_check"
    file_name: ClassVar[str] = "health_checks"
    key: ClassVar[tuple[str, ...]] = ("response_id", "item")
    label: ClassVar[str] = "health-check response"

    response_id: RecordId
    board_id: RecordId
    check_date: Day
    respondent_group: _enum(RespondentGroup)  # type: ignore[valid-type]
    item: Annotated[
        str,
        BeforeValidator(_enum_value),
        StringConstraints(pattern=r"^[a-z0-9_]{1,64}$"),
    ]
    score: Annotated[int, BeforeValidator(_count), Field(ge=1, le=5)]
    comment: OptText = None


ENTITIES: tuple[type[Entity], ...] = (
    Board,
    Member,
    Meeting,
    Attendance,
    Decision,
    Involvement,
    HealthCheck,
)
ENTITY_BY_FILE = {e.file_name: e for e in ENTITIES}
ENTITY_BY_TABLE = {e.table: e for e in ENTITIES}


class FieldProblem(ValueError):
    """A consistency rule broken by one named field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def raise_field(field: str, message: str) -> None:
    raise FieldProblem(field, message)
