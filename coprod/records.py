"""Recording one record at a time: the service layer behind every recording form and the CLI.

Everything here validates exactly as import does (``coprod.interchange.validate``), writes in
one transaction through ``coprod.interchange.write_records`` (so every create and update gets an
audit-trail entry with the values before and after), and never deletes: a record is *withdrawn*
with a reason and can be *restored*.

Two people saving at once never silently lose a change. A form remembers the version it showed
(``Stored.updated_at``) and passes it back as ``expected_updated_at``; if the record changed in
the meantime the save is refused with a ``ConflictError`` that says who changed it and when.
Every write made here stamps the record with an ``updated_at`` later than the one it replaced,
so two quick saves always get distinct, increasing versions.

No Streamlit here: pages call these functions and show the exceptions' messages.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar, cast

from coprod.access import Action
from coprod.errors import CoprodError
from coprod.interchange import (
    CsvWriter,
    ImportRejected,
    Problem,
    Sheet,
    validate,
    validate_rows,
    write_records,
)
from coprod.models import (
    Attendance,
    AttendanceStatus,
    Attestation,
    Entity,
    HealthCheck,
    Involvement,
    RespondentGroup,
    normalise_token,
)
from coprod.store import AUDIT_COLUMNS, COLUMNS, KEYS, Change, Store, quote

E = TypeVar("E", bound=Entity)
KeyLike = str | tuple[str, ...]

WITHDRAWN_COLUMNS = ("withdrawn_at", "withdrawn_by", "withdrawn_reason")
ONE_MICROSECOND = dt.timedelta(microseconds=1)


class _StampMarker:
    """Stands for 'the new version's timestamp' in ``_audited_update`` assignments."""


_STAMP = _StampMarker()


# --- errors -------------------------------------------------------------------------------


class RecordsError(CoprodError):
    """A write that was refused; the message is one plain-English sentence for the user."""


