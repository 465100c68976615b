"""Shared fixtures: a fresh store on a real DuckDB file for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coprod.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "coprod.duckdb")
    try:
        yield opened
    finally:
        opened.close()
