"""Counting sent mail exactly once per count batch (P13, P26), one transaction a batch.

A sender invocation is a count batch: its claims (store/messages.claim) name it, and it adds what
it sent to the counters in one transaction with its receipt. When that transaction fails, the
job is redelivered and finds its mails claimed; the claims that name a batch without a receipt
were sent and never counted, so the redelivery counts them, removing their batch in the same
transaction: counted once, whichever delivery gets through. The happy path costs the receipt
(one item a batch, in the transaction that was two updates), never a write per mail sent.

A mail that failed, or whose outcome is unknown, is counted as failed the same way: its batch is
taken off its claim in one transaction with the failure's counter (count_failed), so a redelivery
neither counts it as sent nor loses its failure.

SQS is at-least-once: the earlier delivery may still be running. So a delivery that counts another
batch's claims takes that batch's count over in the same transaction (its receipt, marked
`taken`), unless it counted already; the batch's own count then finds its receipt taken
(count_batch is False) and counts only the claims still naming it, one by one: whichever takes
the receipt or the claim first counts, once.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model

from chalicelib.domain.clock import now
from chalicelib.store.models import MessageRecord, SentCountReceipt
from chalicelib.store.transactions import first_condition_failed, save_new_with_updates, write_transaction

# SQS keeps a message at most 14 days: no redelivery can come after the receipt expires.
RECEIPT_LIFETIME = timedelta(days=15)
# DynamoDB takes at most 100 items a transaction.
MAX_TRANSACTION_ITEMS = 100

CounterUpdate = tuple[Model, list[Any]]


# The key suffix of a batch's note that the provider answered for every mail it claimed (its
# count failed): written only then, beside where its receipt would be.
_ANSWERED = "#answered"


def counted(batch_ids: Iterable[str]) -> tuple[set[str], set[str]]:
    """Those of these count batches that have counted, and those that have not but whose every
    claim the provider answered (mark_answered): one BatchGetItem of their receipts and notes."""
    ids = sorted(set(batch_ids))
    if not ids:
        return set(), set()
    found = {receipt.receipt_key for receipt in SentCountReceipt.batch_get(
        [key for batch_id in ids for key in (batch_id, batch_id + _ANSWERED)]) if not receipt.taken}
    done = {batch_id for batch_id in ids if batch_id in found}
    return done, {batch_id for batch_id in ids if batch_id + _ANSWERED in found} - done


def mark_answered(batch_id: str) -> None:
    """Note that the provider answered for every mail `batch_id` claimed, when its count failed:
    a redelivery then counts them all as sent (services/sending/counting.py)."""
    SentCountReceipt(receipt_key=batch_id + _ANSWERED, expires_at=now() + RECEIPT_LIFETIME).save()


def count_batch(batch_id: str, counters: list[CounterUpdate]) -> bool:
    """Add a batch's sent mail (`counters`) and its receipt in one transaction; False (nothing
    added) when its receipt is there already: a later delivery took its count over."""
    return save_new_with_updates(SentCountReceipt(receipt_key=batch_id, expires_at=now() + RECEIPT_LIFETIME),
                                 SentCountReceipt.receipt_key.does_not_exist(), counters)


def _take_over(transaction: Any, batch_ids: Iterable[str]) -> None:
    """Take the count of these batches over (their receipts marked `taken`), failing the
    transaction when one of them counted already."""
    for batch_id in sorted(set(batch_ids)):
        transaction.update(SentCountReceipt(receipt_key=batch_id),
                           actions=[SentCountReceipt.taken.set(True),
                                    SentCountReceipt.expires_at.set(now() + RECEIPT_LIFETIME)],
                           condition=SentCountReceipt.receipt_key.does_not_exist()
                           | SentCountReceipt.taken.exists())


def count_uncounted(claims: list[MessageRecord], counters: list[CounterUpdate]) -> None:
    """Add the mails of `claims`, sent by a batch that never counted, to `counters`, and take
    their batch off them in the same transaction, so nothing counts them again, and take their
    batches' counts over. Together at most MAX_TRANSACTION_ITEMS."""
    with write_transaction(MessageRecord) as transaction:
        for claim in claims:
            key = MessageRecord(recipient_hash=claim.recipient_hash, message_id=claim.message_id)
            transaction.update(key, actions=[MessageRecord.count_batch.remove()],
                               condition=MessageRecord.count_batch == claim.count_batch)
        for item, actions in counters:
            transaction.update(item, actions=actions)
        _take_over(transaction, (claim.count_batch or "" for claim in claims))


def count_failed(recipient_hash: str, message_id: str, batch_id: str, counters: list[CounterUpdate],
                 take_over: bool = False) -> bool:
    """A mail claimed by count batch `batch_id` failed, or may not have gone: take its batch off
    its claim, so nothing counts it as sent, and add its failure to `counters`, in one
    transaction (with `take_over`, another delivery's batch: taking its count over); False
    (nothing added) when its claim no longer names that batch (counted before, or released)."""
    try:
        with write_transaction(MessageRecord) as transaction:
            transaction.update(MessageRecord(recipient_hash=recipient_hash, message_id=message_id),
                               actions=[MessageRecord.count_batch.remove()],
                               condition=MessageRecord.count_batch == batch_id)
            for item, actions in counters:
                transaction.update(item, actions=actions)
            if take_over:
                _take_over(transaction, [batch_id])
    except TransactWriteError as error:
        if first_condition_failed(error):
            return False
        raise
    return True
