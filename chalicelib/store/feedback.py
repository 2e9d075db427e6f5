"""What SES feedback changes in DynamoDB: counters added exactly once, and subscriber entries ended.

SES may repeat an event and SQS delivers at least once, so each counted event leaves a receipt
(Tidings' message id, counter, keyed hash of the recipient) written in the same transaction as the
counters it adds to: a repeat fails the receipt's condition and adds nothing. SES's own message id
is not part of it: the event carries it unverified, and a replay under a new one is the same mail.
"""
from __future__ import annotations

from datetime import date

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.domain.clock import now
from chalicelib.domain.health import HealthPolicy
from chalicelib.domain.retention import MESSAGE_RETENTION, purge_bucket
from chalicelib.domain.subscriptions import Status
from chalicelib.store.campaign_stats import count_campaign_feedback
from chalicelib.store.health import COUNTERS, day_expiry, soft_bounce_key
from chalicelib.store.models import AccountHealthDay, FeedbackReceipt, RateCounter, Subscriber
from chalicelib.store.subscribers import account_address_key, ending_actions, ending_condition
from chalicelib.store.transactions import first_condition_failed, write_transaction

# The campaign report's name (store/campaign_stats.py) of each account health counter.
CAMPAIGN_COUNTERS = {"hard_bounces": "bounces#hard", "soft_bounces": "bounces#soft",
                     "complaints": "complaints"}
# An event counts only while its message record lives (at most 30 days after sending, P21), and
# the receipt is written after sending: a replay cannot outlive it.
RECEIPT_LIFETIME = MESSAGE_RETENTION


def receipt_key(message_id: str, counter: str, recipient_hash: str) -> str:
    """The receipt of one mail's (Tidings' `message_id`) one outcome (`counter`) for one recipient:
    a mail's complaint counts once however often it is replayed, and its transient bounce and a
    later permanent one stay two outcomes."""
    return f"{message_id}#{counter}#{recipient_hash}"


def count_once(receipt: str, account_id: str, day: date, counter: str, policy: HealthPolicy,
               soft_bounce_of: str | None = None, campaign_id: str | None = None,
               toward_rates: bool = True) -> bool:
    """Add one to the account's `counter` for `day` (and to the address's transient-bounce counter
    when `soft_bounce_of` holds its keyed hash, and to the campaign's report when `campaign_id` is
    given) unless this receipt exists; True when counted. `toward_rates` False leaves the account's
    day alone: an outcome for the campaign's report only."""
    if counter not in COUNTERS:
        raise ValueError(f"unknown health counter {counter!r}")
    expires = day_expiry(day, policy)
    try:
        with write_transaction(FeedbackReceipt) as transaction:
            transaction.save(FeedbackReceipt(receipt_key=receipt, expires_at=now() + RECEIPT_LIFETIME),
                             condition=FeedbackReceipt.receipt_key.does_not_exist())
            if toward_rates:
                transaction.update(AccountHealthDay(account_id=account_id, day=day.isoformat()),
                                   actions=[getattr(AccountHealthDay, counter).add(1),
                                            AccountHealthDay.expires_at.set(expires)])
            if soft_bounce_of is not None:
                key = soft_bounce_key(account_id, soft_bounce_of, day)
                transaction.update(
                    RateCounter(counter_key=key),
                    # purge_bucket: the retention purge finds it on time, not only TTL (P25).
                    actions=[RateCounter.count.add(1), RateCounter.expires_at.set(expires),
                             RateCounter.purge_bucket.set(purge_bucket(expires, key))],
                )
            if campaign_id:
                transaction.update(*count_campaign_feedback(campaign_id, CAMPAIGN_COUNTERS[counter]))
    except TransactWriteError as error:
        if first_condition_failed(error):
            return False
        raise
    return True


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
