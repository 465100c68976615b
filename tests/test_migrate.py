"""Moving a whole store between a file and a PostgreSQL server: ``coprod migrate``.

The copy holds everything (withdrawn records, audit columns, the audit trail with its ids,
people, the item bank, the settings), exports byte for byte the same as the original, and new
audit entries carry on after the copied ones. A target that holds data is refused without
--force; a copy that fails half-way leaves the target exactly as it was; every error is one
sentence without a password.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from browser_support import free_port
from builders import CHANGE, Dataset, one_sentence
from pg_support import PostgresServer

from coprod import migrate as migrate_module
from coprod import records, users
from coprod.cli import main
from coprod.healthcheck import add_item, item_bank
from coprod.interchange import export, import_source, write_records
from coprod.migrate import COPIED, MigrateError, migrate
from coprod.models import Attestation, Board, Decision
from coprod.settings import DEMO_DIR
from coprod.store import MIGRATIONS, TABLES, Store, quote

ROOT = Path(__file__).resolve().parents[1]
EVERYTHING = (*TABLES, "health_check_item", "app_user", "audit_log", "store_meta")
PASSWORD = "s3cret-Pa55"


# --- what a person would look at ------------------------------------------------------------


Dump = dict[str, list[tuple[Any, ...]]]


def dump_of(store: Store) -> Dump:
    """Every row of every table, every column, in a fixed order; data_version aside."""
    out = {}
    with store.cursor() as cur:
        for table in EVERYTHING:
            rows = cur.execute(f"SELECT * FROM {quote(table)}").fetchall()
            out[table] = sorted((r for r in rows if r[0] != "data_version"), key=repr)
    return out


def dump(location: str | Path) -> Dump:
    with Store(location, read_only=True) as store:
        return dump_of(store)


def state(location: str | Path) -> tuple[Dump, int]:
    """Everything in a store, and its data_version: what "left as it was" compares."""
    with Store(location, read_only=True) as store:
        return dump_of(store), store.data_version()


def exported(location: str | Path, folder: Path) -> dict[str, bytes]:
    with Store(location, read_only=True) as store:
        return {p.name: p.read_bytes() for p in export(store, folder, "csv")}


def data_version(location: str | Path) -> int:
    with Store(location, read_only=True) as store:
        return store.data_version()


def last_audit_id(location: str | Path) -> int:
    with Store(location, read_only=True) as store:
        return int(max(e["audit_id"] for e in store.audit_entries()))


# --- stores to copy -------------------------------------------------------------------------


def with_history(store: Store) -> None:
    """What a store in use holds beyond imported records: a withdrawn decision, a confirmed
    and a disputed involvement, people (one removed), an item of its own, a setting."""
    decision = store.query("SELECT decision_id FROM decision ORDER BY decision_id LIMIT 1")
    records.withdraw(store, Decision, decision[0]["decision_id"], "Entered twice", CHANGE)
    unconfirmed = store.query(
        "SELECT involvement_id FROM involvement WHERE attestation = 'unconfirmed' "
        "AND withdrawn_at IS NULL ORDER BY involvement_id LIMIT 2"
    )
    first, second = (r["involvement_id"] for r in unconfirmed)
    records.attest(store, first, Attestation.confirmed, None, CHANGE)
    records.attest(store, second, Attestation.disputed, "We were told, not asked", CHANGE)
    users.save_user(store, "Ann@Example.org", "admin", "*", CHANGE, name="Ann Ní Bhriain")
    users.save_user(store, "bob@example.org", "editor", "*", CHANGE)
    users.remove_user(store, "bob@example.org", "Left the council", CHANGE)
    board = store.query("SELECT board_id FROM board ORDER BY board_id LIMIT 1")[0]["board_id"]
    add_item(store, board, "easy_to_take_part", "It is easy to take part.", CHANGE)
    users.set_setting(store, "public_view", "off", CHANGE)


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with Store(path) as store:
        import_source(store, DEMO_DIR, CHANGE)
        with_history(store)
    return path


@pytest.fixture(scope="module")
def small_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("small") / "small.duckdb"
    data = Dataset()
    data.board("b1", name="Siân’s board, £ and “quotes”")
    data.member("m1", role="service_user_rep", voting=True, lived_experience=True)
    data.meeting("mt1")
    data.attend("mt1", "m1")
    data.decision("d0", title="To be withdrawn")
    data.decision("d1", summary="two\nlines", decided_on="2024-06-01", meeting_id="mt1")
    data.involvement("i1", accessible_formats=["bsl", "easy_read"], participants=9)
    data.involvement("i2", level="consult")
    data.responses([3, 4])
    with Store(path) as store:
        data.load(store)
        with_history(store)
    return path


def copy_of(template: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / template.name
    shutil.copy(template, path)
    return path


@pytest.fixture
def demo_source(demo_template: Path, tmp_path: Path) -> Path:
    return copy_of(demo_template, tmp_path / "source")


@pytest.fixture
def small_source(small_template: Path, tmp_path: Path) -> Path:
    return copy_of(small_template, tmp_path / "source")


@pytest.fixture(params=["file", "server"])
def new_target(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Make the address of a new, empty store of each kind: a file, or a server database."""

    def make() -> str:
        if request.param == "server":
            server: PostgresServer = request.getfixturevalue("postgres")
            return server.new_database()
        make.count += 1  # type: ignore[attr-defined]
        return str(tmp_path / f"target-{make.count}.duckdb")  # type: ignore[attr-defined]

    make.count = 0  # type: ignore[attr-defined]
    return make


