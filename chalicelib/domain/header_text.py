"""Text that ends up in a mail header (From name, Subject, a list's or an account's name).

A header is one line. Python's `email` package refuses CR and LF, but the other Unicode line
breaks (U+0085 NEXT LINE, U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR, and the controls
VT, FF, FS, GS, RS that `str.splitlines` also breaks on) reach its folding code, which then fails
for every mail: the campaign would be saved and every message dead-lettered. So every save path
refuses them, and every other control character, with a 400 naming the field (P08, no silent loss).
"""
from __future__ import annotations

import re
import unicodedata

from chalicelib.domain.errors import InvalidInput
from chalicelib.templates import N_

# Unicode categories a header value may never hold: controls (Cc: C0, DEL, C1 such as U+0085),
# line separators (Zl) and paragraph separators (Zp), and lone surrogates (Cs), which no mail
# (nor DynamoDB) can encode.
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})


def first_refused_character(value: str) -> str | None:
    """The first character of `value` a header may not hold, or None."""
    for character in value:
        if unicodedata.category(character) in _REFUSED_CATEGORIES:
            return character
    return None


def describe(character: str) -> str:
    """`U+2028 (LINE SEPARATOR)`: how an error names a character without printing it."""
    name = unicodedata.name(character, "")
    return f"U+{ord(character):04X}" + (f" ({name})" if name else "")


def check_header_text(value: str | None, field: str) -> None:
    """InvalidInput naming `field` when `value` holds a line break, a control character or a lone
    surrogate (see the module's docstring); None passes."""
    if value is None:
        return
    refused = first_refused_character(value)
    if refused is not None:
        raise InvalidInput(N_("'%(field)s' must be one line of text: it contains %(character)s"),
                           field=field, params={"field": field, "character": describe(refused)})


# An RFC 2047 encoded-word (`=?utf-8?q?...?=`), as Python's parser and mail programs take one: in a
# header they show it decoded, wherever it stands. Written as text it would carry past
# check_header_text what it refuses (a CR/LF, U+2028, a NUL), or show another sender's address as
# the From name (the "Mailsploit" spoofs); the email package sends it as written.
_ENCODED_WORD = re.compile(r"=\?[^?]*\?[bq]\?[^?]*\?=", re.IGNORECASE)


def check_no_encoded_word(value: str | None, field: str) -> None:
    """InvalidInput naming `field` when `value` holds an encoded-word; None passes."""
    if value is not None and _ENCODED_WORD.search(value):
        raise InvalidInput(N_("'%(field)s' must not contain an encoded-word (=?...?=): a mail program "
                              "would show it decoded, as text no check saw"),
                           field=field, params={"field": field})


# Unicode's explicit directional embeddings, overrides and isolates (U+202A-U+202E,
# U+2066-U+2069). In a person's name they reorder what a subject or greeting shows around it
# (U+202E turns "Ann, your invoice" into its mirror); nobody types them into a signup form, and an
# account's own text, where right-to-left writing may use them, is not checked for them.
BIDI_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
_NO_BIDI = dict.fromkeys(map(ord, BIDI_CONTROLS))


def without_bidi_controls(value: str) -> str:
    """`value` without BIDI_CONTROLS: for contact data saved before they were refused, as it is
    rendered into a mail."""
    return value.translate(_NO_BIDI)


def check_contact_text(value: str, field: str) -> None:
    """check_header_text, and InvalidInput naming `field` when `value` holds a BIDI_CONTROLS
    character: for what people give about themselves (contact fields, attributes)."""
    check_header_text(value, field)
    reordering = next((character for character in value if character in BIDI_CONTROLS), None)
    if reordering is not None:
        raise InvalidInput(N_("'%(field)s' must not contain %(character)s: it reorders the text around it"),
                           field=field, params={"field": field, "character": describe(reordering)})


def one_line(value: str) -> str:
    """`value` as one header line: every run of whitespace or refused characters becomes one
    space. For text rendered at send time from subscribers' data, which no save could check."""
    spaced = "".join(" " if character.isspace() or unicodedata.category(character) in _REFUSED_CATEGORIES
                     else character for character in value)
    return " ".join(spaced.split())


# The longest line RFC 5322 allows. A subject rendered longer (a loop, long variables) is no
# subject anyone reads, and the email package takes seconds to minutes folding one of 10^4-10^5
# characters, for every recipient.
MAX_SUBJECT = 998


def subject_line(value: str) -> str:
    """`value` as a rendered subject: one line (one_line), cut to MAX_SUBJECT characters and
    marked cut (…)."""
    line = one_line(value)
    return line if len(line) <= MAX_SUBJECT else line[:MAX_SUBJECT - 1].rstrip() + "\u2026"


def header_text(value: str, field: str, *, required: bool = True) -> str:
    """`value` stripped and checked (check_header_text); InvalidInput when it is required and
    nothing but spaces."""
    check_header_text(value, field)
    cleaned = value.strip()
    if required and not cleaned:
        raise InvalidInput(f"'{field}' must not be empty", field=field)
    return cleaned
