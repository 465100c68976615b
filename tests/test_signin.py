"""Who sees what, in a real browser: signing in for real through an OpenID Connect provider
(oidc-provider-mock, served in a thread), the public view, the sign-in-only page, and local
mode refusing other machines.

These tests fail (never skip) when Chromium is missing: `.ci/run` installs it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import oidc_provider_mock  # type: ignore[import-untyped]
import pytest
import werkzeug.serving
from browser_support import assert_no_exception, demo_store, free_port, load, serve, settle
from playwright.sync_api import Browser, Page

from coprod.store import Change, Store
from coprod.users import save_user, set_setting

pytestmark = pytest.mark.browser

GLENMORAY = "demo-glenmoray-ijb"
AUDITOR = "auditor@example.org"
NOBODY = "nobody@example.org"
# The provider's people: subject, email and name. Nobody has no role in any store.
PEOPLE = {
    "ayesha": {"email": AUDITOR, "name": "Ayesha Auditor"},
    "norma": {"email": NOBODY, "name": "Norma Nobody"},
}
PUBLIC_VIEW = "You see the public view"
NO_ROLE = f"You are signed in as {NOBODY}, but no role has been given to this address yet"
OVERVIEW = "Were people involved from the start?"
# Pages only some roles see in the menu.
RESTRICTED = ["Record", "Import and export", "Audit trail", "Users and settings"]


class _Quiet(werkzeug.serving.WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """An OpenID Connect provider on loopback that signs in whoever is named on its form."""
    app = oidc_provider_mock.app(
        user_claims=[oidc_provider_mock.User(sub=s, claims=c) for s, c in PEOPLE.items()]
    )
    server = werkzeug.serving.make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=_Quiet
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@dataclass(frozen=True)
class Site:
    url: str
    provider: str
    decision_id: str  # a Glenmoray decision with one involvement, not yet confirmed
    decision_title: str
    involvement_id: str


def _store(path: Path, *, public_view: bool = True) -> Site:
    """The demo data, the auditor of Glenmoray, and the decision to attest (no URL yet)."""
    demo_store(path)
    with Store(path) as store:
        change = Change("test", "cli")
        save_user(store, AUDITOR, "auditor", [GLENMORAY], change, name="Ayesha Auditor")
        if not public_view:
            set_setting(store, "public_view", "off", change)
        rows = store.query(
            "SELECT d.decision_id, d.title, min(i.involvement_id) AS involvement_id "
            "FROM decision d JOIN involvement i USING (decision_id) "
            "WHERE d.board_id = ? AND d.withdrawn_at IS NULL AND i.withdrawn_at IS NULL "
            "GROUP BY ALL HAVING count(*) = 1 AND bool_and(i.attestation = 'unconfirmed') "
            "ORDER BY d.decision_id LIMIT 1",
            [GLENMORAY],
        )
    assert rows, "the demo data has no Glenmoray decision with one unconfirmed involvement"
    return Site("", "", rows[0]["decision_id"], rows[0]["title"], rows[0]["involvement_id"])


@contextmanager
def _serve_signin(folder: Path, provider: str, *, public_view: bool = True) -> Iterator[Site]:
    """The dashboard with sign-in configured ([auth] secrets naming the provider)."""
    site = _store(folder / "demo.duckdb", public_view=public_view)
    port = free_port()
    secrets = folder / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "coprod-test-cookie-secret-0123456789abcdef"\n'
        'client_id = "coprod-test"\n'
        'client_secret = "coprod-test-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    with serve(folder / "demo.duckdb", folder / "streamlit.log", port=port, secrets=secrets) as url:
        yield replace(site, url=url, provider=provider)


@pytest.fixture(scope="module")
def site(provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Sign-in configured; visitors who are not signed in get the public view."""
    with _serve_signin(tmp_path_factory.mktemp("signin"), provider) as served:
        yield served


def _sidebar(page: Page) -> str:
    return page.locator("[data-testid='stSidebar']").inner_text()


def _menu(page: Page) -> list[str]:
    """The titles in the menu (each link also holds its icon's name on a line of its own)."""
    links = page.locator("[data-testid='stSidebarNav'] a").all_inner_texts()
    return [text.strip().splitlines()[-1].strip() for text in links]


