"""The cost model's execution environments (bench/traffic.environments): cold starts after the
keep-warm time, and the secret reads of each environment's cache (issue 15)."""
from __future__ import annotations

from bench.traffic import environments

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
