"""AWS API calls per request, through the Chalice test client against moto (no network).

Every figure is the number of calls one request makes, per operation: what a request costs in
DynamoDB/SQS/SES calls (and so in latency and money) once deployed. The app, moto and Chalice are
imported inside the functions, so that `python -m bench` has set the offline environment first.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.aws_calls import AwsCalls, count_aws_calls

_PROFILE = {
    "postal_address": "1 Main Street, 010101 Bucharest, Romania",
    "contact_email": "contact@acme.example",
    "sender_identity": "news@acme.example",
}
_NEW_LIST = {"name": "News", "consent_text": "Yes, send me the monthly news.",
             "privacy_policy_url": "https://acme.example/privacy"}


@dataclass(frozen=True)
class Measured:
    """One step: what was done, the HTTP status if it was a request, and the calls it made."""

    step: str
    status: int | None
    calls: AwsCalls


@contextmanager
def _provisioned() -> Iterator[None]:
    """A moto account with every declared resource, for the length of the block."""
    from moto import mock_aws

    from chalicelib.config import settings
    from chalicelib.local.provision import provision

    with mock_aws():
        provision(settings())
        yield


def list_routes() -> list[Measured]:
    """Create an account (CLI), then create a list, read it back and list lists over HTTP."""
    from chalice.test import Client

    from app import app
    from chalicelib.cli import create_account_with_key

    steps: list[Measured] = []
    with _provisioned():
        with count_aws_calls() as calls:
            account = create_account_with_key("Acme Ltd", _PROFILE)
        steps.append(Measured("create account + key (CLI)", None, calls))

        headers = {"Authorization": f"Bearer {account['api_key']}", "Content-Type": "application/json"}
        with Client(app, stage_name="local") as client:
            created = _request(steps, client, "POST /v1/lists", "/v1/lists", headers, json.dumps(_NEW_LIST))
            list_id = json.loads(created)["list_id"] if created else "missing"
            _request(steps, client, "GET /v1/lists/{list_id}", f"/v1/lists/{list_id}", headers)
            _request(steps, client, "GET /v1/lists", "/v1/lists", headers)
    return steps


def _request(
    steps: list[Measured], client: Any, route: str, path: str, headers: dict[str, str], body: str = ""
) -> bytes | None:
    """Make one request to `route` ("METHOD /template") at `path`, record its calls.

    Returns the body of a 2xx response, else None (the step's status shows what went wrong).
    """
    method = route.split(" ", 1)[0]
    with count_aws_calls() as calls:
        response = client.http.request(method, path, headers=headers, body=body.encode())
    steps.append(Measured(route, response.status_code, calls))
    return response.body if 200 <= response.status_code < 300 else None
