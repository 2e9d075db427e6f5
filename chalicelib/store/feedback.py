"""What SES feedback changes in DynamoDB: counters added exactly once, and subscriber entries ended.

SES may repeat an event and SQS delivers at least once, so each counted event leaves a receipt
(Tidings' message id, counter, keyed hash of the recipient) written in the same transaction as the
counters it adds to: a repeat fails the receipt's condition and adds nothing. SES's own message id
is not part of it: the event carries it unverified, and a replay under a new one is the same mail.
A mail's two bounce receipts (transient, permanent) also decide, by a condition check in that
transaction, where the mail stands on its campaign's report: once, as its final state.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.clock import now
from chalicelib.domain.health import HealthPolicy
from chalicelib.domain.retention import MESSAGE_RETENTION, purge_bucket
from chalicelib.domain.subscriptions import Status
from chalicelib.domain.suppression import account_subject
from chalicelib.store.batch_writes import delete_all
from chalicelib.store.campaign_stats import count_campaign_feedback
from chalicelib.store.health import COUNTERS, day_expiry, soft_bounce_expiry, soft_bounce_key
from chalicelib.store.models import AccountHealthDay, FeedbackReceipt, RateCounter, Subscriber
from chalicelib.store.subscribers import account_address_key, ending_actions, ending_condition
from chalicelib.store.transactions import condition_failed, write_transaction

# An event counts only while its message record lives (at most 30 days after sending, P21): the
# receipt, which holds the recipient's keyed hash, goes then too, however late the event came.
RECEIPT_LIFETIME = MESSAGE_RETENTION
# The other bounce outcome of the same mail: SES may report a transient bounce and later (or,
# reordered, earlier) a permanent one. The account's rates count both (P26: two outcomes); the
# campaign's report shows the mail once, in its final state, hard (P13).
_OTHER_BOUNCE = {"soft_bounces": "hard_bounces", "hard_bounces": "soft_bounces"}


@dataclass(frozen=True)
class _CampaignPlan:
    """What one outcome adds to the campaign's report, given whether the mail's other bounce
    outcome was counted (`other_counted`; None: no condition, the outcome is not a bounce)."""
    other_counted: bool | None
    adds: tuple[tuple[str, int], ...]


# Per account health counter, what it adds under the campaign report's names
# (store/campaign_stats.FEEDBACK_COUNTERS). Tried in turn: the check of a plan that does not
# apply fails, and the next one is written.
_CAMPAIGN_PLANS: dict[str, tuple[_CampaignPlan, ...]] = {
    "complaints": (_CampaignPlan(None, (("complaints", 1),)),),
    # After the permanent bounce a transient one is already in the report, as hard.
    "soft_bounces": (_CampaignPlan(False, (("bounces#soft", 1),)), _CampaignPlan(True, ())),
    # After a transient bounce the permanent one moves the mail from soft to hard.
    "hard_bounces": (_CampaignPlan(False, (("bounces#hard", 1),)),
                     _CampaignPlan(True, (("bounces#hard", 1), ("bounces#soft", -1)))),
}
_NOT_IN_A_CAMPAIGN = (_CampaignPlan(None, ()),)
# The outcomes a mail may leave a receipt of.
RECEIPT_COUNTERS = tuple(_CAMPAIGN_PLANS)


class BounceRaced(RuntimeError):
    """The mail's other bounce receipt appeared and vanished while this one was counted (it
    expired in between): nothing was written, the record is retried."""


def receipt_key(message_id: str, counter: str, recipient_hash: str) -> str:
    """The receipt of one mail's (Tidings' `message_id`) one outcome (`counter`) for one recipient:
    a mail's complaint counts once however often it is replayed, and its transient bounce and a
    later permanent one stay two outcomes for the account's rates."""
    return f"{message_id}#{counter}#{recipient_hash}"


def receipts_of(mails: Iterable[tuple[str, str]]) -> list[FeedbackReceipt]:
    """The receipts held for these (message id, recipient keyed hash) mails: keys only, one
    BatchGetItem per 100 keys (their keys follow from the mail, so nothing is scanned)."""
    keys = [receipt_key(message_id, counter, recipient_hash)
            for message_id, recipient_hash in mails for counter in RECEIPT_COUNTERS]
    return list(FeedbackReceipt.batch_get(keys, attributes_to_get=["receipt_key"])) if keys else []


def delete_receipts(receipts: list[FeedbackReceipt]) -> int:
    """Delete these receipts; how many."""
    return delete_all(FeedbackReceipt, receipts)


