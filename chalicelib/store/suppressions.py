"""Suppressions (P12): per account and platform-wide, keyed by the address's HMAC only."""
from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import PutError

from chalicelib.config import hash_key
from chalicelib.domain.clock import now
from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason, address_hash
from chalicelib.store.models import Suppression


def is_suppressed(account_id: str, address: str) -> bool:
    """True when the address is suppressed for this account or opted out of the whole platform.

    One BatchGetItem reads both keys.
    """
    hashed = address_hash(address, hash_key())
    found = Suppression.batch_get([(account_id, hashed), (PLATFORM_SCOPE, hashed)])
    return any(True for _ in found)


def erased_hashes(account_id: str, hashes: Iterable[str]) -> set[str]:
    """Those keyed hashes whose person the account erased (P18), in one BatchGetItem per 100."""
    keys = [(account_id, hashed) for hashed in set(hashes)]
    return {entry.address_hash for entry in Suppression.batch_get(keys) if entry.erased}


def suppress(scope: str, address: str, reason: SuppressionReason) -> None:
    """Suppress the address for `scope` (an account id or PLATFORM_SCOPE). Idempotent: the first
    reason and time are kept."""
    entry = Suppression(scope=scope, address_hash=address_hash(address, hash_key()), reason=reason.value,
                        created_at=now())
    try:
        entry.save(condition=Suppression.address_hash.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def suppressed_among(account_id: str, addresses: Iterable[str]) -> set[str]:
    """Those of `addresses` suppressed for the account or platform-wide, in batched reads
    (for imports: one call per 50 addresses instead of one each)."""
    by_hash = {address_hash(address, hash_key()): address for address in addresses}
    keys = [(scope, hashed) for hashed in by_hash for scope in (account_id, PLATFORM_SCOPE)]
    return {by_hash[entry.address_hash] for entry in Suppression.batch_get(keys)}


def suppression_reasons(account_id: str, address: str) -> set[str]:
    """Why the address is suppressed for the account or platform-wide (empty when it is not):
    transactional mail goes to an unsubscribed address, never to a bounced one (P11)."""
    hashed = address_hash(address, hash_key())
    return {entry.reason for entry in Suppression.batch_get([(account_id, hashed), (PLATFORM_SCOPE, hashed)])}


def suppressed_hashes(account_id: str, hashes: Iterable[str]) -> set[str]:
    """Those keyed hashes (of addresses or phone numbers) suppressed for the account or
    platform-wide, in batched reads (one call per 50 hashes)."""
    keys = [(scope, hashed) for hashed in set(hashes) for scope in (account_id, PLATFORM_SCOPE)]
    return {entry.address_hash for entry in Suppression.batch_get(keys)}


def suppress_hash(scope: str, hashed: str, reason: SuppressionReason) -> None:
    """Suppress a keyed hash (a phone number's, domain/privacy.phone_hash) for `scope`;
    idempotent like `suppress`."""
    entry = Suppression(scope=scope, address_hash=hashed, reason=reason.value, created_at=now())
    try:
        entry.save(condition=Suppression.address_hash.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
