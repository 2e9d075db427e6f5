"""The environment every benchmark runs the app in: dummy AWS credentials, a region, no endpoint.

With these set, nothing can reach a real AWS account or the instance metadata service. `quiet`
keeps the app's own output out of a benchmark's printout.
"""
from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout

OFFLINE_AWS_ENV = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_EC2_METADATA_DISABLED": "true",
    # No profile or config file on this machine may add an endpoint, role or credential.
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "POWERTOOLS_METRICS_NAMESPACE": "Tidings",
    "TIDINGS_STAGE": "bench",
}


def offline_environ() -> dict[str, str]:
    """A copy of this process's environment with the offline AWS settings applied."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(OFFLINE_AWS_ENV)
    return env


def go_offline() -> None:
    """Apply the offline settings to this process (before anything creates a boto3 client)."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(OFFLINE_AWS_ENV)


@contextmanager
def quiet() -> Iterator[None]:
    """No metrics JSON and no log lines in the printout while the benchmark runs. Powertools prints
    a metric set when a metric reaches 100 values even with POWERTOOLS_METRICS_DISABLED, so the
    block's standard output is dropped (errors still raise)."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with redirect_stdout(io.StringIO()):
            yield
    finally:
        logging.disable(previous)
