"""Who was at the table: representation at board meetings, as frames and sentences.

The questions a board and a DPO auditor ask about representation (docs/domain.md, REP):

- at each meeting, who was at the table, by role group, and was anyone with lived experience
  there (``meetings_at_the_table``);
- how often a lived-experience voice was at the table, for meetings and for the decisions taken
  at them, quarter by quarter (``decision_voice``, ``voice_by_quarter``, ``voice_headline``);
- how well each role group attends, over the 12 months to the as-of date
  (``attendance_by_group``: groups, never named people, so no league tables of individuals);
- whether the board held the roles an Integration Joint Board must have, meeting by meeting
  (``composition_over_time``, ``composition_runs``);
- which decisions were taken with no lived-experience voice (``no_voice_decisions``) and which
  meetings lacked a required member (``composition_gaps``).

The findings themselves are the rule engine's: the decisions with no voice *are* the REP-NO-VOICE
findings of ``coprod.rules.run_check`` and the vacancies the REP-COMPOSITION findings, read from
its ``CheckResult``, so that a page and the ``coprod check`` command can never disagree.
Withdrawn records never count. Everything here is plain Python and DuckDB SQL with bound
parameters; no Streamlit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from coprod.models import AT_THE_TABLE, LIVED_EXPERIENCE_ROLES, REQUIRED_IJB_ROLES, MemberRole
from coprod.rules import CheckResult
from coprod.store import Store
from coprod.views import Period, in_period, long_date, percent, plural, quarter_label
from coprod.vocabulary import word

# --- role groups ----------------------------------------------------------------------------

# Every member falls in one group, the first that fits: a voting service user representative
# is counted with lived experience, because that is the voice these pages are about.
ROLE_GROUPS = ("lived_experience", "voting", "officer", "other")
ROLE_GROUP_LABELS = {
    "lived_experience": "Lived experience",
    "voting": "Voting members",
    "officer": "Officers",
    "other": "Others",
}
ROLE_GROUP_MEANINGS = {
    "lived_experience": (
        "service user, carer and DPO representatives, and any member recorded as having lived "
        "experience"
    ),
    "voting": "voting members without lived experience (chair, vice-chair, health board, council)",
    "officer": "officers (non-voting)",
    "other": "everyone else: third sector and staff representatives, and other non-voting members",
}
AT_TABLE_STATUSES = tuple(s.value for s in AT_THE_TABLE)  # present, remote, substitute
ALL_STATUSES = (*AT_TABLE_STATUSES, "apologies", "absent")

ROLE_LABELS = {role: word(role) for role in MemberRole} | {MemberRole.other: "other member"}

# The SQL that puts a member (alias m) in a role group; $lived_roles is bound.
_ROLE_GROUP = """
    CASE WHEN list_contains($lived_roles, m.role) OR m.lived_experience THEN 'lived_experience'
         WHEN m.voting THEN 'voting'
         WHEN m.role = 'officer' THEN 'officer'
         ELSE 'other' END
