"""Whether free text holds contact data: an email address or a phone number.

For text kept where contact data never goes, such as an operator's reason in the audit log
(P27). It asks the libraries that read addresses and numbers everywhere else, so it finds what
they would accept: an address `email-validator` takes, and a number in international form
(`+40 712 345 678`; phones are kept in E.164, so no national form is ever read as one).
"""
from __future__ import annotations

import re
import unicodedata

from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.errors import InvalidInput

# What commonly wraps an address in prose: `<ann@example.com>`, `(ann@…)`, `mailto:ann@…`, `ann@….`,
# and the typographic quotes and apostrophes keyboards and word processors type (`ann@…\u2019s`).
_AROUND_ADDRESSES = str.maketrans({character: " " for character in
                                   "<>()[]{},;:\"'\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u00ab\u00bb\u2039\u203a"})
# What may end a word after an address in prose, in any script: a sentence's end (`.`, `!`, `?`,
# an ellipsis, an ideographic full stop) or a closing quote. A domain ends in a letter or digit.
_AFTER_ADDRESS = re.compile(r"[\W_]+$")


def contact_data_in(text: str) -> str | None:
    """What contact data `text` holds: "an email address", "a phone number", or None. Never the
    value itself, so an error can say what it found without repeating it."""
    if email_address_in(text):
        return "an email address"
    import phonenumbers  # lazily: its metadata is large, and only operator commands ask

    if phonenumbers.PhoneNumberMatcher(text, None).has_next():
        return "a phone number"
    return None


def email_address_in(text: str) -> bool:
    """Whether `text` holds an email address (contact_data_in without the search for numbers)."""
    # NFKC: full-width letters and at signs (typed by CJK input methods) read as the ASCII ones.
    return any("@" in word and _is_email(_AFTER_ADDRESS.sub("", word))
               for word in unicodedata.normalize("NFKC", text).translate(_AROUND_ADDRESSES).split())


def _is_email(word: str) -> bool:
    try:
        normalise_email(word)
    except InvalidInput:
        return False
    return True

