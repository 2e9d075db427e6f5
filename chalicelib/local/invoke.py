"""Calling a Chalice handler the way Lambda does: by function name, under its deployed configuration.

The context's `get_remaining_time_in_millis()` counts down from the function's declared timeout
(chalicelib/functions.py) on the wall clock, and a handler that runs past it fails as it would in
AWS (`FunctionTimedOut`, the result discarded: the pump leaves the whole batch for redelivery).
Python cannot stop a running thread, so the handler's work up to its return has happened; a
Lambda that overruns is also cut off after doing part of its work, so callers must cope alike.

`current_function()` names the function whose handler is running in this thread (or context), so
the tests can hold every AWS call against that function's generated policy. In Lambda each
function is a process of its own, with its own Powertools secret cache; here every function shares
one process, so `running_as` keys that cache by function too (`_SecretsPerFunction`): a secret one
function read is not in another's cache, and the other's read is a GetSecretValue call that its
policy is held against, while a function's own warm cache behaves as in Lambda.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property
from typing import Any

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.base import BaseProvider
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from chalice import Chalice

from chalicelib.functions import FunctionSpec, function_spec

# moto's default account: every ARN the local stack hands out belongs to it.
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_STAGE = "local"

_RUNNING: ContextVar[str | None] = ContextVar("tidings_running_function", default=None)


class FunctionTimedOut(Exception):
    """The handler ran past its declared timeout: in AWS, Lambda would have stopped it."""


class DeployedContext:
    """A Lambda context for `spec`: the attributes Lambda's has, and a remaining time that counts
    down from the declared timeout on `clock` (seconds; the monotonic wall clock unless a test
    gives its own)."""

    def __init__(self, spec: FunctionSpec, region: str, clock: Callable[[], float] = time.monotonic,
                 app_name: str = "tidings") -> None:
        self._clock = clock
        self._started = clock()
        self.timeout_millis = spec.timeout_seconds * 1000
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:function:{app_name}-{LOCAL_STAGE}-{spec.name}"
        )
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{app_name}-{LOCAL_STAGE}-{spec.name}"
        self.log_stream_name = self.aws_request_id

    def elapsed_millis(self) -> float:
        return (self._clock() - self._started) * 1000

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the declared timeout (negative once past it)."""
        return int(self.timeout_millis - self.elapsed_millis())


def current_function() -> str | None:
    """The function whose handler is running here, if any."""
    return _RUNNING.get()


@contextmanager
def running_as(function_name: str | None) -> Iterator[None]:
    """Attribute what runs inside the block to `function_name` (AWS calls are checked against
    its policy in the tests, and its secrets come from its own cache); None: to AWS itself (the
    SES simulator publishing, say)."""
    _cache_secrets_per_function()
    token = _RUNNING.set(function_name)
    try:
        yield
    finally:
        _RUNNING.reset(token)


class _SecretsPerFunction(SecretsProvider):
    """Powertools' Secrets Manager provider, its cache keyed by the running function as well. Its
    client is made at the first read, as Powertools makes its own provider then: a function that
    reads no secret pays for none (the bench meters an idle run's CPU)."""

    def __init__(self) -> None:
        BaseProvider.__init__(self)

    @cached_property
    def client(self) -> Any:
        return boto3.session.Session().client("secretsmanager")

    def _build_cache_key(self, name: str, transform: Any = None, is_nested: bool = False) -> tuple[Any, ...]:
        return (current_function(), *super()._build_cache_key(name, transform, is_nested))


def _cache_secrets_per_function() -> None:
    """Make the provider `parameters.get_secret` uses (config.py reads every secret through it)
    a `_SecretsPerFunction`, unless it is one. `parameters.clear_caches()` drops it, and with it
    every function's cache, as a day's wait would."""
    if not isinstance(DEFAULT_PROVIDERS.get("secrets"), _SecretsPerFunction):
        DEFAULT_PROVIDERS["secrets"] = _SecretsPerFunction()


def invoke_handler(
    app: Chalice, spec: FunctionSpec | str, event: dict[str, Any], region: str,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """Run the handler of `spec` (a declaration, or a name in chalicelib/functions.py) with its
    middleware on `event`, under its declared configuration; returns its result. Raises
    FunctionTimedOut when it overran its timeout."""
    spec = function_spec(spec) if isinstance(spec, str) else spec
    context = DeployedContext(spec, region, clock, app.app_name)
    with running_as(spec.name):
        result = app.handler_map[spec.name](event, context)
    if context.elapsed_millis() > context.timeout_millis:
        raise FunctionTimedOut(
            f"{spec.name} ran {context.elapsed_millis() / 1000:.1f} s, past its timeout of "
            f"{context.timeout_millis // 1000} s"
        )
    return result
