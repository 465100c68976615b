"""Rights are enforced where the writing happens, not only on the pages: every writer refuses a
person whose role or boards do not allow the change, and writes nothing."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from builders import D, Dataset

from coprod import records, users
from coprod.access import Access, Action, Forbidden, Role, parse_boards
from coprod.archive import export_archive
from coprod.evidence import evidence_pack
from coprod.healthcheck import add_item
from coprod.interchange import ImportRejected, import_sheets
from coprod.models import AttendanceStatus, Attestation, Decision, RespondentGroup
from coprod.store import Change, Store


def person(role: Role, *boards: str, identity: str = "someone@example.org") -> Change:
    access = Access(identity=identity, role=role, boards=frozenset(boards), signed_in=True)
    return Change(identity, "form", access)


EDITOR_B1 = person(Role.editor, "b1", identity="editor@example.org")
AUDITOR_B1 = person(Role.auditor, "b1", identity="auditor@example.org")
MEMBER_B1 = person(Role.member, "b1", identity="member@example.org")
ADMIN = Change("admin@example.org", "form", Access("admin@example.org", Role.admin))


@pytest.fixture
def two_boards(store: Store) -> Store:
    data = Dataset()
    data.board("b1")
    data.board("b2")
    data.member("mem1", board_id="b1")
    data.member("mem2", board_id="b2")
    data.meeting("m1", board_id="b1")
    data.meeting("m2", board_id="b2")
    data.decision("d1", board_id="b1")
    data.involvement("i1", decision_id="d1")
    data.decision("d2", board_id="b2")
    data.involvement("i2", decision_id="d2")
    data.load(store)
    return store


def trail_size(store: Store) -> int:
    with store.cursor() as cur:
        row = cur.execute("SELECT count(*) FROM audit_log").fetchone()
    assert row is not None
    return int(row[0])


def decision(store: Store, decision_id: str) -> Decision:
    stored = records.get(store, Decision, decision_id)
    assert stored is not None
    return stored.record


def test_an_editor_records_for_their_board(two_boards: Store) -> None:
    changed = decision(two_boards, "d1").model_copy(update={"title": "Renamed"})
    result = records.save(two_boards, changed, EDITOR_B1, allow_overwrite=True)
    assert result.action == "updated"
    assert result.stored.updated_by == "editor@example.org"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (EDITOR_B1, "board 'b2'"),  # not their board
        (MEMBER_B1, "role than member"),  # a member reads, never writes
        (AUDITOR_B1, "role than auditor"),
    ],
)
def test_a_record_outside_someones_rights_is_refused_and_nothing_written(
    two_boards: Store, change: Change, words: str
) -> None:
    before = trail_size(two_boards)
    changed = decision(two_boards, "d2").model_copy(update={"title": "Not yours"})
    with pytest.raises(Forbidden, match=words):
        records.save(two_boards, changed, change, allow_overwrite=True)
    assert decision(two_boards, "d2").title == "Decision d2"
    assert trail_size(two_boards) == before


def test_a_record_cannot_be_moved_out_of_or_into_a_board_out_of_reach(two_boards: Store) -> None:
    moved_away = decision(two_boards, "d1").model_copy(
        update={"board_id": "b2", "meeting_id": None}
    )
    with pytest.raises(Forbidden, match="'b2'"):
        records.save(two_boards, moved_away, EDITOR_B1, allow_overwrite=True)
    taken = decision(two_boards, "d2").model_copy(update={"board_id": "b1", "meeting_id": None})
    with pytest.raises(Forbidden, match="'b2'"):
        records.save(two_boards, taken, EDITOR_B1, allow_overwrite=True)
    assert decision(two_boards, "d2").board_id == "b2"


def test_withdraw_restore_attendance_and_responses_check_the_board(two_boards: Store) -> None:
    before = trail_size(two_boards)
    with pytest.raises(Forbidden):
        records.withdraw(two_boards, Decision, "d2", "wrong board", EDITOR_B1)
    with pytest.raises(Forbidden):
        records.save_attendance(two_boards, "m2", {"mem2": AttendanceStatus.present}, EDITOR_B1)
    with pytest.raises(Forbidden):
        records.save_response(
            two_boards, "r9", "b2", D(2024, 6, 1), RespondentGroup.professional,
            {"trust": 4}, {}, EDITOR_B1,
        )  # fmt: skip
    with pytest.raises(Forbidden):
        add_item(two_boards, "b2", "listening", "We are listened to.", EDITOR_B1)
    with pytest.raises(Forbidden, match="every board"):
        add_item(two_boards, None, "listening", "We are listened to.", EDITOR_B1)
    assert trail_size(two_boards) == before
    # Their own board: allowed.
    records.save_attendance(two_boards, "m1", {"mem1": AttendanceStatus.present}, EDITOR_B1)
    records.withdraw(two_boards, Decision, "d1", "recorded twice", EDITOR_B1)
    records.restore(two_boards, Decision, "d1", EDITOR_B1)


def test_only_auditors_and_admins_attest_and_only_on_their_boards(two_boards: Store) -> None:
    with pytest.raises(Forbidden, match="role than editor"):
        records.attest(two_boards, "i1", Attestation.confirmed, None, EDITOR_B1)
    with pytest.raises(Forbidden, match="'b2'"):
        records.attest(two_boards, "i2", Attestation.confirmed, None, AUDITOR_B1)
    done = records.attest(two_boards, "i1", Attestation.confirmed, None, AUDITOR_B1)
    assert done.stored.updated_by == "auditor@example.org"


def test_an_import_for_another_board_names_each_row_and_writes_nothing(store: Store) -> None:
    first = Dataset()
    first.board("b1")
    first.board("b2")
    first.load(store)
    before = trail_size(store)
    data = Dataset()
    data.board("b1")
    data.board("b2")
    data.decision("d1", board_id="b1")
    data.decision("d2", board_id="b2")
    data.involvement("i2", decision_id="d2")
    with pytest.raises(ImportRejected) as rejected:
        import_sheets(store, data.sheets(), EDITOR_B1)
    problems = {(p.file, p.row, p.field) for p in rejected.value.problems}
    assert problems == {
        ("boards.csv", 3, "board_id"),
        ("decisions.csv", 3, "board_id"),
        ("involvements.csv", 2, "decision_id"),
    }
    assert all("you may import only for b1" in p.reason for p in rejected.value.problems)
    assert trail_size(store) == before


def test_an_import_for_their_own_board_goes_through_and_names_them(store: Store) -> None:
    first = Dataset()
    first.board("b1")
    first.load(store)
    data = Dataset()
    data.board("b1")
    data.decision("d1", board_id="b1")
    summary = import_sheets(
        store, data.sheets(), Change("editor@example.org", "import", EDITOR_B1.access)
    )
    assert summary.created["decision"] == 1
    with store.cursor() as cur:
        actors = cur.execute(
            "SELECT DISTINCT actor FROM audit_log WHERE entity = 'decision'"
        ).fetchall()
    assert actors == [("editor@example.org",)]


def test_a_member_cannot_import_at_all(store: Store) -> None:
    data = Dataset()
    data.board("b1")
    with pytest.raises(ImportRejected) as rejected:
        import_sheets(store, data.sheets(), MEMBER_B1)
    assert [p.reason for p in rejected.value.problems] == [
        "member@example.org may not import records"
    ]


def test_evidence_packs_and_exports_check_the_reader(two_boards: Store) -> None:
    start, end = dt.date(2020, 1, 1), dt.date(2026, 1, 1)
    with pytest.raises(Forbidden):
        evidence_pack(two_boards, "b1", start, end, access=MEMBER_B1.access)
    with pytest.raises(Forbidden, match="'b2'"):
        evidence_pack(two_boards, "b2", start, end, access=AUDITOR_B1.access)
    assert evidence_pack(two_boards, "b1", start, end, access=AUDITOR_B1.access)[:2] == b"PK"
    with pytest.raises(Forbidden, match="every board"):
        export_archive(two_boards, "csv", access=EDITOR_B1.access)
    name, _data = export_archive(two_boards, "csv", access=ADMIN.access)
    assert name == "coprod-csv.zip"


def test_the_audit_trail_can_be_kept_to_some_boards(two_boards: Store) -> None:
    records.save_attendance(two_boards, "m1", {"mem1": AttendanceStatus.present}, EDITOR_B1)
    mine = records.audit_trail(two_boards, boards=["b1"])
    keys = {(e["entity"], e["record_key"]) for e in mine}
    assert ("decision", "d1") in keys
    assert ("involvement", "i1") in keys
    assert ("attendance", "m1/mem1") in keys
    assert not {k for k in keys if k[1] in ("b2", "d2", "i2", "m2", "mem2")}
    everything = {(e["entity"], e["record_key"]) for e in records.audit_trail(two_boards)}
    assert ("decision", "d2") in everything


# --- users and settings -------------------------------------------------------------------


def test_an_admin_gives_and_takes_roles_and_every_change_is_audited(two_boards: Store) -> None:
    action, saved = users.save_user(
        two_boards, " Alex@Example.ORG ", "auditor", "b1, b2", ADMIN, name="Alex"
    )
    assert action == "created"
    assert saved.identity == "alex@example.org"
    assert saved.access().may_all(Action.attest, ["b1", "b2"])
    users.save_user(two_boards, "alex@example.org", "member", "b1", ADMIN)
    found = users.find(two_boards, "ALEX@example.org")
    assert found is not None
    assert (found.role, found.boards) == (Role.member, frozenset({"b1"}))
    users.remove_user(two_boards, "alex@example.org", "left the DPO", ADMIN)
    assert users.find(two_boards, "alex@example.org") is None
    trail = records.audit_trail(two_boards, entity="user", newest_first=False)
    assert [(e["action"], e["actor"]) for e in trail] == [
        ("create", "admin@example.org"),
        ("update", "admin@example.org"),
        ("withdraw", "admin@example.org"),
    ]


@pytest.mark.parametrize("change", [EDITOR_B1, AUDITOR_B1, MEMBER_B1])
def test_only_an_admin_manages_users_and_settings(two_boards: Store, change: Change) -> None:
    with pytest.raises(Forbidden, match="manage users"):
        users.save_user(two_boards, "x@example.org", "admin", "*", change)
    with pytest.raises(Forbidden, match="manage users"):
        users.set_setting(two_boards, "public_view", "off", change)
    assert users.list_users(two_boards) == []
    assert users.public_view(two_boards)


def test_user_mistakes_are_explained(two_boards: Store) -> None:
    with pytest.raises(users.UserError, match="not an email address"):
        users.save_user(two_boards, "alex", "member", "b1", ADMIN)
    with pytest.raises(users.UserError, match="not a role"):
        users.save_user(two_boards, "a@example.org", "boss", "b1", ADMIN)
    with pytest.raises(users.UserError, match="everyone without a role"):
        users.save_user(two_boards, "a@example.org", "public", "b1", ADMIN)
    with pytest.raises(users.UserError, match="no board with the id 'b9'"):
        users.save_user(two_boards, "a@example.org", "member", "b1;b9", ADMIN)
    users.save_user(two_boards, "only@example.org", "admin", None, ADMIN)
    with pytest.raises(users.UserError, match="only admin"):
        users.save_user(two_boards, "only@example.org", "member", "b1", ADMIN)
    with pytest.raises(users.UserError, match="only admin"):
        users.remove_user(two_boards, "only@example.org", "leaving", ADMIN)
    with pytest.raises(users.UserError, match="one of on, off"):
        users.set_setting(two_boards, "public_view", "maybe", ADMIN)


def test_board_lists_read_as_typed() -> None:
    assert parse_boards("*") is None
    assert parse_boards("b1; b2,b3") == frozenset({"b1", "b2", "b3"})
    assert parse_boards("") == frozenset()  # nothing is no board, never every board
    nobody = Access("x@example.org", Role.member, frozenset())
    assert not nobody.may(Action.read_records, "b1")


def test_the_command_line_says_it_is_the_administrators_tool(tmp_path: object) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "coprod.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "administrator's tool" in " ".join(shown.split())


def test_the_command_line_manages_users(tmp_path: object) -> None:
    from pathlib import Path

    db = Path(str(tmp_path)) / "s.duckdb"
    data = Dataset()
    data.board("b1")
    with Store(db) as store:
        data.load(store)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "coprod.cli", "users", *args, "--db", str(db)],
            capture_output=True,
            text=True,
        )

    added = run("add", "Kim@Example.org", "--role", "editor", "--boards", "b1", "--name", "Kim")
    assert added.returncode == 0, added.stderr
    assert "kim@example.org is editor for b1" in added.stdout
    listed = run("list")
    assert "kim@example.org\teditor\tb1\tKim" in listed.stdout
    bad = run("add", "lee@example.org", "--role", "member", "--boards", "nope")
    assert bad.returncode == 1
    assert "no board with the id 'nope'" in bad.stderr
    assert run("public-view", "off").returncode == 0
    assert "public view: no" in run("list").stdout
    removed = run("remove", "kim@example.org", "--reason", "moved on")
    assert removed.returncode == 0
    assert "Nobody has been given a role yet" in run("list").stdout


def test_no_secrets_file_is_committed_and_git_ignores_one() -> None:
    from coprod.settings import PROJECT_ROOT

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True)

    tracked = git("ls-files").stdout.split()
    assert tracked, "the project is a git checkout"
    assert not [f for f in tracked if f.endswith("secrets.toml")]
    assert git("check-ignore", "-q", ".streamlit/secrets.toml").returncode == 0


# --- upload limits ------------------------------------------------------------------------


def test_uploads_are_limited_in_number_size_and_unpacked_size() -> None:
    import io
    import zipfile

    from coprod.archive import MAX_FILES, MAX_UPLOAD_BYTES, read_uploads
    from coprod.interchange import MAX_WORKBOOK_UNPACKED

    many = [(f"boards{i}.csv", b"board_id,name,kind\n") for i in range(MAX_FILES + 1)]
    with pytest.raises(ImportRejected) as rejected:
        read_uploads(many)
    assert rejected.value.problems[0].reason == f"upload at most {MAX_FILES} files at once"

    with pytest.raises(ImportRejected) as rejected:
        read_uploads([("boards.csv", b"x" * (MAX_UPLOAD_BYTES + 1))])
    assert [(p.file, p.reason) for p in rejected.value.problems] == [
        ("boards.csv", "larger than 50 MB")
    ]

    # A small file that would unpack to more than the limit (a "zip bomb") is never opened.
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (MAX_WORKBOOK_UNPACKED + 1))
    assert len(packed.getvalue()) < MAX_UPLOAD_BYTES
    with pytest.raises(ImportRejected) as rejected:
        read_uploads([("bomb.xlsx", packed.getvalue())])
    problem = rejected.value.problems[0]
    assert problem.file == "bomb.xlsx"
    assert "would unpack to 200 MB" in problem.reason


def test_the_import_page_takes_only_csv_and_xlsx_up_to_50_mb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from coprod.settings import PROJECT_ROOT

    db = tmp_path / "s.duckdb"
    data = Dataset()
    data.board("b1")
    with Store(db) as opened:
        data.load(opened)
    monkeypatch.setenv("COPROD_DB", str(db))
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/data.py").run()
    uploader = at.get("file_uploader")[0]
    assert list(uploader.proto.type) == [".csv", ".xlsx"]
    assert uploader.proto.max_upload_size_mb == 50
