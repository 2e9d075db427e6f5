"""Suspending accounts whose bounce or complaint rate crosses a threshold, and lifting it (P26).

The feedback worker reviews every account a batch touched; an operator lifts a suspension with
`python -m chalicelib.cli account unsuspend`. Both leave an audit entry without contact data.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from chalicelib.adapters.sqs import enqueue
from chalicelib.config import settings
from chalicelib.domain.clock import now
from chalicelib.domain.contact_text import contact_data_in
from chalicelib.domain.errors import Conflict, InvalidInput, NotFound
from chalicelib.domain.header_text import header_text
from chalicelib.domain.health import (
    ACTIVE,
    OPERATOR_ACTION_MAIL_KIND,
    SUSPENSION_MAIL_KIND,
    HealthWindow,
    check_own_threshold,
    operator_action_message_id,
    operator_action_notice,
    summarise,
    suspension_message_id,
    suspension_notice,
    suspension_reason,
    thresholds_for,
    window_start,
)
from chalicelib.domain.outbox import EmailJob
from chalicelib.domain.retention import deletion_due
from chalicelib.observability import logger
from chalicelib.resources import OUTBOX
from chalicelib.services.accounts import account_language
from chalicelib.store import audit
from chalicelib.store import health as health_store
from chalicelib.store.accounts import get_account
from chalicelib.store.models import Account

# The audit actor of a suspension decided from the rates.
REVIEWER = "feedback-worker"


def current_window(account: Account) -> HealthWindow:
    """The account's sums and rates over its current window (one Query)."""
    since = window_start(now().date(), settings().health, account.health_since)
    return summarise(since, health_store.days_since(account.account_id, since))


def review_accounts(account_ids: Iterable[str]) -> None:
    """Review each account once; suspends those whose rates crossed a threshold."""
    for account_id in sorted(set(account_ids)):
        review_account(account_id)


def review_account(account_id: str) -> str | None:
    """Suspend the account when its rates crossed a threshold; returns the reason, or None."""
    try:
        account = get_account(account_id)
    except NotFound:
        logger.warning("feedback names an unknown account", extra={"account_id": account_id})
        return None
    if account.status != ACTIVE:
        return None
    reason = suspension_reason(current_window(account), thresholds_for(settings().health, account))
    if reason is None:
        return None
    _suspend(account, reason)
    return reason


def _suspend(account: Account, reason: str) -> None:
    # The notice is queued first, under an id fixed for this suspension: if the update below is
    # lost to a crash, the redelivered batch decides again and the send worker drops the
    # duplicate notice. Queued after, a crash would leave the account suspended and never told.
    if account.contact_email:
        mail = suspension_notice(account.contact_email, settings().default_sender, account.name, reason,
                                 account_language(account), reply_to=settings().operator_email)
        job = EmailJob(message_id=suspension_message_id(account.account_id, account.health_since),
                       account_id=account.account_id, kind=SUSPENSION_MAIL_KIND, email=mail)
        enqueue(OUTBOX, job.to_dict())
    if health_store.suspend(account.account_id, reason) is None:
        return  # another worker suspended it first, and recorded it
    audit.record(account.account_id, REVIEWER, "account.suspended", reason)
    logger.warning("account suspended", extra={"account_id": account.account_id, "reason": reason})


class OperatorAction(NamedTuple):
    """An operator's suspension or cancellation, done: the account as it is now, and whether a
    notice telling it why was queued (False: it has no address to mail, P33)."""

    account: Account
    notified: bool


def _notify(account: Account, action: str, reason: str, deletion_due: str | None = None) -> bool:
    """Mail the account why an operator acted (P33): to its contact email, else its sender
    identity; False when it has neither (the audit entry says so)."""
    recipient = account.contact_email or account.sender_identity
    if not recipient:
        return False
    at = now()
    mail = operator_action_notice(recipient, settings().default_sender, account.name, action, reason,
                                  deletion_due, account_language(account), reply_to=settings().operator_email)
    enqueue(OUTBOX, EmailJob(message_id=operator_action_message_id(account.account_id, action, at),
                             account_id=account.account_id, kind=OPERATOR_ACTION_MAIL_KIND,
                             email=mail).to_dict())
    return True


def _operator_reason(reason: str) -> str:
    cleaned = header_text(reason or "", "reason")
    if len(cleaned) > 500:
        raise InvalidInput("the reason is longer than 500 characters", field="reason")
    # The reason is kept in the audit log and on the account, where contact data never goes
    # (P27): refused before anything changes, and not repeated in the error.
    found = contact_data_in(cleaned)
    if found:
        raise InvalidInput(f"the reason holds {found}: name the rule broken, never a person's contact data",
                           field="reason")
    return cleaned


