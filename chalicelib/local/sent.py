"""What moto recorded as "sent": SES emails (raw MIME kept verbatim) and SNS SMS messages.

moto runs in this process (the local stack's ThreadedMotoServer), so its backends are read
directly. moto is a development dependency: it is imported here, never by deployed code.
"""
from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from html.parser import HTMLParser
from typing import Any, cast

_URL = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class SentEmail:
    message_id: str
    sender: str
    to: str
    subject: str
    date: str
    headers: list[tuple[str, str]]
    text: str | None
    html: str | None
    # Every http(s) link in the message, in order, so a person (or a test) can follow one.
    links: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SentSms:
    message_id: str
    to: str
    message: str


def sent_emails() -> list[SentEmail]:
    """Every email SES accepted, oldest first."""
    from moto.backends import get_backend

    return [_email(message) for backend in _region_backends(get_backend("ses"))
            for message in list(backend.sent_messages)]


def sent_sms() -> list[SentSms]:
    """Every SMS SNS published to a phone number, oldest first."""
    from moto.backends import get_backend

    return [
        SentSms(message_id, phone_number, text)
        for backend in _region_backends(get_backend("sns"))
        for message_id, (phone_number, text) in list(backend.sms_messages.items())
    ]


def _region_backends(backends: Any) -> list[Any]:
    # moto keeps one backend per account and region; copies, because moto's threads append.
    return [backend for per_account in list(backends.values()) for backend in list(per_account.values())]


def _email(message: Any) -> SentEmail:
    if hasattr(message, "raw_data"):
        return parse_raw_email(message.id, message.raw_data)
    # SendEmail with Content.Simple: moto keeps only these fields (the headers are lost).
    recipients = ", ".join(message.destinations.get("ToAddresses", []))
    return SentEmail(message.id, message.source, recipients, message.subject, "", [],
                     message.body, None, _links(message.body, None))


def parse_raw_email(message_id: str, raw: str) -> SentEmail:
    """Headers, text and HTML parts of one raw MIME message."""
    parsed = cast(EmailMessage, email.message_from_string(raw, policy=default))
    text = _part(parsed, "plain")
    html = _part(parsed, "html")
    return SentEmail(
        message_id=message_id,
        sender=str(parsed.get("From", "")),
        to=str(parsed.get("To", "")),
        subject=str(parsed.get("Subject", "")),
        date=str(parsed.get("Date", "")),
        headers=[(name, str(value)) for name, value in parsed.items()],
        text=text,
        html=html,
        links=_links(text, html),
    )


def url_spans(text: str) -> list[tuple[int, str]]:
    """Each http(s) URL in plain text with its start offset."""
    # A URL at the end of a sentence keeps its closing punctuation out of the link.
    return [(match.start(), match.group(0).rstrip(".,;:!?)")) for match in _URL.finditer(text)]


def _part(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content() if part is not None else None


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def _links(text: str | None, html: str | None) -> list[str]:
    found = [url for _, url in url_spans(text or "")]
    if html:
        parser = _Hrefs()
        parser.feed(html)
        found += [href for href in parser.hrefs if href.startswith(("http://", "https://"))]
    return list(dict.fromkeys(found))
