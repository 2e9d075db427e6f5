"""The Chalice test client, invoking every handler as it is deployed: `client.lambda_.invoke(...)`
runs the handler under its declaration in chalicelib/functions.py (a Lambda context that counts
down from the declared timeout, FunctionTimedOut when it overran) and `client.http` runs as the
`api_handler` function, so every AWS call they make is held against that function's policy, and
an answer bigger than Lambda may return is API Gateway's 502."""
from __future__ import annotations

import base64
import json
from typing import Any

from chalice.test import Client, HTTPResponse, InvokeResponse, TestHTTPClient, TestLambdaClient

from chalicelib.config import settings
from chalicelib.functions import FunctionSpec, Touches
from chalicelib.local.invoke import invoke_handler, running_as

API_HANDLER = "api_handler"
# Lambda refuses a synchronous response payload over 6 MB; API Gateway then answers 502.
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024


class DeployedLambdaClient(TestLambdaClient):
    def invoke(self, function_name: str, payload: Any | None = None) -> InvokeResponse:
        scoped = self._config.scope(self._config.chalice_stage, function_name)
        with self._patched_env_vars(scoped.environment_variables):
            return InvokeResponse(invoke_handler(self._app, function_name, payload or {}, settings().region))


class DeployedHTTPClient(TestHTTPClient):
    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes = b"") -> Any:
        with running_as(API_HANDLER):
            response = super().request(method, path, headers=headers, body=body)
        if _payload_bytes(response) > LAMBDA_RESPONSE_LIMIT:
            return HTTPResponse(body=b'{"message": "Internal server error"}',
                                headers={"Content-Type": "application/json"}, status_code=502)
        return response


def _payload_bytes(response: HTTPResponse) -> int:
    """The size of the proxy response the handler hands back to Lambda (a text body as a JSON
    string, any other base64-encoded)."""
    try:
        body = response.body.decode("utf-8")
    except UnicodeDecodeError:
        body = base64.b64encode(response.body).decode("ascii")
    return len(json.dumps({"statusCode": response.status_code, "headers": response.headers,
                           "body": body}).encode("utf-8"))


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
