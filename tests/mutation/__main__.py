"""`make mutants`: mutation testing of the rule-enforcing modules with mutmut, then the report.

    python -m tests.mutation              # a fresh run, then the report (exit 1 below the bar)
    python -m tests.mutation --report     # the report of the last run only
    python -m tests.mutation --only chalicelib/domain/tokens.py   # one module (repeatable), its report

mutmut (pinned in requirements-dev.txt) copies chalicelib/ and the tests to mutants/, writes every
mutant of the modules in tests/mutation/scope.toml into that copy behind a trampoline, runs the
test suite once to learn which tests reach which function, then runs each mutant in a forked
process against the tests that reached its function, fastest first, stopping at the first
failure. This driver is mutmut's `run` with changes that keep it within 30 minutes on two cores:
the stats run uses both cores (pytest-xdist with tests/mutation/stats_plugin.py) and already
proves the suite passes, so mutmut's second, "clean" run of the whole suite is skipped; only the
functions scope.toml names are run; the mutants declared in equivalent.toml are not run at all;
and each mutant gets the fastest of its tests up to `test_seconds_per_mutant` of their measured
time.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from math import ceil
from pathlib import Path

from tests.mutation import report
from tests.mutation.scope import equivalents, modules, settings

ROOT = Path(__file__).resolve().parents[2]


_RULE_IDS = re.compile(r"(?<![a-z0-9])p(\d\d)(?=_)")


def named_for(test: str, rules: tuple[str, ...]) -> bool:
    """Whether the test's name carries one of the rule IDs (`test_p12_p14_...` for P12 or P14)."""
    name = test.rpartition("::")[2].partition("[")[0].lower()
    return any(f"p{number}" in {rule.lower() for rule in rules} for number in _RULE_IDS.findall(name))


def _capped(tests: set[str], durations: dict[str, float], budget: float,
            rules: tuple[str, ...] = ()) -> list[str]:
    """The tests whose measured time adds up to the budget (always at least one): first those
    named for the module's rules, fastest first, then the others, fastest first. A function that
    every request reaches (a sender check, a suppression read) is reached by hundreds of tests;
    the ones that prove its rule come first."""
    chosen: list[str] = []
    spent = 0.0
    for test in sorted(tests, key=lambda name: (not named_for(name, rules), durations.get(name, 0.0))):
        if chosen and spent + durations.get(test, 0.0) > budget:
            break
        chosen.append(test)
        spent += durations.get(test, 0.0)
    return chosen


# Run in this process before the mutants are forked from it, so each fork starts with the app, moto
# and the test modules imported (mutmut's own stats run, which this driver replaces, did that).
WARM_UP = ["tests/test_rule_substance.py"]


def _quietly(run: Callable[[], int]) -> tuple[int, str]:
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        return run(), output.getvalue()


