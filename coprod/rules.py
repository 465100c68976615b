"""The rule engine: every rule of docs/domain.md as DuckDB SQL, computed as of a date.

The decision rules (FTS, TB) work from one table of facts per decision (``DECISION_FACTS``):
when people who use services were first involved, the highest rung they reached, and the
tick-box signals. Findings are then read off those facts, and off the meeting (REP) and
health-check (HC) queries, each with a message that names the dates and the principle behind
it. All thresholds come from ``coprod.settings.Thresholds``; every value is a bound parameter.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Any, TextIO

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from coprod.settings import DEFAULT_THRESHOLDS, Thresholds
from coprod.store import Store

SEVERITIES = ("critical", "major", "minor", "warning", "info")

CATEGORIES: dict[str, str] = {
    # category: what it means, as a person would say it
    "from_start": "involved from the start",
    "formative": "involved while options were still open, but not from the very start",
    "late": "involved only after the options were fixed",
    "retrofitted": "involved only on or after the day of the decision",
    "never": "decided without involving people who use services",
    "pending": "not decided yet, and nobody involved so far",
    "unknown": "involved, but when options were fixed is not recorded",
    "not_applicable": "marked as not affecting people who use services",
}
# The order a board reads them in, best first.
CATEGORY_ORDER = (
    "from_start",
    "formative",
    "late",
    "retrofitted",
    "never",
    "unknown",
    "pending",
    "not_applicable",
)


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str
    title: str
    condition: str
    principle: str
    source: str


_FROM_THE_START = (
    "Co-production from the start: people who use services are involved 'from the very start "
    "... before important decisions are taken when as much as possible can still be influenced'."
)
# The documents the rules rest on, by name (the Method page shows them beside each rule).
_PRINCIPLES = (
    "the ILiS Co-Production Toolkit's principles (Independent Living Fund report, Annex C)"
)
_DIY_GUIDE = "ILiS Do-It-Yourself Guide 11, Co-production: a way of working together"
_ENIL = "ENIL fact sheet: Co-Production"
_FROM_THE_START_SOURCES = f"{_PRINCIPLES}; {_DIY_GUIDE}"

RULES: tuple[Rule, ...] = (
    Rule(
        "FTS-EXEMPT",
        "info",
        "Exempt from the involvement check",
        "The decision is marked as not affecting people who use services; the reason is shown "
        "so that auditors see every exemption.",
        "Openness: an exemption from involvement must be visible so that the people it affects "
        "can challenge it.",
        "coprod's contract (docs/domain.md), From the start: not_applicable",
    ),
    Rule(
        "FTS-NONE",
        "critical",
        "Decided without involving people who use services",
        "The decision was taken and nobody who uses services, no carer and no Disabled People's "
        "Organisation was involved at 'consult' level or above.",
        _FROM_THE_START,
        _FROM_THE_START_SOURCES,
    ),
    Rule(
        "FTS-AT-RISK",
        "major",
        "Options fixed and nobody involved yet",
        "The decision is not yet taken, its options are already fixed, and nobody who uses "
        "services has been involved.",
        _FROM_THE_START + " There is still time to involve people before the board decides.",
        _FROM_THE_START_SOURCES,
    ),
    Rule(
        "FTS-AFTER-DECISION",
        "critical",
        "Involved only after the decision",
        "People who use services were first involved on or after the day the decision was "
        "taken. Being in the room at the decision meeting is representation, not involvement "
        "from the start.",
        _FROM_THE_START,
        _FROM_THE_START_SOURCES,
    ),
    Rule(
        "FTS-AFTER-OPTIONS",
        "major",
        "Consulting on a done deal",
        "People who use services were first involved on or after the day the options were fixed.",
        "Gunning principle 1: consultation must happen while proposals are still at a "
        "formative stage. " + _FROM_THE_START,
        f"Gunning principles (R v Brent LBC ex p Gunning, 1985); {_DIY_GUIDE}",
    ),
    Rule(
        "FTS-LATE-START",
        "minor",
        "Involved while options were open, but not from the very start",
        "People who use services were first involved before the options were fixed, but more "
        "than the start window after the decision was identified.",
        _FROM_THE_START,
        _FROM_THE_START_SOURCES,
    ),
    Rule(
        "FTS-TIMELINE-GAP",
        "warning",
        "Record when the options were fixed",
        "People who use services were involved, but not within the start window, and the date "
        "the options were fixed is not recorded, so it cannot be told whether they could still "
        "influence the decision.",
        _FROM_THE_START,
        _FROM_THE_START_SOURCES,
    ),
    Rule(
        "TB-ONE-WAY",
        "minor",
        "One-way consultation only",
        "The highest level of involvement reached was 'consult'.",
        "Co-production is 'not a tick-box exercise of one-way communication or consultation'.",
        f"{_DIY_GUIDE}; {_ENIL}",
    ),
    Rule(
        "TB-LABEL-MISMATCH",
        "major",
        "The paper claims more involvement than happened",
        "The approach the board paper claims is higher on the ladder than the highest level "
        "people who use services were actually involved at (or nobody was involved).",
        "Consultation 'can often be mistaken ... as co-production'; a claim must match what "
        "happened (Think Local Act Personal ladder of co-production).",
        f"TLAP / NEF ladder of co-production; {_ENIL}",
    ),
    Rule(
        "TB-NO-FEEDBACK",
        "minor",
        "People were not told the result",
        "The decision was taken more than the feedback window ago and no involvement records "
        "that participants were told the result within that window.",
        "People should not be left 'not informed of ... the end result of their input': "
        "'we asked, you said, we did'.",
        _ENIL,
    ),
    Rule(
        "TB-NO-INFLUENCE",
        "minor",
        "No record of what people changed",
        "The decision was taken and no involvement records what changed because of it.",
        "Co-production is not 'just giving people a chance to speak, but not using the "
        "information'; Gunning principle 4: responses must be conscientiously taken into "
        "account.",
        f"{_DIY_GUIDE}; Gunning principles",
    ),
    Rule(
        "TB-SHORT-WINDOW",
        "minor",
        "Consultation too short",
        "A formal consultation ran for fewer days than the minimum.",
        "Gunning principle 3: consultees must be given adequate time to consider and respond.",
        "Gunning principles",
    ),
    Rule(
        "TB-NO-LIVED-EXPERIENCE",
        "minor",
        "No experts by experience took part",
        "The number of participants with lived experience is recorded and adds up to nobody.",
        "People with lived experience are the 'experts by experience'; involvement without them "
        "is not co-production.",
        _ENIL,
    ),
    Rule(
        "TB-NO-SUPPORT",
        "minor",
        "No support offered to take part",
        "No involvement offered any accessible format (easy read, BSL, transport, ...) or "
        "expenses.",
        "People need support to take part as equals: venue, transport, publicity, and "
        "reward for their time.",
        f"{_DIY_GUIDE}; {_ENIL}; National Standards for Community Engagement (Support)",
    ),
    Rule(
        "TB-DISPUTED",
        "major",
        "Involvement disputed",
        "A Disabled People's Organisation or other participant disputes what officers recorded "
        "about an involvement; disputed involvement does not count.",
        "Trust and information-sharing are foundations of co-production.",
        _DIY_GUIDE,
    ),
    Rule(
        "REP-NO-VOICE",
        "major",
        "No lived-experience voice at the table",
        "Nobody with lived experience (a service user, carer or DPO representative, or a member "
        "recorded as having lived experience) was present, remote or substituted at the meeting "
        "that took the decision.",
        "People who use services and carers are represented on the board and take part as equals.",
        f"{_DIY_GUIDE}; Integration Joint Board membership rules",
    ),
    Rule(
        "REP-COMPOSITION",
        "major",
        "A required member is missing from the board",
        "At a meeting of an Integration Joint Board, no current member held one of the roles "
        "the law requires: service user, carer, third sector and staff representatives.",
        "Integration Joint Boards must include these non-voting members.",
        "Public Bodies (Joint Working) (Integration Joint Boards) (Scotland) Order 2014",
    ),
    Rule(
        "HC-GAP",
        "major",
        "Professionals and people with lived experience see it differently",
        "At one health-check, professionals scored an item higher than the lived-experience "
        "side (people who use services, carers, DPOs) by the gap threshold or more.",
        "Partners 'make wrong assumptions about each other'; a perception gap is a warning sign.",
        _DIY_GUIDE,
    ),
    Rule(
        "HC-DECLINE",
        "minor",
        "A health-check score fell",
        "An item's average score fell by the decline threshold or more since the board's "
        "previous health-check.",
        "Co-production needs a 'regular health-check' to spot problems early.",
        _DIY_GUIDE,
    ),
    Rule(
        "HC-OVERDUE",
        "minor",
        "Health-check overdue",
        "The board took decisions in the overdue window but held no health-check in it.",
        "Co-production needs a 'regular health-check' to spot problems early.",
        _DIY_GUIDE,
    ),
)
RULES_BY_CODE = {r.code: r for r in RULES}


# --- the SQL ------------------------------------------------------------------------------

# Level ranks on the ladder: none 0 < inform 1 < consult 2 < engage 3 < co_design 4 < co_produce 5.
_RANK = (
    "CASE {col} WHEN 'inform' THEN 1 WHEN 'consult' THEN 2 WHEN 'engage' THEN 3 "
    "WHEN 'co_design' THEN 4 WHEN 'co_produce' THEN 5 ELSE 0 END"
)

# Qualifying involvement: people who use services, carers or a DPO; 'consult' or higher; not
# disputed; already started by as_of (planned involvement has not happened yet). Each reason an
# involvement does not count, with what a person is told (on a decision's story); the rules
# count the involvement none of them fits. (Every column here is NOT NULL.)
# The groups whose involvement counts (coprod.models.QUALIFYING_GROUPS, named here so that the
# rules need not load the models).
QUALIFYING_GROUP_NAMES = ("people_who_use_services", "carers", "dpo")
_GROUPS = ", ".join(f"'{g}'" for g in QUALIFYING_GROUP_NAMES)
NOT_COUNTING: tuple[tuple[str, str], ...] = (
    ("i.attestation = 'disputed'", "'Does not count: disputed'"),
    (
        f'i."group" NOT IN ({_GROUPS})',
        "'Does not count: ' || replace(i.\"group\", '_', ' ') || "
        "' are not people who use services'",
    ),
    ("i.level NOT IN ('consult', 'engage', 'co_design', 'co_produce')",
     "'Does not count: informing is one-way'"),
    ("i.start_date > $as_of",
     "'Not yet: planned to start ' || strftime(i.start_date, '%-d %B %Y')"),
)  # fmt: skip
_QUALIFYING = " AND ".join(f"NOT ({condition})" for condition, _ in NOT_COUNTING)
# Whether an involvement (aliased i) counts, in words: "Counts", or why not.
COUNTS_REASON = (
    "CASE "
    + " ".join(f"WHEN {condition} THEN {reason}" for condition, reason in NOT_COUNTING)
    + " ELSE 'Counts' END"
)

# A text that trim() would not empty: trim() takes off Unicode space separators (category Zs)
# and copies what is left, so the copy is made only for a text starting with a space or a
# non-ASCII character; any other first character is not a space separator.
_HAS_TEXT = (
    "CASE WHEN {col} IS NULL OR {col} = '' THEN false "
    "WHEN ascii({col}) < 128 AND ascii({col}) <> 32 THEN true "
    "ELSE trim({col}) <> '' END"
)

# Every involvement is read once for the counts of recorded and disputed involvement, and the
# qualifying ones once more for the figures the rules need; both are grouped by decision before
# they meet the decision table (joining first would carry every involvement column through the
# join), whose text columns are read only there. With a board filter the involvement is first
# narrowed to those boards' decisions ({scoped}).
DECISION_FACTS = f"""
WITH d AS (
    SELECT decision_id, decided_on FROM decision
    WHERE withdrawn_at IS NULL
      AND ($boards IS NULL OR list_contains($boards, board_id))
),
recorded AS (
    SELECT i.decision_id, count(*) AS recorded_involvements,
           count(*) FILTER (WHERE i.attestation = 'disputed') AS disputed_involvements
    FROM involvement i
    WHERE i.withdrawn_at IS NULL{{scoped}}
    GROUP BY i.decision_id
),
qualifying AS (
    SELECT i.decision_id,
           count(*) AS qualifying_involvements,
           min(i.start_date) AS first_involved_on,
           -- the earliest; of those starting the same day, the first by id (a stable answer)
           arg_min(i.involvement_id, (i.start_date, i.involvement_id)) AS first_involvement_id,
           max({_RANK.format(col="i.level")}) AS top_rank,
           -- TB-NO-FEEDBACK: the dates people were told the result, compared with the
           -- decision date once the decisions join in
           list(i.feedback_on) FILTER (WHERE i.feedback_on IS NOT NULL) AS feedback_dates,
           -- TB-NO-INFLUENCE
           bool_or({_HAS_TEXT.format(col="i.influence")}) AS recorded_influence,
           -- TB-SHORT-WINDOW: a formal consultation shorter than the minimum
           min(CASE WHEN i.method = 'consultation' THEN i.end_date - i.start_date END)
               AS shortest_consultation_days,
           -- TB-NO-LIVED-EXPERIENCE
           count(i.lived_experience_participants) AS lived_experience_recorded,
           coalesce(sum(i.lived_experience_participants), 0) AS lived_experience_total,
           -- TB-NO-SUPPORT
           bool_or(len(i.accessible_formats) > 0 OR coalesce(i.expenses_offered, false))
               AS offered_support
    FROM involvement i
    WHERE i.withdrawn_at IS NULL{{scoped}} AND {_QUALIFYING}
    GROUP BY i.decision_id
),
facts AS (
    SELECT d.decision_id, d.board_id, d.title, d.summary, d.service_area, d.meeting_id,
           d.affects_people_who_use_services, d.exemption_reason, d.claimed_approach,
           {_RANK.format(col="d.claimed_approach")} AS claimed_rank,
           d.identified_on, d.options_fixed_on, d.decided_on, d.outcome,
           d.decided_on IS NOT NULL AND d.decided_on <= $as_of AS decided,
           -- the date a decision belongs to when pages filter by period: its decision date,
           -- or as_of while it is still to be decided
           CASE WHEN d.decided_on <= $as_of THEN d.decided_on ELSE $as_of END AS period_date,
           coalesce(r.recorded_involvements, 0) AS recorded_involvements,
           coalesce(r.disputed_involvements, 0) AS disputed_involvements,
           coalesce(qa.qualifying_involvements, 0) AS qualifying_involvements,
           qa.first_involved_on, qa.first_involvement_id, qa.top_rank,
           -- TB-NO-FEEDBACK: told the result within [decided_on, decided_on + window]
           coalesce(list_bool_or(list_transform(qa.feedback_dates, lambda f: f BETWEEN
               d.decided_on AND d.decided_on + $feedback_days)), false) AS told_result,
           coalesce(qa.recorded_influence, false) AS recorded_influence,
           qa.shortest_consultation_days,
           coalesce(qa.lived_experience_recorded, 0) AS lived_experience_recorded,
           coalesce(qa.lived_experience_total, 0) AS lived_experience_total,
           coalesce(qa.offered_support, false) AS offered_support
    FROM decision d
    LEFT JOIN recorded r ON r.decision_id = d.decision_id
    LEFT JOIN qualifying qa ON qa.decision_id = d.decision_id
    WHERE d.withdrawn_at IS NULL
      AND ($boards IS NULL OR list_contains($boards, d.board_id))
),
categorised AS (
    SELECT *,
        -- FTS: one category per decision, first match wins
        CASE
            WHEN NOT affects_people_who_use_services THEN 'not_applicable'
            WHEN first_involved_on IS NULL AND decided THEN 'never'
            WHEN first_involved_on IS NULL THEN 'pending'
            WHEN first_involved_on >= decided_on THEN 'retrofitted'
            WHEN options_fixed_on IS NOT NULL AND first_involved_on >= options_fixed_on THEN 'late'
            WHEN first_involved_on <= identified_on + $start_window THEN 'from_start'
            WHEN options_fixed_on IS NOT NULL THEN 'formative'
            ELSE 'unknown'
        END AS first_involvement,
        qualifying_involvements > 0 AS has_qualifying,
        -- TB-ONE-WAY
        qualifying_involvements > 0 AND top_rank = 2 AS tb_one_way,
        -- TB-LABEL-MISMATCH: a claimed approach above what happened (or nothing happened)
        claimed_rank > 0 AND claimed_rank > coalesce(top_rank, 0) AS tb_label_mismatch,
        -- TB-NO-FEEDBACK
        qualifying_involvements > 0 AND decided
            AND $as_of > decided_on + $feedback_days AND NOT told_result AS tb_no_feedback,
        -- TB-NO-INFLUENCE
        qualifying_involvements > 0 AND decided AND NOT recorded_influence AS tb_no_influence,
        -- TB-SHORT-WINDOW
        qualifying_involvements > 0
            AND coalesce(shortest_consultation_days < $min_consultation_days, false)
            AS tb_short_window,
        -- TB-NO-LIVED-EXPERIENCE
        qualifying_involvements > 0 AND lived_experience_recorded > 0
            AND lived_experience_total = 0 AS tb_no_lived_experience,
        -- TB-NO-SUPPORT
        qualifying_involvements > 0 AND NOT offered_support AS tb_no_support,
        -- TB-DISPUTED
        disputed_involvements > 0 AS tb_disputed
    FROM facts
)
SELECT *,
    (tb_one_way::INT + tb_label_mismatch::INT + tb_no_feedback::INT + tb_no_influence::INT
     + tb_short_window::INT + tb_no_lived_experience::INT + tb_no_support::INT
     + tb_disputed::INT) AS tick_box_signals,
    -- tick-box suspect: recorded involvement, and disputed or three signals or more
    recorded_involvements > 0 AND (tb_disputed OR tick_box_signals >= 3) AS tick_box_suspect