def _sign_in(page: Page, site: Site, subject: str) -> None:
    """Sign in for real: the app sends the browser to the provider, which sends it back."""
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.provider}/oauth2/authorize**")
    page.locator("input[name='sub']").fill(subject)
    page.get_by_role("button", name="Authorize", exact=True).click()
    page.wait_for_url(f"{site.url}/")
    settle(page)
    assert_no_exception(page)


def _sign_out(page: Page, site: Site) -> None:
    page.locator("[data-testid='stSidebar']").get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{site.provider}/oauth2/end_session**")
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{site.url}/")
    settle(page)


def _assert_public_view(page: Page) -> None:
    assert PUBLIC_VIEW in _sidebar(page)
    assert page.locator("[data-testid='stSidebar']").get_by_role("button", name="Sign in").count()
    assert "Signed in as" not in _sidebar(page)
    menu = _menu(page)
    assert "Overview" in menu
    assert not set(RESTRICTED) & set(menu), menu


def test_a_visitor_who_is_not_signed_in_sees_the_public_view(site: Site, page: Page) -> None:
    load(page, site.url)
    assert_no_exception(page)
    page.get_by_role("heading", name=OVERVIEW).wait_for()
    _assert_public_view(page)

    # A page kept from the public view is refused when its URL is typed, with no form.
    load(page, f"{site.url}/record")
    assert page.get_by_role("heading", name="Not available").is_visible()
    assert page.get_by_text("Sign in to record or change records.").is_visible()
    assert page.locator("[data-testid='stForm']").count() == 0
    for path, words in [("/audit", "read the audit trail"), ("/users", "manage users")]:
        load(page, site.url + path)
        assert page.get_by_role("heading", name="Not available").is_visible(), path
        assert page.get_by_text(f"Sign in to {words}").is_visible(), path

    # The decision story shows no names or history to the public.
    load(page, f"{site.url}/decision?decision={site.decision_id}")
    page.get_by_role("heading", name=site.decision_title).wait_for()
    assert page.get_by_role("heading", name="History").count() == 0
    assert page.get_by_text(f"Confirm or dispute {site.involvement_id}").count() == 0
    assert_no_exception(page)


def test_an_auditor_signs_in_attests_involvement_and_signs_out(site: Site, page: Page) -> None:
    load(page, f"{site.url}/glossary")  # a light page: signing in returns to Overview
    _sign_in(page, site, "ayesha")
    sidebar = _sidebar(page)
    assert f"Signed in as Ayesha Auditor ({AUDITOR}) · auditor · {GLENMORAY}" in sidebar
    assert PUBLIC_VIEW not in sidebar
    menu = _menu(page)
    assert "Audit trail" in menu
    assert "Record" not in menu
    assert "Users and settings" not in menu
    assert "Import and export" not in menu

    # Only the auditor's board is offered, and no other board is named anywhere.
    page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").click()
    page.get_by_role("option").first.wait_for()
    assert page.get_by_role("option").all_inner_texts() == [
        "Glenmoray Integration Joint Board (demo)"
    ]
    page.keyboard.press("Escape")
    body = page.inner_text("body")
    assert "Firthside" not in body
    assert "Lochbrae" not in body

    # Pages of other roles are refused by URL too.
    load(page, f"{site.url}/record")
    assert page.get_by_role("heading", name="Not available").is_visible()
    assert page.get_by_text("Your role (auditor) does not let you record").is_visible()
    assert page.locator("[data-testid='stForm']").count() == 0

    # Confirm the involvement on the decision story.
    load(page, f"{site.url}/decision?decision={site.decision_id}")
    page.get_by_role("heading", name=site.decision_title).wait_for()
    page.get_by_text(f"Confirm or dispute {site.involvement_id}", exact=True).click()
    form = page.locator("[data-testid='stForm']")
    form.get_by_text("Confirm: it happened as recorded", exact=True).click()
    form.get_by_role("button", name="Save").click()
    page.get_by_text(f"Saved: {site.involvement_id} is now confirmed.").wait_for(timeout=30_000)
    settle(page)
    assert_no_exception(page)
    # The story's history names the auditor as who made the change ...
    history = page.locator("[data-testid='stTable']").last.inner_text()
    assert site.involvement_id in history
    assert AUDITOR in history
    assert "attest" in history

    # ... and so does the audit trail, read from the store's audit_log.
    load(page, f"{site.url}/audit")
    page.get_by_role("heading", name="Audit trail").wait_for()
    page.get_by_label("Record id").fill(site.involvement_id)
    page.get_by_label("Record id").press("Enter")
    settle(page)
    page.get_by_text("Simple table (for screen readers and keyboard)").click()
    settle(page)
    rows = page.locator("[data-testid='stTable'] tbody tr").all_inner_texts()
    attests = [row for row in rows if "\tattest\t" in f"\t{row}\t".replace("\n", "\t")]
    assert len(attests) == 1, rows
    assert AUDITOR in attests[0]
    assert "form" in attests[0]
    assert_no_exception(page)

    _sign_out(page, site)
    _assert_public_view(page)
    assert not [c for c in page.context.cookies() if c["name"].startswith("_streamlit_user")]


