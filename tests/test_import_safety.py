"""An import never alters what it was not asked to change: columns a file leaves out keep their
stored values, an attestation changes only with the attest right, a record cannot move to
another board away from what depends on it, and text is stored exactly as typed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from builders import CHANGE

from coprod import records
from coprod.access import Access, Role
from coprod.interchange import ExportRefused, ImportRejected, export, import_source, read_source
from coprod.models import Attestation, Decision, Involvement, Meeting
from coprod.records import RecordRejected
from coprod.store import Change, Store

BASE = Path(__file__).resolve().parent / "malformed" / "_base"


def person(role: Role, *boards: str) -> Change:
    identity = f"{role.value}@example.org"
    return Change(identity, "import", Access(identity, role, frozenset(boards), signed_in=True))


EDITOR = person(Role.editor, "b1", "b2")
AUDITOR = person(Role.auditor, "b1", "b2")


@pytest.fixture
def base(store: Store) -> Store:
    import_source(store, BASE, CHANGE)
    return store


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def involvement(store: Store, involvement_id: str = "i1") -> Involvement:
    stored = records.get(store, Involvement, involvement_id)
    assert stored is not None
    assert isinstance(stored.record, Involvement)
    return stored.record


def test_an_editor_cannot_confirm_a_disputed_involvement_by_import(
    base: Store, tmp_path: Path
) -> None:
    records.attest(base, "i1", Attestation.disputed, "We were never asked", AUDITOR)
    folder = write(
        tmp_path / "in",
        "involvements.csv",
        "involvement_id,decision_id,start_date,group,level,attestation\n"
        "i1,d1,2024-01-10,people_who_use_services,co_design,confirmed\n",
    )
    with pytest.raises(ImportRejected) as caught:
        import_source(base, folder, EDITOR)
    [problem] = caught.value.problems
    assert (problem.file, problem.row, problem.field) == ("involvements.csv", 2, "attestation")
    assert "only an auditor or an admin may confirm or dispute" in problem.reason
    assert "from disputed to confirmed" in problem.reason
    kept = involvement(base)
    assert kept.attestation == Attestation.disputed
    assert kept.attestation_note == "We were never asked"


def test_an_editor_cannot_create_a_confirmed_involvement_or_change_a_note(
    base: Store, tmp_path: Path
) -> None:
    folder = write(
        tmp_path / "new",
        "involvements.csv",
        "involvement_id,decision_id,start_date,group,level,attestation\n"
        "i9,d1,2024-01-10,carers,consult,confirmed\n",
    )
    with pytest.raises(ImportRejected) as caught:
        import_source(base, folder, EDITOR)
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "attestation")]
    assert records.get(base, Involvement, "i9") is None

    note = write(
        tmp_path / "note",
        "involvements.csv",
        "involvement_id,decision_id,start_date,group,level,attestation,attestation_note\n"
        "i1,d1,2024-01-10,people_who_use_services,co_design,confirmed,Checked by nobody\n",
    )
    with pytest.raises(ImportRejected) as caught:
        import_source(base, note, EDITOR)
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "attestation_note")]
    assert involvement(base).attestation_note is None


def test_an_editor_may_import_the_stores_own_export_and_an_admin_may_attest_by_import(
    base: Store, tmp_path: Path
) -> None:
    records.attest(base, "i1", Attestation.disputed, "Not as recorded", AUDITOR)
    export(base, tmp_path / "out")
    summary = import_source(base, tmp_path / "out", EDITOR)
    assert summary.updated == dict.fromkeys(summary.updated, 0)

    folder = write(
        tmp_path / "admin",
        "involvements.csv",
        "involvement_id,decision_id,start_date,group,level,attestation,attestation_note\n"
        "i1,d1,2024-01-10,people_who_use_services,co_design,confirmed,Settled at the forum\n",
    )
    import_source(base, folder, CHANGE)  # the command line's administrator
    assert involvement(base).attestation == Attestation.confirmed
    assert involvement(base).attestation_note == "Settled at the forum"


def test_columns_a_file_leaves_out_keep_their_stored_values(base: Store, tmp_path: Path) -> None:
    records.attest(base, "i1", Attestation.disputed, "Only two of us were asked", AUDITOR)
    before = tmp_path / "before"
    export(base, before)
    folder = tmp_path / "partial"
    write(folder, "boards.csv", "board_id,name,kind\nb1,North IJB,integration_joint_board\n")
    write(folder, "meetings.csv", "meeting_id,board_id,date\nmt1,b1,2024-06-04\n")
    write(
        folder,
        "members.csv",
        "member_id,board_id,name,role,voting,start_date\n"
        "m-chair,b1,Ann Chair,chair,true,2022-01-01\n",
    )
    write(
        folder,
        "decisions.csv",
        "decision_id,board_id,title,identified_on\nd1,b1,Day services review,2024-01-01\n",
    )
    write(
        folder,
        "involvements.csv",
        "involvement_id,decision_id,start_date,group,level\n"
        "i1,d1,2024-01-10,people_who_use_services,co_design\n",
    )
    write(
        folder,
        "health_checks.csv",
        "response_id,board_id,check_date,respondent_group,item,score\n"
        "r2,b1,2024-05-01,carer,trust,2\n",
    )
    summary = import_source(base, folder, EDITOR)
    assert sum(summary.updated.values()) == 0
    after = tmp_path / "after"
    export(base, after)
    for path in sorted(before.iterdir()):
        assert (after / path.name).read_bytes() == path.read_bytes(), path.name
    kept = involvement(base)
    assert (kept.attestation, kept.attestation_note) == (
        Attestation.disputed,
        "Only two of us were asked",
    )
    assert kept.organisation == "North DPO"
    assert kept.accessible_formats
    assert kept.participants == 12


def test_a_partial_file_changes_only_the_columns_it_holds(base: Store, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "in",
        "decisions.csv",
        "decision_id,board_id,title,identified_on\nd1,b1,Day services: the review,2024-01-01\n",
    )
    summary = import_source(base, folder, EDITOR)
    assert summary.updated == {"decision": 1}
    stored = records.get(base, Decision, "d1")
    assert stored is not None
    assert isinstance(stored.record, Decision)
    assert stored.record.title == "Day services: the review"
    assert stored.record.summary == 'Review of day services, including "transport"'
    assert stored.record.decided_on == dt.date(2024, 6, 4)
    assert stored.record.meeting_id == "mt1"
    [entry] = [
        e
        for e in base.audit_entries("decision", "d1")
        if e["action"] == "update" and e["actor"] == EDITOR.actor
    ]
    assert entry["before"]["summary"] == entry["after"]["summary"]


def test_a_new_record_from_a_partial_file_gets_the_defaults(base: Store, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "in",
        "involvements.csv",
        "involvement_id,decision_id,start_date,group,level\ni9,d1,2024-02-01,carers,consult\n",
    )
    import_source(base, folder, EDITOR)
    made = involvement(base, "i9")
    assert made.attestation == Attestation.unconfirmed
    assert made.accessible_formats == []
    assert made.organisation is None


def test_a_partial_row_is_checked_with_the_values_it_keeps(base: Store, tmp_path: Path) -> None:
    # d1's stored options were fixed on 2024-03-05: moving identified_on past it is inconsistent
    # even though the file has no options_fixed_on column.
    folder = write(
        tmp_path / "in",
        "decisions.csv",
        "decision_id,board_id,title,identified_on\nd1,b1,Day services review,2024-04-01\n",
    )
    with pytest.raises(ImportRejected) as caught:
        import_source(base, folder, EDITOR)
    [problem] = caught.value.problems
    assert (problem.row, problem.field) == (2, "options_fixed_on")
    assert "options_fixed_on is before identified_on" in problem.reason


def test_a_meeting_moved_with_its_decision_in_the_same_import_is_allowed(
    base: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    write(folder, "meetings.csv", "meeting_id,board_id,date\nmt1,b2,2024-06-04\n")
    write(
        folder,
        "decisions.csv",
        "decision_id,board_id,title,identified_on\nd1,b2,Day services review,2024-01-01\n",
    )
    write(
        folder,
        "attendance.csv",
        "meeting_id,member_id,status\nmt1,m-chair,present\nmt1,m-user,remote\n",
    )
    write(
        folder,
        "members.csv",
        "member_id,board_id,name,role,voting,start_date\n"
        "m-chair,b2,Ann Chair,chair,true,2022-01-01\n"
        "m-user,b2,Siân User,service_user_rep,false,2022-01-01\n",
    )
    import_source(base, folder, CHANGE)
    moved = records.get(base, Meeting, "mt1")
    assert moved is not None
    assert isinstance(moved.record, Meeting)
    assert moved.record.board_id == "b2"
    export(base, tmp_path / "out")
    import_source(base, tmp_path / "out", CHANGE)  # the store's own export still imports


def test_a_form_cannot_move_a_meeting_away_from_its_decision(base: Store) -> None:
    stored = records.get(base, Meeting, "mt1")
    assert stored is not None
    assert isinstance(stored.record, Meeting)
    moved = stored.record.model_copy(update={"board_id": "b2"})
    with pytest.raises(RecordRejected) as caught:
        records.save(base, moved, CHANGE, expected_updated_at=stored.updated_at)
    assert "board_id" in caught.value.fields
    assert "decision 'd1'" in caught.value.fields["board_id"]
    again = records.get(base, Meeting, "mt1")
    assert again is not None
    assert isinstance(again.record, Meeting)
    assert again.record.board_id == "b1"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("summary", "x" * 200_000, "200,000 characters long"),
        ("title", "before\x00after", "control character (U+0000)"),
        ("review_due_on", dt.date(9999, 12, 31), "outside the dates coprod keeps"),
        ("identified_on", dt.date(1, 1, 1), "outside the dates coprod keeps"),
    ],
)
def test_a_form_refuses_what_an_import_refuses(
    base: Store, field: str, value: object, reason: str
) -> None:
    values = {"decision_id": "d9", "board_id": "b1", "title": "New", "identified_on": "2024-01-01"}
    with pytest.raises(RecordRejected) as caught:
        records.parse(Decision, values | {field: value})
    assert reason in caught.value.fields[field]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_text_is_stored_exactly_as_typed_and_round_trips(
    base: Store, tmp_path: Path, fmt: str
) -> None:
    typed = {
        "b3": "'quoted from a spreadsheet",
        "b4": "Board _x0041_x0042_ end",
        "b5": "it's 'quoted' inside",
        "b6": "x" * 32_767,
    }
    rows = "".join(f'{k},"{v}",other\n' for k, v in typed.items())
    folder = write(tmp_path / "in", "boards.csv", "board_id,name,kind\n" + rows)
    import_source(base, folder, CHANGE)
    names = {r["board_id"]: r["name"] for r in base.query("SELECT board_id, name FROM board")}
    for key, text in typed.items():
        assert names[key] == text
    export(base, tmp_path / "out", fmt)
    source = tmp_path / "out" / "coprod.xlsx" if fmt == "xlsx" else tmp_path / "out"
    sheets = {s.entity.table: s for s in read_source(source)}
    read_back = {values["board_id"]: values["name"] for _row, values in sheets["board"].rows}
    assert {k: read_back[k] for k in typed} == typed
    summary = import_source(base, source, CHANGE)
    assert sum(summary.updated.values()) == 0


def test_a_text_that_would_not_fit_a_workbook_cell_is_refused() -> None:
    fits = "x" * 32_000 + "\r\n" + "y" * 760  # 32,762 characters; 32,768 in a cell
    with pytest.raises(RecordRejected) as caught:
        records.parse(
            Decision,
            {
                "decision_id": "d9",
                "board_id": "b1",
                "title": "T",
                "identified_on": "2024-01-01",
                "summary": fits,
            },
        )
    assert "too long for one spreadsheet cell" in caught.value.fields["summary"]


def test_an_over_long_stored_text_stops_a_workbook_export_rather_than_being_cut(
    base: Store, tmp_path: Path
) -> None:
    with base.transaction() as cur:  # as a store written before the limit might hold it
        cur.execute("UPDATE decision SET summary = repeat('y', 40000) WHERE decision_id = 'd1'")
    with pytest.raises(ExportRefused) as caught:
        export(base, tmp_path / "out", "xlsx")
    assert "too long for one spreadsheet cell" in str(caught.value)
    assert not (tmp_path / "out" / "coprod.xlsx").exists()


def test_workbook_cells_of_the_wrong_kind_are_named_or_kept_as_shown(
    base: Store, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "decisions"
    sheet.append(["decision_id", "board_id", "title", "identified_on", "summary"])
    sheet.append(["d8", "b1", "Yes or no", dt.datetime(2024, 1, 1), True])
    sheet.append(["d9", "b1", dt.datetime(2024, 5, 1), dt.datetime(2024, 1, 1), None])
    path = tmp_path / "kinds.xlsx"
    book.save(path)
    with pytest.raises(ImportRejected) as caught:
        import_source(base, path, CHANGE)
    [problem] = caught.value.problems
    assert (problem.row, problem.field) == (3, "title")
    assert "the cell holds a date or time: format the column as Text" in problem.reason
    sheet.delete_rows(3)
    book.save(path)
    import_source(base, path, CHANGE)
    stored = records.get(base, Decision, "d8")
    assert stored is not None
    assert isinstance(stored.record, Decision)
    assert stored.record.summary == "TRUE"  # what the spreadsheet showed
