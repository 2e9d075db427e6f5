"""`/v1/openapi.json` describes every `/v1` route."""
from __future__ import annotations

import json

from tests.support.api import bearer


def test_openapi_describes_every_v1_route(client, account):
    from app import app

    document = json.loads(client.http.get("/v1/openapi.json", headers=bearer(account["api_key"])).body)
    described = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    served = {
        (path, method)
        for path, methods in app.routes.items()
        if path.startswith("/v1")
        for method in methods
    }
    assert served, "the app serves /v1 routes"
    assert served <= described, f"missing from OpenAPI: {sorted(served - described)}"


def test_openapi_carries_request_schemas(client, account):
    document = json.loads(client.http.get("/v1/openapi.json", headers=bearer(account["api_key"])).body)
    create_list = document["paths"]["/v1/lists"]["post"]
    schema = create_list["requestBody"]["content"]["application/json"]["schema"]
    assert schema["additionalProperties"] is False
    assert "consent_text" in schema["required"]
    assert {p["name"] for p in document["paths"]["/v1/lists/{list_id}"]["get"]["parameters"]} == {"list_id"}


def test_openapi_names_the_headers_an_operation_reads(client, account):
    document = json.loads(client.http.get("/v1/openapi.json", headers=bearer(account["api_key"])).body)
    parameters = document["paths"]["/v1/messages"]["post"]["parameters"]
    assert {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}} in parameters


def test_p01_openapi_describes_a_lists_pending_signup_days_as_1_to_7(client, account):
    document = json.loads(client.http.get("/v1/openapi.json", headers=bearer(account["api_key"])).body)
    for path, method in (("/v1/lists", "post"), ("/v1/lists/{list_id}", "patch")):
        schema = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
        days = schema["properties"]["pending_signup_days"]
        assert (days["minimum"], days["maximum"]) == (1, 7), path
