"""Who sees what, in a real browser: signing in for real through an OpenID Connect provider
(oidc-provider-mock, served in a thread), the public view, the sign-in-only page, and local
mode refusing other machines.

These tests fail (never skip) when Chromium is missing: `.ci/run` installs it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import oidc_provider_mock  # type: ignore[import-untyped]
import pytest
import werkzeug.serving
from browser_support import (
    READY,
    assert_no_exception,
    demo_store,
    free_port,
    load,
    serve,
    settle,
)
from playwright.sync_api import Browser, Page, expect

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


# Forwarding headers that name another machine. A browser sends each header once, so these
# come from the browser itself, with a repeated header's values joined by commas.
JOINED: list[dict[str, str]] = [
    {"X-Forwarded-For": "203.0.113.7"},
    {"X-Real-Ip": "203.0.113.7"},
    {"Forwarded": "for=203.0.113.7;proto=https"},
    {"X-Forwarded-For": "127.0.0.1, 203.0.113.7"},
    {"X-Real-Ip": "127.0.0.1, 203.0.113.9"},
    {"Forwarded": "for=127.0.0.1, for=203.0.113.9"},
]
# The same header twice, on lines of its own, the first naming this computer: these come
# through a proxy in front of the dashboard (see _adding_headers), as they would in use.
DOUBLED: list[list[tuple[str, str]]] = [
    [("X-Real-Ip", "127.0.0.1"), ("X-Real-Ip", "203.0.113.9")],
    [("Forwarded", "for=127.0.0.1"), ("Forwarded", "for=203.0.113.9;proto=https")],
    [("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-For", "127.0.0.1")],
    [("X-Forwarded-For", "127.0.0.1"), ("X-Real-Ip", "127.0.0.1"), ("x-real-ip", "unknown")],
]
# Through the same proxy, headers that all name this computer: still local mode.
DOUBLED_LOCAL = [
    ("X-Real-Ip", "127.0.0.1"),
    ("X-Real-Ip", "::1"),
    ("Forwarded", "for=127.0.0.1"),
    ("Forwarded", 'for="[::1]:4711"'),
]
REFUSED_HEADING = "coprod is not available here"
WAIT = 60_000  # ms: a busy machine can take this long to run a page


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def _relay(client: socket.socket, upstream_port: int, lines: list[tuple[str, str]]) -> None:
    """One browser connection: each request's header lines get ``lines`` added, up to the
    websocket handshake, after which the bytes pass as they are."""
    added = "".join(f"{name}: {value}\r\n" for name, value in lines).encode("latin-1")
    with client, socket.create_connection(("127.0.0.1", upstream_port)) as upstream:
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                upstream.sendall(head + b"\r\n" + added + b"\r\n")
                fields = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(b":") for line in head.split(b"\r\n")[1:])
                }
                if b"upgrade" in fields or b"transfer-encoding" in fields:
                    upstream.sendall(buffer)
                    _pipe(client, upstream)
                    return
                length = int(fields.get(b"content-length", b"0") or 0)
                while len(buffer) < length:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                upstream.sendall(buffer[:length])
                buffer = buffer[length:]
        except OSError:
            return


@contextmanager
def _adding_headers(url: str, lines: list[tuple[str, str]]) -> Iterator[str]:
    """A proxy on loopback in front of the dashboard at ``url`` that adds these header lines
    to every request it forwards, the websocket handshake included; yields its URL."""
    upstream_port = int(url.rsplit(":", 1)[1])
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            threading.Thread(
                target=_relay, args=(client, upstream_port, lines), daemon=True
            ).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join(5)
        listener.close()


def _ready(page: Page) -> None:
    """The script has finished its run (Streamlit marks the app so between runs)."""
    page.wait_for_selector(READY, timeout=WAIT)


def _assert_refused(page: Page, url: str, case: object) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name=REFUSED_HEADING)).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("it serves only the computer it runs on")).to_be_visible(timeout=WAIT)
    _ready(page)
    body = page.inner_text("body")
    for hidden in ["Local mode", "Demo data.", OVERVIEW, "Glenmoray", "Findings"]:
        assert hidden not in body, (case, hidden)
    assert page.locator("[data-testid='stSidebarNav']").count() == 0, case
    assert_no_exception(page)


def _assert_local(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name=OVERVIEW)).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("Local mode.")).to_be_visible(timeout=WAIT)
    expect(
        page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Users and settings")
    ).to_have_count(1, timeout=WAIT)
    _ready(page)
    assert REFUSED_HEADING not in page.inner_text("body")
    assert_no_exception(page)


def test_local_mode_refuses_other_machines(browser: Browser, tmp_path: Path) -> None:
    # No [auth] secrets: local mode. A proxy's header naming another machine reaches
    # st.context.headers (read from the websocket handshake), and the request is refused.
    db = demo_store(tmp_path / "demo.duckdb")
    with serve(db, tmp_path / "streamlit.log") as url:
        for number, header in enumerate(JOINED):
            # A deep link gets no further than the front page.
            path = "/audit" if number % 2 else "/"
            context = browser.new_context(extra_http_headers=header)
            try:
                _assert_refused(context.new_page(), url + path, header)
            finally:
                context.close()

        for lines in DOUBLED:
            with _adding_headers(url, lines) as proxied:
                context = browser.new_context()
                try:
                    _assert_refused(context.new_page(), proxied + "/record", lines)
                finally:
                    context.close()

        # Through the proxy with every address this computer's, and then straight from this
        # machine: local mode, acting as admin.
        for opened in (_adding_headers(url, DOUBLED_LOCAL), contextlib.nullcontext(url)):
            with opened as address:
                context = browser.new_context()
                try:
                    _assert_local(context.new_page(), address)
                finally:
                    context.close()
