"""The tables the pages build from a check (coprod.views)."""

from __future__ import annotations

from pathlib import Path

from builders import CHANGE, check

from coprod.bulk import import_folder
from coprod.demo import DEMO_AS_OF, write_demo
from coprod.store import Store
from coprod.views import decisions_frame


def test_each_decision_row_lists_the_codes_of_its_findings_in_order(
    store: Store, tmp_path: Path
) -> None:
    write_demo(tmp_path / "demo", boards=3)
    done, _ = import_folder(store, tmp_path / "demo", CHANGE)
    assert done is not None
    result = check(store, DEMO_AS_OF)
    frame = decisions_frame(result)
    assert list(frame["decision_id"]) == [d["decision_id"] for d in result.decisions]
    listed = dict(zip(frame["decision_id"], frame["findings"], strict=True))
    for decision in result.decisions:
        want = sorted(f["code"] for f in result.findings_about(decision["decision_id"]))
        assert listed[decision["decision_id"]] == want
    assert sum(1 for codes in listed.values() if not codes) > 0  # some have none: []
    assert sum(1 for codes in listed.values() if len(codes) > 2) > 0
