"""One family of errors a person sees (coprod.errors): the dashboard and the command line catch
it once each and show its sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from coprod.access import Forbidden
from coprod.backup import BackupError, BackupRejected
from coprod.cli import main
from coprod.errors import CoprodError
from coprod.evidence import EvidenceError
from coprod.healthcheck import ItemBankError
from coprod.interchange import ExportRefused, ImportRejected
from coprod.migrate import MigrateError
from coprod.outputs import OutputRefused
from coprod.records import ConflictError, NotFoundError, RecordRejected, RecordsError, StateError
from coprod.report import ReportError
from coprod.store import StoreBusyError, StoreError, StoreWriteError
from coprod.users import UserError


@pytest.mark.parametrize(
    "error",
    [
        StoreError, StoreBusyError, StoreWriteError, ImportRejected, RecordRejected,
        RecordsError, ConflictError, NotFoundError, StateError, Forbidden, UserError,
        ReportError, ItemBankError, BackupError, BackupRejected, EvidenceError, MigrateError,
        ExportRefused, OutputRefused,
    ],
)  # fmt: skip
def test_every_error_a_person_is_shown_is_of_the_one_family(error: type[Exception]) -> None:
    assert issubclass(error, CoprodError)


def test_the_command_line_shows_the_sentence_of_any_of_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "coprod.duckdb")
    assert main(["demo", "--db", db]) == 0
    capsys.readouterr()
    # A report's own refusal and a user's, each once the command line's one catch.
    out = tmp_path / "report.pdf"
    args = ["report", "--db", db, "--board", "nobody", "--from", "2025-01-01", "--to", "2025-12-31"]
    assert main([*args, "--out", str(out)]) == 1
    assert capsys.readouterr().err.strip() == "There is no board with the id 'nobody'."
    assert not out.exists()
    assert main(["users", "add", "not-an-address", "--role", "member", "--db", db]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err
