"""How long code takes, measured so that a loaded machine cannot fail a test: CPU time of this
process (`time.process_time`, which other processes' load does not add to), the best of several
runs, and growth compared between two input sizes rather than against a wall-clock limit."""
from __future__ import annotations

import time
from collections.abc import Callable

# CPU seconds below which a run is too short to compare: a 4x larger input taking 10 ms after
# 0.1 ms is noise, not a quadratic.
_FLOOR = 0.005


def cpu_seconds(action: Callable[[], object], repeats: int = 5) -> float:
    """The least CPU time `action` took over `repeats` runs."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        action()
        best = min(best, time.process_time() - started)
    return best


def assert_linear(run: Callable[[int], object], size: int, *, ratio: float = 10.0,
                  repeats: int = 5) -> None:
    """`run(4 * size)` takes at most `ratio` times the CPU time of `run(size)`: linear work grows
    about 4x, quadratic 16x, so a generous `ratio` (10) still fails a quadratic."""
    small = cpu_seconds(lambda: run(size), repeats)
    large = cpu_seconds(lambda: run(4 * size), repeats)
    if large > ratio * max(small, _FLOOR):
        # A loaded machine can slow a whole set of runs (caches evicted, a slower clock), seen as
        # 9-10x on a linear parse: both sizes get a second set, each keeping its best. A
        # quadratic's 16x shows again.
        small = min(small, cpu_seconds(lambda: run(size), repeats))
        large = min(large, cpu_seconds(lambda: run(4 * size), repeats))
    assert large <= ratio * max(small, _FLOOR), f"{size}: {small:.4f} s, {4 * size}: {large:.4f} s"
