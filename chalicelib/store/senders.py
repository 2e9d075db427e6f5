"""Sender identities (P35): which account owns which From address or domain.

One item per identity, under its domain: a Query on the domain reads every identity there, so
deciding whether an account may send as `news@acme.example` is one read whatever owns what.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.domain.clock import now
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.senders import SenderKind, unavailable
from chalicelib.store.models import Account, SenderIdentity
from chalicelib.store.transactions import condition_failed, write_transaction

_CONDITION_FAILED = "ConditionalCheckFailedException"


def identities_at(domain: str) -> list[SenderIdentity]:
    """Every identity at the domain (the domain's own and its addresses'), any account's."""
    return list(SenderIdentity.query(domain, consistent_read=True))


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


def claim_identity(account_id: str, domain: str, identity: str, kind: SenderKind) -> SenderIdentity:
    """Record that the account owns the identity; Conflict when any account has it already (one
    conditional put: two accounts racing for one identity cannot both win)."""
    item = SenderIdentity(domain=domain, identity=identity, account_id=account_id, kind=kind.value,
                          created_at=now())
    try:
        item.save(condition=SenderIdentity.identity.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            raise unavailable(identity) from None
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
