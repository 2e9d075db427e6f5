"""Account health in DynamoDB (P26): the day counters, the transient-bounce counters, and the
account's suspension state. Aggregates and keyed hashes only, never an address."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.domain.clock import now
from chalicelib.domain.errors import NotFound
from chalicelib.domain.health import ACTIVE, CANCELLED, SUSPENDED, DayCounts, HealthPolicy
from chalicelib.domain.retention import DELETION_SCHEDULED
from chalicelib.store.conditions import CONDITION_FAILED, updated_if
from chalicelib.store.models import Account, AccountHealthDay, RateCounter

# "delivered" is not counted: it is derived (HealthWindow.delivered), SES is not asked for Deliveries.
COUNTERS = ("sent", "hard_bounces", "soft_bounces", "complaints")


def day_expiry(day: date, policy: HealthPolicy) -> datetime:
    """A day counter is kept one day past the last window that can read it."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=policy.window_days + 1)


def soft_bounce_expiry(day: date, policy: HealthPolicy) -> datetime:
    """An address's transient-bounce counter of `day` (its keyed hash in the key) is kept one
    day past the last transient-bounce window that reads it (domain/health.soft_bounce_days)."""
    return (datetime(day.year, day.month, day.day, tzinfo=UTC)
            + timedelta(days=policy.soft_bounce_window_days + 1))


def sent_update(account_id: str, day: date, amount: int,
                policy: HealthPolicy) -> tuple[AccountHealthDay, list[Any]]:
    """(item, actions) adding `amount` mails sent: for `update()` or a transaction's update."""
    return (AccountHealthDay(account_id=account_id, day=day.isoformat()),
            [AccountHealthDay.sent.add(amount), AccountHealthDay.expires_at.set(day_expiry(day, policy))])


def failure_update(account_id: str, day: date, description: str,
                   policy: HealthPolicy) -> tuple[AccountHealthDay, list[Any]]:
    """(item, actions) adding one mail of the account that could not be built or sent, with its
    description: for `update()` or a transaction's update."""
    return (AccountHealthDay(account_id=account_id, day=day.isoformat()),
            [AccountHealthDay.failed.add(1), AccountHealthDay.last_failure.set(description[:500]),
             AccountHealthDay.expires_at.set(day_expiry(day, policy))])


def count_failure(account_id: str, day: date, description: str, policy: HealthPolicy) -> None:
    """Add one mail of the account that could not be built or sent, with its description."""
    item, actions = failure_update(account_id, day, description, policy)
    item.update(actions=actions)


def failures_since(account_id: str, since: date) -> tuple[int, str | None]:
    """How many of the account's own mails failed from `since` on, and the latest description."""
    count, latest = 0, None
    for item in AccountHealthDay.query(account_id, AccountHealthDay.day >= since.isoformat()):
        count += int(item.failed or 0)
        latest = item.last_failure or latest
    return count, latest


def soft_bounce_key(account_id: str, address_hash: str, day: date) -> str:
    """The key of one address's transient-bounce counter for one day (a keyed hash, P18)."""
    return f"soft-bounce:{account_id}:{address_hash}:{day.isoformat()}"


def soft_bounce_total(account_id: str, address_hash: str, days: list[date]) -> int:
    """Transient bounces of the address over these days: one BatchGetItem."""
    keys = [soft_bounce_key(account_id, address_hash, day) for day in days]
    return sum(int(counter.count or 0) for counter in RateCounter.batch_get(keys))


def days_since(account_id: str, since: date) -> list[DayCounts]:
    """The account's day counters from `since` on: one Query (a window holds at most ~30 items)."""
    return [
        DayCounts(date.fromisoformat(item.day), **{name: int(getattr(item, name) or 0) for name in COUNTERS})
        for item in AccountHealthDay.query(account_id, AccountHealthDay.day >= since.isoformat())
    ]


def cancel(account_id: str, reason: str, deletion_due: datetime) -> datetime | None:
    """Cancel an active or suspended account (P33): it may no longer send, and it is marked for
    deletion at `deletion_due` (the P23 purge deletes it then; it cannot reactivate itself). A
    deletion the account confirmed itself keeps its earlier date: cancelling never postpones it.
    The deletion's due time, or None when the account was not active or suspended."""
    at = now()
    account = Account(account_id=account_id)
    # Dropping the nonce voids a pending deletion link: the account cannot move the date (P33).
    cancelled = [Account.status.set(CANCELLED), Account.suspension_reason.set(reason),
                 Account.suspended_at.remove(), Account.deletion_nonce.remove(), Account.updated_at.set(at)]
    cancellable = Account.status.is_in(ACTIVE, SUSPENDED)
    due_sooner = (Account.deletion_state == DELETION_SCHEDULED) & (Account.deletion_due_at <= deletion_due)
    if updated_if(account, cancelled, cancellable & due_sooner):
        return account.deletion_due_at
    scheduled = [Account.deletion_state.set(DELETION_SCHEDULED), Account.deletion_requested_at.set(at),
                 Account.deletion_due_at.set(deletion_due)]
    return deletion_due if updated_if(account, [*cancelled, *scheduled], cancellable) else None


def suspend(account_id: str, reason: str) -> datetime | None:
    """Suspend an active account; returns the time, or None when it was not active (another
    worker suspended it first, or an operator changed its status)."""
    at = now()
    try:
        Account(account_id=account_id).update(
            actions=[
                Account.status.set(SUSPENDED),
                Account.suspended_at.set(at),
                Account.suspension_reason.set(reason),
                Account.updated_at.set(at),
            ],
            condition=Account.status == ACTIVE,
        )
    except UpdateError as exc:
        if exc.cause_response_code == CONDITION_FAILED:
            return None
        raise
    return at


def lift_suspension(account_id: str) -> datetime | None:
    """Let a suspended account send again, judged afresh from now; None when it was not suspended.

    Today's counter is dropped with it: it holds mail from before the lift, and the window now
    starts today.
    """
    at = now()
    try:
        Account(account_id=account_id).update(
            actions=[
                Account.status.set(ACTIVE),
                Account.health_since.set(at),
                Account.suspended_at.remove(),
                Account.suspension_reason.remove(),
                Account.updated_at.set(at),
            ],
            condition=Account.status == SUSPENDED,
        )
    except UpdateError as exc:
        if exc.cause_response_code == CONDITION_FAILED:
            return None
        raise
    AccountHealthDay(account_id=account_id, day=at.date().isoformat()).delete()
    return at


def set_own_thresholds(account_id: str, max_complaint_rate: float | None,
                       max_bounce_rate: float | None) -> None:
    """Set the account's own (stricter) limits; None leaves a limit as it is."""
    actions = [Account.updated_at.set(now())]
    if max_complaint_rate is not None:
        actions.append(Account.max_complaint_rate.set(max_complaint_rate))
    if max_bounce_rate is not None:
        actions.append(Account.max_bounce_rate.set(max_bounce_rate))
    try:
        Account(account_id=account_id).update(actions=actions, condition=Account.account_id.exists())
    except UpdateError as exc:
        if exc.cause_response_code == CONDITION_FAILED:
            raise NotFound("no such account", field="account_id") from None
        raise
