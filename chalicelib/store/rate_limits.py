"""Consuming abuse-limit counters: one DynamoDB transaction for all of a request's counters."""
from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.retention import purge_bucket
from chalicelib.domain.signup_limits import Counter
from chalicelib.store.models import RateCounter


@cache
def _connection(region: str) -> Connection:
    return Connection(region=region)


def consume(counters: list[Counter], at: datetime) -> list[Counter]:
    """Add one to every counter unless one is at its limit; returns the counters at their limit.

    All or nothing: when any counter is full, none is incremented (the attempt did not happen).
    Each counter expires with its window (TTL), so the table never grows.
    """
    if not counters:
        return []
    try:
        with TransactWrite(connection=_connection(RateCounter.Meta.region)) as transaction:
            for counter in counters:
                key, ends = counter.window_key(at), datetime.fromtimestamp(counter.window_end(at), UTC)
                transaction.update(
                    RateCounter(counter_key=key),
                    actions=[
                        RateCounter.count.add(1),
                        RateCounter.expires_at.set(ends),
                        RateCounter.purge_bucket.set(purge_bucket(ends, key)),
                    ],
                    condition=RateCounter.count.does_not_exist() | (RateCounter.count < counter.limit),
                )
    except TransactWriteError as error:
        cancelled = error.cause_response_code == "TransactionCanceledException"
        reasons = error.cancellation_reasons if cancelled else None
        if not reasons:
            raise
        return [
            counter
            for counter, reason in zip(counters, reasons, strict=True)
            if reason is not None and reason.code == "ConditionalCheckFailed"
        ]
    return []
