"""Files that come from or go to a browser: uploads to import, and exports as one download
(a zip of CSV or parquet files, or the .xlsx workbook)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from coprod.interchange import (
    CsvWriter,
    ImportRejected,
    Problem,
    Sheet,
    export,
    read_csv_bytes,
    read_workbook,
)
from coprod.store import Store

MIME = {
    "csv": "application/zip",
    "parquet": "application/zip",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_archive(store: Store, fmt: str) -> tuple[str, bytes]:
    """(file name, contents) of the whole store exported in ``fmt`` (csv, xlsx or parquet)."""
    with tempfile.TemporaryDirectory() as folder:
        written = export(store, folder, fmt)
        if fmt == "xlsx":
            return "coprod.xlsx", written[0].read_bytes()
        return f"coprod-{fmt}.zip", zip_files(written)


def zip_files(paths: list[Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            archive.write(path, arcname=path.name)
    return buffer.getvalue()


def problems_csv(problems: list[Problem]) -> bytes:
    """The problems of a rejected import as a CSV a person can open next to their file."""
    buffer = io.StringIO(newline="")
    writer = CsvWriter(buffer)
    writer.writerow(["file", "row", "field", "problem"])
    for p in problems:
        writer.writerow([p.file, "" if p.row is None else p.row, p.field or "", p.reason])
    return buffer.getvalue().encode("utf-8-sig")


def read_uploads(files: list[tuple[str, bytes]]) -> list[Sheet]:
    """Sheets from uploaded files: CSV files of the format, or one .xlsx workbook.

    Every file is read before giving up, so the user sees every problem at once.
    """
    sheets: list[Sheet] = []
    problems: list[Problem] = []
    workbooks = [name for name, _ in files if name.lower().endswith(".xlsx")]
    if workbooks and len(files) > 1:
        raise ImportRejected(
            [
                Problem(
                    workbooks[0], None, None, "upload one .xlsx workbook on its own, or CSV files"
                )
            ]
        )
    for name, data in files:
        try:
            if name.lower().endswith(".xlsx"):
                sheets.extend(read_workbook(data, name))
            elif name.lower().endswith(".csv"):
                sheets.append(read_csv_bytes(data, name))
            else:
                problems.append(Problem(name, None, None, "not a .csv file or an .xlsx workbook"))
        except ImportRejected as rejected:
            problems.extend(rejected.problems)
    if problems:
        raise ImportRejected(problems)
    if not sheets:
        raise ImportRejected([Problem("upload", None, None, "no files were uploaded")])
    return sheets
