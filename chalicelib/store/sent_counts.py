"""Counting sent mail exactly once per count batch (P13, P26), one transaction a batch.

A sender invocation is a count batch: its claims (store/messages.claim) name it, and it adds what
it sent to the counters in one transaction with its receipt. When that transaction fails, the
job is redelivered and finds its mails claimed; the claims that name a batch without a receipt
were sent and never counted, so the redelivery counts them, removing their batch in the same
transaction: counted once, whichever delivery gets through. The happy path costs the receipt
(one item a batch, in the transaction that was two updates), never a write per mail sent.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from pynamodb.models import Model

from chalicelib.domain.clock import now
from chalicelib.store.models import MessageRecord, SentCountReceipt
from chalicelib.store.transactions import write_transaction

# SQS keeps a message at most 14 days: no redelivery can come after the receipt expires.
RECEIPT_LIFETIME = timedelta(days=15)
# DynamoDB takes at most 100 items a transaction.
MAX_TRANSACTION_ITEMS = 100

CounterUpdate = tuple[Model, list[Any]]


def counted(batch_ids: Iterable[str]) -> set[str]:
    """Those of these count batches that have counted (BatchGetItem of their receipts)."""
    keys = sorted(set(batch_ids))
    if not keys:
        return set()
    return {receipt.receipt_key for receipt in SentCountReceipt.batch_get(keys)}


def count_batch(batch_id: str, counters: list[CounterUpdate]) -> None:
    """Add a batch's sent mail (`counters`) and its receipt in one transaction; the receipt's
    condition fails it when the batch has counted before."""
    with write_transaction(SentCountReceipt) as transaction:
        transaction.save(SentCountReceipt(receipt_key=batch_id, expires_at=now() + RECEIPT_LIFETIME),
                         condition=SentCountReceipt.receipt_key.does_not_exist())
        for item, actions in counters:
            transaction.update(item, actions=actions)


def count_uncounted(claims: list[MessageRecord], counters: list[CounterUpdate]) -> None:
    """Add the mails of `claims`, sent by a batch that never counted, to `counters`, and take
    their batch off them in the same transaction, so nothing counts them again. Together at most
    MAX_TRANSACTION_ITEMS."""
    with write_transaction(MessageRecord) as transaction:
        for claim in claims:
            key = MessageRecord(recipient_hash=claim.recipient_hash, message_id=claim.message_id)
            transaction.update(key, actions=[MessageRecord.count_batch.remove()],
                               condition=MessageRecord.count_batch == claim.count_batch)
        for item, actions in counters:
            transaction.update(item, actions=actions)