def suspend_by_operator(account_id: str, reason: str, actor: str = "operator") -> OperatorAction:
    """Suspend an account for a breach of the acceptable-use rules (P33): it may not send until
    an operator lifts it; it is told why by mail, and the action is audited with the reason."""
    reason = _operator_reason(reason)
    account = get_account(account_id)
    if health_store.suspend(account_id, f"suspended by the operator: {reason}") is None:
        raise Conflict(f"the account is {account.status}, not active", field="account_id")
    mailed = _notify(account, "suspended", reason)
    audit.record(account_id, actor, "account.suspended_by_operator",
                 f"{reason}{'' if mailed else ' (not mailed: no contact email)'}")
    logger.warning("account suspended by the operator", extra={"account_id": account_id})
    return OperatorAction(get_account(account_id), mailed)


def cancel_by_operator(account_id: str, reason: str, actor: str = "operator") -> OperatorAction:
    """Cancel an account for a breach of the acceptable-use rules (P33): it may not send; it
    can export its data for 30 days (P22), or until a deletion it had confirmed is due if that
    comes sooner, then the daily purge deletes it (P23). Mailed and audited like a suspension."""
    reason = _operator_reason(reason)
    account = get_account(account_id)
    due = health_store.cancel(account_id, f"cancelled by the operator: {reason}", deletion_due(now()))
    if due is None:
        raise Conflict(f"the account is {account.status}; only an active or suspended account can be "
                       "cancelled", field="account_id")
    mailed = _notify(account, "cancelled", reason, deletion_due=due.date().isoformat())
    audit.record(account_id, actor, "account.cancelled_by_operator",
                 f"{reason}{'' if mailed else ' (not mailed: no contact email)'}")
    # The account's own log goes with it when it is deleted; the platform's keeps the fact (P33),
    # by id only: the operator's reason is free text.
    audit.record(audit.PLATFORM_AUDIT, actor, "account.cancelled_by_operator", account_id)
    logger.warning("account cancelled by the operator", extra={"account_id": account_id})
    return OperatorAction(get_account(account_id), mailed)


def unsuspend(account_id: str, actor: str = "operator") -> Account:
    """Lift a suspension: the account may send again and is judged afresh from now."""
    get_account(account_id)
    if health_store.lift_suspension(account_id) is None:
        raise Conflict("the account is not suspended", field="account_id")
    audit.record(account_id, actor, "account.unsuspended", account_id)
    return get_account(account_id)


def set_own_thresholds(account_id: str, max_complaint_rate: float | None, max_bounce_rate: float | None,
                       actor: str = "operator") -> None:
    """Give the account stricter limits than the platform's (looser ones have no effect)."""
    if max_complaint_rate is None and max_bounce_rate is None:
        raise InvalidInput("name at least one limit", field="max_complaint_rate")
    changed = []
    for name, value in (("max_complaint_rate", max_complaint_rate), ("max_bounce_rate", max_bounce_rate)):
        if value is not None:
            check_own_threshold(value, name)
            changed.append(name)
    health_store.set_own_thresholds(account_id, max_complaint_rate, max_bounce_rate)
    audit.record(account_id, actor, "account.health_limits_changed", ",".join(changed))


def health_view(account_id: str) -> dict[str, Any]:
    """What `/v1/account/health` shows: aggregates, thresholds and status — never an address."""
    account = get_account(account_id)
    window = current_window(account)
    thresholds = thresholds_for(settings().health, account)
    failed, latest_failure = health_store.failures_since(account_id, window.since)
    return {
        "status": account.status,
        "suspended_at": account.suspended_at.isoformat() if account.suspended_at else None,
        "suspension_reason": account.suspension_reason,
        "window": {"since": window.since.isoformat(), "days": (now().date() - window.since).days + 1},
        "volume": window.volume,
        "counts": {
            "sent": window.sent,
            "delivered": window.delivered,
            "hard_bounces": window.hard_bounces,
            "soft_bounces": window.soft_bounces,
            "complaints": window.complaints,
        },
        "rates": {"bounce": window.bounce_rate, "complaint": window.complaint_rate},
        "thresholds": {
            "bounce": thresholds.max_bounce_rate,
            "complaint": thresholds.max_complaint_rate,
            "min_volume": thresholds.min_volume,
        },
        # Below the minimum volume the rates are shown but cannot suspend.
        "judged": window.volume >= thresholds.min_volume,
        # The account's own mails (transactional, confirmation, test) that could not be built or
        # sent in the window; campaigns show theirs on the campaign.
        "failures": {"count": failed, "latest": latest_failure},
    }
