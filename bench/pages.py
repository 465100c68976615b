"""Server-side render time of every dashboard page, with Streamlit's AppTest.

    .venv/bin/python bench/pages.py --db bench/out/200/store.duckdb [--repeat 3] [--json-out F]

For each page: "first" is a run with Streamlit's caches emptied (the check and its tables are
computed again, as after a write or a restart); "repeated" is the median of the next runs, as
when a person clicks around a page. Runs as the local admin (no sign-in configured), on the
period the dashboard opens with (the last three years) judged as of the demo date.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def measure(db: Path | str, repeat: int) -> dict[str, dict[str, float]]:
    os.environ["COPROD_DB"] = str(db)
    sys.path.insert(0, str(ROOT))
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import ui
    from coprod.demo import DEMO_AS_OF

    def run(at: AppTest) -> float:
        start = time.perf_counter()
        at.run()
        elapsed = time.perf_counter() - start
        if at.exception:
            raise RuntimeError(f"{at.exception[0].value}")
        return elapsed

    out: dict[str, dict[str, float]] = {}
    for path, title, _icon, _needs in ui.PAGES:
        at = AppTest.from_file(APP, default_timeout=600)
        at.session_state["as_of"] = DEMO_AS_OF
        run(at)  # the session's first run, on the Overview
        at.switch_page(path)
        st.cache_resource.clear()
        st.cache_data.clear()
        first = run(at)
        repeated = [run(at) for _ in range(repeat)]
        out[title] = {"first": first, "repeated": statistics.median(repeated)}
        print(f"{title}: first {first:.2f} s, repeated {out[title]['repeated']:.2f} s", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", required=True, help="the store to render: a file or a postgresql:// address"
    )
    parser.add_argument("--repeat", type=int, default=3, help="repeated runs per page")
    parser.add_argument("--json-out", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures: dict[str, Any] = measure(args.db, args.repeat)
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
