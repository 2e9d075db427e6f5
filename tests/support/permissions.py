"""Every AWS call a handler makes in a test, held against its function's generated IAM policy.

`install()` wraps botocore's `BaseClient._make_api_call` for the whole test session (boto3's
clients, PynamoDB's and Powertools' all go through it; see bench/aws_calls.py for why not botocore
events). A call made while a handler runs (chalicelib/local/invoke.running_as: the pump, the
scheduler and tests/support/lambdas.py set it) is turned into what IAM authorises (infra/iam.py)
and checked against the policy infra/template.py deploys for that function, resolved for moto's
account. Calls made by the test itself (setup, assertions) belong to no function and are not
checked. `TIDINGS_AWS_CALLS_LOG=<file>` also appends every attributed request there as JSON lines.

In-process caches that stand in for an AWS read must be per function, as each Lambda function is a
process of its own: otherwise one function's read hides another's call from its policy. Secrets
are (local/invoke.running_as); the P35 sender re-check's is too (`OwnershipPerFunction`), and so
are the queue URLs, the send-rate limiters and the tracking front's warm-up (`CachePerFunction`).
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from botocore.client import BaseClient

from chalicelib.config import settings
from chalicelib.functions import FUNCTIONS, function_spec
from chalicelib.local.invoke import LOCAL_ACCOUNT_ID, current_function
from infra.iam import Request, allows, policy_statements, request_of, resolved


@dataclass
class Denials:
    """Calls a function's policy would have refused, since the last `take()`."""

    found: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, line: str) -> None:
        with self.lock:
            self.found.append(line)

    def take(self) -> list[str]:
        with self.lock:
            found, self.found = self.found, []
        return found


DENIALS = Denials()
_DECLARED = {spec.name for spec in FUNCTIONS}


class OwnershipPerFunction(dict[Any, Any]):
    """services/sending/sender_ownership's `_owned_at`, keyed by the running function as well: the
    send worker's re-check reads SES (ses:GetEmailIdentity) even when the campaign send worker,
    another Lambda, found the same sender a moment ago."""

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get((current_function(), key), default)

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__((current_function(), key), value)


class CachePerFunction:
    """A module's `functools.cache`d function whose result stands in for AWS calls, cached by the
    running function as well: adapters/sqs's queue URLs (sqs:GetQueueUrl), store/send_rate's
    limiters (each remembers the bucket it last read, dynamodb:GetItem) and services/tracking's
    warm-up (a secret read and a queue URL, once). `cache_clear` as functools' (the `aws`
    fixture forgets URLs and limiters with each fresh moto account)."""

    def __init__(self, cached: Callable[..., Any]) -> None:
        self._compute = cached.__wrapped__  # type: ignore[attr-defined]
        self._results: dict[tuple[Any, ...], Any] = {}

    def __call__(self, *args: Any) -> Any:
        key = (current_function(), *args)
        if key not in self._results:
            self._results[key] = self._compute(*args)
        return self._results[key]

    def cache_clear(self) -> None:
        self._results.clear()


@cache
def policy_of(function_name: str, region: str) -> list[dict[str, Any]]:
    """The function's deployed policy statements, resolved for moto's account."""
    return resolved(policy_statements(function_spec(function_name), settings()), region, LOCAL_ACCOUNT_ID)


def check(function_name: str, requests: list[Request]) -> list[Request]:
    """The requests the function's policy does not allow."""
    statements = policy_of(function_name, settings().region)
    return [request for request in requests if not allows(statements, request)]


def install() -> None:
    """Wrap botocore's call method once per process."""
    if getattr(BaseClient._make_api_call, "_tidings_permissions", False):
        return
    original = BaseClient._make_api_call
    log_path = os.environ.get("TIDINGS_AWS_CALLS_LOG")

    def checked(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        function_name = current_function()
        if function_name not in _DECLARED:
            return original(client, operation_name, api_params)
        response = None
        try:
            response = original(client, operation_name, api_params)
            return response
        finally:
            service = client.meta.service_model.service_name
            requests = request_of(service, operation_name, api_params, response,
                                  client.meta.region_name, LOCAL_ACCOUNT_ID)
            for request in check(function_name, requests):
                DENIALS.add(f"{function_name}: {request}")
            if log_path:
                with open(log_path, "a") as log:
                    for request in requests:
                        log.write(json.dumps({"function": function_name, "action": request.action,
                                              "resource": request.resource}) + "\n")

    checked._tidings_permissions = True  # type: ignore[attr-defined]
    BaseClient._make_api_call = checked  # type: ignore[method-assign]
