"""One decision's story: what the Decision story page shows, as typed values.

The decision and its board, its verdict and findings from a check, and its involvement in date
order, each with whether it counts towards "from the start" in words (the rules' own
condition, ``coprod.rules.COUNTS_REASON``), and the events of all of them in date order. It
asks the store for this one decision only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from coprod.models import Approach
from coprod.rules import CATEGORIES, COUNTS_REASON, RULES_BY_CODE, CheckResult
from coprod.store import Store
from coprod.views import long_date
from coprod.vocabulary import word


@dataclass(frozen=True)
class Verdict:
    """What the rules say of the decision."""

    first_involvement: str  # a category of coprod.rules.CATEGORIES
    first_involved_on: dt.date | None
    tick_box_suspect: bool


@dataclass(frozen=True)
class StoryFinding:
    code: str
    title: str  # the rule's name
    severity: str
    message: str
    principle: str


@dataclass(frozen=True)
class StoryInvolvement:
    involvement_id: str
    group: str
    level: str
    method: str | None
    organisation: str | None
    start_date: dt.date
    end_date: dt.date | None
    participants: int | None
    lived_experience_participants: int | None
    accessible_formats: tuple[str, ...]
    expenses_offered: bool | None
    feedback_on: dt.date | None
    influence: str | None
    attestation: str
    attestation_note: str | None
    reason: str  # "Counts", or why it does not count (yet)

    @property
    def counts(self) -> bool:
        return self.reason == "Counts"


@dataclass(frozen=True)
class StoryEvent:
    date: dt.date
    event: str
    detail: str


@dataclass(frozen=True)
class DecisionStory:
    decision_id: str
    board_id: str
    board_name: str
    title: str
    summary: str | None
    service_area: str | None
    meeting_id: str | None
    identified_on: dt.date
    options_fixed_on: dt.date | None
    decided_on: dt.date | None
    outcome: str | None
    affects_people_who_use_services: bool
    exemption_reason: str | None
    claimed: Approach
    verdict: Verdict
    involvements: tuple[StoryInvolvement, ...]
    events: tuple[StoryEvent, ...]
    findings: tuple[StoryFinding, ...]

    def sentence(self) -> str:
        """The story in one or two sentences: its category and the dates that decide it."""
        text = f"“{self.title}” — {CATEGORIES[self.verdict.first_involvement]}."
        first = self.verdict.first_involved_on
        if first:
            text += (
                f" Identified on {long_date(self.identified_on)}; people who use services "
                f"were first involved on {long_date(first)}"
            )
            if self.options_fixed_on:
                text += f"; options were fixed on {long_date(self.options_fixed_on)}"
            if self.decided_on:
                text += f"; decided on {long_date(self.decided_on)}"
            text += "."
        if self.verdict.tick_box_suspect:
            text += " It looks like a tick-box exercise."
        return text


_DECISION = """
SELECT d.decision_id, d.board_id, b.name AS board_name, d.title, d.summary, d.service_area,
       d.meeting_id, d.identified_on, d.options_fixed_on, d.decided_on, d.outcome,
       d.affects_people_who_use_services, d.exemption_reason, d.claimed_approach
FROM decision d JOIN board b USING (board_id)
WHERE d.decision_id = $decision
"""

# The rules' own condition is written into the query; the values are bound.
_INVOLVEMENT = f"""
SELECT i.involvement_id, i."group", i.level, i.method, i.organisation, i.start_date,
       i.end_date, i.participants, i.lived_experience_participants, i.accessible_formats,
       i.expenses_offered, i.feedback_on, i.influence, i.attestation, i.attestation_note,
       {COUNTS_REASON} AS reason
FROM involvement i
WHERE i.decision_id = $decision AND i.withdrawn_at IS NULL
ORDER BY i.start_date, i.involvement_id
"""  # noqa: S608


def decision_story(store: Store, decision_id: str, result: CheckResult) -> DecisionStory | None:
    """The story of one decision, as of ``result``'s date; None when there is no such decision."""
    rows = store.query(_DECISION, {"decision": decision_id})
    if not rows:
        return None
    d = rows[0]
    involvements = tuple(
        StoryInvolvement(**(row | {"accessible_formats": tuple(row["accessible_formats"])}))
        for row in store.query(_INVOLVEMENT, {"decision": decision_id, "as_of": result.as_of})
    )
    found = result.decision(decision_id)
    verdict = Verdict(
        first_involvement=found["first_involvement"] if found else "unknown",
        first_involved_on=found["first_involved_on"] if found else None,
        tick_box_suspect=bool(found and found["tick_box_suspect"]),
    )
    findings = tuple(
        StoryFinding(
            code=f["code"],
            title=RULES_BY_CODE[f["code"]].title,
            severity=f["severity"],
            message=f["message"],
            principle=f["principle"],
        )
        for f in result.findings_about(decision_id)
    )
    return DecisionStory(
        decision_id=d["decision_id"],
        board_id=d["board_id"],
        board_name=d["board_name"],
        title=d["title"],
        summary=d["summary"],
        service_area=d["service_area"],
        meeting_id=d["meeting_id"],
        identified_on=d["identified_on"],
        options_fixed_on=d["options_fixed_on"],
        decided_on=d["decided_on"],
        outcome=d["outcome"],
        affects_people_who_use_services=d["affects_people_who_use_services"],
        exemption_reason=d["exemption_reason"],
        claimed=Approach(d["claimed_approach"]),
        verdict=verdict,
        involvements=involvements,
        events=_events(d, involvements, result.as_of),
        findings=findings,
    )


def _events(
    d: dict[str, Any], involvements: tuple[StoryInvolvement, ...], as_of: dt.date
) -> tuple[StoryEvent, ...]:
    """The decision's milestones and each involvement's start and feedback, in date order."""
    events = [StoryEvent(d["identified_on"], "Decision identified", "")]
    if d["options_fixed_on"]:
        events.append(StoryEvent(d["options_fixed_on"], "Options fixed", ""))
    for inv in involvements:
        detail = f"{word(inv.level)} · {word(inv.group)}"
        if inv.organisation:
            detail += f" ({inv.organisation})"
        if inv.method:
            detail += f" · {word(inv.method)}"
        events.append(
            StoryEvent(
                inv.start_date,
                f"Involvement {inv.involvement_id} starts",
                f"{detail} — {inv.reason}",
            )
        )
        if inv.feedback_on:
            events.append(
                StoryEvent(
                    inv.feedback_on, f"Participants of {inv.involvement_id} told the result", ""
                )
            )
    if d["decided_on"]:
        decided = d["decided_on"] <= as_of
        events.append(
            StoryEvent(
                d["decided_on"],
                "Decided" if decided else "Decision due",
                f"outcome: {d['outcome']}" if d["outcome"] else "",
            )
        )
    events.sort(key=lambda e: (e.date, e.event))
    return tuple(events)