"""


def _base_params(board_ids: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {"boards": list(board_ids), "lived_roles": [r.value for r in LIVED_EXPERIENCE_ROLES]}


def _with_none(
    frame: pd.DataFrame, rows: list[dict[str, Any]], columns: tuple[str, ...]
) -> pd.DataFrame:
    """Keep None in these columns: pandas would make a column of numbers and None into NaN."""
    for column in columns:
        frame[column] = pd.Series([r[column] for r in rows], index=frame.index, dtype=object)
    return frame


def _rows(store: Store, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    return store.query(sql, used)


# --- who was at the table, meeting by meeting -----------------------------------------------

# SQL below is built only from this module's constants; every value is a bound parameter.
MEETINGS_AT_THE_TABLE = f"""
WITH mt AS (
    SELECT meeting_id, board_id, date, kind
    FROM meeting
    WHERE withdrawn_at IS NULL
      AND list_contains(CAST($boards AS VARCHAR[]), board_id)
      AND date BETWEEN $start AND $end
      AND date <= $as_of          -- a meeting still to come has nobody at the table yet
),
-- Everyone recorded at each meeting, by role group and status. A lived-experience voice is
-- what REP-NO-VOICE looks for: a lived-experience role or lived_experience, at the table.
recorded AS (
    SELECT a.meeting_id, {_ROLE_GROUP} AS role_group, a.status, count(*) AS people
    FROM attendance a
    JOIN mt USING (meeting_id)
    JOIN member m ON m.member_id = a.member_id
    WHERE a.withdrawn_at IS NULL AND m.withdrawn_at IS NULL
    GROUP BY ALL
)
SELECT mt.meeting_id, mt.board_id, mt.date, mt.kind, r.role_group, r.status, r.people
FROM mt LEFT JOIN recorded r USING (meeting_id)
ORDER BY mt.date, mt.board_id, mt.meeting_id
"""  # noqa: S608


def meetings_at_the_table(
    store: Store, board_ids: tuple[str, ...] | list[str], period: Period, as_of: dt.date
) -> pd.DataFrame:
    """One row per meeting held in the period (up to as_of) on the boards chosen.

    Columns: ``meeting_id``, ``board_id``, ``date``, ``kind``, ``quarter``; for each role group
    *g* the people at the table ``g_present``, ``g_remote``, ``g_substitute`` and their total
    ``g``; ``apologies``, ``absent``; ``attendance_recorded`` (attendance rows of any status);
    and ``lived_experience_voice``: someone with lived experience was present, remote or a
    substitute. A meeting with no attendance recorded has no voice, as REP-NO-VOICE judges it.
    """
    params = _base_params(board_ids) | {"start": period.start, "end": period.end, "as_of": as_of}
    rows = _rows(store, MEETINGS_AT_THE_TABLE, params)
    meetings: dict[str, dict[str, Any]] = {}
    for row in rows:
        meeting = meetings.setdefault(row["meeting_id"], _empty_meeting(row))
        if row["role_group"] is None:
            continue
        meeting["attendance_recorded"] += row["people"]
        if row["status"] in AT_TABLE_STATUSES:
            meeting[f"{row['role_group']}_{row['status']}"] += row["people"]
            meeting[row["role_group"]] += row["people"]
        else:
            meeting[row["status"]] += row["people"]
    frame = pd.DataFrame(list(meetings.values()), columns=MEETING_COLUMNS)
    frame["lived_experience_voice"] = frame["lived_experience"] > 0
    return frame


MEETING_COLUMNS = [
    "meeting_id",
    "board_id",
    "date",
    "kind",
    "quarter",
    *(f"{g}_{s}" for g in ROLE_GROUPS for s in AT_TABLE_STATUSES),
    *ROLE_GROUPS,
    "apologies",
    "absent",
    "attendance_recorded",
]


def _empty_meeting(row: dict[str, Any]) -> dict[str, Any]:
    meeting: dict[str, Any] = {
        "meeting_id": row["meeting_id"],
        "board_id": row["board_id"],
        "date": row["date"],
        "kind": row["kind"],
        "quarter": quarter_label(row["date"]),
    }
    for column in MEETING_COLUMNS[5:]:
        meeting[column] = 0
    return meeting


def describe_group_at_table(meeting: pd.Series | dict[str, Any], group: str) -> str:
    """``2 present, 1 remote`` or ``nobody``: a role group at one meeting, in words."""
    parts = [
        f"{meeting[f'{group}_{status}']} {status}"
        for status in AT_TABLE_STATUSES
        if meeting[f"{group}_{status}"]
    ]
    return ", ".join(parts) if parts else "nobody"


def at_the_table_table(
    meetings: pd.DataFrame, board_label: Callable[[str], str] = str
) -> pd.DataFrame:
    """The per-meeting table as a person reads it: one column per role group, in words."""
    rows = []
    for _, meeting in meetings.sort_values(
        ["date", "board_id"], ascending=[False, True]
    ).iterrows():
        row = {
            "Meeting": meeting["meeting_id"],
            "Date": long_date(meeting["date"]),
            "Board": board_label(meeting["board_id"]),
        }
        for group in ROLE_GROUPS:
            row[ROLE_GROUP_LABELS[group]] = describe_group_at_table(meeting, group)
        row["Lived-experience voice"] = (
            "yes"
            if meeting["lived_experience_voice"]
            else ("no" if meeting["attendance_recorded"] else "no (attendance not recorded)")
        )
        rows.append(row)
    columns = [
        "Meeting",
        "Date",
        "Board",
        *(ROLE_GROUP_LABELS[g] for g in ROLE_GROUPS),
        "Lived-experience voice",
    ]
    return pd.DataFrame(rows, columns=columns)


# --- decisions and the voice at the meeting that took them -----------------------------------


def at_the_table_for(
    store: Store,
    board_ids: tuple[str, ...] | list[str],
    period: Period,
    as_of: dt.date,
    board_names: tuple[tuple[str, str], ...] = (),
) -> pd.DataFrame:
    """The per-meeting table of the meetings held in the period, from the store: one call, so
    that a page can compute it once per data version. ``board_names`` are (id, name) pairs."""
    names = dict(board_names)
    return at_the_table_table(
        meetings_at_the_table(store, board_ids, period, as_of), lambda b: names.get(b, b)
    )


def decision_voice(store: Store, result: CheckResult, period: Period) -> pd.DataFrame:
    """Decisions taken (decided by as_of) at a recorded meeting held in the period.

    ``voice`` is false exactly for the decisions with a REP-NO-VOICE finding: the rule engine
    decides, this only counts. Like the finding, a decision belongs to the date of the meeting
    that took it.
    """
    table = result.decision_table
    taken = (
        table.select(["decision_id", "board_id", "title", "meeting_id", "decided"])
        .filter(pc.and_(pc.fill_null(table["decided"], False), pc.is_valid(table["meeting_id"])))
        .to_pylist()
        if table.num_rows
        else []
    )
    columns = ["decision_id", "board_id", "title", "meeting_id", "meeting_date", "quarter", "voice"]
    if not taken:
        return pd.DataFrame(columns=columns)
    dates = {
        row["meeting_id"]: row["date"]
        for row in store.query(
            "SELECT meeting_id, date FROM meeting "
            "WHERE withdrawn_at IS NULL AND list_contains(CAST(? AS VARCHAR[]), meeting_id)",
            [sorted({d["meeting_id"] for d in taken})],
        )
    }
    silent = {f["decision_id"] for f in result.findings_coded("REP-NO-VOICE")}
    rows = [
        {
            "decision_id": d["decision_id"],
            "board_id": d["board_id"],
            "title": d["title"],
            "meeting_id": d["meeting_id"],
            "meeting_date": dates[d["meeting_id"]],
            "quarter": quarter_label(dates[d["meeting_id"]]),
            "voice": d["decision_id"] not in silent,
        }
        for d in taken
        if d["meeting_id"] in dates and period.start <= dates[d["meeting_id"]] <= period.end
    ]
    return pd.DataFrame(rows, columns=columns)


def no_voice_decisions(result: CheckResult, period: Period) -> pd.DataFrame:
    """The REP-NO-VOICE findings in the period, with each decision's title: newest first."""
    columns = ["decision_id", "board_id", "title", "meeting_id", "meeting_date", "message"]
    findings = result.findings_coded("REP-NO-VOICE")
    if not findings:
        return pd.DataFrame(columns=columns)
    wanted = sorted({f["decision_id"] for f in findings if f["decision_id"]})
    decided = result.decision_table
    mask = pc.is_in(
        decided["decision_id"], pa.array(wanted, decided.schema.field("decision_id").type)
    )
    titles = {
        d["decision_id"]: d["title"]
        for d in decided.select(["decision_id", "title"]).filter(mask).to_pylist()
    }
    frame = in_period(pd.DataFrame(findings), period)
    frame = frame.assign(
        title=frame["decision_id"].map(titles),
        meeting_date=frame["period_date"],
    )
    return (
        frame[columns]
        .sort_values(["meeting_date", "decision_id"], ascending=[False, True])
        .reset_index(drop=True)
    )


