"""Recording through forms: save, conflicts, attest, withdraw/restore, batches, the audit trail.

Every test runs on a real DuckDB file. The baseline (``base``) is board b1 with two meetings,
three members, and decision d1 (identified 1 January 2024, options fixed 5 March, decided 4
June at meeting m1) whose only involvement, i1, makes it co-produced *from the start*.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import threading
import time
from typing import Any

import pytest
from builders import D, Dataset, category, check, codes

from coprod import records
from coprod.models import (
    Attendance,
    AttendanceStatus,
    Attestation,
    Board,
    Decision,
    HealthCheck,
    Involvement,
    Meeting,
    RespondentGroup,
)
from coprod.records import (
    ConflictError,
    RecordRejected,
    StateError,
    Stored,
)
from coprod.store import Change, Store

ALEX = Change(actor="Alex Smith", source="form")
BEA = Change(actor="Bea Jones", source="form")
AS_OF = D(2024, 12, 31)
ITEMS = ["trust", "information_sharing", "support"]


def base(store: Store) -> None:
    ds = Dataset()
    ds.board("b1")
    ds.board("b2", kind="committee")
    ds.member("mem1", role="service_user_rep")
    ds.member("mem2", role="chair", voting=True)
    ds.member("mem3", role="officer")
    ds.member("other", board_id="b2")
    ds.meeting("m1", date=D(2024, 6, 4))
    ds.meeting("m2", date=D(2024, 9, 3))
    ds.meeting("m9", board_id="b2", date=D(2024, 6, 5))
    ds.decision(
        "d1",
        identified_on=D(2024, 1, 1),
        options_fixed_on=D(2024, 3, 5),
        decided_on=D(2024, 6, 4),
        meeting_id="m1",
    )
    ds.involvement("i1", decision_id="d1", start_date=D(2024, 1, 10), level="co_produce")
    ds.decision("d9", board_id="b2", identified_on=D(2024, 2, 1))
    ds.involvement("i9", decision_id="d9")
    ds.load(store)


def decision(store: Store, decision_id: str = "d1") -> Stored[Decision]:
    stored = records.get(store, Decision, decision_id)
    assert stored is not None
    return stored


def snapshot(store: Store) -> dict[str, Any]:
    """Everything a write could change: row counts of every table and the data version."""
    tables = ["board", "member", "meeting", "attendance", "decision", "involvement"]
    tables += ["health_check", "audit_log"]
    counts = {t: store.count(t, include_withdrawn=True) for t in tables}
    live = {t: store.count(t) for t in tables if t != "audit_log"}
    return {"counts": counts, "live": live, "version": store.data_version()}


# --- save and history ---------------------------------------------------------------------


def test_save_new_then_edit_keeps_both_versions_in_the_history(store: Store) -> None:
    base(store)
    version_before = store.data_version()
    new = Decision(
        decision_id="d2", board_id="b1", title="Respite beds", identified_on=D(2024, 4, 1)
    )
    created = records.save(store, new, ALEX)
    assert created.action == "created"
    assert created.stored.created_by == "Alex Smith"
    assert store.data_version() == version_before + 1

    edited = new.model_copy(update={"title": "Respite beds, north locality", "summary": "x"})
    updated = records.save(store, edited, BEA, expected_updated_at=created.stored.updated_at)
    assert updated.action == "updated"
    assert updated.stored.updated_by == "Bea Jones"
    assert updated.stored.created_by == "Alex Smith"
    assert updated.stored.updated_at > created.stored.updated_at
    assert decision(store, "d2").record.title == "Respite beds, north locality"
    assert store.data_version() == version_before + 2

    entries = records.history(store, Decision, ("d2",))
    assert [(e["action"], e["actor"], e["source"]) for e in entries] == [
        ("create", "Alex Smith", "form"),
        ("update", "Bea Jones", "form"),
    ]
    assert entries[0]["before"] is None
    assert entries[0]["after"]["title"] == "Respite beds"
    assert ("title", None, "Respite beds") in entries[0]["changes"]
    assert entries[1]["before"]["title"] == "Respite beds"
    assert entries[1]["after"]["title"] == "Respite beds, north locality"
    assert entries[1]["changes"] == [
        ("title", "Respite beds", "Respite beds, north locality"),
        ("summary", None, "x"),
    ]


def test_saving_the_same_values_again_changes_nothing(store: Store) -> None:
    base(store)
    stored = decision(store)
    entries = len(records.history(store, Decision, "d1"))
    again = records.save(store, stored.record, ALEX, expected_updated_at=stored.updated_at)
    assert again.action == "unchanged"
    assert again.stored.updated_at == stored.updated_at
    assert len(records.history(store, Decision, "d1")) == entries


def test_quick_saves_get_distinct_increasing_versions(store: Store) -> None:
    base(store)
    stored = decision(store)
    versions = [stored.updated_at]
    for n in range(25):
        result = records.save(
            store,
            stored.record.model_copy(update={"summary": f"draft {n}"}),
            ALEX,
            expected_updated_at=stored.updated_at,
        )
        stored = result.stored
        versions.append(stored.updated_at)
    assert versions == sorted(set(versions))


def test_parse_reads_typed_form_values_and_names_bad_fields() -> None:
    parsed = records.parse(
        Decision,
        {
            "decision_id": "d5",
            "board_id": "b1",
            "title": "Day services",
            "identified_on": "31/01/2024",
            "claimed_approach": "Co-design",
        },
    )
    assert parsed.identified_on == D(2024, 1, 31)
    with pytest.raises(RecordRejected) as rejected:
        records.parse(
            Decision,
            {
                "decision_id": "d5",
                "board_id": "b1",
                "title": "",
                "identified_on": "2024-02-01",
                "decided_on": "2024-01-01",
            },
        )
    assert set(rejected.value.fields) >= {"title"}
    with pytest.raises(RecordRejected) as rejected:
        records.parse(
            Decision,
            {
                "decision_id": "d5",
                "board_id": "b1",
                "title": "T",
                "identified_on": "2024-02-01",
                "decided_on": "2024-01-01",
            },
        )
    assert rejected.value.fields == {"decided_on": "decided_on is before identified_on"}
    assert "decided_on" in str(rejected.value)


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"board_id": "nowhere"}, "board_id", "no board has the id 'nowhere'"),
        ({"meeting_id": "m404"}, "meeting_id", "no meeting has the id 'm404'"),
        ({"meeting_id": "m9"}, "meeting_id", "belongs to board 'b2', not 'b1'"),
    ],
)
def test_bad_reference_is_rejected_naming_the_field_and_nothing_is_written(
    store: Store, changes: dict[str, Any], field: str, reason: str
) -> None:
    base(store)
    before = snapshot(store)
    fields: dict[str, Any] = {"decision_id": "d2", "board_id": "b1", "title": "Beds"}
    record = Decision(identified_on=D(2024, 4, 1), **fields | changes)
    with pytest.raises(RecordRejected) as rejected:
        records.save(store, record, ALEX)
    assert reason in rejected.value.fields[field]
    assert field in str(rejected.value)
    assert snapshot(store) == before
    assert records.get(store, Decision, "d2") is None


def test_a_record_broken_after_construction_is_still_rejected(store: Store) -> None:
    base(store)
    before = snapshot(store)
    broken = Decision.model_construct(
        **decision(store).record.model_dump() | {"decided_on": D(2023, 1, 1)}
    )
    with pytest.raises(RecordRejected) as rejected:
        records.save(store, broken, ALEX, expected_updated_at=decision(store).updated_at)
    assert "decided_on" in rejected.value.fields
    assert snapshot(store) == before


# --- conflicts ----------------------------------------------------------------------------


def test_two_people_editing_at_once_never_silently_lose_a_change(store: Store) -> None:
    base(store)
    opened_by_a = decision(store)
    opened_by_b = decision(store)
    assert opened_by_a.updated_at == opened_by_b.updated_at

    a_saved = records.save(
        store,
        opened_by_a.record.model_copy(update={"title": "A's title"}),
        ALEX,
        expected_updated_at=opened_by_a.updated_at,
    )
    before_b = snapshot(store)
    with pytest.raises(ConflictError) as conflict:
        records.save(
            store,
            opened_by_b.record.model_copy(update={"summary": "B's summary"}),
            BEA,
            expected_updated_at=opened_by_b.updated_at,
        )
    message = str(conflict.value)
    assert message.startswith("Alex Smith changed this decision at ")
    assert records.when(a_saved.stored.updated_at) in message
    assert message.endswith("reload to see their change, then make yours again.")
    assert conflict.value.current is not None
    assert conflict.value.current.updated_by == "Alex Smith"

    now = decision(store)
    assert now.record.title == "A's title"
    assert now.record.summary is None
    assert snapshot(store) == before_b
    assert [e["actor"] for e in records.history(store, Decision, "d1")] == ["test", "Alex Smith"]

    # B reloads and makes the change again: both survive.
    records.save(
        store,
        now.record.model_copy(update={"summary": "B's summary"}),
        BEA,
        expected_updated_at=now.updated_at,
    )
    assert decision(store).record.title == "A's title"
    assert decision(store).record.summary == "B's summary"


def test_when_says_the_time_and_date_in_words() -> None:
    assert records.when(dt.datetime(2026, 3, 3, 14, 3, 59)) == "14:03 on 3 March 2026"


def test_a_new_record_whose_id_was_taken_meanwhile_is_a_conflict(store: Store) -> None:
    base(store)
    record = Decision(decision_id="d2", board_id="b1", title="A's", identified_on=D(2024, 4, 1))
    records.save(store, record, ALEX)
    before = snapshot(store)
    with pytest.raises(ConflictError) as conflict:
        records.save(store, record.model_copy(update={"title": "B's"}), BEA)
    assert "A decision with the id 'd2' already exists" in str(conflict.value)
    assert "Alex Smith" in str(conflict.value)
    assert snapshot(store) == before
    assert decision(store, "d2").record.title == "A's"

    overwritten = records.save(
        store, record.model_copy(update={"title": "B's"}), BEA, allow_overwrite=True
    )
    assert overwritten.action == "updated"
    assert decision(store, "d2").record.title == "B's"


# --- attestation --------------------------------------------------------------------------


def test_disputing_the_only_qualifying_involvement_takes_effect_at_once(store: Store) -> None:
    base(store)
    assert category(check(store, AS_OF)) == "from_start"
    assert "TB-DISPUTED" not in codes(check(store, AS_OF))

    disputed = records.attest(store, "i1", Attestation.disputed, "We were told, not asked.", BEA)
    assert disputed.action == "updated"
    assert disputed.stored.record.attestation == Attestation.disputed
    assert disputed.stored.record.attestation_note == "We were told, not asked."
    result = check(store, AS_OF)
    assert category(result) == "never"
    assert "TB-DISPUTED" in codes(result)
    assert "FTS-NONE" in codes(result)

    records.attest(store, "i1", Attestation.confirmed, None, BEA)
    result = check(store, AS_OF)
    assert category(result) == "from_start"
    assert "TB-DISPUTED" not in codes(result)

    entries = records.history(store, Involvement, "i1")
    attests = [e for e in entries if e["action"] == "attest"]
    assert [(e["actor"], e["source"]) for e in attests] == [("Bea Jones", "form")] * 2
    assert attests[0]["changes"] == [
        ("attestation", "unconfirmed", "disputed"),
        ("attestation_note", None, "We were told, not asked."),
    ]
    assert attests[1]["changes"] == [
        ("attestation", "disputed", "confirmed"),
        ("attestation_note", "We were told, not asked.", None),
    ]


def test_a_dispute_needs_a_note(store: Store) -> None:
    base(store)
    before = snapshot(store)
    for note in (None, "", "   "):
        with pytest.raises(RecordRejected) as rejected:
            records.attest(store, "i1", Attestation.disputed, note, BEA)
        assert "attestation_note" in rejected.value.fields
    assert snapshot(store) == before


def test_attestation_changes_only_through_attest(store: Store) -> None:
    base(store)
    stored = records.get(store, Involvement, "i1")
    assert stored is not None
    with pytest.raises(RecordRejected) as rejected:
        records.save(
            store,
            stored.record.model_copy(update={"attestation": Attestation.confirmed}),
            ALEX,
            expected_updated_at=stored.updated_at,
        )
    assert "attestation" in rejected.value.fields
    new = Involvement(
        involvement_id="i2",
        decision_id="d1",
        start_date=D(2024, 2, 1),
        group="dpo",
        level="consult",
        attestation="disputed",
    )
    with pytest.raises(RecordRejected) as rejected:
        records.save(store, new, ALEX)
    assert "attestation_note" in rejected.value.fields


def test_attesting_with_a_stale_version_is_a_conflict(store: Store) -> None:
    base(store)
    opened = records.get(store, Involvement, "i1")
    assert opened is not None
    records.attest(store, "i1", Attestation.confirmed, "Matches our notes.", BEA)
    with pytest.raises(ConflictError, match=r"^Bea Jones changed this involvement"):
        records.attest(
            store,
            "i1",
            Attestation.disputed,
            "Not as we remember it.",
            ALEX,
            expected_updated_at=opened.updated_at,
        )
    current = records.get(store, Involvement, "i1")
    assert current is not None
    assert current.record.attestation == Attestation.confirmed


# --- withdraw and restore -----------------------------------------------------------------


def test_withdrawn_decision_leaves_the_check_but_stays_in_the_store(store: Store) -> None:
    base(store)
    assert "d1" in {d["decision_id"] for d in check(store, AS_OF).decisions}

    withdrawn = records.withdraw(store, Decision, "d1", "Recorded twice, see d7", ALEX)
    assert withdrawn.withdrawn
    assert withdrawn.withdrawn_by == "Alex Smith"
    assert withdrawn.withdrawn_reason == "Recorded twice, see d7"
    result = check(store, AS_OF)
    assert "d1" not in {d["decision_id"] for d in result.decisions}
    assert not [f for f in result.findings if f["decision_id"] == "d1"]
    assert store.count("decision", include_withdrawn=True) == 2
    listed = records.list_records(store, Decision, include_withdrawn=True)
    assert [s.key for s in listed] == [("d1",), ("d9",)]
    assert [s.key for s in records.list_records(store, Decision, include_withdrawn=False)] == [
        ("d9",)
    ]

    restored = records.restore(store, Decision, "d1", BEA)
    assert not restored.withdrawn
    assert restored.updated_at > withdrawn.updated_at
    assert "d1" in {d["decision_id"] for d in check(store, AS_OF).decisions}
    assert category(check(store, AS_OF)) == "from_start"

    entries = [e for e in records.history(store, Decision, "d1") if e["action"] != "create"]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("withdraw", "Alex Smith"),
        ("restore", "Bea Jones"),
    ]
    withdraw_changes = {name: (old, new) for name, old, new in entries[0]["changes"]}
    assert withdraw_changes["withdrawn_reason"] == (None, "Recorded twice, see d7")
    assert withdraw_changes["withdrawn_by"] == (None, "Alex Smith")
    assert entries[0]["before"]["title"] == entries[0]["after"]["title"] == "Decision d1"
    restore_changes = {name: (old, new) for name, old, new in entries[1]["changes"]}
    assert restore_changes["withdrawn_reason"] == ("Recorded twice, see d7", None)


def test_withdraw_and_restore_refuse_what_makes_no_sense(store: Store) -> None:
    base(store)
    with pytest.raises(RecordRejected) as rejected:
        records.withdraw(store, Decision, "d1", "  ", ALEX)
    assert "withdrawn_reason" in rejected.value.fields
    with pytest.raises(StateError, match="not withdrawn"):
        records.restore(store, Decision, "d1", ALEX)
    with pytest.raises(records.NotFoundError, match="no decision with the id 'd404'"):
        records.withdraw(store, Decision, "d404", "gone", ALEX)

    opened = decision(store)
    records.withdraw(store, Decision, "d1", "Duplicate", ALEX)
    before = snapshot(store)
    with pytest.raises(StateError, match="already withdrawn"):
        records.withdraw(store, Decision, "d1", "Duplicate again", BEA)
    with pytest.raises(ConflictError, match=r"^Alex Smith withdrew this decision at "):
        records.save(
            store,
            opened.record.model_copy(update={"title": "Edited"}),
            BEA,
            expected_updated_at=opened.updated_at,
        )
    current = decision(store)
    with pytest.raises(StateError, match="restore it before changing it"):
        records.save(
            store,
            current.record.model_copy(update={"title": "Edited"}),
            BEA,
            expected_updated_at=current.updated_at,
        )
    assert snapshot(store) == before
    records.withdraw(store, Involvement, "i9", "Wrong decision", ALEX)
    with pytest.raises(StateError, match="withdrawn: restore it"):
        records.attest(store, "i9", Attestation.confirmed, None, BEA)


# --- attendance ---------------------------------------------------------------------------


def attendance(store: Store, meeting_id: str = "m2") -> dict[str, tuple[str, bool]]:
    return {
        s.record.member_id: (s.record.status.value, s.withdrawn)
        for s in records.list_records(store, Attendance, where={"meeting_id": meeting_id})
    }


def versions(store: Store, meeting_id: str = "m2") -> dict[str, dt.datetime | None]:
    return {
        s.record.member_id: s.updated_at
        for s in records.list_records(store, Attendance, where={"meeting_id": meeting_id})
    }


def test_save_attendance_records_withdraws_and_restores(store: Store) -> None:
    base(store)
    first = records.save_attendance(
        store,
        "m2",
        {"mem1": AttendanceStatus.present, "mem2": AttendanceStatus.apologies, "mem3": None},
        ALEX,
    )
    assert (first.created, first.unchanged) == (["mem1", "mem2"], ["mem3"])
    assert attendance(store) == {"mem1": ("present", False), "mem2": ("apologies", False)}

    second = records.save_attendance(
        store,
        "m2",
        {"mem1": None, "mem2": AttendanceStatus.remote, "mem3": AttendanceStatus.absent},
        ALEX,
        expected=versions(store),
    )
    assert (second.withdrawn, second.updated, second.created) == (["mem1"], ["mem2"], ["mem3"])
    assert attendance(store) == {
        "mem1": ("present", True),
        "mem2": ("remote", False),
        "mem3": ("absent", False),
    }
    withdrawn = records.get(store, Attendance, ("m2", "mem1"))
    assert withdrawn is not None
    assert withdrawn.withdrawn_reason == "attendance cleared on the attendance form"

    third = records.save_attendance(
        store, "m2", {"mem1": AttendanceStatus.substitute}, BEA, expected=versions(store)
    )
    assert (third.restored, third.updated) == (["mem1"], ["mem1"])
    assert attendance(store)["mem1"] == ("substitute", False)
    actions = [e["action"] for e in records.history(store, Attendance, ("m2", "mem1"))]
    assert actions == ["create", "withdraw", "restore", "update"]


def test_save_attendance_is_one_transaction(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    base(store)
    records.save_attendance(
        store, "m2", {"mem1": AttendanceStatus.present, "mem2": AttendanceStatus.present}, ALEX
    )
    before = snapshot(store)
    shown = versions(store)
    change = {"mem1": None, "mem2": AttendanceStatus.absent, "ghost": AttendanceStatus.present}
    with pytest.raises(RecordRejected) as rejected:
        records.save_attendance(store, "m2", change, ALEX, expected=shown)
    assert rejected.value.problems[0].file == "member ghost"
    assert "member_id" in rejected.value.fields
    with pytest.raises(RecordRejected) as rejected:
        records.save_attendance(store, "m2", {"other": AttendanceStatus.present}, ALEX)
    assert "belongs to board 'b2'" in rejected.value.fields["member_id"]
    with pytest.raises(RecordRejected) as rejected:
        records.save_attendance(store, "m404", {"mem1": AttendanceStatus.present}, ALEX)
    assert "meeting_id" in rejected.value.fields
    assert snapshot(store) == before

    # A failure after the withdrawal has been written rolls the withdrawal back too.
    def broken(*args: Any, **kwargs: Any) -> tuple[int, int, int]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(records, "write_records", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        records.save_attendance(
            store, "m2", {"mem1": None, "mem2": AttendanceStatus.absent}, ALEX, expected=shown
        )
    assert snapshot(store) == before
    assert attendance(store) == {"mem1": ("present", False), "mem2": ("present", False)}


def test_save_attendance_refuses_to_overwrite_a_change_made_meanwhile(store: Store) -> None:
    base(store)
    records.save_attendance(store, "m2", {"mem1": AttendanceStatus.present}, ALEX)
    opened = versions(store)
    records.save_attendance(
        store, "m2", {"mem1": AttendanceStatus.apologies}, ALEX, expected=opened
    )
    with pytest.raises(ConflictError, match=r"^Alex Smith changed the attendance of this meeting"):
        records.save_attendance(
            store,
            "m2",
            {"mem1": None, "mem2": AttendanceStatus.present},
            BEA,
            expected=opened,
        )
    assert attendance(store) == {"mem1": ("apologies", False)}
    # Leaving someone else's change as it is, is not a conflict.
    same = records.save_attendance(
        store,
        "m2",
        {"mem1": AttendanceStatus.apologies, "mem2": AttendanceStatus.present},
        BEA,
        expected=opened,
    )
    assert (same.unchanged, same.created) == (["mem1"], ["mem2"])


# --- health-check responses ---------------------------------------------------------------


def answers(store: Store, response_id: str = "r1") -> dict[str, tuple[int, str | None, bool]]:
    return {
        s.record.item: (s.record.score, s.record.comment, s.withdrawn)
        for s in records.list_records(store, HealthCheck, where={"response_id": response_id})
    }


def test_save_response_records_one_respondent_in_one_go(store: Store) -> None:
    base(store)
    result = records.save_response(
        store,
        "r1",
        "b1",
        D(2024, 6, 1),
        RespondentGroup.lived_experience,
        {"trust": 2, "information_sharing": 3, "support": 4},
        {"trust": "Papers arrive late, so we can't prepare", "support": None},
        ALEX,
    )
    assert sorted(result.created) == sorted(ITEMS)
    assert answers(store) == {
        "trust": (2, "Papers arrive late, so we can't prepare", False),
        "information_sharing": (3, None, False),
        "support": (4, None, False),
    }

    with pytest.raises(ConflictError, match="response with the id 'r1' already exists"):
        records.save_response(
            store, "r1", "b1", D(2024, 6, 1), RespondentGroup.carer, {"trust": 5}, {}, BEA
        )

    shown = {s.record.item: s.updated_at for s in records.list_records(store, HealthCheck)}
    again = records.save_response(
        store,
        "r1",
        "b1",
        D(2024, 6, 1),
        RespondentGroup.lived_experience,
        {"trust": 3, "information_sharing": 3},
        {"trust": "Better since the new chair"},
        ALEX,
        expected=shown,
    )
    assert (again.updated, again.unchanged, again.withdrawn) == (
        ["trust"],
        ["information_sharing"],
        ["support"],
    )
    assert answers(store)["support"] == (4, None, True)
    assert answers(store)["trust"] == (3, "Better since the new chair", False)

    # One answer saved on its own must still agree with the rest of its response.
    stray = HealthCheck(
        response_id="r1",
        board_id="b2",
        check_date=D(2024, 6, 1),
        respondent_group="lived_experience",
        item="manageable_focus",
        score=3,
    )
    with pytest.raises(RecordRejected) as rejected:
        records.save(store, stray, ALEX)
    assert "save the whole response together" in rejected.value.fields["board_id"]


def test_save_response_is_one_transaction(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    base(store)
    before = snapshot(store)
    with pytest.raises(RecordRejected) as rejected:
        records.save_response(
            store,
            "r1",
            "b1",
            D(2024, 6, 1),
            RespondentGroup.professional,
            {"trust": 4, "information_sharing": 6, "support": 3},
            {},
            ALEX,
        )
    assert [(p.file, p.field) for p in rejected.value.problems] == [
        ("item information_sharing", "score")
    ]
    assert str(rejected.value).startswith(
        "The health-check response was not saved: item information_sharing, score: "
    )
    with pytest.raises(RecordRejected) as rejected:
        records.save_response(
            store, "r1", "b404", D(2024, 6, 1), RespondentGroup.dpo, {"trust": 4}, {}, ALEX
        )
    assert "board_id" in rejected.value.fields
    with pytest.raises(RecordRejected) as rejected:
        records.save_response(
            store, "r1", "b1", D(2024, 6, 1), RespondentGroup.dpo, {}, {"trust": "hm"}, ALEX
        )
    assert "comment" in rejected.value.fields
    assert snapshot(store) == before

    records.save_response(
        store, "r1", "b1", D(2024, 6, 1), RespondentGroup.dpo, {"trust": 4, "support": 2}, {}, ALEX
    )
    before = snapshot(store)
    shown = {s.record.item: s.updated_at for s in records.list_records(store, HealthCheck)}

    def broken(*args: Any, **kwargs: Any) -> tuple[int, int, int]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(records, "write_records", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        # Withdraws 'support' first, then fails writing 'trust': neither may stay.
        records.save_response(
            store,
            "r1",
            "b1",
            D(2024, 6, 1),
            RespondentGroup.dpo,
            {"trust": 5},
            {},
            ALEX,
            expected=shown,
        )
    assert snapshot(store) == before
    assert answers(store) == {"trust": (4, None, False), "support": (2, None, False)}


# --- listing ------------------------------------------------------------------------------


def test_list_records_filters_by_board_through_parents(store: Store) -> None:
    base(store)
    records.save_attendance(store, "m9", {"other": AttendanceStatus.present}, ALEX)
    records.save_attendance(store, "m1", {"mem1": AttendanceStatus.present}, ALEX)

    def keys(entity: Any, boards: list[str] | None) -> list[tuple[str, ...]]:
        return [s.key for s in records.list_records(store, entity, board_ids=boards)]

    assert keys(Attendance, ["b2"]) == [("m9", "other")]
    assert keys(Attendance, ["b1"]) == [("m1", "mem1")]
    assert keys(Involvement, ["b2"]) == [("i9",)]
    assert keys(Involvement, ["b1", "b2"]) == [("i1",), ("i9",)]
    assert keys(Meeting, ["b1"]) == [("m1",), ("m2",)]
    assert keys(Board, None) == [("b1",), ("b2",)]
    assert keys(Decision, []) == []
    with pytest.raises(ValueError, match="no column"):
        records.list_records(store, Decision, where={"nonsense": 1})


# --- the audit trail ----------------------------------------------------------------------


def test_audit_trail_filters(store: Store) -> None:
    base(store)
    start = dt.datetime.now()
    records.save(
        store,
        Decision(decision_id="d2", board_id="b1", title="T", identified_on=D(2024, 4, 1)),
        ALEX,
    )
    records.withdraw(store, Decision, "d2", "Duplicate", BEA)
    records.attest(store, "i1", Attestation.confirmed, None, Change("Dee Oh", "cli"))

    everything = records.audit_trail(store)
    assert [e["audit_id"] for e in everything] == sorted(
        (e["audit_id"] for e in everything), reverse=True
    )
    assert {e["action"] for e in records.audit_trail(store, since=start)} == {
        "create",
        "withdraw",
        "attest",
    }
    assert [e["action"] for e in records.audit_trail(store, entity=Decision, record_key="d2")] == [
        "withdraw",
        "create",
    ]
    assert [e["record_key"] for e in records.audit_trail(store, actor="Bea Jones")] == ["d2"]
    assert [e["entity"] for e in records.audit_trail(store, source="cli")] == ["involvement"]
    assert len(records.audit_trail(store, source="import")) == len(everything) - 3
    assert [e["action"] for e in records.audit_trail(store, action="attest")] == ["attest"]
    assert len(records.audit_trail(store, limit=2)) == 2
    assert records.audit_trail(store, until=start - dt.timedelta(days=1)) == []
    assert len(records.audit_trail(store, until=start.date())) == len(everything)
    assert records.audit_trail(store, since=start.date() + dt.timedelta(days=1)) == []
    assert len(records.audit_trail(store, entity="decision", since=start.date())) == 4


def test_audit_trail_csv_keeps_awkward_values(store: Store) -> None:
    base(store)
    awkward = 'Closure of "Elm House", then\nreview in spring'
    stored = decision(store)
    records.save(
        store,
        stored.record.model_copy(update={"summary": awkward}),
        Change("Smith, Alex", "form"),
        expected_updated_at=stored.updated_at,
    )
    records.attest(store, "i1", Attestation.confirmed, None, Change("=HYPERLINK(1)", "form"))
    rows = records.audit_trail(store, source="form")
    data = records.audit_trail_csv(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert table[0] == list(records.AUDIT_CSV_COLUMNS)
    assert len(table) == 1 + len(rows)
    update = table[2]
    assert update[2] == "Smith, Alex"
    assert update[6] == "update"
    assert awkward in update[7]
    assert json.loads(update[9])["summary"] == awkward
    assert json.loads(update[8])["summary"] is None
    assert table[1][2] == "'=HYPERLINK(1)"  # a spreadsheet shows it, never runs it


# --- many people at once ------------------------------------------------------------------


def test_sixteen_people_recording_and_reading_at_once(store: Store) -> None:
    ds = Dataset()
    ds.board("b1")
    for n in range(4):
        ds.decision(f"s{n}", identified_on=D(2024, 1, 1), decided_on=D(2024, 6, 1))
        ds.involvement(f"si{n}", decision_id=f"s{n}")
    ds.load(store)
    baseline = len(records.audit_trail(store))

    deadline = time.monotonic() + 3.0
    lock = threading.Lock()
    writes: list[tuple[str, str, str, str]] = []  # (entity, key, action, marker)
    errors: list[BaseException] = []
    conflicts = [0]
    last_own: dict[str, str] = {}

    def person(number: int) -> None:
        rng = random.Random(number)
        me = Change(actor=f"person {number}", source="form")
        mine: list[str] = []
        done: list[tuple[str, str, str, str]] = []
        n = 0
        try:
            while time.monotonic() < deadline:
                n += 1
                marker = f"p{number}-{n}"
                op = rng.choice(["create", "edit_own", "edit_shared", "attest", "read"])
                try:
                    if op == "create" or (op == "edit_own" and not mine):
                        key = f"p{number}-d{n}"
                        new = Decision(
                            decision_id=key,
                            board_id="b1",
                            title=marker,
                            identified_on=D(2024, 2, 1),
                        )
                        records.save(store, new, me)
                        mine.append(key)
                        done.append(("decision", key, "create", marker))
                    elif op == "edit_own":
                        key = rng.choice(mine)
                        own = records.get(store, Decision, key)
                        assert own is not None
                        records.save(
                            store,
                            own.record.model_copy(update={"title": marker}),
                            me,
                            expected_updated_at=own.updated_at,
                        )
                        done.append(("decision", key, "update", marker))
                    elif op == "edit_shared":
                        key = f"s{rng.randrange(4)}"
                        shared = records.get(store, Decision, key)
                        assert shared is not None
                        records.save(
                            store,
                            shared.record.model_copy(update={"summary": marker}),
                            me,
                            expected_updated_at=shared.updated_at,
                        )
                        done.append(("decision", key, "update", marker))
                    elif op == "attest":
                        key = f"si{rng.randrange(4)}"
                        inv = records.get(store, Involvement, key)
                        assert inv is not None
                        records.attest(
                            store,
                            key,
                            rng.choice([Attestation.confirmed, Attestation.disputed]),
                            marker,
                            me,
                            expected_updated_at=inv.updated_at,
                        )
                        done.append(("involvement", key, "attest", marker))
                    else:
                        check(store, AS_OF)
                        records.list_records(store, Decision, board_ids=["b1"])
                        records.get(store, Decision, "s0")
                except ConflictError:
                    with lock:
                        conflicts[0] += 1
        except BaseException as exc:  # reported by the test below
            with lock:
                errors.append(exc)
        with lock:
            writes.extend(done)
            for entity, key, _action, marker in done:
                if entity == "decision" and key.startswith("p"):
                    last_own[key] = marker

    threads = [threading.Thread(target=person, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert writes, "nobody managed to write anything"

    trail = records.audit_trail(store, newest_first=False)[baseline:]
    assert len(trail) == len(writes)
    recorded = (
        {(e["entity"], e["record_key"], e["action"], e["after"].get("title")) for e in trail}
        | {(e["entity"], e["record_key"], e["action"], e["after"].get("summary")) for e in trail}
        | {
            (e["entity"], e["record_key"], e["action"], e["after"].get("attestation_note"))
            for e in trail
        }
    )
    assert set(writes) <= recorded
    for key, marker in last_own.items():
        assert decision(store, key).record.title == marker
    for key in (f"s{n}" for n in range(4)):
        entries = [e for e in trail if e["record_key"] == key]
        if entries:
            assert decision(store, key).record.summary == entries[-1]["after"]["summary"]
