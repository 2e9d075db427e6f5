"""Suppressions (P12): per account and platform-wide, keyed by the address's HMAC only."""
from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from pynamodb.exceptions import DeleteError, UpdateError
from pynamodb.expressions.condition import Condition, size
from pynamodb.expressions.update import Action

from chalicelib.config import hash_key
from chalicelib.domain.clock import now
from chalicelib.domain.errors import Conflict
from chalicelib.domain.suppression import (
    PLATFORM_MAIL_SCOPE,
    PLATFORM_SCOPE,
    SuppressionReason,
    address_hash,
    may_resubscribe,
    reason_after_lifting,
)
from chalicelib.store.batch_reads import batch_get
from chalicelib.store.conditions import CONDITION_FAILED, updated_if
from chalicelib.store.models import Account, Suppression


def list_key(hashed: str, list_id: str) -> str:
    """The range key of a suppression that holds for one list of the account only."""
    return f"{hashed}#{list_id}"


def _keys(account_id: str, hashed: str, list_id: str | None) -> list[tuple[str, str]]:
    keys = [(account_id, hashed), (PLATFORM_SCOPE, hashed)]
    return [*keys, (account_id, list_key(hashed, list_id))] if list_id else keys


def is_suppressed(account_id: str, address: str, list_id: str | None = None) -> bool:
    """True when the address is suppressed for this account, opted out of the whole platform, or
    (with `list_id`) unsubscribed from that list. One BatchGetItem reads every key.
    """
    hashed = address_hash(address, hash_key())
    found = Suppression.batch_get(_keys(account_id, hashed, list_id))
    return any(True for _ in found)


def suppress(scope: str, address: str, reason: SuppressionReason, list_id: str | None = None) -> bool:
    """Suppress the address for `scope` (an account id or PLATFORM_SCOPE), or with `list_id` for
    that list of the account only. Idempotent: the first reason and time stay, and every reason is
    added to `reasons`. A list's own suppression holds again if their own signup had lifted it
    (P12): it is only ever lifted for that one list. True when this changed it; False, writing
    nothing, when it already held for this reason (a replay)."""
    hashed = address_hash(address, hash_key())
    if list_id:
        return _suppress_key(scope, list_key(hashed, list_id), reason, Suppression.lifted_for.remove(),
                             lifted=Suppression.lifted_for.exists())
    return _suppress_key(scope, hashed, reason)


def suppressed_among(account_id: str, addresses: Iterable[str], list_id: str | None = None) -> set[str]:
    """Those of `addresses` suppressed for the account, platform-wide or (with `list_id`) for that
    list, in batched reads (for imports: one call per 33 addresses instead of one each)."""
    by_key: dict[str, str] = {}
    for address in addresses:
        hashed = address_hash(address, hash_key())
        by_key[hashed] = address
        if list_id:
            by_key[list_key(hashed, list_id)] = address
    keys = [(scope, key) for key in by_key for scope in (account_id, PLATFORM_SCOPE)
            if scope == account_id or "#" not in key]
    return {by_key[entry.address_hash] for entry in Suppression.batch_get(keys)}


def suppression_reasons(account_id: str, address: str) -> set[str]:
    """Every reason the address is suppressed for the account or platform-wide (empty when it is
    not): transactional mail goes to an unsubscribed address, never to a bounced one (P11)."""
    hashed = address_hash(address, hash_key())
    found = Suppression.batch_get([(account_id, hashed), (PLATFORM_SCOPE, hashed)])
    return {reason for entry in found for reason in {entry.reason, *(entry.reasons or ())}}


def refuses_platform_mail(address: str) -> bool:
    """Whether the platform's own mail bounced hard from the address or drew a complaint there
    (P11): one read of PLATFORM_MAIL_SCOPE, which holds nothing else."""
    hashed = address_hash(address, hash_key())
    return any(True for _ in Suppression.batch_get([(PLATFORM_MAIL_SCOPE, hashed)]))


def _reasons(entry: Suppression) -> set[str]:
    return {entry.reason, *(entry.reasons or ())}