FROM categorised
"""

_D = "strftime({}, '%-d %B %Y')"  # dates as a person reads them: 3 March 2025


def _nice(col: str) -> str:
    return _D.format(col)


# Findings about decisions, read off the facts: for each rule code, the condition on a
# decision's facts and the message it then gets. One SQL expression per rule code, computed in
# the same pass as the facts (a column per code, NULL where the decision has no such finding).
DECISION_FINDINGS: tuple[tuple[str, str, str], ...] = (
    (
        "FTS-EXEMPT",
        "first_involvement = 'not_applicable'",
        "format('Marked as not affecting people who use services, so not checked for "
        "involvement. Reason given: {}', exemption_reason)",
    ),
    (
        "FTS-NONE",
        "first_involvement = 'never'",
        "format('Decided on {} without involving anyone who uses services, a carer or a "
        f"Disabled People''s Organisation at consultation level or above.', {_nice('decided_on')})",
    ),
    (
        "FTS-AT-RISK",
        "first_involvement = 'pending' AND options_fixed_on <= $as_of",
        "format('Options were fixed on {} and nobody who uses services has been involved "
        "yet. The decision is still to be taken: involve people before it is.', "
        f"{_nice('options_fixed_on')})",
    ),
    (
        "FTS-AFTER-DECISION",
        "first_involvement = 'retrofitted'",
        "format('Decided on {}, but people who use services were first involved on {}: "
        "they were asked only after the decision was made.', "
        f"{_nice('decided_on')}, {_nice('first_involved_on')})",
    ),
    (
        "FTS-AFTER-OPTIONS",
        "first_involvement = 'late'",
        "format('Options were fixed on {}, but people who use services were first involved "
        "on {}: they were consulted on a done deal.', "
        f"{_nice('options_fixed_on')}, {_nice('first_involved_on')})",
    ),
    (
        "FTS-LATE-START",
        "first_involvement = 'formative'",
        "format('Identified on {}; people who use services were first involved on {}, "
        "{} days later. That was before the options were fixed on {}, but not from "
        "the very start (within {} days).', "
        f"{_nice('identified_on')}, {_nice('first_involved_on')}, "
        f"first_involved_on - identified_on, {_nice('options_fixed_on')}, $start_window)",
    ),
    (
        "FTS-TIMELINE-GAP",
        "first_involvement = 'unknown'",
        "format('Identified on {}; people who use services were first involved on {}, "
        "{} days later. The date the options were fixed is not recorded, so it cannot "
        "be told whether they could still influence the decision.', "
        f"{_nice('identified_on')}, {_nice('first_involved_on')}, "
        "first_involved_on - identified_on)",
    ),
    (
        "TB-ONE-WAY",
        "tb_one_way",
        "'The most people who use services were offered was consultation: one-way, not "
        "working together.'",
    ),
    (
        "TB-LABEL-MISMATCH",
        "tb_label_mismatch",
        """CASE WHEN top_rank IS NULL
            THEN format('The board paper calls this {}, but nobody who uses services was '
                        'involved at consultation level or above.',
                        replace(claimed_approach, '_', '-'))
            ELSE format('The board paper calls this {}, but the highest level people who '
                        'use services were involved at was {}.',
                        replace(claimed_approach, '_', '-'),
                        CASE top_rank WHEN 2 THEN 'consult' WHEN 3 THEN 'engage'
                             WHEN 4 THEN 'co-design' ELSE 'co-produce' END)
       END""",
    ),
    (
        "TB-NO-FEEDBACK",
        "tb_no_feedback",
        "format('Decided on {}, and by {} nobody who took part had been told the result or "
        f"how their input was used.', {_nice('decided_on')}, "
        f"{_nice('decided_on + $feedback_days')})",
    ),
    (
        "TB-NO-INFLUENCE",
        "tb_no_influence",
        "format('Decided on {} with no record of anything that changed because of what people "
        f"who use services said.', {_nice('decided_on')})",
    ),
    (
        "TB-SHORT-WINDOW",
        "tb_short_window",
        "format('A formal consultation ran for only {} days; at least {} days gives people "
        "adequate time to respond.', shortest_consultation_days, $min_consultation_days)",
    ),
    (
        "TB-NO-LIVED-EXPERIENCE",
        "tb_no_lived_experience",
        "'None of the participants recorded had lived experience of the services concerned.'",
    ),
    (
        "TB-NO-SUPPORT",
        "tb_no_support",
        "'No accessible formats (easy read, BSL, transport, ...) and no expenses were offered "
        "to the people asked to take part.'",
    ),
    (
        "TB-DISPUTED",
        "tb_disputed",
        "format('{} of the recorded involvements {} disputed, so {} not count.', "
        "disputed_involvements, "
        "CASE WHEN disputed_involvements = 1 THEN 'is' ELSE 'are' END, "
        "CASE WHEN disputed_involvements = 1 THEN 'it does' ELSE 'they do' END)",
    ),
)
DECISION_CODES = tuple(code for code, _, _ in DECISION_FINDINGS)

# The facts with a column per decision rule code holding the finding's message.
FACTS_AND_FINDINGS = (
    "SELECT *,\n"
    + ",\n".join(
        f'    CASE WHEN {condition} THEN {message} END AS "{code}"'
        for code, condition, message in DECISION_FINDINGS
    )
    + f"\nFROM ({DECISION_FACTS})"
)

# REP-NO-VOICE: a decided decision whose meeting had no lived-experience voice at the table.
REP_NO_VOICE = f"""
WITH voiced AS (
    SELECT DISTINCT a.meeting_id
    FROM attendance a JOIN member m ON m.member_id = a.member_id
    WHERE a.withdrawn_at IS NULL AND m.withdrawn_at IS NULL
      AND a.status IN ('present', 'remote', 'substitute')
      AND (m.role IN ('service_user_rep', 'carer_rep', 'dpo_rep') OR m.lived_experience)
),
-- the few meetings with no such voice, before they meet the decisions
unvoiced AS (
    SELECT meeting_id, date FROM meeting
    WHERE withdrawn_at IS NULL AND meeting_id NOT IN (SELECT meeting_id FROM voiced)
)
SELECT 'REP-NO-VOICE' AS code, f.board_id, f.decision_id, f.meeting_id,
       NULL::VARCHAR AS item, NULL::DATE AS check_date, NULL::VARCHAR AS role,
       mt.date AS period_date,
       format('Decided on {{}} at a meeting on {{}} where nobody with lived experience was '
              'at the table.', {_nice("f.decided_on")}, {_nice("mt.date")}) AS message
