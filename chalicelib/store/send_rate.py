"""The SES send rate, shared by every sending Lambda: a token bucket in one DynamoDB item.

The item holds `full_at`, the moment the bucket is full again (GCRA: each token taken pushes it
1/rate seconds later; it may run at most `capacity`/rate seconds ahead of now). Taking k tokens is
one conditional UpdateItem that only adds k/rate to `full_at`, so concurrent takers do not
invalidate one another while tokens last. Over any window of w seconds at most
rate * w + capacity tokens are granted, however many Lambdas take them.

Each limiter remembers the last `full_at` it saw. Others only ever move it later, so that value
gives an upper bound on the tokens available: a limiter that sees too few sleeps without asking
DynamoDB, and callers take tokens in batches, so a sender makes about one call per batch.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from pynamodb.exceptions import UpdateError

from chalicelib.config import settings
from chalicelib.store.models import SendRateBucket

SES_BUCKET = "ses"
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

    def acquire(self, wanted: int, max_wait: float = 10.0) -> int:
        """Take between 1 and `wanted` tokens, sleeping until some are free; 0 only when none
        came within `max_wait` seconds (the caller should give its work back to the queue)."""
        deadline = self._clock() + max_wait
        while True:
            grant = self.take(wanted)
            if grant.tokens:
                return grant.tokens
            if grant.at + grant.retry_after > deadline:
                return 0
            self._sleep(grant.retry_after)

    def take(self, wanted: int) -> Grant:
        """One attempt, without waiting: up to `wanted` tokens, as many as are free now."""
        if wanted < 1:
            raise ValueError("ask for at least one token")
        batch = min(wanted, self.capacity)
        for _ in range(3):
            at = self._clock()
            if self._seen_full_at is None or self._jumped(self._seen_full_at, at):
                self._seen_full_at = self._read()
            jumped = self._jumped(self._seen_full_at, at)
            free = self.capacity if jumped else self._free(self._seen_full_at, at)
            if free < batch:
                # Wait for a whole batch: one call per batch, not one per token.
                return Grant(0, at, self._wait(self._seen_full_at, at, batch))
            if self._claim(batch, at):
                return Grant(batch, at, 0.0)
            self._seen_full_at = self._read()
        # Lost the race three times running: let the caller back off briefly.
        return Grant(0, at, batch / self.rate)

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
def _limiter(rate: float) -> SendRateLimiter:
    return SendRateLimiter(rate)


def acquire(wanted: int, max_wait: float = 10.0) -> int:
    """Take up to `wanted` SES send tokens at the configured max send rate, waiting up to
    `max_wait` seconds; returns how many were granted (0: none in time)."""
    return _limiter(settings().ses_max_send_rate).acquire(wanted, max_wait)