def suppressed_hashes(account_id: str, hashes: Iterable[str], list_id: str | None = None) -> set[str]:
    """Those keyed hashes (of addresses or phone numbers) suppressed for the account or
    platform-wide, in batched reads (one call per 50 hashes); with `list_id`, also those
    unsubscribed from that list only (one call per 33), and not those whose person only
    unsubscribed and then signed up to that list again themselves (P12)."""
    keys = [key for hashed in set(hashes) for key in _keys(account_id, hashed, list_id)]
    return suppressing(Suppression.batch_get(keys), account_id, list_id)


def suppression_keys(account_id: str, hashed: str, list_id: str) -> list[tuple[str, str]]:
    """The (scope, range key) of every suppression that could hold a keyed hash back from mail
    of the account's list: the account's, the platform's, the list's own."""
    return _keys(account_id, hashed, list_id)


def suppressing(found: Iterable[Suppression], account_id: str, list_id: str | None) -> set[str]:
    """The keyed hashes that these suppressions, read by `suppression_keys`, hold back from mail
    of the list: all but those the person's own way back to the list lifted (P12)."""
    # A list's own suppression is keyed `<hash>#<list id>`: it suppresses the hash before the #.
    return {entry.address_hash.partition("#")[0] for entry in found
            if not (list_id and _lifted(entry, account_id, list_id))}


def is_suppressed_for_list(account_id: str, address: str, list_id: str) -> bool:
    """Whether the address is suppressed for mail of this list: in the account, platform-wide or
    for this list, unless their own way back to the list (P12) lifted it. One BatchGetItem."""
    hashed = address_hash(address, hash_key())
    return any(not _lifted(entry, account_id, list_id)
               for entry in Suppression.batch_get(_keys(account_id, hashed, list_id)))


def _lifted(entry: Suppression, account_id: str, list_id: str) -> bool:
    """A lift holds only on the account's own suppressions, and only while their every reason is
    that they unsubscribed: a complaint or bounce since, or a platform-wide opt-out, suppresses."""
    return (entry.scope == account_id and list_id in (entry.lifted_for or ())
            and may_resubscribe(_reasons(entry)))


class OwnSignup(Enum):
    """How the suppressions stand towards a person's own signup to a list (P12)."""
    CLEAR = "clear"          # not suppressed in the account or the platform
    RETURNING = "returning"  # suppressed in the account or for this list only because they
    #                          unsubscribed: their own confirmation lifts it for this list
    #                          (lift_for_list)
    BLOCKED = "blocked"      # a complaint, a bounce, an erasure or a platform-wide opt-out


def own_signup(account_id: str, address: str, list_id: str) -> OwnSignup:
    """Whether the person's own signup to this list may go ahead (P12): not suppressed at all, or
    suppressed in the account (or for this list) only because they unsubscribed. One
    BatchGetItem, so the confirmation knows whether to lift without reading again."""
    hashed = address_hash(address, hash_key())
    return own_signup_of(list(Suppression.batch_get(_keys(account_id, hashed, list_id))))


def own_signup_of(found: list[Suppression]) -> OwnSignup:
    """own_signup's answer from the suppressions `suppression_keys` found for the person and list."""
    if not all(entry.scope != PLATFORM_SCOPE and not entry.erased and may_resubscribe(_reasons(entry))
               for entry in found):
        return OwnSignup.BLOCKED
    # Account-wide or for this list only (the preference centre's one-list unsubscribe): either
    # way their own confirmation is the way back.
    return OwnSignup.RETURNING if found else OwnSignup.CLEAR


def confirmation_standing(account_id: str, address: str, list_id: str) -> tuple[OwnSignup, Account | None]:
    """What a person's confirmation of their signup to the account's list rests on besides their
    entry: whether their own signup may go ahead (as own_signup answers, P12), and
    the account as stored (None when it is gone), whose standing says whether it takes signups
    now (P26, P33, P23). One BatchGetItem over both tables: the confirmation's budget of three
    calls (issue 3) holds."""
    hashed = address_hash(address, hash_key())
    suppressions, accounts = Suppression.Meta.table_name, Account.Meta.table_name
    found = batch_get({
        suppressions: {"Keys": [{"scope": {"S": scope}, "address_hash": {"S": key}}
                                for scope, key in suppression_keys(account_id, hashed, list_id)]},
        accounts: {"Keys": [{"account_id": {"S": account_id}}]},
    })
    standing = own_signup_of([Suppression.from_raw_data(item) for item in found[suppressions]])
    return standing, Account.from_raw_data(found[accounts][0]) if found[accounts] else None