FROM _facts f JOIN unvoiced mt ON mt.meeting_id = f.meeting_id
WHERE f.decided
"""

# REP-COMPOSITION: an Integration Joint Board meeting with no current member in a required role.
REP_COMPOSITION = f"""
WITH ijb_meetings AS (
    SELECT mt.meeting_id, mt.board_id, mt.date
    FROM meeting mt JOIN board b ON b.board_id = mt.board_id
    WHERE mt.withdrawn_at IS NULL AND b.withdrawn_at IS NULL
      AND b.kind = 'integration_joint_board'
      AND mt.date <= $as_of
      AND ($boards IS NULL OR list_contains($boards, mt.board_id))
),
required(role, role_name) AS (
    VALUES ('service_user_rep', 'service user representative'),
           ('carer_rep', 'carer representative'),
           ('third_sector_rep', 'third sector representative'),
           ('staff_rep', 'staff representative')
)
SELECT 'REP-COMPOSITION' AS code, im.board_id, NULL::VARCHAR AS decision_id, im.meeting_id,
       r.role AS item, NULL::DATE AS check_date, r.role AS role, im.date AS period_date,
       format('At the meeting on {{}} the board had no {{}} among its members.',
              {_nice("im.date")}, r.role_name) AS message
FROM ijb_meetings im CROSS JOIN required r
WHERE NOT EXISTS (
    SELECT 1 FROM member m
    WHERE m.board_id = im.board_id AND m.role = r.role AND m.withdrawn_at IS NULL
      AND m.start_date <= im.date AND (m.end_date IS NULL OR im.date <= m.end_date)
)
"""

# Health-check scores per check and item, for everyone and for each side, counting respondents
# (not rows). One row per answer: (response_id, item) is the table's key, so within one item
# counting rows counts respondents (no DISTINCT needed). HC-GAP and HC-DECLINE both read it, so
# the finding query computes it once (``WITH HC_SCORES``).
HC_SCORES = """
hc_scores AS MATERIALIZED (
    SELECT board_id, check_date, item,
           count(*) AS n, sum(score) AS total,
           count(*) FILTER (WHERE respondent_group = 'professional') AS n_pro,
           sum(score) FILTER (WHERE respondent_group = 'professional') AS sum_pro,
           count(*) FILTER (
               WHERE respondent_group IN ('lived_experience', 'carer', 'dpo')) AS n_le,
           sum(score) FILTER (
               WHERE respondent_group IN ('lived_experience', 'carer', 'dpo')) AS sum_le
    FROM health_check
    WHERE withdrawn_at IS NULL AND check_date <= $as_of
      AND ($boards IS NULL OR list_contains($boards, board_id))
    GROUP BY board_id, check_date, item
)
"""

# HC-GAP: professionals' mean exceeds the lived-experience side's by the gap or more.
HC_GAP = f"""
SELECT 'HC-GAP' AS code, board_id, NULL::VARCHAR AS decision_id, NULL::VARCHAR AS meeting_id,
       item, check_date, NULL::VARCHAR AS role, check_date AS period_date,
       format('At the health-check of {{}}, professionals scored "{{}}" {{}} on average and '
              'the lived-experience side {{}}: a gap of {{}}.',
              {_nice("check_date")}, item, round(sum_pro / n_pro, 1)::VARCHAR,
              round(sum_le / n_le, 1)::VARCHAR,
              round(sum_pro / n_pro - sum_le / n_le, 1)::VARCHAR) AS message
