"""pytest plugin for the stats run of `make mutants` under pytest-xdist: which mutated functions
each test reached, and how long each test took (setup and teardown included).

mutmut learns this in its own process, on one core; `make mutants` runs the suite on two
(`-n 2 -p tests.mutation.stats_plugin`) and each process writes what its tests reached to
`mutmut-stats-<worker>.json` in the working directory (mutants/), which the driver merges into
mutmut's stats. The trampolines record every mutated function a test calls (MUTANT_UNDER_TEST=stats)
in mutmut's process state; this plugin takes them after each test, its fixtures' teardown included.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

_reached: dict[str, list[str]] = {}
_seconds: dict[str, float] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    from mutmut.state import state

    state()._stats.clear()
    started = time.perf_counter()
    yield
    # The whole test: its fixtures' setup and teardown cost a mutant's run as much as its body
    # (mutmut counts the body only, which makes a test behind a moto fixture look free).
    _seconds[item.nodeid] = time.perf_counter() - started
    _reached[item.nodeid] = sorted(state()._stats)
    state()._stats.clear()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _seconds:
        return  # the xdist controller runs no test
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    Path(f"mutmut-stats-{worker}.json").write_text(
        json.dumps({"reached": _reached, "seconds": _seconds}), "utf-8")
