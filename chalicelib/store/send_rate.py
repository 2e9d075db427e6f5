"""The SES send rate, shared by every sending Lambda: token buckets in DynamoDB items, one a lane
(domain/sending.sending_lanes): the outbox's, from which transactional mail takes tokens, and the
campaigns', whose batches reserve their send times ahead (`reserve`).

The item holds `full_at`, the moment the bucket is full again (GCRA: each token taken pushes it
1/rate seconds later; it may run at most `capacity`/rate seconds ahead of now). Taking k tokens is
one conditional UpdateItem that only adds k/rate to `full_at`, so concurrent takers do not
invalidate one another while tokens last. Over any window of w seconds at most
rate * w + capacity tokens are granted, however many Lambdas take them.

Each limiter remembers the last `full_at` it saw. Others only ever move it later, so that value
gives an upper bound on the tokens available: a limiter that sees too few says so without asking
DynamoDB, and callers take tokens in batches, so a sender makes about one call per batch.

A reservation takes k tokens however far ahead that pushes `full_at`: one UpdateItem adding k/rate
(no read, no race between reservers while the bucket is busy), and the caller learns when each
of its tokens comes due. No caller sleeps for tokens beyond a few milliseconds: work that must wait
longer goes back to its queue, delayed (services/sending/).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from pynamodb.exceptions import UpdateError

from chalicelib.config import settings
from chalicelib.domain.sending import OUTBOX_BURST, Reservation, sending_lanes
from chalicelib.store.models import SendRateBucket

# The outbox lane's bucket (it was the only one) and the campaigns'.
SES_BUCKET = "ses"
CAMPAIGN_BUCKET = "ses-campaigns"
_CONDITION_FAILED = "ConditionalCheckFailedException"
# DynamoDB numbers are decimal: keep times to the microsecond, rounding grants against the caller.
_PLACES = 6
# `full_at` never runs more than capacity/rate seconds ahead of the clock that set it. A value
# this far beyond that was set by a clock ahead of ours, or before ours was set back: waiting
# for it could stop sending for as long as the jump, so the bucket restarts instead. Far above
# the skew between Lambdas' clocks (milliseconds), so it never grants extra tokens in practice.
CLOCK_JUMP_SECONDS = 60.0


@dataclass(frozen=True)
class Grant:
    """What one attempt got: `tokens` (0 when none were free), the clock time the decision was
    made at, and how long to wait before `tokens` could be non-zero."""

    tokens: int
    at: float
    retry_after: float


def _up(value: float) -> float:
    return math.ceil(value * 10**_PLACES) / 10**_PLACES


def _down(value: float) -> float:
    return math.floor(value * 10**_PLACES) / 10**_PLACES


class SendRateLimiter:
    """Tokens for sending at most `rate` messages per second across all Lambdas.

    `capacity` (default: one second's worth) is the largest burst and the largest batch.
    `clock` and `sleep` are injectable so tests can control time.
    """

    def __init__(self, rate: float, capacity: float | None = None, bucket_id: str = SES_BUCKET,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("the send rate must be above zero")
        self.rate = rate
        self.capacity = max(1, math.floor(capacity if capacity is not None else rate))
        self.bucket_id = bucket_id
        self._clock = clock
        self._sleep = sleep
        # The last `full_at` this limiter saw: a lower bound of the stored one. None: not read yet.
        self._seen_full_at: float | None = None

    def acquire(self, wanted: int, max_wait: float = 10.0, partial: bool = False) -> int:
        """Take between 1 and `wanted` tokens, sleeping until some are free; 0 only when none
        came within `max_wait` seconds (the caller should give its work back to the queue)."""
        return self.grant(wanted, max_wait, partial).tokens

    def grant(self, wanted: int, max_wait: float, partial: bool = False) -> Grant:
        """As `acquire`, with when to try again when nothing was granted."""
        deadline = self._clock() + max_wait
        while True:
            grant = self.take(wanted, partial)
            if grant.tokens or grant.at + grant.retry_after > deadline:
                return grant
            self._sleep(grant.retry_after)

    def take(self, wanted: int, partial: bool = False) -> Grant:
        """One attempt, without waiting: up to `wanted` tokens, as many as are free now; with
        `partial`, whatever is free, else only a whole batch (one call per batch, not per token)."""
        if wanted < 1:
            raise ValueError("ask for at least one token")
        batch = min(wanted, self.capacity)
        for _ in range(3):
            at = self._clock()
            if self._seen_full_at is None or self._jumped(self._seen_full_at, at):
                self._seen_full_at = self._read()
            jumped = self._jumped(self._seen_full_at, at)
            free = self.capacity if jumped else self._free(self._seen_full_at, at)
            if partial and free >= 1:
                batch = min(batch, free)
            if free < batch:
                return Grant(0, at, self._wait(self._seen_full_at, at, 1 if partial else batch))
            if self._claim(batch, at):
                return Grant(batch, at, 0.0)
            self._seen_full_at = self._read()
        # Lost the race three times running: let the caller back off briefly.
        return Grant(0, at, batch / self.rate)

    def reserve(self, count: int) -> Reservation:
        """Reserve the next `count` tokens, however far ahead: one UpdateItem (a few when the
        bucket goes from idle to busy under a race). The first `capacity` of an idle bucket's
        tokens are due at once (its burst), then one every 1/rate seconds."""
        if count < 1:
            raise ValueError("reserve at least one token")
        step = _up(count / self.rate)
        full_at = SendRateBucket.full_at
        for _ in range(5):
            at = self._clock()
            if self._seen_full_at is None:
                self._seen_full_at = self._read()
            bucket = SendRateBucket(bucket_id=self.bucket_id)
            busy = self._seen_full_at >= at
            if busy:
                action, condition = full_at.set(full_at + step), full_at >= at
            else:
                action, condition = full_at.set(_up(at + step)), full_at.does_not_exist() | (full_at < at)
            try:
                bucket.update(actions=[action], condition=condition)
            except UpdateError as exc:
                if exc.cause_response_code != _CONDITION_FAILED:
                    raise
                self._seen_full_at = self._read()
                continue
            self._seen_full_at = float(bucket.full_at)
            base = self._seen_full_at - step
            return Reservation(first=base + (1 - self.capacity) / self.rate, interval=1 / self.rate)
        raise RuntimeError("the send-rate bucket changed under every attempt to reserve from it")

    def _jumped(self, full_at: float, at: float) -> bool:
        return full_at > at + self.capacity / self.rate + CLOCK_JUMP_SECONDS

    def _free(self, full_at: float, at: float) -> int:
        ahead = max(0.0, full_at - at)
        return max(0, math.floor(self.capacity - ahead * self.rate + 1e-9))

    def _wait(self, full_at: float, at: float, tokens: int) -> float:
        return max(0.0, full_at + tokens / self.rate - self.capacity / self.rate - at)

    def _claim(self, tokens: int, at: float) -> bool:
        """One conditional update taking `tokens`; False when the bucket moved meanwhile."""
        step = _up(tokens / self.rate)
        bucket = SendRateBucket(bucket_id=self.bucket_id)
        full_at = SendRateBucket.full_at
        if self._seen_full_at is not None and self._jumped(self._seen_full_at, at):
            # Restart the bucket from our clock, only if nobody moved it since we read it.
            action = full_at.set(_up(at + step))
            condition = full_at == self._seen_full_at
        elif self._seen_full_at is not None and self._seen_full_at >= at:
            # Busy bucket: push full_at later, as long as that stays within one capacity of now.
            limit = _down(at + self.capacity / self.rate - step)
            action = full_at.set(full_at + step)
            condition = (full_at >= at) & (full_at <= limit)
        else:
            # Idle (full) bucket: it fills up again `step` from now.
            action = full_at.set(_up(at + step))
            condition = full_at.does_not_exist() | (full_at < at)
        try:
            bucket.update(actions=[action], condition=condition)
        except UpdateError as exc:
            if exc.cause_response_code == _CONDITION_FAILED:
                return False
            raise
        self._seen_full_at = float(bucket.full_at)
        return True

    def _read(self) -> float:
        try:
            return float(SendRateBucket.get(self.bucket_id, consistent_read=True).full_at)
        except SendRateBucket.DoesNotExist:
            return 0.0


@cache
def _limiter(rate: float, bucket_id: str = SES_BUCKET, capacity: float | None = None) -> SendRateLimiter:
    return SendRateLimiter(rate, capacity=capacity, bucket_id=bucket_id)


def forget_limiters() -> None:
    """Drop the limiters this process keeps (each remembers its bucket's last state)."""
    _limiter.cache_clear()


def acquire(wanted: int, max_wait: float = 10.0) -> int:
    """Take up to `wanted` SES send tokens of the outbox lane, waiting up to `max_wait` seconds;
    returns how many were granted (0: none in time)."""
    return outbox_grant(wanted, max_wait).tokens


def outbox_grant(wanted: int, max_wait: float) -> Grant:
    """Take what is free of up to `wanted` outbox-lane tokens, waiting up to `max_wait` seconds."""
    _, outbox_rate = sending_lanes(settings().ses_max_send_rate)
    limiter = _limiter(outbox_rate, SES_BUCKET, max(outbox_rate, OUTBOX_BURST))
    return limiter.grant(wanted, max_wait, partial=True)


def reserve_campaign_sends(count: int) -> Reservation:
    """Reserve the send times of `count` campaign mails in the campaign lane."""
    campaign_rate, _ = sending_lanes(settings().ses_max_send_rate)
    return _limiter(campaign_rate, CAMPAIGN_BUCKET).reserve(count)