FROM hc_scores
WHERE n_pro >= $suppression AND n_le >= $suppression
  -- compared on whole numbers so that a gap of exactly the threshold is not lost to rounding
  AND (sum_pro * n_le - sum_le * n_pro) >= $gap * n_pro * n_le - 1e-9
"""

# HC-DECLINE: an item's mean fell by the decline threshold or more since the previous check.
HC_DECLINE = f"""
WITH previous AS (
    SELECT board_id, check_date,
           lag(check_date) OVER (PARTITION BY board_id ORDER BY check_date) AS previous_date
    FROM (SELECT DISTINCT board_id, check_date FROM hc_scores)
)
SELECT 'HC-DECLINE' AS code, p.board_id, NULL::VARCHAR AS decision_id,
       NULL::VARCHAR AS meeting_id, now_.item, p.check_date, NULL::VARCHAR AS role,
       p.check_date AS period_date,
       format('The average score for "{{}}" fell from {{}} at the health-check of {{}} to {{}} '
              'at the health-check of {{}}.',
              now_.item, round(before.total / before.n, 1)::VARCHAR,
              {_nice("p.previous_date")}, round(now_.total / now_.n, 1)::VARCHAR,
              {_nice("p.check_date")}) AS message
FROM previous p
JOIN hc_scores now_ ON now_.board_id = p.board_id AND now_.check_date = p.check_date
JOIN hc_scores before ON before.board_id = p.board_id AND before.check_date = p.previous_date
     AND before.item = now_.item
