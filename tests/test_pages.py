"""Every page of the dashboard, driven with AppTest on the committed demo data: in a store file
and in a PostgreSQL store."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest
from builders import shown
from streamlit.testing.v1 import AppTest

from coprod.demo import DEMO_AS_OF
from coprod.interchange import import_source
from coprod.rules import RULES, run_check
from coprod.settings import DEMO_DIR
from coprod.store import Change, Store, is_server
from coprod.views import CATEGORY_LABELS, DECIDED_CATEGORIES

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PERIOD = (dt.date(2020, 1, 1), DEMO_AS_OF)


def _demo_store(location: str) -> str:
    with Store(location) as store:
        import_source(store, DEMO_DIR, Change("test", "import"))
    return location


@pytest.fixture(scope="module", params=["file", "postgres"])
def demo_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo data in a store file, and (the same pages again) in a PostgreSQL store."""
    if request.param == "postgres":
        return _demo_store(request.getfixturevalue("postgres").new_database())
    return _demo_store(str(tmp_path_factory.mktemp("demo") / "demo.duckdb"))


@pytest.fixture
def app(demo_db: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("COPROD_DB", demo_db)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["as_of"] = DEMO_AS_OF
    at.session_state["period"] = PERIOD
    return at


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _metric(at: AppTest, label: str) -> int:
    return int(next(m for m in at.metric if m.label == label).value)


def test_overview_shows_the_headline_as_figures_and_a_sentence(app: AppTest, demo_db: str) -> None:
    app.run()
    _no_errors(app)
    assert app.title[0].value == "Were people involved from the start?"
    assert any("Demo data" in i.value for i in app.info)
    with Store(demo_db) as store:
        result = run_check(store, DEMO_AS_OF)
    decided = [d for d in result.decisions if d["decided"] and d["decided_on"] >= PERIOD[0]]
    expected = {
        c: sum(1 for d in decided if d["first_involvement"] == c)
        for c in ("from_start", "formative", "late", "retrofitted", "never", "unknown")
    }
    assert _metric(app, "From the start") == expected["from_start"]
    assert _metric(app, "Never") == expected["never"]
    assert _metric(app, "Retrofitted") == expected["retrofitted"]
    sentence = app.markdown[0].value
    assert f"Of {sum(expected.values())} decisions taken between 1 January 2020" in sentence
    assert f"{expected['from_start']} (" in sentence
    critical = sum(1 for f in result.findings if f["severity"] == "critical")
    assert _metric(app, "Critical findings") == critical


def test_overview_chart_has_alt_text_and_its_numbers(app: AppTest) -> None:
    app.run()
    _no_errors(app)
    charts = app.get("plotly_chart")
    assert len(charts) == 1
    # A screen reader hears the chart's message (its alt text), which says how many decisions
    # it counts; the message is also given in words below it, and its numbers in a table that
    # adds up to the same count.
    alt = charts[0].proto.alt
    found = re.search(r"Over (\d+) quarters, (\d+) of (\d+) decisions involved people", alt)
    assert found, alt
    assert alt in [shown(m.value) for m in app.markdown]
    numbers = next(t.value for t in app.table if "Quarter" in str(t.value.index.name))
    assert len(numbers) == int(found[1])
    categories = [CATEGORY_LABELS[c] for c in DECIDED_CATEGORIES]
    assert int(numbers[categories].to_numpy().sum()) == int(found[3])
    early = [CATEGORY_LABELS["from_start"], CATEGORY_LABELS["formative"]]
    assert int(numbers[early].to_numpy().sum()) == int(found[2])


def test_overview_follows_the_board_picker(app: AppTest, demo_db: str) -> None:
    app.run()
    app.run()  # widgets keep their ids from the second run of a session on
    with Store(demo_db) as store:
        result = run_check(store, DEMO_AS_OF, boards=["demo-lochbrae-spg"])
    expected = sum(
        1
        for d in result.decisions
        if d["decided"] and d["decided_on"] >= PERIOD[0] and d["first_involvement"] == "never"
    )
    everyone = _metric(app, "Never")
    app.multiselect(key="boards").select("demo-lochbrae-spg")
    app.run()
    _no_errors(app)
    assert app.multiselect(key="boards").value == ["demo-lochbrae-spg"]
    assert _metric(app, "Never") == expected
    assert expected < everyone


def test_register_filters_by_category_and_text(app: AppTest) -> None:
    app.switch_page("pages/decisions.py").run()
    _no_errors(app)
    assert app.title[0].value == "Decision register"
    everything = app.dataframe[0].value
    assert len(everything) > 100
    app.multiselect(key="register_categories").select("never")
    app.run()
    _no_errors(app)
    never = app.dataframe[0].value
    assert 0 < len(never) < len(everything)
    assert set(never["category"]) == {"Never"}
    app.multiselect(key="register_categories").unselect("never")
    app.multiselect(key="register_codes").select("TB-DISPUTED")
    app.run()
    disputed = app.dataframe[0].value
    assert all("TB-DISPUTED" in codes for codes in disputed["findings"])
    app.text_input(key="register_text").input("zzzz no such decision")
    app.run()
    _no_errors(app)
    assert any("No decision matches" in i.value for i in app.info)


def test_decision_story_tells_the_whole_story(app: AppTest, demo_db: str) -> None:
    with Store(demo_db) as store:
        result = run_check(store, DEMO_AS_OF)
    late = next(d for d in result.decisions if d["first_involvement"] == "late")
    app.query_params["decision"] = late["decision_id"]
    app.switch_page("pages/decision.py").run()
    _no_errors(app)
    assert shown(app.title[0].value) == late["title"]
    text = " ".join(shown(m.value) for m in app.markdown)
    assert "FTS-AFTER-OPTIONS" in text
    assert "consulted on a done deal" in text
    assert f"{late['first_involved_on']:%-d %B %Y}" in text
    assert len(app.get("plotly_chart")) == 1


def test_decision_story_can_be_chosen_from_a_list(app: AppTest) -> None:
    app.switch_page("pages/decision.py").run()
    _no_errors(app)
    box = app.selectbox(key="decision")
    other = box.options[3]
    box.select_index(3).run()
    _no_errors(app)
    assert other.endswith(shown(app.title[0].value))


def test_method_page_lists_every_rule_and_threshold(app: AppTest) -> None:
    app.switch_page("pages/method.py").run()
    _no_errors(app)
    text = " ".join(m.value for m in app.markdown)
    for rule in RULES:
        assert rule.code in text
    thresholds = app.table[-1].value
    assert thresholds.loc["start_window_days", "Value"] == "30"
    assert thresholds.loc["min_consultation_days", "Value"] == "42"


def test_empty_store_offers_the_demo_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Loading it with the button is tested in the browser (tests/test_browser.py).
    monkeypatch.setenv("COPROD_DB", str(tmp_path / "empty.duckdb"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    _no_errors(at)
    assert any("The store is empty" in i.value for i in at.info)
    assert at.button(key="load_demo").label == "Load the demo data"
    assert not at.get("plotly_chart")


def test_a_store_held_by_another_process_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from coprod.store import Store; s = Store(sys.argv[1]); "
            "print('ready', flush=True); time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        monkeypatch.setenv("COPROD_DB", str(path))
        at = AppTest.from_file(APP, default_timeout=60).run()
        assert not at.exception
        assert len(at.error) == 1
        assert "is in use by another program" in at.error[0].value
    finally:
        holder.kill()
        holder.wait()


def test_register_offers_a_simple_table_for_screen_readers(app: AppTest) -> None:
    app.switch_page("pages/decisions.py").run()
    app.toggle(key="simple_register").set_value(True).run()
    assert not app.exception
    table = app.table[0].value
    assert table.index.name == "Decision"
    assert "First involvement" in table.columns
    assert set(table["Tick-box suspect"]) <= {"yes", "no"}
    assert len(table) == min(500, len(app.dataframe[0].value))


def _fresh_app(
    demo_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> tuple[str, AppTest]:
    """A fresh store of the demo data (of the same kind as demo_db), and the app on it after
    its first run."""
    if is_server(demo_db):
        db = _demo_store(request.getfixturevalue("postgres").new_database())
    else:
        db = _demo_store(str(tmp_path / "fresh.duckdb"))
    monkeypatch.setenv("COPROD_DB", db)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["as_of"] = DEMO_AS_OF
    at.session_state["period"] = PERIOD
    at.run()
    return db, at


def test_a_new_record_shows_on_the_next_rerun(
    demo_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    # Results are cached by the store's data version: any write is seen at once.
    from coprod import records
    from coprod.models import Decision

    db, at = _fresh_app(demo_db, tmp_path, monkeypatch, request)
    before = _metric(at, "Never")
    with Store(db) as store:
        records.save(
            store,
            Decision(
                decision_id="d-cache-1",
                board_id="demo-glenmoray-ijb",
                title="Decided with nobody involved",
                identified_on=dt.date(2026, 1, 5),
                options_fixed_on=dt.date(2026, 2, 1),
                decided_on=dt.date(2026, 3, 1),
            ),
            Change("test", "form"),
        )
    at.run()
    assert _metric(at, "Never") == before + 1


def test_a_page_query_computed_once_per_data_version_shows_a_write_at_once(
    demo_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    # The Representation page's queries go through ui.memo: reused between reruns, recomputed
    # after any write.
    from coprod import records
    from coprod.models import AttendanceStatus, Meeting

    db, at = _fresh_app(demo_db, tmp_path, monkeypatch, request)
    at.switch_page("pages/representation.py").run()
    label = "Meetings with a lived-experience voice"
    before = _metric(at, label)
    at.run()
    assert _metric(at, label) == before  # a rerun with nothing written: the same
    with Store(db) as store, store.cursor() as cur:
        row = cur.execute(
            "SELECT member_id FROM member WHERE board_id = 'demo-glenmoray-ijb' "
            "AND role = 'service_user_rep' AND end_date IS NULL AND withdrawn_at IS NULL LIMIT 1"
        ).fetchone()
        assert row is not None
        records.save(
            store,
            Meeting(
                meeting_id="m-cache-1", board_id="demo-glenmoray-ijb", date=dt.date(2026, 6, 3)
            ),
            Change("test", "form"),
        )
        records.save_attendance(
            store, "m-cache-1", {str(row[0]): AttendanceStatus.present}, Change("test", "form")
        )
    at.run()
    assert _metric(at, label) == before + 1


def test_chart_colours_stand_out_from_the_page() -> None:
    # WCAG 1.4.11: graphical objects need 3:1 against their background.
    from coprod.charts import CATEGORY_COLOURS

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for category, colour in CATEGORY_COLOURS.items():
        ratio = 1.05 / (luminance(colour) + 0.05)
        assert ratio >= 3, f"{category} {colour} has contrast {ratio:.2f} on white"


def test_a_store_with_a_board_and_no_decisions_shows_an_empty_register(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coprod import records
    from coprod.models import Board

    db = tmp_path / "one-board.duckdb"
    with Store(db) as store:
        records.save(
            store, Board(board_id="b1", name="New board", kind="other"), Change("t", "form")
        )
    monkeypatch.setenv("COPROD_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/decisions.py").run()
    _no_errors(at)
    assert any("No decisions are recorded" in i.value for i in at.info)


def test_typed_text_shows_as_typed_not_as_markdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coprod import records
    from coprod.models import Board, Decision

    typed = "*Draft* [see this](http://example.invalid) #1"
    db = tmp_path / "typed.duckdb"
    with Store(db) as store:
        change = Change("t", "form")
        records.save(store, Board(board_id="b1", name="Board [x](y)", kind="other"), change)
        records.save(
            store,
            Decision(
                decision_id="d1", board_id="b1", title=typed, identified_on=dt.date(2026, 1, 1)
            ),
            change,
        )
    monkeypatch.setenv("COPROD_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["decision"] = "d1"
    at.switch_page("pages/decision.py").run()
    _no_errors(at)
    heading = at.title[0].value
    assert shown(heading) == typed
    assert "](" not in heading.replace("\\]\\(", "")  # the link syntax is escaped, not live
    assert heading.startswith("\\*Draft\\*")