@dataclass(frozen=True)
class VoiceHeadline:
    meetings: int
    meetings_with_voice: int
    meetings_without_attendance: int
    decisions: int
    decisions_with_voice: int

    def sentence(self, period: Period | None = None) -> str:
        """``A lived-experience voice was at the table at 31 of 36 meetings (86%) ...``."""
        when = f" {period.describe()}" if period else " in the period"
        if self.meetings == 0:
            return f"No meetings were held{when}, so nobody was at the table."
        text = (
            f"A lived-experience voice was at the table at {self.meetings_with_voice} of "
            f"{plural(self.meetings, 'meeting')} "
            f"({percent(self.meetings_with_voice, self.meetings)})"
        )
        if self.decisions:
            text += (
                f" and for {self.decisions_with_voice} of {plural(self.decisions, 'decision')} "
                f"({percent(self.decisions_with_voice, self.decisions)})"
            )
        text += f"{when}."
        if not self.decisions:
            text += " No decisions were recorded as taken at these meetings."
        if self.meetings_without_attendance:
            n = self.meetings_without_attendance
            text += (
                f" Attendance was not recorded for {plural(n, 'meeting')}; "
                f"{'it counts' if n == 1 else 'they count'} as having no lived-experience voice."
            )
        return text


def voice_headline(meetings: pd.DataFrame, decisions: pd.DataFrame) -> VoiceHeadline:
    return VoiceHeadline(
        meetings=len(meetings),
        meetings_with_voice=int(meetings["lived_experience_voice"].sum()) if len(meetings) else 0,
        meetings_without_attendance=int((meetings["attendance_recorded"] == 0).sum())
        if len(meetings)
        else 0,
        decisions=len(decisions),
        decisions_with_voice=int(decisions["voice"].sum()) if len(decisions) else 0,
    )


