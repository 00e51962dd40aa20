"""The complaint categories the classifier chooses from: the ticket vocabulary of DESIGN.md, not a copy."""

from __future__ import annotations

from typing import Final

from bot.tickets.vocab import CATEGORY_LABELS as TICKET_CATEGORY_LABELS
from bot.tickets.vocab import Category

CATEGORY_CODES: Final = tuple(category.value for category in Category)
# Indonesian labels, the same an officer sees on the ticket.
CATEGORY_LABELS: Final = {category.value: label for category, label in TICKET_CATEGORY_LABELS.items()}

# Advice to callers, not a rule the classifier applies: below this top-class probability the category is a
# guess and an officer should confirm it. The classifier always reports its best category with its real
# confidence (it never swaps in "lainnya"); the caller decides (the intake form highlights the field, etc.).
LOW_CONFIDENCE_THRESHOLD: Final = 0.35


def category_label(code: str) -> str:
    return CATEGORY_LABELS.get(code, code)