def _parallel_stats(processes: int) -> None:
    """mutmut's stats run (which tests reach which mutated function, how long each test takes) on
    `processes` cores with pytest-xdist and tests/mutation/stats_plugin.py, merged into mutmut's
    stats file; SystemExit when a test fails under the trampolines."""
    from mutmut.configuration import config
    from mutmut.state import state
    from mutmut.stats import save_stats

    for old in Path("mutants").glob("mutmut-stats-*.json"):
        old.unlink()
    env = {**os.environ, "MUTANT_UNDER_TEST": "stats", "PY_IGNORE_IMPORTMISMATCH": "1",
           "MUTMUT_DEPENDENCY_DEPTH": "-1"}
    command = [sys.executable, "-m", "pytest", "--rootdir=.", "-q", "-x", "-p", "no:cacheprovider",
               "-p", "tests.mutation.stats_plugin", "-n", str(processes), *config().pytest_add_cli_args,
               *config().pytest_add_cli_args_test_selection]
    result = subprocess.run(command, cwd="mutants", env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        print(result.stdout[-6000:], result.stderr[-3000:])
        raise SystemExit("the stats run failed: the suite must pass under mutmut's trampolines")
    print("    " + result.stdout.strip().splitlines()[-1])
    for part in Path("mutants").glob("mutmut-stats-*.json"):
        data = json.loads(part.read_text("utf-8"))
        for test, functions in data["reached"].items():
            for function in functions:
                state().tests_by_mangled_function_name[function].add(test)
        state().duration_by_test.update(data["seconds"])
    save_stats()


def _warm_up() -> None:
    import pytest
    from mutmut.configuration import config
    from mutmut.mutation.trampoline import set_mutant_under_test
    from mutmut.utils.file_utils import change_cwd

    set_mutant_under_test("")
    os.environ["PY_IGNORE_IMPORTMISMATCH"] = "1"
    with change_cwd("mutants"):
        code, output = _quietly(lambda: int(pytest.main(
            ["--rootdir=.", "-q", "-p", "no:cacheprovider", *config().pytest_add_cli_args, *WARM_UP])))
    if code != 0:
        print(output[-6000:])
        raise SystemExit("the warm-up tests failed")


def run(max_children: int, only: Sequence[str] = ()) -> None:
    # mutmut reads its configuration ([tool.mutmut] in pyproject.toml) from the working directory.
    from mutmut import __main__ as mutmut_main
    from mutmut.configuration import config
    from mutmut.mutation.trampoline import set_mutant_under_test
    from mutmut.state import state
    from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir, setup_source_paths
    from mutmut.utils.format_utils import mangled_name_from_mutant_name
    from mutmut.workers.isolation import get_mutant_runner

    # The tests package must come from the copy under mutants/, as pytest will import it there.
    for name in [name for name in sys.modules if name == "tests" or name.startswith("tests.")]:
        del sys.modules[name]
    scope = modules(only)
    by_path = {module.path: module for module in scope}
    config().only_mutate = sorted(by_path)  # scope.toml is the one list of what is mutated
    excused = equivalents()
    budget = float(settings()["test_seconds_per_mutant"])

    started = time.monotonic()
    set_mutant_under_test("mutant_generation")
    os.makedirs("mutants", exist_ok=True)
    with mutmut_main.CatchOutput(spinner_title="Generating mutants"):
        copy_src_dir()
        copy_also_copy_files()
        setup_source_paths()
        generated = mutmut_main.create_mutants(max_children)
    print(f"    mutants written for {generated.mutated} modules in {time.monotonic() - started:.0f}s")

    stats_started = time.monotonic()
    _parallel_stats(max_children)
    print(f"    stats (the suite once, under the trampolines, on {max_children} processes): "
          f"{time.monotonic() - stats_started:.0f}s", flush=True)
    _warm_up()
    runner = get_mutant_runner(max_children)
    mutants, data_by_path = mutmut_main.collect_source_file_mutation_data(mutant_names=())
    mutmut_main._check_test_to_mutant_associations(data_by_path)
    mutmut_main.run_forced_fail_test(runner)

    durations = state().duration_by_test
    chosen = []
    for data, name, result in mutants:
        module = by_path.get(str(data.path))
        if module is None or not module.holds(name) or name in excused or result is not None:
            continue
        reached = state().tests_by_mangled_function_name.get(mangled_name_from_mutant_name(name), set())
        tests = _capped(reached, durations, budget, module.rules)
        chosen.append((sum(durations.get(test, 0.0) for test in tests), name, data, tests))
    chosen.sort(key=lambda item: item[0])
    print(f"Running {len(chosen)} mutants on {max_children} processes")

    cfg = config()
    owner = {}
    done = 0
    last_print = time.monotonic()

    def drain() -> None:
        nonlocal done, last_print
        result = runner.wait_for_result()
        data = owner[result.mutant_name]
        data.exit_code_by_key[result.mutant_name] = result.exit_code
        data.durations_by_key[result.mutant_name] = result.duration
        data.save()
        done += 1
        if time.monotonic() - last_print > 30:
            last_print = time.monotonic()
            print(f"    {done}/{len(chosen)} mutants in {time.monotonic() - started:.0f}s", flush=True)

    set_mutant_under_test("")
    runner.startup()
    try:
        for estimated, name, data, tests in chosen:
            owner[name] = data
            cpu_limit = ceil((estimated + cfg.timeout_constant) * cfg.timeout_multiplier * 2)
            while not runner.has_capacity():
                drain()
            runner.submit(name, tests, cpu_limit, estimated)
        runner.signal_work_complete()
        while runner.pending_count() > 0:
            drain()
    finally:
        runner.shutdown()
    print(f"    {done} mutants run; the whole run took {time.monotonic() - started:.0f}s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", action="store_true", help="only print the report of the last run")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--only", action="append", default=[], metavar="PATH",
                        help="mutate and report only this module of scope.toml (repeatable)")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    try:
        modules(args.only)
    except ValueError as error:
        parser.error(str(error))
    if not args.report:
        shutil.rmtree("mutants", ignore_errors=True)  # a fresh run: no verdict kept from older code
        started = time.monotonic()
        run(args.max_children, args.only)
        print(f"wall time: {(time.monotonic() - started) / 60:.1f} minutes")
    return report.main(args.only)


if __name__ == "__main__":
    sys.exit(main())
