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

from builders import CHANGE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coprod.interchange import ImportRejected, Problem, export, import_source, read_source
from coprod.models import ENTITY_BY_FILE, storable_problem
from coprod.store import TABLES, Store

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
