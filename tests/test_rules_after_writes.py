"""The rules after a write check again only the boards the write touched, and what they give is
always what checking everything again gives: the same rows, in the same order.

Property-based: a run of writes chosen at random (each of them a save, a withdrawal, a
restoration, an attestation or attendance, through the same functions the forms and the
command line use, or a write that leaves no audit entry), on a store of the demo data, and
after each write the remembered check against a whole check made afresh. On a store file and on
a PostgreSQL store.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from builders import CHANGE, load_demo
from hypothesis import HealthCheck as Hypothesis
from hypothesis import given, settings
from hypothesis import strategies as st

from coprod import rules
from coprod.demo import DEMO_AS_OF
from coprod.interchange import ImportRejected
from coprod.models import (
    AttendanceStatus,
    Attestation,
    Decision,
    Entity,
    HealthCheck,
    Involvement,
    Meeting,
    Member,
)
from coprod.records import (
    RecordsError,
    attest,
    get,
    restore,
    save,
    save_attendance,
    withdraw,
)
from coprod.settings import DEFAULT_THRESHOLDS
from coprod.store import Store

EXAMPLES = int(os.environ.get("COPROD_FUZZ_EXAMPLES", "12"))
WRITES = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[Hypothesis.function_scoped_fixture, Hypothesis.too_slow],
)
BOARDS = 5


@pytest.fixture
def demo(store: Store, tmp_path: Path) -> Store:
    return load_demo(store, tmp_path / "demo", BOARDS)


def ids(store: Store, table: str, key: str, where: str = "") -> list[str]:
    rows = store.query(f"SELECT {key} FROM {table} {where} ORDER BY {key}")
    return [r[key] for r in rows]


def whole_check(store: Store, boards: list[str] | None = None) -> rules.CheckResult:
    return rules._computed(store, DEMO_AS_OF, boards, DEFAULT_THRESHOLDS)


def same(got: rules.CheckResult, want: rules.CheckResult) -> None:
    assert got.decisions == want.decisions
    assert got.findings == want.findings


# Each write: a name and what it does, given the store and a number that picks the record.
Write = Callable[[Store, int], None]


def _attest(store: Store, n: int) -> None:
    involvement = ids(store, "involvement", "involvement_id", "WHERE withdrawn_at IS NULL")
    choice = list(Attestation)[n % 3]
    note = "They say they were not asked." if choice == Attestation.disputed else None
    attest(store, involvement[n % len(involvement)], choice, note, CHANGE)


def _changed(
    entity: type[Entity], table: str, key: str, change: Callable[[Any, int], dict[str, Any]]
) -> Write:
    def write(store: Store, n: int) -> None:
        keys = ids(store, table, key, "WHERE withdrawn_at IS NULL")
        stored = get(store, entity, keys[n % len(keys)])
        assert stored is not None
        record = stored.record
        changed = entity.model_validate(record.model_dump() | change(record, n))
        save(store, changed, CHANGE, allow_overwrite=True)

    return write


def _withdrawn(entity: type[Entity], table: str, key: str) -> Write:
    def write(store: Store, n: int) -> None:
        keys = ids(store, table, key)
        chosen = keys[n % len(keys)]
        stored = get(store, entity, chosen)
        assert stored is not None
        if stored.withdrawn_at is None:
            withdraw(store, entity, chosen, "recorded in error", CHANGE)
        else:
            restore(store, entity, chosen, CHANGE)

    return write


def _attendance(store: Store, n: int) -> None:
    rows = store.query(
        "SELECT meeting_id, member_id FROM attendance ORDER BY meeting_id, member_id"
    )
    row = rows[n % len(rows)]
    status = [AttendanceStatus.present, AttendanceStatus.absent, None][n % 3]
    save_attendance(store, row["meeting_id"], {row["member_id"]: status}, CHANGE)


def _health_check(store: Store, n: int) -> None:
    rows = store.query(
        "SELECT response_id, item FROM health_check WHERE withdrawn_at IS NULL "
        "ORDER BY response_id, item"
    )
    row = rows[n % len(rows)]
    stored = get(store, HealthCheck, (row["response_id"], row["item"]))
    assert stored is not None
    update = {"score": 1 + n % 5}
    save(store, stored.record.model_copy(update=update), CHANGE, allow_overwrite=True)


def _unaudited(store: Store, n: int) -> None:
    # A write outside the audited functions: nothing says what it touched.
    with store.transaction() as cur:
        cur.execute(
            "UPDATE involvement SET influence = NULL WHERE involvement_id = "
            "(SELECT min(involvement_id) FROM involvement)"
        )


BOARD_IDS = [
    "demo-glenmoray-ijb", "demo-firthside-ijb", "demo-lochbrae-spg", "demo-b0004", "demo-b0005"
]  # fmt: skip


def _moved(record: Decision, n: int) -> dict[str, Any]:
    return {"board_id": BOARD_IDS[n % len(BOARD_IDS)], "meeting_id": None}


WRITES_BY_NAME: dict[str, Write] = {
    "attest an involvement": _attest,
    "move a decision's first step": _changed(
        Decision, "decision", "decision_id",
        lambda r, n: {"identified_on": r.identified_on - dt.timedelta(days=n % 90)},
    ),
    "move a decision to another board": _changed(Decision, "decision", "decision_id", _moved),
    "change an involvement's level": _changed(
        Involvement, "involvement", "involvement_id",
        lambda r, n: {"level": ["inform", "consult", "co_produce"][n % 3]},
    ),
    "change a member's role": _changed(
        Member, "member", "member_id",
        lambda r, n: {"role": ["officer", "service_user_rep", "carer_rep"][n % 3],
                      "lived_experience": bool(n % 2)},
    ),
    "move a meeting": _changed(
        Meeting, "meeting", "meeting_id", lambda r, n: {"date": r.date + dt.timedelta(days=n % 9)}
    ),
    "withdraw or restore a decision": _withdrawn(Decision, "decision", "decision_id"),
    "withdraw or restore an involvement": _withdrawn(Involvement, "involvement", "involvement_id"),
    "withdraw or restore a member": _withdrawn(Member, "member", "member_id"),
    "withdraw or restore a meeting": _withdrawn(Meeting, "meeting", "meeting_id"),
    "record attendance": _attendance,
    "change a health-check score": _health_check,
    "write without an audit entry": _unaudited,
}  # fmt: skip


def test_the_rules_after_any_run_of_writes_are_a_whole_check(
    demo: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = demo
    spliced: list[set[str]] = []
    splice = rules._spliced

    def counted(old: Any, new: Any, touched: set[str]) -> Any:
        spliced.append(touched)
        return splice(old, new, touched)

    monkeypatch.setattr(rules, "_spliced", counted)
    boards = [BOARD_IDS[0], BOARD_IDS[2]]
    same(rules.run_check(store, DEMO_AS_OF), whole_check(store))
    same(rules.run_check(store, DEMO_AS_OF, boards=boards), whole_check(store, boards))

    @WRITES
    @given(
        st.lists(
            st.tuples(st.sampled_from(sorted(WRITES_BY_NAME)), st.integers(0, 10_000)),
            min_size=1,
            max_size=4,
        )
    )
    def writes(steps: list[tuple[str, int]]) -> None:
        for name, n in steps:
            # A write the records refuse (a reference it would break) changes nothing.
            with suppress(RecordsError, ImportRejected):
                WRITES_BY_NAME[name](store, n)
            same(rules.run_check(store, DEMO_AS_OF), whole_check(store))
            same(rules.run_check(store, DEMO_AS_OF, boards=boards), whole_check(store, boards))

    writes()
    # The property held while boards were checked again on their own, not only by checking
    # everything: most writes touch one board.
    assert len(spliced) >= EXAMPLES


def test_a_write_shows_in_the_next_check_of_its_board(demo: Store) -> None:
    store = demo
    before = rules.run_check(store, DEMO_AS_OF)
    decided = [
        d for d in before.decisions if d["first_involvement"] == "from_start" and d["decided"]
    ]
    chosen = decided[0]["decision_id"]
    for involvement in ids(
        store, "involvement", "involvement_id", f"WHERE decision_id = '{chosen}'"
    ):
        withdraw(store, Involvement, involvement, "recorded against the wrong decision", CHANGE)
    after = rules.run_check(store, DEMO_AS_OF)
    verdict = after.decision(chosen)
    assert verdict is not None
    assert verdict["first_involvement"] == "never"
    assert "FTS-NONE" in [f["code"] for f in after.findings_about(chosen)]
    same(after, whole_check(store))
