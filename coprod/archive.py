"""Files that come from or go to a browser: uploads to import, and exports as one download
(a zip of CSV or parquet files, or the .xlsx workbook)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from coprod.access import SYSTEM, Access, Action, Forbidden
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


def export_archive(store: Store, fmt: str, *, access: Access = SYSTEM) -> tuple[str, bytes]:
    """(file name, contents) of the whole store exported in ``fmt`` (csv, xlsx or parquet).

    It holds every board's records, so it needs the right to export on every board."""
    access.require(Action.export)
    if not access.every_board:
        raise Forbidden(f"{access.who} may export only with access to every board.")
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
    """The problems of a rejected import as a CSV a person can open next to their file.

    A text a spreadsheet would run as a formula (a file named ``=x.csv``, a reason quoting the
    value ``'=1+1'``) gets a leading ``'``, as in every CSV coprod writes.
    """
    return table_csv(
        ["file", "row", "field", "problem"], ([p.file, p.row, p.field, p.reason] for p in problems)
    )


def table_csv(columns: Iterable[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    """A table shown on a page as a CSV download: UTF-8 with a byte-order mark (so Excel reads
    it right), header first, and every text a spreadsheet would run as a formula neutralised
    with a leading ``'``. ``frame_csv`` does the same for a DataFrame."""
    buffer = io.StringIO(newline="")
    writer = CsvWriter(buffer, neutralise=True)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8-sig")


def frame_csv(frame: pd.DataFrame) -> bytes:
    """A DataFrame (its columns, no index) as ``table_csv`` writes it; a missing value (None,
    NaN, NaT) is an empty cell."""
    return table_csv(
        [str(c) for c in frame.columns],
        ([_plain(v) for v in row] for row in frame.itertuples(index=False)),
    )


def _plain(value: Any) -> Any:
    """A DataFrame value as Python holds it: None when missing, numpy scalars unwrapped (so a
    number stays a number and is never neutralised)."""
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # a list or other container is a value, not missing
        return value
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if isinstance(value, np.generic) else value


# Uploads: the seven files of the format fit well within these; Streamlit refuses anything
# over server.maxUploadSize (50 MB, .streamlit/config.toml) before it reaches us.
MAX_FILES = 20
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def read_uploads(files: list[tuple[str, bytes]]) -> list[Sheet]:
    """Sheets from uploaded files: CSV files of the format, or one .xlsx workbook.

    Every file is read before giving up, so the user sees every problem at once.
    """
    sheets: list[Sheet] = []
    problems: list[Problem] = []
    if len(files) > MAX_FILES:
        raise ImportRejected(
            [Problem("upload", None, None, f"upload at most {MAX_FILES} files at once")]
        )
    too_big = [name for name, data in files if len(data) > MAX_UPLOAD_BYTES]
    if too_big:
        raise ImportRejected(
            [
                Problem(name, None, None, f"larger than {MAX_UPLOAD_BYTES // 2**20} MB")
                for name in too_big
            ]
        )
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
