"""Consuming abuse-limit counters: one DynamoDB transaction for all of a request's counters."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import TooManyRequests
from chalicelib.domain.retention import purge_bucket
from chalicelib.domain.signup_limits import Counter
from chalicelib.store.models import RateCounter
from chalicelib.store.transactions import write_transaction

# TransactionConflict: another transaction held one of the counters (two signups of one address at
# once). DynamoDB leaves the retry to its caller; past this many tries, CountersBusy.
ATTEMPTS = 3
_CONDITION_FAILED = "ConditionalCheckFailed"
_CONFLICT = "TransactionConflict"
# TransactWriteItems takes at most this many items.
MAX_TRANSACTION_ITEMS = 100


class CountersBusy(Exception):
    """Other transactions held the counters through every attempt: nothing was counted."""


def consume(counters: list[Counter], at: datetime, job_id: str | None = None,
            amount: int = 1) -> list[Counter]:
    """Add `amount` to every counter unless one would pass its limit; returns those counters.

    All or nothing: when any counter is full, none is incremented (the attempt did not happen).
    With `job_id`, a job counts once: the same transaction writes a marker of the job, and a job
    whose marker is there already (a redelivered SQS message) is within the limits again without
    counting twice. The marker stands while the count does: `refund` deletes it with the count, so
    a redelivery after it counts again. Counters and markers expire with their window (TTL), so
    the table never grows.
    A transaction conflict is tried again, ATTEMPTS times in all, then CountersBusy.
    """
    if not counters:
        return []
    over = [counter for counter in counters if amount > counter.limit]
    if over:
        return over
    for _ in range(ATTEMPTS):
        try:
            _count(counters, at, job_id, amount)
        except TransactWriteError as error:
            codes = _cancellation_codes(error)
            failed = [code == _CONDITION_FAILED for code in codes]
            if not any(failed):
                continue  # conflicts only (anything else was raised): nothing was counted
            if job_id is not None and failed.pop():
                return []  # this job counted before
            return [counter for counter, full in zip(counters, failed, strict=True) if full]
        return []
    raise CountersBusy


def refund(counters: list[Counter], at: datetime, job_id: str | None = None, amount: int = 1) -> None:
    """Take back what `consume(counters, at, job_id, amount)` counted, for an attempt that then sent
    nothing (its write was lost, or there was nothing to send), so that it holds nobody back.
    With `job_id`, only while the job's marker stands, deleting it in the same transaction: a job
    is refunded once however often it is delivered, and a redelivery after the refund counts
    again (consume). Its counts go back to the windows its marker says they were made in (`at`
    for a marker written before markers said it), whatever delivery refunds them. A counter gone
    meanwhile (its window ended) is left alone; none goes below nothing. Conflicts as consume."""
    marker = None
    if job_id is not None:
        try:
            marker = RateCounter.get(f"job:{job_id}", consistent_read=True)
        except RateCounter.DoesNotExist:
            return  # never counted, or given back already
        at = marker.counted_at or at
    left = list(counters)
    for _ in range(ATTEMPTS + len(counters)):  # each failed try drops a counter, or is a conflict
        if not left:
            return
        try:
            _take_back(left, at, marker, amount)
        except TransactWriteError as error:
            codes = _cancellation_codes(error)
            if marker is not None and codes.pop(0) == _CONDITION_FAILED:
                return  # this job's count was given back before (or its marker's window ended)
            left = [counter for counter, code in zip(left, codes, strict=True) if code != _CONDITION_FAILED]
            continue
        return
    raise CountersBusy


def consume_each(attempts: Mapping[str, list[Counter]], at: datetime) -> set[str]:
    """`consume` for many jobs at once, each `{job_id: counters}` counted by one, all or nothing
    and once a job, in transactions of up to MAX_TRANSACTION_ITEMS items: the jobs counted (now or
    before). No two jobs may share a counter (one transaction may not write an item twice)."""
    counted: set[str] = set()
    batch: list[str] = []
    for job_id in attempts:
        if sum(len(attempts[job]) + 1 for job in (*batch, job_id)) > MAX_TRANSACTION_ITEMS:
            counted |= _consume_batch(batch, attempts, at)
            batch = []
        batch.append(job_id)
    return counted | (_consume_batch(batch, attempts, at) if batch else set())


def _consume_batch(jobs: list[str], attempts: Mapping[str, list[Counter]], at: datetime) -> set[str]:
    """Count `jobs` in one transaction; a job with a full counter is left out and the rest tried
    again, as is a conflict (ATTEMPTS times in all)."""
    left, before = [job for job in jobs if all(c.limit >= 1 for c in attempts[job])], set()
    for _ in range(ATTEMPTS + len(left)):  # each failed try drops a job, or is a conflict
        if not left:
            return before
        try:
            with write_transaction(RateCounter) as transaction:
                for job_id in left:
                    _add(transaction, attempts[job_id], at, job_id, 1)
        except TransactWriteError as error:
            codes, kept = _cancellation_codes(error), []
            for job_id in left:
                mine, codes = codes[:len(attempts[job_id]) + 1], codes[len(attempts[job_id]) + 1:]
                if mine[-1] == _CONDITION_FAILED:
                    before.add(job_id)  # this job counted before
                elif _CONDITION_FAILED not in mine:
                    kept.append(job_id)
            left = kept
            continue
        return before | set(left)
    raise CountersBusy


def _count(counters: list[Counter], at: datetime, job_id: str | None, amount: int) -> None:
    with write_transaction(RateCounter) as transaction:
        _add(transaction, counters, at, job_id, amount)


def _add(transaction: TransactWrite, counters: list[Counter], at: datetime, job_id: str | None,
         amount: int) -> None:
    """Add `amount` to each counter unless it would pass its limit, and mark the job."""
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
        _mark_job(transaction, f"job:{job_id}", counters, at)


def _take_back(counters: list[Counter], at: datetime, marker: RateCounter | None, amount: int) -> None:
    with write_transaction(RateCounter) as transaction:
        if marker is not None:  # a delete: PynamoDB sends it before the updates (reason 0)
            counted = RateCounter.counted_at
            transaction.delete(marker, condition=RateCounter.counter_key.exists() & (
                counted.does_not_exist() if marker.counted_at is None else counted == marker.counted_at))
        for counter in counters:
            transaction.update(RateCounter(counter_key=counter.window_key(at)),
                               actions=[RateCounter.count.add(-amount)],
                               condition=RateCounter.count >= amount)


def _mark_job(transaction: TransactWrite, key: str, counters: list[Counter], at: datetime) -> None:
    """The marker that a job's count stands, and when it was made, until its counters' last
    window ends."""
    # An update, not a put: PynamoDB sends puts first, and reasons are read by position.
    ends = datetime.fromtimestamp(max(counter.window_end(at) for counter in counters), UTC)
    transaction.update(RateCounter(counter_key=key),
                       actions=[*_expiry(key, ends), RateCounter.counted_at.set(at)],
                       condition=RateCounter.counter_key.does_not_exist())


def _cancellation_codes(error: TransactWriteError) -> list[str | None]:
    """Why each item of a cancelled transaction failed (None: it did not), when every reason is
    a failed condition or a conflict; the error itself for any other failure."""
    cancelled = error.cause_response_code == "TransactionCanceledException"
    reasons = error.cancellation_reasons if cancelled else None
    codes = [reason.code if reason is not None else None for reason in reasons or ()]
    if not codes or not set(codes) <= {_CONDITION_FAILED, _CONFLICT, None}:
        raise error
    return codes


def consume_or_refuse(counters: list[Counter], at: datetime, refusal: str, *, amount: int = 1,
                      field: str | None = None, params: Mapping[str, object] | None = None) -> None:
    """`consume`, or TooManyRequests with `refusal` (and `field`, `params`) when a counter is
    full, its Retry-After the seconds until the last full window ends (1 when other transactions
    held the counters throughout: CountersBusy, never a 5xx)."""
    try:
        full = consume(counters, at, amount=amount)
    except CountersBusy:
        raise TooManyRequests(refusal, field, 1, params=params) from None  # try again at once
    if full:
        raise TooManyRequests(refusal, field, max(c.window_end(at) for c in full) - int(at.timestamp()),
                              params=params)


def _expiry(key: str, ends: datetime) -> list[Action]:
    return [RateCounter.expires_at.set(ends), RateCounter.purge_bucket.set(purge_bucket(ends, key))]
