"""Mailto unsubscribes (RFC 2369, P07): the token in the subject of a mail SES receiving got.

marketing_mail.unsubscribe_headers composes `mailto:unsubscribe@{domain}?subject=unsubscribe-{token}`;
an SES receipt rule publishes what arrives to the inbound-mail topic, which the queue receives
wrapped in SNS's envelope. Pure: one SQS body in, the token's readings (or why there is none) out.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import InvalidInput

# Mail clients may prefix the subject (Re:, Fwd:) or fold it. The token is URL-safe base64 (an
# encrypted token), or three such parts joined by dots, with a leading dot when itsdangerous
# compressed the payload (a token of a mail sent before tokens were encrypted).
_TOKEN = re.compile(r"unsubscribe-(\.?[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+){2}|[A-Za-z0-9_\-]+)")
# SNS's own messages about the subscription, named in the logs; any other type's name may be
# made up (an address), so it is not.
_SNS_TYPES = frozenset({"SubscriptionConfirmation", "UnsubscribeConfirmation"})


class MalformedInbound(InvalidInput):
    """The record is not an SES receiving notification."""

    code = "malformed_inbound_mail"


@dataclass(frozen=True)
class NoUnsubscribe:
    """A well-formed record that asks for no unsubscribe, and why (for the logs: no contact data)."""

    reason: str


def unsubscribe_tokens(body: str) -> tuple[str, ...] | NoUnsubscribe:
    """The token of an SES `Received` notification's subject, as it may read (see _readings);
    NoUnsubscribe for other mail, other types and SNS's own messages. MalformedInbound when the
    body is not an SNS/SES notification."""
    document = _json(body)
    if "Type" in document and "Message" in document and document["Type"] != "Notification":
        kind = document["Type"]
        named = isinstance(kind, str) and kind in _SNS_TYPES
        return NoUnsubscribe(f"SNS message of type {kind if named else '(another type)'}")
    if document.get("Type") == "Notification" and isinstance(document.get("Message"), str):
        document = _json(document["Message"])
    if "notificationType" not in document:
        raise MalformedInbound("not an SES receiving notification", field="notificationType")
    if document["notificationType"] != "Received":
        return NoUnsubscribe("not a Received notification")
    mail = document.get("mail")
    headers = mail.get("commonHeaders") if isinstance(mail, dict) else None
    subject = headers.get("subject") if isinstance(headers, dict) else None
    if not isinstance(subject, str):
        return NoUnsubscribe("mail without a subject")
    return _readings(subject) or NoUnsubscribe("no unsubscribe token in the subject")


def _readings(subject: str) -> tuple[str, ...]:
    """The token with the subject's whitespace taken out (a client may fold a long subject, even
    inside the token, or split it into encoded words), then as written: a word the reader typed
    after the token glues onto it once the whitespace goes ("unsubscribe-… please")."""
    readings: list[str] = []
    for text in (re.sub(r"\s+", "", subject), subject):
        match = _TOKEN.search(text)
        if match and match.group(1) not in readings:
            readings.append(match.group(1))
    return tuple(readings)


def _json(text: Any) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except (TypeError, ValueError):
        raise MalformedInbound("the record is not JSON") from None
    except RecursionError:
        raise MalformedInbound("the record is nested too deeply to read") from None
    if not isinstance(document, dict):
        raise MalformedInbound("the record is not a JSON object")
    return document