def holding_other_data(address: str) -> str:
    """The target already in use: other boards, a decision, a longer audit trail than the
    sources of these tests."""
    data = Dataset()
    for number in range(30):
        data.board(f"other-{number}", name="Another board")
    data.decision("other-d", board_id="other-0")
    with Store(address) as store:
        data.load(store)
        data.rows["decision"][0]["title"] += " (again)"
        data.load(store)
    return address


# --- the copy -------------------------------------------------------------------------------


def test_file_to_server_to_file_is_the_same_store_in_every_table(
    demo_source: Path, postgres: PostgresServer, tmp_path: Path
) -> None:
    server = postgres.new_database(migrated=False)  # a database with nothing in it yet
    second = tmp_path / "back" / "again.duckdb"
    with Store(server) as dashboard:  # a dashboard already running on the server
        seen = dashboard.data_version()
        there = migrate(str(demo_source), server)
        # It sees the new data at once: its caches are keyed on data_version.
        assert dashboard.data_version() > seen
        assert dashboard.count("decision", include_withdrawn=True) == there.rows["decision"]
    back = migrate(server, str(second))

    original = dump(demo_source)
    assert dump(server) == original  # withdrawn rows, audit columns, audit trail, settings
    assert dump(second) == original
    files = exported(demo_source, tmp_path / "x1")
    assert len(files) == 7
    assert exported(server, tmp_path / "x2") == files
    assert exported(second, tmp_path / "x3") == files
    with (
        Store(demo_source, read_only=True) as a,
        Store(server, read_only=True) as b,
        Store(second, read_only=True) as c,
    ):
        assert a.audit_entries() == b.audit_entries() == c.audit_entries()
        everyone = users.list_users(a, include_removed=True)
        assert [u.identity for u in everyone] == ["ann@example.org", "bob@example.org"]
        assert users.list_users(b, include_removed=True) == everyone
        assert users.list_users(c, include_removed=True) == everyone
        assert not users.public_view(b)
        assert not users.public_view(c)
        board = a.query("SELECT min(board_id) AS b FROM board")[0]["b"]
        assert "easy_to_take_part" in [i.item for i in item_bank(c, board)]
        assert item_bank(b, board) == item_bank(a, board)
        disputed = c.query(
            "SELECT attestation FROM involvement WHERE attestation_note = 'We were told, not asked'"
        )
        assert disputed == [{"attestation": "disputed"}]
        for store in (a, b, c):
            assert store.count("decision", include_withdrawn=True) == (store.count("decision") + 1)

    # What was copied, as the command line reports it.
    for result in (there, back):
        assert result.rows["decision"] == 509
        assert result.withdrawn["decision"] == 1
        assert result.rows["app_user"] == 2
        assert result.withdrawn["app_user"] == 1
        assert result.rows["health_check_item"] == 1
        assert result.rows["audit_log"] == len(original["audit_log"])
        assert result.settings == {"public_view": "off"}
        assert result.replaced == 0
    assert there.target == server
    assert "decision: 509 records (1 withdrawn)" in there.lines()


def test_new_audit_entries_carry_on_after_the_copied_ones(
    small_source: Path, new_target: Callable[[], str]
) -> None:
    target = new_target()
    Store(target).close()  # an empty store, already made
    before = data_version(target)
    migrate(str(small_source), target)
    assert data_version(target) > before
    copied = last_audit_id(small_source)
    assert last_audit_id(target) == copied
    with Store(target) as store:
        with store.transaction() as cur:
            write_records(cur, "board", [Board(board_id="b9", name="New", kind="other")], CHANGE)
        newest = store.audit_entries()[-1]
    assert newest["record_key"] == "b9"
    assert newest["audit_id"] == copied + 1