WHERE now_.n >= $suppression AND before.n >= $suppression
  AND (before.total * now_.n - now_.total * before.n) >= $decline * now_.n * before.n - 1e-9
"""

# HC-OVERDUE: decisions taken in the window but no health-check in it.
HC_OVERDUE = f"""
WITH window_ AS (SELECT CAST($as_of - to_months($overdue_months) AS DATE) AS since)
SELECT 'HC-OVERDUE' AS code, b.board_id, NULL::VARCHAR AS decision_id,
       NULL::VARCHAR AS meeting_id, NULL::VARCHAR AS item, NULL::DATE AS check_date,
       NULL::VARCHAR AS role, $as_of AS period_date,
       format('The board took decisions between {{}} and {{}} but held no co-production '
              'health-check in that time.', {_nice("w.since")}, {_nice("$as_of")}) AS message
FROM board b CROSS JOIN window_ w
WHERE b.withdrawn_at IS NULL
  AND ($boards IS NULL OR list_contains($boards, b.board_id))
  AND EXISTS (
      SELECT 1 FROM decision d
      WHERE d.board_id = b.board_id AND d.withdrawn_at IS NULL
        AND d.decided_on BETWEEN w.since AND $as_of
  )
  AND NOT EXISTS (
      SELECT 1 FROM health_check h
      WHERE h.board_id = b.board_id AND h.withdrawn_at IS NULL
        AND h.check_date BETWEEN w.since AND $as_of
  )
