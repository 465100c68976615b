"""An evidence pack: one board's records, findings and audit trail for a period, in one zip.

What an auditor (a Disabled People's Organisation, an inspector) can take away and check on
their own. The pack holds, in a folder ``evidence-<board>-<from>-<to>/``:

``records/``
    The board's records in the interchange CSV format, all seven files: the board; members
    current at any time in the period; meetings in the period and any meeting a decision below
    was taken at, with their attendance (and every member recorded there); decisions under way
    in the period (identified on or before its last day and not decided before its first: so
    decided in it, or pending) with all their involvements; health-check responses in the
    period. Withdrawn records are left out unless a record in the pack names them, so the
    folder imports on its own into an empty store.
``findings.csv``, ``findings.json``
    The rules run as of ``as_of`` for the board, keeping the findings whose ``period_date``
    (decision date, meeting date, check date; ``as_of`` for a pending decision) is in the
    period, and each decision's verdict.
``audit_trail.csv``
    Every audit-trail entry, up to the moment the pack was made, of those records and of
    withdrawn records that would otherwise be in the pack.
``README.txt``
    What the pack holds, the board, the period, ``as_of``, when and by whom it was made, and
    the thresholds in force.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from coprod.access import SYSTEM, Access, Action
from coprod.backup import coprod_version
from coprod.interchange import csv_bytes, zip_bytes
from coprod.models import ENTITIES
from coprod.rules import CATEGORIES, CATEGORY_ORDER, SEVERITIES, run_check
from coprod.settings import DEFAULT_THRESHOLDS, Thresholds
from coprod.store import COLUMNS, KEYS, Store, StoreError, current_user, quote

FINDING_COLUMNS = (
    "code",
    "severity",
    "board_id",
    "decision_id",
    "meeting_id",
    "item",
    "role",
    "check_date",
    "period_date",
    "message",
    "principle",
)
AUDIT_COLUMNS = (
    "audit_id",
    "changed_at",
    "actor",
    "source",
    "entity",
    "record_key",
    "action",
    "before",
    "after",
)


class EvidenceError(StoreError):
    """An evidence pack that cannot be made, said in one sentence."""


@dataclass(frozen=True)
class Scope:
    """The keys of the records a pack is about, table by table."""

    keys: dict[str, list[tuple[str, ...]]]

    def record_keys(self, table: str) -> list[str]:
        """Keys as the audit trail spells them (``concat_ws('/', ...)``)."""
        return ["/".join(k) for k in self.keys.get(table, [])]


def _column(cur: Any, sql: str, params: list[Any]) -> list[str]:
    return [str(row[0]) for row in cur.execute(sql, params).fetchall()]


def _scope(
    cur: Any, board_id: str, start: dt.date, end: dt.date, *, live: bool, names: bool = True
) -> Scope:
    """The records of the board in the period; ``live`` leaves withdrawn ones out, ``names``
    adds whatever the kept records name (a withdrawn meeting a live decision was taken at)."""
    alive = " AND withdrawn_at IS NULL" if live else ""
    decisions = _column(
        cur,
        "SELECT decision_id FROM decision WHERE board_id = ? AND identified_on <= ? "  # noqa: S608
        f"AND (decided_on IS NULL OR decided_on >= ?){alive} ORDER BY decision_id",
        [board_id, end, start],
    )
    meetings = _column(
        cur,
        f"SELECT meeting_id FROM meeting WHERE board_id = ? AND date BETWEEN ? AND ?{alive}",  # noqa: S608
        [board_id, start, end],
    )
    if names:
        meetings += _column(
            cur,
            "SELECT meeting_id FROM decision WHERE list_contains(?, decision_id) "
            "AND meeting_id IS NOT NULL",
            [decisions],
        )
    meetings = sorted(set(meetings))
    attendance: list[tuple[str, ...]] = [
        (str(m), str(p))
        for m, p in cur.execute(
            "SELECT meeting_id, member_id FROM attendance "  # noqa: S608
            f"WHERE list_contains(?, meeting_id){alive} ORDER BY meeting_id, member_id",
            [meetings],
        ).fetchall()
    ]
    members = _column(
        cur,
        "SELECT member_id FROM member WHERE board_id = ? AND start_date <= ? "  # noqa: S608
        f"AND (end_date IS NULL OR end_date >= ?){alive}",
        [board_id, end, start],
    )
    if names:
        members += [member for _meeting, member in attendance]
    members = sorted(set(members))
    involvements = _column(
        cur,
        "SELECT involvement_id FROM involvement "  # noqa: S608
        f"WHERE list_contains(?, decision_id){alive} ORDER BY involvement_id",
        [decisions],
    )
    responses: list[tuple[str, ...]] = [
        (str(r), str(i))
        for r, i in cur.execute(
            "SELECT response_id, item FROM health_check WHERE board_id = ? "  # noqa: S608
            f"AND check_date BETWEEN ? AND ?{alive} ORDER BY response_id, item",
            [board_id, start, end],
        ).fetchall()
    ]
    return Scope(
        {
            "board": [(board_id,)],
            "member": [(m,) for m in members],
            "meeting": [(m,) for m in meetings],
            "attendance": attendance,
            "decision": [(d,) for d in decisions],
            "involvement": [(i,) for i in involvements],
            "health_check": responses,
        }
    )


def _records(cur: Any, scope: Scope) -> dict[str, list[tuple[Any, ...]]]:
    """Every column of the records in ``scope``, in key order, as export writes them."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for entity in ENTITIES:
        table = entity.table
        cols = ", ".join(quote(c) for c, _ in COLUMNS[table])
        keys = KEYS[table]
        key_expr = "concat_ws('/', " + ", ".join(quote(k) for k in keys) + ")"
        order = ", ".join(quote(k) for k in keys)
        out[table] = [
            tuple(row)
            for row in cur.execute(
                f"SELECT {cols} FROM {quote(table)} "  # noqa: S608
                f"WHERE list_contains(?, {key_expr}) ORDER BY {order}",
                [scope.record_keys(table)],
            ).fetchall()
        ]
    return out


