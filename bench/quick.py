"""`make bench-quick`: every speed goal as a ratio to a floor measured in the same run, in a few
minutes, written to docs/benchmarks.md.

    .venv/bin/python bench/quick.py [--out docs/benchmarks.md] [--work DIR] [--rounds 7]
                                    [--starts 3] [--boards 31] [--no-browser] [--no-write]

1. On the demo data (3 boards, ``coprod demo --db WORK/3/store.duckdb``): bench/ratios.py,
   the Overview, the Decision story, Meeting mode and Decisions in Chromium against a trivial
   Streamlit page, and the first Overview after the server starts against the trivial app's
   first page after its start.
2. At ``--boards`` boards (31, Scotland; ``coprod demo --boards 31 --out WORK/31/csv``):
   bench/floors.py's command-line ratios: the import of those files against DuckDB's
   ``read_csv`` of them, ``coprod check --format json`` as a whole process against a whole
   process running the floor query, and the rules warm after a write against the floor query.

Prints the table and writes it to docs/benchmarks.md (the block ``ratios``; the rest of the
file is left as it is), and the figures to WORK/quick.json. WORK is a temporary folder unless
``--work`` is given (then the demo files are kept there and reused).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from browser_ready import machine
from floors import dump, measure_cli, ratio_section, write_block
from run import PYTHON, ROOT, generate, script


def demo_store(folder: Path) -> Path:
    """The demo data (3 boards) in a store, made once."""
    db = folder / "store.duckdb"
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        subprocess.run(
            [PYTHON, "-m", "coprod.cli", "demo", "--db", str(db)],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        (folder / ".complete").touch()
    return db


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--work", type=Path, help="keep the demo data here (default: temporary)")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds of pages (7)")
    parser.add_argument("--starts", type=int, default=3, help="fresh server starts (3)")
    parser.add_argument("--boards", type=int, default=31, help="size for the command line (31)")
    parser.add_argument("--no-browser", action="store_true", help="skip the pages in Chromium")
    parser.add_argument("--no-write", action="store_true", help="do not touch --out")
    args = parser.parse_args(argv)
    started = machine()
    with tempfile.TemporaryDirectory(prefix="coprod-quick-") as tmp:
        work = args.work or Path(tmp)
        pages: dict[int, dict[str, Any] | str] = {}
        if not args.no_browser:
            print("[3 boards] the demo data; pages in Chromium", file=sys.stderr, flush=True)
            db = demo_store(work / "3")
            pages[3] = script(
                "ratios.py",
                str(db),
                "--rounds",
                str(args.rounds),
                "--starts",
                str(args.starts),
                out=work / "3" / "ratios.json",
                timeout=3600,
                progress=True,
            )
        print(f"[{args.boards} boards] the command line", file=sys.stderr, flush=True)
        folder = work / str(args.boards)
        generate(args.boards, folder / "csv")
        cli = {args.boards: measure_cli("", work=folder, csv=folder / "csv")}
        ended = machine()
        text = ratio_section(pages, cli, command="make bench-quick", started=started, ended=ended)
        dump(work / "quick.json", {"pages": pages, "cli": cli, "machine": started,
                                   "machine_after": ended})  # fmt: skip
    print(text)
    if not args.no_write:
        write_block(args.out, "ratios", text, before="profile")
        print(f"Wrote the ratios to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