"""

_SEVERITY_RANK = (
    "CASE severity " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SEVERITIES)) + " END"
)


@dataclass
class CheckResult:
    """A check's decisions and findings, held as Arrow tables straight from DuckDB.

    ``decisions`` and ``findings`` give the same rows as dicts, made on first use: at national
    scale turning 300,000 rows into Python objects costs more than the rules themselves, and
    the dashboard's tables are built from the Arrow tables without it.
    """

    as_of: dt.date
    thresholds: Thresholds
    boards: tuple[str, ...] = ()  # the boards checked; () for every board
    decision_table: pa.Table = field(default_factory=lambda: pa.table({}))
    finding_table: pa.Table = field(default_factory=lambda: pa.table({}))

    @cached_property
    def decisions(self) -> list[dict[str, Any]]:
        return list(self.decision_table.to_pylist())

    @cached_property
    def findings(self) -> list[dict[str, Any]]:
        return list(self.finding_table.to_pylist())

    def decision(self, decision_id: str) -> dict[str, Any] | None:
        """One decision's verdict, without turning every decision into a dict."""
        rows = _rows_where(self.decision_table, "decision_id", decision_id)
        return rows[0] if rows else None

    def findings_about(self, decision_id: str) -> list[dict[str, Any]]:
        return _rows_where(self.finding_table, "decision_id", decision_id)

    def findings_coded(self, code: str) -> list[dict[str, Any]]:
        """The findings of one rule code, without turning every finding into a dict."""
        return _rows_where(self.finding_table, "code", code)

    def findings_at(self, board_id: str, check_date: dt.date) -> list[dict[str, Any]]:
        """The findings about one board's health-check."""
        if self.finding_table.num_rows == 0:
            return []
        table = self.finding_table
        mask = pc.and_(
            pc.equal(table["board_id"], pa.scalar(board_id, table.schema.field("board_id").type)),
            pc.equal(
                table["check_date"], pa.scalar(check_date, table.schema.field("check_date").type)
            ),
        )
        return list(table.filter(pc.fill_null(mask, False)).to_pylist())

    def decisions_at(self, meeting_id: str) -> list[dict[str, Any]]:
        """The decisions recorded as taken at one meeting."""
        return _rows_where(self.decision_table, "meeting_id", meeting_id)

    def to_json(self) -> dict[str, Any]:
        """The JSON of ``coprod check --format json`` (docs/domain.md, command line)."""
        decisions = _columns(
            self.decision_table,
            ["decision_id", "board_id", "first_involvement", "tick_box_suspect"],
        )
        findings = _columns(
            self.finding_table,
            ["code", "severity", "board_id", "decision_id", "meeting_id", "item", "role",
             "check_date", "message", "principle"],
        )  # fmt: skip
        for f in findings:
            f["check_date"] = f["check_date"].isoformat() if f["check_date"] else None
        return {
            "as_of": self.as_of.isoformat(),
            "thresholds": asdict(self.thresholds),
            "decisions": decisions,
            "findings": findings,
        }

    def write_json(self, out: TextIO) -> None:
        """Write ``to_json()`` to ``out`` as JSON text, each decision and finding on a line.

        DuckDB writes the rows (its JSON escapes every control character, so none reaches a
        terminal), a batch at a time: a national check is never held as Python objects."""
        out.write(
            '{"as_of": ' + json.dumps(self.as_of.isoformat())
            + ', "thresholds": ' + json.dumps(asdict(self.thresholds))
        )  # fmt: skip
        with duckdb.connect() as con:
            for key, table, names in (
                ("decisions", self.decision_table, _JSON_DECISION),
                ("findings", self.finding_table, _JSON_FINDING),
            ):
                out.write(f', "{key}": [')
                if table.num_rows:
                    con.register("_rows", table.select(names))
                    fields = ", ".join(f"{n} := {n}" for n in names)
                    # Each row comes back as ",\n" and its JSON, and a batch is written as the
                    # one text its Arrow buffer already holds (no Python string per row); the
                    # first row's comma is left out.
                    reader = con.execute(
                        f"SELECT ',\n' || to_json(struct_pack({fields}))::VARCHAR FROM _rows"
                    ).to_arrow_reader(batch_size=50_000)
                    first = True
                    for batch in reader:
                        text = _joined(batch.column(0))
                        out.write(text[1:] if first else text)
                        first = False
                    con.unregister("_rows")
                    out.write("\n")
                out.write("]")
        out.write("}\n")


def _joined(texts: pa.Array) -> str:
    """The texts of a string array one after another, read from its data buffer at once."""
    texts = texts.cast(pa.large_string())
    if texts.null_count or not len(texts):
        raise ValueError("a JSON row is missing")
    _, offsets, data = texts.buffers()
    ends = pa.Array.from_buffers(pa.int64(), len(texts) + 1, [None, offsets], offset=texts.offset)
    start, stop = ends[0].as_py(), ends[-1].as_py()
    return str(data.slice(start, stop - start).to_pybytes(), "utf-8")


_JSON_DECISION = ["decision_id", "board_id", "first_involvement", "tick_box_suspect"]
_JSON_FINDING = [
    "code", "severity", "board_id", "decision_id", "meeting_id", "item", "role", "check_date",
    "message", "principle",
]  # fmt: skip


def _columns(table: pa.Table, names: list[str]) -> list[dict[str, Any]]:
    return list(table.select(names).to_pylist()) if table.num_rows else []


def _rows_where(table: pa.Table, column: str, value: str) -> list[dict[str, Any]]:
    if table.num_rows == 0:
        return []
    mask = pc.equal(table[column], pa.scalar(value, table.schema.field(column).type))
    return list(table.filter(pc.fill_null(mask, False)).to_pylist())


