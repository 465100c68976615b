"""Deterministic demo data: boards, members, meetings, decisions, involvement and health-checks.

``generate`` builds the rows of every table from one seed with ``random.Random`` alone, so the
same seed always gives the same files byte for byte, and nothing depends on today's date: the
data is "as of" ``DEMO_AS_OF``, spans about six years before it and plans a few meetings and
decisions in the months after it.

The first three boards are the showcase committed as ``data/demo/``: two Integration Joint
Boards and a strategic planning group in invented Scottish partnership areas. They read like a
real partnership (mostly reasonable practice that improves over time, with a realistic minority
of problems), and a few scripted events make sure every rule of docs/domain.md fires at least once:
a staff-side vacancy, summer meetings where every lived-experience member sent apologies, a
disputed charging-policy consultation followed by a dip in the health-check, a planning group
that stopped doing health-checks. Boards beyond the third (``demo-b0004`` ...) are larger, for
national-scale benchmarks. Every board id starts with ``demo-`` and every name says "(demo)".
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coprod.interchange import write_csv_folder
from coprod.models import DEFAULT_HEALTH_CHECK_ITEMS

DEMO_AS_OF: dt.date = dt.date(2026, 11, 21)

Row = dict[str, Any]
Tables = dict[str, list[Row]]

_DAY = dt.timedelta(days=1)
_FIRST_MONTH = dt.date(2021, 1, 1)  # the first board meetings of the demo
_HORIZON = DEMO_AS_OF + dt.timedelta(days=80)  # meetings are planned up to here
_COVID_HYBRID_FROM = dt.date(2022, 3, 1)  # meetings were online only before this
_ELECTIONS = (dt.date(2017, 5, 4), dt.date(2022, 5, 5), dt.date(2027, 5, 6))
_SPAN_DAYS = (DEMO_AS_OF - _FIRST_MONTH).days

_TABLES = ("board", "member", "meeting", "attendance", "decision", "involvement", "health_check")
_QUALIFYING = ("people_who_use_services", "carers", "dpo")
_LADDER = ("inform", "consult", "engage", "co_design", "co_produce")
_LE_ROLES = ("service_user_rep", "carer_rep", "dpo_rep")
_ITEMS = tuple(DEFAULT_HEALTH_CHECK_ITEMS)


# --- the boards -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _BoardSpec:
    board_id: str
    name: str
    kind: str
    place: str  # the invented partnership area
    health_board: str
    offset: int  # 0: meets in odd months (January, March, ...); 1: in even months
    weekday: int  # 0 = Monday
    week: int  # meets on the n-th such weekday of the month
    decisions_per_meeting: tuple[int, int]
    # On average this many more involvements per decision, on the national-scale boards.
    extra_involvements: float = 0.0
    vacancies: tuple[tuple[str, dt.date, dt.date], ...] = ()  # role, last day filled, refilled
    no_voice_meetings: tuple[tuple[int, int], ...] = ()  # (year, month) of meetings
    health_check_dip: tuple[int, int] | None = None  # (year, month) of a check where trust fell
    health_checks_stop: dt.date | None = None  # no health-checks after this date
    small_lived_experience_side: bool = False  # a group that rarely gets 5 such respondents
    staff_seats: int = 2  # an Integration Joint Board's staff-side seats


_SHOWCASE: tuple[_BoardSpec, ...] = (
    _BoardSpec(
        board_id="demo-glenmoray-ijb",
        name="Glenmoray Integration Joint Board (demo)",
        kind="integration_joint_board",
        place="Glenmoray",
        health_board="NHS Caledon",
        offset=0,
        weekday=2,
        week=3,
        decisions_per_meeting=(3, 6),
        # One staff-side seat: its holder retired and the unions took four months to nominate.
        staff_seats=1,
        vacancies=(("staff_rep", dt.date(2023, 3, 31), dt.date(2023, 8, 14)),),
        no_voice_meetings=((2022, 7), (2025, 7)),
        # The disputed charging-policy consultation of May 2024 shows in the June check.
        health_check_dip=(2024, 6),
    ),
    _BoardSpec(
        board_id="demo-firthside-ijb",
        name="Firthside Integration Joint Board (demo)",
        kind="integration_joint_board",
        place="Firthside",
        health_board="NHS Caledon",
        offset=1,
        weekday=1,
        week=2,
        decisions_per_meeting=(3, 6),
        vacancies=(("carer_rep", dt.date(2025, 9, 30), dt.date(2025, 11, 3)),),
        no_voice_meetings=((2023, 8),),
    ),
    _BoardSpec(
        board_id="demo-lochbrae-spg",
        name="Lochbrae Strategic Planning Group (demo)",
        kind="strategic_planning_group",
        place="Lochbrae",
        health_board="NHS Forth and Lorne",
        offset=0,
        weekday=3,
        week=1,
        decisions_per_meeting=(3, 6),
        no_voice_meetings=((2024, 7),),
        health_checks_stop=dt.date(2026, 3, 21),
        small_lived_experience_side=True,
    ),
)

_PLACE_START = (
    "Inver", "Strath", "Glen", "Kil", "Dun", "Loch", "Ard", "Bal", "Auch", "Kin", "Tor",
    "Craig", "Blair", "Mor", "Ben", "Carn", "Drum", "Fin", "Lang", "Rath",
)  # fmt: skip
_PLACE_END = (
    "lorne", "moray", "avon", "brae", "clyde", "more", "side", "ness", "dale", "haven",
    "field", "bride", "gowan", "rannoch", "vale", "allan", "tay", "wick", "shiel", "ford",
)  # fmt: skip
_HEALTH_BOARDS = ("NHS Caledon", "NHS Forth and Lorne", "NHS Northern Isles and Coast")
_NATIONAL_KINDS = (
    "integration_joint_board",
    "integration_joint_board",
    "strategic_planning_group",
    "locality_group",
    "committee",
)
_KIND_LABEL = {
    "integration_joint_board": "Integration Joint Board",
    "strategic_planning_group": "Strategic Planning Group",
    "locality_group": "Locality Planning Group",
    "committee": "Performance and Audit Committee",
    "other": "Board",
}


def _national_spec(index: int, rng: random.Random) -> _BoardSpec:
    """Board number ``index`` (4, 5, ...): a larger board for national-scale benchmarks."""
    kind = _NATIONAL_KINDS[index % len(_NATIONAL_KINDS)]
    place = rng.choice(_PLACE_START) + rng.choice(_PLACE_END)
    start = dt.date(2021, 3, 1) + dt.timedelta(days=rng.randint(0, 1600))
    vacancies: tuple[tuple[str, dt.date, dt.date], ...] = ()
    if kind == "integration_joint_board" and rng.random() < 0.25:
        role = rng.choice(("service_user_rep", "carer_rep", "third_sector_rep", "staff_rep"))
        vacancies = ((role, start, start + dt.timedelta(days=rng.randint(45, 180))),)
    no_voice = tuple(
        (2021 + year, 1 + (2 * rng.randint(0, 5) + index % 2) % 12)
        for year in range(6)
        if rng.random() < 0.2
    )
    dip = (2022 + rng.randint(0, 3), 3 * rng.randint(1, 4)) if rng.random() < 0.3 else None
    stop = DEMO_AS_OF - dt.timedelta(days=rng.randint(200, 400)) if rng.random() < 0.1 else None
    return _BoardSpec(
        board_id=f"demo-b{index:04d}",
        name=f"{place} {_KIND_LABEL[kind]} (demo {index:04d})",
        kind=kind,
        place=place,
        health_board=rng.choice(_HEALTH_BOARDS),
        offset=index % 2,
        weekday=index % 4,
        week=1 + index % 3,
        decisions_per_meeting=(15, 21),
        extra_involvements=1.25,
        vacancies=vacancies,
        no_voice_meetings=no_voice,
        health_check_dip=dip,
        health_checks_stop=stop,
        small_lived_experience_side=kind != "integration_joint_board" and rng.random() < 0.5,
    )


# --- the people -----------------------------------------------------------------------------

_FIRST_NAMES = (
    "Morag", "Callum", "Aisha", "Fiona", "Iain", "Priya", "Kenneth", "Siobhan", "Euan",
    "Agnieszka", "Tariq", "Catriona", "Ewan", "Mhairi", "Ravi", "Jolene", "Duncan", "Ailsa",
    "Tomasz", "Grace", "Hamish", "Nadia", "Ruaridh", "Shona", "Kwame", "Lorna", "Declan",
    "Isla", "Farah", "Graham", "Eilidh", "Brian", "Marta", "Craig", "Kirsty", "Yusuf",
    "Heather", "Niall", "Chloe", "Amir", "Seònaid", "Peter", "Joyce", "Gordon", "Mei",
    "Alasdair", "Rhona", "Imran", "Elspeth", "Stuart", "Bernadette", "Olumide", "Lewis",
    "Carol", "Anjali", "Fraser", "Senga", "Dariusz", "Kerry", "Malcolm",
)  # fmt: skip
_SURNAMES = (
    "MacLeod", "Thomson", "Kaur", "Baillie", "Nowak", "Campbell", "Ferguson", "Rahman",
    "Drummond", "Sinclair", "Okafor", "Munro", "Fraser", "Hussain", "Gallacher", "Kowalski",
    "Paterson", "McAllister", "Chen", "Urquhart", "Lindsay", "Mackay", "Bello", "Robertson",
    "Reid", "Henderson", "Malik", "Docherty", "Ross", "Nicolson", "Wilson", "Sutherland",
    "MacInnes", "Brannigan", "Shah", "Gillespie", "Forbes", "McKenzie", "Wiśniewska", "Boyle",
    "Anderson", "Mackintosh", "Ogilvie", "Stewart", "Quinn", "Murray", "Lamont", "Gunn",
    "Adeyemi", "Byrne", "Cairns", "Dunbar", "Esson", "Galbraith", "Hamilton", "Iqbal", "Jamieson",
    "Kerr", "Laing", "MacAulay", "Napier", "O'Neill", "Patel", "Rennie", "Scott", "Tait", "Wong",
    "Young", "Zielinska", "Buchanan", "Crawford", "Duffy",
)  # fmt: skip


@dataclass(frozen=True)
class _Seat:
    """A place on a board; its holders follow one another over time."""

    role: str
    voting: bool
    organisations: tuple[str, ...]  # holder k is from organisations[k % len]
    lived_experience: float = 0.0  # chance that a holder has lived experience
    term_months: tuple[int, int] = (30, 66)
    elected: bool = False  # councillors: seats change at the local government elections


_COUNCIL = "{place} Council"
_NHS = "{health_board}"
_IJB_SEATS = (
    _Seat("chair", True, (_NHS, _COUNCIL), term_months=(24, 24)),
    _Seat("vice_chair", True, (_COUNCIL, _NHS), term_months=(24, 24)),
    _Seat("voting_health_board", True, (_NHS,), term_months=(36, 60)),
    _Seat("voting_health_board", True, (_NHS,), term_months=(36, 60)),
    _Seat("voting_health_board", True, (_NHS,), term_months=(36, 60)),
    _Seat("voting_council", True, (_COUNCIL,), lived_experience=0.1, elected=True),
    _Seat("voting_council", True, (_COUNCIL,), elected=True),
    _Seat("voting_council", True, (_COUNCIL,), elected=True),
    _Seat("service_user_rep", False, ("{place} Service User Network",), lived_experience=1),
    _Seat("carer_rep", False, ("{place} Carers Centre",), lived_experience=1),
    _Seat("third_sector_rep", False, ("{place} Third Sector Interface",), lived_experience=0.3),
    _Seat("staff_rep", False, ("{place} Council joint trade unions",)),
    _Seat("dpo_rep", False, ("{place} Disability Forum",), lived_experience=1),
    _Seat("officer", False, ("{place} HSCP (chief officer)",), term_months=(40, 90)),
    _Seat("officer", False, ("{place} HSCP (chief finance officer)",), term_months=(40, 90)),
    _Seat("officer", False, ("{place} Council (chief social work officer)",), term_months=(40, 90)),
    _Seat("officer", False, ("{health_board} (associate nurse director)",), term_months=(40, 90)),
    _Seat("other", False, ("{place} GP sub-committee (clinical director)",)),
    _Seat("other", False, ("{place} independent care providers' forum",)),
)
# A second staff-side seat, as most boards have one for each employer.
_IJB_SECOND_STAFF = _Seat("staff_rep", False, ("{health_board} staff partnership forum",))
_GROUP_SEATS = (
    _Seat("chair", False, ("{place} HSCP (head of strategy and planning)",), term_months=(48, 90)),
    _Seat("officer", False, ("{place} HSCP (planning and performance manager)",)),
    _Seat("officer", False, ("{place} HSCP (locality manager)",)),
    _Seat("officer", False, ("{place} Council housing services",)),
    _Seat("service_user_rep", False, ("{place} Mental Health Peer Network",), lived_experience=1),
    _Seat("service_user_rep", False, ("{place} Older People's Forum",), lived_experience=1),
    _Seat("carer_rep", False, ("{place} Carers Centre",), lived_experience=1),
    _Seat("dpo_rep", False, ("{place} Access Panel",), lived_experience=1),
    _Seat("third_sector_rep", False, ("{place} Third Sector Interface",), lived_experience=0.3),
    _Seat("third_sector_rep", False, ("{place} Community Transport",)),
    _Seat("staff_rep", False, ("{health_board} staff partnership forum",)),
    _Seat("other", False, ("{place} GP cluster quality lead",)),
    _Seat("other", False, ("{place} Housing Association",)),
)


@dataclass(frozen=True)
class _Member:
    member_id: str
    role: str
    voting: bool
    lived_experience: bool
    start: dt.date
    end: dt.date | None

    @property
    def lived_experience_voice(self) -> bool:
        return self.lived_experience or self.role in _LE_ROLES

    def current_on(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


# --- what boards decide -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Topic:
    service_area: str
    title: str  # may use {fy}, {fy_ahead}, {fy_prev}, {span}, {winter}
    summary: str  # may use {place} and the same fields
    exemption_reason: str | None = None
    years: tuple[int, int] = (2000, 2100)


_TOPICS: tuple[_Topic, ...] = (
    _Topic(
        "care at home",
        "Care at home framework recommissioning {span}",
        "Re-tendering the {place} care at home framework: zones, hourly rates and a move from "
        "time-and-task visits to outcome-focused support.",
    ),
    _Topic(
        "care at home",
        "Reablement service expansion",
        "Extending six-week reablement to everyone leaving hospital with new care needs, with "
        "extra occupational therapy posts.",
    ),
    _Topic(
        "care at home",
        "Overnight care at home pilot",
        "A twelve-month pilot of a responsive overnight service so that people can stay at home "
        "rather than move to a care home.",
    ),
    _Topic(
        "care at home",
        "Care at home: minimum visit length",
        "Proposal to end 15-minute personal care visits and set a 30-minute minimum.",
    ),
    _Topic(
        "day services",
        "Day opportunities for older people: redesign",
        "Moving from two building-based day centres to a mix of centres, community groups and "
        "individual support.",
    ),
    _Topic(
        "day services",
        "Reopening building-based day services after COVID-19",
        "Phased reopening of the day centres closed during the pandemic, with smaller groups "
        "and new transport arrangements.",
        years=(2021, 2022),
    ),
    _Topic(
        "day services",
        "Community day activities grant scheme",
        "Small grants for community groups in {place} offering day activities for older people "
        "and adults with disabilities.",
    ),
    _Topic(
        "mental health",
        "Adult mental health strategy {span}",
        "Priorities for adult mental health services in {place}, from early help to inpatient "
        "care.",
    ),
    _Topic(
        "mental health",
        "Distress brief intervention service extension",
        "Extending distress brief intervention to people aged 16 and over and to referrals from "
        "GP practices.",
    ),
    _Topic(
        "mental health",
        "Community mental health team redesign",
        "Bringing community mental health, addictions and psychology teams together around "
        "localities.",
    ),
    _Topic(
        "mental health",
        "Peer support workers in crisis services",
        "Funding six peer support worker posts with lived experience in the crisis and home "
        "treatment team.",
    ),
    _Topic(
        "carers' short breaks",
        "Carers' short breaks services statement {span}",
        "The statutory statement of the short breaks open to carers in {place}, who can have "
        "one and how to ask for it.",
    ),
    _Topic(
        "carers' short breaks",
        "Local carers strategy {span}",
        "Priorities for supporting unpaid carers, including young carers, under the Carers "
        "(Scotland) Act 2016.",
    ),
    _Topic(
        "carers' short breaks",
        "Carers' support funding allocation {fy}",
        "How carers' support funding is shared between the carers centre, short breaks and "
        "replacement care.",
    ),
    _Topic(
        "charging policy",
        "Non-residential care charging policy {fy}",
        "Annual review of charges for non-residential social care, including the income "
        "thresholds and the disability-related expenditure allowance.",
    ),
    _Topic(
        "charging policy",
        "Disability-related expenditure: review of allowances",
        "How the extra costs of disability are taken into account in financial assessments for "
        "care charges.",
    ),
    _Topic(
        "learning disability",
        "Learning disability services strategy {span}",
        "Priorities for adults with learning disabilities in {place}: homes, work, friendships "
        "and health.",
    ),
    _Topic(
        "learning disability",
        "Supported living: core and cluster development",
        "Eight supported living tenancies with a shared staff base, replacing a residential unit.",
    ),
    _Topic(
        "learning disability",
        "Transitions from children's to adult services protocol",
        "A joint protocol so that young people with additional support needs have an adult plan "
        "agreed by the age of 17.",
    ),
    _Topic(
        "self-directed support",
        "Self-directed support implementation plan",
        "Actions to make all four SDS options real choices, including independent support and "
        "flexible use of budgets.",
    ),
    _Topic(
        "self-directed support",
        "Direct payment rates {fy}",
        "Hourly rates for Option 1 direct payments, including for people who employ personal "
        "assistants.",
    ),
    _Topic(
        "self-directed support",
        "Eligibility criteria for adult social care",
        "Review of the eligibility framework for adult social care, including the threshold for "
        "moderate needs.",
    ),
    _Topic(
        "respite",
        "Respite unit: future model",
        "Options for the future of the {place} respite unit, including more short breaks at "
        "home and in the community.",
    ),
    _Topic(
        "respite",
        "Emergency respite beds contract",
        "Commissioning two emergency respite beds for adults whose carer is suddenly unable to "
        "care.",
    ),
    _Topic(
        "transport",
        "Transport to day services policy",
        "Who gets council-arranged transport to day services, and what it costs them.",
    ),
    _Topic(
        "transport",
        "Community transport partnership agreement",
        "A three-year agreement with community transport groups for trips to health and care "
        "appointments.",
    ),
    _Topic(
        "digital",
        "Analogue to digital telecare switchover",
        "Replacing analogue community alarms and telecare before the national telephone "
        "switchover.",
    ),
    _Topic(
        "digital",
        "Digital inclusion programme for people using services",
        "Devices, data and support so that people who use services can take part online, with a "
        "non-digital route kept.",
    ),
    _Topic(
        "digital",
        "Video consultations in community health services",
        "Making video appointments a standard option in community nursing, physiotherapy and "
        "mental health.",
    ),
    _Topic(
        "housing adaptations",
        "Housing adaptations joint funding protocol",
        "Who pays for adaptations in council, housing association and private homes, and "
        "target waiting times.",
    ),
    _Topic(
        "housing adaptations",
        "Housing contribution statement {span}",
        "How housing services contribute to the strategic plan, including accessible new-build "
        "homes.",
    ),
    _Topic(
        "older people",
        "Care home placement commissioning {fy}",
        "Commissioning of care home places, including the local rate and the number of "
        "specialist dementia places.",
    ),
    _Topic(
        "older people",
        "Intermediate care beds: future model",
        "Step-up and step-down beds to avoid hospital admissions and support discharge.",
    ),
    _Topic(
        "older people",
        "Home first: hospital discharge model",
        "Discharge to assess at home as the default, with reablement and care at home arranged "
        "before people leave hospital.",
    ),
    _Topic(
        "older people",
        "Dementia post-diagnostic support",
        "Extending post-diagnostic support to a full year for everyone newly diagnosed with "
        "dementia.",
    ),
    _Topic(
        "primary care",
        "Primary care improvement plan refresh",
        "Pharmacy, physiotherapy, link worker and treatment room services in GP practices.",
    ),
    _Topic(
        "primary care",
        "Community link workers in GP practices",
        "Continuing community link workers in practices serving the most deprived communities.",
    ),
    _Topic(
        "alcohol and drugs",
        "Medication-assisted treatment standards delivery plan",
        "How the alcohol and drug partnership will meet the MAT standards, including same-day "
        "treatment.",
    ),
    _Topic(
        "palliative care",
        "Palliative and end of life care strategy {span}",
        "Care in the last year of life at home, in hospital and in hospices across {place}.",
    ),
    _Topic(
        "sensory impairment",
        "British Sign Language local plan {span}",
        "The partnership's plan under the BSL (Scotland) Act 2015 for access to health and "
        "social care in BSL.",
    ),
    _Topic(
        "strategic planning",
        "Strategic commissioning plan {span}",
        "The partnership's plan for what services it will buy and provide over the next three "
        "years.",
    ),
)
_EXEMPT_TOPICS: tuple[_Topic, ...] = (
    _Topic(
        "governance",
        "Standing orders review",
        "Updates to the board's standing orders on quorum, substitutes and hybrid meetings.",
        "Procedural rules of the board; no change to services.",
    ),
    _Topic(
        "governance",
        "Risk management strategy refresh",
        "Refresh of the risk appetite statement and the strategic risk register.",
        "Internal risk management; no direct change to services.",
    ),
    _Topic(
        "governance",
        "Records management plan",
        "The board's records management plan under the Public Records (Scotland) Act 2011.",
        "Statutory records duty; no change to services.",
    ),
    _Topic(
        "governance",
        "Appointment of members to the audit and performance committee",
        "Appointment of voting members to the committee for the next two years.",
        "Appointment of members: a governance matter.",
    ),
    _Topic(
        "governance",
        "Annual performance report {fy_prev}",
        "Publication of the statutory annual performance report.",
        "Report on past performance; publishing it changes no service.",
    ),
)
# Items an Integration Joint Board takes every year: (month for boards meeting in odd months,
# month for boards meeting in even months, topic).
_BUDGET = _Topic(
    "finance",
    "Budget {fy_ahead} and savings proposals",
    "The partnership budget for {fy_ahead}, including savings proposals that change services.",
)
_WINTER = _Topic(
    "older people",
    "Winter plan {winter}",
    "Extra capacity for winter, including care at home, hospital discharge and flu vaccination.",
)
_AUDIT_PLAN = _Topic(
    "governance",
    "Internal audit plan {fy}",
    "The programme of internal audit reviews for the year.",
    "Internal audit plan: governance only, no change to services.",
)
_ACCOUNTS = _Topic(
    "finance",
    "Audited annual accounts {fy_prev}",
    "Approval of the audited annual accounts and the external auditor's report.",
    "Statutory annual accounts: no change to services.",
)
_ANNUAL_ITEMS = ((3, 2, _BUDGET), (5, 6, _AUDIT_PLAN), (9, 8, _ACCOUNTS), (11, 10, _WINTER))
_PRIVATE_TOPIC = _Topic(
    "care at home",
    "Care at home framework: award of contracts",
    "Award of the care at home framework contracts (taken in private as commercially sensitive).",
)
# Taken by the chief officer under urgent delegated powers in the first pandemic year.
_URGENT_TOPICS = (
    (
        dt.date(2021, 2, 12),
        _Topic(
            "older people",
            "Urgent decision: COVID-19 sustainability payments to care providers",
            "Payments to keep care providers open, taken by the chief officer under urgent "
            "delegated powers and reported to the next board meeting.",
        ),
    ),
    (
        dt.date(2021, 8, 27),
        _Topic(
            "older people",
            "Urgent decision: interim care home beds to support hospital discharge",
            "Block-booking interim care home beds for people waiting in hospital, taken under "
            "urgent delegated powers and reported to the next board meeting.",
        ),
    ),
)


def _topic(title: str) -> _Topic:
    return next(t for t in _TOPICS if t.title == title)


@dataclass(frozen=True)
class _Plan:
    """A scripted decision of a showcase board: its story and what went wrong."""

    board: int
    year: int
    month: int
    topic: _Topic
    story: str
    flaws: tuple[str, ...] = ()
    top_level: str | None = None
    influence: str | None = None
    dispute_note: str | None = None
    claimed: str | None = None


_PLANS: tuple[_Plan, ...] = (
    _Plan(
        0,
        2024,
        5,
        _topic("Non-residential care charging policy {fy}"),
        "late",
        flaws=("short_window", "disputed", "label_mismatch", "no_feedback", "one_way"),
        claimed="co_produce",
        dispute_note=(
            "The Disability Forum says the 'co-production session' was a presentation of the "
            "new charges: no options were discussed and the easy-read version arrived after "
            "the survey closed."
        ),
    ),
    _Plan(
        0,
        2025,
        9,
        _topic("Carers' short breaks services statement {span}"),
        "from_start",
        top_level="co_produce",
        influence="Eligibility criteria changed after carers' workshop.",
        claimed="co_produce",
    ),
    _Plan(
        0,
        2027,
        1,
        _Topic(
            "learning disability",
            "Day opportunities for adults with learning disabilities: redesign",
            "Options for day opportunities after the lease on the Riverside centre ends, "
            "including community hubs and individual budgets.",
        ),
        "at_risk",
    ),
    _Plan(
        1,
        2022,
        4,
        _topic("Analogue to digital telecare switchover"),
        "never",
        claimed="consult",
    ),
    _Plan(1, 2023, 6, _topic("Respite unit: future model"), "retrofitted"),
    _Plan(1, 2025, 2, _topic("Community mental health team redesign"), "unknown"),
    _Plan(
        1,
        2026,
        4,
        _topic("Direct payment rates {fy}"),
        "formative",
        flaws=("no_lived_experience",),
    ),
    _Plan(
        2,
        2023,
        3,
        _topic("Transport to day services policy"),
        "late",
        flaws=("one_way", "no_support"),
    ),
    _Plan(
        2,
        2026,
        9,
        _Topic(
            "strategic planning",
            "Strategic commissioning plan 2027–30",
            "The partnership's plan for what services it will buy and provide from 2027 to "
            "2030, written with the Lochbrae co-production reference group.",
        ),
        "from_start",
        top_level="co_produce",
        influence="Priorities reordered: the reference group put unpaid carers' breaks first.",
        claimed="co_produce",
    ),
    _Plan(2, 2027, 1, _topic("Housing contribution statement {span}"), "at_risk"),
)

# --- involvement --------------------------------------------------------------------------------

_ORGANISATIONS: dict[str, tuple[str, ...]] = {
    "people_who_use_services": (
        "{place} Service User Network",
        "{place} Self-Advocacy Group",
        "{place} Mental Health Peer Network",
        "{place} Older People's Forum",
        "Care at home clients' panel",
    ),
    "carers": (
        "{place} Carers Centre",
        "{place} Young Carers Project",
        "{place} Parent Carers Forum",
    ),
    "dpo": ("{place} Disability Forum", "{place} Access Panel", "{place} Deaf Community Group"),
    "community": (
        "{place} Third Sector Interface",
        "{place} community councils",
        "{place} Tenants' Federation",
    ),
    "staff": ("{place} HSCP staff partnership forum", "Care at home staff", "Day services staff"),
    "other": ("{place} independent care providers' forum", "{place} GP cluster"),
}
_METHODS: dict[str, tuple[str, ...]] = {
    "inform": ("public_meeting", "other"),
    "consult": ("survey", "consultation", "public_meeting", "focus_group"),
    "engage": ("focus_group", "workshop", "public_meeting", "one_to_one"),
    "co_design": ("workshop", "reference_group", "workshop"),
    "co_produce": ("reference_group", "workshop", "board_seat"),
}
_PARTICIPANTS: dict[str, tuple[int, int]] = {
    "survey": (20, 350),
    "consultation": (30, 480),
    "public_meeting": (15, 120),
    "focus_group": (5, 14),
    "workshop": (8, 35),
    "reference_group": (6, 16),
    "one_to_one": (4, 25),
    "board_seat": (1, 2),
    "other": (10, 200),
}
# Share of participants with lived experience, by group.
_LIVED_SHARE: dict[str, tuple[float, float]] = {
    "people_who_use_services": (0.7, 1.0),
    "carers": (0.8, 1.0),
    "dpo": (0.75, 1.0),
    "community": (0.1, 0.5),
    "staff": (0.0, 0.1),
    "other": (0.0, 0.3),
}
# Accessible formats in the canonical order of coprod.models.AccessibleFormat, with how often
# a board offers each.
_FORMATS = (
    ("easy_read", 0.4),
    ("bsl", 0.2),
    ("large_print", 0.3),
    ("audio", 0.08),
    ("translation", 0.08),
    ("accessible_venue", 0.55),
    ("transport", 0.3),
    ("online", 0.4),
    ("hearing_loop", 0.25),
    ("other", 0.03),
)
_INFLUENCE: dict[str, tuple[str, ...]] = {
    "care at home": (
        "Visit times changed after people using care at home said 15-minute calls were not enough.",
        "Zones redrawn so that people in rural areas keep the same carers.",
        "A named-worker commitment added to the specification after the focus groups.",
    ),
    "day services": (
        "A building-based option kept in the east after families explained the travel times.",
        "Saturday sessions added after the carers' workshop.",
    ),
    "mental health": (
        "Crisis line hours extended to 24/7 after the peer researchers' findings.",
        "Peer support workers written into the staffing model.",
        "Self-referral added after the peer network's survey.",
    ),
    "carers' short breaks": (
        "Eligibility criteria changed after carers' workshop.",
        "Short breaks of up to seven nights a year can be booked without an assessment.",
        "Replacement-care grants added for young adult carers.",
    ),
    "charging policy": (
        "Disability-related expenditure allowance raised after the Disability Forum's evidence.",
        "Charges phased in over two years instead of one.",
        "An easy-read guide to charges written with the self-advocacy group.",
    ),
    "learning disability": (
        "Tenancy model changed so that people choose who they live with.",
        "Easy-read plan co-written with self-advocacy group members.",
    ),
    "self-directed support": (
        "Direct payment rates aligned with the real living wage after personal assistant "
        "employers' feedback.",
        "Independent support organisation funded to help people choose option 2.",
    ),
    "respite": (
        "Unit kept open for emergency beds after the families' workshop.",
        "Booking system changed so carers can book breaks online or by phone.",
    ),
    "transport": (
        "Door-to-door transport kept for people who cannot use buses.",
        "Charge capped at the bus fare after the access panel's evidence.",
    ),
    "digital": (
        "A non-digital alternative guaranteed for every service.",
        "Free data and device loans added after the digital inclusion survey.",
    ),
    "housing adaptations": (
        "Small adaptations fast-tracked without waiting for an occupational therapy assessment.",
        "Target waiting time cut from 26 to 12 weeks after the access panel's evidence.",
    ),
    "older people": (
        "Discharge checklist rewritten with the older people's forum.",
        "Dementia places kept local after families' feedback.",
    ),
}
_GENERIC_INFLUENCE = (
    "Wording of the plan changed to plain English throughout.",
    "Outcome measures chosen by the reference group.",
    "Timescale extended by three months so that more people could take part.",
    "A further option added at the request of the people taking part.",
    "Monitoring group set up with people who use the service.",
)
_DISPUTE_NOTES = (
    "We were told the decision had already been made; the session was to explain it.",
    "Only three of the twelve people named took part; the rest were staff.",
    "The easy-read papers arrived after the closing date.",
    "The record says we agreed the option; we did not, and our minute says so.",
)
_CONFIRM_NOTES = (
    "Confirmed by the forum's steering group.",
    "Confirmed at the carers centre's management committee.",
    "Confirmed; we would like earlier notice next time.",
)

# --- health-checks ------------------------------------------------------------------------------

_ITEM_LEVEL = {  # how an item scores compared with the others
    "trust": 0.0,
    "information_sharing": -0.2,
    "support": -0.1,
    "shared_understanding_coproduction": -0.3,
    "shared_understanding_problem": 0.2,
    "shared_understanding_outcome": 0.25,
    "shared_responsibility": -0.15,
    "manageable_focus": -0.05,
}
_ITEM_GAP = {  # how much higher professionals score an item than the lived-experience side
    "trust": 0.8,
    "information_sharing": 1.2,
    "support": 1.3,
    "shared_understanding_coproduction": 0.9,
    "shared_understanding_problem": 0.4,
    "shared_understanding_outcome": 0.3,
    "shared_responsibility": 0.7,
    "manageable_focus": 0.3,
}
_DIP_ITEMS = ("trust", "information_sharing", "shared_responsibility")
# Comments respondents leave beside an item: (when they scored it 4 or 5, when lower).
_COMMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "professional": (
        ("The reference group has changed how we write papers.", "Much better than two years ago."),
        (
            "Budget pressure is squeezing the time we can give to this.",
            "We still bring options too late; the timetable drives it.",
        ),
    ),
    "lived_experience": (
        (
            "The easy-read summaries have made a real difference.",
            "Taxi booked for me every time now, thank you.",
            "Officers listen more than they did a year ago.",
        ),
        (
            "Papers still come too late to read properly.",
            "I still feel the big decisions are made before we get in the room.",
        ),
    ),
    "carer": (
        ("We were asked early this time and it showed.",),
        (
            "Meetings in the evening would help working carers.",
            "Replacement care so I can attend is not always there.",
        ),
    ),
    "dpo": (
        ("BSL interpretation was arranged without us having to ask.",),
        (
            "We want to be involved when options are drawn up, not after.",
            "Still too many acronyms in the papers.",
        ),
    ),
    "other": (
        ("Good to have providers at the table.",),
        ("Providers are involved late, if at all.",),
    ),
}


# --- small helpers ------------------------------------------------------------------------------


def _nth_weekday(year: int, month: int, weekday: int, week: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (week - 1))


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _between(rng: random.Random, low: dt.date, high: dt.date) -> dt.date:
    """A day from low to high inclusive (low if the range is empty)."""
    days = (high - low).days
    return low if days <= 0 else low + dt.timedelta(days=rng.randint(0, days))


def _working_day(day: dt.date) -> dt.date:
    """Papers are signed off on working days: a weekend date moves back to the Friday."""
    return day - dt.timedelta(days=max(0, day.weekday() - 4))


def _progress(day: dt.date) -> float:
    """0 at the first meetings of the demo, 1 at DEMO_AS_OF: practice improves with it."""
    return min(1.0, max(0.0, (day - _FIRST_MONTH).days / _SPAN_DAYS))


def _financial_year(start_year: int) -> str:
    return f"{start_year}/{(start_year + 1) % 100:02d}"


@functools.cache
def _date_fields(year: int, month: int) -> dict[str, str]:
    """The years a title names, for a decision taken in this month."""
    fy = year if month >= 4 else year - 1
    return {
        "fy": _financial_year(fy),
        "fy_prev": _financial_year(fy - 1),
        "fy_ahead": _financial_year(year if month < 4 else year + 1),
        "span": f"{year + 1}–{(year + 4) % 100:02d}",
        "winter": _financial_year(year) if month >= 6 else str(year),
    }


def _fill(template: str, day: dt.date, place: str) -> str:
    return template.format(place=place, **_date_fields(day.year, day.month))


@functools.cache
def _topics_in(year: int) -> tuple[int, ...]:
    """Indexes of the topics a board can take in this year."""
    return tuple(i for i, t in enumerate(_TOPICS) if t.years[0] <= year <= t.years[1])


def _weighted(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    total = sum(w for _, w in options)
    pick = rng.random() * total
    for value, weight in options:
        pick -= weight
        if pick < 0:
            return value
    return options[-1][0]


# --- one board ----------------------------------------------------------------------------------


@dataclass
class _Meeting:
    meeting_id: str
    date: dt.date
    kind: str
    no_voice: bool = False


@dataclass
class _BoardGenerator:
    """Builds every row of one board from its own random stream."""

    spec: _BoardSpec
    rng: random.Random
    tables: Tables
    members: list[_Member] = field(default_factory=list)
    meetings: list[_Meeting] = field(default_factory=list)
    decision_count: int = 0
    used_titles: set[str] = field(default_factory=set)
    topic_uses: list[int] = field(default_factory=lambda: [0] * len(_TOPICS))

    @property
    def ijb(self) -> bool:
        return self.spec.kind == "integration_joint_board"

    def text(self, template: str) -> str:
        return template.format(place=self.spec.place, health_board=self.spec.health_board)

    def run(self, plans: Sequence[_Plan]) -> None:
        spec = self.spec
        self.tables["board"].append(
            {
                "board_id": spec.board_id,
                "name": spec.name,
                "kind": spec.kind,
                "area": f"{spec.place} (fictional partnership area)",
            }
        )
        self.make_members()
        self.make_meetings()
        self.make_decisions(plans)
        self.make_health_checks()

    # -- members ---------------------------------------------------------------------------

    def make_members(self) -> None:
        rng = self.rng
        seats = list(_IJB_SEATS if self.ijb else _GROUP_SEATS)
        if self.ijb and self.spec.staff_seats > 1:
            staff = next(i for i, seat in enumerate(seats) if seat.role == "staff_rep")
            seats.insert(staff + 1, _IJB_SECOND_STAFF)
        vacancies = {role: (last, back) for role, last, back in self.spec.vacancies}
        names: set[str] = set()
        for seat in seats:
            first_start = dt.date(2018, 1, 8) + dt.timedelta(days=rng.randint(0, 1000))
            vacancy = vacancies.pop(seat.role, None)
            if vacancy is None:
                terms = self.terms(seat, first_start, None)
            else:
                last, back = vacancy
                terms = self.terms(seat, min(first_start, last - 400 * _DAY), last)
                terms += self.terms(seat, back, None)
            for number, (start, end) in enumerate(terms):
                name = self.new_name(names)
                organisation = seat.organisations[number % len(seat.organisations)]
                member = _Member(
                    member_id=f"{self.spec.board_id}-m{len(self.members) + 1:03d}",
                    role=seat.role,
                    voting=seat.voting,
                    lived_experience=rng.random() < seat.lived_experience,
                    start=start,
                    end=end,
                )
                self.members.append(member)
                self.tables["member"].append(
                    {
                        "member_id": member.member_id,
                        "board_id": self.spec.board_id,
                        "name": name,
                        "role": member.role,
                        "voting": member.voting,
                        "lived_experience": member.lived_experience,
                        "organisation": self.text(organisation),
                        "start_date": start,
                        "end_date": end,
                    }
                )

    def terms(
        self, seat: _Seat, start: dt.date, last_day: dt.date | None
    ) -> list[tuple[dt.date, dt.date | None]]:
        """Consecutive holders of a seat from start, up to last_day (or open-ended)."""
        rng = self.rng
        out: list[tuple[dt.date, dt.date | None]] = []
        while True:
            if seat.elected:
                change = next((e for e in _ELECTIONS if e > start), _ELECTIONS[-1])
                if rng.random() < 0.15:  # a councillor stands down mid-term
                    change = _between(rng, start + 200 * _DAY, change)
                gap = dt.timedelta(days=rng.randint(14, 28))
            else:
                change = _add_months(start, rng.randint(*seat.term_months))
                gap = dt.timedelta(0)
            if last_day is not None and change > last_day:
                out.append((start, last_day))
                return out
            if last_day is None and change > _HORIZON:
                out.append((start, None))
                return out
            out.append((start, change - _DAY))
            start = change + gap

    def new_name(self, taken: set[str]) -> str:
        """A made-up name; surnames repeat on a board only once they are all used."""
        rng = self.rng
        surnames = [s for s in _SURNAMES if s not in taken] or list(_SURNAMES)
        while True:
            surname = rng.choice(surnames)
            name = f"{rng.choice(_FIRST_NAMES)} {surname}"
            if name not in taken:
                taken.update((name, surname))
                return name

    # -- meetings and attendance -------------------------------------------------------------

    def make_meetings(self) -> None:
        spec = self.spec
        plan: list[tuple[dt.date, str]] = []
        month = _add_months(_FIRST_MONTH, spec.offset)
        while True:
            day = _nth_weekday(month.year, month.month, spec.weekday, spec.week)
            if day > _HORIZON:
                break
            plan.append((day, "public"))
            month = _add_months(month, 2)
        free_month = 2 + spec.offset  # a month without an ordinary meeting
        plan.append((_nth_weekday(2023 + spec.offset, free_month, spec.weekday, 4), "private"))
        if self.ijb:
            for year in (2021, 2023, 2025):
                plan.append((_nth_weekday(year, 10 - spec.offset, spec.weekday, 2), "development"))
        plan.sort()
        no_voice = set(spec.no_voice_meetings)
        for day, kind in plan:
            meeting = _Meeting(
                meeting_id=f"{spec.board_id}-{day.isoformat()}",
                date=day,
                kind=kind,
                no_voice=kind == "public" and (day.year, day.month) in no_voice,
            )
            self.meetings.append(meeting)
            published: dt.date | None = None
            if day <= DEMO_AS_OF + 7 * _DAY:
                published = day - dt.timedelta(days=self.rng.choice((7, 7, 7, 8, 6, 5, 3)))
                if published > DEMO_AS_OF:
                    published = None
            self.tables["meeting"].append(
                {
                    "meeting_id": meeting.meeting_id,
                    "board_id": spec.board_id,
                    "date": day,
                    "kind": kind,
                    "papers_published_on": published,
                }
            )
            if day <= DEMO_AS_OF:
                self.make_attendance(meeting)

    def make_attendance(self, meeting: _Meeting) -> None:
        rng = self.rng
        online_only = meeting.date < _COVID_HYBRID_FROM
        rows = self.tables["attendance"]
        for member in self.members:
            if not member.current_on(meeting.date):
                continue
            away = 0.13 if member.lived_experience_voice else 0.1
            if meeting.kind == "development":
                away += 0.08
            roll = rng.random()
            if meeting.no_voice and member.lived_experience_voice:
                status = "absent" if roll < 0.2 else "apologies"
            elif roll < away:
                status = "apologies"
            elif roll < away + 0.02:
                status = "absent"
            elif roll < away + 0.05 and (member.voting or member.role == "officer"):
                status = "substitute"
            elif online_only or roll > 0.85:
                status = "remote"
            else:
                status = "present"
            rows.append(
                {"meeting_id": meeting.meeting_id, "member_id": member.member_id, "status": status}
            )

    # -- decisions ---------------------------------------------------------------------------

    def make_decisions(self, plans: Sequence[_Plan]) -> None:
        rng = self.rng
        spec = self.spec
        if self.ijb:  # urgent decisions taken between meetings in the first pandemic year
            for day, topic in _URGENT_TOPICS:
                self.decision(topic, day, None, self.pick_story(day))
        for meeting in self.meetings:
            if meeting.kind == "development":
                continue
            future = meeting.date > DEMO_AS_OF
            topics: list[tuple[_Topic, _Plan | None]] = [
                (p.topic, p)
                for p in plans
                if (p.year, p.month) == (meeting.date.year, meeting.date.month)
                and meeting.kind == "public"
            ]
            if meeting.kind == "private":
                count = rng.randint(1, 2)
                topics.append((_PRIVATE_TOPIC, None))
            elif future:
                low, high = spec.decisions_per_meeting
                count = rng.randint(max(2, low // 2), max(3, high // 2))
            else:
                count = rng.randint(*spec.decisions_per_meeting)
                if self.ijb:
                    topics += [
                        (topic, None)
                        for odd, even, topic in _ANNUAL_ITEMS
                        if meeting.date.month == (even if spec.offset else odd)
                    ]
            while len(topics) < count:
                topics.append((self.pick_topic(meeting.date), None))
            for topic, plan in topics:
                if plan is not None:
                    story = plan.story
                elif topic.exemption_reason:
                    story = "exempt"
                elif future:
                    story = _weighted(
                        rng, (("from_start", 0.35), ("formative", 0.25), ("late", 0.1),
                              ("at_risk", 0.15), ("open", 0.15))
                    )  # fmt: skip
                else:
                    story = self.pick_story(meeting.date)
                self.decision(topic, meeting.date, meeting.meeting_id, story, plan)
        # Identified recently and not yet on any agenda.
        for _ in range(4 if spec.extra_involvements else 1):
            day = DEMO_AS_OF + dt.timedelta(days=rng.randint(100, 200))
            self.decision(self.pick_topic(DEMO_AS_OF), day, None, "open", undated=True)

    def pick_topic(self, day: dt.date) -> _Topic:
        """A topic for a decision on ``day``, preferring ones the board has seldom taken."""
        rng = self.rng
        uses = self.topic_uses
        candidates = _topics_in(day.year)
        least = min(uses[i] for i in candidates)
        seldom = [i for i in candidates if uses[i] <= least + 1]
        index = None
        for _ in range(6):  # a few tries for a title the board has not used yet
            if rng.random() < 0.06:
                topic = rng.choice(_EXEMPT_TOPICS)
                index = None
            else:
                index = rng.choice(seldom)
                topic = _TOPICS[index]
            if _fill(topic.title, day, self.spec.place) not in self.used_titles:
                break
        if index is not None:
            uses[index] += 1
        return topic

    def pick_story(self, day: dt.date) -> str:
        t = _progress(day)
        return _weighted(
            self.rng,
            (
                ("from_start", 0.2 + 0.4 * t),
                ("formative", 0.22),
                ("late", 0.18 - 0.1 * t),
                ("unknown", 0.09 - 0.06 * t),
                ("retrofitted", 0.06 - 0.04 * t),
                ("never", 0.16 - 0.12 * t),
            ),
        )

    def pick_flaws(self, day: dt.date, story: str) -> set[str]:
        rng = self.rng
        t = _progress(day)
        care = {"from_start": 0.5, "formative": 0.8, "late": 1.3, "unknown": 1.2}.get(story, 1.5)
        chances = (
            ("one_way", 0.4 - 0.25 * t),
            ("label_mismatch", 0.16 - 0.1 * t),
            ("no_feedback", 0.4 - 0.28 * t),
            ("no_influence", 0.3 - 0.22 * t),
            ("short_window", 0.05),
            ("no_support", 0.14 - 0.1 * t),
            ("disputed", 0.035),
        )
        flaws = {name for name, chance in chances if rng.random() < chance * care}
        if rng.random() < 0.035:
            flaws.add("no_lived_experience")
        return flaws

    def decision(
        self,
        topic: _Topic,
        day: dt.date,
        meeting_id: str | None,
        story: str,
        plan: _Plan | None = None,
        *,
        undated: bool = False,
    ) -> None:
        """One decision taken (or to be taken) on ``day``, with its involvement."""
        rng = self.rng
        self.decision_count += 1
        decision_id = f"{self.spec.board_id}-d{self.decision_count:04d}"
        title = _fill(topic.title, day, self.spec.place)
        if title in self.used_titles:
            title = f"{title}: update {day:%B %Y}"
        self.used_titles.add(title)
        decided = not undated and day <= DEMO_AS_OF
        exempt = topic.exemption_reason is not None
        # The timeline: identified, options fixed, decided.
        if undated:
            identified = DEMO_AS_OF - dt.timedelta(days=rng.randint(20, 200))
        elif exempt:
            identified = day - dt.timedelta(days=rng.randint(20, 120))
        else:
            identified = day - dt.timedelta(days=rng.randint(150, 420))
        options_fixed: dt.date | None = day - dt.timedelta(days=rng.randint(21, 100))
        if exempt:
            options_fixed = None if rng.random() < 0.5 else _between(rng, identified, day)
        elif story in ("unknown", "open") or (story == "from_start" and rng.random() < 0.1):
            options_fixed = None
        identified = _working_day(identified)
        if options_fixed is not None:
            options_fixed = _working_day(options_fixed)
        flaws = set(plan.flaws) if plan else set()
        if not decided:
            if story == "at_risk":
                options_fixed = _between(rng, identified + 30 * _DAY, DEMO_AS_OF - 10 * _DAY)
            elif options_fixed is not None and options_fixed > DEMO_AS_OF:
                # Not fixed yet; a decision already past that point was fixed recently.
                options_fixed = None
                if story in ("formative", "late"):
                    options_fixed = DEMO_AS_OF - dt.timedelta(days=rng.randint(5, 30))
            if options_fixed is not None:
                options_fixed = _working_day(options_fixed)
        elif not exempt and story != "never" and plan is None:
            flaws = self.pick_flaws(day, story)
        involvements = []
        if not exempt:
            involvements = self.involvements(
                decision_id, topic, story, flaws, identified, options_fixed,
                day if decided else None, plan,
            )  # fmt: skip
        elif rng.random() < 0.15:  # an internal item staff were asked about
            involvements = [self.extra(identified, day, "staff")]
        claimed = self.claimed(story, flaws, involvements, exempt, plan)
        if decided:
            outcome = _weighted(
                rng, (("approved", 0.78), ("amended", 0.12), ("deferred", 0.05),
                      ("rejected", 0.05))
            )  # fmt: skip
        else:
            outcome = "pending"
        review: dt.date | None = None
        if outcome in ("approved", "amended") and not exempt and rng.random() < 0.7:
            review = _add_months(day, rng.choice((12, 12, 18, 24, 36)))
        self.tables["decision"].append(
            {
                "decision_id": decision_id,
                "board_id": self.spec.board_id,
                "title": title,
                "summary": _fill(topic.summary, day, self.spec.place),
                "service_area": topic.service_area,
                "affects_people_who_use_services": not exempt,
                "exemption_reason": topic.exemption_reason,
                "claimed_approach": claimed,
                "identified_on": identified,
                "options_fixed_on": options_fixed,
                "decided_on": day if decided else None,
                "meeting_id": meeting_id,
                "outcome": outcome,
                "review_due_on": review,
            }
        )
        involvements.sort(key=lambda row: row["start_date"])
        for number, row in enumerate(involvements, start=1):
            row["involvement_id"] = f"{decision_id}-i{number}"
            row["decision_id"] = decision_id
        self.tables["involvement"].extend(involvements)

    def claimed(
        self,
        story: str,
        flaws: set[str],
        involvements: list[Row],
        exempt: bool,
        plan: _Plan | None,
    ) -> str:
        """What the board paper says the approach was."""
        rng = self.rng
        if plan is not None and plan.claimed:
            return plan.claimed
        if exempt:
            return "none"
        reached = [
            _LADDER.index(r["level"])
            for r in involvements
            if r["group"] in _QUALIFYING
            and r["level"] != "inform"
            and r["attestation"] != "disputed"
            and r["start_date"] <= DEMO_AS_OF
        ]
        top = max(reached, default=0)
        if "label_mismatch" in flaws or (not reached and rng.random() < 0.25):
            return _LADDER[rng.randint(max(top + 1, 1), len(_LADDER) - 1)] if top < 4 else "none"
        if not reached or rng.random() < 0.15:
            return "none"
        return _LADDER[top if rng.random() < 0.8 else rng.randint(1, top)]

    # -- involvement -------------------------------------------------------------------------

    def involvements(
        self,
        decision_id: str,
        topic: _Topic,
        story: str,
        flaws: set[str],
        identified: dt.date,
        options_fixed: dt.date | None,
        decided: dt.date | None,
        plan: _Plan | None,
    ) -> list[Row]:
        rng = self.rng
        last = (decided - _DAY) if decided else DEMO_AS_OF  # the last day before deciding
        # When people who use services were first involved, by the story of the decision.
        first: dt.date | None = None
        if story == "from_start":
            first = _between(rng, identified, min(identified + 30 * _DAY, last))
        elif story == "formative":
            fixed = options_fixed or last
            first = _between(rng, identified + 31 * _DAY, min(fixed - _DAY, last))
        elif story == "late":
            fixed = options_fixed or identified + 31 * _DAY
            first = _between(rng, fixed, last)
        elif story == "unknown":
            first = _between(rng, identified + 31 * _DAY, last)
        elif story == "retrofitted" and decided is not None:
            first = _between(rng, decided, min(decided + 90 * _DAY, DEMO_AS_OF))
        rows: list[Row] = []
        if first is not None:
            count = 1 + (rng.random() < 0.45) + (rng.random() < 0.15) + self.more()
            if "short_window" in flaws:
                count = max(count, 2)
            latest = DEMO_AS_OF if story == "retrofitted" else last
            starts = [first] + [_between(rng, first, latest) for _ in range(count - 1)]
            levels = self.levels(story, count, flaws, plan)
            for index, (start, level) in enumerate(zip(starts, levels, strict=True)):
                short = "short_window" in flaws and index == count - 1
                rows.append(self.qualifying(topic, start, level, decided, short))
            self.apply_flaws(rows, topic, flaws, decided, plan)
        elif story == "at_risk" and rng.random() < 0.5:
            # A consultation is planned, but only after the options were fixed.
            start = DEMO_AS_OF + dt.timedelta(days=rng.randint(7, 40))
            rows.append(self.qualifying(topic, start, "consult", None, False))
        elif story == "open" and rng.random() < 0.4:
            start = DEMO_AS_OF + dt.timedelta(days=rng.randint(7, 60))
            rows.append(self.qualifying(topic, start, "engage", None, False))
        # Involvement that does not count: staff, the wider community, one-way information.
        others = (rng.random() < (0.6 if story == "never" else 0.3)) + self.more()
        for _ in range(others):
            rows.append(self.extra(identified, decided or DEMO_AS_OF, None))
        if "disputed" in flaws or (story == "never" and rng.random() < 0.06):
            rows.append(self.disputed(topic, identified, last, plan))
        return rows

    def more(self) -> int:
        """How many more involvements than usual: none on the showcase boards."""
        extra = self.spec.extra_involvements
        return int(self.rng.random() * (2 * extra + 1)) if extra else 0

    def levels(self, story: str, count: int, flaws: set[str], plan: _Plan | None) -> list[str]:
        rng = self.rng
        if "one_way" in flaws:
            return ["consult"] * count
        weights = {
            "from_start": (0.2, 0.25, 0.3, 0.25),
            "formative": (0.35, 0.35, 0.2, 0.1),
            "late": (0.5, 0.35, 0.15, 0.0),
            "unknown": (0.45, 0.35, 0.15, 0.05),
        }.get(story, (0.6, 0.4, 0.0, 0.0))
        rungs = list(zip(_LADDER[1:], weights, strict=True))
        levels = [_weighted(rng, rungs) for _ in range(count)]
        if plan is not None and plan.top_level:
            levels[0] = plan.top_level
        if all(level == "consult" for level in levels):
            levels[0] = "engage"
        if "short_window" in flaws:
            levels[-1] = "consult"
            if all(level == "consult" for level in levels):
                levels[0] = "engage"
        return levels

    def qualifying(
        self, topic: _Topic, start: dt.date, level: str, decided: dt.date | None, short: bool
    ) -> Row:
        """An involvement of people who use services, carers or a DPO."""
        rng = self.rng
        area = topic.service_area
        if area in ("carers' short breaks", "respite"):
            group = _weighted(
                rng, (("carers", 0.6), ("people_who_use_services", 0.25), ("dpo", 0.15))
            )
        else:
            group = _weighted(
                rng, (("people_who_use_services", 0.45), ("carers", 0.3), ("dpo", 0.25))
            )
        method = "consultation" if short else rng.choice(_METHODS[level])
        row = self.involvement(start, group, level, method, short, decided)
        t = _progress(start)
        happened = start <= DEMO_AS_OF
        if happened and rng.random() < 0.15 + 0.5 * t + (
            0.1 if group != "people_who_use_services" else 0
        ):
            row["attestation"] = "confirmed"
            if rng.random() < 0.15:
                row["attestation_note"] = rng.choice(_CONFIRM_NOTES)
        return row

    def involvement(
        self,
        start: dt.date,
        group: str,
        level: str,
        method: str,
        short: bool,
        decided: dt.date | None,
    ) -> Row:
        rng = self.rng
        t = _progress(start)
        happened = start <= DEMO_AS_OF
        end: dt.date | None
        if method == "consultation":
            end = start + dt.timedelta(days=rng.randint(14, 35) if short else rng.randint(42, 90))
        elif method == "survey":
            end = start + dt.timedelta(days=rng.randint(21, 56))
        elif method in ("reference_group", "board_seat"):
            end = start + dt.timedelta(days=rng.randint(60, 300))
        elif method == "one_to_one":
            end = start + dt.timedelta(days=rng.randint(14, 60))
        elif method == "other":
            end = None
        else:
            end = start if rng.random() < 0.7 else None
        participants: int | None = None
        lived: int | None = None
        if happened:
            participants = rng.randint(*_PARTICIPANTS[method])
            if rng.random() > 0.25 - 0.15 * t:
                low, high = _LIVED_SHARE[group]
                lived = min(participants, round(participants * rng.uniform(low, high)))
                if group in _QUALIFYING:
                    lived = max(lived, 1)
        online = 0.9 if start < _COVID_HYBRID_FROM else None
        formats = [
            name
            for name, chance in _FORMATS
            if rng.random() < (online if name == "online" and online else chance) * (0.6 + 0.5 * t)
        ]
        roll = rng.random()
        expenses = True if roll < 0.4 + 0.35 * t else False if roll < 0.85 else None
        feedback: dt.date | None = None
        if decided is not None and group in _QUALIFYING:
            after = max(decided, end or start)
            feedback = after + dt.timedelta(days=rng.randint(5, 70))
            if feedback > DEMO_AS_OF or rng.random() < 0.3:
                feedback = None
        return {
            "involvement_id": None,
            "decision_id": None,
            "start_date": start,
            "end_date": end,
            "group": group,
            "organisation": self.text(rng.choice(_ORGANISATIONS[group])),
            "level": level,
            "method": method,
            "participants": participants,
            "lived_experience_participants": lived,
            "accessible_formats": formats,
            "expenses_offered": expenses,
            "feedback_on": feedback,
            "influence": None,
            "attestation": "unconfirmed",
            "attestation_note": None,
        }

    def apply_flaws(
        self,
        rows: list[Row],
        topic: _Topic,
        flaws: set[str],
        decided: dt.date | None,
        plan: _Plan | None,
    ) -> None:
        """Make the qualifying involvement show exactly the tick-box signals chosen."""
        rng = self.rng
        happened = [r for r in rows if r["start_date"] <= DEMO_AS_OF]
        if not happened:
            return
        if "no_lived_experience" in flaws:
            for row in happened:
                row["lived_experience_participants"] = 0
        if "no_support" in flaws:
            for row in rows:
                row["accessible_formats"] = []
                row["expenses_offered"] = rng.choice((False, None))
        elif not any(r["accessible_formats"] or r["expenses_offered"] for r in happened):
            happened[0]["accessible_formats"] = ["accessible_venue"]
        if decided is not None:
            if "no_feedback" in flaws:
                for row in rows:
                    row["feedback_on"] = None
            elif not any(r["feedback_on"] for r in happened):
                told = max(decided, happened[0]["start_date"]) + dt.timedelta(
                    days=rng.randint(5, 60)
                )
                if told <= DEMO_AS_OF:
                    happened[0]["feedback_on"] = told
            pool = _INFLUENCE.get(topic.service_area, _GENERIC_INFLUENCE)
            for index, row in enumerate(happened):
                if "no_influence" in flaws:
                    break
                if index == 0 or rng.random() < 0.3:
                    if plan is not None and plan.influence and index == 0:
                        row["influence"] = plan.influence
                    else:
                        row["influence"] = rng.choice(
                            pool if rng.random() < 0.7 else _GENERIC_INFLUENCE
                        )
        elif rng.random() < 0.3:
            row = happened[0]
            row["influence"] = "Draft options revised: " + rng.choice(_GENERIC_INFLUENCE).lower()

    def extra(self, low: dt.date, high: dt.date, group: str | None) -> Row:
        """Involvement that does not count: staff, community, others, or information only."""
        rng = self.rng
        if group is None:
            group = _weighted(
                rng, (("staff", 0.35), ("community", 0.3), ("other", 0.15), ("inform", 0.2))
            )
        level = "inform" if group == "inform" else rng.choice(("consult", "engage", "consult"))
        if group == "inform":
            group = rng.choice(_QUALIFYING)
        start = _between(rng, low, min(high, DEMO_AS_OF))
        method = rng.choice(_METHODS[level])
        return self.involvement(start, group, level, method, False, None)

    def disputed(self, topic: _Topic, low: dt.date, high: dt.date, plan: _Plan | None) -> Row:
        rng = self.rng
        start = _between(rng, low, min(high, DEMO_AS_OF))
        level = rng.choice(("engage", "co_design", "co_produce"))
        note = rng.choice(_DISPUTE_NOTES)
        if plan is not None and plan.dispute_note:
            level, note = "co_produce", plan.dispute_note
        row = self.involvement(start, "dpo", level, "workshop", False, None)
        row["organisation"] = self.text(
            _ORGANISATIONS["dpo"][0 if plan or rng.random() < 0.6 else 1]
        )
        row["attestation"] = "disputed"
        row["attestation_note"] = note
        if rng.random() < 0.5:
            row["influence"] = rng.choice(_INFLUENCE.get(topic.service_area, _GENERIC_INFLUENCE))
        return row

    # -- health-checks -----------------------------------------------------------------------

    def make_health_checks(self) -> None:
        rng = self.rng
        spec = self.spec
        board_level = rng.uniform(-0.2, 0.2)
        board_gap = rng.uniform(-0.15, 0.15)
        rows = self.tables["health_check"]
        month = dt.date(2021, 6, 1)
        first = True
        while True:
            day = _nth_weekday(month.year, month.month, (spec.weekday + 1) % 5, 2)
            month = _add_months(month, 3)
            if day > DEMO_AS_OF:
                break
            if spec.health_checks_stop is not None and day > spec.health_checks_stop:
                continue
            t = _progress(day)
            counts = {
                "professional": rng.randint(5, 9),
                "lived_experience": rng.randint(3, 5),
                "carer": rng.randint(1, 3),
                "dpo": rng.randint(1, 2),
                "other": rng.randint(0, 2),
            }
            if not first:  # a quiet quarter: fewer than 5 in a group, so it is suppressed
                if rng.random() < 0.1:
                    counts["professional"] = rng.randint(3, 4)
                if rng.random() < (0.5 if spec.small_lived_experience_side else 0.1):
                    counts.update(
                        lived_experience=rng.randint(1, 2), carer=1, dpo=rng.randint(0, 1)
                    )
            first = False
            dip = spec.health_check_dip == (day.year, day.month)
            respondent = 0
            for group, count in counts.items():
                for _ in range(count):
                    respondent += 1
                    response_id = f"{spec.board_id}-hc{day:%Y%m%d}-r{respondent:02d}"
                    mood = rng.gauss(0, 0.35)
                    comment_item = rng.choice(_ITEMS) if rng.random() < 0.12 else None
                    for item in _ITEMS:
                        gap = _ITEM_GAP[item] * (1 - 0.8 * t) + board_gap
                        mean = 2.75 + 1.1 * t + _ITEM_LEVEL[item] + board_level
                        if group == "professional":
                            mean += gap / 2
                        elif group != "other":
                            mean -= gap / 2
                        if dip and item in _DIP_ITEMS:
                            mean -= 1.0
                        score = min(5, max(1, round(mean + mood + rng.gauss(0, 0.55))))
                        comment = None
                        if item == comment_item:
                            comment = rng.choice(_COMMENTS[group][0 if score >= 4 else 1])
                        rows.append(
                            {
                                "response_id": response_id,
                                "board_id": spec.board_id,
                                "check_date": day,
                                "respondent_group": group,
                                "item": item,
                                "score": score,
                                "comment": comment,
                            }
                        )


# --- the API ------------------------------------------------------------------------------------


def generate(boards: int = 3, seed: int = 2026) -> dict[str, list[dict[str, Any]]]:
    """Rows of every table for ``boards`` demo boards, the same for the same seed.

    Each board draws from its own stream, seeded in turn from ``random.Random(seed)``, so the
    first boards of a larger demo are the boards of a smaller one.
    """
    if boards < 1:
        raise ValueError("the demo needs at least one board")
    master = random.Random(seed)
    tables: Tables = {name: [] for name in _TABLES}
    for index in range(boards):
        rng = random.Random(master.getrandbits(64))
        if index < len(_SHOWCASE):
            spec = _SHOWCASE[index]
            plans = [p for p in _PLANS if p.board == index]
        else:
            spec = _national_spec(index + 1, rng)
            plans = []
        _BoardGenerator(spec, rng, tables).run(plans)
    return tables


def write_demo(out_dir: str | Path, boards: int = 3, seed: int = 2026) -> None:
    """Write the demo as interchange CSV files in ``out_dir``."""
    write_csv_folder(out_dir, generate(boards=boards, seed=seed))
