"""Who sees and does what: every role against every page, with AppTest faking the signed-in user.

The expected matrix below is the specification (issue: sign-in, roles and privacy), written
out by hand rather than read from coprod.access, so a wrong entry there is caught here.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from builders import shown
from streamlit.testing.v1 import AppTest

from coprod import users
from coprod.demo import DEMO_AS_OF
from coprod.interchange import import_source
from coprod.rules import run_check
from coprod.settings import DEMO_DIR
from coprod.store import Change, Store

APP = str(Path(__file__).resolve().parents[1] / "app.py")
GLENMORAY = "demo-glenmoray-ijb"
FIRTHSIDE = "demo-firthside-ijb"
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-test-cookie-secret-of-enough-length",
    "client_id": "coprod-test",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
PEOPLE = {
    "member": ("member@example.org", "Morag Member", "member", GLENMORAY),
    "auditor": ("auditor@example.org", "Ayesha Auditor", "auditor", GLENMORAY),
    "editor": ("editor@example.org", "Eddie Editor", "editor", GLENMORAY),
    "admin": ("admin@example.org", "Ada Admin", "admin", "*"),
}
VISITORS: dict[str, dict[str, object]] = {
    "anonymous": {"is_logged_in": False},
    "no role": {"is_logged_in": True, "email": "stranger@example.org", "name": "Sam Stranger"},
    **{
        role: {"is_logged_in": True, "email": email, "name": name}
        for role, (email, name, _r, _b) in PEOPLE.items()
    },
}

READING = {
    "overview",
    "decisions",
    "decision",
    "representation",
    "health_check",
    "meeting",
    "reports",
    "method",
    "glossary",
    "accessibility",
}
OPENS: dict[str, set[str]] = {
    "anonymous": READING,
    "no role": READING,
    "member": READING,
    "auditor": READING | {"audit"},
    "editor": READING | {"record", "data", "audit"},
    "admin": READING | {"record", "data", "audit", "users"},
}
ALL_PAGES = sorted(READING | {"record", "data", "audit", "users"})


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("roles") / "demo.duckdb"
    with Store(path) as store:
        import_source(store, DEMO_DIR, Change("test", "import"))
        for email, name, role, boards in PEOPLE.values():
            users.save_user(store, email, role, boards, Change("test", "cli"), name=name)
    return path


@pytest.fixture
def db(demo_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    shutil.copy(demo_file, path)
    return path


def visit(db: Path, monkeypatch: pytest.MonkeyPatch, visitor: str) -> AppTest:
    monkeypatch.setenv("COPROD_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = dict(VISITORS[visitor])
    at.session_state["as_of"] = DEMO_AS_OF
    at.session_state["period"] = (dt.date(2020, 1, 1), DEMO_AS_OF)
    at.run()
    return at


def open_page(at: AppTest, name: str, **query: str) -> AppTest:
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text_of(at: AppTest) -> str:
    """Everything a person could read on the page, tables included."""
    parts: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "info",
        "warning",
        "error",
        "success",
        "text",
        "code",
        "metric",
    ):
        for element in at.get(kind):
            parts.append(str(getattr(element, "value", "")))
            parts.append(str(getattr(element, "label", "")))
    for element in [*at.get("table"), *at.get("arrow_data_frame")]:
        value = getattr(element, "value", None)
        if isinstance(value, pd.DataFrame):
            parts.append(value.to_csv())
            parts.append(" ".join(str(i) for i in value.index))
    for kind in ("selectbox", "multiselect", "radio"):
        for widget in at.get(kind):
            parts.extend(str(o) for o in getattr(widget, "options", []))
    for expander in at.get("expander"):
        parts.append(str(getattr(expander, "label", "")))
    return "\n".join(parts).replace("\\", "")


def refused(at: AppTest) -> bool:
    return [t.value for t in at.title] == ["Not available"]


@pytest.mark.parametrize("visitor", list(VISITORS))
def test_each_role_opens_exactly_its_pages(
    db: Path, monkeypatch: pytest.MonkeyPatch, visitor: str
) -> None:
    at = visit(db, monkeypatch, visitor)
    for name in ALL_PAGES:
        open_page(at, name)
        if name in OPENS[visitor]:
            assert not refused(at), f"{visitor} was refused {name}"
        else:
            assert refused(at), f"{visitor} could open {name}"
            # Nothing of the page is drawn: no forms, no tables, no uploads.
            assert not at.get("form")
            assert not at.table
            assert not at.dataframe
            assert not at.get("file_uploader")


def _names_and_comments(db: Path) -> dict[str, list[str]]:
    with Store(db) as store, store.cursor() as cur:
        names = [r[0] for r in cur.execute("SELECT name FROM member").fetchall()]
        comments = [
            r[0]
            for r in cur.execute(
                "SELECT comment FROM health_check "
                "WHERE comment IS NOT NULL AND length(comment) > 12"
            ).fetchall()
        ]
        notes = [
            r[0]
            for r in cur.execute(
                "SELECT attestation_note FROM involvement WHERE attestation_note IS NOT NULL"
            ).fetchall()
        ]
    return {"names": names, "comments": comments, "notes": notes}


def _decision_with_a_note(db: Path) -> str:
    with Store(db) as store, store.cursor() as cur:
        row = cur.execute(
            "SELECT i.decision_id FROM involvement i JOIN decision d USING (decision_id) "
            "WHERE i.attestation_note IS NOT NULL AND d.board_id = ? ORDER BY 1 LIMIT 1",
            [GLENMORAY],
        ).fetchone()
    assert row, "the demo data has a Glenmoray involvement with an attestation note"
    return str(row[0])


@pytest.mark.parametrize("visitor", ["anonymous", "no role"])
def test_the_public_view_shows_no_names_no_comments_and_no_notes(
    db: Path, monkeypatch: pytest.MonkeyPatch, visitor: str
) -> None:
    private = _names_and_comments(db)
    assert private["names"]
    assert private["comments"]
    assert private["notes"]
    at = visit(db, monkeypatch, visitor)
    for name in sorted(OPENS[visitor]):
        open_page(at, name)
        text = text_of(at)
        for kind, values in private.items():
            leaked = [v for v in values if v in text]
            assert not leaked, f"{visitor} sees {kind} on {name}: {leaked[:3]}"
    open_page(at, "decision", decision=_decision_with_a_note(db))
    text = text_of(at)
    assert "History" not in [h.value for h in at.header]
    assert not any(
        str(getattr(f, "label", "")).startswith("Confirm or dispute") for f in at.get("expander")
    )
    assert not [v for v in private["notes"] if v in text]


def test_the_public_view_shows_members_at_the_table_by_role(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = visit(db, monkeypatch, "anonymous")
    open_page(at, "meeting")
    table = next(t.value for t in at.table if "Attendance" in t.value.columns)
    assert len(table) > 0
    private = _names_and_comments(db)["names"]
    assert not set(table.index) & set(private)
    assert {r.lower() for r in table["Role"]} >= {str(i).lower() for i in table.index}


def test_a_member_sees_names_on_their_board_only(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = visit(db, monkeypatch, "member")
    assert at.sidebar.multiselect(key="boards").options == [
        "Glenmoray Integration Joint Board (demo)"
    ]
    open_page(at, "meeting")
    table = next(t.value for t in at.table if "Attendance" in t.value.columns)
    with Store(db) as store, store.cursor() as cur:
        glenmoray = {
            r[0]
            for r in cur.execute(
                "SELECT name FROM member WHERE board_id = ?", [GLENMORAY]
            ).fetchall()
        }
        found = cur.execute(
            "SELECT decision_id, title FROM decision WHERE board_id = ? LIMIT 1", [FIRTHSIDE]
        ).fetchone()
    assert found is not None
    firthside_decision = found
    assert set(table.index) <= glenmoray
    assert len(table) > 0
    # Another board's decision is nowhere: not in the register, not by its URL.
    open_page(at, "decisions")
    assert firthside_decision[0] not in text_of(at)
    open_page(at, "decision", decision=firthside_decision[0])
    assert firthside_decision[0] not in text_of(at)
    assert str(at.selectbox(key="decision").value).startswith(GLENMORAY)


def _target_involvement(db: Path, board: str) -> tuple[str, str]:
    with Store(db) as store:
        result = run_check(store, DEMO_AS_OF, boards=[board])
    target = next(
        d
        for d in result.decisions
        if d["first_involvement_id"] and d["qualifying_involvements"] >= 1
    )
    return str(target["decision_id"]), str(target["first_involvement_id"])


def test_an_auditor_attests_and_the_trail_names_them(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decision_id, involvement_id = _target_involvement(db, GLENMORAY)
    at = visit(db, monkeypatch, "auditor")
    open_page(at, "decision", decision=decision_id)
    at.radio(key=f"attestation_{involvement_id}").set_value("disputed")
    at.text_area(key=f"attestation_note_{involvement_id}").input("We were not asked.")
    next(b for b in at.button if b.label == "Save").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    with Store(db) as store, store.cursor() as cur:
        actor = cur.execute(
            "SELECT actor FROM audit_log WHERE action = 'attest' AND record_key = ?",
            [involvement_id],
        ).fetchall()
    assert actor == [("auditor@example.org",)]


@pytest.mark.parametrize("visitor", ["anonymous", "member", "editor"])
def test_only_auditors_and_admins_get_the_attestation_form(
    db: Path, monkeypatch: pytest.MonkeyPatch, visitor: str
) -> None:
    decision_id, involvement_id = _target_involvement(db, GLENMORAY)
    at = visit(db, monkeypatch, visitor)
    open_page(at, "decision", decision=decision_id)
    assert not [r for r in at.radio if r.key == f"attestation_{involvement_id}"]


@pytest.mark.parametrize(
    ("visitor", "offered"),
    [
        ("anonymous", False),
        ("member", False),
        ("editor", False),
        ("auditor", True),
        ("admin", True),
    ],
)
def test_evidence_packs_are_for_auditors_and_admins(
    db: Path, monkeypatch: pytest.MonkeyPatch, visitor: str, offered: bool
) -> None:
    at = visit(db, monkeypatch, visitor)
    open_page(at, "reports")
    labels = [b.label for b in at.button]
    assert "Prepare the report" in labels
    assert ("Prepare the evidence pack" in labels) is offered


def test_an_editor_records_for_their_board_and_the_trail_names_them(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = visit(db, monkeypatch, "editor")
    open_page(at, "record")
    prefix = "decision___new__"
    board = at.selectbox(key=f"{prefix}_board_id")
    assert list(board.options) == [GLENMORAY] or board.options == [
        "Glenmoray Integration Joint Board (demo)"
    ]
    at.text_input(key=f"{prefix}_decision_id").input("d-editor")
    at.text_input(key=f"{prefix}_title").input("Recorded by an editor")
    at.date_input(key=f"{prefix}_identified_on").set_value(dt.date(2026, 9, 1))
    next(b for b in at.button if b.label == "Save").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    with Store(db) as store, store.cursor() as cur:
        row = cur.execute(
            "SELECT actor, source FROM audit_log WHERE record_key = 'd-editor'"
        ).fetchall()
    assert row == [("editor@example.org", "form")]


def test_only_an_admin_manages_users_and_the_change_is_audited(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = visit(db, monkeypatch, "admin")
    open_page(at, "users")
    assert not refused(at)
    at.text_input(key="user_identity").input("New.Person@Example.org")
    at.text_input(key="user_name").input("New Person")
    at.selectbox(key="user_role").set_value("member")
    at.multiselect(key="user_boards").set_value([FIRTHSIDE])
    next(b for b in at.button if b.label == "Save").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("new.person@example.org is member" in shown(s.value) for s in at.success)
    with Store(db) as store:
        person = users.find(store, "new.person@example.org")
        with store.cursor() as cur:
            trail = cur.execute(
                "SELECT actor, action FROM audit_log WHERE entity = 'user' "
                "AND record_key = 'new.person@example.org'"
            ).fetchall()
    assert person is not None
    assert person.boards == frozenset({FIRTHSIDE})
    assert trail == [("admin@example.org", "create")]


def test_turning_the_public_view_off_leaves_visitors_only_the_sign_in(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(db) as store:
        users.set_setting(store, "public_view", "off", Change("admin@example.org", "cli"))
    at = visit(db, monkeypatch, "anonymous")
    assert [t.value for t in at.title] == ["coprod: co-production from the start"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric
    assert not at.table
    # Someone signed in with no role gets nothing either.
    stranger = visit(db, monkeypatch, "no role")
    assert [t.value for t in stranger.title] == ["coprod: co-production from the start"]
    assert any("no role has been given" in w.value for w in stranger.warning)
    assert not stranger.metric
    assert not stranger.table
    # A signed-in member still gets their pages.
    member = visit(db, monkeypatch, "member")
    assert member.title[0].value == "Were people involved from the start?"


def test_local_mode_acts_as_admin_and_says_so(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPROD_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)  # no [auth] secrets: local mode
    at.session_state["as_of"] = DEMO_AS_OF
    at.run()
    assert any("Local mode" in w.value for w in at.warning)
    for name in ("record", "data", "audit", "users"):
        open_page(at, name)
        assert not refused(at)


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("127.0.0.1:52100", True),
        ('for="127.0.0.1"', True),
        ("localhost", True),
        ("203.0.113.7", False),
        ("10.0.0.5:443", False),
        ('for="[2001:db8::1]"', False),
        ("unknown", False),
    ],
)
def test_what_counts_as_this_computer(
    address: str, *, local: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(Path(APP).parent))
    import ui

    assert ui._loopback(address) is local
