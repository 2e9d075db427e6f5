"""Mailto unsubscribes (RFC 2369, P07): the token in the subject of a mail SES receiving got.

marketing_mail.unsubscribe_headers composes `mailto:unsubscribe@{domain}?subject=unsubscribe-{token}`;
an SES receipt rule publishes what arrives to the inbound-mail topic, which the queue receives
wrapped in SNS's envelope. Pure: one SQS body in, the token (or None) out.
"""
from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.domain.errors import InvalidInput

# Mail clients may prefix the subject (Re:, Fwd:) or fold it. The token is URL-safe base64 (an
# encrypted token), or three such parts joined by dots, with a leading dot when itsdangerous
# compressed the payload (a token of a mail sent before tokens were encrypted).
_TOKEN = re.compile(r"unsubscribe-(\.?[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+){2}|[A-Za-z0-9_\-]+)")


class MalformedInbound(InvalidInput):
    """The record is not an SES receiving notification."""

    code = "malformed_inbound_mail"


def unsubscribe_token(body: str) -> str | None:
    """The token of an SES `Received` notification's subject; None for other mail or types.
    MalformedInbound when the body is not an SNS/SES notification at all."""
    document = _json(body)
    if document.get("Type") == "Notification" and isinstance(document.get("Message"), str):
        document = _json(document["Message"])
    if "notificationType" not in document:
        raise MalformedInbound("not an SES receiving notification", field="notificationType")
    if document["notificationType"] != "Received":
        return None
    mail = document.get("mail")
    headers = mail.get("commonHeaders") if isinstance(mail, dict) else None
    subject = headers.get("subject") if isinstance(headers, dict) else None
    if not isinstance(subject, str):
        return None
    match = _TOKEN.search(re.sub(r"\s+", "", subject))
    return match.group(1) if match else None


def _json(text: Any) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except (TypeError, ValueError):
        raise MalformedInbound("the record is not JSON") from None
    if not isinstance(document, dict):
        raise MalformedInbound("the record is not a JSON object")
    return document
