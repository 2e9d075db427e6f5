"""Run every benchmark and print its figures: `python -m bench [--runs N] [--package]`.

Figures only: nothing here passes or fails on a timing.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys

from bench.aws_calls import describe
from bench.cold_start import (
    POWERTOOLS_BATCH,
    STACK_DEPTHS,
    batch_utility_cost,
    cold_starts,
    first_call_needs,
    import_breakdown,
)
from bench.cost import main as cost_model
from bench.offline import go_offline
from bench.package_size import DEPLOYMENT_ZIP, MIB, REPO, build_package, runtime_sizes, zip_size
from bench.privacy import print_privacy
from bench.route_calls import list_routes
from bench.scale import main as scale_model
from bench.sending import RATE, RECIPIENTS, print_sending
from bench.signups import print_signup_calls, print_throughput
from bench.tracking import main as tracking_worker

COLD_TARGET = 1.5
# The workers whose handlers report SQS partial batch failures through chalicelib/queue_batches.py.
QUEUE_BATCH_FUNCTIONS = ("signup_worker", "import_worker", "send_worker", "fanout_worker",
                         "campaign_send_worker", "feedback_worker", "inbound_mail_worker",
                         "sms_inbound_worker")
ZIP_TARGET_MIB = 15


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    # One run at each stack depth: an import's cost depends on the depth it starts at (see
    # bench/cold_start.py), and Lambda's bootstrap starts it at one depth nothing here knows.
    parser.add_argument(
        "--runs", type=_positive, default=STACK_DEPTHS,
        help=f"fresh interpreters per import timing (default {STACK_DEPTHS}: one at each stack depth)",
    )
    parser.add_argument(
        "--package", action="store_true",
        help="build build/deployment.zip first (make package; downloads wheels)",
    )
    return parser


def _heading(title: str) -> None:
    print(f"\n== {title}")


def cold_import(runs: int) -> None:
    from chalicelib.functions import FUNCTIONS

    _heading(f"Cold import of each function's entry (issue 15 target: at most {COLD_TARGET}x import boto3 "
             f"in the same run), CPU ms on one core, median of {runs} fresh interpreters taking turns with "
             f"`import boto3` (each pair at another stack depth), with the bytecode and botocore models the "
             "zip ships")
    starts = cold_starts([spec.name for spec in FUNCTIONS], runs)
    yardsticks = tuple(start.boto3_ms for start in starts.values())
    startup = next(iter(starts.values())).startup_ms
    print(f"import boto3: median {statistics.median(yardsticks):.1f} ms CPU over the functions' turns "
          f"(medians {_spread(yardsticks)}); interpreter start-up {startup:.1f} ms")
    met = 0
    for name, start in starts.items():
        ratio = start.import_ms / start.boto3_ms
        met += ratio <= COLD_TARGET
        print(f"  {name:<22} {start.import_ms:6.1f} ms / boto3 {start.boto3_ms:5.1f} ms = {ratio:4.2f}x -> "
              f"{'met' if ratio <= COLD_TARGET else 'NOT met'}; its first call loads "
              f"{start.first_call_ms:5.1f} ms more ({', '.join(first_call_needs(name))})")
    print(f"  {met} of {len(starts)} functions within {COLD_TARGET}x")
    batch_users = [name for name in starts if name in QUEUE_BATCH_FUNCTIONS]
    print("Powertools' BatchProcessor instead of chalicelib/queue_batches.py (the same entry, plus "
          f"{', '.join(POWERTOOLS_BATCH)}), CPU ms, median of {runs}:")
    for name, (alone, powertools) in batch_utility_cost(batch_users, runs).items():
        print(f"  {name:<22} {alone:6.1f} -> {powertools:6.1f} ms (+{powertools - alone:4.1f}) = "
              f"{alone / starts[name].boto3_ms:4.2f}x -> {powertools / starts[name].boto3_ms:4.2f}x boto3")
    print("where the whole app's import spends its time (one run, -X importtime, ms by top-level package):")
    breakdown = import_breakdown("app")
    print(f"  total {sum(breakdown.values()):.1f} ms: " + ", ".join(
        f"{name} {ms:.1f}" for name, ms in breakdown.most_common(10)
    ))


def _spread(values: tuple[float, ...]) -> str:
    return f"{min(values):.1f}-{max(values):.1f}"


def package_size(build: bool) -> None:
    _heading("Lambda package")
    if build and build_package() != 0:
        print("the package build failed; see its output above")
    size = zip_size()
    relative = DEPLOYMENT_ZIP.relative_to(REPO)
    if size is None:
        print(f"{relative} not built: run `make package` (or `python -m bench --package`)")
    else:
        print(
            f"{relative}: {size.zipped_bytes / MIB:.2f} MiB zipped (Lambda limit 50 MB; issue 15 target at "
            f"most {ZIP_TARGET_MIB} MiB: {'met' if size.zipped_bytes <= ZIP_TARGET_MIB * MIB else 'NOT met'}"
            "), "
            f"{size.unzipped_bytes / MIB:.2f} MiB unzipped (limit 250 MB), "
            f"{size.files} files of which {size.pyc_files} .pyc"
        )
    sizes = runtime_sizes()
    total = sum(size.bytes for size in sizes)
    print(
        f"runtime requirements installed in the venv: {total / MIB:.2f} MiB in {len(sizes)} "
        "distributions (requirements.txt and what they pull in; without .pyc). Top 10:"
    )
    for size in sizes[:10]:
        origin = "requirements.txt" if size.direct else "dependency"
        print(f"  {size.name:<24} {size.bytes / MIB:7.2f} MiB  {100 * size.bytes / total:4.1f}%  {origin}")


def aws_calls_per_route() -> None:
    _heading("AWS API calls per request (Chalice test client against moto, no network)")
    for step in list_routes():
        status = f" -> {step.status}" if step.status is not None else ""
        print(f"{step.step}{status}: {describe(step.calls)}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    go_offline()
    print(f"Tidings benchmarks, Python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} cores, load average {' '.join(f'{load:.2f}' for load in os.getloadavg())} "
          "(1, 5, 15 min) at the start")
    cold_import(args.runs)
    package_size(args.package)
    aws_calls_per_route()
    _heading("Signups (issue 3 target: at most 3 AWS calls per public signup and per confirmation, no Scan)")
    print_signup_calls()
    print_throughput()
    _heading("Privacy (issue 5 targets: purge at most 1/25 AWS calls per record, no Scan)")
    print_privacy()
    _heading("Tracking (issue 6 target: pixel 1 AWS call; issue 15: writes that do not grow when batches "
             "are small)")
    tracking_worker()
    _heading("Cost under modelled traffic (issue 15 target: variable cost <= 3% of SES, sober scenario)")
    cost_model()
    _heading("Scale model: a campaign to 1,000,000 recipients at SES rates of 14, 200 and 1,000 a second")
    scale_model()
    _heading(f"Sending (issue 4 targets: 1 SES call and at most 0.1 other DynamoDB calls per recipient, "
             f"at most 1 ms CPU to render; {RECIPIENTS} recipients at {RATE:.0f} msg/s in about 10 s)")
    print_sending()
    return 0


if __name__ == "__main__":
    sys.exit(main())
