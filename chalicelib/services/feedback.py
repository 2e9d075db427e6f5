"""SES feedback applied (P12, P13, P26): bounces and complaints end subscriptions and suppress the
address, and count toward the account's rates. Mails sent are counted by the senders themselves
(SES is not asked for Send or Delivery events); a Send or Delivery that still arrives (an old
configuration set) needs no action, so nothing is counted twice.

Routing reads the message's SES tags (account, list, kind), set by the send worker: nothing is
looked up by address or scanned. Every effect is idempotent or counted once (store/feedback.py),
because SES repeats, reorders and splits events and SQS delivers at least once.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

from chalicelib.config import hash_key, settings
from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.clock import now
from chalicelib.domain.feedback import BounceType, FeedbackEvent, FeedbackKind, Ignored, parse_feedback
from chalicelib.domain.health import counts_for_account, soft_bounce_days
from chalicelib.domain.message_ids import campaign_message_id
from chalicelib.domain.subscriptions import Status
from chalicelib.domain.suppression import SuppressionReason, address_hash
from chalicelib.observability import logger
from chalicelib.store import feedback as feedback_store
from chalicelib.store import messages
from chalicelib.store.health import soft_bounce_total
from chalicelib.store.suppressions import suppress


def apply_feedback(body: str) -> str | None:
    """Apply one SQS message body; returns the account whose rates it may have changed, or None.

    Raises MalformedFeedback (an InvalidInput) for a record that is not SES feedback: that record
    fails alone and SQS moves it to the dead-letter queue after its receives.
    """
    parsed = parse_feedback(body)
    if isinstance(parsed, Ignored):
        logger.info("feedback ignored", extra={"reason": parsed.reason})
        return None
    event = parsed
    context = {"kind": event.kind.value, "ses_message_id": event.ses_message_id,
               "account_id": event.account_id, "mail_kind": event.mail_kind}
    if event.account_id is None:
        # Identity notifications carry no tags: without them nothing can be routed.
        logger.info("feedback without an account tag acknowledged", extra=context)
        return None
    if not counts_for_account(event.mail_kind):
        logger.info("feedback on the platform's own mail acknowledged", extra=context)
        return None
    effect = _EFFECTS.get(event.kind)
    if effect is None:
        logger.info("feedback needs no action here", extra=context)
        return None
    applied = unmatched = 0
    for recipient in event.recipients:
        address = normalise_email(recipient, field="recipient")
        if not _sent_here(event, event.account_id, address):
            unmatched += 1
            continue
        effect(event, event.account_id, address)
        applied += 1
    if unmatched:
        # Counts only: a forged or foreign event names addresses nobody here mailed.
        logger.warning("feedback for a message this deployment did not send dropped",
                       extra={**context, "unmatched": unmatched})
    if not applied:
        return None
    logger.info("feedback applied", extra={**context, "recipients": applied})
    return event.account_id


def _sent_here(event: FeedbackEvent, account_id: str, address: str) -> bool:
    """Whether the event matches a message record this deployment wrote: its message id (the
    `message` tag, or for a campaign mail the id that follows from the campaign and recipient),
    the recipient's keyed hash and the account. Anything else counts for nobody."""
    recipient_hash = address_hash(address, hash_key())
    message_id = event.message_id or (campaign_message_id(event.campaign_id, recipient_hash)
                                      if event.campaign_id else None)
    return bool(message_id) and messages.was_sent(recipient_hash, message_id or "", account_id)


def _day(event: FeedbackEvent) -> date:
    # A clock running ahead at SES must not count into a day the window has not reached.
    return min(event.timestamp.date(), now().date())


def _count(event: FeedbackEvent, account_id: str, address: str, counter: str,
           soft_bounce_of: str | None = None) -> bool:
    receipt = feedback_store.receipt_key(event.ses_message_id, event.kind.value,
                                         address_hash(address, hash_key()))
    return feedback_store.count_once(receipt, account_id, _day(event), counter,
                                     settings().health, soft_bounce_of=soft_bounce_of,
                                     campaign_id=event.campaign_id)


def _end_on_list(event: FeedbackEvent, account_id: str, address: str, status: Status) -> None:
    if event.list_id:
        feedback_store.end_entry(account_id, event.list_id, address, status)


def _on_bounce(event: FeedbackEvent, account_id: str, address: str) -> None:
    """Permanent: the entry is bounced and the address suppressed at once. Transient (or
    undetermined): counted; the same happens once the address reaches the limit in the window."""
    if event.bounce is not None and event.bounce.type is BounceType.PERMANENT:
        _end_on_list(event, account_id, address, Status.BOUNCED)
        suppress(account_id, address, SuppressionReason.BOUNCED)
        _count(event, account_id, address, "hard_bounces")
        return
    policy = settings().health
    hashed = address_hash(address, hash_key())
    _count(event, account_id, address, "soft_bounces", soft_bounce_of=hashed)
    # Checked even for a repeated event: a crash after counting must not lose the suppression.
    total = soft_bounce_total(account_id, hashed, soft_bounce_days(_day(event), policy))
    if total >= policy.soft_bounce_limit:
        _end_on_list(event, account_id, address, Status.BOUNCED)
        suppress(account_id, address, SuppressionReason.BOUNCED)


def _on_complaint(event: FeedbackEvent, account_id: str, address: str) -> None:
    """The person ends every list of the account (status complained) and is suppressed (P12)."""
    for list_id in feedback_store.lists_of_address(account_id, address):
        feedback_store.end_entry(account_id, list_id, address, Status.COMPLAINED)
    suppress(account_id, address, SuppressionReason.COMPLAINED)
    _count(event, account_id, address, "complaints")


_EFFECTS: dict[FeedbackKind, Callable[[FeedbackEvent, str, str], None]] = {
    FeedbackKind.BOUNCE: _on_bounce,
    FeedbackKind.COMPLAINT: _on_complaint,
}