# --- refusing -------------------------------------------------------------------------------


@pytest.mark.parametrize("holds", ["records", "only a user"])
def test_a_target_that_holds_data_is_refused_and_left_as_it_was(
    small_source: Path, new_target: Callable[[], str], holds: str
) -> None:
    target = new_target()
    if holds == "records":
        holding_other_data(target)
    else:
        with Store(target) as store:
            users.save_user(store, "carol@example.org", "auditor", "*", CHANGE)
    was = state(target)
    with pytest.raises(MigrateError) as caught:
        migrate(str(small_source), target)
    message = str(caught.value)
    one_sentence(message)
    assert "already holds data" in message
    assert "--force" in message
    assert "nothing was copied" in message
    assert state(target) == was


def test_force_replaces_everything_in_the_target(
    small_source: Path, new_target: Callable[[], str], tmp_path: Path
) -> None:
    target = holding_other_data(new_target())
    version = data_version(target)
    assert last_audit_id(target) > last_audit_id(small_source)  # the target had gone further
    result = migrate(str(small_source), target, force=True)
    assert result.replaced > 0
    assert dump(target) == dump(small_source)  # "other-board" and its history are gone
    assert exported(target, tmp_path / "a") == exported(small_source, tmp_path / "b")
    assert data_version(target) > version
    with Store(target) as store:
        users.save_user(store, "dan@example.org", "member", "*", CHANGE)
        newest = store.audit_entries()[-1]
    assert newest["record_key"] == "dan@example.org"
    assert newest["audit_id"] > last_audit_id(small_source)


def test_the_same_store_is_refused(small_source: Path, postgres: PostgresServer) -> None:
    spelled_otherwise = small_source.parent / ".." / small_source.parent.name / small_source.name
    was = dump(small_source)
    with pytest.raises(MigrateError) as caught:
        migrate(str(small_source), str(spelled_otherwise), force=True)
    one_sentence(str(caught.value))
    assert "are the same store" in str(caught.value)
    assert dump(small_source) == was

    address = postgres.new_database()
    with_password = address.replace("coprod@", f"coprod:{PASSWORD}@")
    with pytest.raises(MigrateError) as refused:
        migrate(address, with_password, force=True)
    one_sentence(str(refused.value))
    assert "are the same store" in str(refused.value)
    assert PASSWORD not in str(refused.value)


def test_a_source_of_an_older_schema_is_refused(tmp_path: Path) -> None:
    old = tmp_path / "old.duckdb"
    conn = duckdb.connect(str(old))
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)")
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("INSERT INTO schema_version VALUES (1)")
    conn.close()
    target = tmp_path / "new.duckdb"
    with pytest.raises(MigrateError) as caught:
        migrate(str(old), str(target))
    one_sentence(str(caught.value))
    assert "older coprod (schema 1)" in str(caught.value)
    assert not target.exists()


def test_a_missing_source_is_refused_before_the_target_is_made(tmp_path: Path) -> None:
    target = tmp_path / "new.duckdb"
    with pytest.raises(MigrateError) as caught:
        migrate(str(tmp_path / "nowhere.duckdb"), str(target))
    one_sentence(str(caught.value))
    assert "There is no store at" in str(caught.value)
    assert not target.exists()


# --- all or nothing -------------------------------------------------------------------------


def spoil_audit_trail(path: Path) -> None:
    """A source whose last table cannot be written: an audit entry without an actor."""
    conn = duckdb.connect(str(path))
    conn.execute("ALTER TABLE audit_log ALTER COLUMN actor DROP NOT NULL")
    conn.execute(
        "INSERT INTO audit_log (actor, source, entity, record_key, action) "
        "VALUES (NULL, 'cli', 'board', 'b1', 'update')"
    )
    conn.close()


def test_a_copy_that_fails_half_way_leaves_the_target_as_it_was(
    small_source: Path, new_target: Callable[[], str], tmp_path: Path
) -> None:
    spoil_audit_trail(small_source)
    target = holding_other_data(new_target())
    was = state(target)
    with pytest.raises(MigrateError) as caught:
        migrate(str(small_source), target, force=True)
    message = str(caught.value)
    one_sentence(message)
    assert message.startswith("The table audit_log could not be copied into")
    assert "nothing was changed there" in message
    # Every table before the audit trail had been replaced in the transaction: none of it stays.
    assert state(target) == was

    if not target.startswith("postgresql://"):
        fresh = tmp_path / "fresh.duckdb"
        with pytest.raises(MigrateError):
            migrate(str(small_source), str(fresh))
        assert not fresh.exists()  # no empty store is left behind


