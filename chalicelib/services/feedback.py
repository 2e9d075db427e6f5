"""SES feedback applied (P12, P13, P26): bounces and complaints end subscriptions and suppress the
address, and count toward the account's rates. Mails sent are counted by the senders themselves
(SES is not asked for Send or Delivery events); a Send or Delivery that still arrives (an old
configuration set) needs no action, so nothing is counted twice.

The tags SES returns with an event (set by the senders) only find the message record: its
`message` tag, or for a campaign mail the id that follows from its `campaign` tag and the recipient,
with the recipient's keyed hash, is the record's key. The account, kind, campaign and list the
event touches are the record's (P28): tags travel in the notification unverified. A complaint or
permanent bounce no record matches (its record expired) only suppresses, counted nowhere
(services/unmatched_feedback.py). Nothing is looked up by address or scanned. Every effect is
idempotent or counted once (store/feedback.py), because SES repeats, reorders and splits events
and SQS delivers at least once.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

from chalicelib.config import hash_key, settings
from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.clock import now
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.feedback import (
    BounceType,
    FeedbackEvent,
    FeedbackKind,
    Ignored,
    parse_feedback,
)
from chalicelib.domain.health import counts_for_account, soft_bounce_days
from chalicelib.domain.message_ids import campaign_message_id
from chalicelib.domain.sent_message import SentMessage
from chalicelib.domain.subscriptions import Status
from chalicelib.domain.suppression import SuppressionReason, address_hash
from chalicelib.observability import logger
from chalicelib.services.unmatched_feedback import protect_unmatched, stop_platform_mail
from chalicelib.store import feedback as feedback_store
from chalicelib.store import messages
from chalicelib.store.health import soft_bounce_total
from chalicelib.store.suppressions import suppress


def apply_feedback(body: str) -> set[str]:
    """Apply one SQS message body; returns the accounts whose rates it may have changed.

    Raises MalformedFeedback (an InvalidInput) for a record that is not SES feedback: that record
    fails alone and SQS moves it to the dead-letter queue after its receives.
    """
    parsed = parse_feedback(body)
    if isinstance(parsed, Ignored):
        logger.info("feedback ignored", extra={"reason": parsed.reason})
        return set()
    event = parsed
    context = {"kind": event.kind.value, "ses_message_id": event.loggable_ses_message_id}
    effect = _EFFECTS.get(event.kind)
    if effect is None:
        logger.info("feedback needs no action here", extra=context)
        return set()
    if not (event.message_id or event.campaign_id):
        # Identity notifications carry no tags: without them no message record can be found.
        logger.info("feedback without a message tag acknowledged", extra=context)
        return set()
    touched: set[str] = set()
    applied = unmatched = protected = platform = unreadable = 0
    for recipient in event.recipients:
        try:
            address = normalise_email(recipient, field="recipient")
        except InvalidInput:
            # Nothing was ever mailed to a string that is no address: failing the record here
            # would keep the recipients after it from applying, on every receive.
            unreadable += 1
            continue
        sent = _sent_message(event, address)
        if not counts_for_account(sent.kind if sent else event.tags.get("kind")):
            # The platform's own mail: never again where it bounced hard or drew a complaint (P11).
            stop_platform_mail(event, address)
            platform += 1
            continue
        if sent is None:
            if protect_unmatched(event, address):
                protected += 1
            else:
                unmatched += 1
            continue
        _note_disagreeing_tags(event, sent, context)
        effect(event, sent, address)
        touched.add(sent.account_id)
        applied += 1
    if unreadable:
        logger.warning("feedback recipients that are no address skipped",
                       extra={**context, "recipients": unreadable})
    if unmatched:
        # Counts only: no record, and nothing to protect (a transient bounce, or tags naming no
        # account here); a forged or foreign event names addresses nobody here mailed.
        logger.warning("feedback for a message this deployment did not send dropped",
                       extra={**context, "unmatched": unmatched})
    if protected:
        logger.info("feedback without a message record applied as a suppression only, counted nowhere",
                    extra={**context, "recipients": protected})
    if platform:
        logger.info("feedback on the platform's own mail acknowledged",
                    extra={**context, "recipients": platform})
    if applied:
        logger.info("feedback applied", extra={**context, "recipients": applied})
    return touched


def _sent_message(event: FeedbackEvent, address: str) -> SentMessage | None:
    """The record of the message the event names to this recipient (its `message` tag, or for a
    campaign mail the id that follows from the campaign and recipient), or None: an event no
    record matches counts for nobody."""
    recipient_hash = address_hash(address, hash_key())
    message_id = event.message_id or (campaign_message_id(event.campaign_id, recipient_hash)
                                      if event.campaign_id else None)
    return messages.sent_message(recipient_hash, message_id) if message_id else None


def _note_disagreeing_tags(event: FeedbackEvent, sent: SentMessage, context: dict[str, str]) -> None:
    # Names and ids only: which tags lied, for whose mail; the record's values are used.
    disagreeing = sent.disagreeing_tags(event.tags)
    if disagreeing:
        logger.warning("feedback tags disagree with the message record; the record's values used",
                       extra={**context, "tags": disagreeing, "account_id": sent.account_id,
                              "message_id": sent.message_id})


def _day(event: FeedbackEvent) -> date:
    # A clock running ahead at SES must not count into a day the window has not reached.
    return min(event.timestamp.date(), now().date())


def _count(event: FeedbackEvent, sent: SentMessage, counter: str, soft_bounce_of: str | None = None,
           toward_rates: bool = True) -> bool:
    # Keyed on the mail the event was matched to, not on SES's message id (unverified, P26).
    return feedback_store.count_once(sent.message_id, sent.recipient_hash, sent.account_id,
                                     _day(event), counter,
                                     settings().health, soft_bounce_of=soft_bounce_of,
                                     campaign_id=sent.campaign_id, toward_rates=toward_rates,
                                     sent_at=sent.sent_at)


def _end_on_list(sent: SentMessage, address: str, status: Status) -> None:
    if sent.list_id:
        feedback_store.end_entry(sent.account_id, sent.list_id, address, status)


def _on_bounce(event: FeedbackEvent, sent: SentMessage, address: str) -> None:
    """Permanent: the entry is bounced and the address suppressed at once. Transient (or
    undetermined): counted; the same happens once the address reaches the limit in the window.

    A bounce off SES's account-level suppression list (shared by every tenant) ends and
    suppresses the same way, as SES will never deliver there, and shows in the campaign's report,
    but is not the account's bounce: it stays out of the rates, as SES keeps it out of its own."""
    bounce = event.bounce
    if bounce is not None and bounce.type is BounceType.PERMANENT:
        _end_on_list(sent, address, Status.BOUNCED)
        suppress(sent.account_id, address, SuppressionReason.BOUNCED)
        _count(event, sent, "hard_bounces", toward_rates=bounce.counts_toward_rates)
        return
    policy = settings().health
    _count(event, sent, "soft_bounces", soft_bounce_of=sent.recipient_hash)
    # Checked even for a repeated event: a crash after counting must not lose the suppression.
    total = soft_bounce_total(sent.account_id, sent.recipient_hash, soft_bounce_days(_day(event), policy))
    if total >= policy.soft_bounce_limit:
        _end_on_list(sent, address, Status.BOUNCED)
        suppress(sent.account_id, address, SuppressionReason.BOUNCED)


def _on_complaint(event: FeedbackEvent, sent: SentMessage, address: str) -> None:
    """The person ends every list of the account (status complained) and is suppressed (P12).
    One off SES's shared account-level suppression list ends and suppresses the same way (SES
    will never deliver there) but stays out of the rates: perhaps another tenant's (P26, P28)."""
    for list_id in feedback_store.lists_of_address(sent.account_id, address):
        feedback_store.end_entry(sent.account_id, list_id, address, Status.COMPLAINED)
    suppress(sent.account_id, address, SuppressionReason.COMPLAINED)
    _count(event, sent, "complaints", toward_rates=event.complaint_counts_toward_rates)


_EFFECTS: dict[FeedbackKind, Callable[[FeedbackEvent, SentMessage, str], None]] = {
    FeedbackKind.BOUNCE: _on_bounce,
    FeedbackKind.COMPLAINT: _on_complaint,
}
