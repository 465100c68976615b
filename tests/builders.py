"""Build small datasets for a test and load them through the real import path.

A test says only what matters to it; everything else gets a sensible default (a decision that
affects people who use services, identified on 1 January 2024, on board ``b1``). ``load`` turns
the rows into sheets of text, exactly as they would come out of CSV files, and imports them with
``coprod.interchange.import_sheets``, so every validation rule runs on test data too.

Helpers at the end read a ``CheckResult`` the way a test wants to: one decision's verdict, the
codes found for one decision, one finding.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from coprod.bulk import import_folder
from coprod.demo import write_demo
from coprod.interchange import ImportSummary, Sheet, import_sheets
from coprod.models import ENTITIES
from coprod.rules import CheckResult, run_check
from coprod.settings import DEFAULT_THRESHOLDS, Thresholds
from coprod.store import Change, Store

D = dt.date
DAY = dt.timedelta(days=1)
CHANGE = Change(actor="test", source="import")


def cell(value: Any) -> str:
    """A value as a person would type it into a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ";".join(str(v) for v in value)
    return str(value)


class Dataset:
    """Rows of every entity, added with defaults, loaded in one import."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {e.table: [] for e in ENTITIES}
        self._last_decision: str | None = None
        self._counter = 0

    def _next(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def _add(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        self.rows[table].append(row)
        return row

    # -- entities ------------------------------------------------------------------------

    def board(self, board_id: str = "b1", **fields: Any) -> dict[str, Any]:
        row = {"board_id": board_id, "name": f"Board {board_id}", "kind": "integration_joint_board"}
        return self._add("board", row | fields)

    def member(self, member_id: str | None = None, **fields: Any) -> dict[str, Any]:
        row = {
            "member_id": member_id or self._next("mem"),
            "board_id": "b1",
            "name": "A member",
            "role": "officer",
            "voting": False,
            "start_date": D(2020, 1, 1),
        }
        return self._add("member", row | fields)

    def meeting(self, meeting_id: str = "m1", **fields: Any) -> dict[str, Any]:
        row = {"meeting_id": meeting_id, "board_id": "b1", "date": D(2024, 6, 1)}
        return self._add("meeting", row | fields)

    def attend(self, meeting_id: str, member_id: str, status: str = "present") -> dict[str, Any]:
        row = {"meeting_id": meeting_id, "member_id": member_id, "status": status}
        return self._add("attendance", row)

    def decision(self, decision_id: str = "d1", **fields: Any) -> dict[str, Any]:
        row = {
            "decision_id": decision_id,
            "board_id": "b1",
            "title": f"Decision {decision_id}",
            "identified_on": D(2024, 1, 1),
        }
        self._last_decision = decision_id
        return self._add("decision", row | fields)

    def involvement(self, involvement_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Qualifying by default: people who use services, engage, started 10 January 2024."""
        row = {
            "involvement_id": involvement_id or self._next("i"),
            "decision_id": self._last_decision or "d1",
            "start_date": D(2024, 1, 10),
            "group": "people_who_use_services",
            "level": "engage",
        }
        return self._add("involvement", row | fields)

    def health_check(self, response_id: str | None = None, **fields: Any) -> dict[str, Any]:
        row = {
            "response_id": response_id or self._next("r"),
            "board_id": "b1",
            "check_date": D(2024, 6, 1),
            "respondent_group": "professional",
            "item": "trust",
            "score": 3,
        }
        return self._add("health_check", row | fields)

    def responses(
        self, scores: Iterable[int], *, group: str = "professional", **fields: Any
    ) -> None:
        """One respondent per score, each scoring the same item at the same check."""
        for score in scores:
            self.health_check(respondent_group=group, score=score, **fields)

    # -- loading -------------------------------------------------------------------------

    def sheets(self) -> list[Sheet]:
        """The rows as sheets of text cells, header first, numbered as a spreadsheet would."""
        out: list[Sheet] = []
        self._ensure_boards()
        for entity in ENTITIES:
            rows = self.rows[entity.table]
            if not rows:
                continue
            header: list[str] = []
            for row in rows:
                header.extend(k for k in row if k not in header)
            sheet = Sheet(f"{entity.file_name}.csv", entity, header)
            for number, row in enumerate(rows, start=2):
                sheet.rows.append((number, {k: cell(row.get(k)) for k in header}))
            out.append(sheet)
        return out

    def _ensure_boards(self) -> None:
        """Any board a row names but the test did not add gets a default board."""
        known = {b["board_id"] for b in self.rows["board"]}
        named = [
            r["board_id"]
            for table in ("member", "meeting", "decision", "health_check")
            for r in self.rows[table]
        ]
        for board_id in dict.fromkeys(named):
            if board_id not in known:
                self.board(board_id)
                known.add(board_id)

    def load(self, store: Store) -> ImportSummary:
        return import_sheets(store, self.sheets(), CHANGE)


def load_demo(store: Store, folder: Path, boards: int = 3) -> Store:
    """The demo data of ``boards`` boards, written to ``folder`` and imported in sets."""
    write_demo(folder, boards=boards)
    done, declined = import_folder(store, folder, CHANGE)
    assert declined is None
    assert done is not None
    return store


# -- reading results -----------------------------------------------------------------------


def check(
    store: Store,
    as_of: dt.date,
    *,
    boards: list[str] | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> CheckResult:
    return run_check(store, as_of, boards=boards, thresholds=thresholds)


def verdict(result: CheckResult, decision_id: str = "d1") -> dict[str, Any]:
    matches = [d for d in result.decisions if d["decision_id"] == decision_id]
    assert len(matches) == 1, f"expected one row for {decision_id}, got {len(matches)}"
    return matches[0]


def category(result: CheckResult, decision_id: str = "d1") -> str:
    return str(verdict(result, decision_id)["first_involvement"])


def codes(result: CheckResult, decision_id: str | None = "d1", prefix: str = "") -> list[str]:
    """Sorted codes of the findings about one decision (or all, with None)."""
    return sorted(
        f["code"]
        for f in result.findings
        if (decision_id is None or f["decision_id"] == decision_id) and f["code"].startswith(prefix)
    )


def findings(result: CheckResult, code: str) -> list[dict[str, Any]]:
    return [f for f in result.findings if f["code"] == code]


def finding(result: CheckResult, code: str, decision_id: str | None = "d1") -> dict[str, Any]:
    matches = [
        f
        for f in result.findings
        if f["code"] == code and (decision_id is None or f["decision_id"] == decision_id)
    ]
    assert len(matches) == 1, f"expected one {code} for {decision_id}, got {len(matches)}"
    return matches[0]


def withdraw(store: Store, table: str, where: str, params: list[Any]) -> None:
    """Withdraw records as the app does: they stay, with withdrawn_at set."""
    with store.transaction() as cur:
        cur.execute(
            f"UPDATE {table} SET withdrawn_at = now()::TIMESTAMP, withdrawn_by = 'test', "
            f"withdrawn_reason = 'test' WHERE {where}",
            params,
        )


def shown(markdown: str) -> str:
    """Markdown source as a reader sees it: text people typed is shown with its symbols
    escaped (``Non\\-residential``, ``\\(demo\\)``), which the page renders without the
    backslashes."""
    return re.sub(r"\\(.)", r"\1", markdown)


def one_sentence(message: str) -> None:
    """A refusal as a person should read it: one sentence, no traceback."""
    assert "\n" not in message
    assert message.endswith(".")
    assert ". " not in message, f"more than one sentence: {message}"
    assert "Traceback" not in message
