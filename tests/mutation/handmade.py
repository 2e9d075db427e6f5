"""Re-apply the hand-made mutants of tests/mutation/handmade.toml, each to a scratch copy of the
repository, and run the tests named for its rule against it: every mutant must be killed.

    python -m tests.mutation.handmade            # all of them (make handmade-mutants)
    python -m tests.mutation.handmade p12 p02-import-user-agent-column   # by rule or by id

A mutant is *killed* when a test whose name carries its rule's ID fails, *survived* when they
all pass. Before the mutants, the same tests run once on the unchanged copy (skip with
--no-baseline): a test that fails there would make every "killed" meaningless. Exit status 0
only when every selected mutant was killed.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUTANTS_FILE = Path(__file__).with_name("handmade.toml")
_FAILED = re.compile(r"^FAILED (\S+?)(?: - |$)", re.MULTILINE)


@dataclass(frozen=True)
class Mutant:
    id: str
    rule: str
    file: str
    original: str
    mutated: str
    bug: str

    def apply(self, source: str) -> str:
        """The file's text with this mutant in it; ValueError unless `original` occurs once."""
        found = source.count(self.original)
        if found != 1:
            raise ValueError(f"{self.id}: the original snippet occurs {found} times in {self.file}")
        return source.replace(self.original, self.mutated)


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    status: str  # killed | survived | error
    detail: str
    seconds: float


def load(path: Path = MUTANTS_FILE) -> list[Mutant]:
    data = tomllib.loads(path.read_text("utf-8"))
    return [Mutant(**entry) for entry in data["mutant"]]


def scratch_copy() -> Path:
    """The repository's files (tracked and new, not ignored) in a fresh temporary directory."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    target = Path(tempfile.mkdtemp(prefix="tidings-handmade-"))
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _pytest(copy: Path, rule_expression: str, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", "-p", "no:randomly",
               "-k", rule_expression, *extra]
    return subprocess.run(command, cwd=copy, capture_output=True, text=True, check=False)


def run_mutant(copy: Path, mutant: Mutant) -> Outcome:
    path = copy / mutant.file
    source = path.read_text("utf-8")
    started = time.monotonic()
    try:
        path.write_text(mutant.apply(source), "utf-8")
    except ValueError as exc:
        return Outcome(mutant, "error", str(exc), 0.0)
    try:
        result = _pytest(copy, mutant.rule, "-x")
    finally:
        path.write_text(source, "utf-8")
    seconds = time.monotonic() - started
    if result.returncode == 1:
        failed = _FAILED.findall(result.stdout)
        named = [test for test in failed if mutant.rule in test.rpartition("::")[2].lower()]
        if named:
            return Outcome(mutant, "killed", named[0], seconds)
        return Outcome(mutant, "error", f"failed, but no test named for {mutant.rule}: {failed}", seconds)
    if result.returncode == 0:
        return Outcome(mutant, "survived", "every test named for the rule passed", seconds)
    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
    return Outcome(mutant, "error", f"pytest exit {result.returncode}: {tail}", seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("select", nargs="*", help="mutant ids or rule IDs (e.g. p12); all when none")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run on the unchanged copy")
    args = parser.parse_args(argv)
    wanted = {name.lower() for name in args.select}
    mutants = [m for m in load() if not wanted or m.id in wanted or m.rule in wanted]
    if not mutants:
        print(f"no mutant matches {sorted(wanted)}", file=sys.stderr)
        return 2
    copy = scratch_copy()
    try:
        if not args.no_baseline:
            rules = " or ".join(sorted({m.rule for m in mutants}))
            print(f"baseline: the tests named for {rules} on the unchanged code ...", flush=True)
            baseline = _pytest(copy, rules, "-n", "2")
            if baseline.returncode != 0:
                print(baseline.stdout[-4000:], baseline.stderr[-2000:])
                print("baseline failed: fix the tests before judging mutants", file=sys.stderr)
                return 1
            print("baseline: passed", flush=True)
        outcomes = []
        for mutant in mutants:
            outcome = run_mutant(copy, mutant)
            outcomes.append(outcome)
            print(f"{outcome.status:8} {mutant.id:48} {outcome.seconds:6.1f}s  {outcome.detail}", flush=True)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    killed = sum(outcome.status == "killed" for outcome in outcomes)
    print(f"\nhand-made mutants: {killed} of {len(outcomes)} killed by a test named for their rule")
    for outcome in outcomes:
        if outcome.status != "killed":
            print(f"  {outcome.status}: {outcome.mutant.id} ({outcome.mutant.file}): {outcome.mutant.bug}")
    return 0 if killed == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