def count_once(message_id: str, recipient_hash: str, account_id: str, day: date, counter: str,
               policy: HealthPolicy, soft_bounce_of: str | None = None,
               campaign_id: str | None = None, toward_rates: bool = True,
               sent_at: datetime | None = None) -> bool:
    """Add one to the account's `counter` for `day` (and to the address's transient-bounce counter
    when `soft_bounce_of` holds its keyed hash, and to the campaign's report when `campaign_id` is
    given) unless this mail's (`message_id`, `recipient_hash`) outcome was counted before; True
    when counted. `toward_rates` False leaves the account's day alone: an outcome for the
    campaign's report only. On the campaign's report a mail bounces once: a permanent bounce
    after a transient one moves it from soft to hard, a transient one after a permanent one adds
    nothing there (in either order, in one transaction with the receipt). The receipt expires
    30 days after `sent_at`, the mail's sending (now when unknown)."""
    if counter not in COUNTERS:
        raise ValueError(f"unknown health counter {counter!r}")
    receipt = receipt_key(message_id, counter, recipient_hash)
    expires_at = (sent_at or now()) + RECEIPT_LIFETIME
    other = (receipt_key(message_id, _OTHER_BOUNCE[counter], recipient_hash)
             if counter in _OTHER_BOUNCE else None)
    plans = _CAMPAIGN_PLANS[counter] if campaign_id else _NOT_IN_A_CAMPAIGN
    # Twice over: a plan's check fails only while the other plan's holds, unless the other
    # receipt expired in between; then the first plan holds on the second round.
    for plan in plans * 2:
        checked = plan.other_counted is not None and other is not None
        try:
            with write_transaction(FeedbackReceipt) as transaction:
                if checked:
                    # Condition checks go first in the request: the receipt is then item 1.
                    held = FeedbackReceipt.receipt_key
                    transaction.condition_check(FeedbackReceipt, other, condition=(
                        held.exists() if plan.other_counted else held.does_not_exist()))
                transaction.save(FeedbackReceipt(receipt_key=receipt, expires_at=expires_at),
                                 condition=FeedbackReceipt.receipt_key.does_not_exist())
                _add_counts(transaction, account_id, day, counter, policy, soft_bounce_of, toward_rates)
                for campaign_counter, amount in plan.adds if campaign_id else ():
                    transaction.update(*count_campaign_feedback(campaign_id, campaign_counter, amount))
        except TransactWriteError as error:
            if condition_failed(error, 1 if checked else 0):
                return False  # counted before
            if checked and condition_failed(error, 0):
                continue
            raise
        return True
    raise BounceRaced(counter)


def _add_counts(transaction: TransactWrite, account_id: str, day: date, counter: str,
                policy: HealthPolicy, soft_bounce_of: str | None, toward_rates: bool) -> None:
    """The account's day and the address's transient-bounce counter, in the receipt's transaction."""
    expires = day_expiry(day, policy)
    if toward_rates:
        transaction.update(AccountHealthDay(account_id=account_id, day=day.isoformat()),
                           actions=[getattr(AccountHealthDay, counter).add(1),
                                    AccountHealthDay.expires_at.set(expires)])
    if soft_bounce_of is not None:
        key, kept_until = soft_bounce_key(account_id, soft_bounce_of, day), soft_bounce_expiry(day, policy)
        transaction.update(
            RateCounter(counter_key=key),
            # purge_bucket: the retention purge finds it on time, not only TTL (P25).
            # subject: the person's erasure finds it (P18).
            actions=[RateCounter.count.add(1), RateCounter.expires_at.set(kept_until),
                     RateCounter.purge_bucket.set(purge_bucket(kept_until, key)),
                     RateCounter.subject.set(account_subject(account_id, soft_bounce_of))],
        )


def end_entry(account_id: str, list_id: str, address: str, status: Status) -> bool:
    """End the account's entry for this address on this list (bounced, complained, unsubscribed)
    in one conditional update, its personal data due for deletion (P29); False when there is
    none or it had already ended."""
    try:
        Subscriber(list_id=list_id, address=address).update(
            actions=ending_actions(list_id, address, status),
            condition=ending_condition(account_id, status),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def lists_of_address(account_id: str, address: str) -> list[str]:
    """The ids of every list of the account the address has an entry on (the `by_account_address`
    index: no scan)."""
    return [entry.list_id for entry in
            Subscriber.by_account_address.query(account_address_key(account_id, address))]
