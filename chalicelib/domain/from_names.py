"""The From name an account writes for a campaign, its tests or a transactional mail (P35).

Many mail programs show only the name, and show it decoded: a name holding an email address, or
an RFC 2047 encoded-word (which could decode to one, or to a line break), or one drawn right to
left by a directional override, shows a sender the account does not own.
"""
from __future__ import annotations

from chalicelib.domain.contact_text import email_address_in
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.header_text import check_contact_text, check_no_encoded_word
from chalicelib.domain.sender_names import visible_text


def check_from_name(value: str | None) -> None:
    """InvalidInput naming `from_name` unless it is one line of plain text that shows no email
    address (as drawn, whatever invisible characters or full-width at signs it is typed with),
    nor reorders itself, as an account's name may not (domain/accounts.py). None passes."""
    if value is None:
        return
    check_contact_text(value, "from_name")  # a directional override could draw an address backwards
    check_no_encoded_word(value, "from_name")
    if email_address_in(visible_text(value)):
        raise InvalidInput("'from_name' must not contain an email address: the recipient may read it as "
                           "the sender's; send from that address as a verified identity instead (P35)",
                           field="from_name")
