"""Transactional mail (P11): one message to one person, in reply to that person's own action:
who it may reach, and what makes a request the same as another (its parts: transactional_parts.py).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from chalicelib.domain.suppression import SuppressionReason

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
