"""Suppressions (P12): per account and platform-wide, keyed by the address's HMAC only."""
from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.config import hash_key
from chalicelib.domain.clock import now
from chalicelib.domain.suppression import (
    PLATFORM_SCOPE,
    RESUBSCRIBABLE,
    SuppressionReason,
    address_hash,
    may_resubscribe,
)
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


def suppress(scope: str, address: str, reason: SuppressionReason, list_id: str | None = None) -> None:
    """Suppress the address for `scope` (an account id or PLATFORM_SCOPE). Idempotent: the first
    reason and time are kept. A suppression a person's own signup had lifted for some lists
    (P12) holds again: for `list_id` when they unsubscribe from that list only, for every list
    otherwise."""
    entry = Suppression(scope=scope, address_hash=address_hash(address, hash_key()), reason=reason.value,
                        created_at=now())
    try:
        entry.save(condition=Suppression.address_hash.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        _restore(entry, list_id if reason is SuppressionReason.UNSUBSCRIBED else None)


def _restore(entry: Suppression, list_id: str | None) -> None:
    """End the lifts of an existing suppression: of one list, or all of them."""
    action = Suppression.lifted_for.delete({list_id}) if list_id else Suppression.lifted_for.remove()
    entry.update(actions=[action], condition=Suppression.address_hash.exists())


def lift_for_list(account_id: str, address: str, list_id: str) -> bool:
    """The person signed up to this list again and confirmed it themselves (P12): the account's
    suppression of them no longer holds for this list, if its reasons allow it (domain/
    suppression.may_resubscribe); False (nothing changed) otherwise or when there is none."""
    hashed = address_hash(address, hash_key())
    try:
        Suppression(scope=account_id, address_hash=hashed).update(
            actions=[Suppression.lifted_for.add({list_id})],
            condition=Suppression.reason.is_in(*RESUBSCRIBABLE) & Suppression.erased.does_not_exist())
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def own_signup_allowed(account_id: str, address: str) -> bool:
    """Whether the person's own signup may go ahead (P12): not suppressed at all, or suppressed
    in the account only because they unsubscribed (never platform-wide, never erased)."""
    hashed = address_hash(address, hash_key())
    found = list(Suppression.batch_get([(account_id, hashed), (PLATFORM_SCOPE, hashed)]))
    if not found:
        return True
    if any(entry.scope == PLATFORM_SCOPE or entry.erased for entry in found):
        return False
    return may_resubscribe({entry.reason for entry in found})


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


def suppressed_hashes(account_id: str, hashes: Iterable[str], list_id: str | None = None) -> set[str]:
    """Those keyed hashes (of addresses or phone numbers) suppressed for the account or
    platform-wide, in batched reads (one call per 50 hashes); with `list_id`, not those whose
    person signed up to that list again themselves (P12)."""
    keys = [(scope, hashed) for hashed in set(hashes) for scope in (account_id, PLATFORM_SCOPE)]
    # A lift holds only on the account's own suppression: a platform-wide one still suppresses.
    return {entry.address_hash for entry in Suppression.batch_get(keys)
            if not (list_id and entry.scope == account_id and list_id in (entry.lifted_for or ()))}


def suppress_hash(scope: str, hashed: str, reason: SuppressionReason) -> None:
    """Suppress a keyed hash (a phone number's, domain/privacy.phone_hash) for `scope`;
    idempotent like `suppress`."""
    entry = Suppression(scope=scope, address_hash=hashed, reason=reason.value, created_at=now())
    try:
        entry.save(condition=Suppression.address_hash.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
