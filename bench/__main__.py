"""Run every benchmark and print its figures: `python -m bench [--runs N] [--package]`.

Figures only: nothing here passes or fails on a timing.
"""
from __future__ import annotations

import argparse
import platform
import sys

from bench.aws_calls import describe
from bench.cold_start import import_breakdown, time_import
from bench.cost import main as tracking_and_cost
from bench.offline import go_offline
from bench.package_size import DEPLOYMENT_ZIP, MIB, REPO, build_package, runtime_sizes, zip_size
from bench.privacy import print_privacy
from bench.route_calls import list_routes
from bench.sending import RATE, RECIPIENTS, print_sending
from bench.signups import print_signup_calls, print_throughput


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=_positive, default=5, help="fresh interpreters per import timing")
    parser.add_argument(
        "--package", action="store_true",
        help="build build/deployment.zip first (make package; downloads wheels)",
    )
    return parser


def _heading(title: str) -> None:
    print(f"\n== {title}")


def cold_import(runs: int) -> None:
    _heading(f"Cold import, median of {runs} fresh interpreters (import only, start-up excluded)")
    for cached, condition in ((True, "with .pyc cache"), (False, "no .pyc outside stdlib")):
        app = time_import("app", runs, bytecode_cache=cached)
        boto3 = time_import("boto3", runs, bytecode_cache=cached)
        print(
            f"{condition:<24} import app {app.median_ms:7.1f} ms   import boto3 {boto3.median_ms:7.1f} ms"
            f"   app/boto3 {app.median_ms / boto3.median_ms:.2f}"
        )
    print("where `import app` spends its time (one run, -X importtime, ms by top-level package):")
    breakdown = import_breakdown("app")
    print(f"  total {sum(breakdown.values()):.1f} ms: " + ", ".join(
        f"{name} {ms:.1f}" for name, ms in breakdown.most_common(10)
    ))


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
            f"{relative}: {size.zipped_bytes / MIB:.2f} MiB zipped (Lambda limit 50 MB), "
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
    print(f"Tidings benchmarks, Python {platform.python_version()} on {platform.machine()}")
    cold_import(args.runs)
    package_size(args.package)
    aws_calls_per_route()
    _heading("Signups (issue 3 target: at most 3 AWS calls per public signup and per confirmation, no Scan)")
    print_signup_calls()
    print_throughput()
    _heading("Privacy (issue 5 targets: purge at most 1/25 AWS calls per record, no Scan)")
    print_privacy()
    _heading("Tracking and cost (issue 6 targets: pixel 1 AWS call, counter write calls <= distinct "
             "counters per batch, own AWS cost <= 3% of SES's)")
    tracking_and_cost()
    _heading(f"Sending (issue 4 targets: 1 SES call and at most 0.1 other DynamoDB calls per recipient, "
             f"at most 1 ms CPU to render; {RECIPIENTS} recipients at {RATE:.0f} msg/s in about 10 s)")
    print_sending()
    return 0


if __name__ == "__main__":
    sys.exit(main())
