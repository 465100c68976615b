"""The Representation and Health-checks pages, and the overview's section on them, driven with
AppTest on the committed demo data. Every number on screen is checked against coprod."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from builders import shown
from streamlit.testing.v1 import AppTest

from coprod import healthcheck as hc
from coprod import representation as rep
from coprod.demo import DEMO_AS_OF
from coprod.interchange import import_source
from coprod.rules import CheckResult, run_check
from coprod.settings import DEMO_DIR
from coprod.store import Change, Store
from coprod.views import Period

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PERIOD = (dt.date(2020, 1, 1), DEMO_AS_OF)
FEW = "fewer than 5 responses"
SMALL_COUNT = re.compile(r"\b[0-4] respon")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("representation") / "demo.duckdb"
    with Store(path) as store:
        import_source(store, DEMO_DIR, Change("test", "import"))
    return path


@pytest.fixture(scope="module")
def demo(demo_db: Path) -> dict[str, Any]:
    """What coprod itself says about the demo, for the pages to be checked against."""
    with Store(demo_db) as store:
        result = run_check(store, DEMO_AS_OF)
        names = {r["board_id"]: r["name"] for r in store.query("SELECT * FROM board")}
        member_names = [r["name"] for r in store.query("SELECT name FROM member")]
        period = Period(*PERIOD)
        boards = sorted(names)
        meetings = rep.meetings_at_the_table(store, boards, period, DEMO_AS_OF)
        decisions = rep.decision_voice(store, result, period)
        trends = hc.item_trends(store, boards, DEMO_AS_OF, period=period)
        latest = hc.latest_checks(store, boards, result)
        return {
            "path": demo_db,
            "result": result,
            "names": names,
            "member_names": member_names,
            "period": period,
            "voice": rep.voice_headline(meetings, decisions),
            "meetings": meetings,
            "trends": trends,
            "hc_headline": hc.headline_sentence(
                latest, result, lambda b: names.get(b, b), period=period
            ),
        }


def _app(db: Path, monkeypatch: pytest.MonkeyPatch, page: str) -> AppTest:
    monkeypatch.setenv("COPROD_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["as_of"] = DEMO_AS_OF
    at.session_state["period"] = PERIOD
    at.switch_page(page).run()
    # A session's first run goes through the router again (see ui.current), and widget ids
    # settle only after it: a widget set before a second run would silently lose its value.
    at.run()
    _no_errors(at)
    return at


@pytest.fixture
def representation(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return _app(demo_db, monkeypatch, "pages/representation.py")


@pytest.fixture
def health(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return _app(demo_db, monkeypatch, "pages/health_check.py")


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _metric(at: AppTest, label: str) -> str:
    return str(next(m for m in at.metric if m.label == label).value)


def _text(at: AppTest) -> str:
    """Everything written on the page: headings, paragraphs and captions."""
    parts = [*at.header, *at.subheader, *at.markdown, *at.caption]
    return " ".join(shown(str(p.value)) for p in parts)


def _tables(at: AppTest) -> list[pd.DataFrame]:
    """The page's tables as a reader sees them: st.table cells and index without the escapes
    plain_table adds to text people typed."""

    def unescaped(value: object) -> object:
        return shown(value) if isinstance(value, str) else value

    tables = []
    for table in at.table:
        frame = table.value.map(unescaped)
        frame.index = table.value.index.map(unescaped)
        tables.append(frame)
    return tables


def _charts(at: AppTest) -> list[Any]:
    return list(at.get("plotly_chart"))


# --- Representation -------------------------------------------------------------------------------


def test_representation_headline_matches_coprod(
    representation: AppTest, demo: dict[str, Any]
) -> None:
    at = representation
    assert at.title[0].value == "Representation"
    voice: rep.VoiceHeadline = demo["voice"]
    assert shown(at.markdown[0].value) == voice.sentence(demo["period"])
    # Counted here in SQL of its own, independently of coprod.representation and the rules:
    # the meetings held in the period, those with a lived-experience voice at the table, and
    # the decisions taken at them.
    with Store(demo["path"]) as store:
        counted = store.query(
            """
            WITH held AS (
                SELECT meeting_id FROM meeting
                WHERE withdrawn_at IS NULL AND date BETWEEN $start AND $end AND date <= $as_of
            ),
            voiced AS (
                SELECT DISTINCT a.meeting_id FROM attendance a JOIN member m USING (member_id)
                WHERE a.withdrawn_at IS NULL AND m.withdrawn_at IS NULL
                  AND a.status IN ('present', 'remote', 'substitute')
                  AND (m.lived_experience
                       OR m.role IN ('service_user_rep', 'carer_rep', 'dpo_rep'))
            ),
            taken AS (
                SELECT d.meeting_id FROM decision d JOIN held USING (meeting_id)
                WHERE d.withdrawn_at IS NULL AND d.decided_on <= $as_of
            )
            SELECT (SELECT count(*) FROM held) AS meetings,
                   (SELECT count(*) FROM held WHERE meeting_id IN (SELECT * FROM voiced))
                       AS meetings_with_voice,
                   (SELECT count(*) FROM taken) AS decisions,
                   (SELECT count(*) FROM taken WHERE meeting_id IN (SELECT * FROM voiced))
                       AS decisions_with_voice
            """,
            {"start": PERIOD[0], "end": PERIOD[1], "as_of": DEMO_AS_OF},
        )[0]
    assert counted["meetings"] > 30
    assert counted["decisions"] > counted["decisions_with_voice"] > 0
    assert (
        voice.meetings,
        voice.meetings_with_voice,
        voice.decisions,
        voice.decisions_with_voice,
    ) == tuple(counted.values())
    silent = [
        f
        for f in demo["result"].findings
        if f["code"] == "REP-NO-VOICE" and PERIOD[0] <= f["period_date"] <= PERIOD[1]
    ]
    assert voice.decisions - voice.decisions_with_voice == len(silent) > 0
    assert f"at {voice.meetings_with_voice} of {voice.meetings} meetings" in at.markdown[0].value
    assert f"for {voice.decisions_with_voice} of {voice.decisions} decisions" in (
        at.markdown[0].value
    )
    assert _metric(at, "Decisions with no lived-experience voice") == str(len(silent))


def test_representation_charts_have_alt_text_and_tables(representation: AppTest) -> None:
    charts = _charts(representation)
    assert len(charts) == 3
    alts = [c.proto.alt for c in charts]
    assert all(alt.strip() for alt in alts)
    assert "a lived-experience voice was at the table" in alts[0]
    assert "share of seats at the table" in alts[1]
    assert "required roles were held" in alts[2]
    # Each chart's message is also printed, and its numbers are in a table.
    text = _text(representation)
    for alt in alts:
        assert alt in text
    indexes = [t.index.name for t in _tables(representation)]
    assert {"Quarter", "Role group", "Board"} <= set(indexes)


def test_decisions_with_no_voice_are_listed_with_links(
    representation: AppTest, demo: dict[str, Any]
) -> None:
    silent = {
        f["decision_id"]
        for f in demo["result"].findings
        if f["code"] == "REP-NO-VOICE" and PERIOD[0] <= f["period_date"] <= PERIOD[1]
    }
    links = [
        link for link in representation.get("page_link") if "decision=" in link.proto.query_string
    ]
    assert {link.proto.query_string.removeprefix("decision=") for link in links} == silent
    for link in links:
        decision_id = link.proto.query_string.removeprefix("decision=")
        assert shown(link.proto.label).startswith(decision_id + " — ")
    assert f"{len(silent)} decisions were taken at a meeting where nobody" in _text(representation)


def test_composition_findings_in_plain_english(
    representation: AppTest, demo: dict[str, Any]
) -> None:
    result: CheckResult = demo["result"]
    gaps = rep.composition_gaps(result, demo["period"])
    assert not gaps.empty
    text = _text(representation)
    assert "REP-COMPOSITION" in text
    for _, gap in gaps.iterrows():
        assert rep.composition_gap_sentence(gap, lambda b: demo["names"][b]) in text


def test_who_was_at_the_table_meeting_by_meeting(
    representation: AppTest, demo: dict[str, Any]
) -> None:
    table = representation.dataframe[0].value
    assert len(table) == len(demo["meetings"])
    assert list(table.columns) == [
        "Meeting",
        "Date",
        "Board",
        "Lived experience",
        "Voting members",
        "Officers",
        "Others",
        "Lived-experience voice",
    ]
    assert set(table["Lived-experience voice"]) <= {"yes", "no", "no (attendance not recorded)"}
    # Groups of people, never named people.
    cells = " ".join(str(v) for v in table.to_numpy().ravel())
    assert not any(name in cells for name in demo["member_names"])


def test_representation_follows_the_board_picker(representation: AppTest) -> None:
    at = representation
    at.multiselect(key="boards").select("demo-lochbrae-spg")
    at.run()
    _no_errors(at)
    # A strategic planning group need not hold the IJB roles: it is named, not charted.
    assert at.multiselect(key="boards").value == ["demo-lochbrae-spg"]
    assert "which is not an Integration Joint Board" in _text(at)
    assert len(_charts(at)) == 2
    assert any("No Integration Joint Board chosen" in i.value for i in at.info)


# --- Health-checks --------------------------------------------------------------------------------


def test_health_check_headline_matches_coprod(health: AppTest, demo: dict[str, Any]) -> None:
    assert health.title[0].value == "Health-checks"
    sentence = shown(health.markdown[0].value)
    assert sentence == demo["hc_headline"]
    result: CheckResult = demo["result"]
    in_period = [f for f in result.findings if PERIOD[0] <= f["period_date"] <= PERIOD[1]]
    # Read here from the store and the findings, not from coprod.healthcheck: each board's
    # latest check and how many answered it, and how often an item fell or the sides differed.
    with Store(demo["path"]) as store:
        latest = store.query(
            "SELECT board_id, check_date, count(DISTINCT response_id) AS respondents "
            "FROM health_check WHERE withdrawn_at IS NULL AND check_date <= $as_of "
            "GROUP BY board_id, check_date "
            "QUALIFY check_date = max(check_date) OVER (PARTITION BY board_id) ORDER BY board_id",
            {"as_of": DEMO_AS_OF},
        )
    assert len(latest) == 3
    for check in latest:
        told = f"{demo['names'][check['board_id']]} on {check['check_date']:%-d %B %Y} ("
        assert told in sentence
        if check["respondents"] >= 5:
            assert f"{told}{check['respondents']} responses)" in sentence
    fell = sum(1 for f in in_period if f["code"] == "HC-DECLINE")
    assert f"an item fell by 0.5 points or more {fell} time" in sentence
    assert _metric(health, "Falls since the previous check (period)") == str(
        sum(1 for f in in_period if f["code"] == "HC-DECLINE")
    )
    assert _metric(health, "Perception gaps (period)") == str(
        sum(1 for f in in_period if f["code"] == "HC-GAP")
    )
    assert _metric(health, "Boards overdue a health-check") == str(
        sum(1 for f in result.findings if f["code"] == "HC-OVERDUE")
    )


def test_health_check_charts_have_alt_text(health: AppTest) -> None:
    charts = _charts(health)
    assert len(charts) == 2
    assert all(c.proto.alt.strip() for c in charts)
    assert "health-checks of" in charts[0].proto.alt
    assert "professionals against the lived-experience side" in charts[1].proto.alt


def _suppressed_cell(trends: pd.DataFrame) -> dict[str, Any]:
    """A board, check and item of the demo where the lived-experience side had fewer than 5
    (and professionals had enough)."""
    lived = trends[(trends["side"] == "lived_experience") & (trends["text"] == FEW)]
    pro = trends[(trends["side"] == "professional") & (trends["text"] != FEW)]
    both = lived.merge(pro, on=["board_id", "check_date", "item"])
    assert not both.empty, "the demo should have a small lived-experience group"
    # The last one: not the board and item the page shows first, so the pickers are exercised.
    return dict(both.iloc[-1][["board_id", "check_date", "item"]])


def test_a_small_group_shows_as_fewer_than_5_responses(
    health: AppTest, demo: dict[str, Any]
) -> None:
    at = health
    small = _suppressed_cell(demo["trends"])
    at.selectbox(key="health_check_board").select(small["board_id"])
    at.run()
    at.selectbox(key="health_check_item").select(small["item"])
    at.run()
    _no_errors(at)
    assert at.selectbox(key="health_check_board").value == small["board_id"]
    assert at.selectbox(key="health_check_item").value == small["item"]
    gap_table = next(
        t for t in _tables(at) if "Lived-experience side" in t.columns and "HC-GAP" in t.columns
    )
    when = f"{small['check_date']:%-d %B %Y}"
    assert gap_table.loc[when, "Lived-experience side"] == FEW
    assert gap_table.loc[when, "Gap (professionals − lived experience)"] == (
        f"not compared: the lived-experience side had {FEW}"
    )
    # The chart says so in words, and no count below five appears anywhere on the page.
    assert "No average is shown where a side had fewer than 5 responses" in _text(at)
    everything = _text(at) + " ".join(t.to_string() for t in _tables(at))
    everything += " ".join(c.proto.spec for c in _charts(at))
    assert not SMALL_COUNT.search(everything)


def test_the_item_picker_explains_the_gap_in_words(health: AppTest, demo: dict[str, Any]) -> None:
    at = health
    gaps = hc.perception_gaps(demo["trends"], demo["result"])
    board = str(gaps["board_id"].iloc[0])
    at.selectbox(key="health_check_board").select(board)
    at.run()
    for item in ("trust", "support"):
        at.selectbox(key="health_check_item").select(item)
        at.run()
        _no_errors(at)
        assert at.selectbox(key="health_check_item").value == item
        mine = gaps[(gaps["board_id"] == board) & (gaps["item"] == item)]
        assert hc.gap_sentence(mine, item) in _text(at)


def test_findings_and_the_item_bank_are_shown(health: AppTest) -> None:
    text = _text(health)
    for code in ("HC-DECLINE", "HC-GAP", "HC-OVERDUE"):
        assert code in text
    bank = next(t for t in _tables(health) if t.index.name == "Item" and "Asked by" in t.columns)
    assert "trust" in bank.index
    links = [link.proto.label for link in health.get("page_link")]
    assert "Record a health-check response" in links


@pytest.fixture
def own_db(demo_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    shutil.copy(demo_db, path)
    return path


def test_adding_a_boards_own_item_through_the_page(
    own_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _app(own_db, monkeypatch, "pages/health_check.py")
    at.selectbox(key="health_check_board").select("demo-glenmoray-ijb")
    at.run()
    at.text_input(key="new_item_id").input("Good communication")
    at.text_area(key="new_item_statement").input("We tell each other what we need to know.")
    next(b for b in at.button if b.label == "Add the item").click()
    at.run()
    _no_errors(at)
    assert any("Added “good_communication”" in shown(s.value) for s in at.success)
    bank = next(t for t in _tables(at) if t.index.name == "Item" and "Asked by" in t.columns)
    assert bank.loc["good_communication", "Asked by"] == "this board only"
    with Store(own_db) as store:
        [entry] = store.audit_entries("health_check_item")
    assert entry["record_key"] == "demo-glenmoray-ijb/good_communication"
    assert entry["source"] == "form"
    assert entry["actor"].endswith("(local)")


def test_a_bad_item_is_refused_on_the_page(own_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(own_db, monkeypatch, "pages/health_check.py")
    at.text_input(key="new_item_id").input("trust")
    at.text_area(key="new_item_statement").input("Again.")
    next(b for b in at.button if b.label == "Add the item").click()
    at.run()
    assert not at.exception
    assert any("it is a default item" in e.value for e in at.error)
    with Store(own_db) as store:
        assert store.audit_entries("health_check_item") == []


# --- the overview's section -----------------------------------------------------------------------


def test_overview_gives_representation_and_health_check_headlines(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch, demo: dict[str, Any]
) -> None:
    at = _app(demo_db, monkeypatch, "pages/overview.py")
    voice: rep.VoiceHeadline = demo["voice"]
    assert any(h.value == "Representation and health-checks" for h in at.header)
    assert voice.sentence(demo["period"]) in _text(at)
    assert _metric(at, "Meetings with a lived-experience voice") == (
        f"{round(100 * voice.meetings_with_voice / voice.meetings)}%"
    )
    counts = hc.findings_count(demo["result"], demo["period"])
    assert _metric(at, "Health-check findings") == str(sum(counts.values()))
    assert hc.findings_sentence(counts) in _text(at)
    assert len(_charts(at)) == 1  # the overview keeps its one chart


def test_a_long_list_of_decisions_with_no_voice_stops_at_the_newest_hundred(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from builders import D, Dataset

    data = Dataset()
    data.board("b1")
    data.member("m1", role="chair", start_date=D(2020, 1, 1))
    for number in range(120):
        day = D(2025, 1, 1) + dt.timedelta(days=number)
        data.meeting(f"mt{number:03d}", date=day)
        data.attend(f"mt{number:03d}", "m1")
        data.decision(
            f"d{number:03d}",
            identified_on=D(2024, 6, 1),
            decided_on=day,
            meeting_id=f"mt{number:03d}",
        )
    db = tmp_path / "silent.duckdb"
    with Store(db) as store:
        data.load(store)
    monkeypatch.setenv("COPROD_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["as_of"] = D(2026, 1, 1)
    at.session_state["period"] = (D(2024, 1, 1), D(2026, 1, 1))
    at.switch_page("pages/representation.py").run()
    assert not at.exception, [e.value for e in at.exception]
    links = [
        link.proto.query_string
        for link in at.get("page_link")
        if "decision=" in link.proto.query_string
    ]
    assert links == [f"decision=d{number:03d}" for number in range(119, 19, -1)]
    text = _text(at)
    assert "120 decisions were taken at a meeting where nobody" in text
    assert "The 100 newest are listed here" in text