def lift_for_list(account_id: str, address: str, list_id: str) -> bool:
    """The person signed up to this list again and confirmed it themselves (P12): the account's
    suppressions of them (account-wide and for this list) no longer hold for this list. False,
    changing nothing, when there is none to lift or a reason forbids it."""
    hashed = address_hash(address, hash_key())
    found = [entry for entry in Suppression.batch_get(_keys(account_id, hashed, list_id))
             if entry.scope == account_id]
    if not found or not all(not entry.erased and may_resubscribe(_reasons(entry)) for entry in found):
        return False
    for entry in found:
        entry.update(actions=[Suppression.lifted_for.add({list_id})])
    return True


def end_lifts(account_id: str, address: str, list_id: str | None) -> bool:
    """They unsubscribed again: the account's suppression holds again for `list_id` (or, None,
    for every list it had been lifted for). True when a lift was closed; False, writing
    nothing, when none was open."""
    return end_hash_lifts(account_id, address_hash(address, hash_key()), list_id)


def end_hash_lifts(account_id: str, hashed: str, list_id: str | None = None) -> bool:
    """end_lifts for a keyed hash (an address's or a phone's)."""
    entry = Suppression(scope=account_id, address_hash=hashed)
    if list_id:
        action, lifted = Suppression.lifted_for.delete({list_id}), Suppression.lifted_for.contains(list_id)
    else:
        action, lifted = Suppression.lifted_for.remove(), Suppression.lifted_for.exists()
    return updated_if(entry, [action], Suppression.address_hash.exists() & lifted)


# A write conditioned on what was read loses the race to a suppression that changed meanwhile:
# read again, a few times, before giving up.
_LIFT_ATTEMPTS = 3


def lift_reason(scope: str, hashed: str, reason: SuppressionReason) -> bool:
    """Take `reason` off the suppression of a keyed hash for `scope`: True when it held it. The
    suppression goes only when that was its only reason; any other (an unsubscribe, a complaint, a
    bounce, an erasure) keeps it suppressed (P12, P18). Each write is conditioned on the reasons
    read, so one added meanwhile is never deleted with it. Conflict if it keeps changing."""
    for _ in range(_LIFT_ATTEMPTS):
        try:
            entry = Suppression.get(scope, hashed, consistent_read=True)
        except Suppression.DoesNotExist:
            return False
        if reason.value not in _reasons(entry):
            return False
        as_read = ((Suppression.reason == entry.reason) & Suppression.reasons.contains(reason.value)
                   & (size(Suppression.reasons) == len(entry.reasons or ())))
        kept = reason_after_lifting(entry.reason, _reasons(entry), reason)
        try:
            if kept is None:
                entry.delete(condition=as_read)
            else:
                entry.update(actions=[Suppression.reasons.delete({reason.value}),
                                      Suppression.reason.set(kept)], condition=as_read)
            return True
        except (DeleteError, UpdateError) as exc:
            if exc.cause_response_code != CONDITION_FAILED:
                raise
    raise Conflict("the suppression changed while it was being lifted; send the request again")


def suppress_hash(scope: str, hashed: str, reason: SuppressionReason) -> bool:
    """Suppress a keyed hash (a phone number's, domain/privacy.phone_hash) for `scope`;
    idempotent like `suppress`: one update keeps the first reason and time and adds this one.
    True when this changed it."""
    return _suppress_key(scope, hashed, reason)


def _suppress_key(scope: str, key: str, reason: SuppressionReason, *also: Action,
                  lifted: Condition | None = None) -> bool:
    """One update, conditioned on changing something: a new suppression, a reason it lacks, or
    (`lifted`) a lift that `also` closes. False, writing nothing, when none applies."""
    changes = Suppression.address_hash.does_not_exist() | ~Suppression.reasons.contains(reason.value)
    return updated_if(Suppression(scope=scope, address_hash=key), [
        Suppression.reason.set(Suppression.reason | reason.value),
        Suppression.created_at.set(Suppression.created_at | now()),
        Suppression.reasons.add({reason.value}),
        *also,
    ], changes | lifted if lifted is not None else changes)
