"""How big a text is on the air, and the most a text may be (P06: a cut text keeps its stop line).

A text made only of GSM 03.38 characters goes as GSM-7: 160 septets in one part, 153 a part when
split, each character of the extension table taking two. One character outside it (an emoji,
"ă", "…") sends the whole text as UCS-2: 70 UTF-16 units in one part, 67 a part when split. AWS
End User Messaging SMS, which carries SNS's texts, refuses a text over 1530 GSM-7 characters or
630 others ("SMS character limits"); SNS's own pages say 1,600 characters (API reference) and
1,600 bytes (developer guide). Tidings holds to the smallest of these readings, counted in the
encoding's own units, so no text it sends is refused or billed for parts it did not plan.
"""
from __future__ import annotations

from collections.abc import Callable

# GSM 03.38's default alphabet (127 characters: its 128th code is the escape to the extension)
# and its extension table, whose characters cost two septets each.
GSM7_BASIC = frozenset("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
# The most a text may be: 10 parts of 153 septets, or 630 UTF-16 units.
MAX_GSM7_SEPTETS = 1530
MAX_UCS2_UNITS = 630


def is_gsm7(text: str) -> bool:
    """Whether `text` goes as GSM-7 (every character in the alphabet or its extension)."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def septets(text: str) -> int:
    """The size of a GSM-7 `text` in septets."""
    return sum(2 if char in GSM7_EXTENSION else 1 for char in text)


def ucs2_units(text: str) -> int:
    """The size of `text` as UCS-2/UTF-16: a character beyond the BMP (most emoji) takes two."""
    return len(text.encode("utf-16-le")) // 2


# The most of a text, as (GSM-7 septets, UCS-2 units): what one publish may carry, and what
# one, two... parts carry (a text of more parts spends 7 septets / 3 units of each on their order).
Limits = tuple[int, int]
ONE_PUBLISH: Limits = (MAX_GSM7_SEPTETS, MAX_UCS2_UNITS)


def parts_limits(parts: int) -> Limits:
    """The most `parts` SMS parts carry."""
    return (160, 70) if parts == 1 else (153 * parts, 67 * parts)


def fits(text: str, limits: Limits = ONE_PUBLISH) -> bool:
    """Whether `text` is within `limits` (by default what one SMS publish may carry), in its own
    encoding."""
    if is_gsm7(text):
        return septets(text) <= limits[0]
    return ucs2_units(text) <= limits[1]


def cut_to_fit(body: str, suffix: str, limits: Limits = ONE_PUBLISH) -> str:
    """`body + suffix`, with the body cut (and marked cut) when the whole would not fit `limits`.
    The mark is "..." when the cut text is GSM-7, so cutting never sends it as UCS-2 (two parts
    and more for one); "…" only in a text that is UCS-2 anyway. `suffix` is always kept whole."""
    if fits(body + suffix, limits):
        return body + suffix
    if is_gsm7(suffix):
        kept = _prefix(body, limits[0] - septets(suffix) - 3, septets)
        if is_gsm7(kept):
            return kept.rstrip() + "..." + suffix
    kept = _prefix(body, limits[1] - ucs2_units(suffix) - 1, ucs2_units)
    return kept.rstrip() + "…" + suffix


def _prefix(text: str, budget: int, size: Callable[[str], int]) -> str:
    """The longest start of `text` whose size is at most `budget`."""
    used = 0
    for index, char in enumerate(text):
        used += size(char)
        if used > budget:
            return text[:index]
    return text

