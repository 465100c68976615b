"""Meeting mode: a meeting's agenda of decisions, each with what the board should know before
it decides — when people who use services were first involved and how, the tick-box signals,
whether lived-experience members are at the table today — and a sentence for the minutes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from coprod.models import LIVED_EXPERIENCE_ROLES
from coprod.rules import CATEGORIES, RULES_BY_CODE, CheckResult
from coprod.store import Store
from coprod.views import GROUP_LABELS, long_date, plural
from coprod.vocabulary import word

LE_ROLES = tuple(r.value for r in LIVED_EXPERIENCE_ROLES)


@dataclass
class Voices:
    """Lived-experience voices at one meeting."""

    recorded: bool  # is attendance recorded for this meeting at all?
    present: list[str] = field(default_factory=list)  # roles of those at the table
    expected: int = 0  # lived-experience members of the board on the day

    def sentence(self) -> str:
        if not self.recorded:
            if self.expected == 0:
                return "The board has no member with lived experience on this date."
            return (
                f"Attendance is not recorded yet; the board has "
                f"{plural(self.expected, 'member')} with lived experience."
            )
        if not self.present:
            return "Nobody with lived experience is at the table."
        return (
            f"{plural(len(self.present), 'person', 'people')} with lived experience at the table."
        )


@dataclass
class AgendaItem:
    number: int
    decision: dict[str, Any]  # the decision's facts from the check
    first: dict[str, Any] | None  # the first qualifying involvement, if any
    signals: list[str]  # tick-box finding codes
    findings: list[dict[str, Any]]
    at_risk: bool

    @property
    def category_text(self) -> str:
        return CATEGORIES[self.decision["first_involvement"]]

    def involvement_text(self) -> str:
        d = self.decision
        if d["first_involvement"] == "not_applicable":
            return f"Marked as not affecting people who use services: {d['exemption_reason']}."
        if self.first is None:
            if self.at_risk:
                return (
                    f"Nobody who uses services has been involved, and the options were fixed "
                    f"on {long_date(d['options_fixed_on'])}."
                )
            return "Nobody who uses services has been involved so far."
        who = GROUP_LABELS[self.first["group"]]
        if self.first["organisation"]:
            who += f" ({self.first['organisation']})"
        how = word(self.first["level"])
        if self.first["method"]:
            how += f" by {word(self.first['method'])}"
        days = (self.first["start_date"] - d["identified_on"]).days
        return (
            f"First involved on {long_date(self.first['start_date'])}, {plural(days, 'day')} "
            f"after it was identified: {how}, with {who}."
        )

    def minute(self, voices: Voices) -> str:
        """One sentence the clerk can paste into the minutes."""
        d = self.decision
        text = f"Before deciding item {self.number}, “{d['title']}”, the board noted that "
        if d["first_involvement"] == "not_applicable":
            text += (
                f"it was marked as not affecting people who use services ({d['exemption_reason']})"
            )
        elif self.first is None:
            text += "nobody who uses services had been involved"
            if self.at_risk:
                text += f" although the options were fixed on {long_date(d['options_fixed_on'])}"
        else:
            text += (
                f"people who use services were first involved on "
                f"{long_date(self.first['start_date'])} "
                f"({word(self.first['level'])} with "
                f"{GROUP_LABELS[self.first['group']]}), "
                f"{self.category_text}"
            )
        if signals := len(self.signals):
            text += f"; {plural(signals, 'tick-box signal')} {'was' if signals == 1 else 'were'}"
            text += " recorded"
        if voices.recorded:
            text += (
                "; a lived-experience member was present"
                if voices.present
                else "; no lived-experience member was present"
            )
        return text + "."


@dataclass
class Agenda:
    meeting: dict[str, Any]
    voices: Voices
    items: list[AgendaItem]

    @property
    def at_risk(self) -> list[AgendaItem]:
        return [i for i in self.items if i.at_risk]


def meetings(store: Store, board_ids: tuple[str, ...]) -> list[dict[str, Any]]:
    return store.query(
        """SELECT m.meeting_id, m.board_id, m.date, m.kind, b.name AS board_name,
                  (SELECT count(*) FROM decision d
                   WHERE d.meeting_id = m.meeting_id AND d.withdrawn_at IS NULL) AS items
           FROM meeting m JOIN board b USING (board_id)
           WHERE m.withdrawn_at IS NULL AND list_contains(?, m.board_id)
           ORDER BY m.date, m.meeting_id""",
        [list(board_ids)],
    )


def default_meeting(options: list[dict[str, Any]], today: dt.date) -> dict[str, Any] | None:
    """The next meeting with an agenda (today counts), else the latest one."""
    with_items = [m for m in options if m["items"]] or options
    upcoming = [m for m in with_items if m["date"] >= today]
    if upcoming:
        return upcoming[0]
    return with_items[-1] if with_items else None


def voices(store: Store, meeting: dict[str, Any]) -> Voices:
    rows = store.query(
        """SELECT a.status, m.role, m.lived_experience
           FROM attendance a JOIN member m USING (member_id)
           WHERE a.meeting_id = ? AND a.withdrawn_at IS NULL AND m.withdrawn_at IS NULL""",
        [meeting["meeting_id"]],
    )
    expected = store.query(
        """SELECT count(*) AS n FROM member
           WHERE board_id = ? AND withdrawn_at IS NULL AND start_date <= ?
             AND (end_date IS NULL OR ? <= end_date)
             AND (role IN (SELECT unnest(?)) OR lived_experience)""",
        [meeting["board_id"], meeting["date"], meeting["date"], list(LE_ROLES)],
    )[0]["n"]
    present = [
        r["role"]
        for r in rows
        if r["status"] in ("present", "remote", "substitute")
        and (r["role"] in LE_ROLES or r["lived_experience"])
    ]
    return Voices(recorded=bool(rows), present=present, expected=int(expected))


def agenda(store: Store, meeting_id: str, result: CheckResult) -> Agenda | None:
    found = store.query(
        """SELECT m.*, b.name AS board_name FROM meeting m JOIN board b USING (board_id)
           WHERE m.meeting_id = ?""",
        [meeting_id],
    )
    if not found:
        return None
    meeting = found[0]
    decisions = sorted(result.decisions_at(meeting_id), key=lambda d: d["decision_id"])
    firsts = {
        row["involvement_id"]: row
        for row in store.query(
            "SELECT * FROM involvement WHERE list_contains(?, involvement_id)",
            [[d["first_involvement_id"] for d in decisions if d["first_involvement_id"]]],
        )
    }
    by_decision = {d["decision_id"]: result.findings_about(d["decision_id"]) for d in decisions}
    items = []
    for number, decision in enumerate(decisions, start=1):
        found_here = by_decision.get(decision["decision_id"], [])
        items.append(
            AgendaItem(
                number=number,
                decision=decision,
                first=firsts.get(decision["first_involvement_id"] or ""),
                signals=[f["code"] for f in found_here if f["code"].startswith("TB-")],
                findings=found_here,
                at_risk=any(f["code"] == "FTS-AT-RISK" for f in found_here),
            )
        )
    return Agenda(meeting=meeting, voices=voices(store, meeting), items=items)


def signal_titles(codes: list[str]) -> list[str]:
    return [RULES_BY_CODE[c].title for c in codes]


ATTENDANCE_WORDS = {
    "present": "present",
    "remote": "joined remotely",
    "substitute": "sent a substitute",
    "apologies": "sent apologies",
    "absent": "absent",
}


def at_the_table(store: Store, meeting: dict[str, Any], *, names: bool) -> list[dict[str, str]]:
    """Every member of the board on the meeting's date and what attendance records of them.

    With ``names`` False (the public view) a member is shown as their role, never by name."""
    from coprod.representation import ROLE_LABELS

    labels = {role.value: label for role, label in ROLE_LABELS.items()}
    rows = store.query(
        """SELECT m.member_id, m.name, m.role, m.lived_experience, m.voting, a.status
           FROM member m
           LEFT JOIN attendance a
             ON a.member_id = m.member_id AND a.meeting_id = ? AND a.withdrawn_at IS NULL
           WHERE m.board_id = ? AND m.withdrawn_at IS NULL AND m.start_date <= ?
             AND (m.end_date IS NULL OR ? <= m.end_date)
           ORDER BY m.role, m.name, m.member_id""",
        [meeting["meeting_id"], meeting["board_id"], meeting["date"], meeting["date"]],
    )

    def role_label(row: dict[str, Any]) -> str:
        return str(labels.get(row["role"], row["role"]))

    return [
        {
            "Member": str(r["name"]) if names else role_label(r).capitalize(),
            "Role": role_label(r),
            "Lived experience": "yes"
            if r["lived_experience"] or r["role"] in LIVED_EXPERIENCE_ROLES
            else "no",
            "Attendance": ATTENDANCE_WORDS.get(r["status"], "not recorded")
            if r["status"]
            else "not recorded",
        }
        for r in rows
    ]
