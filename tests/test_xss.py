"""Text people typed is shown as text in the browser: never run as a script, never drawn as
HTML or markdown formatting.

One store holds HTML, script and markdown payloads in every field a person types (decision
titles, summaries and service areas, board and member names, organisations, involvement notes,
health-check comments, withdrawal reasons). It is served with ``streamlit run`` and every page
that shows that text is visited in Chromium: the payload must appear in the page's text exactly
as typed, no script may have run (``window.__xss`` stays undefined, no alert opens), the DOM
must hold no element or attribute made from a payload, and no exception may show.

With no sign-in configured the dashboard serves loopback visitors as a local admin, so these
tests need no login.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_support import load, serve, settle
from builders import Dataset
from playwright.sync_api import Browser, Dialog, Page

from coprod import records
from coprod.models import Decision
from coprod.store import Change, Store

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
SVG = '"><svg onload=window.__xss=1>'
# Markdown and HTML-ish text: each marked word would be drawn as formatting if the text were
# read as markdown (bold, italic, a link, code, a tag, struck through, a heading).
MARKDOWN = (
    "**boldzq** _italzq_ [linkzq](javascript:window.__xss=1) `codezq` <b>tagzq</b> ~~gonezq~~"
)
ENTITY = "&lt;b&gt;entityzq&lt;/b&gt; &amp; &#60;"
HEADING = "# headingzq"
DIRECTIVES = ":smile: :material/warning: :red[redzq] $x^2$ www.example.com"
# Bold text, a link whose words hide where it goes, and an image fetched from elsewhere.
PHISH = "**B** [a link](http://example.invalid/phish) ![i](http://127.0.0.1:8801/x)"
FORMATTED = (
    "boldzq",
    "italzq",
    "linkzq",
    "codezq",
    "tagzq",
    "gonezq",
    "redzq",
    "headingzq",
    "boardzq",
    "pendingzq",
    "chairzq",
    "plotlyzq",
)

TODAY = dt.date.today()
DAY = dt.timedelta(days=1)

BOARD = f"Board {IMG} *boardzq* <b>plotlyzq</b> {PHISH}"
OTHER_BOARD = f"Group {MARKDOWN}"
MEMBER = f"Member {SVG}"
CHAIR = f"Chair **chairzq** {SCRIPT}"
ORGANISATION = f"Org {SCRIPT}"
TITLES = {
    "d-script": f"Title {SCRIPT}",
    "d-img": f"Title {IMG}",
    "d-svg": f"Title {SVG}",
    "d-md": f"Title {MARKDOWN}",
    "d-entity": f"Title {ENTITY}",
    "d-heading": HEADING,
    "d-directives": f"Title {DIRECTIVES}",
    # Every payload in one title, to read on the decision's story page.
    "d-all": f"{HEADING} {SCRIPT} {IMG} {SVG} {MARKDOWN} {ENTITY} {DIRECTIVES}",
}
SUMMARY = f"Summary {MARKDOWN} {IMG}"
SERVICE_AREA = f"Area {SVG}"
INVOLVED_ORG = f"Involved {IMG}"
INFLUENCE = f"Influence {MARKDOWN}"
NOTE = f"Note {SCRIPT}"
COMMENT = f"Comment {SCRIPT} {MARKDOWN}"
REASON = f"Reason {IMG} {MARKDOWN}"
WITHDRAWN_TITLE = f"Withdrawn {SVG}"
PENDING = f"Pending {IMG} **pendingzq**"


def xss_store(path: Path) -> Path:
    """A store whose typed text is all payloads; decisions fall in the default period."""
    decided = TODAY - 60 * DAY
    data = Dataset()
    data.board("b1", name=BOARD, area=f"Area {SCRIPT}")
    data.board("b2", name=OTHER_BOARD, kind="committee")
    data.member("m1", name=MEMBER, organisation=ORGANISATION, role="service_user_rep")
    data.member("m2", name=CHAIR, role="chair", voting=True)
    data.meeting("mt1", date=decided)
    data.meeting("mt-next", date=TODAY + 14 * DAY)
    data.attend("mt1", "m1")
    data.attend("mt1", "m2")
    for number, (decision_id, title) in enumerate(TITLES.items()):
        data.decision(
            decision_id,
            title=title,
            summary=SUMMARY,
            service_area=SERVICE_AREA,
            claimed_approach="co_produce",
            identified_on=decided - (200 + number) * DAY,
            options_fixed_on=decided - 100 * DAY,
            decided_on=decided,
            meeting_id="mt1",
        )
        data.involvement(
            f"i-{decision_id}",
            start_date=decided - 50 * DAY,
            level="consult",
            method="consultation",
            organisation=INVOLVED_ORG,
            influence=INFLUENCE,
            attestation_note=NOTE,
            participants=12,
            lived_experience_participants=0,
        )
    data.decision(
        "d-pending",
        title=PENDING,
        summary=SUMMARY,
        identified_on=TODAY - 30 * DAY,
        decided_on=TODAY + 14 * DAY,
        meeting_id="mt-next",
    )
    data.decision("d-withdrawn", title=WITHDRAWN_TITLE, identified_on=TODAY - 30 * DAY)
    for number in range(6):
        for group in ("professional", "lived_experience"):
            data.health_check(
                f"r-{group}-{number}",
                board_id="b1",
                check_date=TODAY - 20 * DAY,
                respondent_group=group,
                score=5 if group == "professional" else 1,
                comment=COMMENT,
            )
    with Store(path) as store:
        data.load(store)
        records.withdraw(store, Decision, "d-withdrawn", REASON, Change("test", "form"))
    return path


# --- looking at a page ---------------------------------------------------------------------

# Elements and attributes a payload would have made, had it been taken for HTML or markdown.
INJECTED = r"""() => {
    const found = [];
    for (const el of document.querySelectorAll('*')) {
        for (const attr of el.attributes) {
            const value = attr.value.trim().toLowerCase();
            if (attr.name.startsWith('on') && value.includes('__xss')) {
                found.push(`${el.tagName} ${attr.name}`);
            }
            if (['href', 'src', 'action', 'formaction', 'xlink:href'].includes(attr.name)
                && value.startsWith('javascript:')) {
                found.push(`${el.tagName} ${attr.name}=${value}`);
            }
        }
        if (el.tagName === 'SCRIPT' && el.textContent.includes('__xss')) found.push('SCRIPT');
        if (el.tagName === 'IMG' && el.getAttribute('src') === 'x') found.push('IMG src=x');
        const src = el.getAttribute('src') || '';
        if (src.includes('127.0.0.1:8801')) found.push(`${el.tagName} src=${src}`);
        // A link drawn from "[a link](...)": its words hide where it goes. (A web address
        // typed as it is shows as itself, and Streamlit makes it a link to itself.)
        const href = el.getAttribute('href') || '';
        if (el.tagName === 'A' && /example\.invalid|:8801/.test(href)
            && el.textContent.trim() !== href) {
            found.push(`A "${el.textContent.trim()}" href=${href}`);
        }
        if (['STRONG', 'B'].includes(el.tagName) && el.textContent.trim() === 'B') {
            found.push(`${el.tagName} B`);
        }
    }
    return found;
}"""
# Words of a payload drawn as formatting: bold, italic, a link, code, a tag, struck through,
# coloured, a heading (by markdown), or a styled part of a chart's text (by Plotly).
FORMATTING = """(words) => {
    const tags = 'strong, em, b, i, del, s, code, a, mark, h1, h2, h3, h4, h5, h6, '
        + '.stMarkdownColoredText, svg tspan';
    const main = document.querySelector("[data-testid='stMain']");
    return [...main.querySelectorAll(tags)]
        .filter((el) => words.includes(el.textContent.trim()))
        .map((el) => {
            // Name the Streamlit element it is in (st.table, st.markdown, an alert, ...).
            let box = el.parentElement;
            while (box && !(box.dataset.testid || '').match(/^st(?!MarkdownContainer)/)) {
                box = box.parentElement;
            }
            return `${el.tagName} ${el.textContent.trim()} in ${box ? box.dataset.testid : '?'}`;
        });
}"""


@dataclass
class Seen:
    """What a page showed once it had settled."""

    text: str  # the main area's text, as a reader gets it
    xss: Any  # window.__xss: undefined (None here) unless a payload ran
    dialogs: list[str]
    injected: list[str]
    formatted: list[str]
    exception: bool


def look(page: Page, dialogs: list[str]) -> Seen:
    page.wait_for_timeout(300)  # an onerror or onload handler would have run by now
    return Seen(
        text=page.inner_text("[data-testid='stMain']"),
        xss=page.evaluate("() => window.__xss"),
        dialogs=list(dialogs),
        injected=page.evaluate(INJECTED),
        formatted=page.evaluate(FORMATTING, list(FORMATTED)),
        exception=(
            page.locator("[data-testid='stException']").count() > 0
            or "Traceback" in page.inner_text("body")
        ),
    )


def simple_table(page: Page) -> None:
    page.get_by_text("Simple table (for screen readers and keyboard)").click()
    page.locator("[data-testid='stTable']").first.wait_for(timeout=30_000)
    settle(page)


def withdrawn_decision(page: Page) -> None:
    page.get_by_role("combobox", name="Which decision").click()
    page.get_by_role("option", name=re.compile("^d-withdrawn")).click()
    page.get_by_text("This record was withdrawn").wait_for(timeout=30_000)
    settle(page)
    page.get_by_text(re.compile("^History of this record")).click()
    page.locator("[data-testid='stExpanderDetails'] [data-testid='stTable']").first.wait_for(
        timeout=30_000
    )


def whole_story(page: Page) -> None:
    # The involvement comes last, after the timeline chart: wait until it is drawn.
    page.get_by_text("What changed because of it").first.wait_for(timeout=30_000)
    settle(page)


def meeting_attendance(page: Page) -> None:
    page.get_by_text("Meetings and attendance", exact=True).click()
    settle(page)
    page.get_by_role("combobox", name="Which meeting").click()
    page.get_by_role("option", name=re.compile("^mt1 ")).click()
    page.get_by_text("Who attended").wait_for(timeout=30_000)
    settle(page)


def health_check_response(page: Page) -> None:
    """Record a response for the first board: the page says it saved it, naming the board."""
    page.get_by_text("Health-check responses", exact=True).click()
    page.get_by_label("Response id *").wait_for(timeout=30_000)
    settle(page)
    page.get_by_label("Response id *").fill("r-browser")
    page.locator("[data-testid='stRadio']").first.get_by_text("4", exact=True).click()
    page.get_by_role("button", name="Save the response").click()
    page.get_by_text("Saved the response r-browser").wait_for(timeout=30_000)
    settle(page)


@dataclass(frozen=True)
class Visit:
    path: str
    expected: tuple[str, ...]  # typed text the page must show exactly as typed
    then: Callable[[Page], None] | None = None


DECIDED = tuple(TITLES.values())
STORY = (SUMMARY, SERVICE_AREA, BOARD, INVOLVED_ORG, INFLUENCE, NOTE)
VISITS = {
    "overview": Visit("/", (BOARD, *DECIDED)),
    "register": Visit("/decisions", (BOARD, SERVICE_AREA, PENDING, *DECIDED), simple_table),
    "story": Visit("/decision?decision=d-all", (TITLES["d-all"], *STORY), whole_story),
    "representation": Visit("/representation", (BOARD,)),
    "health-checks": Visit("/health_check", (BOARD,)),
    "meeting": Visit("/meeting", (BOARD, PENDING)),
    "record-withdrawn": Visit("/record", (WITHDRAWN_TITLE, REASON), withdrawn_decision),
    "record-attendance": Visit("/record", (MEMBER, CHAIR), meeting_attendance),
    "record-response": Visit(
        "/record", (f"Saved the response r-browser for {BOARD}.",), health_check_response
    ),
    "audit": Visit("/audit", (REASON, COMMENT, INFLUENCE, NOTE, BOARD, *DECIDED), simple_table),
}


@pytest.fixture(scope="module")
def xss_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("xss")
    with serve(xss_store(folder / "xss.duckdb"), folder / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def seen(browser: Browser, xss_server: str) -> Callable[[str], Seen]:
    """What each page showed, visited once for the whole module (in its own browser context,
    so a payload that ran on one page cannot hide behind another)."""
    cache: dict[str, Seen] = {}

    def visit(name: str) -> Seen:
        if name not in cache:
            context = browser.new_context(
                viewport={"width": 1400, "height": 1000}, reduced_motion="reduce"
            )
            try:
                page = context.new_page()
                dialogs: list[str] = []

                def dismiss(dialog: Dialog) -> None:
                    dialogs.append(dialog.message)
                    dialog.dismiss()

                page.on("dialog", dismiss)
                planned = VISITS[name]
                load(page, xss_server + planned.path)
                if planned.then is not None:
                    planned.then(page)
                cache[name] = look(page, dialogs)
            finally:
                context.close()
        return cache[name]

    return visit


# --- the probes ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(VISITS))
def test_no_payload_runs_or_becomes_html(seen: Callable[[str], Seen], name: str) -> None:
    shown = seen(name)
    assert not shown.exception, f"{name} shows an exception"
    assert shown.xss is None, f"a payload ran on {name}"
    assert shown.dialogs == [], f"a payload opened a dialog on {name}"
    assert shown.injected == [], f"{name} holds elements made from a payload: {shown.injected}"


@pytest.mark.parametrize("name", list(VISITS))
def test_typed_text_shows_as_typed(seen: Callable[[str], Seen], name: str) -> None:
    shown = seen(name)
    missing = [text for text in VISITS[name].expected if text not in shown.text]
    assert missing == [], f"{name} does not show this text as typed: {missing}"


@pytest.mark.parametrize("name", list(VISITS))
def test_typed_text_is_never_drawn_as_formatting(seen: Callable[[str], Seen], name: str) -> None:
    formatted = sorted(set(seen(name).formatted))
    assert formatted == [], f"{name} draws typed text as formatting: {formatted}"
