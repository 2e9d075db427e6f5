"""The JSON error shape, body limits, malformed JSON and unknown fields on /v1 writes."""
from __future__ import annotations

import json

import pytest

from tests.support.api import bearer
from tests.support.campaigns import create_campaign
from tests.support.faults import reads_refuse_oversized_keys
from tests.support.lists import new_list
from tests.support.signups import form_signup


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
    assert _error(response)["code"] == "payload_too_large" and _error(response)["field"] == "body"


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


# --- values the JSON parser, a number or a time cannot hold: a 400 naming the field, never a 500 --

def test_an_integer_of_more_than_4300_digits_is_400_naming_the_body(client, account):
    # json.loads refuses it with a plain ValueError, not a JSONDecodeError.
    for digits in (4300, 4301, 5000):
        body = '{"name": "News", "consent_text": "Yes", "double_opt_in": ' + "1" * digits + "}"
        response = client.http.post("/v1/lists", headers=bearer(account["api_key"]), body=body)
        assert response.status_code == 400, response.body
        assert _error(response)["field"] == ("double_opt_in" if digits <= 4300 else "body")


@pytest.mark.parametrize("limit", ["%C2%B2", "%D9%A3", "0", "201", "1" * 5000, "-1", "1.0", "%201"])
def test_a_limit_that_is_not_1_to_200_in_ascii_digits_is_400(client, account, limit):
    response = client.http.get(f"/v1/lists?limit={limit}", headers=bearer(account["api_key"]))
    assert response.status_code == 400, response.body
    assert _error(response)["field"] == "limit"
    assert client.http.get("/v1/lists?limit=200", headers=bearer(account["api_key"])).status_code == 200


@pytest.mark.parametrize("send_at", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
def test_a_send_at_with_no_utc_form_is_400_naming_it(client, headers, send_at):
    list_id = new_list(client, headers)
    body = {"name": "Spring", "list_ids": [list_id], "subject": "Hi", "text": "Hello", "send_at": send_at}
    created = client.http.post("/v1/campaigns", headers=headers, body=json.dumps(body))
    assert created.status_code == 400 and _error(created)["field"] == "send_at"
    campaign_id = create_campaign(client, headers, [list_id])["campaign_id"]
    patched = client.http.patch(f"/v1/campaigns/{campaign_id}", headers=headers,
                                body=json.dumps({"send_at": send_at}))
    assert patched.status_code == 400 and _error(patched)["field"] == "send_at"


@pytest.mark.parametrize("proof", ["consent", "tracking_consent"])
def test_p02_a_consent_time_with_no_utc_form_is_400_naming_it(client, headers, proof):
    list_id = new_list(client, headers, double_opt_in=False)
    body = {"email": "ann@example.com", "consent": {"given_at": "2025-01-01T00:00:00Z"},
            proof: {"given_at": "0001-01-01T00:00:00+23:59"}}
    response = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=headers, body=json.dumps(body))
    assert response.status_code == 400, response.body
    assert _error(response)["field"] == f"{proof}.given_at"


@pytest.mark.parametrize("name", ["redirect_after_signup", "redirect_after_confirm", "privacy_policy_url"])
@pytest.mark.parametrize("url", ["http://[x", "https://shop.example/thanks\r\nSet-Cookie: sid=evil",
                                 "https://shop.example/\u2028next", "https://shop.example:70000/"])
def test_a_list_url_that_cannot_go_into_a_header_or_page_as_written_is_400(client, headers, name, url):
    list_id = new_list(client, headers)
    created = client.http.post("/v1/lists", headers=headers,
                               body=json.dumps({"name": "News", "consent_text": "Yes", name: url}))
    patched = client.http.patch(f"/v1/lists/{list_id}", headers=headers, body=json.dumps({name: url}))
    for response in (created, patched):
        assert response.status_code == 400, response.body
        assert _error(response)["field"] == name


def test_a_refused_redirect_leaves_the_hosted_form_working(client, headers):
    list_id = new_list(client, headers)
    client.http.patch(f"/v1/lists/{list_id}", headers=headers, body=json.dumps(
        {"redirect_after_signup": "https://shop.example/thanks\r\nSet-Cookie: sid=evil"}))
    assert form_signup(client, list_id, email="ann@example.com").status_code == 200


def test_p30_a_blank_tracking_consent_text_is_refused_by_its_own_name(client, headers):
    list_id = new_list(client, headers)
    response = client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                                 body=json.dumps({"tracking_consent_text": "   "}))
    assert response.status_code == 400 and _error(response)["field"] == "tracking_consent_text"


