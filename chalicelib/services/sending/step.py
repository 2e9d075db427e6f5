"""The one send step every message goes through: transactional and system mail from the outbox,
and each recipient of an email or SMS campaign batch.

claim → build → take a rate token → send with back-off; the claim is released when anything
after it fails, so the redelivered job sends the message, and sends it once. The claim is a
conditional write on the message's fixed id (store/messages.claim), which is also the message
record: a redelivered job or a person on two lists is mailed once.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from chalicelib.adapters.retries import with_backoff
from chalicelib.services.sending.rate_tokens import RateTokens
from chalicelib.store import messages


class StepResult(Enum):
    SENT = "sent"
    # The id was claimed before: already sent, or being sent by another invocation.
    DUPLICATE = "duplicate"
    # No send token came in time: nothing was sent, the claim is released.
    NO_TOKEN = "no_token"


@dataclass(frozen=True)
class Message:
    """One message to one recipient: who (keyed hash), its fixed id and what it belongs to, how
    to build it (called once it is claimed) and how to hand what was built to the provider."""

    recipient_hash: str
    message_id: str
    account_id: str
    kind: str
    build: Callable[[], Any]
    deliver: Callable[[Any], object]
    campaign_id: str | None = None
    list_id: str | None = None


def send_message(message: Message, tokens: RateTokens | None) -> StepResult:
    """Send `message` once; `tokens` is the shared SES rate (None: the provider has its own)."""
    if not messages.claim(message.recipient_hash, message.message_id, message.account_id, message.kind,
                          campaign_id=message.campaign_id, list_id=message.list_id):
        return StepResult.DUPLICATE
    try:
        built = message.build()
        if tokens is not None and not tokens.take():
            messages.release(message.recipient_hash, message.message_id)
            return StepResult.NO_TOKEN
        with_backoff(lambda: message.deliver(built))
    except Exception:
        messages.release(message.recipient_hash, message.message_id)
        raise
    return StepResult.SENT
