"""Shared fixtures: every test that touches AWS runs inside one moto mock, with everything
provisioned from the same declarations the deployment uses."""
from __future__ import annotations

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
    POWERTOOLS_METRICS_NAMESPACE="Tidings",
    TIDINGS_STAGE="test",
)
os.environ.pop("AWS_ENDPOINT_URL", None)

pytest_plugins = ["tests.support.fixtures"]


@pytest.fixture
def aws() -> Iterator[dict[str, str]]:
    """A fresh moto account with every table, queue, topic and identity provisioned."""
    from moto import mock_aws

    from chalicelib.adapters.sqs import forget_queue_urls
    from chalicelib.config import settings
    from chalicelib.local.provision import provision

    # boto3 clients are kept across tests on purpose: moto intercepts at send time, and
    # building clients is most of a test's setup cost.
    with mock_aws():
        forget_queue_urls()
        yield provision(settings())


@pytest.fixture
def client(aws: dict[str, str]) -> Iterator[Any]:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as test_client:
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
