"""The words a person reads for a stored value: ``co_design`` is "co-design", ``dpo`` "DPO",
``one_to_one`` "one-to-one". Pages, charts, the board report and Meeting mode ask ``word`` rather
than turning underscores into spaces, which gave "co design" and "dpo".
"""

from __future__ import annotations

# Values whose words are not the value with spaces for underscores.
_WORDS: dict[str, str] = {
    # the ladder, and what a board paper claims
    "co_design": "co-design",
    "co_produce": "co-produce",
    # groups, respondents and members' roles
    "dpo": "DPO",
    "people_who_use_services": "people who use services",
    "vice_chair": "vice-chair",
    "voting_health_board": "voting member (health board)",
    "voting_council": "voting member (council)",
    "service_user_rep": "service user representative",
    "carer_rep": "carer representative",
    "third_sector_rep": "third sector representative",
    "staff_rep": "staff representative",
    "dpo_rep": "DPO representative",
    # methods and formats
    "one_to_one": "one-to-one",
    "bsl": "BSL",
    "easy_read": "easy read",
    # the default health-check items
    "shared_understanding_coproduction": "shared understanding of co-production",
    "shared_understanding_problem": "shared understanding of the problem",
    "shared_understanding_outcome": "shared understanding of the outcome",
}


def word(value: object) -> str:
    """The words for a stored value (an enum's value, a health-check item, a table's name)."""
    text = str(getattr(value, "value", value))
    return _WORDS.get(text, text.replace("_", " "))
