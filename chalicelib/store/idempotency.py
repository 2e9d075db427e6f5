"""Idempotency-Keys of transactional mail: each held, for a while, by the request it first came
with, so the same key with another request is refused rather than acknowledged and dropped."""
from __future__ import annotations

from datetime import timedelta

from pynamodb.exceptions import PutError

from chalicelib.domain.clock import now
from chalicelib.domain.errors import Unprocessable
from chalicelib.store.batch_writes import delete_all
from chalicelib.store.models import IdempotencyKey


def hold_key(key_id: str, fingerprint: str, recipient_hash: str, window: timedelta) -> None:
    """Hold the key for the request `fingerprint` to `recipient_hash` (the recipient's keyed hash
    in the account, domain/suppression.account_subject) for `window` from now: one conditional
    put, which succeeds for a new or lapsed key and for the same request again (the window then
    starts afresh). Unprocessable when the key is held for another request; read lapsed, since TTL
    deletes days late."""
    at = now()
    try:
        IdempotencyKey(key_id=key_id, fingerprint=fingerprint, expires_at=at + window,
                       recipient_hash=recipient_hash).save(
            condition=IdempotencyKey.key_id.does_not_exist()
            | (IdempotencyKey.fingerprint == fingerprint)
            | (IdempotencyKey.expires_at <= at))
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise Unprocessable("this Idempotency-Key was used for a different request; a key names one "
                            f"message for {_hours(window)} hours: send a new message with a new key",
                            field="Idempotency-Key") from None


def keys_to(recipient_hash: str) -> list[IdempotencyKey]:
    """The keys held for requests to this recipient (as hold_key names them, the account in
    it): one Query of an index."""
    return list(IdempotencyKey.by_recipient.query(recipient_hash))


def release_keys(keys: list[IdempotencyKey]) -> int:
    """Delete these keys; how many."""
    return delete_all(IdempotencyKey, keys)


def _hours(window: timedelta) -> int:
    return int(window.total_seconds() // 3600)
