"""The cost model's execution environments (bench/traffic.environments): cold starts after the
keep-warm time, and the secret reads of each environment's cache; and the runs of a scheduled
drain (bench/traffic.drained_batches) (issue 15)."""
from __future__ import annotations

import math

from bench.traffic import Drain, drained_batches, environments

KEEP_WARM = 300.0
CACHE = 300.0


def test_an_environment_idle_past_the_keep_warm_time_starts_cold_again() -> None:
    found = environments([(0.0, 1.0), (300.0, 1.0), (602.0, 1.0)], KEEP_WARM, CACHE)
    # 300 s after the first ended (at 1 s) it is still warm; 602 s is 301 s after the second.
    assert (found.invocations, found.cold_starts, found.peak) == (3, 2, 1)


def test_each_environment_reads_its_secrets_when_it_starts_and_when_its_cache_has_aged() -> None:
    # One environment kept warm by a call every 100 s for 1,000 s: filled at 0, 300, 600 and 900.
    warm = environments([(100.0 * n, 0.5) for n in range(11)], KEEP_WARM, CACHE)
    assert (warm.cold_starts, warm.cache_fills) == (1, 4)
    # Just under the cache's age no second read; at it, one.
    assert environments([(0.0, 0.1), (299.9, 0.1)], KEEP_WARM, CACHE).cache_fills == 1
    assert environments([(0.0, 0.1), (300.0, 0.1)], KEEP_WARM, CACHE).cache_fills == 2


def test_concurrent_invocations_each_start_an_environment_that_reads_for_itself() -> None:
    found = environments([(0.0, 10.0), (1.0, 10.0), (2.0, 10.0)], KEEP_WARM, CACHE)
    assert (found.cold_starts, found.peak, found.cache_fills) == (3, 3, 3)


def test_without_a_cache_age_an_environment_reads_once() -> None:
    assert environments([(100.0 * n, 0.5) for n in range(11)], KEEP_WARM).cache_fills == 1


def test_a_drain_run_takes_everything_sent_since_the_run_before() -> None:
    runs = drained_batches([200.0, 0.5, 30.0, 59.9, 61.0], Drain(batch_size=1000, period_seconds=60.0))
    assert [(run.invoked_at, sorted(run.messages)) for run in runs] == [(60.0, [1, 2, 3]), (120.0, [4]),
                                                                        (240.0, [0])]
    # Ten messages a receive, until one brings fewer: an empty receive only after exactly ten.
    assert [run.receives for run in runs] == [1, 1, 1]
    assert [drained_batches([float(n) / 100 for n in range(count)], Drain(1000, 60.0))[0].receives
            for count in (9, 10, 11, 25)] == [1, 2, 2, 3]


def test_a_drained_function_kept_warm_starts_once_and_reads_its_secrets_hourly() -> None:
    sent = [n * 90.0 for n in range(100)]
    runs = [(run.invoked_at, 0.5) for run in drained_batches(sent, Drain(1000, 60.0))]
    found = environments(runs, math.inf, 3600.0)
    assert (found.cold_starts, found.cache_fills) == (1, 3)  # 100 events over 2.5 hours


def test_the_tracking_drain_runs_often_enough_to_stay_warm_and_never_overlaps_itself() -> None:
    from bench.prices import KEEP_WARM_SECONDS
    from chalicelib.functions import function_spec, queue_drain

    period = queue_drain("tracking_worker").every_minutes * 60
    # The cost model counts one cold start a campaign for it (bench/cost._kept_warm).
    assert period < KEEP_WARM_SECONDS
    assert function_spec("tracking_worker").timeout_seconds <= period / 2


def test_warm_ups_keep_an_environment_and_fill_a_new_cache_but_leave_an_aged_one_to_a_request() -> None:
    pings = [(240.0 * n, 0.001) for n in range(30)]  # two hours
    alone = environments([], KEEP_WARM, 3600.0, warm_ups=pings)
    assert (alone.invocations, alone.cold_starts, alone.cache_fills) == (0, 1, 1)
    with_requests = environments([(100.0, 0.01), (3_700.0, 0.01), (3_800.0, 0.01)], KEEP_WARM, 3600.0,
                                 warm_ups=pings)
    # Warm all along; the request at 3,700 s finds the cache aged and fills it, once.
    assert (with_requests.cold_starts, with_requests.cache_fills) == (1, 2)
