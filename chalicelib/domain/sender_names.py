"""An account's name where a person reads it in a text: HELP, the platform's own answer, names
the accounts that texted a number (domain/sms_keywords.py), and each account chose its name.

So a name must not make the platform's voice say "call +44 ..." or "log in at evil.example": a
name holding a web address, an email address or a phone number is refused at save
(domain/accounts.py, a 400 naming `name`), and one saved before that check is not shown in a
text (`sms_display_name`). What a text shows is the name as a phone would draw it (compatibility
form: full-width letters and digits read as ASCII ones), without invisible or reordering
characters, on one line, and cut to SMS_NAME_CHARS: every character of a text costs.
"""
from __future__ import annotations

import re
import unicodedata

from chalicelib.domain.contact_text import contact_data_in
from chalicelib.domain.sms_encoding import GSM7_BASIC, GSM7_EXTENSION
from chalicelib.domain.unseen import drawn_as_nothing

# The most of a stored name read: more than a save takes (200), so a name written by hand (up
# to DynamoDB's 400 KB) costs no more to check than one saved; a search is quadratic at worst.
_READ_CHARS = 1000
# The most of a name a text shows (each name after the first in a HELP answer costs the same).
SMS_NAME_CHARS = 40
# Categories drawn as a break or not at all (besides format characters, domain/unseen.py):
# controls, surrogates, private-use and unassigned code points.
_UNDRAWN = frozenset({"Cc", "Cs", "Co", "Cn"})
# What a phone makes a link of: a scheme, "www.", or a host name (labels joined by dots, the
# last one letters only, as every top-level domain is, in any script), with a path or not.
_WEB_ADDRESS = re.compile(r"[a-z][a-z0-9+.-]{0,31}://|\bwww\.|\b[\w-]{1,63}(?:\.[\w-]{1,63})*\.[^\W\d_]{2,63}\b",
                          re.IGNORECASE)
# Nine digits or more, however spaced or punctuated: a number a phone would offer to dial,
# national forms ("0900 123 456") included; a year range ("2024-2025") is not one.
_DIALABLE = re.compile(r"\d(?:[\s().\-/]*\d){8,}")


def visible_text(text: str) -> str:
    """`text` in compatibility form, without what is drawn as nothing (invisible and reordering
    characters), every run of spaces and breaks one space."""
    # A line or paragraph separator is a space (isspace); a control that is none is dropped.
    shown = "".join(" " if char.isspace() else char for char in unicodedata.normalize("NFKC", text)
                    if char.isspace() or not _undrawn(char))
    return " ".join(shown.split())


def _undrawn(char: str) -> bool:
    return unicodedata.category(char) in _UNDRAWN or drawn_as_nothing(char)


def contact_in_name(name: str) -> str | None:
    """What a name holds that a text must not show, as a phone reads it: "a web address", "an
    email address", "a phone number", or None."""
    return _contact_in_visible(visible_text(name[:_READ_CHARS]))


def _contact_in_visible(shown: str) -> str | None:
    found = contact_data_in(shown)
    if found is not None:
        return found
    if _WEB_ADDRESS.search(shown):
        return "a web address"
    if _DIALABLE.search(shown):
        return "a phone number"
    return None


def sms_display_name(name: str) -> str | None:
    """`name` as a text shows it (see the module's docstring), or None when it must not be shown
    (it holds a link or contact data, or nothing visible). A character outside the GSM-7 alphabet
    that is one inside it with an accent ("Ș") loses the accent: one such character would send
    the whole text as UCS-2, at twice the parts."""
    visible = visible_text(name[:_READ_CHARS])
    if _contact_in_visible(visible) is not None:
        return None
    shown = "".join(map(_gsm7_form, visible))
    if not shown:
        return None
    return shown if len(shown) <= SMS_NAME_CHARS else shown[:SMS_NAME_CHARS - 3].rstrip() + "..."


def _gsm7_form(char: str) -> str:
    if char in GSM7_BASIC or char in GSM7_EXTENSION:
        return char
    bare = "".join(part for part in unicodedata.normalize("NFD", char) if not unicodedata.combining(part))
    return bare if bare and all(part in GSM7_BASIC for part in bare) else char
