"""Shared fixtures: every test that touches AWS runs inside one moto mock, with everything
provisioned from the same declarations the deployment uses."""
from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

# Set before anything imports boto3, so no test can reach a real AWS account.
os.environ.update(
    AWS_DEFAULT_REGION="eu-west-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    TIDINGS_STAGE="test",
    # Tests send their mail in bursts, which an account at SES's default 14 a second would spread
    # over seconds of delayed messages; the tests of the rate itself set their own
    # (tests/test_send_rate.py, tests/test_send_pacing.py).
    TIDINGS_SES_MAX_SEND_RATE="1000",
)
os.environ.pop("AWS_ENDPOINT_URL", None)

pytest_plugins = ["tests.support.fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    from tests.support.permissions import install

    install()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked `runs_long` go first: `make test` runs on two workers, and one such test
    started near the end would run on alone while the other worker sits idle, minutes added to
    a suite CI gives 10 minutes. (xdist hands each worker a run of consecutive tests, then the
    rest as workers free up.)"""
    items.sort(key=lambda item: item.get_closest_marker("runs_long") is None)


@pytest.fixture(autouse=True)
def _aws_calls_within_each_functions_policy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fails a test in which a handler made an AWS call its function's IAM policy (generated
    from chalicelib/functions.py, as deployed) would refuse (tests/support/permissions.py). Each
    test starts with cold caches of AWS reads of its own per function, as separate Lambdas: sender
    ownership, queue URLs, send-rate limiters, the tracking front's warm-up."""
    from chalicelib.adapters import sqs
    from chalicelib.services import tracking
    from chalicelib.services.sending import sender_ownership
    from chalicelib.store import send_rate
    from tests.support.permissions import DENIALS, CachePerFunction, OwnershipPerFunction

    monkeypatch.setattr(sender_ownership, "_owned_at", OwnershipPerFunction())
    for module, name in ((sqs, "_queue_url"), (send_rate, "_limiter"), (tracking, "warm_up")):
        monkeypatch.setattr(module, name, CachePerFunction(getattr(module, name)))
    DENIALS.take()
    yield
    denied = DENIALS.take()
    if denied:
        pytest.fail("AWS calls outside the function's policy (declare them in chalicelib/functions.py):\n"
                    + "\n".join(sorted(set(denied))))


@pytest.fixture
def aws() -> Iterator[dict[str, str]]:
    """A fresh moto account with every table, queue, topic and identity provisioned."""
    from moto import mock_aws

    from chalicelib.adapters.sqs import forget_queue_urls
    from chalicelib.config import settings
    from chalicelib.store import send_rate
    from tests.support.moto_state import provisioned

    # boto3 clients are kept across tests on purpose: moto intercepts at send time, and
    # building clients is most of a test's setup cost. The send-rate limiters are not: each
    # remembers its bucket, which a fresh moto account empties.
    with mock_aws():
        forget_queue_urls()
        send_rate.forget_limiters()
        yield provisioned(settings())


@pytest.fixture
def client(aws: dict[str, str]) -> Iterator[Any]:
    from app import app
    from tests.support.lambdas import DeployedClient

    with DeployedClient(app, stage_name="local") as test_client:
        yield test_client


@pytest.fixture
def account(aws: dict[str, str]) -> dict[str, Any]:
    """An account with a complete profile and a full-access key."""
    from chalicelib.cli import create_account_with_key

    return create_account_with_key(
        "Acme Ltd",
        {
            "postal_address": "1 Main Street, 010101 Bucharest, Romania",
            "contact_email": "contact@acme.example",
            "sender_identity": "news@acme.example",
        },
    )


@pytest.fixture
def app_logs(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the app's logger writes during the test, as the JSON lines Lambda would keep.
    (capsys sees none of it: the logger's handler holds the stdout of its creation.)"""
    from chalicelib.observability import logger

    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logger.registered_formatter)
    monkeypatch.setattr(logging.getLogger(logger.name), "handlers", [handler])
    return written


@pytest.fixture
def put_secret(aws: dict[str, str]) -> Iterator[Any]:
    """`put_secret(logical_name, value)`: a new value of a secret in moto's Secrets Manager, seen
    at once (as after config.SECRET_MAX_AGE_SECONDS in a warm Lambda)."""
    from aws_lambda_powertools.utilities import parameters

    from chalicelib.clients import client
    from chalicelib.config import settings

    def put(logical_name: str, value: str) -> None:
        client("secretsmanager").put_secret_value(SecretId=settings().secret_name(logical_name),
                                                  SecretString=value)
        parameters.clear_caches()

    yield put
    parameters.clear_caches()
