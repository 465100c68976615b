"""The dashboard's one Streamlit helper module: the store, cached results, the shared frame
(board and period pickers) and the chart helper. Everything else lives in ``coprod``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FunctionType
from typing import Protocol, TypeVar, cast, runtime_checkable

import pandas as pd
import streamlit as st

from coprod import users
from coprod.access import ACTION_WORDS, PUBLIC, Access, Action, Role
from coprod.charts import Chart
from coprod.models import EARLIEST_DATE, LATEST_DATE
from coprod.rules import CheckResult, run_check
from coprod.settings import DEMO_DIR, store_location
from coprod.store import Change, Store, StoreError, current_user
from coprod.views import (
    Period,
    boards,
    decisions_frame,
    findings_frame,
    in_period,
    plain,
    plain_table,
)

T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def _open_store(location: str) -> Store:
    # One connection per process; every query takes its own cursor (see coprod.store).
    return Store(location)


def store() -> Store:
    """The process-wide store, or a plain-English stop if it cannot be opened."""
    try:
        return _open_store(store_location())
    except StoreError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        st.stop()
        raise  # pragma: no cover - st.stop() does not return


@st.cache_resource(show_spinner="Checking the decisions…", max_entries=32)
def _check(address: str, version: int, as_of: dt.date, boards: tuple[str, ...]) -> Checked:
    # Keyed on the store's data version: any write makes the next rerun recompute, and widget
    # interactions reuse the result and its tables.
    result = run_check(_open_store(address), as_of, boards=list(boards) or None)
    return Checked(result, decisions_frame(result), findings_frame(result))


def _memo_key(value: object) -> object:
    """What identifies an argument of a memoised function: a check result (or its tables) by
    what it checked, a function by its name."""
    if isinstance(value, Store):
        return ("store", value.location)
    if isinstance(value, Checked):
        value = value.result
    if isinstance(value, CheckResult):
        return ("check", value.as_of, value.thresholds, value.boards)
    if isinstance(value, list | tuple):
        return tuple(_memo_key(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _memo_key(v)) for k, v in value.items()))
    if isinstance(value, FunctionType):
        return ("function", value.__module__, value.__qualname__)
    return value


@st.cache_data(show_spinner=False, max_entries=256)
def _memo(
    key: tuple[object, ...],
    _fn: Callable[..., object],
    _args: tuple[object, ...],
    _kwargs: dict[str, object],
) -> object:
    return _fn(*_args, **_kwargs)


@st.cache_resource(show_spinner=False, max_entries=128)
def _shared(
    key: tuple[object, ...],
    _fn: Callable[..., object],
    _args: tuple[object, ...],
    _kwargs: dict[str, object],
) -> object:
    return _fn(*_args, **_kwargs)


def _key(
    fn: Callable[..., object], args: tuple[object, ...], kwargs: dict[str, object]
) -> tuple[object, ...]:
    db = store()
    return (
        fn.__module__,
        fn.__qualname__,
        db.location,
        db.data_version(),
        _memo_key(args),
        tuple(sorted((k, _memo_key(v)) for k, v in kwargs.items())),
    )


def memo(fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """``fn(*args, **kwargs)``, computed once per data version and shared by every session.

    For the pages' heavier queries: any write bumps the store's data version, so the next
    rerun computes afresh; widget interactions reuse the result (a copy, so a page may change
    what it gets). Arguments must be what identifies the result: plain values, the store, a
    check result (or a frame's ``checked``) or a function of a ``coprod`` module."""
    return cast(T, _memo(_key(fn, args, kwargs), fn, args, kwargs))


def shared(fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Like ``memo``, but every session gets the same object rather than a copy: for results
    that are dear to copy (a chart's figure) and that no page changes."""
    return cast(T, _shared(_key(fn, args, kwargs), fn, args, kwargs))


def _in_period(
    fn: Callable[..., T], checked: Checked, period: Period, *args: object, **kwargs: object
) -> T:
    decisions = in_period(checked.decisions, period)
    return fn(decisions, in_period(checked.findings, period), *args, **kwargs)


def memo_period(fn: Callable[..., T], frame: Frame, *args: object, **kwargs: object) -> T:
    """``fn(decisions, findings, *args, **kwargs)`` on the frame's decisions and findings in its
    period, computed once per data version, check and period (see ``memo``)."""
    return cast(T, memo(_in_period, fn, frame.checked, frame.period, *args, **kwargs))


@dataclass(frozen=True)
class Checked:
    """A check's result with the tables the pages read, built once per data version."""

    result: CheckResult
    decisions: pd.DataFrame
    findings: pd.DataFrame


@dataclass(frozen=True)
class Frame:
    """What the user picked in the shared frame, and the results for it."""

    board_ids: tuple[str, ...]
    board_names: dict[str, str]
    period: Period
    as_of: dt.date
    checked: Checked
    access: Access

    @property
    def result(self) -> CheckResult:
        return self.checked.result

    def decisions(self) -> pd.DataFrame:
        return in_period(self.checked.decisions, self.period)

    def findings(self) -> pd.DataFrame:
        return in_period(self.checked.findings, self.period)

    def board_label(self, board_id: str) -> str:
        return self.board_names.get(board_id, board_id)


# --- who is looking, and what they may see ------------------------------------------------


def sign_in_configured() -> bool:
    """Sign-in is on when ``.streamlit/secrets.toml`` has an ``[auth]`` section (st.login)."""
    try:
        return bool(st.secrets.get("auth"))
    except Exception:  # no secrets file at all
        return False


# The headers a proxy adds to say whose request it forwarded.
FORWARDING_HEADERS = ("X-Forwarded-For", "X-Real-Ip", "Forwarded")


@runtime_checkable
class RepeatedHeaders(Protocol):
    """Headers that give every value of a repeated header (``st.context.headers`` does)."""

    def get_all(self, key: str) -> list[str]: ...


Headers = RepeatedHeaders | Iterable[tuple[str, str]]


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _loopback(address: str) -> bool:
    """Whether one address (as a forwarding header writes it: ``1.2.3.4``, ``1.2.3.4:port``,
    ``::1``, ``[::1]:port``, quoted or not) is this computer. Anything else is not."""
    text = address.strip()
    if text.lower().startswith("for="):
        text = text[4:].strip()
    text = _unquote(text)
    port = ""
    if text.startswith("["):  # "[v6]" or "[v6]:port"
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return False
        port = rest[1:] if rest else ""
        if rest and not port:
            return False
    elif text.count(":") == 1:  # "1.2.3.4:port" or "localhost:port"
        host, _, port = text.partition(":")
        if not port:
            return False
    else:
        host = text
    if port and not port.isdigit():
        return False
    if host.lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _split(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` where it is not inside a quoted string."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _addresses_local(value: str) -> bool:
    """An X-Forwarded-For or X-Real-Ip value: one address or several joined with commas."""
    addresses = [part for part in value.split(",") if part.strip()]
    return bool(addresses) and all(_loopback(part) for part in addresses)


def _forwarded_local(value: str) -> bool:
    """A Forwarded value (RFC 7239): each element must say it was for this computer, and by
    whom it was forwarded, if it says, must be this computer too."""
    elements = [element for element in _split(value, ",") if element.strip()]
    if not elements:
        return False
    for element in elements:
        named_for = False
        for pair in _split(element, ";"):
            if not pair.strip():
                continue
            name, equals, address = pair.partition("=")
            if not equals:
                return False
            name = name.strip().lower()
            if name in ("for", "by") and not _loopback(address):
                return False
            named_for = named_for or name == "for"
        if not named_for:
            return False
    return True


def _values(headers: Headers, name: str) -> list[str]:
    if isinstance(headers, RepeatedHeaders):
        return [str(value) for value in headers.get_all(name)]
    return [str(value) for key, value in headers if key.strip().lower() == name.lower()]


def headers_are_local(headers: Headers) -> bool:
    """Whether no forwarding header says the request was forwarded for another machine.

    Every value of every forwarding header counts, however it arrives: on lines of its own
    or joined with commas. Any address that is not this computer's, or any value that is not
    an address, makes the answer no."""
    for name in FORWARDING_HEADERS:
        read = _forwarded_local if name == "Forwarded" else _addresses_local
        if not all(read(value) for value in _values(headers, name)):
            return False
    return True


def request_is_local() -> bool:
    """Whether this session's browser runs on this machine: the connection comes from a
    loopback address and no proxy in front says it forwarded someone else's request."""
    ip = st.context.ip_address  # None for loopback connections (not a str in AppTest)
    if isinstance(ip, str) and not _loopback(ip):
        return False
    return headers_are_local(st.context.headers)


def viewer() -> Access | None:
    """Who is using this session, with their rights; None when this request must be refused
    (no sign-in is configured and it comes from another machine)."""
    if not sign_in_configured():
        if not request_is_local():
            return None
        return Access(identity=f"{current_user()} (local)", role=Role.admin, local=True)
    if not st.user.is_logged_in:
        return PUBLIC
    email = str(st.user.get("email") or "")
    name = st.user.get("name")
    verified = st.user.get("email_verified") not in (False, "false")
    user = users.find(store(), email) if email and verified else None
    if user is not None:
        found = user.access()
        return Access(
            identity=found.identity,
            role=found.role,
            boards=found.boards,
            name=found.name or (str(name) if name else None),
            signed_in=True,
        )
    return Access(
        identity=email or str(st.user.get("sub") or "unknown"),
        role=Role.public,
        name=str(name) if name else None,
        signed_in=True,
        known=False,
    )


# Every page, with what it needs. Pages a person may not use are hidden from the menu, and
# each page checks again when it runs (``current``), so a typed URL gets no further.
PAGES: list[tuple[str, str, str, Action | None]] = [
    ("pages/overview.py", "Overview", ":material/dashboard:", Action.read_aggregates),
    ("pages/decisions.py", "Decisions", ":material/list_alt:", Action.read_aggregates),
    ("pages/decision.py", "Decision story", ":material/timeline:", Action.read_aggregates),
    ("pages/representation.py", "Representation", ":material/groups:", Action.read_aggregates),
    ("pages/health_check.py", "Health-checks", ":material/monitor_heart:", Action.read_aggregates),
    ("pages/meeting.py", "Meeting mode", ":material/co_present:", Action.read_aggregates),
    ("pages/reports.py", "Board report", ":material/summarize:", Action.read_aggregates),
    ("pages/record.py", "Record", ":material/edit_note:", Action.record),
    ("pages/data.py", "Import and export", ":material/upload_file:", Action.export),
    ("pages/audit.py", "Audit trail", ":material/history:", Action.audit),
    ("pages/users.py", "Users and settings", ":material/manage_accounts:", Action.manage),
    ("pages/method.py", "Method", ":material/rule:", None),
    ("pages/glossary.py", "Glossary", ":material/menu_book:", None),
    ("pages/accessibility.py", "Accessibility", ":material/accessibility:", None),
]


# The pages that stand instead of the dashboard: they draw no frame (no pickers, no data).
REFUSED, SIGN_IN, NO_ROLE = "Not available", "Sign in", "No access yet"


def draws_frame(page: st.Page) -> bool:
    """Whether app.py draws the shared frame for this page. (Told apart by title: Streamlit
    gives every default page the url_path "".)"""
    return page.title not in (REFUSED, SIGN_IN, NO_ROLE)


def pages(access: Access | None) -> list[st.Page]:
    """The navigation for this person (app.py passes it to st.navigation)."""
    if access is None:
        return [st.Page(_refused, title=REFUSED, url_path="refused", default=True)]
    if access.role == Role.public and not users.public_view(store()):
        if access.signed_in:  # signed in, but no role: with the public view off, nothing
            return [st.Page(_no_role, title=NO_ROLE, url_path="no-access", default=True)]
        return [st.Page(_sign_in_only, title=SIGN_IN, url_path="sign-in", default=True)]
    return [
        st.Page(
            path,
            title=title,
            icon=icon,
            default=index == 0,
            visibility="visible" if needs is None or access.may(needs) else "hidden",
        )
        for index, (path, title, icon, needs) in enumerate(PAGES)
    ]


def _refused() -> None:
    st.title("coprod is not available here")
    st.error(
        "This dashboard has no sign-in configured, so it serves only the computer it runs on. "
        "Ask whoever runs it to configure sign-in (see the Security section of the README) "
        "before it is opened from other machines.",
        icon=":material/lock:",
    )


def _sign_in_only() -> None:
    st.html(ACCESSIBLE_STYLE)
    st.title("coprod: co-production from the start")
    st.markdown("Sign in to see this partnership's records.")
    _sign_in_button()


def _no_role() -> None:
    st.html(ACCESSIBLE_STYLE)
    st.title("coprod: co-production from the start")
    access = viewer()
    who = plain(access.identity) if access else "this address"
    st.warning(
        f"You are signed in as {who}, but no role has been given to this address, and this "
        "dashboard shows nothing to visitors without one. Ask an admin to add you.",
        icon=":material/person_off:",
    )
    if st.button("Sign out", key="sign_out_no_role", icon=":material/logout:"):
        st.logout()


def _provider() -> str | None:
    """The provider to sign in with: the default ``[auth]`` one, else the first named one."""
    auth = st.secrets.get("auth") or {}
    if "client_id" in auth:
        return None
    named = [k for k, v in auth.items() if hasattr(v, "keys")]
    return named[0] if named else None


def _sign_in_button() -> None:
    if st.button("Sign in", type="primary", key="sign_in", icon=":material/login:"):
        st.login(_provider())


def _account(access: Access) -> None:
    """Who is signed in, in the sidebar; the local-mode banner on every page."""
    if access.local:
        st.warning(
            "**Local mode.** No sign-in is configured, so this dashboard serves only this "
            "computer and whoever uses it acts as admin. Configure sign-in before others use "
            "it (README: Security).",
            icon=":material/lock_open:",
        )
        return
    with st.sidebar:
        if access.signed_in:
            st.markdown(
                f"Signed in as **{plain(access.who)}**"
                + (f" ({plain(access.identity)})" if access.name else "")
                + f" · {access.role.value}"
                + (
                    ""
                    if access.role in (Role.public, Role.admin)
                    else f" · {plain(access.scope_text())}"
                )
            )
            if st.button("Sign out", key="sign_out", icon=":material/logout:"):
                st.logout()
        else:
            st.markdown("You see the **public view**: figures only, no names or comments.")
            _sign_in_button()
    if access.signed_in and not access.known:
        st.info(
            f"You are signed in as {plain(access.identity)}, but no role has been given to this "
            "address yet, so you see the public view. Ask an admin to add you.",
            icon=":material/person_off:",
        )


def refuse(access: Access, needs: Action) -> None:
    """Stop a page this person may not use, saying why in one sentence."""
    st.title("Not available")
    if access.role == Role.public and not access.signed_in:
        st.warning(f"Sign in to {ACTION_WORDS[needs]}.", icon=":material/lock:")
    else:
        st.warning(
            f"Your role ({access.role.value}) does not let you {ACTION_WORDS[needs]}. Ask an "
            "admin if you need to.",
            icon=":material/lock:",
        )
    st.stop()


def _offer_demo(db: Store, access: Access) -> None:
    """An empty store: offer the demo data, and carry on once it is loaded."""
    notice = st.empty()
    with notice.container():
        st.title("coprod")
        if not access.may(Action.import_records) or not access.every_board:
            st.info("The store is empty: nothing has been recorded yet.", icon=":material/info:")
            st.stop()
        st.info(
            "The store is empty. Load the demo data to explore the dashboard, or import your "
            "board's records with `coprod import`.",
            icon=":material/info:",
        )
        load = st.button("Load the demo data", type="primary", key="load_demo")
    if not load:
        st.stop()
    from coprod.interchange import ImportRejected, import_source  # only for an empty store

    try:
        import_source(db, DEMO_DIR, Change(access.identity, "form", access))
    except ImportRejected as rejected:
        st.error(f"The demo data could not be loaded: {plain(rejected.problems[0])}")
        st.stop()
    notice.empty()


# Fixed styles for every page (no user text): a visible focus ring, touch targets of at least
# 24 by 24 pixels (WCAG 2.2, 2.5.8), and no motion for people who ask for none. Small print is
# written with st.markdown, not st.caption, whose faded grey is below 4.5:1 contrast.
ACCESSIBLE_STYLE = """<style>
:focus-visible { outline: 3px solid #0b5394 !important; outline-offset: 2px !important; }
[data-testid="stDateInputField"] [role="spinbutton"],
[data-testid="stDateInput"] [role="spinbutton"] {
    min-width: 24px; min-height: 24px; display: inline-flex; align-items: center;
    justify-content: center;
}
@media (prefers-reduced-motion: reduce) {
    *, *::before, *::after { animation: none !important; transition: none !important; }
}
</style>"""


def _is_empty(db: Store) -> bool:
    return db.is_empty()


def _holds_demo_data(db: Store) -> bool:
    return db.holds_demo_data()


def frame(access: Access) -> Frame:
    """Draw the shared frame (who is signed in, board and period pickers) and return what was
    picked. Only the boards this person may see are offered or counted."""
    st.session_state["_seen"] = True
    st.html(ACCESSIBLE_STYLE)
    _account(access)
    db = store()
    # What the frame reads of the store, once per data version.
    if memo(_is_empty, db):
        _offer_demo(db, access)
    if memo(_holds_demo_data, db):
        st.info(
            "**Demo data.** The boards, people and decisions shown here are made up, to show "
            "how coprod works.",
            icon=":material/science:",
        )
    board_table = memo(boards, db)
    names = {
        board_id: name
        for board_id, name in zip(board_table["board_id"], board_table["name"], strict=True)
        if access.may(Action.read_aggregates, board_id)
    }
    if not names and not access.every_board:
        st.info(
            "No boards have been given to you yet: ask an admin to add the boards you work on.",
            icon=":material/info:",
        )
    elif not names:
        st.info(
            "Every board in the store has been withdrawn. Restore a board on the Record page, "
            "or import one.",
            icon=":material/info:",
        )
    today = dt.date.today()
    with st.sidebar:
        st.header("Show", divider="gray")
        chosen = st.multiselect(
            "Boards",
            options=list(names),
            format_func=lambda b: names.get(b, b),
            key="boards",
            placeholder="All boards",
            help="Leave empty to see every board.",
        )
        default_start = dt.date(today.year - 3, today.month, 1)
        period = st.date_input(
            "Period (decisions taken between)",
            value=(default_start, today),
            min_value=EARLIEST_DATE,
            max_value=LATEST_DATE,
            format="DD/MM/YYYY",
            key="period",
        )
        as_of = st.date_input(
            "Judge as of",
            value=today,
            min_value=EARLIEST_DATE,
            max_value=LATEST_DATE,
            format="DD/MM/YYYY",
            key="as_of",
            help="The rules look at what was recorded as having happened by this date.",
        )
    if isinstance(period, tuple) and len(period) == 2:
        start, end = period
    else:  # the user has picked only the first date so far
        start = period[0] if isinstance(period, tuple) and period else default_start
        end = today
    as_of_date = as_of if isinstance(as_of, dt.date) else today
    chosen = [b for b in chosen if b in names]
    # Nothing chosen and every board allowed: the whole store. Otherwise the boards this person
    # may see ("" matches no board when they have none).
    scope = (
        tuple(sorted(chosen)) if chosen or access.every_board else (tuple(sorted(names)) or ("",))
    )
    checked = _check(db.address, db.data_version(), as_of_date, scope)
    return Frame(
        board_ids=tuple(chosen) or tuple(names),
        board_names=names,
        period=Period(min(start, end), max(start, end)),
        as_of=as_of_date,
        checked=checked,
        access=access,
    )


def current(needs: Action | None = Action.read_aggregates) -> Frame:
    """The frame app.py drew for this run; stops the page unless its viewer may ``needs``."""
    frame_ = _current()
    if needs is not None and not frame_.access.may(needs):
        refuse(frame_.access, needs)
    return frame_


def _current() -> Frame:
    frame_ = st.session_state.pop("_frame", None)
    if isinstance(frame_, Frame):
        return frame_
    # The page ran without app.py. Streamlit does that when a run opens a page other than the
    # home page while it still treats the folder pages/ as old-style pages (the first run in
    # a fresh process). Turn that off; on a session's first run, run again through app.py so
    # that the navigation is right, otherwise draw the frame here.
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    if not st.session_state.get("_seen"):
        st.session_state["_seen"] = True
        st.rerun()
    access = viewer()
    if access is None:
        _refused()
        st.stop()
    assert access is not None
    return frame(access)


def show_chart(chart: Chart, *, key: str) -> None:
    """A chart with its accessible name, its message as a sentence and its numbers."""
    st.plotly_chart(
        chart.figure,
        alt=chart.alt,
        key=key,
        config={"displaylogo": False, "responsive": True},
        theme=None,
    )
    # The summary is a sentence in plain words (no formatting of ours) that may name boards,
    # items or roles people typed: all of it is shown as text. The alt text stays unescaped.
    st.markdown(plain(chart.summary))
    with st.expander("The numbers in this chart"):
        st.table(plain_table(chart.table.set_index(chart.table.columns[0])))


def change(access: Access, source: str = "form") -> Change:
    """Who is making a change from the dashboard and what they may do: every writer checks
    the rights, and the audit trail records the identity."""
    return Change(actor=access.identity, source=source, access=access)


def simple_table_toggle(key: str) -> bool:
    """A switch to show records as an ordinary HTML table that screen readers can read.

    Streamlit's data grid draws on a canvas; the simple table is a plain <table> instead.
    """
    return st.toggle(
        "Simple table (for screen readers and keyboard)",
        key=f"simple_{key}",
        help="Shows the rows as an ordinary table that a screen reader can read cell by cell.",
    )


def simple_table(table: pd.DataFrame, *, limit: int = 500) -> None:
    shown = table.head(limit)
    st.table(plain_table(shown.set_index(shown.columns[0])))
    if len(table) > limit:
        st.markdown(
            f"Showing the first {limit} of {len(table)} rows: narrow the filters to see more."
        )