VOICE_BY_QUARTER_COLUMNS = [
    "quarter",
    "meetings",
    "meetings_with_voice",
    "meeting_share",
    "decisions",
    "decisions_with_voice",
    "decision_share",
]


def voice_by_quarter_for(
    store: Store,
    result: CheckResult,
    board_ids: tuple[str, ...] | list[str],
    period: Period,
    as_of: dt.date,
) -> pd.DataFrame:
    """voice_by_quarter of the period's meetings and decisions, from the store in one call."""
    return voice_by_quarter(
        meetings_at_the_table(store, board_ids, period, as_of),
        decision_voice(store, result, period),
    )


def voice_by_quarter(meetings: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Per quarter: meetings and decisions, how many had a lived-experience voice, and shares.

    A share is a fraction from 0 to 1, or None in a quarter with no meetings (or decisions).
    """
    quarters = sorted(set(meetings["quarter"]) | set(decisions["quarter"]))
    rows = []
    for quarter in quarters:
        m = meetings[meetings["quarter"] == quarter]
        d = decisions[decisions["quarter"] == quarter]
        m_voice = int(m["lived_experience_voice"].sum())
        d_voice = int(d["voice"].sum())
        rows.append(
            {
                "quarter": quarter,
                "meetings": len(m),
                "meetings_with_voice": m_voice,
                "meeting_share": m_voice / len(m) if len(m) else None,
                "decisions": len(d),
                "decisions_with_voice": d_voice,
                "decision_share": d_voice / len(d) if len(d) else None,
            }
        )
    frame = pd.DataFrame(rows, columns=VOICE_BY_QUARTER_COLUMNS)
    return _with_none(frame, rows, ("meeting_share", "decision_share"))


# --- attendance by role group over the last 12 months ----------------------------------------

ATTENDANCE_BY_GROUP = f"""
WITH mt AS (
    SELECT meeting_id, board_id, date
    FROM meeting
    WHERE withdrawn_at IS NULL
      AND list_contains(CAST($boards AS VARCHAR[]), board_id)
      AND date > CAST($as_of - to_months($months) AS DATE) AND date <= $as_of
),
-- A seat: a member who was current on the meeting's date, or whose attendance was recorded.
seats AS (
    SELECT mt.meeting_id, m.member_id
    FROM mt JOIN member m ON m.board_id = mt.board_id
    WHERE m.withdrawn_at IS NULL
      AND m.start_date <= mt.date AND (m.end_date IS NULL OR mt.date <= m.end_date)
    UNION
    SELECT a.meeting_id, a.member_id
    FROM attendance a JOIN mt USING (meeting_id)
    WHERE a.withdrawn_at IS NULL
)
SELECT {_ROLE_GROUP} AS role_group,
       coalesce(a.status, 'not_recorded') AS status,
       count(*) AS seats
FROM seats s
JOIN member m ON m.member_id = s.member_id AND m.withdrawn_at IS NULL
LEFT JOIN attendance a
       ON a.meeting_id = s.meeting_id AND a.member_id = s.member_id AND a.withdrawn_at IS NULL
GROUP BY ALL
"""  # noqa: S608

ATTENDANCE_COLUMNS = [
    "role_group",
    "label",
    "seats",
    "at_table",
    *ALL_STATUSES,
    "not_recorded",
    "rate",
]


def attendance_by_group(
    store: Store, board_ids: tuple[str, ...] | list[str], as_of: dt.date, *, months: int = 12
) -> pd.DataFrame:
    """Attendance per role group at meetings in the ``months`` up to and including as_of.

    A *seat* is one member at one meeting: every member current on the meeting's date, and
    anyone whose attendance was recorded. ``at_table`` counts seats present, remote or taken by
    a substitute; ``rate`` is at_table / seats (None for a group with no seats). A current
    member with no attendance recorded counts as ``not_recorded``, not at the table.
    """
    params = _base_params(board_ids) | {"as_of": as_of, "months": months}
    counts: dict[str, dict[str, int]] = {g: {} for g in ROLE_GROUPS}
    for row in _rows(store, ATTENDANCE_BY_GROUP, params):
        counts[row["role_group"]][row["status"]] = int(row["seats"])
    rows = []
    for group in ROLE_GROUPS:
        by_status = counts[group]
        seats = sum(by_status.values())
        at_table = sum(by_status.get(s, 0) for s in AT_TABLE_STATUSES)
        entry: dict[str, Any] = {
            "role_group": group,
            "label": ROLE_GROUP_LABELS[group],
            "seats": seats,
            "at_table": at_table,
        }
        for status in (*ALL_STATUSES, "not_recorded"):
            entry[status] = by_status.get(status, 0)
        entry["rate"] = at_table / seats if seats else None
        rows.append(entry)
    return _with_none(pd.DataFrame(rows, columns=ATTENDANCE_COLUMNS), rows, ("rate",))


# --- composition against the roles an Integration Joint Board must have ----------------------

COMPOSITION = """
WITH mt AS (
    SELECT mt.meeting_id, mt.board_id, mt.date, b.kind
    FROM meeting mt JOIN board b ON b.board_id = mt.board_id
    WHERE mt.withdrawn_at IS NULL AND b.withdrawn_at IS NULL
      AND list_contains(CAST($boards AS VARCHAR[]), mt.board_id)
      AND mt.date BETWEEN $start AND $end
      AND mt.date <= $as_of
),
required AS (SELECT unnest(CAST($roles AS VARCHAR[])) AS role)
SELECT mt.board_id, mt.kind AS board_kind, mt.meeting_id, mt.date, r.role,
       (SELECT count(*) FROM member m
        WHERE m.board_id = mt.board_id AND m.role = r.role AND m.withdrawn_at IS NULL
          AND m.start_date <= mt.date AND (m.end_date IS NULL OR mt.date <= m.end_date)
       ) AS holders
FROM mt CROSS JOIN required r
ORDER BY mt.board_id, mt.date, mt.meeting_id, r.role
"""


def composition_over_time(
    store: Store, board_ids: tuple[str, ...] | list[str], period: Period, as_of: dt.date
) -> pd.DataFrame:
    """For every meeting in the period and every required IJB role: was it held?

    Columns: ``board_id``, ``board_kind``, ``meeting_id``, ``date``, ``role``, ``holders``
    (current members in the role on that date), ``held`` and ``required_by_law`` (the board is
    an Integration Joint Board: only then is a vacancy a REP-COMPOSITION finding).
    """
    params = {
        "boards": list(board_ids),
        "start": period.start,
        "end": period.end,
        "as_of": as_of,
        "roles": [r.value for r in REQUIRED_IJB_ROLES],
    }
    columns = ["board_id", "board_kind", "meeting_id", "date", "role", "holders"]
    frame = pd.DataFrame(_rows(store, COMPOSITION, params), columns=columns)
    frame["held"] = frame["holders"] > 0
    frame["required_by_law"] = frame["board_kind"] == "integration_joint_board"
    return frame


def composition_runs(composition: pd.DataFrame) -> pd.DataFrame:
    """Consecutive meetings at which a role stayed held (or vacant), one row per run.

    Columns: ``board_id``, ``role``, ``state`` (``held`` or ``vacant``), ``start`` and ``end``
    (first and last meeting of the run), ``meetings``, and ``until``: the date of the next
    meeting (when the state was next seen to change), or the run's end for the last one.
    """
    columns = ["board_id", "role", "state", "start", "end", "meetings", "until"]
    rows: list[dict[str, Any]] = []
    for (board_id, role), part in composition.groupby(["board_id", "role"], sort=True):
        part = part.sort_values("date")
        dates = list(part["date"])
        states = ["held" if h else "vacant" for h in part["held"]]
        begin = 0
        for i in range(1, len(dates) + 1):
            if i == len(dates) or states[i] != states[begin]:
                rows.append(
                    {
                        "board_id": board_id,
                        "role": role,
                        "state": states[begin],
                        "start": dates[begin],
                        "end": dates[i - 1],
                        "meetings": i - begin,
                        "until": dates[i] if i < len(dates) else dates[i - 1],
                    }
                )
                begin = i
    return pd.DataFrame(rows, columns=columns)


def composition_gaps(result: CheckResult, period: Period) -> pd.DataFrame:
    """REP-COMPOSITION findings in the period, gathered per board and missing role.

    Columns: ``board_id``, ``role``, ``meetings``, ``first``, ``last``, ``meeting_ids``.
    """
    columns = ["board_id", "role", "meetings", "first", "last", "meeting_ids"]
    findings = result.findings_coded("REP-COMPOSITION")
    if not findings:
        return pd.DataFrame(columns=columns)
    frame = in_period(pd.DataFrame(findings), period)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = (
        frame.sort_values("period_date")
        .groupby(["board_id", "role"], sort=True)
        .agg(
            meetings=("meeting_id", "size"),
            first=("period_date", "min"),
            last=("period_date", "max"),
            meeting_ids=("meeting_id", list),
        )
        .reset_index()
    )
    return grouped[columns]


def composition_gap_sentence(
    gap: pd.Series | dict[str, Any], board_label: Callable[[str], str] = str
) -> str:
    """``Glenmoray IJB had no staff representative at 2 meetings, from ... to ...``."""
    role = ROLE_LABELS.get(MemberRole(gap["role"]), str(gap["role"]))
    board = board_label(gap["board_id"])
    if gap["meetings"] == 1:
        when = f"at its meeting on {long_date(gap['first'])}"
    else:
        when = (
            f"at {gap['meetings']} meetings, between {long_date(gap['first'])} and "
            f"{long_date(gap['last'])}"
        )
    return f"{board} had no {role} among its members {when}."
