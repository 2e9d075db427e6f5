"""Building one email as raw MIME with the stdlib `email` package.

The message is assembled under compat32, whose headers are plain strings. The modern policy parses
every header it stores into the header registry's objects, and parses Content-Type again each time
the generator reads it (several times a part): about two thirds of building a campaign mail (issue
15). What compat32 does not do the modern way is left to the modern policy: a header that needs
encoding or folding is stored as the registry's object and folded by it (`_Assembly`), and the
bodies are encoded by the same content manager, so the bytes are those the modern policy writes
(tests/test_mime.py compares them).
"""
from __future__ import annotations

import secrets
from email.contentmanager import raw_data_manager
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP, Compat32
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


class _Assembly(Compat32):
    """compat32 that writes each header as build_mime stored it: a printable ASCII line as it is,
    a registry header (one that needed encoding or folding) folded by the modern policy."""

    def fold_binary(self, name: str, value: str | BaseHeader) -> bytes:
        if isinstance(value, BaseHeader):  # a str too: it holds the decoded value
            return value.fold(policy=_HEADER_POLICY).encode("ascii")
        return f"{name}: {value}{self.linesep}".encode("ascii")


# Bodies are encoded at the modern policy's line length (78) and line ending.
_ASSEMBLY = _Assembly(linesep=SMTP.linesep, max_line_length=SMTP.max_line_length)


def build_mime(mail: OutgoingEmail) -> bytes:
    """multipart/alternative (text, then HTML) when there is HTML; plain text otherwise."""
    message = EmailMessage(policy=_ASSEMBLY)
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
    message.set_content(mail.text, content_manager=raw_data_manager)
    if mail.html:
        message.add_alternative(mail.html, subtype="html", content_manager=raw_data_manager)
        message.set_boundary(_boundary())
    return message.as_bytes()


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
    # needs no encoding or folding (printable ASCII, within the line limit) is stored as it is.
    # Anything else is parsed, which encodes it or refuses a line break (ValueError), VT and FF too.
    if value.isascii() and value.isprintable() and len(name) + len(value) < 990:
        message[name] = value
    else:
        message[name] = _POLICY.header_store_parse(name, value)[1]
