"""`/v1/audit`: key changes, exports and erasures are on record, without contact data (P27)."""
from __future__ import annotations

import json

import pytest

from chalicelib.cli import create_account_with_key
from tests.support.api import bearer
from tests.support.lists import new_list
from tests.support.privacy import PERSON, PHONE, PHONE_RAW, add, completed, export_of


@pytest.fixture
def api(account) -> dict[str, str]:
    return bearer(account["api_key"])


def _all_entries(client, api, limit: int) -> list[dict]:
    seen, cursor = [], None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.http.get(f"/v1/audit{query}", headers=api)
        assert response.status_code == 200, response.body
        page = json.loads(response.body)
        assert len(page["entries"]) <= limit
        seen.extend(page["entries"])
        cursor = page["next_cursor"]
        if not cursor:
            return seen


def test_p27_key_changes_exports_and_erasures_are_listed_newest_first_without_contact_data(client, api):
    created = json.loads(client.http.post("/v1/keys", headers=api, body=json.dumps({"name": "ci"})).body)
    client.http.delete(f"/v1/keys/{created['key_id']}", headers=api)
    add(client, api, new_list(client, api, "News", double_opt_in=False), phone=PHONE_RAW, name="Ann")
    access = completed(client, api, type="access", email=PERSON)
    export_of(client, api, access["request_id"])
    erase = completed(client, api, type="erase", phone=PHONE)

    entries = _all_entries(client, api, limit=2)
    watched = {"privacy.erase", "privacy.export_downloaded", "privacy.access", "key.revoked", "key.created"}
    actions = [(e["action"], e["target"]) for e in entries if e["action"] in watched]
    assert actions[:5] == [("privacy.erase", erase["request_id"]),
                           ("privacy.export_downloaded", access["request_id"]),
                           ("privacy.access", access["request_id"]),
                           ("key.revoked", created["key_id"]), ("key.created", created["key_id"])]
    assert [e["entry_id"] for e in entries] == sorted((e["entry_id"] for e in entries), reverse=True)
    text = json.dumps(entries)
    for contact in ("@", PHONE, PHONE.lstrip("+"), "Ann"):
        assert contact not in text


def test_audit_is_per_account_and_refuses_a_forged_cursor(client, api):
    created = [client.http.post("/v1/keys", headers=api, body=json.dumps({"name": name}))
               for name in ("a", "b")]
    ours = {json.loads(response.body)["key_id"] for response in created}
    other = bearer(create_account_with_key("Other Org", {})["api_key"])
    theirs = json.loads(client.http.get("/v1/audit", headers=other).body)["entries"]
    assert theirs and not ours & {e["target"] for e in theirs}
    page = json.loads(client.http.get("/v1/audit?limit=1", headers=api).body)
    assert len(page["entries"]) == 1 and page["next_cursor"]
    for cursor in ("not-a-cursor", page["next_cursor"]):
        response = client.http.get(f"/v1/audit?cursor={cursor}", headers=other)
        assert response.status_code == 400
        assert json.loads(response.body)["error"]["field"] == "cursor"
    assert client.http.get("/v1/audit?limit=0", headers=api).status_code == 400