def _audit(cur: Any, scope: Scope) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for table in scope.keys:
        rows.extend(
            tuple(row)
            for row in cur.execute(
                "SELECT audit_id, changed_at, actor, source, entity, record_key, action, "
                "CAST(before AS VARCHAR), CAST(after AS VARCHAR) FROM audit_log "
                "WHERE entity = ? AND list_contains(?, record_key)",
                [table, scope.record_keys(table)],
            ).fetchall()
        )
    return sorted(rows, key=lambda r: int(r[0]))


def _merge(first: Scope, second: Scope) -> Scope:
    return Scope(
        {
            table: sorted(set(first.keys.get(table, [])) | set(second.keys.get(table, [])))
            for table in {*first.keys, *second.keys}
        }
    )


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _nice(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


@dataclass(frozen=True)
class EvidencePack:
    """A pack as bytes, with the counts a caller reports."""

    data: bytes
    folder: str
    records: dict[str, int]
    findings: int
    audit_entries: int


def evidence_pack(
    store: Store,
    board_id: str,
    start: dt.date,
    end: dt.date,
    as_of: dt.date | None = None,
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    access: Access = SYSTEM,
) -> bytes:
    """One board's evidence pack for the period ``start``–``end`` (inclusive), as a zip."""
    return make_evidence_pack(
        store, board_id, start, end, as_of, thresholds=thresholds, access=access
    ).data


def make_evidence_pack(
    store: Store,
    board_id: str,
    start: dt.date,
    end: dt.date,
    as_of: dt.date | None = None,
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    made_at: dt.datetime | None = None,
    made_by: str | None = None,
    access: Access = SYSTEM,
) -> EvidencePack:
    access.require(Action.evidence, [board_id])
    if start > end:
        raise EvidenceError(
            f"The period starts on {start.isoformat()}, after it ends on {end.isoformat()}."
        )
    as_of = as_of or dt.date.today()
    made_at = made_at or dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    made_by = made_by or current_user()
    boards = store.query("SELECT name, kind FROM board WHERE board_id = ?", [board_id])
    if not boards:
        raise EvidenceError(f"There is no board with the id '{board_id}' in {store.location}.")
    board_name = str(boards[0]["name"])

    with store.cursor() as cur:
        cur.execute("BEGIN TRANSACTION")  # one snapshot for records and audit trail
        try:
            kept = _scope(cur, board_id, start, end, live=True)
            records = _records(cur, kept)
            withdrawn_too = _scope(cur, board_id, start, end, live=False, names=False)
            audit = _audit(cur, _merge(kept, withdrawn_too))
        finally:
            cur.execute("COMMIT")

    result = run_check(store, as_of, boards=[board_id], thresholds=thresholds)
    findings = [f for f in result.findings if f["period_date"] and start <= f["period_date"] <= end]
    in_pack = {d for (d,) in kept.keys["decision"]}
    verdicts = [
        {
            "decision_id": d["decision_id"],
            "first_involvement": d["first_involvement"],
            "tick_box_suspect": bool(d["tick_box_suspect"]),
            "period_date": _plain(d["period_date"]),
        }
        for d in result.decisions
        if d["decision_id"] in in_pack
    ]

    folder = f"evidence-{board_id}-{start.isoformat()}-{end.isoformat()}"
    files: list[tuple[str, bytes]] = [
        ("README.txt", b""),  # written last, when the counts are known
        *(
            (
                f"records/{entity.file_name}.csv",
                csv_bytes([c for c, _ in COLUMNS[entity.table]], records[entity.table]),
            )
            for entity in ENTITIES
        ),
        (
            "findings.csv",
            csv_bytes(
                list(FINDING_COLUMNS), ([f.get(c) for c in FINDING_COLUMNS] for f in findings)
            ),
        ),
        (
            "findings.json",
            (
                json.dumps(
                    {
                        "board_id": board_id,
                        "board_name": board_name,
                        "period": {"from": start.isoformat(), "to": end.isoformat()},
                        "as_of": as_of.isoformat(),
                        "thresholds": asdict(thresholds),
                        "decisions": verdicts,
                        "findings": [
                            {c: _plain(f.get(c)) for c in FINDING_COLUMNS} for f in findings
                        ],
                    },
                    indent=2,
                    ensure_ascii=False,
                )
                + "\n"
            ).encode("utf-8"),
        ),
        ("audit_trail.csv", csv_bytes(list(AUDIT_COLUMNS), (map(_plain, r) for r in audit))),
    ]
    counts = {table: len(rows) for table, rows in records.items()}
    readme = _readme(
        store=store,
        board_id=board_id,
        board_name=board_name,
        start=start,
        end=end,
        as_of=as_of,
        made_at=made_at,
        made_by=made_by,
        thresholds=thresholds,
        counts=counts,
        findings=findings,
        verdicts=verdicts,
        audit_entries=len(audit),
    )
    files[0] = ("README.txt", readme.encode("utf-8"))
    data = zip_bytes((f"{folder}/{name}", content) for name, content in files)
    return EvidencePack(data, folder, counts, len(findings), len(audit))


def _readme(
    *,
    store: Store,
    board_id: str,
    board_name: str,
    start: dt.date,
    end: dt.date,
    as_of: dt.date,
    made_at: dt.datetime,
    made_by: str,
    thresholds: Thresholds,
    counts: dict[str, int],
    findings: list[dict[str, Any]],
    verdicts: list[dict[str, Any]],
    audit_entries: int,
) -> str:
    def rows(table: str) -> str:
        n = counts[table]
        return f"{n} {'row' if n == 1 else 'rows'}"

    def entry(label: str, text: str, width: int = 21) -> str:
        """``label`` then ``text`` wrapped in a column beside it."""
        lines = textwrap.wrap(text, width=92 - width)
        first = f"  {label:<{width - 2}}{lines[0]}"
        return "\n".join([first, *(" " * width + line for line in lines[1:])])

    severities = Counter(str(f["severity"]) for f in findings)
    by_severity = ", ".join(f"{severities[s]} {s}" for s in SEVERITIES)
    categories = Counter(str(v["first_involvement"]) for v in verdicts)
    category_lines = [
        f"    {categories[c]:>5}  {CATEGORIES[c]}" for c in CATEGORY_ORDER if categories[c]
    ]
    settings = [
        f"  {name} = {value}\n{_indent(meaning, 6)}"
        for name, value, meaning in thresholds.describe()
    ]
    head = [
        "Co-production evidence pack",
        "===========================",
        "",
        entry("Board:", f"{board_name} ({board_id})", 16),
        entry(
            "Period:",
            f"{_nice(start)} to {_nice(end)}, both days included "
            f"({start.isoformat()} to {end.isoformat()})",
            16,
        ),
        entry(
            "Judged as of:",
            f"{_nice(as_of)} ({as_of.isoformat()}): the rules count only what had happened by "
            "this date",
            16,
        ),
        entry("Made:", f"{made_at.isoformat(sep=' ')} UTC by {made_by}", 16),
        entry("With:", f"coprod {coprod_version()}, from the store {store.location}", 16),
        "",
        "What this pack holds",
        "--------------------",
        "",
        _indent(
            "records/ holds the board's records in coprod's interchange format (CSV, UTF-8). "
            "The folder imports on its own into an empty store: "
            "coprod import records --db new.duckdb",
            0,
        ),
        "",
        entry("boards.csv", "the board"),
        entry(
            "members.csv",
            "members at any time in the period, and anyone recorded at one of the meetings "
            f"below: {rows('member')}",
        ),
        entry(
            "meetings.csv",
            "meetings in the period, and any meeting a decision below was taken at: "
            + rows("meeting"),
        ),
        entry("attendance.csv", f"who attended those meetings: {rows('attendance')}"),
        entry(
            "decisions.csv",
            "decisions under way in the period, that is identified on or before its last day "
            "and not decided before its first (so decided in the period, or still pending): "
            + rows("decision"),
        ),
        entry(
            "involvements.csv",
            f"every recorded involvement of those decisions: {rows('involvement')}",
        ),
        entry(
            "health_checks.csv",
            "the answers given at health-checks in the period, one row per item a respondent "
            f"scored (never report a group of fewer than {thresholds.suppression_size} "
            "respondents as an average or a count)",
        ),
        "",
        _indent(
            "Withdrawn records are left out unless a record in the pack names them; their "
            "history is in audit_trail.csv.",
            0,
        ),
        "",
        "findings.csv, findings.json",
        _indent(
            f"Every finding of the rules for this board as of {as_of.isoformat()} whose date "
            "falls in the period (the decision date, the meeting date or the health-check "
            "date; the as-of date for a decision not yet taken and for HC-OVERDUE): "
            f"{len(findings)} findings ({by_severity}). findings.json also gives the verdict "
            f"on each of the {len(verdicts)} decisions in records/. When people who use "
            "services were first involved:",
            2,
        ),
        *(category_lines or ["    (no decisions)"]),
        "",
        "audit_trail.csv",
        _indent(
            "Every change to the records in the pack, and to withdrawn records that would "
            "otherwise be in it, up to the moment the pack was made: who, when, through what "
            "(form, import or cli), and the values before and after (JSON): "
            f"{audit_entries} entries.",
            2,
        ),
        "",
        "Thresholds in force",
        "-------------------",
        *settings,
    ]
    return "\n".join(head) + "\n"


def _indent(text: str, spaces: int, width: int = 92) -> str:
    return textwrap.fill(
        text, width=width, initial_indent=" " * spaces, subsequent_indent=" " * spaces
    )
