"""Co-production health-checks: item trends, the perception gap, and the item bank.

A *check* is all responses of one board on one check_date (docs/domain.md). For every board, check
and item this module gives the average score of everyone, of professionals, and of the
lived-experience side (``lived_experience`` + ``carer`` + ``dpo`` respondents); the gap between
professionals and the lived-experience side; and the latest check per board with what the rules
found there. HC-GAP, HC-DECLINE and HC-OVERDUE are the rule engine's findings, read from its
``CheckResult``: this module never decides them again.

**The small-number rule.** A group of fewer than ``Thresholds.suppression_size`` (5) distinct
respondents is never given as an average or as a count. It is applied in the SQL, so a
suppressed group's numbers never leave the database: its ``mean`` and ``respondents`` are None
and its text says "fewer than 5 responses" — in tables, chart hover and sentences alike. A
group with nobody in it is suppressed the same way (saying "0" would be a count too).

**The item bank.** The default items of docs/domain.md come from
``coprod.models.DEFAULT_HEALTH_CHECK_ITEMS`` and are not stored. A board may add items of its
own, and an item may be added for every board, in the ``health_check_item`` table, where the
board_id ``'*'`` (``EVERY_BOARD``) means every board. Items scored in responses but in no bank
are shown by their id.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import pandas as pd

from coprod.access import EVERY_BOARD, Action, Forbidden
from coprod.errors import CoprodError
from coprod.models import DEFAULT_HEALTH_CHECK_ITEMS, LIVED_EXPERIENCE_SIDE, normalise_token
from coprod.rules import CheckResult
from coprod.settings import DEFAULT_THRESHOLDS, Thresholds
from coprod.store import Change, Store
from coprod.views import Period, in_period, long_date, plural
from coprod.vocabulary import word

SIDES = ("all", "professional", "lived_experience")
SIDE_LABELS = {
    "all": "Everyone",
    "professional": "Professionals",
    "lived_experience": "Lived-experience side",
}
ITEM_PATTERN = re.compile(r"^[a-z0-9_]{1,64}$")

BoardLabel = Callable[[str], str]


def suppressed_text(thresholds: Thresholds = DEFAULT_THRESHOLDS) -> str:
    """What a suppressed group shows instead of a number: ``fewer than 5 responses``."""
    return f"fewer than {thresholds.suppression_size} responses"


def one_decimal(value: float) -> float:
    """Round as DuckDB's ``round(x, 1)`` does (half away from zero), so that the numbers here
    match the ones in the rule engine's messages."""
    scaled = value * 10.0
    return math.copysign(math.floor(abs(scaled) + 0.5), scaled) / 10.0


def points(value: float) -> str:
    shown = one_decimal(value)
    return f"{shown:.1f} point" + ("" if shown == 1.0 else "s")


def item_label(item: str) -> str:
    """An item id as words: ``information_sharing`` → ``information sharing``."""
    return word(item)


# --- scores per board, check, item and side --------------------------------------------------

ITEM_TRENDS = """
WITH hc AS (
    SELECT board_id, check_date, item, response_id, respondent_group, score
    FROM health_check
    WHERE withdrawn_at IS NULL
      AND list_contains(CAST($boards AS VARCHAR[]), board_id)
      AND check_date <= $as_of
      AND check_date BETWEEN $start AND $end
),
cells AS (SELECT DISTINCT board_id, check_date, item FROM hc),
sides(side, side_order) AS (
    VALUES ('all', 0), ('professional', 1), ('lived_experience', 2)
),
scored AS (
    SELECT board_id, check_date, item, 'all' AS side, response_id, score FROM hc
    UNION ALL
    SELECT board_id, check_date, item, 'professional', response_id, score FROM hc
    WHERE respondent_group = 'professional'
    UNION ALL
    SELECT board_id, check_date, item, 'lived_experience', response_id, score FROM hc
    WHERE list_contains(CAST($lived_groups AS VARCHAR[]), respondent_group)
),
-- respondents, not rows: one row per respondent and item is the key, but count them distinctly
-- exactly as the HC rules do
grouped AS (
    SELECT board_id, check_date, item, side,
           count(DISTINCT response_id) AS n, sum(score) AS total
    FROM scored GROUP BY ALL
)
SELECT c.board_id, c.check_date, c.item, s.side,
       -- the small-number rule: a group of fewer than $suppression respondents (or none) is
       -- never given as an average or a count
       CASE WHEN coalesce(g.n, 0) >= $suppression THEN g.n END AS respondents,
       CASE WHEN coalesce(g.n, 0) >= $suppression THEN g.total / g.n END AS mean,
       CASE WHEN coalesce(g.n, 0) >= $suppression THEN round(g.total / g.n, 1) END AS mean_shown
FROM cells c CROSS JOIN sides s
LEFT JOIN grouped g
       ON g.board_id = c.board_id AND g.check_date = c.check_date AND g.item = c.item
      AND g.side = s.side
ORDER BY c.board_id, c.check_date, c.item, s.side_order
"""