def test_an_address_with_no_role_sees_the_public_view(site: Site, page: Page) -> None:
    load(page, f"{site.url}/glossary")  # a light page: signing in returns to Overview
    _sign_in(page, site, "norma")
    assert page.get_by_text(NO_ROLE).is_visible()
    assert f"Signed in as Norma Nobody ({NOBODY}) · public" in _sidebar(page)
    menu = _menu(page)
    assert "Overview" in menu
    assert not set(RESTRICTED) & set(menu), menu
    load(page, f"{site.url}/audit")
    assert page.get_by_role("heading", name="Not available").is_visible()
    assert page.get_by_text("Your role (public) does not let you read the audit trail").count()
    load(page, f"{site.url}/decision?decision={site.decision_id}")
    page.get_by_role("heading", name=site.decision_title).wait_for()
    assert page.get_by_role("heading", name="History").count() == 0
    assert page.get_by_text(f"Confirm or dispute {site.involvement_id}").count() == 0
    assert_no_exception(page)


def test_with_the_public_view_off_a_visitor_sees_only_the_sign_in_page(
    provider: str, tmp_path: Path, page: Page
) -> None:
    with _serve_signin(tmp_path, provider, public_view=False) as closed:
        for path in ["/", f"/decision?decision={closed.decision_id}", "/record"]:
            load(page, closed.url + path)
            assert_no_exception(page)
            assert page.get_by_text("Sign in to see this partnership's records.").is_visible()
            assert page.get_by_role("button", name="Sign in").is_visible()
            assert page.locator("[data-testid='stSidebarNav']").count() == 0
            body = page.inner_text("body")
            for hidden in [OVERVIEW, PUBLIC_VIEW, "Demo data.", "Glenmoray", "Findings"]:
                assert hidden not in body, (path, hidden)
        # Signing in opens the dashboard.
        load(page, closed.url)
        _sign_in(page, closed, "ayesha")
        page.get_by_role("heading", name=OVERVIEW).wait_for()
        assert "Signed in as Ayesha Auditor" in _sidebar(page)


def test_local_mode_refuses_other_machines(browser: Browser, tmp_path: Path) -> None:
    # No [auth] secrets: local mode. A proxy's header naming another machine reaches
    # st.context.headers (read from the websocket handshake), and the request is refused.
    db = demo_store(tmp_path / "demo.duckdb")
    with serve(db, tmp_path / "streamlit.log") as url:
        for header in [
            {"X-Forwarded-For": "203.0.113.7"},
            {"X-Real-Ip": "203.0.113.7"},
            {"Forwarded": "for=203.0.113.7;proto=https"},
            {"X-Forwarded-For": "127.0.0.1, 203.0.113.7"},
        ]:
            # A deep link gets no further than the front page.
            path = "/audit" if "X-Real-Ip" in header else "/"
            context = browser.new_context(extra_http_headers=header)
            try:
                remote = context.new_page()
                load(remote, url + path)
                assert remote.get_by_role(
                    "heading", name="coprod is not available here"
                ).is_visible(), header
                body = remote.inner_text("body")
                for hidden in ["Local mode", "Demo data.", OVERVIEW, "Glenmoray", "Findings"]:
                    assert hidden not in body, (header, hidden)
                assert remote.locator("[data-testid='stSidebarNav']").count() == 0, header
                assert_no_exception(remote)
            finally:
                context.close()

        # The same server, opened from this machine: local mode, acting as admin.
        context = browser.new_context()
        try:
            local = context.new_page()
            load(local, url)
            local.get_by_role("heading", name=OVERVIEW).wait_for()
            assert local.get_by_text("Local mode.").is_visible()
            assert "Users and settings" in _menu(local)
            assert "coprod is not available here" not in local.inner_text("body")
            assert_no_exception(local)
        finally:
            context.close()
