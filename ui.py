"""The dashboard's one Streamlit helper module: the store, cached results, the shared frame
(board and period pickers) and the chart helper. Everything else lives in ``coprod``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from coprod.charts import Chart
from coprod.interchange import ImportRejected, import_source
from coprod.rules import CheckResult, run_check
from coprod.settings import DEMO_DIR, store_location
from coprod.store import Change, Store, StoreError, current_user
from coprod.views import Period, boards, decisions_frame, findings_frame, in_period


@st.cache_resource(show_spinner=False)
def _open_store(location: str) -> Store:
    # One connection per process; every query takes its own cursor (see coprod.store).
    return Store(location)


def store() -> Store:
    """The process-wide store, or a plain-English stop if it cannot be opened."""
    try:
        return _open_store(store_location())
    except StoreError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
        raise  # pragma: no cover - st.stop() does not return


@st.cache_resource(show_spinner="Checking the decisions…", max_entries=32)
def _check(location: str, version: int, as_of: dt.date, boards: tuple[str, ...]) -> Checked:
    # Keyed on the store's data version: any write makes the next rerun recompute, and widget
    # interactions reuse the result and its tables.
    result = run_check(_open_store(location), as_of, boards=list(boards) or None)
    return Checked(result, decisions_frame(result), findings_frame(result))


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

    @property
    def result(self) -> CheckResult:
        return self.checked.result

    def decisions(self) -> pd.DataFrame:
        return in_period(self.checked.decisions, self.period)

    def findings(self) -> pd.DataFrame:
        return in_period(self.checked.findings, self.period)

    def board_label(self, board_id: str) -> str:
        return self.board_names.get(board_id, board_id)


def _offer_demo(db: Store) -> None:
    """An empty store: offer the demo data, and carry on once it is loaded."""
    notice = st.empty()
    with notice.container():
        st.title("coprod")
        st.info(
            "The store is empty. Load the demo data to explore the dashboard, or import your "
            "board's records with `coprod import`.",
            icon=":material/info:",
        )
        load = st.button("Load the demo data", type="primary", key="load_demo")
    if not load:
        st.stop()
    try:
        import_source(db, DEMO_DIR, Change(current_user(), "form"))
    except ImportRejected as rejected:
        st.error(f"The demo data could not be loaded: {rejected.problems[0]}")
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


def frame() -> Frame:
    """Draw the shared frame (board and period pickers) and return what was picked."""
    st.session_state["_seen"] = True
    st.html(ACCESSIBLE_STYLE)
    db = store()
    if db.is_empty():
        _offer_demo(db)
    if db.holds_demo_data():
        st.info(
            "**Demo data.** The boards, people and decisions shown here are made up, to show "
            "how coprod works.",
            icon=":material/science:",
        )
    board_table = boards(db)
    names = dict(zip(board_table["board_id"], board_table["name"], strict=True))
    if not names:
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
            format="DD/MM/YYYY",
            key="period",
        )
        as_of = st.date_input(
            "Judge as of",
            value=today,
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
    checked = _check(db.location, db.data_version(), as_of_date, tuple(sorted(chosen)))
    return Frame(
        board_ids=tuple(chosen) or tuple(names),
        board_names=names,
        period=Period(min(start, end), max(start, end)),
        as_of=as_of_date,
        checked=checked,
    )


def current() -> Frame:
    """The frame app.py drew for this run."""
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
    return frame()


def show_chart(chart: Chart, *, key: str) -> None:
    """A chart with its accessible name, its message as a sentence and its numbers."""
    st.plotly_chart(
        chart.figure,
        alt=chart.alt,
        key=key,
        config={"displaylogo": False, "responsive": True},
        theme=None,
    )
    st.markdown(chart.summary)
    with st.expander("The numbers in this chart"):
        st.table(chart.table.set_index(chart.table.columns[0]))


def change(source: str = "form") -> Change:
    """Who is making a change from the dashboard, for the audit trail."""
    return Change(actor=actor(), source=source)


def actor() -> str:
    try:
        if st.user.is_logged_in:
            return str(st.user.get("email") or st.user.get("name") or "signed-in user")
    except Exception:  # no sign-in configured
        pass
    return f"{current_user()} (local)"


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
    st.table(shown.set_index(shown.columns[0]))
    if len(table) > limit:
        st.markdown(
            f"Showing the first {limit} of {len(table)} rows: narrow the filters to see more."
        )
