"""The shared SES send-rate bucket: never above rate x window + capacity, batched, across Lambdas."""
from __future__ import annotations

import random
import threading

import pytest
from moto.dynamodb.models import DynamoDBBackend

from chalicelib.config import read_settings
from chalicelib.store import send_rate
from chalicelib.store.models import SendRateBucket
from chalicelib.store.send_rate import SendRateLimiter


class Clock:
    """Controlled time: `sleep` moves it; `step` makes every reading a little later (work takes time)."""

    def __init__(self, start: float = 1_900_000_000.0, step: float = 0.0) -> None:
        self.now = start
        self.step = step
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            self.now += self.step
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def assert_never_over_rate(grants: list[tuple[float, int]], rate: float, capacity: int) -> None:
    """For every window [t_i, t_j] of decision times: tokens granted <= rate * (t_j - t_i) + capacity."""
    grants = sorted(grants)
    for i, (start, _) in enumerate(grants):
        total = 0
        for end, tokens in grants[i:]:
            total += tokens
            allowed = rate * (end - start) + capacity
            assert total <= allowed + 1e-3, f"{total} tokens in {end - start:.3f}s (allowed {allowed:.2f})"


def test_grants_never_exceed_rate_times_window_plus_capacity(aws):
    clock = Clock()
    limiter = SendRateLimiter(rate=14, bucket_id="t1", clock=clock, sleep=clock.sleep)
    chooser = random.Random(7)
    grants = []
    start = clock.now
    while clock.now - start < 30:
        grant = limiter.take(chooser.randint(1, 20))
        if grant.tokens:
            grants.append((grant.at, grant.tokens))
        clock.sleep(grant.retry_after or chooser.choice([0.0, 0.01, 0.2]))
    assert_never_over_rate(grants, rate=14, capacity=14)
    total = sum(tokens for _, tokens in grants)
    assert total >= 14 * 30 * 0.8, f"only {total} tokens in 30 s: the bucket starves its caller"


def test_acquire_sleeps_until_tokens_are_free_and_gives_up_after_max_wait(aws):
    clock = Clock()
    limiter = SendRateLimiter(rate=10, bucket_id="t2", clock=clock, sleep=clock.sleep)
    start = clock.now
    assert limiter.acquire(10) == 10, "a full bucket grants a whole batch at once"
    assert clock.now == start, "no waiting while tokens are free"
    assert limiter.acquire(25) == 10, "a batch is at most the capacity"
    assert clock.now - start == pytest.approx(1.0, abs=1e-3), "waited one second for ten more tokens"
    assert limiter.acquire(10, max_wait=0.5) == 0, "ten more tokens take a second: give up at 0.5 s"


def test_concurrent_lambdas_together_stay_under_the_rate(aws, monkeypatch):
    # DynamoDB applies one conditional update per item at a time; moto does not lock, so do it here.
    item_lock = threading.Lock()
    original = DynamoDBBackend.update_item

    def atomic_update_item(self, *args, **kwargs):
        with item_lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "update_item", atomic_update_item)
    clock = Clock(step=0.0005)
    rate, capacity = 50, 20
    grants: list[tuple[float, int]] = []
    grants_lock = threading.Lock()

    def lambda_worker(seed: int) -> None:
        # Each thread is its own Lambda: its own limiter, sharing only the DynamoDB item.
        limiter = SendRateLimiter(rate=rate, capacity=capacity, bucket_id="t3", clock=clock,
                                  sleep=clock.sleep)
        chooser = random.Random(seed)
        start = clock()
        while clock() - start < 5:
            grant = limiter.take(chooser.randint(1, 15))
            if grant.tokens:
                with grants_lock:
                    grants.append((grant.at, grant.tokens))
            else:
                clock.sleep(min(grant.retry_after, 0.05))

    threads = [threading.Thread(target=lambda_worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(grants) > 10
    assert_never_over_rate(grants, rate=rate, capacity=capacity)


def test_tokens_are_taken_in_batches_with_few_dynamodb_calls(aws, monkeypatch):
    calls = {"update": 0, "get": 0}
    original_update, original_get = SendRateBucket.update, SendRateBucket.get.__func__

    def counted_update(self, *args, **kwargs):
        calls["update"] += 1
        return original_update(self, *args, **kwargs)

    def counted_get(cls, *args, **kwargs):
        calls["get"] += 1
        return original_get(cls, *args, **kwargs)

    monkeypatch.setattr(SendRateBucket, "update", counted_update)
    monkeypatch.setattr(SendRateBucket, "get", classmethod(counted_get))
    clock = Clock()
    limiter = SendRateLimiter(rate=100, bucket_id="t4", clock=clock, sleep=clock.sleep)
    sent = 0
    while sent < 1000:
        sent += limiter.acquire(min(50, 1000 - sent))
    per_message = (calls["update"] + calls["get"]) / sent
    assert per_message <= 0.1, f"{per_message:.3f} DynamoDB calls per message"
    assert clock.now - 1_900_000_000.0 == pytest.approx(9.0, abs=0.1), "1,000 at 100/s after a 100 burst"


def test_ses_max_send_rate_setting_defaults_to_14_and_reads_the_environment(aws):
    assert read_settings({}).ses_max_send_rate == 14
    assert read_settings({"TIDINGS_SES_MAX_SEND_RATE": "80"}).ses_max_send_rate == 80
    assert send_rate.acquire(5) == 5


def test_a_clock_set_back_does_not_stall_sending_for_the_length_of_the_jump(aws):
    clock = Clock()
    ahead = SendRateLimiter(rate=10, bucket_id="jump", clock=clock, sleep=clock.sleep)
    assert ahead.acquire(10) == 10
    clock.now -= 3600  # this Lambda's clock (or the test's) went back an hour
    behind = SendRateLimiter(rate=10, bucket_id="jump", clock=clock, sleep=clock.sleep)
    assert behind.acquire(10, max_wait=1.0) == 10
    assert ahead.acquire(10, max_wait=1.0) == 10, "a limiter that remembers the future re-reads the bucket"
    assert float(SendRateBucket.get("jump").full_at) <= clock.now + 2