class RecordRejected(ImportRejected):
    """The record was not saved because a value is wrong; every problem names its field.

    A subclass of ``ImportRejected`` so that code showing import problems shows these too.
    """

    def __init__(self, what: str, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.what = what
        reasons = "; ".join(
            ", ".join(part for part in (p.file if p.file != what else "", p.field) if part)
            + (": " if p.field or p.file != what else "")
            + p.reason
            for p in problems
        )
        self.args = (f"The {what} was not saved: {reasons}.",)

    @property
    def fields(self) -> dict[str, str]:
        """{field: reason} for showing each problem beside its input (first reason per field)."""
        out: dict[str, str] = {}
        for p in self.problems:
            out.setdefault(p.field or "", p.reason)
        return out


class ConflictError(RecordsError):
    """Someone else changed (or created) the record after this person opened it."""

    def __init__(self, message: str, current: Stored[Any] | None = None) -> None:
        super().__init__(message)
        self.current = current


class NotFoundError(RecordsError, LookupError):
    """No record has that key."""


class StateError(RecordsError):
    """The record is not in a state that allows this (withdrawn twice, restored while live)."""


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored(Generic[E]):
    """A record as stored: the validated model plus its audit columns.

    ``updated_at`` is the version token: pass it back as ``expected_updated_at`` when saving.
    """

    record: E
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str
    withdrawn_at: dt.datetime | None = None
    withdrawn_by: str | None = None
    withdrawn_reason: str | None = None

    @property
    def key(self) -> tuple[str, ...]:
        return self.record.key_values()

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None


@dataclass(frozen=True)
class SaveResult(Generic[E]):
    """What ``save`` did (``created``, ``updated`` or ``unchanged``) and the record now stored."""

    action: str
    stored: Stored[E]

    @property
    def changed(self) -> bool:
        return self.action != "unchanged"


@dataclass
class BatchResult:
    """What a multi-record save did, by part key (member id or item)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.withdrawn or self.restored)


# --- helpers ------------------------------------------------------------------------------
# SQL below is assembled only from the fixed schema's identifiers (each through
# coprod.store.quote) and this module's constants; every value is a bound parameter (S608).


def _key(entity: type[Entity], key: KeyLike) -> tuple[str, ...]:
    parts = (key,) if isinstance(key, str) else tuple(key)
    if len(parts) != len(entity.key):
        raise ValueError(
            f"a {entity.label} key is {'/'.join(entity.key)}; got {len(parts)} value(s)"
        )
    return tuple(str(p) for p in parts)


def _record_key(key: tuple[str, ...]) -> str:
    """The key as the audit trail spells it (``write_records`` uses concat_ws('/', ...))."""
    return "/".join(key)


def _entity_columns(entity: type[Entity]) -> list[str]:
    return [name for name, _ in COLUMNS[entity.table]]


def _select(entity: type[Entity], alias: str = "t") -> str:
    cols = [*_entity_columns(entity), *AUDIT_COLUMNS]
    return ", ".join(f"{alias}.{quote(c)}" for c in cols)


def _key_where(entity: type[Entity], alias: str = "t") -> str:
    return " AND ".join(f"{alias}.{quote(k)} = ?" for k in entity.key)


def _stored(entity: type[E], names: list[str], row: tuple[Any, ...]) -> Stored[E]:
    values = dict(zip(names, row, strict=True))
    data = {c: values[c] for c in _entity_columns(entity) if values[c] is not None}
    return Stored(
        record=entity.model_validate(data),
        created_at=values["created_at"],
        created_by=values["created_by"],
        updated_at=values["updated_at"],
        updated_by=values["updated_by"],
        withdrawn_at=values["withdrawn_at"],
        withdrawn_by=values["withdrawn_by"],
        withdrawn_reason=values["withdrawn_reason"],
    )


def _fetch(cur: Any, entity: type[E], key: tuple[str, ...]) -> Stored[E] | None:
    result = cur.execute(
        f"SELECT {_select(entity)} FROM {quote(entity.table)} t WHERE {_key_where(entity)}",  # noqa: S608
        list(key),
    )
    names = [d[0] for d in result.description]
    row = result.fetchone()
    return None if row is None else _stored(entity, names, row)


def _fetch_where(cur: Any, entity: type[E], column: str, value: str) -> list[Stored[E]]:
    result = cur.execute(
        f"SELECT {_select(entity)} FROM {quote(entity.table)} t WHERE t.{quote(column)} = ? "  # noqa: S608
        f"ORDER BY {', '.join(f't.{quote(k)}' for k in entity.key)}",
        [value],
    )
    names = [d[0] for d in result.description]
    return [_stored(entity, names, row) for row in result.fetchall()]


def board_of(cur: Any, record: Entity) -> str | None:
    """The board a record belongs to (attendance through its meeting, involvement through its
    decision); None when what it names does not exist (validation says so)."""
    if isinstance(record, Attendance):
        row = cur.execute(
            "SELECT board_id FROM meeting WHERE meeting_id = ?", [record.meeting_id]
        ).fetchone()
        return str(row[0]) if row else None
    if isinstance(record, Involvement):
        row = cur.execute(
            "SELECT board_id FROM decision WHERE decision_id = ?", [record.decision_id]
        ).fetchone()
        return str(row[0]) if row else None
    board = getattr(record, "board_id", None)
    return str(board) if board is not None else None


def authorise(cur: Any, change: Change, action: Action, records: Iterable[Entity | None]) -> None:
    """Refuse (``access.Forbidden``) unless the person changing may do ``action`` on the boards
    of every record given: the new values and the stored ones, so nothing moves out of reach."""
    boards = {b for r in records if r is not None and (b := board_of(cur, r)) is not None}
    change.access.require(action, boards)


def when(moment: dt.datetime) -> str:
    """``14:03 on 3 March 2026``: how the app says when something happened."""
    return f"{moment:%H:%M} on {moment.day} {moment:%B %Y}"


def _changed_message(what: str, current: Stored[Any]) -> str:
    verb = "withdrew" if current.withdrawn_at == current.updated_at else "changed"
    return (
        f"{current.updated_by} {verb} this {what} at {when(current.updated_at)} after you "
        "opened it: reload to see their change, then make yours again."
    )


def _exists_message(what: str, current: Stored[Any]) -> str:
    state = " (it is withdrawn)" if current.withdrawn else ""
    return (
        f"A {what} with the id '{_record_key(current.key)}' already exists{state}, recorded by "
        f"{current.created_by} at {when(current.created_at)}: open that one to change it, or "
        "choose a different id."
    )


def _next_stamp(cur: Any, previous: dt.datetime | None) -> dt.datetime:
    """Now, but always after ``previous``: versions of one record strictly increase."""
    row = cur.execute("SELECT now()::TIMESTAMP").fetchone()
    now = cast(dt.datetime, row[0])
    if previous is not None and now <= previous:
        return previous + ONE_MICROSECOND
    return now


def _stamp(
    cur: Any, entity: type[Entity], key: tuple[str, ...], previous: dt.datetime | None, actor: str
) -> None:
    """Give a record that changed in this transaction a version later than ``previous``."""
    stamp = _next_stamp(cur, previous)
    cur.execute(
        f"UPDATE {quote(entity.table)} t SET updated_at = ?, updated_by = ? "  # noqa: S608
        f"WHERE {_key_where(entity)}",
        [stamp, actor, *key],
    )


def _as_json(entity: type[Entity], with_withdrawn: bool) -> str:
    cols = _entity_columns(entity) + (list(WITHDRAWN_COLUMNS) if with_withdrawn else [])
    return "to_json(struct_pack(" + ", ".join(f"{quote(c)} := t.{quote(c)}" for c in cols) + "))"


def _audited_update(
    cur: Any,
    entity: type[Entity],
    key: tuple[str, ...],
    action: str,
    assignments: Mapping[str, Any],
    change: Change,
    previous: dt.datetime,
    *,
    with_withdrawn: bool,
) -> dt.datetime:
    """Update some columns of one record and write an audit entry with before and after."""
    as_json = _as_json(entity, with_withdrawn)
    where = _key_where(entity)
    table = quote(entity.table)
    before = cur.execute(f"SELECT {as_json} FROM {table} t WHERE {where}", list(key)).fetchone()  # noqa: S608
    stamp = _next_stamp(cur, previous)
    values = dict(assignments)
    sets = ", ".join(f"{quote(c)} = ?" for c in values)
    cur.execute(
        f"UPDATE {table} t SET {sets}, updated_at = ?, updated_by = ? WHERE {where}",  # noqa: S608
        [*(stamp if v is _STAMP else v for v in values.values()), stamp, change.actor, *key],
    )
    after = cur.execute(f"SELECT {as_json} FROM {table} t WHERE {where}", list(key)).fetchone()  # noqa: S608
    cur.execute(
        "INSERT INTO audit_log (actor, source, entity, record_key, action, before, after) "
        "VALUES (?, ?, ?, ?, ?, CAST(? AS JSON), CAST(? AS JSON))",
        [
            change.actor,
            change.source,
            entity.table,
            _record_key(key),
            action,
            before[0],
            after[0],
        ],
    )
    return stamp


def _check_version(
    what: str,
    current: Stored[Any] | None,
    expected_updated_at: dt.datetime | None,
    allow_overwrite: bool,
) -> None:
    if allow_overwrite:
        return
    if expected_updated_at is None:
        if current is not None:
            raise ConflictError(_exists_message(what, current), current)
        return
    if current is None:
        raise ConflictError(
            f"This {what} is no longer in the store (it may have been restored from a backup "
            "after you opened it): reload the page.",
        )
    if current.updated_at != expected_updated_at:
        raise ConflictError(_changed_message(what, current), current)


def _rejected(
    what: str, exc: ImportRejected, labels: Mapping[int, str] | None = None
) -> RecordRejected:
    """An import's problems rephrased for one record (no file, no spreadsheet row)."""
    problems = [
        replace(p, file=(labels or {}).get(p.row or 0, what), row=None) for p in exc.problems
    ]
    return RecordRejected(what, problems)


def _validate_all(store: Store, entity: type[E], labelled: list[tuple[str, E]], what: str) -> None:
    """Validate records and their references exactly as an import of them would."""
    if not labelled:
        return
    header = _entity_columns(entity)
    sheet = Sheet(what, entity, header)
    labels: dict[int, str] = {}
    for number, (label, record) in enumerate(labelled, start=1):
        sheet.rows.append((number, record.model_dump()))
        labels[number] = label
    try:
        validate(store, [sheet])
    except ImportRejected as exc:
        raise _rejected(what, exc, labels) from None


def parse(entity: type[E], values: Mapping[str, Any]) -> E:
    """A record from what a person typed into a form (``31/01/2024``, ``Co-design``, ``yes``).

    Raises ``RecordRejected`` naming each bad field. References are checked when it is saved.
    """
    sheet = Sheet(entity.label, entity, list(values), [(1, dict(values))])
    good, problems = validate_rows(sheet)
    if problems:
        raise _rejected(entity.label, ImportRejected(problems))
    return cast(E, good[0][1])


# --- reading ------------------------------------------------------------------------------


def get(store: Store, entity: type[E], key: KeyLike) -> Stored[E] | None:
    """One record (live or withdrawn) with its version and audit columns, or None."""
    with store.cursor() as cur:
        return _fetch(cur, entity, _key(entity, key))


# How each entity reaches its board, and the order a list of it is shown in.
_PARENT_JOIN: dict[str, tuple[str, str]] = {
    "board": ("", "t.board_id"),
    "member": ("", "t.board_id"),
    "meeting": ("", "t.board_id"),
    "attendance": ("LEFT JOIN meeting p ON p.meeting_id = t.meeting_id", "p.board_id"),
    "decision": ("", "t.board_id"),
    "involvement": ("LEFT JOIN decision p ON p.decision_id = t.decision_id", "p.board_id"),
    "health_check": ("", "t.board_id"),
}
_ORDER: dict[str, str] = {
    "board": "t.name, t.board_id",
    "member": "t.board_id, t.name, t.member_id",
    "meeting": "t.board_id, t.date, t.meeting_id",
    "attendance": "p.board_id, p.date, t.meeting_id, t.member_id",
    "decision": "t.board_id, t.identified_on, t.decision_id",
    "involvement": "t.decision_id, t.start_date, t.involvement_id",
    "health_check": "t.board_id, t.check_date, t.response_id, t.item",
}


def _records_from(
    entity: type[Entity],
    board_ids: Iterable[str] | None,
    include_withdrawn: bool,
    where: Mapping[str, Any] | None,
    search: str | None,
) -> tuple[str, list[Any]]:
    """The FROM and WHERE of list_records and count_records, with their parameters."""
    join, board_col = _PARENT_JOIN[entity.table]
    clauses: list[str] = []
    params: list[Any] = []
    if board_ids is not None:
        clauses.append(f"list_contains(CAST(? AS VARCHAR[]), {board_col})")
        params.append(list(board_ids))
    if not include_withdrawn:
        clauses.append("t.withdrawn_at IS NULL")
    known = set(_entity_columns(entity)) | set(AUDIT_COLUMNS)
    for column, value in (where or {}).items():
        if column not in known:
            raise ValueError(f"a {entity.label} has no column {column!r}")
        clauses.append(f"t.{quote(column)} = ?")
        params.append(getattr(value, "value", value))
    if search and search.strip():
        # Its id, or words of its name or title, anywhere and in any case.
        searched = [*KEYS[entity.table], *(c for c in ("name", "title") if c in known)]
        clauses.append(
            "(" + " OR ".join(f"contains(lower(t.{quote(c)}), ?)" for c in searched) + ")"
        )
        params.extend([search.strip().lower()] * len(searched))
    condition = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    return f"FROM {quote(entity.table)} t {join} {condition}", params


def list_records(
    store: Store,
    entity: type[E],
    *,
    board_ids: Iterable[str] | None = None,
    include_withdrawn: bool = True,
    where: Mapping[str, Any] | None = None,
    search: str | None = None,
    limit: int | None = None,
) -> list[Stored[E]]:
    """Records of one entity, in the order pages show them.

    ``board_ids`` keeps those of the given boards (attendance through its meeting, involvement
    through its decision); ``where`` keeps those whose columns equal the values given, for
    example ``where={"decision_id": "d1"}`` for one decision's involvements; ``search`` keeps
    those whose id, name or title contains it; ``limit`` keeps the first so many.
    """
    source, params = _records_from(entity, board_ids, include_withdrawn, where, search)
    bound = f" LIMIT {int(limit)}" if limit is not None else ""
    with store.cursor() as cur:
        result = cur.execute(
            f"SELECT {_select(entity)} {source} ORDER BY {_ORDER[entity.table]}{bound}", params
        )
        names = [d[0] for d in result.description or []]
        return [_stored(entity, names, row) for row in result.fetchall()]


def count_records(
    store: Store,
    entity: type[Entity],
    *,
    board_ids: Iterable[str] | None = None,
    include_withdrawn: bool = True,
    search: str | None = None,
) -> int:
    """How many records list_records would give without a limit."""
    source, params = _records_from(entity, board_ids, include_withdrawn, None, search)
    with store.cursor() as cur:
        row = cur.execute(f"SELECT count(*) {source}", params).fetchone()
    return int(row[0]) if row else 0


# --- saving one record --------------------------------------------------------------------


def save(
    store: Store,
    record: E,
    change: Change,
    *,
    expected_updated_at: dt.datetime | None = None,
    allow_overwrite: bool = False,
) -> SaveResult[E]:
    """Create or update one record in one transaction, audited.

    ``expected_updated_at`` is the version the form showed (None for a new record). If the
    stored record has moved on, or a "new" record's id is already taken, ``ConflictError`` is
    raised and nothing is written; ``allow_overwrite`` skips that check. A withdrawn record must
    be restored before it can be changed. Bad values or references raise ``RecordRejected``.
    """
    entity = type(record)
    what = entity.label
    key = record.key_values()
    with store.transaction() as cur:
        current = _fetch(cur, entity, key)
        authorise(cur, change, Action.record, [record, current.record if current else None])
        _check_version(what, current, expected_updated_at, allow_overwrite)
        if current is not None and current.withdrawn:
            assert current.withdrawn_at is not None
            raise StateError(
                f"This {what} was withdrawn by {current.withdrawn_by} at "
                f"{when(current.withdrawn_at)}: restore it before changing it."
            )
        if isinstance(record, HealthCheck):  # first, to say how to put it right on a form
            _check_same_response(cur, record)
        _validate_all(store, entity, [(what, record)], what)
        if isinstance(record, Involvement):
            _check_attestation_unchanged(record, current)
        if current is not None and current.record == record:
            return SaveResult("unchanged", current)
        write_records(cur, entity.table, [record], change)
        _stamp(cur, entity, key, current.updated_at if current else None, change.actor)
        stored = _fetch(cur, entity, key)
    assert stored is not None
    return SaveResult("created" if current is None else "updated", stored)


def _check_same_response(cur: Any, answer: HealthCheck) -> None:
    """One respondent's answers share a board, a date and a group (as import requires)."""
    for other in _fetch_where(cur, HealthCheck, "response_id", answer.response_id):
        if other.withdrawn or other.record.item == answer.item:
            continue
        for column in ("board_id", "check_date", "respondent_group"):
            if getattr(other.record, column) != getattr(answer, column):
                raise RecordRejected(
                    "health-check response",
                    [
                        Problem(
                            "health-check response",
                            None,
                            column,
                            f"response '{answer.response_id}' has a different {column} on item "
                            f"'{other.record.item}': save the whole response together",
                        )
                    ],
                )


def _check_attestation_unchanged(record: Involvement, current: Stored[Any] | None) -> None:
    """Confirming or disputing goes through ``attest``, so the trail shows it as such."""
    if current is None:
        if record.attestation == Attestation.disputed and not record.attestation_note:
            raise RecordRejected(
                "involvement",
                [Problem("involvement", None, "attestation_note", "a dispute needs a note")],
            )
        return
    before = cast(Involvement, current.record)
    for name in ("attestation", "attestation_note"):
        if getattr(before, name) != getattr(record, name):
            raise RecordRejected(
                "involvement",
                [
                    Problem(
                        "involvement",
                        None,
                        name,
                        "confirm or dispute an involvement with 'attest', not by editing it",
                    )
                ],
            )


# --- withdrawing, restoring, attesting ----------------------------------------------------


def _live(cur: Any, entity: type[E], key: tuple[str, ...]) -> Stored[E]:
    current = _fetch(cur, entity, key)
    if current is None:
        raise NotFoundError(f"There is no {entity.label} with the id '{_record_key(key)}'.")
    return current


def withdraw(
    store: Store,
    entity: type[E],
    key: KeyLike,
    reason: str,
    change: Change,
    *,
    expected_updated_at: dt.datetime | None = None,
) -> Stored[E]:
    """Withdraw a record with a reason: it stops counting but stays in the store and the trail."""
    parts = _key(entity, key)
    what = entity.label
    if not reason or not reason.strip():
        raise RecordRejected(
            what, [Problem(what, None, "withdrawn_reason", "say why it is withdrawn")]
        )
    with store.transaction() as cur:
        current = _live(cur, entity, parts)
        authorise(cur, change, Action.record, [current.record])
        if expected_updated_at is not None:
            _check_version(what, current, expected_updated_at, False)
        if current.withdrawn:
            assert current.withdrawn_at is not None
            raise StateError(
                f"This {what} is already withdrawn (by {current.withdrawn_by} at "
                f"{when(current.withdrawn_at)}: {current.withdrawn_reason})."
            )
        _audited_update(
            cur,
            entity,
            parts,
            "withdraw",
            {"withdrawn_at": _STAMP, "withdrawn_by": change.actor, "withdrawn_reason": reason},
            change,
            current.updated_at,
            with_withdrawn=True,
        )
        stored = _fetch(cur, entity, parts)
    assert stored is not None
    return stored


def restore(
    store: Store,
    entity: type[E],
    key: KeyLike,
    change: Change,
    *,
    expected_updated_at: dt.datetime | None = None,
) -> Stored[E]:
    """Bring a withdrawn record back: it counts again from the next check."""
    parts = _key(entity, key)
    what = entity.label
    with store.transaction() as cur:
        current = _live(cur, entity, parts)
        authorise(cur, change, Action.record, [current.record])
        if expected_updated_at is not None:
            _check_version(what, current, expected_updated_at, False)
        if not current.withdrawn:
            raise StateError(f"This {what} is not withdrawn, so there is nothing to restore.")
        _audited_update(
            cur,
            entity,
            parts,
            "restore",
            dict.fromkeys(WITHDRAWN_COLUMNS),
            change,
            current.updated_at,
            with_withdrawn=True,
        )
        stored = _fetch(cur, entity, parts)
    assert stored is not None
    return stored


def attest(
    store: Store,
    involvement_id: str,
    attestation: Attestation,
    note: str | None,
    change: Change,
    *,
    expected_updated_at: dt.datetime | None = None,
) -> SaveResult[Involvement]:
    """Confirm or dispute what was recorded about an involvement (a dispute needs a note).

    Takes effect at once: a disputed involvement stops qualifying in the next check.
    """
    note = note.strip() if note and note.strip() else None
    attestation = Attestation(attestation)
    if attestation == Attestation.disputed and note is None:
        raise RecordRejected(
            "involvement",
            [Problem("involvement", None, "attestation_note", "say why it is disputed")],
        )
    key = (involvement_id,)
    with store.transaction() as cur:
        current = _live(cur, Involvement, key)
        authorise(cur, change, Action.attest, [current.record])
        if expected_updated_at is not None:
            _check_version("involvement", current, expected_updated_at, False)
        if current.withdrawn:
            raise StateError(
                "This involvement is withdrawn: restore it before confirming or disputing it."
            )
        if current.record.attestation == attestation and current.record.attestation_note == note:
            return SaveResult("unchanged", current)
        _audited_update(
            cur,
            Involvement,
            key,
            "attest",
            {"attestation": attestation.value, "attestation_note": note},
            change,
            current.updated_at,
            with_withdrawn=False,
        )
        stored = _fetch(cur, Involvement, key)
    assert stored is not None
    return SaveResult("updated", stored)


# --- saving several records at once -------------------------------------------------------


def _version_of(stored: Stored[Any] | None) -> dt.datetime | None:
    return stored.updated_at if stored is not None else None


def _write_parts(
    store: Store,
    cur: Any,
    entity: type[E],
    what: str,
    existing: Mapping[str, Stored[E]],
    wanted: Mapping[str, E | None],
    labels: Mapping[str, str],
    expected: Mapping[str, dt.datetime | None] | None,
    allow_overwrite: bool,
    withdraw_reason: str,
    change: Change,
    conflict_what: str,
) -> BatchResult:
    """Write the parts of one whole (a meeting's attendance, a respondent's answers).

    ``wanted`` maps each part to its new record, or None for "no record" (a live one is
    withdrawn). Validation and the version check come first; nothing is written unless all pass.
    """
    _validate_all(
        store,
        entity,
        [(labels[part], record) for part, record in wanted.items() if record is not None],
        what,
    )

    def effective(stored: Stored[E] | None) -> E | None:
        return None if stored is None or stored.withdrawn else stored.record

    if not allow_overwrite:
        shown = expected or {}
        moved = [
            existing[part]
            for part, record in wanted.items()
            if part in existing
            and existing[part].updated_at != shown.get(part)
            and effective(existing[part]) != record
        ]
        if moved:
            latest = max(moved, key=lambda s: s.updated_at)
            raise ConflictError(
                f"{latest.updated_by} changed {conflict_what} at {when(latest.updated_at)} after "
                "you opened it: reload to see their change, then make yours again.",
                latest,
            )

    result = BatchResult()
    to_write: list[E] = []
    for part, record in wanted.items():
        current = existing.get(part)
        key = current.key if current is not None else record.key_values() if record else ()
        if record is None:
            if current is None or current.withdrawn:
                result.unchanged.append(part)
                continue
            _audited_update(
                cur,
                entity,
                key,
                "withdraw",
                {
                    "withdrawn_at": _STAMP,
                    "withdrawn_by": change.actor,
                    "withdrawn_reason": withdraw_reason,
                },
                change,
                current.updated_at,
                with_withdrawn=True,
            )
            result.withdrawn.append(part)
            continue
        if current is not None and current.withdrawn:
            _audited_update(
                cur,
                entity,
                key,
                "restore",
                dict.fromkeys(WITHDRAWN_COLUMNS),
                change,
                current.updated_at,
                with_withdrawn=True,
            )
            result.restored.append(part)
        if current is None:
            result.created.append(part)
        elif current.record != record:
            result.updated.append(part)
        else:
            if not current.withdrawn:
                result.unchanged.append(part)
            continue
        to_write.append(record)
    if to_write:
        write_records(cur, entity.table, list(to_write), change)
        for record in to_write:
            previous = existing.get(_part_of(entity, record))
            _stamp(cur, entity, record.key_values(), _version_of(previous), change.actor)
    return result


def _part_of(entity: type[Entity], record: Entity) -> str:
    """The part of a record's key that varies within its whole (member id, item)."""
    return str(getattr(record, entity.key[-1]))


def save_attendance(
    store: Store,
    meeting_id: str,
    statuses: Mapping[str, AttendanceStatus | None],
    change: Change,
    *,
    expected: Mapping[str, dt.datetime | None] | None = None,
    allow_overwrite: bool = False,
    reason: str = "attendance cleared on the attendance form",
) -> BatchResult:
    """Record who attended one meeting, in one transaction.

    ``statuses`` maps member ids to a status, or None for "no record" (an existing record is
    withdrawn with ``reason``, never deleted; giving a status again restores it). ``expected``
    maps member ids to the version of their attendance the form showed (missing or None: the
    form showed none); a member whose attendance someone else changed since raises
    ``ConflictError`` unless the save would leave it as they left it.
    """
    what = "attendance"
    with store.transaction() as cur:
        meeting = cur.execute(
            "SELECT count(*) FROM meeting WHERE meeting_id = ?", [meeting_id]
        ).fetchone()
        if not meeting or meeting[0] == 0:
            raise RecordRejected(
                what, [Problem(what, None, "meeting_id", f"no meeting has the id '{meeting_id}'")]
            )
        owner = cur.execute(
            "SELECT board_id FROM meeting WHERE meeting_id = ?", [meeting_id]
        ).fetchone()
        change.access.require(Action.record, [str(owner[0])] if owner else [])
        existing = {
            s.record.member_id: s for s in _fetch_where(cur, Attendance, "meeting_id", meeting_id)
        }
        wanted: dict[str, Attendance | None] = {}
        problems: list[Problem] = []
        for member_id, status in statuses.items():
            if status is None:
                wanted[member_id] = None
                continue
            try:
                wanted[member_id] = parse(
                    Attendance,
                    {"meeting_id": meeting_id, "member_id": member_id, "status": status},
                )
            except RecordRejected as exc:
                problems.extend(replace(p, file=f"member {member_id}") for p in exc.problems)
        if problems:
            raise RecordRejected(what, problems)
        return _write_parts(
            store,
            cur,
            Attendance,
            what,
            existing,
            wanted,
            {m: f"member {m}" for m in statuses},
            expected,
            allow_overwrite,
            reason,
            change,
            "the attendance of this meeting",
        )


def save_response(
    store: Store,
    response_id: str,
    board_id: str,
    check_date: dt.date,
    respondent_group: RespondentGroup,
    scores: Mapping[str, int | None],
    comments: Mapping[str, str | None],
    change: Change,
    *,
    expected: Mapping[str, dt.datetime | None] | None = None,
    allow_overwrite: bool = False,
) -> BatchResult:
    """Record one respondent's answers to a health-check form, in one transaction.

    Afterwards the response holds exactly the items scored in ``scores``: an item it held
    before that is now missing (or None) is withdrawn, not deleted. A new response
    (``expected`` None) whose id is already taken raises ``ConflictError`` unless
    ``allow_overwrite``; an existing one needs the versions the form showed, by item.
    """
    what = "health-check response"
    stray = sorted(set(comments) - {item for item, score in scores.items() if score is not None})
    if any(comments[item] for item in stray):
        raise RecordRejected(
            what,
            [Problem(f"item {item}", None, "comment", "a comment needs a score") for item in stray],
        )
    with store.transaction() as cur:
        existing = {
            s.record.item: s for s in _fetch_where(cur, HealthCheck, "response_id", response_id)
        }
        change.access.require(
            Action.record, {board_id, *(s.record.board_id for s in existing.values())}
        )
        if expected is None and existing and not allow_overwrite:
            first = min(existing.values(), key=lambda s: s.created_at)
            raise ConflictError(
                f"A health-check response with the id '{response_id}' already exists, recorded "
                f"by {first.created_by} at {when(first.created_at)}: open that one to change "
                "it, or choose a different id.",
                first,
            )
        wanted: dict[str, HealthCheck | None] = {}
        labels: dict[str, str] = {}
        problems: list[Problem] = []
        for item, score in scores.items():
            if score is None:
                wanted[normalise_token(item)] = None
                labels[normalise_token(item)] = f"item {item}"
                continue
            try:
                answer = parse(
                    HealthCheck,
                    {
                        "response_id": response_id,
                        "board_id": board_id,
                        "check_date": check_date,
                        "respondent_group": respondent_group,
                        "item": item,
                        "score": score,
                        "comment": comments.get(item),
                    },
                )
            except RecordRejected as exc:
                problems.extend(replace(p, file=f"item {item}") for p in exc.problems)
                continue
            wanted[answer.item] = answer
            labels[answer.item] = f"item {item}"
        if problems:
            raise RecordRejected(what, problems)
        # Items the response held before but this form left out are withdrawn too.
        for item in existing:
            if item not in wanted:
                wanted[item] = None
                labels[item] = f"item {item}"
        if not any(r is not None for r in wanted.values()):
            raise RecordRejected(what, [Problem(what, None, "score", "score at least one item")])
        return _write_parts(
            store,
            cur,
            HealthCheck,
            what,
            existing,
            wanted,
            labels,
            expected,
            allow_overwrite,
            "not answered when the response was saved again",
            change,
            "this health-check response",
        )


# --- the audit trail ----------------------------------------------------------------------


def changes_of(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for every field an audit entry changed, in column order."""
    old = dict(before or {})
    new = dict(after or {})
    out: list[tuple[str, Any, Any]] = []
    for name in dict.fromkeys([*new, *old]):
        if old.get(name) != new.get(name):
            out.append((name, old.get(name), new.get(name)))
    return out


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    for side in ("before", "after"):
        if isinstance(row[side], str):
            row[side] = json.loads(row[side])
    row["changes"] = changes_of(row["before"], row["after"])
    return row


def history(store: Store, entity: type[Entity], key: KeyLike) -> list[dict[str, Any]]:
    """A record's audit entries, oldest first, each with ``changes``: (field, before, after)."""
    return audit_trail(store, entity=entity, record_key=_key(entity, key), newest_first=False)


def _moment(value: dt.date | dt.datetime, *, end: bool) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    start = dt.datetime.combine(value, dt.time())
    return start + dt.timedelta(days=1) if end else start


def _audit_where(
    *,
    entity: type[Entity] | str | None = None,
    actor: str | None = None,
    actor_contains: str | None = None,
    source: str | None = None,
    action: str | None = None,
    since: dt.date | dt.datetime | None = None,
    until: dt.date | dt.datetime | None = None,
    record_key: KeyLike | None = None,
    boards: Iterable[str] | None = None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if boards is not None:
        clauses.append(f"list_contains(?, {_ENTRY_BOARD})")
        params.append(sorted(boards))
    if entity is not None:
        clauses.append("entity = ?")
        params.append(entity if isinstance(entity, str) else entity.table)
    for column, value in (("actor", actor), ("source", source), ("action", action)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if actor_contains:
        clauses.append("contains(lower(actor), lower(?))")
        params.append(actor_contains)
    if record_key is not None:
        clauses.append("record_key = ?")
        params.append(record_key if isinstance(record_key, str) else _record_key(record_key))
    if since is not None:
        clauses.append("changed_at >= ?")
        params.append(_moment(since, end=False))
    if until is not None:
        if isinstance(until, dt.datetime):
            clauses.append("changed_at <= ?")
        else:
            clauses.append("changed_at < ?")
        params.append(_moment(until, end=True))
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def audit_trail(
    store: Store,
    *,
    limit: int | None = None,
    newest_first: bool = True,
    **filters: Any,
) -> list[dict[str, Any]]:
    """Audit entries, filtered, newest first; each with ``changes``: (field, before, after).

    Filters: ``entity``, ``actor`` (exactly), ``actor_contains`` (any case), ``source``,
    ``action``, ``record_key``, ``since`` and ``until`` (inclusive; a date ``until`` means the
    end of that day), and ``boards``: only entries about records of those boards (attendance
    through its meeting, involvement through its decision; users and settings belong to none).
    """
    where, params = _audit_where(**filters)
    order = "DESC" if newest_first else "ASC"
    tail = ""
    if limit is not None:
        tail = " LIMIT ?"
        params.append(int(limit))
    rows = store.query(
        "SELECT audit_id, changed_at, actor, source, entity, record_key, action, before, after "  # noqa: S608
        f"FROM audit_log {where} ORDER BY audit_id {order}{tail}",
        params,
    )
    return [_entry(row) for row in rows]


def audit_count(store: Store, **filters: Any) -> int:
    """How many audit entries match the filters of ``audit_trail``."""
    where, params = _audit_where(**filters)
    with store.cursor() as cur:
        row = cur.execute(f"SELECT count(*) FROM audit_log {where}", params).fetchone()  # noqa: S608
    return int(row[0]) if row else 0


# The board an audit entry is about, from the values it recorded.
_ENTRY_BOARD = """coalesce(
    json_extract_string(coalesce(after, before), '$.board_id'),
    (SELECT m.board_id FROM meeting m
     WHERE m.meeting_id = json_extract_string(coalesce(after, before), '$.meeting_id')),
    (SELECT d.board_id FROM decision d
     WHERE d.decision_id = json_extract_string(coalesce(after, before), '$.decision_id')))"""

AUDIT_CSV_COLUMNS = (
    "audit_id",
    "changed_at",
    "actor",
    "source",
    "entity",
    "record_key",
    "action",
    "changes",
    "before",
    "after",
)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=False, default=str)
    return str(value)


def describe_changes(changes: Iterable[tuple[str, Any, Any]]) -> str:
    """``title: Old → New; summary: (empty) → Text``: an entry's changes on one line."""

    def show(value: Any) -> str:
        return "(empty)" if value is None or value == [] else _csv_value(value)

    return "; ".join(f"{name}: {show(old)} → {show(new)}" for name, old, new in changes)


def audit_trail_csv(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Audit entries as a CSV file (UTF-8 with a byte-order mark, so Excel reads it right).

    Every cell is written as text, neutralised as export neutralises text
    (``coprod.interchange.export_cell``): a value that a spreadsheet would run as a formula, or
    that starts with ``'``, gets one leading apostrophe, whichever column it is in (who, record
    key, changes, before and after), so opening the file never runs anything.
    """
    buffer = io.StringIO(newline="")
    writer = CsvWriter(buffer, neutralise=True)
    writer.writerow(AUDIT_CSV_COLUMNS)
    for row in rows:
        cells: list[str] = []
        for column in AUDIT_CSV_COLUMNS:
            if column == "changes":
                value = describe_changes(
                    row.get("changes") or changes_of(row.get("before"), row.get("after"))
                )
            else:
                value = _csv_value(row.get(column))
            cells.append(value)
        writer.writerow(cells)
    return buffer.getvalue().encode("utf-8-sig")
