"""Property-based fuzzing of the import contract.

Whatever a file holds, an import either stores every row exactly as the contract reads it or
rejects the file, naming file, row and field, and changes nothing; it never fails in another
way, never stores a value the file did not hold, and whatever it stores exports and imports
again unchanged, as CSV and as a workbook.

The examples are derandomised, so CI runs the same ones every time; set COPROD_FUZZ_EXAMPLES
(say 5000) for a longer hunt on your own machine.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from builders import CHANGE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coprod.bulk import import_folder
from coprod.interchange import ImportRejected, Problem, export, import_source, read_source
from coprod.models import ENTITY_BY_FILE, storable_problem
from coprod.store import TABLES, Store

# Stress tests of a minute or more: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow

BASE = Path(__file__).resolve().parent / "malformed" / "_base"
EXAMPLES = int(os.environ.get("COPROD_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Columns whose text is stored as typed (trimmed), so must appear in the file as it was read.
FREE_TEXT = {
    "board": ("name", "area"),
    "member": ("name", "organisation"),
    "decision": ("title", "summary", "service_area", "exemption_reason"),
    "involvement": ("organisation", "influence", "attestation_note"),
    "health_check": ("comment",),
}


@contextmanager
def fresh() -> Iterator[tuple[Store, Path]]:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "fuzz.duckdb")
        try:
            yield store, Path(folder)
        finally:
            store.close()


def state(store: Store) -> tuple[dict[str, int], int]:
    counts = {t: store.count(t, include_withdrawn=True) for t in (*TABLES, "audit_log")}
    return counts, store.data_version()


def exported(store: Store, folder: Path) -> dict[str, bytes]:
    export(store, folder)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def assert_round_trips(store: Store, work: Path) -> None:
    """Export as CSV and as a workbook; each imports into an empty store and exports the same."""
    first = exported(store, work / "first")
    export(store, work / "book", "xlsx")
    for source in (work / "first", work / "book" / "coprod.xlsx"):
        with fresh() as (again, where):
            import_source(again, source, CHANGE)
            assert exported(again, where / "again") == first, source.name


def assert_names_its_place(problem: Problem) -> None:
    assert problem.file
    assert problem.reason
    assert problem.row is None or problem.row >= 1


# Every character, control characters and lone surrogates among them.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)


@FUZZ
@given(text=ANY_TEXT)
def test_any_text_is_stored_as_typed_or_refused_naming_its_field(text: str) -> None:
    with fresh() as (store, work):
        folder = work / "in"
        folder.mkdir()
        cell = '"' + text.replace('"', '""') + '"'
        data = f"board_id,name,kind\nb1,{cell},other\n".encode("utf-8", "surrogatepass")
        (folder / "boards.csv").write_bytes(data)
        before = state(store)
        try:
            import_source(store, folder, CHANGE)
        except ImportRejected as rejected:
            assert state(store) == before
            for problem in rejected.problems:
                assert_names_its_place(problem)
            return
        [stored] = store.query("SELECT name FROM board")
        typed = text[1:] if text.startswith("'") and text[1:2] in "=+-@\t\r'" else text
        assert stored["name"] == typed.strip()
        assert storable_problem(stored["name"]) is None
        assert_round_trips(store, work)


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, bytes]:
    """One file of the base data with bytes changed, inserted or removed."""
    name = draw(st.sampled_from(sorted(p.name for p in BASE.iterdir())))
    data = bytearray((BASE / name).read_bytes())
    awkward = st.sampled_from(
        [b'"', b",", b"\n", b"\r", b"'", b"=", b"\x00", b"\x92", b"\xc3", b"\xa9", b"\xef\xbb\xbf"]
    )
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        piece = draw(st.one_of(awkward, st.binary(min_size=1, max_size=3)))
        how = draw(st.sampled_from(["insert", "replace", "delete"]))
        if how == "insert":
            data[at:at] = piece
        elif how == "replace":
            data[at : at + len(piece)] = piece
        else:
            del data[at : at + len(piece)]
    return name, bytes(data)


@FUZZ
@given(case=damaged())
def test_a_damaged_file_is_imported_as_it_reads_or_refused_and_changes_nothing(
    case: tuple[str, bytes],
) -> None:
    name, data = case
    with fresh() as (store, work):
        import_source(store, BASE, CHANGE)
        before_files, before = exported(store, work / "before"), state(store)
        folder = work / "in"
        folder.mkdir()
        (folder / name).write_bytes(data)
        try:
            import_source(store, folder, CHANGE)
        except ImportRejected as rejected:
            assert state(store) == before
            assert exported(store, work / "after") == before_files
            for problem in rejected.problems:
                assert_names_its_place(problem)
            return
        # Accepted: every free text stored for the file's rows is text the file holds.
        [sheet] = read_source(folder)
        table = sheet.entity.table
        held = data.decode("utf-8-sig", "replace") + data.decode("cp1252", "replace")
        held += (BASE / name).read_text(encoding="utf-8")  # rows the file no longer names
        held = held.replace('""', '"')
        columns = [c for c in FREE_TEXT.get(table, ()) if c in sheet.header]
        for row in store.query(f"SELECT {', '.join(columns)} FROM {table}") if columns else []:
            for column, value in row.items():
                assert value is None or value in held, (column, value)
        assert_round_trips(store, work)


@FUZZ
@given(data=st.data())
def test_a_file_of_some_columns_changes_nothing_it_leaves_out(data: st.DataObject) -> None:
    with fresh() as (store, work):
        import_source(store, BASE, CHANGE)
        before = exported(store, work / "before")
        name = data.draw(st.sampled_from(sorted(before)))
        lines = before[name].decode("utf-8").split("\n")
        header = lines[0].split(",")
        entity = ENTITY_BY_FILE[name.removesuffix(".csv")]
        required = {n for n, f in entity.model_fields.items() if f.is_required()}
        optional = [c for c in header if c not in required]
        kept = data.draw(st.lists(st.sampled_from(optional), unique=True)) if optional else []
        chosen = [c for c in header if c in required or c in kept]
        folder = work / "in"
        folder.mkdir()
        rows = list(read_source(work / "before" / name)[0].rows)
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(chosen)
        for _row, values in rows:
            writer.writerow([values.get(c) if values.get(c) is not None else "" for c in chosen])
        (folder / name).write_text(out.getvalue(), encoding="utf-8")
        summary = import_source(store, folder, CHANGE)
        assert sum(summary.updated.values()) == 0, (name, chosen)
        assert exported(store, work / "after") == before


AWKWARD_VALUES = [
    "Co-design", "co_design", " true", "true", "TRUE", "yes", "2024-02-30", "31/01/2024",
    "2024-01-01", "1899-12-31", "2200-01-01", "1e3", "007", "12.0", "-1", "2147483648", "",
    " ", "\u00a0spaced", "bsl;easy_read", "easy_read;bsl", "easy_read;", "bsl;bsl", "'x",
    "'=x", "_x0041_", "x\ny", "x\u2028y", "x\x85y", '"quoted"', "a,b", "b2", "b1", "mt-south",
    "d2", "m-south", "r1", "trust", "Trust", "unconfirmed", "disputed", "x" * 32_768,
]  # fmt: skip


@st.composite
def edited(draw: st.DrawFn) -> tuple[str, bytes]:
    """One file of the base data with one cell set to an awkward value, written as CSV."""
    name = draw(st.sampled_from(sorted(p.name for p in BASE.iterdir())))
    rows = list(csv.reader(io.StringIO((BASE / name).read_text(encoding="utf-8"), newline="")))
    for _ in range(draw(st.integers(1, 3))):
        row = draw(st.integers(1, len(rows) - 1))
        column = draw(st.integers(0, len(rows[0]) - 1))
        rows[row][column] = draw(st.one_of(st.sampled_from(AWKWARD_VALUES), ANY_TEXT))
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return name, out.getvalue().encode("utf-8", "surrogatepass")


@FUZZ
@given(case=st.one_of(edited(), damaged()))
def test_whatever_the_import_in_sets_takes_the_row_by_row_import_stores_the_same(
    case: tuple[str, bytes],
) -> None:
    name, data = case
    with fresh() as (in_sets, work), fresh() as (by_row, _elsewhere):
        import_source(in_sets, BASE, CHANGE, in_sets=False)
        import_source(by_row, BASE, CHANGE, in_sets=False)
        folder = work / "in"
        folder.mkdir()
        (folder / name).write_bytes(data)
        before = state(in_sets)
        written, declined = import_folder(in_sets, folder, CHANGE)
        if written is None:
            assert declined is not None
            assert state(in_sets) == before  # declined: nothing written
            return
        import_source(by_row, folder, CHANGE, in_sets=False)  # must take it too
        assert exported(in_sets, work / "sets") == exported(by_row, work / "rows")
        counts = {t: by_row.count(t, include_withdrawn=True) for t in (*TABLES, "audit_log")}
        assert state(in_sets)[0] == counts


def test_a_clean_folder_is_imported_in_sets(tmp_path: Path) -> None:
    with fresh() as (store, work):
        summary = import_source(store, BASE, CHANGE)
        export(store, work / "out")
        again = Store(tmp_path / "again.duckdb")
        try:
            written, declined = import_folder(again, work / "out", CHANGE)
            assert declined is None
            assert written is not None
            assert {t: c for t, (c, _u, _n) in written.items()} == summary.created
        finally:
            again.close()