@pytest.mark.parametrize("name", ["   ", "Spring\u2028sale", "Spring\x00", "Spring\u0085"])
def test_a_campaign_or_key_name_that_is_blank_or_not_one_line_is_400_naming_it(client, headers, name):
    list_id = new_list(client, headers)
    body = {"name": name, "list_ids": [list_id], "subject": "Hi", "text": "Hello"}
    created = client.http.post("/v1/campaigns", headers=headers, body=json.dumps(body))
    campaign_id = create_campaign(client, headers, [list_id])["campaign_id"]
    patched = client.http.patch(f"/v1/campaigns/{campaign_id}", headers=headers,
                                body=json.dumps({"name": name}))
    key = client.http.post("/v1/keys", headers=headers, body=json.dumps({"name": name, "scope": "full"}))
    for response in (created, patched, key):
        assert response.status_code == 400, response.body
        assert _error(response)["field"] == "name"


@pytest.mark.parametrize("address", ["   ", "1 Main St\x00", "\n \n"])
def test_p08_a_postal_address_that_is_blank_or_holds_a_control_character_is_400(client, headers, address):
    response = client.http.patch("/v1/account", headers=headers, body=json.dumps({"postal_address": address}))
    assert response.status_code == 400 and _error(response)["field"] == "postal_address"


def test_p08_a_postal_address_keeps_its_lines_and_any_line_break_becomes_one(client, headers):
    response = client.http.patch("/v1/account", headers=headers, body=json.dumps(
        {"postal_address": " 1 Main Street\r\n010101 Bucharest\u2028Romania "}))
    assert response.status_code == 200, response.body
    assert json.loads(response.body)["postal_address"] == "1 Main Street\n010101 Bucharest\nRomania"


CONTROLS = ["Ann\x00", "Ann\u2028Bcc: x@example.com", "A\x85B", "A\x1b[31mB", "Ann\tSmith", "A\u2029B"]


@pytest.mark.parametrize("value", CONTROLS)
def test_p08_a_contact_field_with_a_line_break_or_control_character_is_400_naming_it(client, headers, value):
    list_id = new_list(client, headers, double_opt_in=False, attributes=("city",))
    consent = {"given_at": "2025-01-01T00:00:00Z"}
    for body, field in (({"email": "ann@example.com", "name": value}, "name"),
                        ({"email": "ann@example.com", "company": value}, "company"),
                        ({"email": "ann@example.com", "attributes": {"city": value}}, "city")):
        response = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=headers,
                                    body=json.dumps({**body, "consent": consent}))
        assert response.status_code == 400 and _error(response)["field"] == field, (field, response.body)
    listed = json.loads(client.http.get(f"/v1/lists/{list_id}/subscribers", headers=headers).body)
    assert listed["subscribers"] == []


@pytest.mark.parametrize(("detail", "value"), [("form_url", "n/a"), ("form_url", "www.shop.example/join"),
                                               ("form_url", "https://shop.example/\u2028x"),
                                               ("user_agent", "Mozilla/5.0\x00"),
                                               ("user_agent", "Mozilla\u2028Bcc")])
@pytest.mark.parametrize("proof", ["consent", "tracking_consent"])
def test_p02_supplied_consent_proof_with_a_placeholder_url_or_a_control_character_is_400_naming_it(
        client, headers, proof, detail, value):
    list_id = new_list(client, headers, double_opt_in=False)
    given = {"given_at": "2025-01-01T00:00:00Z"}
    body = {"email": "ann@example.com", "consent": given, proof: {**given, detail: value}}
    response = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=headers, body=json.dumps(body))
    # New lists ask tracking consent (P30), so both proofs are checked.
    assert response.status_code == 400 and _error(response)["field"] == f"{proof}.{detail}", response.body



# --- a key given twice: parsers disagree on which one counts, so neither may ---------------------

def test_p27_a_key_given_twice_is_400_naming_it_and_no_key_is_created(client, account):
    # json.loads keeps the last value: a proxy, log or reviewer reading the first would see a
    # read-only key being made while a full-access one was.
    headers = bearer(account["api_key"])
    body = b'{"name": "ci", "scope": "read", "scope": "full"}'
    response = client.http.post("/v1/keys", headers=headers, body=body)
    assert response.status_code == 400, response.body
    assert _error(response)["field"] == "scope"
    keys = json.loads(client.http.get("/v1/keys", headers=headers).body)["keys"]
    assert [key["key_id"] for key in keys] == [account["key_id"]]


