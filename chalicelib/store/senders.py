"""Sender identities (P35): which account owns which From address or domain.

One item per identity, under its domain: a Query on the domain reads every identity there, so
deciding whether an account may send as `news@acme.example` is one read whatever owns what.
Beside them, the domain's guard item (sort key _GUARD, no identity's: it has no @ and is no
domain) counts the claims ever made at the domain, so that a claim is one transaction with the
checks of what it read (claim_identity).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.domain.clock import now
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.senders import SenderKind, SenderName
from chalicelib.store.models import Account, SenderIdentity
from chalicelib.store.transactions import cancelled_by_a_race, condition_failed, write_transaction

_CONDITION_FAILED = "ConditionalCheckFailedException"
_GUARD = "#claims"


def identities_at(domain: str) -> list[SenderIdentity]:
    """Every identity at the domain (the domain's own and its addresses'), any account's."""
    return [item for item in SenderIdentity.query(domain, consistent_read=True) if item.identity != _GUARD]


@dataclass(frozen=True)
class ClaimsAt:
    """Every claim at a domain, and how many claims had been made at it when they were read."""

    items: list[SenderIdentity]
    claims_made: int | None


def claims_at(domain: str) -> ClaimsAt:
    """The domain's claims, for claim_identity. The count is read first: a claim landing after
    it changes the count, and one landing before it is in the (consistent) Query."""
    try:
        made = SenderIdentity.get(domain, _GUARD, consistent_read=True).claims_made
    except SenderIdentity.DoesNotExist:
        made = None
    return ClaimsAt(identities_at(domain), made)


def domain_claim(domain: str) -> SenderIdentity | None:
    """The claim of the domain itself (one consistent GetItem, whatever is claimed at it), or None."""
    try:
        return SenderIdentity.get(domain, domain, consistent_read=True)
    except SenderIdentity.DoesNotExist:
        return None


def account_identities(account_id: str) -> list[SenderIdentity]:
    """The account's identities, by name (the `by_account` index)."""
    return sorted(SenderIdentity.by_account.query(account_id), key=lambda item: item.identity)


def get_identity(account_id: str, domain: str, identity: str) -> SenderIdentity:
    """The account's identity; NotFound when there is none, or another account owns it."""
    try:
        found = SenderIdentity.get(domain, identity, consistent_read=True)
    except SenderIdentity.DoesNotExist:
        found = None
    if found is None or found.account_id != account_id:
        raise NotFound("no such sender identity in this account", field="identity")
    return found


def claim_identity(account_id: str, name: SenderName, read: ClaimsAt) -> SenderIdentity | None:
    """Record that the account owns the identity, in one transaction with the checks that what
    `read` was checked against still holds (P35: a domain and an address at it are two items):
    nobody has the identity; for an address, its domain is nobody's or the account's; for a
    domain, no claim was made at it since `read` (the guard's count). None, nothing written,
    when one failed: read again and decide again."""
    item = SenderIdentity(domain=name.domain, identity=name.identity, account_id=account_id,
                          kind=name.kind.value, created_at=now())
    guard = SenderIdentity(domain=name.domain, identity=_GUARD)
    count = [SenderIdentity.claims_made.add(1)]
    made = SenderIdentity.claims_made
    try:
        with write_transaction(SenderIdentity) as transaction:
            if name.kind is SenderKind.ADDRESS:
                transaction.condition_check(SenderIdentity, name.domain, name.domain, condition=(
                    SenderIdentity.account_id.does_not_exist() | (SenderIdentity.account_id == account_id)))
                transaction.update(guard, actions=count)
            else:
                transaction.update(guard, actions=count, condition=(
                    made.does_not_exist() if read.claims_made is None else made == read.claims_made))
            transaction.save(item, condition=SenderIdentity.identity.does_not_exist())
    except TransactWriteError as exc:
        if cancelled_by_a_race(exc):
            return None
        raise
    return item


def release_identity(item: SenderIdentity) -> None:
    """Delete the account's claim as it was read; nothing when it is gone already, or when
    another account released it as lapsed and claimed the identity since (P35): that claim is
    theirs, and deleting it would leave the identity with no owner."""
    release_unchanged_identity(item)


@dataclass(frozen=True)
class Keeping:
    """What a delete read that must still hold when its give-up begins: the account's profile
    sender as read, and the account's other claims it sends as (P35: a delete never leaves the
    profile sending as an identity the account no longer owns)."""

    account_id: str
    profile_sender: str | None
    claims: tuple[SenderIdentity, ...] = ()


def begin_release(item: SenderIdentity, keeping: Keeping | None = None) -> bool:
    """Mark the claim, as it was read, as being given up (`releasing_at`, now; `item` follows);
    False when it is gone, claimed afresh, or marked by another give-up since (one conditional
    update: of two processes giving one claim up, one does it). With `keeping`, in one
    transaction with its checks: Conflict naming `identity` when one failed (the profile's
    sender changed, or another of its claims is being given up, since they were read)."""
    at = now()
    if keeping is None:
        try:
            item.update(actions=[SenderIdentity.releasing_at.set(at)], condition=_unchanged(item))
        except UpdateError as exc:
            if exc.cause_response_code == _CONDITION_FAILED:
                return False
            raise
        return True
    checks = 1 + len(keeping.claims)
    try:
        with write_transaction(SenderIdentity) as transaction:
            sender = Account.sender_identity
            transaction.condition_check(Account, keeping.account_id, condition=(
                sender.does_not_exist() if keeping.profile_sender is None
                else sender == keeping.profile_sender))
            for claim in keeping.claims:
                transaction.condition_check(SenderIdentity, claim.domain, claim.identity,
                                            condition=_unchanged(claim))
            transaction.update(item, actions=[SenderIdentity.releasing_at.set(at)],
                               condition=_unchanged(item))
    except TransactWriteError as exc:
        if condition_failed(exc, checks):
            return False
        if any(condition_failed(exc, position) for position in range(checks)):
            raise Conflict("the profile's sender_identity, or another identity it sends as, changed "
                           "meanwhile: read them again and retry", field="identity") from None
        raise
    item.releasing_at = at
    return True


def undo_release(item: SenderIdentity, releasing_at: datetime | None) -> None:
    """Put the claim's mark back as it was before begin_release (none, or a stalled give-up's),
    when the claim is still as this give-up left it; nothing otherwise."""
    action = (SenderIdentity.releasing_at.remove() if releasing_at is None
              else SenderIdentity.releasing_at.set(releasing_at))
    try:
        item.update(actions=[action], condition=_unchanged(item))
    except UpdateError as exc:
        if exc.cause_response_code != _CONDITION_FAILED:
            raise


def release_unchanged_identity(item: SenderIdentity) -> bool:
    """Delete the claim as it was read; False when it is gone already or was claimed afresh or
    marked since (one conditional delete: of two accounts releasing one lapsed claim, one does it)."""
    try:
        item.delete(condition=_unchanged(item))
    except DeleteError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            return False
        raise
    return True


def _unchanged(item: SenderIdentity) -> Condition:
    same_claim = ((SenderIdentity.account_id == item.account_id)
                  & (SenderIdentity.created_at == item.created_at))
    if item.releasing_at is None:
        return same_claim & SenderIdentity.releasing_at.does_not_exist()
    return same_claim & (SenderIdentity.releasing_at == item.releasing_at)
