"""Every /v1 operation of the OpenAPI document, driven by schemathesis with generated input:
never a server error (issue #12, item 6). In-process (the Chalice app behind a WSGI adapter),
with a bounded number of examples per operation and a fixed seed, so a run is repeatable."""
from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings

from app import app  # registers every /v1 route, so the document lists them all
from chalicelib.web.openapi import openapi_document
from tests.support.api import bearer
from tests.support.wsgi import wsgi_app

SEED = 20261130
EXAMPLES = 6

schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture
def app_under_test(client: Any) -> Any:
    return wsgi_app(app)


@schema.parametrize()
@seed(SEED)
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error(case: Any, app_under_test: Any, account: dict[str, Any],
                                              verified_sender: None) -> None:
    response = case.call(app=app_under_test, headers=bearer(account["api_key"]))
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:500])