@pytest.mark.parametrize("key", ["\u2028" * 80_000, "x" * 200_000, "nick\x07name"])
def test_an_unknown_key_is_a_small_400_naming_it_however_long_or_unprintable(client, account, key):
    # The body may be 256 KB: a key of 80,000 line separators, echoed whole in the message and
    # the field, was an error of about a megabyte once JSON-escaped.
    body = json.dumps({"name": "News", "consent_text": "Yes", key: 1}, ensure_ascii=False).encode()
    response = client.http.post("/v1/lists", headers=bearer(account["api_key"]), body=body)
    assert response.status_code == 400, response.body[:300]
    assert len(response.body) < 2_000, len(response.body)
    field = _error(response)["field"]
    assert field.startswith(key[:10].encode("unicode_escape").decode()), field
    assert ("\n" not in field and "\u2028" not in field and "\x07" not in field)


def test_a_nested_key_given_twice_is_400_naming_its_path_and_changes_nothing(client, account):
    headers = bearer(account["api_key"])
    body = b'{"name": "News", "consent_text": "Yes", "tracking": {"opens": true, "opens": false}}'
    response = client.http.post("/v1/lists", headers=headers, body=body)
    assert response.status_code == 400, response.body
    assert _error(response)["field"] == "tracking.opens"
    assert json.loads(client.http.get("/v1/lists", headers=headers).body)["lists"] == []


def test_an_id_longer_than_any_dynamodb_key_is_a_404_naming_it_not_a_500(client, account, news_list,
                                                                         monkeypatch):
    """DynamoDB refuses a GetItem by a key over 2,048 bytes (partition) or 1,024 (sort) with a
    ValidationException; a path of 8 KB reaches it. No item can have such a key: it is not found."""
    reads_refuse_oversized_keys(monkeypatch)
    headers = bearer(account["api_key"])
    list_id, long_id = news_list["list_id"], "x" * 2049
    for path, field in [(f"/v1/lists/{long_id}", "list_id"), (f"/v1/lists/{long_id}/subscribers", "list_id"),
                        (f"/v1/lists/{list_id}/imports/{long_id[:1025]}", "import_id"),
                        (f"/v1/campaigns/{long_id[:1025]}", "campaign_id"),
                        (f"/v1/privacy/requests/{long_id[:1025]}", "request_id")]:
        response = client.http.get(path, headers=headers)
        assert response.status_code == 404, (path[:40], response.status_code, response.body[:200])
        assert _error(response)["field"] == field
    assert client.http.get(f"/f/{long_id}").status_code == 404


@pytest.mark.parametrize("size", [1025, 2049])
def test_an_over_long_key_id_is_a_404_not_a_500(client, account, monkeypatch, size):
    """Revoking queries the account's keys by key id, a sort key of their index: DynamoDB refuses a
    key condition over 1,024 bytes with a ValidationException, as it refuses such a GetItem."""
    reads_refuse_oversized_keys(monkeypatch)
    headers = bearer(account["api_key"])
    response = client.http.delete(f"/v1/keys/{'x' * size}", headers=headers)
    assert response.status_code == 404, (response.status_code, response.body[:200])
    assert _error(response)["field"] == "key_id"
    assert len(json.loads(client.http.get("/v1/keys", headers=headers).body)["keys"]) == 1


def test_the_oversized_key_fault_refuses_every_request_that_names_a_key(client, monkeypatch):
    """The fault stands for DynamoDB on each operation a path id may reach (moto refuses none of them)."""
    from chalicelib.store.batch_reads import batch_get
    from chalicelib.store.models import ApiKey, MailingList

    reads_refuse_oversized_keys(monkeypatch)
    long_id = "x" * 2049
    attempts = [
        lambda: list(ApiKey.by_account.query("acc_1", ApiKey.key_id == long_id[:1025])),
        lambda: list(ApiKey.by_account.query(long_id)),
        lambda: batch_get({MailingList.Meta.table_name: {"Keys": [{"list_id": {"S": long_id}}]}}),
        lambda: list(ApiKey.batch_get([long_id])),
        lambda: ApiKey(key_hash=long_id).delete(condition=ApiKey.key_hash.exists()),
        lambda: ApiKey(key_hash=long_id).update(actions=[ApiKey.name.set("n")],
                                                condition=ApiKey.key_hash.exists()),
    ]
    for attempt in attempts:
        with pytest.raises(Exception, match="maximum size limit"):  # PynamoDB wraps the ClientError
            attempt()