def _params(as_of: dt.date, thresholds: Thresholds, boards: list[str] | None) -> dict[str, Any]:
    return {
        "as_of": as_of,
        "boards": list(boards) if boards else None,
        "start_window": thresholds.start_window_days,
        "feedback_days": thresholds.feedback_window_days,
        "min_consultation_days": thresholds.min_consultation_days,
        "suppression": thresholds.suppression_size,
        "gap": thresholds.health_check_gap,
        "decline": thresholds.health_check_decline,
        "overdue_months": thresholds.overdue_months,
    }


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """DuckDB rejects named parameters a statement does not use."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def _order(keys: dict[str, Any]) -> pa.Array:
    """The positions of the rows in the order of ``keys``, ascending, nulls last.

    Arrow finds the order on the key columns alone and the rows are then gathered once, which
    costs far less than DuckDB's ORDER BY moving every text column through its sort. Text keys
    compare byte by byte, as in DuckDB, so the order is the one ``ORDER BY ... NULLS LAST``
    gives."""
    table = pa.table(keys).combine_chunks()  # Arrow sorts one chunk much faster than many
    return pc.sort_indices(table, sort_keys=[(k, "ascending", "at_end") for k in keys])


def _place(texts: pa.ChunkedArray) -> pa.Array:
    """Each text's place among the distinct texts in byte order: ordering by it orders as by the
    text, and a number compares faster than a text (a few hundred boards, a million rows)."""
    distinct = pc.unique(texts)
    return pc.index_in(texts, value_set=distinct.take(pc.array_sort_indices(distinct)))


# Each rule's severity, principle and severity rank (critical first), looked up by code; and
# each code's place in byte order.
_RULE_CODES = pa.array([r.code for r in RULES], pa.string())
_RULE_SEVERITY = pa.array([r.severity for r in RULES], pa.string())
_RULE_PRINCIPLE = pa.array([r.principle for r in RULES], pa.string())
_RULE_RANK = pa.array([SEVERITIES.index(r.severity) for r in RULES], pa.int8())
_SORTED_CODES = pa.array(sorted(r.code for r in RULES), pa.string())


def _ordered_decisions(decisions: pa.Table) -> pa.Table:
    """The decisions by board, then the date each was identified, then id."""
    order = _order(
        {
            "board_id": _place(decisions["board_id"]),
            "identified_on": decisions["identified_on"],
            "decision_id": decisions["decision_id"],
        }
    )
    return decisions.take(order)


def _with_rule_columns(findings: pa.Table) -> pa.Table:
    """The findings with their rule's severity and principle, most severe first, then by board,
    code, decision, meeting, item and check date.

    The rows are gathered once in that order, and each rule's severity and principle are then
    looked up by code."""
    rule = pc.index_in(findings["code"], value_set=_RULE_CODES)
    order = _order(
        {
            "rank": pc.take(_RULE_RANK, rule),
            "board_id": _place(findings["board_id"]),
            "code": pc.index_in(findings["code"], value_set=_SORTED_CODES),
        }
        | {k: findings[k] for k in ("decision_id", "meeting_id", "item", "check_date")}
    )
    table = findings.take(order)
    rule = pc.take(rule, order)
    table = table.append_column("severity", pc.take(_RULE_SEVERITY, rule))
    table = table.append_column("principle", pc.take(_RULE_PRINCIPLE, rule))
    return table.select(list(_FINDING_COLUMNS))


_FINDING_COLUMNS = (
    "code", "severity", "board_id", "decision_id", "meeting_id", "item", "check_date", "role",
    "period_date", "message", "principle",
)  # fmt: skip


def _decision_findings(facts: pa.Table, like: pa.Schema) -> pa.Table:
    """A finding for each message in the facts' rule-code columns, in the columns of ``like``
    (the other findings' table)."""
    rows, codes, messages = [], [], []
    for code in DECISION_CODES:
        column = facts[code]
        found = pc.is_valid(column)
        rows.append(pc.indices_nonzero(found))
        messages.append(column.filter(found))
        codes.append(pa.repeat(pa.scalar(code, pa.string()), len(rows[-1])))
    taken = pa.concat_arrays(rows)
    n = len(taken)
    keys = facts.select(["board_id", "decision_id", "meeting_id", "period_date"]).take(taken)
    columns = {
        "code": pa.concat_arrays(codes),
        "board_id": keys["board_id"],
        "decision_id": keys["decision_id"],
        "meeting_id": keys["meeting_id"],
        "item": pa.nulls(n, like.field("item").type),
        "check_date": pa.nulls(n, like.field("check_date").type),
        "role": pa.nulls(n, like.field("role").type),
        "period_date": keys["period_date"],
        "message": pa.chunked_array([c for m in messages for c in m.chunks], pa.string()),
    }
    return pa.table(columns, schema=like)


def run_check(
    store: Store,
    as_of: dt.date | None = None,
    *,
    boards: list[str] | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> CheckResult:
    """Every decision's category and tick-box verdict, and every finding, as of a date.

    The last few results are remembered per store. When the store has not changed since, the
    answer is the same; when only this process's audited writes changed it, only the boards
    they touched are checked again and their rows take the place of the old ones (the same
    rows, in the same order, as checking everything again would give)."""
    as_of = as_of or dt.date.today()
    scope = tuple(sorted(boards or ()))
    key = (as_of, thresholds, scope)
    version = store.data_version()  # read before the data: a result is never newer than it
    known = _remembered(store, key)
    result: CheckResult | None = None
    if known is not None:
        seen, old = known
        if seen == version:
            result = old
        elif (after := store.audited_since(seen, version)) is not None:
            touched = _boards_touched(store, after, old)
            if touched is not None:
                if scope:
                    touched &= set(scope)
                result = (
                    _spliced(old, _computed(store, as_of, sorted(touched), thresholds), touched)
                    if touched
                    else old
                )
    if result is None:
        result = _computed(store, as_of, list(scope) or None, thresholds)
    _remember(store, key, version, result)
    return replace(result)  # its tables shared; its rows as dicts made afresh on first use


def _computed(
    store: Store, as_of: dt.date, boards: list[str] | None, thresholds: Thresholds
) -> CheckResult:
    """The check itself: every decision and finding of ``boards`` (None: every board)."""
    params = _params(as_of, thresholds, boards)
    result = CheckResult(as_of=as_of, thresholds=thresholds, boards=tuple(sorted(boards or ())))
    facts_sql = FACTS_AND_FINDINGS.replace(
        "{scoped}", "\n      AND i.decision_id IN (SELECT decision_id FROM d)" if boards else ""
    ).replace("$boards", "CAST($boards AS VARCHAR[])")
    finding_sql = (
        f"WITH {HC_SCORES}\n"
        + " UNION ALL ".join(
            f"({sql})" for sql in (REP_NO_VOICE, REP_COMPOSITION, HC_GAP, HC_DECLINE, HC_OVERDUE)
        )
    ).replace("$boards", "CAST($boards AS VARCHAR[])")
    with store.cursor() as cur:
        # The decision facts, with a message column per decision rule code, come back as Arrow;
        # REP-NO-VOICE reads that same table (registered as _facts) rather than a copy written
        # into the database.
        facts = cur.execute(facts_sql, _used(facts_sql, params)).to_arrow_table()
        cur.register("_facts", facts)
        try:
            others = cur.execute(finding_sql, _used(finding_sql, params)).to_arrow_table()
        finally:
            cur.unregister("_facts")
    findings = pa.concat_tables([_decision_findings(facts, others.schema), others])
    result.decision_table = _ordered_decisions(facts.drop_columns(list(DECISION_CODES)))
    result.finding_table = _with_rule_columns(findings)
    return result


# --- checking again only what a write touched ---------------------------------------------

_MEMO: weakref.WeakKeyDictionary[Store, OrderedDict[tuple[Any, ...], tuple[int, CheckResult]]]
_MEMO = weakref.WeakKeyDictionary()
_MEMO_LOCK = threading.Lock()
_MEMO_KEPT = 4  # results remembered per store (a few dates and scopes at once)
_TOUCHED_ENTRIES = 5_000  # more audit entries than this since: check everything again
_TOUCHED_SHARE = 0.2  # more than this share of the boards touched: check everything again


def _remembered(store: Store, key: tuple[Any, ...]) -> tuple[int, CheckResult] | None:
    with _MEMO_LOCK:
        return _MEMO.get(store, OrderedDict()).get(key)


def _remember(store: Store, key: tuple[Any, ...], version: int, result: CheckResult) -> None:
    with _MEMO_LOCK:
        kept = _MEMO.setdefault(store, OrderedDict())
        kept[key] = (version, result)
        kept.move_to_end(key)
        while len(kept) > _MEMO_KEPT:
            kept.popitem(last=False)


# The boards whose rows the audit entries after $after can change: each entry's record before
# and after the change names its board, or its decision or meeting; a change to a meeting or
# its attendance reaches the decisions taken there (REP-NO-VOICE). A member sits, and attends,
# on one board only (imports and forms refuse a member at another board's meeting, or a move
# that would leave one), so a member's board is all their change reaches. Entities the rules do
# not read reach none; an entity this query does not know means checking everything again.
_BOARDS_TOUCHED = """
WITH entry AS (
    SELECT entity, x
    FROM audit_log, unnest([before, after]) AS t(x)
    WHERE audit_id > $after AND x IS NOT NULL
),
named AS (
    SELECT entity,
           json_extract_string(x, '$.board_id') AS board_id,
           json_extract_string(x, '$.decision_id') AS decision_id,
           json_extract_string(x, '$.meeting_id') AS meeting_id
    FROM entry
),
reached AS (
    SELECT board_id FROM named
    WHERE entity IN ('board', 'member', 'meeting', 'decision', 'health_check')
    UNION ALL
    SELECT d.board_id FROM named n JOIN decision d ON d.decision_id = n.decision_id
    WHERE n.entity = 'involvement'
    UNION ALL
    SELECT d.board_id FROM named n JOIN decision d ON d.meeting_id = n.meeting_id
    WHERE n.entity IN ('meeting', 'attendance')
    UNION ALL
    SELECT mt.board_id FROM named n JOIN meeting mt ON mt.meeting_id = n.meeting_id
    WHERE n.entity = 'attendance'
)
SELECT (SELECT count(*) FROM entry
        WHERE entity NOT IN ('board', 'member', 'meeting', 'attendance', 'decision',
                             'involvement', 'health_check', 'health_check_item', 'app_user')),
       (SELECT list(DISTINCT board_id) FROM reached WHERE board_id IS NOT NULL)
"""


def _boards_touched(store: Store, after: int, old: CheckResult) -> set[str] | None:
    """The boards the audited writes after ``after`` touched, or None when checking everything
    again costs less or what they touched is not known."""
    with store.cursor() as cur:
        counted = cur.execute(f"SELECT count(*) FROM audit_log WHERE audit_id > {int(after)}")
        entries = counted.fetchone()
        if entries is None or entries[0] > _TOUCHED_ENTRIES:
            return None
        row = cur.execute(_BOARDS_TOUCHED.replace("$after", str(int(after)))).fetchone()
    if row is None or row[0]:
        return None
    touched = set(row[1] or ())
    boards = len(pc.unique(old.decision_table["board_id"])) if old.decision_table.num_rows else 0
    return None if len(touched) > max(1, _TOUCHED_SHARE * boards) else touched


def _spliced(old: CheckResult, new: CheckResult, touched: set[str]) -> CheckResult:
    """``old`` with the rows of the ``touched`` boards replaced by ``new``'s (which holds only
    those boards), in the order a whole check gives."""
    return replace(
        old,
        decision_table=_merged(
            old.decision_table, new.decision_table, touched, lambda t: [t["board_id"]]
        ),
        finding_table=_merged(
            old.finding_table,
            new.finding_table,
            touched,
            lambda t: [pc.index_in(t["severity"], value_set=_SEVERITY_NAMES), t["board_id"]],
        ),
    )


_SEVERITY_NAMES = pa.array(SEVERITIES, pa.string())


def _merged(
    old: pa.Table,
    new: pa.Table,
    touched: set[str],
    group: Callable[[pa.Table], list[pa.ChunkedArray]],
) -> pa.Table:
    """The rows of ``old`` not of the ``touched`` boards, with ``new``'s rows put in among them.

    Both tables are ordered first by the columns ``group`` gives (a board's rows, or a
    severity's and a board's, are together), and the new rows' groups are not among the rows
    kept; so each of the new groups goes, whole and in its own order, before the first kept
    group that sorts after it."""
    kept = old.filter(_not_of(old, touched)) if old.num_rows else old
    if not new.num_rows or not kept.num_rows:
        return new if new.num_rows else kept
    kept_groups, kept_ends = _groups(group(kept))
    new_groups, new_ends = _groups(group(new))
    pieces: list[pa.Table] = []
    done = 0  # the kept rows already placed
    start = 0  # where the next new group starts
    for found, end in zip(new_groups, new_ends, strict=True):
        place = bisect.bisect_left(kept_groups, found)
        until = kept_ends[place - 1] if place else 0
        if until > done:
            pieces.append(kept.slice(done, until - done))
            done = until
        pieces.append(new.slice(start, end - start))
        start = end
    if done < kept.num_rows:
        pieces.append(kept.slice(done))
    merged = pa.concat_tables(pieces)
    # Many splices leave many small chunks, which slow Arrow down: gather them now and then.
    return merged.combine_chunks() if merged.column(0).num_chunks > 64 else merged


def _not_of(table: pa.Table, touched: set[str]) -> pa.ChunkedArray:
    boards = pa.array(sorted(touched), table.schema.field("board_id").type)
    return pc.invert(pc.fill_null(pc.is_in(table["board_id"], value_set=boards), False))


def _groups(columns: list[pa.ChunkedArray]) -> tuple[list[tuple[Any, ...]], list[int]]:
    """The groups of consecutive equal rows of ``columns``, in order, and where each ends."""
    if not len(columns[0]):
        return [], []
    table = pa.table({str(i): c for i, c in enumerate(columns)})
    names = table.column_names
    counts = table.group_by(names, use_threads=False).aggregate([([], "count_all")])
    groups = list(zip(*(counts[n].to_pylist() for n in names), strict=True))
    ends = list(itertools.accumulate(counts["count_all"].to_pylist()))
    return groups, ends