TREND_COLUMNS = [
    "board_id",
    "check_date",
    "item",
    "side",
    "respondents",
    "mean",
    "mean_shown",
    "text",
]


def _bounds(period: Period | None) -> tuple[dt.date, dt.date]:
    return (period.start, period.end) if period else (dt.date(1, 1, 1), dt.date(9999, 12, 31))


def _none(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _frame(
    rows: list[dict[str, Any]], columns: list[str], numbers: tuple[str, ...]
) -> pd.DataFrame:
    """A frame whose ``numbers`` columns keep None for a missing value (pandas would turn a
    column of numbers and None into floats and NaN: a count of 15 would show as 15.0)."""
    frame = pd.DataFrame(rows, columns=columns)
    for column in numbers:
        frame[column] = pd.Series(
            [_none(r.get(column)) for r in rows], index=frame.index, dtype=object
        )
    return frame


def score_text(mean_shown: float | None, respondents: int | None, thresholds: Thresholds) -> str:
    """``3.4 (12 responses)``, or ``fewer than 5 responses`` for a suppressed group."""
    if mean_shown is None or respondents is None:
        return suppressed_text(thresholds)
    return f"{mean_shown:.1f} ({plural(int(respondents), 'response')})"


def item_trends(
    store: Store,
    board_ids: tuple[str, ...] | list[str],
    as_of: dt.date,
    *,
    period: Period | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> pd.DataFrame:
    """Every item's average at every check, for everyone and for each side.

    One row per board, check, item and side (``all``, ``professional``, ``lived_experience``;
    the ``other`` respondents count only in ``all``). ``respondents``, ``mean`` and
    ``mean_shown`` (one decimal) are None for a suppressed group, and ``text`` says
    "fewer than 5 responses".
    """
    start, end = _bounds(period)
    params = {
        "boards": list(board_ids),
        "as_of": as_of,
        "start": start,
        "end": end,
        "lived_groups": [g.value for g in LIVED_EXPERIENCE_SIDE],
        "suppression": thresholds.suppression_size,
    }
    rows = store.query(ITEM_TRENDS, params)
    for row in rows:
        row["text"] = score_text(row["mean_shown"], row["respondents"], thresholds)
    # A suppressed value is absent (None), not a number.
    return _frame(rows, TREND_COLUMNS, ("respondents", "mean", "mean_shown"))


# --- the perception gap ----------------------------------------------------------------------

GAP_COLUMNS = [
    "board_id",
    "check_date",
    "item",
    "professional",
    "lived_experience",
    "professional_text",
    "lived_experience_text",
    "gap",
    "gap_text",
    "flagged",
]


def perception_gaps(
    trends: pd.DataFrame,
    result: CheckResult | None = None,
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> pd.DataFrame:
    """Professionals' mean minus the lived-experience side's, per board, check and item.

    ``gap`` is given only when both sides have at least ``suppression_size`` respondents;
    otherwise it is None and ``gap_text`` says which side had too few responses. ``flagged`` is
    true when the rule engine found HC-GAP for that board, check and item.
    """
    if trends.empty:
        return pd.DataFrame(columns=GAP_COLUMNS)
    flagged = {
        (f["board_id"], f["check_date"], f["item"])
        for f in (result.findings_coded("HC-GAP") if result else [])
    }
    rows = []
    keyed = trends.set_index(["board_id", "check_date", "item", "side"])
    cells = trends[["board_id", "check_date", "item"]].drop_duplicates()
    for board_id, check_date, item in cells.itertuples(index=False):
        pro = keyed.loc[(board_id, check_date, item, "professional")]
        lived = keyed.loc[(board_id, check_date, item, "lived_experience")]
        pro_mean, lived_mean = _none(pro["mean"]), _none(lived["mean"])
        gap = pro_mean - lived_mean if pro_mean is not None and lived_mean is not None else None
        rows.append(
            {
                "board_id": board_id,
                "check_date": check_date,
                "item": item,
                "professional": _none(pro["mean_shown"]),
                "lived_experience": _none(lived["mean_shown"]),
                "professional_text": pro["text"],
                "lived_experience_text": lived["text"],
                "gap": gap,
                "gap_text": _gap_text(gap, pro_mean, lived_mean, thresholds),
                "flagged": (board_id, check_date, item) in flagged,
            }
        )
    return _frame(rows, GAP_COLUMNS, ("professional", "lived_experience", "gap"))


def _gap_text(
    gap: float | None, pro: float | None, lived: float | None, thresholds: Thresholds
) -> str:
    if gap is not None:
        return f"{one_decimal(gap):+.1f}"
    few = suppressed_text(thresholds)
    if pro is None and lived is None:
        return f"not compared: both sides had {few}"
    if pro is None:
        return f"not compared: professionals had {few}"
    return f"not compared: the lived-experience side had {few}"


def gap_sentence(
    gaps: pd.DataFrame, item: str, *, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> str:
    """The perception gap for one board and one item, in words, as of its latest check.

    ``gaps`` holds that board's rows of ``perception_gaps`` for the item, in date order.
    """
    label = item_label(item)
    if gaps.empty:
        return f"No health-check has scored {label} yet."
    gaps = gaps.sort_values("check_date")
    latest = gaps.iloc[-1]
    comparable = gaps[[_none(g) is not None for g in gaps["gap"]]]
    parts: list[str] = []
    if _none(latest["gap"]) is None:
        parts.append(
            f"At the latest health-check, on {long_date(latest['check_date'])}, the two sides "
            f"cannot be compared: {latest['gap_text'].removeprefix('not compared: ')}."
        )
    if comparable.empty:
        parts.append(
            f"At no health-check did both professionals and the lived-experience side have "
            f"{thresholds.suppression_size} or more responses on {label}, so the gap is not "
            "shown."
        )
        return " ".join(parts)
    row = comparable.iloc[-1]
    gap = float(row["gap"])
    is_latest = row["check_date"] == latest["check_date"]
    when = (
        "At the latest health-check"
        if is_latest
        else f"At the health-check of {long_date(row['check_date'])}"
    )
    rate = "rate" if is_latest else "rated"
    if row["flagged"]:
        parts.append(
            f"{when}, professionals {rate} {label} {points(gap)} higher than people with lived "
            "experience: partners may be making wrong assumptions about each other (HC-GAP)."
        )
    elif one_decimal(gap) > 0:
        parts.append(
            f"{when}, professionals {rate} {label} {points(gap)} higher than people with lived "
            f"experience, less than the {thresholds.health_check_gap:.1f} points that signals a "
            "gap."
        )
    elif one_decimal(gap) < 0:
        parts.append(
            f"{when}, people with lived experience {rate} {label} {points(-gap)} higher than "
            f"professionals {'do' if is_latest else 'did'}."
        )
    else:
        parts.append(
            f"{when}, professionals and people with lived experience {rate} {label} alike."
        )
    flagged = int(gaps["flagged"].sum())
    if len(comparable) > 1:
        parts.append(
            f"Of {plural(len(comparable), 'health-check')} where both sides could be compared, "
            f"{flagged or 'none'} showed a gap of {thresholds.health_check_gap:.1f} points or "
            "more."
        )
    return " ".join(parts)


# --- checks and what the rules found there ----------------------------------------------------

CHECKS = """
WITH hc AS (
    SELECT board_id, check_date, response_id
    FROM health_check
    WHERE withdrawn_at IS NULL
      AND list_contains(CAST($boards AS VARCHAR[]), board_id)
      AND check_date <= $as_of
),
checks AS (
    SELECT board_id, check_date, count(DISTINCT response_id) AS n FROM hc GROUP BY ALL
)
SELECT board_id, check_date,
       lag(check_date) OVER (PARTITION BY board_id ORDER BY check_date) AS previous_date,
       CASE WHEN n >= $suppression THEN n END AS respondents
FROM checks
ORDER BY board_id, check_date
"""

LATEST_COLUMNS = [
    "board_id",
    "check_date",
    "previous_date",
    "respondents",
    "respondents_text",
    "declines",
    "gaps",
]


def latest_checks(
    store: Store,
    board_ids: tuple[str, ...] | list[str],
    result: CheckResult,
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> pd.DataFrame:
    """Each board's latest check up to as_of: when, the previous one, how many responded
    (suppressed below the threshold), and the HC-DECLINE and HC-GAP findings at it."""
    rows = store.query(
        CHECKS,
        {
            "boards": list(board_ids),
            "as_of": result.as_of,
            "suppression": thresholds.suppression_size,
        },
    )
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        latest[row["board_id"]] = row  # ordered by date: the last one wins
    out = []
    for row in latest.values():
        at_check = result.findings_at(row["board_id"], row["check_date"])
        n = row["respondents"]
        out.append(
            row
            | {
                "respondents_text": suppressed_text(thresholds)
                if n is None
                else plural(int(n), "response"),
                "declines": sum(1 for f in at_check if f["code"] == "HC-DECLINE"),
                "gaps": sum(1 for f in at_check if f["code"] == "HC-GAP"),
            }
        )
    return _frame(out, LATEST_COLUMNS, ("respondents",))


def findings_of(result: CheckResult, code: str, period: Period | None = None) -> pd.DataFrame:
    """The rule engine's findings of one HC code (optionally those in the period)."""
    columns = ["code", "severity", "board_id", "item", "check_date", "period_date", "message"]
    found = result.findings_coded(code)
    frame = pd.DataFrame(found, columns=columns) if found else pd.DataFrame(columns=columns)
    if period is not None and not frame.empty:
        frame = in_period(frame, period)
    return frame.reset_index(drop=True)


def _items(n: int) -> str:
    return "no item" if n == 0 else plural(n, "item")


def headline_sentence(
    latest: pd.DataFrame,
    result: CheckResult,
    board_label: BoardLabel = str,
    *,
    period: Period | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> str:
    """The latest check of each board, what fell and where the sides differ there; the same
    over the whole period; and which boards are overdue a check."""
    decline = f"{thresholds.health_check_decline:.1f} points or more"
    gap = f"{thresholds.health_check_gap:.1f} points or more"
    if latest.empty:
        text = "No health-check has been recorded for the boards chosen."
    else:
        checks = "; ".join(
            f"{board_label(row['board_id'])} on {long_date(row['check_date'])} "
            f"({row['respondents_text']})"
            for _, row in latest.iterrows()
        )
        declines = int(latest["declines"].sum())
        gaps = int(latest["gaps"].sum())
        text = (
            f"Latest health-check{'s' if len(latest) > 1 else ''}: {checks}. At "
            f"{'these checks' if len(latest) > 1 else 'that check'}, {_items(declines)} fell by "
            f"{decline} since the previous check (HC-DECLINE), and professionals rated "
            f"{_items(gaps)} {gap} higher than the lived-experience side (HC-GAP)."
        )
        if period is not None:
            fell = len(findings_of(result, "HC-DECLINE", period))
            differed = len(findings_of(result, "HC-GAP", period))
            text += (
                f" Over all checks {period.describe()}, an item fell by {decline} "
                f"{plural(fell, 'time')} and professionals rated an item {gap} higher "
                f"{plural(differed, 'time')}."
            )
    overdue = findings_of(result, "HC-OVERDUE")
    if not overdue.empty:
        names = ", ".join(board_label(b) for b in overdue["board_id"])
        text += (
            f" {plural(len(overdue), 'board')} took decisions in the last "
            f"{thresholds.overdue_months} months without a health-check (HC-OVERDUE): {names}."
        )
    return text


def findings_count(result: CheckResult, period: Period) -> dict[str, int]:
    """How many HC-GAP and HC-DECLINE findings fall in the period, and HC-OVERDUE as of now."""
    return {
        "HC-GAP": len(findings_of(result, "HC-GAP", period)),
        "HC-DECLINE": len(findings_of(result, "HC-DECLINE", period)),
        "HC-OVERDUE": len(findings_of(result, "HC-OVERDUE")),
    }


def findings_sentence(counts: dict[str, int], thresholds: Thresholds = DEFAULT_THRESHOLDS) -> str:
    """``The health-checks in the period showed 14 perception gaps ...``: for the overview."""
    overdue = counts["HC-OVERDUE"]
    return (
        f"The health-checks in the period showed {plural(counts['HC-GAP'], 'perception gap')} "
        f"(professionals rating an item {thresholds.health_check_gap:.1f} points or more higher "
        f"than the lived-experience side, HC-GAP) and {plural(counts['HC-DECLINE'], 'fall')} of "
        f"{thresholds.health_check_decline:.1f} points or more since the previous check "
        f"(HC-DECLINE); {plural(overdue, 'board')} {'is' if overdue == 1 else 'are'} overdue a "
        "health-check (HC-OVERDUE)."
    )


# --- the item bank ----------------------------------------------------------------------------


class BankItem(NamedTuple):
    item: str
    statement: str
    board_specific: bool  # the board's own item (False: a default, or an item for every board)


class ItemBankError(CoprodError, ValueError):
    """An item that cannot be added; the message is one sentence for the person adding it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _stored_items(store: Store, board_ids: list[str]) -> list[dict[str, Any]]:
    return store.query(
        "SELECT board_id, item, statement FROM health_check_item "
        "WHERE withdrawn_at IS NULL AND list_contains(CAST(? AS VARCHAR[]), board_id) "
        "ORDER BY board_id <> ?, board_id, created_at, item",
        [board_ids, EVERY_BOARD],
    )


def item_bank(store: Store, board_id: str | None) -> list[BankItem]:
    """The items a board asks: the defaults, then items for every board, then its own.

    With ``board_id`` None (or ``'*'``), the items every board asks.
    """
    bank = [
        BankItem(item, statement, False) for item, statement in DEFAULT_HEALTH_CHECK_ITEMS.items()
    ]
    wanted = [EVERY_BOARD] if board_id in (None, EVERY_BOARD) else [EVERY_BOARD, str(board_id)]
    bank += [
        BankItem(r["item"], r["statement"], r["board_id"] != EVERY_BOARD)
        for r in _stored_items(store, wanted)  # every board's first, then the board's own
        if r["item"] not in DEFAULT_HEALTH_CHECK_ITEMS
    ]
    return bank


def statements(store: Store, board_ids: tuple[str, ...] | list[str]) -> dict[str, str]:
    """item → statement for every item in the banks of these boards."""
    out = dict(DEFAULT_HEALTH_CHECK_ITEMS)
    for row in _stored_items(store, [EVERY_BOARD, *board_ids]):
        out.setdefault(row["item"], row["statement"])
    return out


def scored_items(store: Store, board_ids: tuple[str, ...] | list[str]) -> list[str]:
    """Every item scored in live responses of these boards."""
    rows = store.query(
        "SELECT DISTINCT item FROM health_check WHERE withdrawn_at IS NULL "
        "AND list_contains(CAST(? AS VARCHAR[]), board_id) ORDER BY item",
        [list(board_ids)],
    )
    return [str(r["item"]) for r in rows]


def bank_table(store: Store, board_id: str | None) -> pd.DataFrame:
    """The item bank as a person reads it, with items scored but in no bank at the end."""
    bank = item_bank(store, board_id)
    known = {b.item for b in bank}

    def asked_by(b: BankItem) -> str:
        if b.board_specific:
            return "this board only"
        return "every board (default)" if b.item in DEFAULT_HEALTH_CHECK_ITEMS else "every board"

    rows = [{"Item": b.item, "Statement": b.statement, "Asked by": asked_by(b)} for b in bank]
    wanted = [board_id] if board_id and board_id != EVERY_BOARD else []
    rows += [
        {"Item": item, "Statement": "(not in the item bank)", "Asked by": "scored in responses"}
        for item in scored_items(store, wanted)
        if item not in known
    ]
    return pd.DataFrame(rows, columns=["Item", "Statement", "Asked by"])


def add_item(
    store: Store, board_id: str | None, item: str, statement: str, change: Change
) -> BankItem:
    """Add an item to a board's bank (``board_id`` None or ``'*'``: every board's).

    The item id is normalised as import does (``Good Communication`` → ``good_communication``)
    and must then match ``^[a-z0-9_]{1,64}$``; the statement must not be empty; the item must not
    already be in the bank. Written in one transaction with its audit-trail entry.
    """
    key = EVERY_BOARD if board_id in (None, "", EVERY_BOARD) else str(board_id)
    item = normalise_token(item or "")
    statement = " ".join((statement or "").split())
    if not ITEM_PATTERN.fullmatch(item):
        raise ItemBankError(
            "item",
            f"'{item}' cannot be an item id: use 1 to 64 lower-case letters, digits and "
            "underscores, for example good_communication.",
        )
    if not statement:
        raise ItemBankError("statement", "Write the statement respondents will score.")
    if item in DEFAULT_HEALTH_CHECK_ITEMS:
        raise ItemBankError("item", f"'{item}' is already in the bank: it is a default item.")
    after = {"board_id": key, "item": item, "statement": statement}
    change.access.require(Action.record, [] if key == EVERY_BOARD else [key])
    if key == EVERY_BOARD and not change.access.every_board:
        raise Forbidden(
            f"{change.access.who} may add items only to their own boards' banks, not to every "
            "board's."
        )
    with store.transaction() as cur:
        if key != EVERY_BOARD:
            board = cur.execute(
                "SELECT withdrawn_at FROM board WHERE board_id = ?", [key]
            ).fetchone()
            if board is None:
                raise ItemBankError("board_id", f"There is no board with the id '{key}'.")
            if board[0] is not None:
                raise ItemBankError("board_id", f"The board '{key}' has been withdrawn.")
        clash = cur.execute(
            "SELECT board_id, withdrawn_at FROM health_check_item WHERE item = ? "
            "AND (board_id IN (?, ?) OR ? = ?) ORDER BY board_id = ? DESC LIMIT 1",
            [item, key, EVERY_BOARD, key, EVERY_BOARD, key],
        ).fetchone()
        if clash is not None:
            where = "every board's bank" if clash[0] == EVERY_BOARD else f"the bank of {clash[0]}"
            state = " (withdrawn)" if clash[1] is not None else ""
            raise ItemBankError("item", f"'{item}' is already in {where}{state}.")
        cur.execute(
            "INSERT INTO health_check_item (board_id, item, statement, created_by, updated_by) "
            "VALUES (?, ?, ?, ?, ?)",
            [key, item, statement, change.actor, change.actor],
        )
        # The same audit-trail entry coprod.interchange.write_records makes for a created record
        # (that helper writes only the entity tables of coprod.store.COLUMNS).
        cur.execute(
            "INSERT INTO audit_log (actor, source, entity, record_key, action, before, after) "
            "VALUES (?, ?, 'health_check_item', ?, 'create', NULL, CAST(? AS JSON))",
            [change.actor, change.source, f"{key}/{item}", json.dumps(after)],
        )
    return BankItem(item, statement, key != EVERY_BOARD)
