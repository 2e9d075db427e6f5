"""Building one email as raw MIME with the stdlib `email` package."""
from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from chalicelib.domain.clock import now

# Headers are written with RFC 5322's hard line limit, not the 78-character default: Python folds
# a longer word by RFC 2047-encoding it, which would break the long signed URLs in
# List-Unsubscribe (RFC 2369). Bodies keep the default, so base64/QP lines stay within 76.
_HEADER_POLICY = SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class OutgoingEmail:
    """One message to one recipient (P10). `headers` are extra headers such as List-Unsubscribe."""

    sender: str
    recipient: str
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def build_mime(mail: OutgoingEmail) -> bytes:
    """multipart/alternative (text, then HTML) when there is HTML; plain text otherwise."""
    message = EmailMessage(policy=SMTP)
    message["From"] = mail.sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now())
    message["Message-ID"] = make_msgid(domain=mail.sender.rpartition("@")[2] or None)
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    return message.as_bytes(policy=_HEADER_POLICY)