def test_a_table_that_does_not_arrive_as_sent_is_rolled_back(
    small_source: Path, new_target: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = holding_other_data(new_target())
    was = state(target)
    write = migrate_module._write

    def lossy(cur: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
        write(cur, table, rows.slice(1) if table == "involvement" else rows)

    monkeypatch.setattr(migrate_module, "_write", lossy)
    with pytest.raises(MigrateError) as caught:
        migrate(str(small_source), target, force=True)
    one_sentence(str(caught.value))
    assert "The table involvement did not arrive" in str(caught.value)
    assert "2 rows sent, 1 there" in str(caught.value)
    assert state(target) == was


def test_the_check_after_the_copy_names_the_first_table_that_differs(
    small_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = migrate_module._read

    def forgetful(cur: duckdb.DuckDBPyConnection, table: str, columns: Any) -> pa.Table:
        rows = read(cur, table, columns)
        return rows.slice(1) if table in ("involvement", "audit_log") else rows

    monkeypatch.setattr(migrate_module, "_read", forgetful)
    with pytest.raises(MigrateError) as caught:
        migrate(str(small_source), str(tmp_path / "copy.duckdb"))
    message = str(caught.value)
    one_sentence(message)
    assert "does not match" in message
    assert "the table involvement differs (its exports are not the same)" in message


def test_every_table_of_the_schema_is_copied(tmp_path: Path) -> None:
    with Store(tmp_path / "new.duckdb") as store, store.cursor() as cur:
        tables = {
            str(r[0])
            for r in cur.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary"
            ).fetchall()
        }
    assert tables == {*COPIED, "store_meta", "schema_version"}


# --- the command line -----------------------------------------------------------------------


def test_the_command_line_reports_each_table_and_the_check(
    small_source: Path, postgres: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server = postgres.new_database()
    assert main(["migrate", "--from", str(small_source), "--to", server]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Copied {small_source} into {server}:"
    assert "  decision: 2 records (1 withdrawn)" in out
    assert "  involvement: 2 records" in out
    assert "  app_user: 2 records (1 withdrawn)" in out
    assert "  health_check_item: 1 record" in out
    assert f"  audit_log: {last_audit_id(small_source)} audit-trail entries" in out
    assert "  settings: public_view off" in out
    assert out[-1].startswith("verified: the two stores export the same")

    assert main(["migrate", "--from", str(small_source), "--to", server]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    error = captured.err.strip()
    one_sentence(error)
    assert error.startswith(f"The store {server} already holds data")

    assert main(["migrate", "--from", server, "--to", str(small_source), "--force"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"Copied {server} into {small_source}, replacing the ")
    assert out[-1].startswith("verified: the two stores export the same")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coprod.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_bad_server_address_is_one_line_without_its_password(
    small_source: Path, tmp_path: Path
) -> None:
    port = free_port()
    nowhere = f"postgresql://coprod:{PASSWORD}@127.0.0.1:{port}/coprod"
    copy = str(tmp_path / "copy.duckdb")
    for args in (("--from", str(small_source), "--to", nowhere), ("--from", nowhere, "--to", copy)):
        done = run_cli("migrate", *args)
        assert done.returncode == 1
        assert done.stdout == ""
        error = done.stderr.strip()
        assert "\n" not in error
        assert "Traceback" not in error
        assert PASSWORD not in error
        assert error.startswith(f"The PostgreSQL store postgresql://coprod:***@127.0.0.1:{port}/")
        assert "could not be reached" in error
    assert not (tmp_path / "copy.duckdb").exists()


def test_the_command_needs_both_stores(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["migrate", "--from", "a.duckdb"])
    assert caught.value.code == 2
    assert "--to" in capsys.readouterr().err


def test_a_server_user_who_may_not_create_tables_gets_one_sentence(
    small_source: Path, postgres: PostgresServer
) -> None:
    role = f"reader_{os.getpid()}"
    postgres.sql("postgres", f"CREATE ROLE {role} LOGIN")
    empty = postgres.new_database(migrated=False)
    target = empty.replace("coprod@", f"{role}:{PASSWORD}@")
    with pytest.raises(MigrateError) as caught:
        migrate(str(small_source), target)
    message = str(caught.value)
    one_sentence(message)
    assert PASSWORD not in message
    assert message.startswith(f"The store {target.replace(PASSWORD, '***')} could not be opened")
    assert "permission denied" in message
