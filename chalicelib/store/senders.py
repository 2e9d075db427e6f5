"""Sender identities (P35): which account owns which From address or domain.

One item per identity, under its domain: a Query on the domain reads every identity there, so
deciding whether an account may send as `news@acme.example` is one read whatever owns what.
Beside them, while the domain has a claim, its guard item (sort key _GUARD, no identity's: it has
no @ and is no domain) holds a random version that every claim at the domain, and every release,
replaces (optimistic concurrency): a claim or release is one transaction with the checks of what it
read (claim_identity, release_unchanged_identity), and the release of the domain's last claim
deletes the guard in that transaction, so no item names a domain nobody claims.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain.clock import now
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.senders import SenderKind, SenderName
from chalicelib.store.models import Account, SenderIdentity
from chalicelib.store.transactions import cancelled_by_a_race, condition_failed, write_transaction

_CONDITION_FAILED = "ConditionalCheckFailedException"
_GUARD = "#claims"
# How often a release whose domain's claims changed under it is read and tried again.
RELEASE_ATTEMPTS = 3


def identities_at(domain: str) -> list[SenderIdentity]:
    """Every identity at the domain (the domain's own and its addresses'), any account's."""
    return [item for item in SenderIdentity.query(domain, consistent_read=True) if item.identity != _GUARD]


@dataclass(frozen=True)
class ClaimsAt:
    """Every claim at a domain, and the domain's guard version when they were read (None: no guard)."""

    items: list[SenderIdentity]
    version: str | None


def claims_at(domain: str) -> ClaimsAt:
    """The domain's claims, for claim_identity and release_unchanged_identity. The version is read
    first: a claim or release landing after it replaces the version, and one landing before it is
    in the (consistent) Query."""
    try:
        version = SenderIdentity.get(domain, _GUARD, consistent_read=True).claims_version
    except SenderIdentity.DoesNotExist:
        version = None
    return ClaimsAt(identities_at(domain), version)


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


def claim_identity(account_id: str, name: SenderName, read: ClaimsAt, *,
                   ses_made: bool = False) -> SenderIdentity | None:
    """Record that the account owns the identity, in one transaction with the checks that what
    `read` was checked against still holds (P35: a domain and an address at it are two items):
    nobody has the identity; for an address, its domain is nobody's or the account's; for a
    domain, no claim was made or released at it since `read` (the guard's version). Every claim
    replaces the version, so a domain claim that read before it is refused. None, nothing
    written, when one failed: read again and decide again. `ses_made`: SES has the identity
    already (an adoption), so no add is still making it."""
    item = SenderIdentity(domain=name.domain, identity=name.identity, account_id=account_id,
                          kind=name.kind.value, created_at=now(), ses_made=ses_made or None)
    try:
        with write_transaction(SenderIdentity) as transaction:
            if name.kind is SenderKind.ADDRESS:
                transaction.condition_check(SenderIdentity, name.domain, name.domain, condition=(
                    SenderIdentity.account_id.does_not_exist() | (SenderIdentity.account_id == account_id)))
                _replace_version(transaction, name.domain)
            else:
                _replace_version(transaction, name.domain, _version_read(read))
            transaction.save(item, condition=SenderIdentity.identity.does_not_exist())
    except TransactWriteError as exc:
        if cancelled_by_a_race(exc):
            return None
        raise
    return item


def _version_read(read: ClaimsAt) -> Condition:
    """That the guard's version is still the one read (no guard: none was made since)."""
    version = SenderIdentity.claims_version
    return version.does_not_exist() if read.version is None else version == read.version


def _replace_version(transaction: TransactWrite, domain: str, condition: Condition | None = None) -> None:
    """Give the domain's guard a fresh version (making the guard when there is none)."""
    transaction.update(SenderIdentity(domain=domain, identity=_GUARD),
                       actions=[SenderIdentity.claims_version.set(secrets.token_hex(16))],
                       condition=condition)


def release_identity(item: SenderIdentity) -> None:
    """Delete the account's claim as it was read; nothing when it is gone already, or when
    another account released it as lapsed and claimed the identity since (P35): that claim is
    theirs, and deleting it would leave the identity with no owner."""
    release_unchanged_identity(item)


class KeepingChanged(Conflict):
    """What a delete read to keep (Keeping) changed before its give-up began: nothing was done."""


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
    transaction with its checks: KeepingChanged naming `identity` when one failed (the profile's
    sender changed, or another of its claims is being given up, since they were read)."""
    at = now()
    if keeping is None:
        return _update_unchanged(item, SenderIdentity.releasing_at.set(at))
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
            raise KeepingChanged("the profile's sender_identity, or another identity it sends as, "
                                 "changed meanwhile: read them again and retry", field="identity") from None
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


def mark_ses_made(item: SenderIdentity) -> bool:
    """Record on the claim, as its add made it, that SES's identity is made (`item` follows);
    False when the claim changed since (given up, or gone)."""
    return _update_unchanged(item, SenderIdentity.ses_made.set(True))


def mark_ses_deleted(item: SenderIdentity) -> bool:
    """Record on the claim, as this give-up marked it, that SES's identity is deleted (`item`
    follows); False when the claim changed since (gone, or marked by another give-up)."""
    return _update_unchanged(item, SenderIdentity.ses_deleted.set(True))


def _update_unchanged(item: SenderIdentity, action: Action) -> bool:
    """Apply `action` to the claim if it is still as read (`item` follows); False, nothing
    changed, when it is not."""
    try:
        item.update(actions=[action], condition=_unchanged(item))
    except UpdateError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            return False
        raise
    return True


def release_unchanged_identity(item: SenderIdentity) -> bool:
    """Delete the claim as it was read; False when it is gone already or was claimed afresh or
    marked since (a conditional delete: of two accounts releasing one lapsed claim, one does it).
    In one transaction with the domain's guard, as read with the claims at the domain: replaced,
    or deleted with the domain's last claim. Conflict naming `identity` when claims at the domain
    changed under every one of RELEASE_ATTEMPTS reads."""
    for _ in range(RELEASE_ATTEMPTS):
        read = claims_at(item.domain)
        last = all(claim.identity == item.identity for claim in read.items)
        try:
            with write_transaction(SenderIdentity) as transaction:
                transaction.delete(item, condition=_unchanged(item))  # first: position 0
                if last:
                    transaction.delete(SenderIdentity(domain=item.domain, identity=_GUARD),
                                       condition=_version_read(read))
                else:
                    _replace_version(transaction, item.domain, _version_read(read))
        except TransactWriteError as exc:
            if condition_failed(exc, 0):
                return False
            if cancelled_by_a_race(exc):
                continue
            raise
        return True
    raise Conflict(f"sender identities at '{item.domain}' are changing: try again in a moment",
                   field="identity")


def _unchanged(item: SenderIdentity) -> Condition:
    same_claim = ((SenderIdentity.account_id == item.account_id)
                  & (SenderIdentity.created_at == item.created_at))
    if item.releasing_at is None:
        return same_claim & SenderIdentity.releasing_at.does_not_exist()
    return same_claim & (SenderIdentity.releasing_at == item.releasing_at)
