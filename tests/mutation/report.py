"""The report of a `make mutants` run, read from mutmut's results under mutants/: the kill rate per
module and per rule family, the survivors, and the equivalent mutants left out.

Killed: a test failed (or the mutant ran out of time: a loop that never ends is caught too).
Survived: every test it was run against passed, or no test reached its function at all.
Equivalent mutants (tests/mutation/equivalent.toml) count neither way.
"""
from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from tests.mutation.scope import FAMILIES, Module, equivalents, modules, settings

ROOT = Path(__file__).resolve().parents[2]
DETECTED = {"killed", "timeout", "segfault", "suspicious"}


def _changed_line(name: str, path: str) -> str:
    """The mutant's first changed line, as its diff shows it."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    for line in get_diff_for_mutant(name, path=path).splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            return line[1:].strip()
    return ""


def _verdicts(module: Module) -> dict[str, str]:
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code

    data = SourceFileMutationData(path=Path(module.path))
    data.load()
    return {name: status_by_exit_code[code] for name, code in data.exit_code_by_key.items()
            if module.holds(name)}


def _rate(killed: int, total: int) -> str:
    return f"{100 * killed / total:5.1f}%" if total else "   - "


def main(only: Sequence[str] = ()) -> int:
    """The report over the modules of scope.toml, or only those named (as `--only` ran)."""
    import os

    os.chdir(ROOT)
    if not Path("mutants").is_dir():
        print("no mutants/ here: run `make mutants` first", file=sys.stderr)
        return 2
    excused = equivalents()
    threshold = float(settings()["threshold_percent"])
    per_family: dict[str, Counter[str]] = defaultdict(Counter)
    overall: Counter[str] = Counter()
    survivors: list[tuple[str, str, str]] = []
    excused_seen: list[tuple[str, str]] = []
    stale: list[str] = []
    print("\nkill rate per module (killed / mutants run; equivalent ones left out)")
    for module in modules(only):
        counts: Counter[str] = Counter()
        for name, status in sorted(_verdicts(module).items()):
            if name in excused:
                changed = _changed_line(name, module.path)
                if changed != excused[name].mutated.strip():
                    stale.append(f"{name}: now `{changed}`, declared `{excused[name].mutated}`")
                else:
                    excused_seen.append((name, excused[name].reason))
                    continue
            if status == "not checked":
                counts["not run"] += 1
                continue
            counts["run"] += 1
            counts["killed" if status in DETECTED else "survived"] += 1
            if status not in ("killed", "survived"):
                counts[status] += 1
            if status not in DETECTED:
                survivors.append((name, status, _changed_line(name, module.path)))
        for family in module.families:
            per_family[family].update(counts)
        overall.update(counts)
        notes = ", ".join(f"{counts[s]} {s}" for s in ("no tests", "timeout", "not run") if counts[s])
        print(f"  {_rate(counts['killed'], counts['run'])}  {counts['killed']:4}/{counts['run']:<4} "
              f"{module.path} ({', '.join(module.rules)}){'  ' + notes if notes else ''}")
    print("\nkill rate per rule family (a module counts in each family of its rules)")
    for family, _, _ in FAMILIES:
        counts = per_family.get(family, Counter())
        print(f"  {_rate(counts['killed'], counts['run'])}  {counts['killed']:4}/{counts['run']:<4} {family}")
    print(f"\nrule-enforcing modules: {_rate(overall['killed'], overall['run']).strip()} "
          f"({overall['killed']} of {overall['run']} mutants killed, {len(excused_seen)} equivalent "
          f"left out, {overall['not run']} not run)")
    if survivors:
        print(f"\nsurvivors ({len(survivors)}): `.venv/bin/mutmut show NAME` prints the diff")
        for name, status, changed in survivors:
            print(f"  {name} [{status}]: {changed}")
    if stale:
        print(f"\nequivalent.toml entries that no longer match their mutant ({len(stale)}): fix them")
        for line in stale:
            print(f"  {line}")
    rate = 100 * overall["killed"] / overall["run"] if overall["run"] else 0.0
    if overall["not run"]:
        print(f"\n{overall['not run']} mutants were not run (interrupted?): the rate covers the others")
    if rate < threshold:
        print(f"\nFAIL: {rate:.1f}% is below {threshold:.0f}%")
        return 1
    print(f"\nOK: {rate:.1f}% >= {threshold:.0f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
