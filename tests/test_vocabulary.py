"""The words a person reads for stored values (coprod.vocabulary)."""

from __future__ import annotations

from enum import StrEnum

import coprod.models as models
from coprod.models import DEFAULT_HEALTH_CHECK_ITEMS, Level, MemberRole
from coprod.vocabulary import word


def test_values_read_as_words_not_as_codes() -> None:
    assert word(Level.co_design) == "co-design"
    assert word("co_produce") == "co-produce"
    assert word("dpo") == "DPO"
    assert word("one_to_one") == "one-to-one"
    assert word(MemberRole.dpo_rep) == "DPO representative"
    assert word("shared_understanding_problem") == "shared understanding of the problem"
    assert word("focus_group") == "focus group"


def test_no_stored_value_is_shown_with_an_underscore() -> None:
    enums = [
        e for e in vars(models).values()
        if isinstance(e, type) and issubclass(e, StrEnum) and e is not StrEnum
    ]  # fmt: skip
    assert len(enums) >= 12
    values = [v.value for e in enums for v in e] + list(DEFAULT_HEALTH_CHECK_ITEMS)
    assert [v for v in values if "_" in word(v)] == []
