"""Consuming abuse-limit counters: one DynamoDB transaction for all of a request's counters."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action

from chalicelib.domain.errors import TooManyRequests
from chalicelib.domain.retention import purge_bucket
from chalicelib.domain.signup_limits import Counter
from chalicelib.store.models import RateCounter
from chalicelib.store.transactions import write_transaction


def consume(counters: list[Counter], at: datetime, job_id: str | None = None,
            amount: int = 1) -> list[Counter]:
    """Add `amount` to every counter unless one would pass its limit; returns those counters.

    All or nothing: when any counter is full, none is incremented (the attempt did not happen).
    With `job_id`, a job counts once: the same transaction writes a marker of the job, and a job
    whose marker is there already (a redelivered SQS message) is within the limits again without
    counting twice. Counters and markers expire with their window (TTL), so the table never grows.
    """
    if not counters:
        return []
    over = [counter for counter in counters if amount > counter.limit]
    if over:
        return over
    try:
        with write_transaction(RateCounter) as transaction:
            for counter in counters:
                key, ends = counter.window_key(at), datetime.fromtimestamp(counter.window_end(at), UTC)
                subject = [RateCounter.subject.set(counter.subject)] if counter.subject else []
                transaction.update(
                    RateCounter(counter_key=key),
                    actions=[*_expiry(key, ends), RateCounter.count.add(amount), *subject],
                    condition=(RateCounter.count.does_not_exist()
                               | (RateCounter.count <= counter.limit - amount)),
                )
            if job_id is not None:
                # An update, not a put: PynamoDB sends puts first, and reasons are read by position.
                key = f"job:{job_id}"
                ends = datetime.fromtimestamp(max(counter.window_end(at) for counter in counters), UTC)
                transaction.update(RateCounter(counter_key=key), actions=_expiry(key, ends),
                                   condition=RateCounter.counter_key.does_not_exist())
    except TransactWriteError as error:
        cancelled = error.cause_response_code == "TransactionCanceledException"
        reasons = error.cancellation_reasons if cancelled else None
        if not reasons:
            raise
        failed = [reason is not None and reason.code == "ConditionalCheckFailed" for reason in reasons]
        if job_id is not None and failed.pop():
            return []  # this job counted before
        return [counter for counter, full in zip(counters, failed, strict=True) if full]
    return []


def consume_or_refuse(counters: list[Counter], at: datetime, refusal: str, *, amount: int = 1,
                      field: str | None = None, params: Mapping[str, object] | None = None) -> None:
    """`consume`, or TooManyRequests with `refusal` (and `field`, `params`) when a counter is
    full, its Retry-After the seconds until the last full window ends."""
    full = consume(counters, at, amount=amount)
    if full:
        raise TooManyRequests(refusal, field, max(c.window_end(at) for c in full) - int(at.timestamp()),
                              params=params)

def _expiry(key: str, ends: datetime) -> list[Action]:
    return [RateCounter.expires_at.set(ends), RateCounter.purge_bucket.set(purge_bucket(ends, key))]
