"""Every threshold the rules use, in one place, with the defaults of docs/domain.md.

The method page shows these values, so a board can see exactly what was in force.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = PROJECT_ROOT / "data" / "coprod.duckdb"
DEMO_DIR = PROJECT_ROOT / "data" / "demo"


def store_location(explicit: str | os.PathLike[str] | None = None) -> str:
    """The store to use: an explicit --db, else COPROD_DB, else data/coprod.duckdb."""
    if explicit:
        return str(explicit)
    return os.environ.get("COPROD_DB") or str(DEFAULT_DB)


@dataclass(frozen=True)
class Thresholds:
    """Rule thresholds. Each field's metadata says what it means in plain English."""

    start_window_days: int = 30
    feedback_window_days: int = 84
    min_consultation_days: int = 42
    health_check_gap: float = 1.0
    health_check_decline: float = 0.5
    suppression_size: int = 5
    overdue_months: int = 6

    def describe(self) -> list[tuple[str, str, str]]:
        """(setting, value, meaning) rows for the method page."""
        return [(f.name, str(getattr(self, f.name)), _MEANINGS[f.name]) for f in fields(self)]


_MEANINGS = {
    "start_window_days": (
        "People first involved within this many days of a decision being identified "
        "count as involved from the start."
    ),
    "feedback_window_days": (
        "After a decision, people who took part should be told the result within this many days."
    ),
    "min_consultation_days": (
        "A formal consultation shorter than this many days does not give adequate time."
    ),
    "health_check_gap": (
        "A gap this large between professionals' and the lived-experience side's average "
        "score on a health-check item is flagged."
    ),
    "health_check_decline": (
        "A fall this large in an item's average score since the previous health-check is flagged."
    ),
    "suppression_size": (
        "Groups with fewer respondents than this are never shown as an average or a count."
    ),
    "overdue_months": (
        "A board that took decisions in this many months should have held a health-check in them."
    ),
}

DEFAULT_THRESHOLDS = Thresholds()
