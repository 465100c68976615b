"""The import and export page, with AppTest: validate, show problems or changes, commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from builders import shown
from streamlit.testing.v1 import AppTest

from coprod.interchange import import_source
from coprod.settings import DEMO_DIR
from coprod.store import Change, Store

APP = str(Path(__file__).resolve().parents[1] / "app.py")
EXAMPLE = Path(__file__).resolve().parent / "data" / "rules-check"


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    db = tmp_path / "store.duckdb"
    with Store(db) as store:
        import_source(store, DEMO_DIR, Change("test", "import"))
    monkeypatch.setenv("COPROD_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/data.py").run()
    assert not at.exception
    return at


def _files(*names: str, folder: Path = EXAMPLE) -> list[tuple[str, bytes, str]]:
    return [(n, (folder / n).read_bytes(), "text/csv") for n in names]


def test_clean_files_show_what_will_change_then_commit(app: AppTest) -> None:
    app.file_uploader[0].set_value(_files("boards.csv", "decisions.csv", "meetings.csv"))
    app.run()
    assert not app.exception
    assert not app.error
    assert any("The files are valid" in s.value for s in app.success)
    changes = app.table[0].value
    assert changes.loc["decision", "New"] == 129
    assert changes.loc["board", "New"] == 4
    app.button(key="commit_import").click().run()
    assert not app.exception
    assert any("Imported." in s.value and "decision: 129 new" in s.value for s in app.success)
    # The uploader is cleared after a commit.
    assert not app.file_uploader[0].value


def _count_dry_runs(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every import_sheets call the page makes from now on: True for a preview (a dry run)."""
    from coprod import interchange

    calls: list[bool] = []
    real = interchange.import_sheets

    def counted(*args: Any, dry_run: bool = False, **kwargs: Any) -> Any:
        calls.append(dry_run)
        return real(*args, dry_run=dry_run, **kwargs)

    monkeypatch.setattr(interchange, "import_sheets", counted)
    return calls


def test_committing_writes_the_files_once_without_previewing_them_again(
    app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_dry_runs(monkeypatch)
    app.file_uploader[0].set_value(_files("boards.csv", "decisions.csv", "meetings.csv"))
    app.run()
    assert any("The files are valid" in s.value for s in app.success)
    app.button(key="commit_import").click().run()
    assert not app.exception
    assert any("Imported." in s.value and "decision: 129 new" in s.value for s in app.success)
    assert calls == [True, False]


def test_a_write_after_the_preview_makes_the_commit_preview_again(
    app: AppTest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app.file_uploader[0].set_value(_files("boards.csv", "decisions.csv", "meetings.csv"))
    app.run()
    assert app.table[0].value.loc["decision", "New"] == 129
    with Store(tmp_path / "store.duckdb") as store:  # someone else imports the same decisions
        import_source(store, EXAMPLE, Change("someone else", "import"))
    calls = _count_dry_runs(monkeypatch)
    app.button(key="commit_import").click().run()
    assert not app.exception
    assert calls == [True, False]  # previewed again on the new data, not the preview kept
    assert any("Imported." in s.value and "decision: 0 new" in s.value for s in app.success)


def _problems(app: AppTest) -> pd.DataFrame:
    """The import problems table as a reader sees it (without the escapes of plain_table)."""
    table = app.table[0].value.reset_index()
    return table.map(lambda v: shown(v) if isinstance(v, str) else v)


def test_a_bad_row_shows_every_problem_and_writes_nothing(app: AppTest, tmp_path: Path) -> None:
    text = (EXAMPLE / "decisions.csv").read_text()
    lines = text.splitlines()
    lines[3] = lines[3].replace("true", "perhaps", 1)
    bad = ("\n".join(lines) + "\n").encode()
    app.file_uploader[0].set_value(
        [*_files("boards.csv", "meetings.csv"), ("decisions.csv", bad, "text/csv")]
    )
    app.run()
    assert not app.exception
    assert "Nothing can be imported yet: 1 problem found" in app.error[0].value
    problems = _problems(app)
    assert list(problems.columns) == ["File", "Row", "Field", "Problem"]
    assert problems.iloc[0]["File"] == "decisions.csv"
    assert problems.iloc[0]["Row"] == 4
    assert problems.iloc[0]["Field"] == "affects_people_who_use_services"
    assert not app.get("button") or all(b.key != "commit_import" for b in app.button)


def test_a_file_that_is_not_of_the_format_is_named(app: AppTest) -> None:
    app.file_uploader[0].set_value([("notes.csv", b"a,b\n1,2\n", "text/csv")])
    app.run()
    assert not app.exception
    problems = _problems(app)
    assert problems.iloc[0]["File"] == "notes.csv"
    assert "not a file of the format" in problems.iloc[0]["Problem"]


def test_export_offers_a_download(app: AppTest) -> None:
    app.radio[0].set_value("xlsx").run()
    app.button(key="prepare_export").click().run()
    assert not app.exception
    assert "Download coprod.xlsx" in [getattr(b, "label", None) for b in app.get("download_button")]


def test_an_export_that_would_cut_a_value_says_so_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "store.duckdb"
    with Store(db) as store:
        import_source(store, DEMO_DIR, Change("test", "import"))
        with store.transaction() as cur:  # as a store written before the length limit could be
            cur.execute(
                "UPDATE decision SET summary = repeat('z', 40000) WHERE decision_id = "
                "(SELECT min(decision_id) FROM decision)"
            )
    monkeypatch.setenv("COPROD_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/data.py").run()
    at.radio[0].set_value("xlsx").run()
    at.button(key="prepare_export").click().run()
    assert not at.exception
    assert any("too long for one spreadsheet cell" in shown(e.value) for e in at.error)
    assert not at.get("download_button")


WORKBOOKS = sorted(
    p.name for p in (Path(__file__).resolve().parent / "malformed").glob("xlsx-*.xlsx")
)


@pytest.mark.parametrize("name", WORKBOOKS)
def test_a_hostile_workbook_upload_is_named_never_a_traceback(app: AppTest, name: str) -> None:
    folder = Path(__file__).resolve().parent / "malformed"
    app.file_uploader[0].set_value(
        [(name, (folder / name).read_bytes(), "application/vnd.ms-excel")]
    )
    app.run()
    assert not app.exception
    problems = _problems(app)
    assert problems.iloc[0]["File"].startswith(name)
    assert not app.get("button") or all(b.key != "commit_import" for b in app.button)


def test_a_full_disk_is_one_sentence_not_a_traceback(
    app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coprod import interchange
    from coprod.store import StoreWriteError

    def full(*_args: object) -> tuple[int, int, int]:
        raise StoreWriteError("store.duckdb", "No space left on device")

    monkeypatch.setattr(interchange, "write_records", full)
    app.file_uploader[0].set_value(_files("boards.csv"))
    app.run()
    assert not app.exception
    assert [shown(e.value) for e in app.error] == [
        "The store store.duckdb could not be written (the disk is full or not writable: No "
        "space left on device), so nothing was imported."
    ]
