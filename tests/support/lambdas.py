"""The Chalice test client, invoking every handler as it is deployed: `client.lambda_.invoke(...)`
runs the handler under its declaration in chalicelib/functions.py (a Lambda context that counts
down from the declared timeout, FunctionTimedOut when it overran) and `client.http` runs as the
`api_handler` function, so every AWS call they make is held against that function's policy."""
from __future__ import annotations

from typing import Any

from chalice.test import Client, InvokeResponse, TestHTTPClient, TestLambdaClient

from chalicelib.config import settings
from chalicelib.functions import FunctionSpec, Touches
from chalicelib.local.invoke import invoke_handler, running_as

API_HANDLER = "api_handler"


class DeployedLambdaClient(TestLambdaClient):
    def invoke(self, function_name: str, payload: Any | None = None) -> InvokeResponse:
        scoped = self._config.scope(self._config.chalice_stage, function_name)
        with self._patched_env_vars(scoped.environment_variables):
            return InvokeResponse(invoke_handler(self._app, function_name, payload or {}, settings().region))


class DeployedHTTPClient(TestHTTPClient):
    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes = b"") -> Any:
        with running_as(API_HANDLER):
            return super().request(method, path, headers=headers, body=body)


class DeployedClient(Client):
    """chalice.test.Client whose `lambda_` and `http` run handlers as deployed."""

    @property
    def http(self) -> TestHTTPClient:
        if self._http_client is None:
            self._http_client = DeployedHTTPClient(self._app, self._chalice_config)
        return self._http_client

    @property
    def lambda_(self) -> TestLambdaClient:
        if self._lambda_client is None:
            self._lambda_client = DeployedLambdaClient(self._app, self._chalice_config)
        return self._lambda_client


def test_function(name: str, timeout_seconds: int = 60) -> FunctionSpec:
    """A declaration for a handler of a test's own little app (touching nothing in AWS)."""
    return FunctionSpec(name, timeout_seconds, Touches())


test_function.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name
