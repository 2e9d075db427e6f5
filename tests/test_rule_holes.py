"""The rule holes of issue #12 ("Why", item 9), each closed and proven by a test named for its rule."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.cli import create_account_with_key, main
from chalicelib.config import settings
from chalicelib.domain.suppression import SuppressionReason
from chalicelib.store.audit import entries
from chalicelib.store.models import Account, MessageRecord
from chalicelib.store.suppressions import suppress
from tests.support.api import bearer
from tests.support.lists import new_list, stored, subscribe
from tests.support.mail import sent_mails
from tests.support.queues import deliver, take

ANN = "ann@example.com"


def _message(client: Any, headers: dict[str, str], to: str = ANN) -> Any:
    return client.http.post("/v1/messages", headers=headers,
                            body=json.dumps({"to": to, "subject": "Your receipt", "text": "Thanks"}))


# --- P11/P18: a suppression keeps every reason ------------------------------------------------------

@pytest.mark.parametrize("later", [SuppressionReason.BOUNCED, SuppressionReason.COMPLAINED,
                                   SuppressionReason.ERASED])
def test_p11_p18_an_unsubscribed_address_that_later_bounced_gets_no_transactional_mail(
        client, account, headers, later):
    suppress(account["account_id"], ANN, SuppressionReason.UNSUBSCRIBED)
    assert _message(client, headers).status_code == 202  # unsubscribed: transactional mail is fine
    suppress(account["account_id"], ANN, later)
    refused = _message(client, headers)
    assert refused.status_code == 409 and json.loads(refused.body)["error"]["field"] == "to"


def test_p11_p18_an_erasure_after_an_unsubscribe_blocks_transactional_mail(client, account, headers):
    suppress(account["account_id"], ANN, SuppressionReason.UNSUBSCRIBED)
    subscribe(account["account_id"], new_list(client, headers), ANN)
    erased = client.http.post("/v1/privacy/requests", headers=headers,
                              body=json.dumps({"type": "erase", "email": ANN}))
    assert erased.status_code in (200, 201), erased.body
    assert _message(client, headers).status_code == 409


# --- P12: a per-list unsubscribe blocks re-adding to that list --------------------------------------

def test_p12_a_preference_centre_unsubscribe_from_one_list_blocks_re_adding_to_it(client, account, headers):
    from chalicelib.config import signer
    from chalicelib.domain.mail_links import PREFERENCES, LinkClaim, link_token
    from chalicelib.services.preferences import form_nonce

    news, offers = new_list(client, headers, "News"), new_list(client, headers, "Offers")
    for list_id in (news, offers):
        subscribe(account["account_id"], list_id, ANN)
    token = link_token(signer(), PREFERENCES, LinkClaim(account["account_id"], news, ANN, None))
    from urllib.parse import urlencode

    from tests.support.api import FORM

    left = client.http.post(f"/p/{token}/unsubscribe", headers=FORM,
                            body=urlencode({"list_id": news, "nonce": form_nonce(token)}))
    assert left.status_code in (200, 303), left.body
    # The tenant deletes the entry and adds the address again: refused, and nothing is mailed.
    assert client.http.delete(f"/v1/lists/{news}/subscribers/{ANN}", headers=headers).status_code == 204
    again = client.http.post(f"/v1/lists/{news}/subscribers", headers=headers,
                             body=json.dumps({"email": ANN}))
    assert again.status_code == 409 and json.loads(again.body)["error"]["field"] == "email"
    assert take("outbox") == []
    # The person's access export says so (P16): which list, why and since when.
    export = client.http.post("/v1/privacy/requests", headers=headers,
                              body=json.dumps({"type": "access", "email": ANN}))
    request_id = json.loads(export.body)["request_id"]
    held = json.loads(client.http.get(f"/v1/privacy/requests/{request_id}/export", headers=headers).body)
    assert [(s["scope"], s.get("list_id"), s["reason"]) for s in held["suppressions"]] == [
        ("list", news, "unsubscribed")]
    # The other list stays as it was, and the address may still join a third.
    assert stored(offers, ANN).status == "confirmed"
    third = new_list(client, headers, "Third")
    assert client.http.post(f"/v1/lists/{third}/subscribers", headers=headers,
                            body=json.dumps({"email": ANN})).status_code == 201


# --- P26: a suspended account's forms mail nobody -----------------------------------------------------

def test_p26_a_suspended_accounts_forms_send_no_confirmation_mail(client, account, news_list):
    from tests.support.signups import form_signup

    Account(account_id=account["account_id"]).update(actions=[Account.status.set("suspended")])
    form_signup(client, news_list["list_id"], email="bob@example.com")
    assert take("outbox") == []
    api = client.http.post(f"/v1/lists/{news_list['list_id']}/subscribers",
                           headers=bearer(account["api_key"]), body=json.dumps({"email": "carl@example.com"}))
    assert api.status_code == 403


# --- P24: no warning mail, no deletion ----------------------------------------------------------------

def test_p24_an_account_no_mail_can_reach_is_never_marked_warned(client, aws):
    from chalicelib.domain.clock import now
    from chalicelib.services.retention import run_purges

    bare = create_account_with_key("Bare Ltd", {})
    old = (now() - timedelta(days=400)).date().isoformat()
    Account(account_id=bare["account_id"]).update(actions=[Account.last_active_day.set(old)])
    run_purges(dry_run=False)
    account = Account.get(bare["account_id"])
    assert account.inactivity_warned_at is None
    run_purges(dry_run=False)
    assert Account.get(bare["account_id"]).account_id == bare["account_id"], "not deleted unwarned"


# --- P27: the unsubscribes export is audited ------------------------------------------------------------

def test_p27_reading_the_unsubscribe_requests_is_audited(client, account):
    response = client.http.get("/v1/account/unsubscribes", headers=bearer(account["api_key"]))
    assert response.status_code == 200
    actions = [entry.action for entry in entries(account["account_id"])]
    assert "account.unsubscribes_exported" in actions


# --- P18/P28: message records, per person and per account ----------------------------------------------

def _records(hashed: str) -> list[MessageRecord]:
    return list(MessageRecord.query(hashed))


def test_p18_an_erasure_removes_the_persons_sms_message_records(client, account, headers):
    from chalicelib.config import hash_key
    from chalicelib.domain.privacy import phone_hash
    from chalicelib.store.messages import claim

    phone = "+40712345678"
    subscribe(account["account_id"], new_list(client, headers), ANN, phone=phone)
    hashed = phone_hash(phone, hash_key())
    claim(hashed, "cm_sms_1", account["account_id"], "sms", campaign_id="cmp_1")
    for who in ({"email": ANN}, {"phone": phone}):
        client.http.post("/v1/privacy/requests", headers=headers, body=json.dumps({"type": "erase", **who}))
    assert _records(hashed) == []


def test_p28_an_export_and_an_erasure_touch_only_the_accounts_own_message_records(client, account, headers):
    from chalicelib.config import hash_key
    from chalicelib.domain.suppression import address_hash
    from chalicelib.store.messages import claim

    other = create_account_with_key("Other Ltd", {})
    hashed = address_hash(ANN, hash_key())
    claim(hashed, "tx_mine", account["account_id"], "transactional")
    claim(hashed, "tx_theirs", other["account_id"], "transactional")
    exported = client.http.post("/v1/privacy/requests", headers=headers,
                                body=json.dumps({"type": "access", "email": ANN}))
    request_id = json.loads(exported.body)["request_id"]
    export = json.loads(client.http.get(f"/v1/privacy/requests/{request_id}/export", headers=headers).body)
    assert [m["message_id"] for m in export["messages"]] == ["tx_mine"]
    client.http.post("/v1/privacy/requests", headers=headers,
                     body=json.dumps({"type": "erase", "email": ANN}))
    assert [r.message_id for r in _records(hashed)] == ["tx_theirs"]


# --- P33: the operator suspends and cancels, with a reason mailed and audited ---------------------------

def test_p33_the_operator_suspends_an_account_with_a_reason_mailed_and_audited(client, account, capsys):
    reason = "bought lists (acceptable-use rule 1)"
    assert main(["account", "suspend", "--account-id", account["account_id"], "--reason", reason]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["status"] == "suspended" and printed["notified"] is True
    deliver(take("outbox"))
    (notice,) = [mail for mail in sent_mails() if mail["To"] == "contact@acme.example"]
    assert "suspended" in str(notice["Subject"]) and reason in notice.get_content()
    assert notice["Reply-To"] == settings().operator_email, "the reply it asks for reaches an operator"
    audited = [e for e in entries(account["account_id"]) if e.action == "account.suspended_by_operator"]
    assert audited and reason in audited[0].target and audited[0].actor == "operator"
    refused = _message(client, bearer(account["api_key"]))
    assert refused.status_code == 403
    assert main(["account", "suspend", "--account-id", account["account_id"], "--reason", reason]) == 2


def test_p33_the_operator_cancels_an_account_which_is_deleted_after_30_days(client, account, capsys):
    from chalicelib.domain.clock import now
    from chalicelib.services.retention import run_purges

    assert main(["account", "cancel", "--account-id", account["account_id"], "--reason", "phishing"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "cancelled" and result["deletion_due_at"]
    deliver(take("outbox"))
    (notice,) = [mail for mail in sent_mails() if mail["To"] == "contact@acme.example"]
    assert "cancelled" in str(notice["Subject"]) and "phishing" in notice.get_content()
    assert notice["Reply-To"] == settings().operator_email
    assert any(e.action == "account.cancelled_by_operator" for e in entries(account["account_id"]))
    headers = bearer(account["api_key"])
    assert client.http.get("/v1/account/export", headers=headers).status_code == 200  # P22
    assert client.http.post("/v1/account/reactivate", headers=headers).status_code == 409
    import time_machine

    with time_machine.travel(now() + timedelta(days=31), tick=False):
        run_purges(dry_run=False)
    with pytest.raises(Account.DoesNotExist):
        Account.get(account["account_id"])


def test_p33_the_cli_tells_the_operator_when_the_account_could_not_be_told(aws, capsys):
    """P33: the account is told why it was suspended. An account with neither a contact email
    nor a sender identity cannot be; the audit entry notes it, but the CLI prints the same
    success as when the mail went out and exits 0, so the operator believes it was told."""
    bare = create_account_with_key("Bare Ltd", {})
    assert main(["account", "suspend", "--account-id", bare["account_id"], "--reason", "spam (AUP 1)"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)["notified"] is False
    assert "not told" in printed.err


def test_p33_a_reason_must_be_one_line(account, capsys):
    assert main(["account", "suspend", "--account-id", account["account_id"], "--reason", "a\u2028b"]) == 2


@pytest.mark.parametrize("argv", [
    ["account", "suspend", "--account-id", "", "--reason", "spam"],
    ["account", "cancel", "--account-id", "", "--reason", "spam"],
    ["account", "unsuspend", "--account-id", ""],
    ["account", "adopt-sender", "--account-id", "", "--identity", "news.example"],
])
def test_p33_the_cli_refuses_an_empty_account_id_with_a_clear_message(aws, capsys, argv):
    """P33 via the CLI: an unknown account must give a clear message and exit non-zero. An empty
    `--account-id` reaches DynamoDB as an empty key and the command dies with a PynamoDB
    GetError traceback (ValidationException) instead of `error: no such account`."""
    assert main(argv) == 2
    assert "account" in capsys.readouterr().err


@pytest.mark.parametrize("reason", [f"complaint from {ANN}", f"complaint from <{ANN.upper()}>, twice",
                                    f"was it {ANN}?", "complaint from +40 712 345 678"])
def test_p27_an_operator_reason_with_contact_data_stays_out_of_the_audit_log(account, capsys, reason):
    """DESIGN: contact data never appears in the audit log (P25/P27 audit entries hold ids and
    counts). The CLI's `--reason` is stored verbatim in the account's audit log, so a reason
    naming the complainant ("complaint from ann@example.com") puts an address there; the CLI
    only asks the operator, in its help, not to. It should refuse (exit 2) or redact it."""
    assert main(["account", "suspend", "--account-id", account["account_id"], "--reason", reason]) == 2
    assert "reason" in capsys.readouterr().err
    assert Account.get(account["account_id"]).status == "active", "refused before anything changed"
    assert not any(e.action == "account.suspended_by_operator" for e in entries(account["account_id"]))
