"""The ``coprod`` command line: the same store and rules as the dashboard.

It is the store administrator's tool: whoever can run it on the server can read and change
everything, so it acts as an admin, and records the operating-system user in the audit trail.

Exit codes: 0 when all went well, 1 when data was rejected or the store could not be used
(the reason is printed in plain words on stderr), 2 for a usage mistake.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gc
import sys
import tempfile
import textwrap
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from coprod.access import cli_access
from coprod.errors import CoprodError
from coprod.outputs import (
    Leftover,
    refuse_unsafe_file,
    refuse_unsafe_folder,
    remove_leftovers,
    staged_folder,
)
from coprod.rules import CATEGORIES, CATEGORY_ORDER, CheckResult, run_check
from coprod.settings import store_location
from coprod.store import (
    Change,
    Store,
    StoreBusyError,
    StoreError,
    StoreWriteError,
    current_user,
    is_server,
    unwritable,
    write_failure,
)
from coprod.terminal import printable

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

    from coprod.interchange import ImportRejected, Problem

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
# What a command that could not write to the store did not do, for the sentence that says so.
NOT_DONE = {"import": "imported", "demo": "imported", "users": "changed", "restore": "restored"}


def say(text: str = "", *, err: bool = False) -> None:
    """Print a line for a person: stored or typed text in it never drives the terminal."""
    print(printable(text), file=sys.stderr if err else sys.stdout)


class Parser(argparse.ArgumentParser):
    """argparse, whose messages (which repeat what was typed) are made printable too."""

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        super()._print_message(printable(message), file)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date: use YYYY-MM-DD") from None


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="coprod",
        description=(
            "Check whether a board's decisions were co-produced from the start. This is the "
            "administrator's tool: it acts with every right on every board (as an admin), and "
            "the audit trail records your operating-system user."
        ),
        epilog="The store is data/coprod.duckdb unless --db or COPROD_DB names another.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_db(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", help="the store to use (default: COPROD_DB or data/coprod.duckdb)")

    demo = sub.add_parser("demo", help="make deterministic demo data and load or write it")
    with_db(demo)
    demo.add_argument("--out", type=Path, help="write the demo data as CSV files to this folder")
    demo.add_argument("--boards", type=_positive, default=3, help="number of boards (default 3)")
    demo.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")

    imp = sub.add_parser("import", help="import a CSV folder or .xlsx workbook (all or nothing)")
    imp.add_argument("source", type=Path, help="a folder of CSV files or an .xlsx workbook")
    with_db(imp)

    exp = sub.add_parser("export", help="export the store in the interchange format")
    with_db(exp)
    exp.add_argument("--out", type=Path, required=True, help="folder to write to")
    exp.add_argument("--format", choices=("csv", "xlsx", "parquet"), default="csv")

    bak = sub.add_parser(
        "backup", help="write a complete, self-checking copy of the store to a new folder"
    )
    with_db(bak)
    bak.add_argument("--out", type=Path, required=True, help="a new (or empty) folder")

    res = sub.add_parser("restore", help="restore a backup folder into a store (all or nothing)")
    res.add_argument("backup", type=Path, help="a folder written by 'coprod backup'")
    with_db(res)
    res.add_argument(
        "--force",
        action="store_true",
        help="replace a store that already holds data (it is kept as <store>.before-restore)",
    )

    mig = sub.add_parser(
        "migrate",
        help="copy a whole store between a file and a PostgreSQL server, and verify the copy",
        description=(
            "Copy every table of one store into another (a store file or a postgresql:// "
            "address, either way) in one all-or-nothing transaction, then check that the two "
            "export the same and hold the same audit trail, users and settings."
        ),
    )
    mig.add_argument(
        "--from", dest="source", required=True, help="the store to copy: a file or an address"
    )
    mig.add_argument(
        "--to", dest="target", required=True, help="the store to copy into (made if need be)"
    )
    mig.add_argument(
        "--force", action="store_true", help="replace everything in a target that holds data"
    )

    def board_period(p: argparse.ArgumentParser, out: str, as_of_default: str) -> None:
        with_db(p)
        p.add_argument("--board", required=True, help="the board's id")
        p.add_argument("--from", dest="start", type=_date, required=True, help="first day")
        p.add_argument("--to", dest="end", type=_date, required=True, help="last day")
        p.add_argument(
            "--as-of", type=_date, help=f"judge as of this date (default {as_of_default})"
        )
        p.add_argument("--out", type=Path, required=True, help=f"the {out} file to write")

    board_period(
        sub.add_parser("evidence", help="write one board's evidence pack for a period (.zip)"),
        ".zip",
        "today",
    )
    board_period(
        sub.add_parser("report", help="write a board's co-production assurance report (PDF)"),
        ".pdf",
        "--to or today",
    )

    people = sub.add_parser(
        "users", help="who may sign in to the dashboard, with which role and boards"
    )
    people_sub = people.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    listing = people_sub.add_parser("list", help="list everyone with a role")
    with_db(listing)
    adding = people_sub.add_parser("add", help="give someone a role (or change it)")
    adding.add_argument("email", help="the address they sign in with")
    adding.add_argument("--role", required=True, choices=("member", "auditor", "editor", "admin"))
    adding.add_argument(
        "--boards",
        default="*",
        help="board ids separated by commas, or * for every board (default *)",
    )
    adding.add_argument("--name", help="their name, as the dashboard shows it")
    with_db(adding)
    removing = people_sub.add_parser("remove", help="take someone's role away")
    removing.add_argument("email")
    removing.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    with_db(removing)
    public = people_sub.add_parser(
        "public-view", help="whether visitors who are not signed in see the public view"
    )
    public.add_argument("state", choices=("on", "off"))
    with_db(public)

    check = sub.add_parser("check", help="run the rules and list every finding")
    with_db(check)
    check.add_argument("--as-of", type=_date, help="judge as of this date (default today)")
    check.add_argument("--format", choices=("table", "json"), default="table")
    check.add_argument("--board", action="append", help="only this board (may be repeated)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("evidence", "report") and args.start > args.end:
        parser.error(f"--from {args.start} is after --to {args.end}")
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "import":
            return _import(args)
        if args.command == "export":
            return _export(args)
        if args.command == "check":
            return _check(args)
        if args.command == "users":
            return _users(args)
        if args.command == "backup":
            return _backup(args)
        if args.command == "restore":
            return _restore(args)
        if args.command == "migrate":
            return _migrate(args)
        if args.command == "evidence":
            return _evidence(args)
        if args.command == "report":
            return _board_report(args)
    except _import_rejected() as rejected:
        _report(rejected)
        return EXIT_REJECTED
    except StoreWriteError as exc:
        say(exc.sentence(NOT_DONE.get(args.command, "saved")), err=True)
        return EXIT_REJECTED
    except CoprodError as exc:  # the sentence the person is shown, whichever it is
        say(str(exc), err=True)
        _problems(getattr(exc, "problems", []))  # a backup whose rows were refused
        return EXIT_REJECTED
    except OSError as exc:
        say(_os_problem(exc), err=True)
        return EXIT_REJECTED
    except duckdb.Error as exc:
        say(_store_problem(args, exc), err=True)
        return EXIT_REJECTED
    return EXIT_USAGE  # pragma: no cover - argparse requires a known command


def _os_problem(exc: OSError) -> str:
    """An operating-system error as one sentence."""
    where = f" ({exc.filename})" if exc.filename else ""
    reason = write_failure(exc)
    if reason is not None:
        return (
            f"coprod could not write{where} (the disk is full or not writable: {reason}), so "
            "nothing was written."
        )
    return f"coprod could not go on{where}: {_first_line(exc.strerror or str(exc))}."


def _store_problem(args: argparse.Namespace, exc: duckdb.Error) -> str:
    """A DuckDB error no other handler explained, as one sentence."""
    location = store_location(getattr(args, "db", None))
    if write_failure(exc) is not None:
        return StoreWriteError(location, write_failure(exc) or None).sentence(
            NOT_DONE.get(args.command, "saved")
        )
    return f"The store {location} could not be used: {_first_line(str(exc))}."


def _first_line(text: str) -> str:
    line = (text.strip().splitlines() or [""])[0]
    return line.rstrip(".! ").replace(". ", "; ")


def _not_written(what: str, path: Path, exc: BaseException, outcome: str) -> StoreError:
    """An output that could not be written, in one sentence: a full disk says so."""
    reason = write_failure(exc)
    if reason is not None:
        why = unwritable(reason)
    else:
        why = _first_line(getattr(exc, "strerror", None) or str(exc))
    return StoreError(f"The {what} {path} could not be written ({why}), so {outcome}.")


def _leftovers(found: Iterable[Leftover]) -> None:
    for leftover in found:
        say(leftover.sentence())


@contextmanager
def _writable_store(db: str | None) -> Iterator[Store]:
    """The store opened for writing; if it is made for this command and the command fails,
    it is removed again (with any folder made for it), so a failed command leaves no empty
    store behind."""
    location = store_location(db)
    path = None if is_server(location) or location == ":memory:" else Path(location)
    wal = None if path is None else path.with_name(path.name + ".wal")
    new = path is not None and wal is not None and not path.exists() and not wal.exists()
    made = [p for p in (path.parent, *path.parent.parents) if not p.exists()] if path else []
    try:
        with Store(db) as store:
            yield store
    except StoreBusyError:
        raise  # someone else's store, made just now: never ours to remove
    except BaseException:
        if new and path is not None and wal is not None:
            path.unlink(missing_ok=True)
            wal.unlink(missing_ok=True)
            for folder in made:
                try:
                    folder.rmdir()
                except OSError:
                    break
        raise


def _change() -> Change:
    return Change(actor=current_user(), source="cli", access=cli_access(current_user()))


def _users(args: argparse.Namespace) -> int:
    from coprod import users

    if args.users_command == "list":
        with Store(args.db, read_only=True) as store:
            people = users.list_users(store)
            public = users.public_view(store)
        for u in people:
            boards = "every board" if u.boards is None else ", ".join(sorted(u.boards))
            say(f"{u.identity}\t{u.role.value}\t{boards}\t{u.name or ''}")
        if not people:
            say("Nobody has been given a role yet.")
        say(f"Visitors who are not signed in see the public view: {'yes' if public else 'no'}.")
        return EXIT_OK
    with _writable_store(args.db) as store:
        if args.users_command == "add":
            action, saved = users.save_user(
                store, args.email, args.role, args.boards, _change(), name=args.name
            )
            boards = "every board" if saved.boards is None else ", ".join(sorted(saved.boards))
            say(f"{saved.identity} is {saved.role.value} for {boards} ({action}).")
        elif args.users_command == "remove":
            users.remove_user(store, args.email, args.reason, _change())
            say(f"{args.email} no longer has a role.")
        else:
            changed = users.set_setting(store, "public_view", args.state, _change())
            say(f"The public view is {args.state}" + ("." if changed else " (unchanged)."))
    return EXIT_OK


def _import_rejected() -> type[ImportRejected]:
    """The import's refusal, looked up only when a command failed: the interchange and its
    models are not imported by the commands that never read a file (``coprod check``)."""
    from coprod.interchange import ImportRejected

    return ImportRejected


def _csv_files() -> dict[str, str]:
    from coprod.models import ENTITIES

    return {f"{e.file_name}.csv": "csv" for e in ENTITIES}


def _demo(args: argparse.Namespace) -> int:
    from coprod.demo import write_demo
    from coprod.interchange import import_source

    if args.out:
        refuse_unsafe_folder(args.out, _csv_files(), store_location(args.db), "demo data")
        _leftovers(remove_leftovers(args.out.parent, name=args.out.name))
        try:
            with staged_folder(args.out) as staging:
                write_demo(staging, boards=args.boards, seed=args.seed)
        except OSError as exc:
            raise _not_written("folder", args.out, exc, "no demo data was written") from None
        say(f"Wrote demo data for {args.boards} board(s) to {args.out}.")
    if args.db or not args.out:
        with tempfile.TemporaryDirectory() as folder:
            if not args.out:
                write_demo(folder, boards=args.boards, seed=args.seed)
            source = args.out or Path(folder)
            with _writable_store(args.db) as store:
                summary = import_source(store, source, _change())
                say(f"Loaded demo data into {store.location}:")
        for line in summary.lines():
            say(f"  {line}")
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from coprod.interchange import import_source

    with _writable_store(args.db) as store:
        summary = import_source(store, args.source, _change())
        say(f"Imported {args.source} into {store.location}:")
    for line in summary.lines():
        say(f"  {line}")
    return EXIT_OK


def _export_files(file_format: str) -> dict[str, str]:
    """The files an export in ``file_format`` writes."""
    from coprod.models import ENTITIES

    if file_format == "xlsx":
        return {"coprod.xlsx": "xlsx"}
    return {f"{e.file_name}.{file_format}": file_format for e in ENTITIES}


def _export(args: argparse.Namespace) -> int:
    from coprod.interchange import export

    """Every file is written into a hidden folder beside ``--out`` and moved into place only
    when all of them are whole: a full disk never leaves half an export."""
    out: Path = args.out
    refuse_unsafe_folder(out, _export_files(args.format), store_location(args.db), "export")
    failure: StoreError | None = None
    with Store(args.db, read_only=True) as store:
        _leftovers(remove_leftovers(out.parent, name=out.name))
        with _quiet_unraisable():
            try:
                with staged_folder(out) as staging:
                    written = export(store, staging, args.format)
            except (OSError, duckdb.Error) as exc:
                failure = _not_written("export", out, exc, "nothing was exported")
    if failure is not None:
        raise failure
    say(f"Wrote {len(written)} file(s) to {out}.")
    return EXIT_OK


@contextmanager
def _quiet_unraisable() -> Iterator[None]:
    """A write that failed half-way leaves objects behind (openpyxl's half-written sheets)
    that complain with a traceback when they are freed; they are freed here, in silence, as
    the one sentence has said what happened."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        yield
    finally:
        gc.collect()
        sys.unraisablehook = hook


def _size(count: int) -> str:
    size = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _backup(args: argparse.Namespace) -> int:
    from coprod.backup import backup, record_count

    refuse_unsafe_folder(args.out, {}, store_location(args.db), "backup")
    with Store(args.db, read_only=True) as store:
        result = backup(store, args.out)
        location = store.location
    _leftovers(result.leftovers)
    tables = result.manifest["tables"]
    records = record_count(result.manifest)
    say(
        f"Backed up {location} to {result.folder}: {records} records (withdrawn ones "
        f"included), {tables['audit_log']['rows']} audit-trail entries, schema version "
        f"{result.manifest['schema_version']}, {_size(result.size)}."
    )
    return EXIT_OK


def _restore(args: argparse.Namespace) -> int:
    from coprod.backup import record_count, restore

    result = restore(args.backup, args.db, force=args.force)
    _leftovers(result.leftovers)
    tables = result.manifest["tables"]
    records = record_count(result.manifest)
    say(
        f"Restored {args.backup} (made {result.manifest['created_at']} by "
        f"{result.manifest['created_by']}) into {result.location}: {records} records, "
        f"{tables['audit_log']['rows']} audit-trail entries."
    )
    if result.kept is not None:
        say(f"The store it replaced is kept as {result.kept}.")
    return EXIT_OK


def _migrate(args: argparse.Namespace) -> int:
    from coprod.migrate import migrate

    result = migrate(args.source, args.target, force=args.force)
    replaced = f", replacing the {result.replaced} rows it held" if result.replaced else ""
    say(f"Copied {result.source} into {result.target}{replaced}:")
    for line in result.lines():
        say(f"  {line}")
    say(
        "verified: the two stores export the same, and hold the same records, audit trail, "
        "users and settings."
    )
    return EXIT_OK


def _write_output(path: Path, data: bytes, what: str) -> None:
    """Write a report or pack whole, or not at all, saying so in one sentence if it cannot."""
    from coprod.interchange import write_file_atomically

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomically(path, data)
    except OSError as exc:
        raise _not_written(what, path, exc, "nothing was written") from None


def _board_report(args: argparse.Namespace) -> int:
    from coprod.report import board_report

    refuse_unsafe_file(args.out, "pdf", store_location(args.db), "report")
    with Store(args.db, read_only=True) as store:
        pdf = board_report(store, args.board, args.start, args.end, as_of=args.as_of)
    _leftovers(remove_leftovers(args.out.parent, name=args.out.name))
    _write_output(args.out, pdf, "report")
    say(f"Wrote the board report for {args.board}, {args.start} to {args.end}, to {args.out}.")
    return EXIT_OK


def _evidence(args: argparse.Namespace) -> int:
    from coprod.evidence import make_evidence_pack

    refuse_unsafe_file(args.out, "zip", store_location(args.db), "evidence pack")
    with Store(args.db, read_only=True) as store:
        pack = make_evidence_pack(store, args.board, args.start, args.end, args.as_of)
    _leftovers(remove_leftovers(args.out.parent, name=args.out.name))
    _write_output(args.out, pack.data, "evidence pack")
    say(
        f"Wrote the evidence pack for board {args.board}, {args.start} to {args.end}, to "
        f"{args.out}: {sum(pack.records.values())} records, {pack.findings} findings, "
        f"{pack.audit_entries} audit-trail entries."
    )
    return EXIT_OK


def _report(rejected: ImportRejected) -> None:
    count = len(rejected.problems)
    say(f"Nothing was imported: {count} problem{'s' if count != 1 else ''} found.", err=True)
    _problems(rejected.problems)


def _problems(problems: Iterable[Problem]) -> None:
    for problem in problems:
        say(f"  {problem}", err=True)


def _check(args: argparse.Namespace) -> int:
    with Store(args.db, read_only=True) as store:
        result = run_check(store, args.as_of, boards=args.board)
    if args.format == "json":
        # Streamed from DuckDB, whose JSON escapes every control character (\u001b), so none
        # reaches the terminal; a national check is never held as Python objects.
        result.write_json(sys.stdout)
    else:
        sys.stdout.write(printable(format_table(result)))
    return EXIT_OK


def format_table(result: CheckResult) -> str:
    """A readable summary: categories, tick-box suspects, then every finding.

    Read column by column from the check's Arrow tables (a national check holds hundreds of
    thousands of findings: no dict per row), each message wrapped once however often it
    recurs."""
    decisions, findings = result.decision_table, result.finding_table
    lines = [f"Co-production check as of {result.as_of:%-d %B %Y}", ""]
    categories = Counter(_column(decisions, "first_involvement"))
    lines.append(
        f"{decisions.num_rows} decisions. When were people who use services first involved?"
    )
    for category in CATEGORY_ORDER:
        if categories[category]:
            lines.append(f"  {categories[category]:>6}  {category:<15} {CATEGORIES[category]}")
    suspects = sum(1 for suspect in _column(decisions, "tick_box_suspect") if suspect)
    lines.append(f"  {suspects:>6}  tick-box suspects")
    lines.append("")
    severities = Counter(_column(findings, "severity"))
    lines.append(
        f"{findings.num_rows} findings: "
        + ", ".join(
            f"{severities[s]} {s}" for s in ("critical", "major", "minor", "warning", "info")
        )
    )
    lines.append("")
    header = f"{'SEVERITY':<9} {'CODE':<23} {'CONCERNS':<24} MESSAGE"
    lines.append(header)
    lines.append("-" * len(header))
    names = ("severity", "code", "decision_id", "meeting_id", "board_id", "item", "message")
    for severity, code, decision, meeting, board, item, message in zip(
        *(_column(findings, n) for n in names), strict=True
    ):
        concerns = decision or meeting or board or ""
        if item and not meeting:
            concerns = f"{board} {item}"
        wrapped = _wrapped(message)
        lines.append(f"{severity:<9} {code:<23} {concerns:<24} {wrapped[0]}")
        lines.extend(f"{'':<58} {more}" for more in wrapped[1:])
    return "\n".join(lines) + "\n"


def _column(table: pa.Table, name: str) -> list[Any]:
    return table[name].to_pylist() if table.num_rows else []


# Words are not broken at their hyphens: "co-production" stays on one line.
_WRAPPER = textwrap.TextWrapper(width=70, break_on_hyphens=False)


@functools.lru_cache(maxsize=1 << 16)
def _wrapped(message: str) -> tuple[str, ...]:
    return tuple(_WRAPPER.wrap(message)) or ("",)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
