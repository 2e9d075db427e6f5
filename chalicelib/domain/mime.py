"""Building one email as raw MIME with the stdlib `email` package."""
from __future__ import annotations

import secrets
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from chalicelib.domain.addresses import ascii_domain
from chalicelib.domain.clock import now
from chalicelib.domain.outgoing import OutgoingEmail


class _HeaderClasses(HeaderRegistry):
    """The stdlib registry builds a new header class on every lookup (several per message);
    the class for a name never changes, so it is built once."""

    def __init__(self) -> None:
        super().__init__()
        self._built: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        if key not in self._built:
            self._built[key] = super().__getitem__(name)
        return self._built[key]


_POLICY = SMTP.clone(header_factory=_HeaderClasses())
# Headers are written with RFC 5322's hard line limit, not the 78-character default: Python folds
# a longer word by RFC 2047-encoding it, which would break the long signed URLs in
# List-Unsubscribe (RFC 2369). Bodies keep the default, so base64/QP lines stay within 76.
_HEADER_POLICY = _POLICY.clone(max_line_length=998)


def build_mime(mail: OutgoingEmail) -> bytes:
    """multipart/alternative (text, then HTML) when there is HTML; plain text otherwise."""
    message = EmailMessage(policy=_POLICY)
    _set_address_header(message, "From", mail.sender)
    _set_address_header(message, "To", mail.recipient)
    _set_header(message, "Subject", mail.subject)
    _set_header(message, "Date", format_datetime(now()))
    sender_domain = _address_parts(mail.sender)[2]
    _set_header(message, "Message-ID", make_msgid(domain=ascii_domain(sender_domain) or None))
    if mail.reply_to:
        _set_address_header(message, "Reply-To", mail.reply_to)
    for name, value in mail.headers.items():
        _set_header(message, name, value)
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
        message.set_boundary(_boundary())
    return message.as_bytes(policy=_HEADER_POLICY)


def _boundary() -> str:
    """A multipart boundary of 128 random bits: it cannot turn up in a part by chance, and no
    sender can guess it. The stdlib would make a weaker one and compile a regular expression per
    message to search the parts for it, about a sixth of building a campaign mail (issue 15)."""
    return f"==tidings_{secrets.token_hex(16)}=="


def _address_parts(value: str) -> tuple[str, str, str, str]:
    """(before the @, the @, the domain, a closing ">" or "") of `address` or `name <address>`: the
    domain is after the last @ (a display name holding an @ is quoted before the address)."""
    head, at, domain = value.rpartition("@")
    bracket = ">" if domain.endswith(">") else ""
    return head, at, domain.removesuffix(">"), bracket


def _set_address_header(message: EmailMessage, name: str, value: str) -> None:
    """An address header (`address` or `name <address>`, as composed), its domain in ASCII: SES
    and most mail servers take no other. Only the domain changes: the display name is set as it
    is for any address."""
    head, at, domain, bracket = _address_parts(value)
    if at and not domain.isascii():
        value = f"{head}@{ascii_domain(domain)}{bracket}"
    _set_header(message, name, value)


def _set_header(message: EmailMessage, name: str, value: str) -> None:
    # Parsing a header into the header registry is most of a message's CPU time: a value that
    # needs no encoding or folding (one ASCII line, within the line limit) is stored as it is.
    # Anything else takes the parsing path, which encodes it or refuses a line break.
    if value.isascii() and "\r" not in value and "\n" not in value and len(name) + len(value) < 990:
        message.set_raw(name, value)
    else:
        message[name] = value
