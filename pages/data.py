"""Import and export: load a CSV folder's files or a workbook, see every problem or every change
before committing, and download the whole store."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

import ui
from coprod.access import Action
from coprod.archive import export_archive, problems_csv, read_uploads
from coprod.interchange import FILE_ORDER, ExportRefused, ImportRejected, import_sheets
from coprod.models import ENTITIES
from coprod.store import StoreWriteError
from coprod.views import plain, plain_table, plural

frame = ui.current(Action.export)
db = ui.store()

st.title("Import and export")

st.header("Import")
st.markdown(
    "Upload the CSV files of the import format (any of "
    + ", ".join(f"`{name}.csv`" for name in FILE_ORDER)
    + ") or one `.xlsx` workbook with a sheet per file. Nothing is written until you commit, and "
    "an import with any problem writes nothing at all."
    + (
        ""
        if frame.access.every_board
        else f" You may import records of your boards only ({plain(frame.access.scope_text())})."
    )
)
round_ = st.session_state.setdefault("import_round", 0)
uploads = st.file_uploader(
    "CSV files or one .xlsx workbook",
    type=["csv", "xlsx"],
    accept_multiple_files=True,
    key=f"import_files_{round_}",
)
if uploads:
    files = [(u.name, u.getvalue()) for u in uploads]
    # Pressing "Commit the import" runs the page again: the preview of the same files, by the
    # same person, on the same data version is kept rather than checked and written twice.
    previewed = (
        round_,
        frame.access,
        db.data_version(),
        tuple((name, hashlib.sha256(data).digest()) for name, data in files),
    )
    kept = st.session_state.get("import_preview")
    try:
        sheets = read_uploads(files)
        if isinstance(kept, tuple) and kept[0] == previewed:
            preview = kept[1]
        else:
            preview = import_sheets(db, sheets, ui.change(frame.access, "import"), dry_run=True)
            st.session_state["import_preview"] = (previewed, preview)
    except ImportRejected as rejected:
        problems = rejected.problems
        st.error(
            f"Nothing can be imported yet: {plural(len(problems), 'problem')} found. Fix "
            "them in your files and upload them again."
        )
        table = pd.DataFrame(
            [(p.file, p.row, p.field or "", p.reason) for p in problems],
            columns=["File", "Row", "Field", "Problem"],
        )
        st.table(plain_table(table.set_index("File")))
        st.download_button(
            "Download the problems (CSV)",
            data=problems_csv(problems),
            file_name="import-problems.csv",
            mime="text/csv",
        )
    except StoreWriteError as failed:  # even a preview writes, then rolls back
        st.error(plain(failed.sentence("imported")), icon=":material/error:")
    else:
        st.success(
            f"The files are valid: {plural(preview.total_rows, 'row')} read. This is what the "
            "import will change:"
        )
        changes = pd.DataFrame(
            [
                (
                    entity.label,
                    preview.created.get(entity.table, 0),
                    preview.updated.get(entity.table, 0),
                    preview.unchanged.get(entity.table, 0),
                )
                for entity in ENTITIES
                if entity.table in preview.created
            ],
            columns=["Records", "New", "Updated", "Unchanged"],
        )
        st.table(changes.set_index("Records"))
        if st.button("Commit the import", type="primary", key="commit_import"):
            try:
                done = import_sheets(db, sheets, ui.change(frame.access, "import"))
            except ImportRejected as rejected:
                st.error(
                    "The import was rejected and nothing was written: "
                    f"{plain(rejected.problems[0])}"
                )
            except StoreWriteError as failed:
                st.error(plain(failed.sentence("imported")), icon=":material/error:")
            else:
                st.session_state["import_round"] = round_ + 1
                st.session_state.pop("import_preview", None)
                st.session_state["import_done"] = done.lines()
                st.rerun()

if done_lines := st.session_state.pop("import_done", None):
    st.success("Imported. " + "; ".join(done_lines) + ".")

st.header("Export")
st.markdown(
    "Download every record in the import format, to keep, to analyse or to load into another "
    "store. Withdrawn records are left out unless a record in the download still names them."
)
if not frame.access.every_board:
    st.info(
        "The download holds every board's records, so it needs access to every board. An "
        "admin can export it for you.",
        icon=":material/lock:",
    )
    st.stop()
formats = {
    "csv": "CSV files (zip)",
    "xlsx": "Excel workbook (.xlsx)",
    "parquet": "Parquet files (zip)",
}
chosen = st.radio("Format", options=list(formats), format_func=formats.__getitem__, horizontal=True)
if st.button("Prepare the download", key="prepare_export"):
    try:
        name, data = export_archive(db, chosen, access=frame.access)
    except ExportRefused as refused:
        st.error(plain(refused), icon=":material/error:")
    else:
        st.download_button(f"Download {name}", data=data, file_name=name, key="download_export")
