"""An account's retention state on its record (P22-P24): activity, deletion mark, content erasure.

Every change is one conditional update, so two Lambdas (or a person and the purge) cannot undo
each other: reactivating after the deletion is due, for example, fails instead of racing it.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib.domain.clock import now
from chalicelib.domain.health import CANCELLED, SUSPENDED
from chalicelib.domain.retention import (
    CONTENT_ERASED,
    DELETION_SCHEDULED,
    content_purge_cutoff,
    day_of,
    deletion_due,
    deletion_has_come,
    inactivity_warning_cutoff,
)
from chalicelib.store.conditions import CONDITION_FAILED, updated_if
from chalicelib.store.models import Account, ApiKey

# Statuses the inactivity rule reads (P24): every status an existing account can have.
_LIVING_STATUSES = ("active", SUSPENDED, CONTENT_ERASED, CANCELLED)


def record_use(key: ApiKey) -> None:
    """Note that the key's account was used today (P24). Free after the first call of the day:
    the key, read anyway to authenticate, remembers the day it last wrote."""
    today = day_of(now())
    if key.last_used_day == today:
        return
    # Using the account also voids an inactivity warning: its year starts again.
    updated_if(Account(account_id=key.account_id),
               [Account.last_active_day.set(today), Account.inactivity_warned_at.remove()],
               Account.account_id.exists()
               & (Account.last_active_day.does_not_exist() | (Account.last_active_day != today)))
    try:  # conditional: a key deleted meanwhile must not come back as a fragment
        key.update(actions=[ApiKey.last_used_day.set(today)], condition=ApiKey.key_hash.exists())
    except UpdateError as exc:
        if exc.cause_response_code != CONDITION_FAILED:
            raise


def set_deletion_nonce(account_id: str, nonce: str) -> None:
    """Remember the nonce of the latest deletion mail: only its link may confirm."""
    Account(account_id=account_id).update(actions=[Account.deletion_nonce.set(nonce)],
                                          condition=Account.account_id.exists())


def schedule_deletion(account_id: str, nonce: str) -> datetime | None:
    """Mark the account for deletion in 30 days (P23); the due time, or None when the nonce is
    not the latest one (an older mail, or one already used) or an operator cancelled the
    account (its deletion date is the operator's, P33)."""
    at = now()
    due = deletion_due(at)
    done = updated_if(Account(account_id=account_id),
                      [Account.deletion_state.set(DELETION_SCHEDULED),
                       Account.deletion_requested_at.set(at), Account.deletion_due_at.set(due),
                       Account.deletion_nonce.remove()],
                      (Account.deletion_nonce == nonce) & (Account.status != CANCELLED))
    return due if done else None


def cancel_deletion(account_id: str) -> bool:
    """Reactivate: drop the deletion mark while it is not due yet; False otherwise."""
    return updated_if(Account(account_id=account_id),
                      [Account.deletion_state.remove(), Account.deletion_requested_at.remove(),
                       Account.deletion_due_at.remove()],
                      (Account.deletion_state == DELETION_SCHEDULED) & (Account.deletion_due_at > now())
                      # An operator's cancellation (P33) is not the account's to undo.
                      & (Account.status != CANCELLED))


def mark_warned(account: Account) -> bool:
    """Record the inactivity warning, unless the account was used since it was read."""
    return updated_if(account, [Account.inactivity_warned_at.set(now())],
                      Account.inactivity_warned_at.does_not_exist()
                      & (Account.last_active_day == account.last_active_day))


def mark_content_erased(account: Account) -> bool:
    """End a suspended account's content period (P22): it leaves the suspension index."""
    return updated_if(account, [Account.status.set(CONTENT_ERASED), Account.content_erased_at.set(now())],
                      (Account.status == SUSPENDED) & (Account.suspended_at == account.suspended_at))


def suspended_past_grace(at: datetime) -> Iterator[Account]:
    """Accounts suspended at least 30 days ago (P22), from the sparse suspension index."""
    return Account.by_suspension.query(SUSPENDED, Account.suspended_at <= content_purge_cutoff(at))


def still_suspended_past_grace(account_id: str, at: datetime) -> Account | None:
    """Re-read (strongly) before erasing: the account, if it is still suspended at least 30 days
    (P22) — an operator may have lifted the suspension since the index was read (P25)."""
    try:
        account = Account.get(account_id, consistent_read=True)
    except Account.DoesNotExist:
        return None
    if (account.status == SUSPENDED and account.suspended_at is not None
            and account.suspended_at <= content_purge_cutoff(at)):
        return account
    return None


def deletions_due(at: datetime) -> Iterator[Account]:
    """Accounts whose deletion date has come (P23)."""
    return Account.by_deletion.query(DELETION_SCHEDULED, Account.deletion_due_at <= at)


def inactive_since_warning_cutoff(at: datetime) -> Iterator[Account]:
    """Accounts last used 11 months ago or earlier, of every status (P24)."""
    cutoff = inactivity_warning_cutoff(at)
    for status in _LIVING_STATUSES:
        yield from Account.by_activity.query(status, Account.last_active_day <= cutoff)


def every_account() -> Iterator[Account]:
    """Every existing account, from the activity index (every account has a last active day)."""
    for status in _LIVING_STATUSES:
        yield from Account.by_activity.query(status)


def still_due_for_deletion(account_id: str, at: datetime) -> Account | None:
    """Re-read (strongly) before deleting: the account, unless it was reactivated meanwhile (P25)."""
    try:
        account = Account.get(account_id, consistent_read=True)
    except Account.DoesNotExist:
        return None
    if deletion_has_come(account.deletion_state, account.deletion_due_at, at):
        return account
    return None
