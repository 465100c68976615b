"""Evidence packs: one board's records, findings and audit trail for a period, in one zip."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest
from builders import Dataset, withdraw

from coprod.cli import main
from coprod.evidence import EvidenceError, evidence_pack, make_evidence_pack
from coprod.interchange import import_source
from coprod.rules import run_check
from coprod.settings import Thresholds
from coprod.store import Change, Store, current_user

D = dt.date
START, END, AS_OF = D(2024, 4, 1), D(2025, 3, 31), D(2025, 6, 30)
FOLDER = "evidence-b1-2024-04-01-2025-03-31"
CHANGE = Change(actor="test", source="import")


def scenario() -> Dataset:
    data = Dataset()
    data.board("b1", name="North IJB – Siân’s board")
    data.board("b2", name="Another board")
    # members of b1, and one of b2
    data.member("m-current", role="service_user_rep", lived_experience=True)
    data.member("m-ended", start_date=D(2020, 1, 1), end_date=D(2024, 3, 31))
    data.member("m-attended", start_date=D(2020, 1, 1), end_date=D(2023, 12, 31))
    data.member("m-future", start_date=D(2025, 4, 1))
    data.member("m-edge", start_date=D(2020, 1, 1), end_date=D(2024, 4, 1))
    data.member("m-withdrawn")
    data.member("m-b2", board_id="b2")
    # meetings
    data.meeting("mt-before", date=D(2024, 3, 20))
    data.meeting("mt-in", date=D(2024, 6, 5))
    data.meeting("mt-after", date=D(2025, 5, 1))
    data.meeting("mt-withdrawn", date=D(2024, 9, 1))
    data.meeting("mt-b2", board_id="b2", date=D(2024, 6, 5))
    data.attend("mt-in", "m-current")
    data.attend("mt-in", "m-attended")  # recorded though no longer a member: still named
    data.attend("mt-before", "m-ended")
    data.attend("mt-after", "m-future")
    data.attend("mt-b2", "m-b2")
    # decisions
    data.decision("d-pending", identified_on=D(2024, 5, 1), options_fixed_on=D(2024, 6, 1))
    data.decision(
        "d-decided-in", identified_on=D(2023, 10, 1), decided_on=D(2024, 6, 5), meeting_id="mt-in"
    )
    data.involvement("i-late", start_date=D(2024, 7, 1), level="consult")
    data.involvement("i-withdrawn", start_date=D(2023, 10, 5), level="co_produce")
    data.decision("d-decided-before", identified_on=D(2023, 1, 1), decided_on=D(2024, 3, 31))
    data.involvement("i-before", start_date=D(2023, 2, 1))
    data.decision("d-identified-after", identified_on=D(2025, 4, 2))
    data.decision("d-long-pending", identified_on=D(2023, 1, 1))
    data.decision(
        "d-decided-after",
        identified_on=D(2024, 1, 1),
        decided_on=D(2025, 5, 1),
        meeting_id="mt-after",
    )
    data.decision(
        "d-old-meeting",
        identified_on=D(2024, 1, 10),
        decided_on=D(2024, 4, 2),
        meeting_id="mt-before",
    )
    data.decision(
        "d-withdrawn-meeting",
        identified_on=D(2024, 5, 1),
        decided_on=D(2024, 9, 1),
        meeting_id="mt-withdrawn",
        affects_people_who_use_services=False,
        exemption_reason="Internal, with a comma, and “quotes”",
    )
    data.decision("d-withdrawn", identified_on=D(2024, 5, 1))
    data.decision("d-b2", board_id="b2", identified_on=D(2024, 5, 1))
    # health-checks
    data.health_check("r-in", check_date=D(2024, 5, 1), item="trust")
    data.health_check("r-in", check_date=D(2024, 5, 1), item="support", score=2)
    data.health_check("r-out", check_date=D(2024, 3, 1))
    data.health_check("r-b2", board_id="b2", check_date=D(2024, 5, 1))
    return data


@pytest.fixture
def loaded(store: Store) -> Store:
    scenario().load(store)
    withdraw(store, "member", "member_id = ?", ["m-withdrawn"])
    withdraw(store, "meeting", "meeting_id = ?", ["mt-withdrawn"])
    withdraw(store, "decision", "decision_id = ?", ["d-withdrawn"])
    withdraw(store, "involvement", "involvement_id = ?", ["i-withdrawn"])
    return store


def unpack(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rows(files: dict[str, bytes], name: str) -> list[dict[str, str]]:
    text = files[f"{FOLDER}/{name}"].decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def ids(files: dict[str, bytes], name: str, *columns: str) -> set[str]:
    return {"/".join(r[c] for c in columns) for r in rows(files, name)}


@pytest.fixture
def pack(loaded: Store) -> dict[str, bytes]:
    return unpack(evidence_pack(loaded, "b1", START, END, AS_OF))


def test_the_pack_holds_the_documented_files(pack: dict[str, bytes]) -> None:
    assert sorted(pack) == sorted(
        f"{FOLDER}/{name}"
        for name in (
            "README.txt",
            "findings.csv",
            "findings.json",
            "audit_trail.csv",
            *(
                f"records/{n}.csv"
                for n in (
                    "boards",
                    "members",
                    "meetings",
                    "attendance",
                    "decisions",
                    "involvements",
                    "health_checks",
                )
            ),
        )
    )


def test_the_records_are_the_boards_in_the_period(pack: dict[str, bytes]) -> None:
    assert ids(pack, "records/boards.csv", "board_id") == {"b1"}
    assert ids(pack, "records/members.csv", "member_id") == {
        "m-current",  # a member all through the period
        "m-edge",  # a member on its first day
        "m-attended",  # not a member by then, but recorded at mt-in
        "m-ended",  # recorded at mt-before, where d-old-meeting was decided
        "m-future",  # recorded at mt-after, where d-decided-after will be decided
    }
    assert ids(pack, "records/meetings.csv", "meeting_id") == {
        "mt-in",  # in the period
        "mt-before",  # d-old-meeting was decided there
        "mt-after",  # d-decided-after will be decided there
        "mt-withdrawn",  # withdrawn, but a decision in the pack names it
    }
    assert ids(pack, "records/attendance.csv", "meeting_id", "member_id") == {
        "mt-in/m-current",
        "mt-in/m-attended",
        "mt-before/m-ended",
        "mt-after/m-future",
    }
    # ... and so the members those rows name are in too
    assert ids(pack, "records/decisions.csv", "decision_id") == {
        "d-pending",
        "d-decided-in",
        "d-long-pending",
        "d-decided-after",
        "d-old-meeting",
        "d-withdrawn-meeting",
    }
    assert ids(pack, "records/involvements.csv", "involvement_id") == {"i-late"}
    assert ids(pack, "records/health_checks.csv", "response_id", "item") == {
        "r-in/trust",
        "r-in/support",
    }


def test_records_name_nothing_outside_the_pack(pack: dict[str, bytes]) -> None:
    members = ids(pack, "records/members.csv", "member_id")
    meetings = ids(pack, "records/meetings.csv", "meeting_id")
    assert ids(pack, "records/attendance.csv", "member_id") <= members
    assert ids(pack, "records/attendance.csv", "meeting_id") <= meetings
    assert {m for m in ids(pack, "records/decisions.csv", "meeting_id") if m} <= meetings
    decisions = ids(pack, "records/decisions.csv", "decision_id")
    assert ids(pack, "records/involvements.csv", "decision_id") <= decisions
    for name in ("members", "meetings", "decisions", "health_checks"):
        assert ids(pack, f"records/{name}.csv", "board_id") == {"b1"}


def test_the_records_import_on_their_own_into_an_empty_store(
    pack: dict[str, bytes], tmp_path: Path
) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    for name, data in pack.items():
        if "/records/" in name:
            (folder / name.rsplit("/", 1)[1]).write_bytes(data)
    with Store(tmp_path / "fresh.duckdb") as fresh:
        summary = import_source(fresh, folder, CHANGE)
        assert summary.created["decision"] == 6
        assert summary.created["member"] == 5
        # exporting them again gives the same rows the pack holds
        assert fresh.count("meeting") == 4


def test_findings_are_the_boards_as_of_the_date_within_the_period(
    loaded: Store, pack: dict[str, bytes]
) -> None:
    expected = [
        f
        for f in run_check(loaded, AS_OF, boards=["b1"]).findings
        if START <= f["period_date"] <= END
    ]
    found = rows(pack, "findings.csv")
    assert [(f["code"], f["decision_id"] or "", f["meeting_id"] or "") for f in expected] == [
        (r["code"], r["decision_id"], r["meeting_id"]) for r in found
    ]
    assert all(START.isoformat() <= r["period_date"] <= END.isoformat() for r in found)
    codes = {(r["code"], r["decision_id"]) for r in found}
    assert ("FTS-AFTER-DECISION", "d-decided-in") in codes
    assert ("FTS-NONE", "d-old-meeting") in codes
    assert ("FTS-EXEMPT", "d-withdrawn-meeting") in codes
    # pending decisions belong to the as-of date, outside the period; earlier ones are out too
    assert not {d for _c, d in codes} & {"d-pending", "d-decided-before", "d-decided-after"}
    assert {r["board_id"] for r in found} == {"b1"}

    report = json.loads(pack[f"{FOLDER}/findings.json"])
    assert report["board_id"] == "b1"
    assert report["period"] == {"from": "2024-04-01", "to": "2025-03-31"}
    assert report["as_of"] == "2025-06-30"
    assert report["thresholds"]["start_window_days"] == 30
    assert [(f["code"], f["decision_id"]) for f in report["findings"]] == [
        (r["code"], r["decision_id"] or None) for r in found
    ]
    assert {d["decision_id"] for d in report["decisions"]} == ids(
        pack, "records/decisions.csv", "decision_id"
    )
    verdict = {d["decision_id"]: d["first_involvement"] for d in report["decisions"]}
    assert verdict["d-decided-in"] == "retrofitted"
    assert verdict["d-pending"] == "pending"


def test_the_audit_trail_covers_the_records_and_withdrawn_ones_in_scope(
    loaded: Store, pack: dict[str, bytes]
) -> None:
    trail = rows(pack, "audit_trail.csv")
    keys = {(r["entity"], r["record_key"]) for r in trail}
    assert ("decision", "d-decided-in") in keys
    assert ("attendance", "mt-in/m-attended") in keys
    assert ("health_check", "r-in/support") in keys
    # withdrawn records that would otherwise be in the pack: their history is kept
    assert ("decision", "d-withdrawn") in keys
    assert ("member", "m-withdrawn") in keys
    assert ("involvement", "i-withdrawn") in keys
    # records outside the pack are not
    outside = {"d-decided-before", "d-identified-after", "d-b2", "i-before", "m-b2", "b2"}
    assert not {k for _e, k in keys} & outside
    assert not any(k.startswith(("r-out", "r-b2", "mt-b2")) for _e, k in keys)
    # every entry is whole: the same as the store's own
    by_id = {e["audit_id"]: e for e in loaded.audit_entries()}
    for row in trail:
        entry = by_id[int(row["audit_id"])]
        assert row["actor"] == entry["actor"] == "test"
        assert row["action"] == entry["action"]
        assert json.loads(row["after"]) == entry["after"]
    assert [int(r["audit_id"]) for r in trail] == sorted(int(r["audit_id"]) for r in trail)


def test_the_readme_says_what_when_who_and_the_thresholds(loaded: Store) -> None:
    made = make_evidence_pack(
        loaded, "b1", START, END, AS_OF, thresholds=Thresholds(start_window_days=14)
    )
    readme = unpack(made.data)[f"{FOLDER}/README.txt"].decode("utf-8")
    assert "North IJB – Siân’s board (b1)" in readme
    assert "1 April 2024 to 31 March 2025" in readme
    assert "2024-04-01 to 2025-03-31" in readme
    assert "30 June 2025 (2025-06-30)" in readme
    assert f"UTC by {current_user()}" in readme
    assert "start_window_days = 14" in readme
    assert "suppression_size = 5" in readme
    assert "coprod import records" in readme
    assert f"{made.findings} findings" in readme
    assert f"{made.audit_entries} entries" in readme
    report = json.loads(unpack(made.data)[f"{FOLDER}/findings.json"])
    assert report["thresholds"]["start_window_days"] == 14


def test_the_same_pack_made_twice_is_the_same_bytes(loaded: Store) -> None:
    at = dt.datetime(2025, 7, 1, 9, 30)
    one = make_evidence_pack(loaded, "b1", START, END, AS_OF, made_at=at, made_by="auditor")
    two = make_evidence_pack(loaded, "b1", START, END, AS_OF, made_at=at, made_by="auditor")
    assert one.data == two.data


def test_unknown_board_and_backwards_period_are_refused(loaded: Store) -> None:
    with pytest.raises(EvidenceError) as caught:
        evidence_pack(loaded, "b9", START, END, AS_OF)
    assert "no board with the id 'b9'" in str(caught.value)
    assert "\n" not in str(caught.value)
    with pytest.raises(EvidenceError):
        evidence_pack(loaded, "b1", END, START, AS_OF)


def test_a_board_with_nothing_in_the_period_gives_an_importable_empty_pack(
    loaded: Store, tmp_path: Path
) -> None:
    files = unpack(evidence_pack(loaded, "b2", D(2010, 1, 1), D(2010, 12, 31), AS_OF))
    folder = tmp_path / "records"
    folder.mkdir()
    for name, data in files.items():
        if "/records/" in name:
            (folder / name.rsplit("/", 1)[1]).write_bytes(data)
    with Store(tmp_path / "fresh.duckdb") as fresh:
        import_source(fresh, folder, CHANGE)
        assert fresh.count("board") == 1
        assert fresh.count("decision") == 0


def test_cli_writes_the_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cli.duckdb"
    with Store(db) as store:
        scenario().load(store)
    out = tmp_path / "packs" / "b1.zip"
    argv = ["evidence", "--db", str(db), "--board", "b1", "--from", "2024-04-01"]
    assert main([*argv, "--to", "2025-03-31", "--as-of", "2025-06-30", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert said.startswith("Wrote the evidence pack for board b1, 2024-04-01 to 2025-03-31")
    files = unpack(out.read_bytes())
    assert f"{FOLDER}/findings.json" in files
    assert not list(out.parent.glob(".*partial*"))

    assert main(["evidence", "--db", str(db), "--board", "nope", "--from", "2024-04-01",
                 "--to", "2025-03-31", "--out", str(tmp_path / "x.zip")]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no board with the id 'nope'" in err
    assert not (tmp_path / "x.zip").exists()

    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--to", "2024-01-01", "--out", str(tmp_path / "y.zip")])
    assert exit_.value.code == 2
