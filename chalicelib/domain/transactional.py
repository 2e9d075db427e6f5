"""Transactional mail (P11): one message to one person, in reply to that person's own action.

The subject, HTML and text are sent as written, or, when the request gives `variables`, rendered
as templates in the same sandbox as campaigns (HTML autoescaped) with those variables only.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.header_text import MAX_SUBJECT, one_line
from chalicelib.domain.html_text import html_to_text
from chalicelib.domain.suppression import SuppressionReason
from chalicelib.domain.templates import TemplateLimitExceeded, render_bounded

KIND = "transactional"
# A transactional mail may reach an address that unsubscribed from marketing, never one that
# bounced hard, complained or was erased (P11, P18), nor a person whose processing is restricted
# (P17: kept but not mailed) or who opted out of every client on the platform (P12).
NEVER_SENT_TO = frozenset({SuppressionReason.BOUNCED.value, SuppressionReason.COMPLAINED.value,
                           SuppressionReason.ERASED.value, SuppressionReason.RESTRICTED.value,
                           SuppressionReason.PLATFORM_OPT_OUT.value})


# How long an Idempotency-Key holds the request it was first used for: the same key with a
# different request is refused meanwhile (a day, as Stripe keeps keys). Later the key may name a
# new request; a repeat of the first still gets its message id, which the send worker's claim
# keeps from going out twice while the message's record lasts (P21).
IDEMPOTENCY_WINDOW = timedelta(hours=24)


def idempotency_key_id(account_id: str, idempotency_key: str) -> str:
    """Where the account's key is remembered: a digest of the account and the key (the key is the
    client's own text and may hold anything; another account's same key is another id)."""
    return hashlib.sha256(json.dumps([account_id, idempotency_key]).encode("utf-8")).hexdigest()


def request_fingerprint(hash_key: str, request: Mapping[str, Any], to: str) -> str:
    """A keyed hash (HMAC-SHA256, hex) of the request fields that make the message, with the
    normalised recipient: two requests for the same message get the same fingerprint, and it
    reveals neither the recipient nor the content."""
    fields = {name: value for name, value in request.items() if value is not None}
    canonical = json.dumps({**fields, "to": to}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(hash_key.encode("utf-8"), canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def blocking_reason(reasons: set[str]) -> str | None:
    """The suppression reason that forbids transactional mail, or None."""
    blocking = sorted(reasons & NEVER_SENT_TO)
    return blocking[0] if blocking else None


def render_parts(subject: str, html: str | None, text: str | None,
                 variables: Mapping[str, Any] | None) -> tuple[str, str | None, str]:
    """(subject, html, text): rendered when `variables` is given; the text part is derived from
    the HTML when missing. InvalidInput names the part that failed."""
    if variables is not None:
        subject = _render(subject, "subject", variables)
        html = _render(html, "html", variables) if html is not None else None
        text = _render(text, "text", variables) if text is not None else None
    if not (html or text):
        raise InvalidInput("give 'html' or 'text'", field="html")
    subject = one_line(subject)
    if not subject:
        raise InvalidInput("'subject' is empty", field="subject")
    if len(subject) > MAX_SUBJECT:
        raise InvalidInput(f"'subject' renders to {len(subject)} characters; a subject is one header line "
                           f"of at most {MAX_SUBJECT}", field="subject")
    return subject, html, text if text else html_to_text(html or "")


def _render(source: str, field: str, variables: Mapping[str, Any]) -> str:
    try:
        return render_bounded(source, field, dict(variables))
    except TemplateLimitExceeded as error:
        raise TemplateLimitExceeded(f"'{field}' is over a template limit: {error.message}",
                                    field=field) from None
    except Exception as error:  # a syntax error, an unknown variable, the sandbox refusing a '_' name
        raise InvalidInput(f"'{field}' cannot be rendered: {error}", field=field) from None
