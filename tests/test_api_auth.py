"""Bearer-key authentication, scopes and tenant isolation (P27, P28)."""
from __future__ import annotations

import json

import pytest

from chalicelib.cli import create_account_with_key
from chalicelib.store.models import ApiKey
from tests.support.api import bearer

NEW_LIST = json.dumps({"name": "News", "consent_text": "Yes, send me news."})


def _error(response) -> dict:
    return json.loads(response.body)["error"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"},
     {"Authorization": "Bearer tid_key_nope_forged"}],
)
def test_p28_v1_routes_need_a_valid_bearer_key(client, account, headers):
    response = client.http.get("/v1/lists", headers=headers)
    assert response.status_code == 401
    assert _error(response)["code"] == "unauthorized"
    assert _error(response)["field"] == "Authorization"


def test_every_v1_route_refuses_a_missing_key(client, account):
    from app import app

    for path, methods in app.routes.items():
        if not path.startswith("/v1"):
            continue
        concrete = path.replace("{", "").replace("}", "")
        for method in methods:
            response = client.http.request(method, concrete, headers={}, body=b"")
            assert response.status_code == 401, f"{method} {path}"


def test_p27_only_the_key_hash_is_stored(client, account, logs):
    """No key's secret, nor its secret part, nor an unkeyed hash other than the stored SHA-256, is
    in any table or log line: the first key, one made through the API, a read key, a revoked one."""
    import hashlib

    from tests.support.privacy_scan import scan_every_table

    full = bearer(account["api_key"])
    secrets = [account["api_key"]]
    for body in ({"name": "ci"}, {"name": "ro", "scope": "read"}):
        created = json.loads(client.http.post("/v1/keys", headers=full, body=json.dumps(body)).body)
        secrets.append(created["secret"])
        assert client.http.get("/v1/lists", headers=bearer(created["secret"])).status_code == 200
    client.http.delete(f"/v1/keys/{created['key_id']}", headers=full)
    stored = list(ApiKey.scan())
    assert len(stored) == 2 and all(len(key.key_hash) == 64 for key in stored), "the revoked key is gone"
    everything = "\n".join([*(item for items in scan_every_table().values() for item in items), logs.text])
    for secret in secrets:
        # tid_key_<id>_<secret>: the secret is URL-safe base64 and may hold "_" itself.
        secret_part = secret.split("_", 3)[3]
        assert len(secret_part) >= 40
        for form in (secret, secret_part, hashlib.md5(secret.encode()).hexdigest(),
                     hashlib.sha1(secret.encode()).hexdigest()):
            assert form not in everything


def test_read_only_key_can_read_but_not_write(client, account):
    full = bearer(account["api_key"])
    created = client.http.post("/v1/keys", headers=full, body=json.dumps({"name": "ro", "scope": "read"}))
    assert created.status_code == 201
    read_only = bearer(json.loads(created.body)["secret"])

    assert client.http.get("/v1/lists", headers=read_only).status_code == 200
    refused = client.http.post("/v1/lists", headers=read_only, body=NEW_LIST)
    assert refused.status_code == 403
    assert _error(refused)["code"] == "forbidden"
    assert client.http.get("/v1/lists", headers=full).body.count(b"list_id") == 0


def test_p28_another_tenants_list_is_404_never_shown(client, account):
    mine = bearer(account["api_key"])
    other = create_account_with_key("Other Org", {})
    theirs = bearer(other["api_key"])
    list_id = json.loads(client.http.post("/v1/lists", headers=mine, body=NEW_LIST).body)["list_id"]

    for method, body in (("GET", b""), ("PATCH", json.dumps({"name": "Hijack"})), ("DELETE", b"")):
        response = client.http.request(method, f"/v1/lists/{list_id}", headers=theirs, body=body)
        assert response.status_code == 404, method
        assert b"News" not in response.body
    assert json.loads(client.http.get("/v1/lists", headers=theirs).body)["lists"] == []
    still_there = client.http.get(f"/v1/lists/{list_id}", headers=mine)
    assert json.loads(still_there.body)["name"] == "News"


def test_p28_another_tenants_key_cannot_be_revoked(client, account):
    other = create_account_with_key("Other Org", {})
    response = client.http.delete(f"/v1/keys/{other['key_id']}", headers=bearer(account["api_key"]))
    assert response.status_code == 404
    assert client.http.get("/v1/account", headers=bearer(other["api_key"])).status_code == 200


def test_revoked_key_stops_working_and_cannot_revoke_itself(client, account):
    full = bearer(account["api_key"])
    second = json.loads(client.http.post("/v1/keys", headers=full, body=json.dumps({"name": "ci"})).body)
    assert second["scope"] == "full"
    selfie = client.http.delete(f"/v1/keys/{account['key_id']}", headers=full)
    assert selfie.status_code == 409

    assert client.http.delete(f"/v1/keys/{second['key_id']}", headers=full).status_code == 204
    assert client.http.get("/v1/account", headers=bearer(second["secret"])).status_code == 401
    listed = json.loads(client.http.get("/v1/keys", headers=full).body)["keys"]
    assert [key["key_id"] for key in listed] == [account["key_id"]]
    assert all("secret" not in key for key in listed)


def test_p27_p28_a_revoked_key_is_refused_on_the_next_request_whatever_a_replica_still_holds(
        client, account, monkeypatch):
    """P27, P28: a key is revoked at once. An eventually consistent read may come from a replica
    the delete has not reached yet, which still answers with the key (as below): the lookup
    must read strongly consistent, so the revoked key is refused on the very next request."""
    from botocore.client import BaseClient

    from chalicelib.clients import client as aws_client
    from chalicelib.domain.keys import hash_secret

    full = bearer(account["api_key"])
    second = json.loads(client.http.post("/v1/keys", headers=full, body=json.dumps({"name": "ci"})).body)
    table, key = ApiKey.Meta.table_name, {"key_hash": {"S": hash_secret(second["secret"])}}
    stale = aws_client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    original = BaseClient._make_api_call

    def replica_behind(self, operation, params):  # what a replica the delete has not reached says
        if (operation == "GetItem" and params.get("TableName") == table and params.get("Key") == key
                and not params.get("ConsistentRead")):
            return {"Item": stale}
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", replica_behind)
    assert client.http.delete(f"/v1/keys/{second['key_id']}", headers=full).status_code == 204
    assert client.http.get("/v1/account", headers=bearer(second["secret"])).status_code == 401


def test_p27_key_changes_are_in_the_audit_log(client, account):
    from chalicelib.store.audit import entries

    full = bearer(account["api_key"])
    second = json.loads(client.http.post("/v1/keys", headers=full, body=json.dumps({"name": "x"})).body)
    client.http.delete(f"/v1/keys/{second['key_id']}", headers=full)
    actions = [(entry.action, entry.target, entry.actor) for entry in entries(account["account_id"])]
    assert ("key.created", second["key_id"], account["key_id"]) in actions
    assert ("key.revoked", second["key_id"], account["key_id"]) in actions
