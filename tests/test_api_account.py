"""`/v1/account`: the sender's profile (P08) and its audit trail (P27)."""
from __future__ import annotations

import json

from chalicelib.cli import create_account_with_key, main
from chalicelib.store.audit import entries
from tests.support.api import bearer


def test_p08_profile_reports_what_sending_still_needs(client, aws):
    bare = create_account_with_key("Bare Org", {})
    profile = json.loads(client.http.get("/v1/account", headers=bearer(bare["api_key"])).body)
    assert profile["missing_for_sending"] == ["postal_address", "contact_email", "sender_identity"]

    added = client.http.post("/v1/senders", headers=bearer(bare["api_key"]),
                             body=json.dumps({"identity": "bare.example"}))
    assert added.status_code == 201, added.body
    patch = {"postal_address": "2 High St, Tallinn", "sender_identity": "News@Bare.Example"}
    response = client.http.patch("/v1/account", headers=bearer(bare["api_key"]), body=json.dumps(patch))
    assert response.status_code == 200
    updated = json.loads(response.body)
    # The contact email is set only by a confirmed email change (P27, tests/test_email_change.py).
    assert updated["missing_for_sending"] == ["contact_email"]
    assert updated["sender_identity"] == "news@bare.example"


def test_invalid_profile_values_are_refused_by_field(client, account):
    headers = bearer(account["api_key"])
    for field, value in (("contact_email", "new@acme.example"), ("sender_identity", "a@"),
                         ("postal_address", ""), ("name", 5)):
        response = client.http.patch("/v1/account", headers=headers, body=json.dumps({field: value}))
        assert response.status_code == 400, field
        assert json.loads(response.body)["error"]["field"] == field
    unchanged = json.loads(client.http.get("/v1/account", headers=headers).body)
    assert unchanged["contact_email"] == "contact@acme.example"


def test_p27_profile_changes_are_audited_without_contact_data(client, account, verified_sender):
    headers = bearer(account["api_key"])
    client.http.patch("/v1/account", headers=headers,
                      body=json.dumps({"sender_identity": "hello@acme.example"}))
    changed = [e for e in entries(account["account_id"]) if e.action == "account.profile_updated"]
    assert changed and changed[0].target == "sender_identity"
    assert all("@" not in (e.target or "") for e in entries(account["account_id"]))


def test_cli_refuses_a_bad_profile_with_a_clear_message(aws, capsys):
    assert main(["account", "create", "--name", "X", "--contact-email", "nope"]) == 2
    assert "contact_email" in capsys.readouterr().err
    assert main(["account", "create", "--name", "Good", "--contact-email", "ok@good.example"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["api_key"].startswith("tid_")


def test_p33_the_cli_refuses_an_oversized_account_name_with_a_clear_message(aws, capsys):
    """Hostile CLI input: `account create --name` has no length limit (the API allows 200
    characters). A 500,000-character name dies with a PutError traceback (DynamoDB's 400 KB
    item limit); a 5,000-character one is silently accepted and then goes into every mail's
    headers. Either must be a clear `error:` naming the field and exit 2."""
    for size in (500_000, 5_000):
        assert main(["account", "create", "--name", "x" * size]) == 2, size
        assert "name" in capsys.readouterr().err
