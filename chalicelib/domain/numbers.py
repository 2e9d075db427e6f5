"""Reading a whole number that a person typed (a query parameter, a form field, a CSV cell)."""
from __future__ import annotations

_MOST_DIGITS = 9


def whole_number(text: str) -> int | None:
    """The number `text` spells in at most nine ASCII digits, else None.

    `str.isdigit()` alone passes `²` (which `int()` refuses) and `٣` (which it reads as 3), and
    `int()` refuses 4,300 digits or more: each was a 500 where a 400 was due."""
    if not (text.isascii() and text.isdigit()) or len(text) > _MOST_DIGITS:
        return None
    return int(text)
