"""The JSON error shape, body limits, malformed JSON and unknown fields on /v1 writes."""
from __future__ import annotations

import json

import pytest

from tests.support.api import bearer


def _error(response) -> dict:
    body = json.loads(response.body)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    return body["error"]


def test_malformed_json_is_400_naming_the_body(client, account):
    response = client.http.post("/v1/lists", headers=bearer(account["api_key"]), body=b"{not json")
    assert response.status_code == 400
    assert _error(response)["field"] == "body"


@pytest.mark.parametrize("body", [b"[]", b"null", b'"text"', b"42"])
def test_a_body_that_is_not_an_object_is_400(client, account, body):
    response = client.http.post("/v1/lists", headers=bearer(account["api_key"]), body=body)
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_input"


def test_unknown_field_is_refused_by_name(client, account):
    body = json.dumps({"name": "News", "consent_text": "Yes", "colour": "red"})
    response = client.http.post("/v1/lists", headers=bearer(account["api_key"]), body=body)
    assert response.status_code == 400
    assert _error(response)["field"] == "colour"


def test_missing_required_field_is_named(client, account):
    body = json.dumps({"name": "News"})
    response = client.http.post("/v1/lists", headers=bearer(account["api_key"]), body=body)
    assert response.status_code == 400
    assert _error(response)["field"] == "consent_text"


def test_wrong_type_is_named(client, account):
    body = json.dumps({"name": "News", "consent_text": "Yes", "double_opt_in": "yes"})
    response = client.http.post("/v1/lists", headers=bearer(account["api_key"]), body=body)
    assert response.status_code == 400
    assert _error(response)["field"] == "double_opt_in"


def test_oversized_body_is_413(client, account):
    body = json.dumps({"name": "News", "consent_text": "x" * 300_000})
    response = client.http.post("/v1/lists", headers=bearer(account["api_key"]), body=body)
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"


def test_a_non_json_content_type_is_415(client, account):
    headers = {**bearer(account["api_key"]), "Content-Type": "text/plain"}
    response = client.http.post("/v1/lists", headers=headers, body=b"name=News")
    assert response.status_code == 415
    assert _error(response)["field"] == "Content-Type"


def test_bad_input_changes_nothing(client, account):
    headers = bearer(account["api_key"])
    client.http.post("/v1/lists", headers=headers, body=b'{"name": ')
    client.http.post("/v1/lists", headers=headers, body=json.dumps({"name": "N", "bogus": 1}))
    assert json.loads(client.http.get("/v1/lists", headers=headers).body)["lists"] == []
