"""Changing the account's contact email needs confirmation at the new address (P27)."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine

from chalicelib.config import settings
from chalicelib.domain.clock import now
from chalicelib.store.accounts import get_account
from chalicelib.store.audit import entries
from tests.support.api import bearer
from tests.support.mail import parsed, sent_mails, sent_raw
from tests.support.queues import deliver, take

NEW = "owner@acme.example"


@pytest.fixture
def api(account) -> dict[str, str]:
    return bearer(account["api_key"])


def _ask(client, api, new_email: str):
    return client.http.post("/v1/account/email-change", headers=api,
                            body=json.dumps({"new_email": new_email}))


def _mailed_link(to: str, path: str = "account/email-change") -> str:
    deliver(take("outbox"))
    link = re.compile(rf"https?://\S+/{path}/\S+")
    [url] = [found.group(0) for m in sent_mails() if m["To"] == to
             for found in [link.search(m.get_body(preferencelist=("plain",)).get_content())] if found]
    return urlsplit(url).path


def _contact(account) -> str | None:
    return get_account(account["account_id"]).contact_email


def test_p27_patch_no_longer_changes_the_contact_email(client, api, account):
    response = client.http.patch("/v1/account", headers=api, body=json.dumps({"contact_email": NEW}))
    assert response.status_code == 400
    error = json.loads(response.body)["error"]
    assert error["field"] == "contact_email" and "/v1/account/email-change" in error["message"]
    assert _contact(account) == "contact@acme.example"


def test_p27_the_change_is_mailed_to_the_new_address_and_applied_only_by_its_button(client, api, account):
    response = _ask(client, api, "Owner@ACME.example")
    assert response.status_code == 202
    assert _contact(account) == "contact@acme.example", "nothing changes before confirmation"
    path = _mailed_link(NEW)

    page = client.http.get(path)
    assert page.status_code == 200 and "<button" in page.body.decode()
    assert _contact(account) == "contact@acme.example", "a GET (mail scanner) changes nothing"

    assert client.http.post(path).status_code == 200
    assert _contact(account) == NEW
    assert client.http.post(path).status_code == 200, "using the link twice is harmless"
    actions = [(e.actor, e.action, e.target) for e in entries(account["account_id"])]
    assert ("email-confirmation", "account.contact_email_changed", "contact_email") in actions
    assert (account["key_id"], "account.email_change_requested", "contact_email") in actions
    assert all("@" not in (e.target or "") + e.actor for e in entries(account["account_id"]))


def test_p27_a_stale_link_cannot_undo_a_later_change(client, api, account):
    _ask(client, api, "first@acme.example")
    first = _mailed_link("first@acme.example")
    _ask(client, api, NEW)
    client.http.post(_mailed_link(NEW))
    response = client.http.post(first)
    assert response.status_code == 400 and "changed since" in response.body.decode()
    assert _contact(account) == NEW


def test_p27_an_email_change_link_cannot_be_replayed_after_the_change_was_undone(client, api, account):
    """P27: a change of the account's email needs confirmation by email. The token only binds a
    hash of the address it replaces, so after A -> B -> A (the owner undoing a hijack within the
    link's 2 days) the first link is valid again and whoever holds B takes the contact email
    back without any new confirmation. A used confirmation link must never work a second time;
    with the contact email the attacker can then confirm the account's deletion (P23)."""
    _ask(client, api, "attacker@evil.example")
    hijack = _mailed_link("attacker@evil.example")
    assert client.http.post(hijack).status_code == 200
    # The owner notices and changes it back, confirmed at their own address.
    _ask(client, api, "contact@acme.example")
    assert client.http.post(_mailed_link("contact@acme.example")).status_code == 200
    with time_machine.travel(now() + timedelta(days=1)):  # replayed, still within its 2 days
        assert client.http.post(hijack).status_code == 400
    assert _contact(account) == "contact@acme.example", "a used link changed the contact email again"


def test_p23_p27_a_deletion_link_mailed_to_the_old_address_no_longer_confirms(client, api, account):
    """Deletion is confirmed by the account's email (P23): once the contact email has changed,
    a deletion link the old mailbox still holds must not delete the account."""
    assert client.http.post("/v1/account/deletion", headers=api).status_code == 202
    deletion = _mailed_link("contact@acme.example", "account/deletion")
    _ask(client, api, NEW)
    assert client.http.post(_mailed_link(NEW)).status_code == 200
    assert client.http.post(deletion).status_code == 400
    assert get_account(account["account_id"]).deletion_due_at is None


def test_p27_the_link_expires_after_2_days(client, api, account):
    _ask(client, api, NEW)
    path = _mailed_link(NEW)
    with time_machine.travel(now() + timedelta(days=2, minutes=1)):
        assert client.http.post(path).status_code == 400
    assert _contact(account) == "contact@acme.example"


def test_bad_requests_name_the_field(client, api, account):
    for body, status, field in (({"new_email": "nope"}, 400, "new_email"), ({}, 400, "new_email"),
                                ({"new_email": NEW, "x": 1}, 400, "x"),
                                ({"new_email": "contact@acme.example"}, 409, "new_email")):
        response = client.http.post("/v1/account/email-change", headers=api, body=json.dumps(body))
        assert response.status_code == status, body
        assert json.loads(response.body)["error"]["field"] == field
    key = client.http.post("/v1/keys", headers=api, body=json.dumps({"name": "ro", "scope": "read"}))
    read_only = bearer(json.loads(key.body)["secret"])
    assert _ask(client, read_only, NEW).status_code == 403
    assert client.http.post("/account/email-change/garbage").status_code == 400
    assert take("outbox") == []


# --- the address a confirmed change replaces is told (P27) ----------------------------------------

OLD = "contact@acme.example"


def _notices() -> list:
    """The notices the replaced address got (after running the send worker on the outbox)."""
    deliver(take("outbox"))
    return [m for m in sent_mails() if m["To"] == OLD]


def _raw_notices() -> list[str]:
    return [message.raw_data for message in sent_raw() if parsed(message)["To"] == OLD]


def _change(client, api, new_email: str = NEW) -> str:
    """Ask for `new_email`; the confirmation link mailed to it (the profile not changed yet)."""
    assert _ask(client, api, new_email).status_code == 202
    return _mailed_link(new_email)


def test_p27_the_old_address_gets_one_notice_when_the_change_is_confirmed(client, api, account):
    path = _change(client, api)
    client.http.get(path)
    assert _notices() == [], "asking and opening the link tell nobody: nothing has changed"
    assert client.http.post(path).status_code == 200
    [notice] = _notices()
    text = notice.get_body(preferencelist=("plain",)).get_content()
    assert str(notice["Subject"]) == "The contact email of Acme Ltd was changed"
    assert "the contact email of the account Acme Ltd was changed on" in text
    assert "o•••@acme.example" in text and "UTC" in text
    assert "DELETE /v1/keys/" in text and "Reply to this message" in text
    assert notice["Reply-To"] == settings().operator_email, "the reply it asks for reaches an operator"
    assert client.http.post(path).status_code == 200
    assert len(_notices()) == 1, "pressing the button again on a done change mails nobody"
    assert all("@" not in (e.target or "") + e.actor for e in entries(account["account_id"]))


def test_p27_the_notice_never_holds_the_new_address(client, api, account):
    client.http.post(_change(client, api))
    [notice] = _notices()
    [raw] = _raw_notices()
    parts = [notice.get_body(preferencelist=(kind,)).get_content() for kind in ("plain", "html")]
    headers = "\n".join(f"{name}: {value}" for name, value in notice.items())
    for whole in (raw, headers, *parts):
        assert NEW not in whole.lower() and "owner@" not in whole.lower()
    assert all("o•••@acme.example" in part for part in parts)


def test_p27_a_confirmation_retried_after_a_failed_write_mails_the_old_address_once(client, api, account,
                                                                                    monkeypatch):
    """The notice is queued before the change is written, under an id fixed for the request: when
    the write fails and the owner presses again, the outbox holds the same notice twice, and
    sends it once."""
    import chalicelib.services.email_change as service

    path = _change(client, api)
    written = service.change_contact_email

    def failing(*args, **kwargs):
        monkeypatch.setattr(service, "change_contact_email", written)
        raise RuntimeError("DynamoDB is unavailable")

    monkeypatch.setattr(service, "change_contact_email", failing)
    assert client.http.post(path).status_code == 500
    assert _contact(account) == OLD
    assert client.http.post(path).status_code == 200
    queued = take("outbox")
    assert len(queued) == 2
    deliver(queued + queued)  # and SQS delivering each of them twice
    assert len([m for m in sent_mails() if m["To"] == OLD]) == 1


def test_p27_a_stale_or_used_link_tells_nobody(client, api, account):
    voided = _change(client, api, "first@acme.example")
    hijack = _change(client, api, "attacker@evil.example")
    response = client.http.post(voided)
    assert response.status_code == 400 and "already used" in response.body.decode()
    assert _notices() == [], "a link a newer request voided changes nothing, so tells nobody"

    assert client.http.post(hijack).status_code == 200
    assert len(_notices()) == 1
    client.http.post(_change(client, api, OLD))  # the owner takes the address back
    assert client.http.post(hijack).status_code == 400, "used"
    stale = _change(client, api, "second@acme.example")
    client.http.post(_change(client, api, NEW))
    assert client.http.post(stale).status_code == 400, "stale"
    deliver(take("outbox"))
    told = [str(m["To"]) for m in sent_mails() if "was changed" in str(m["Subject"])]
    assert sorted(told) == sorted([OLD, "attacker@evil.example", OLD])


def test_p27_p32_the_notice_is_in_the_accounts_language(client, api, account):
    romanian = client.http.patch("/v1/account", headers=api, body=json.dumps({"language": "ro"}))
    assert romanian.status_code == 200
    client.http.post(_change(client, api))
    [notice] = _notices()
    assert str(notice["Subject"]) == "Emailul de contact al Acme Ltd a fost schimbat"
    text = notice.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith("Bună ziua,") and "o•••@acme.example" in text
    assert "Răspunde la acest mesaj" in text and "Hello," not in text


@pytest.mark.parametrize("breaker", ["\r\n", "\n", "\r", "\u2028", "\u2029", "\u0085"])
def test_p27_an_account_name_with_a_line_break_cannot_add_a_header_to_the_notice(client, api, account,
                                                                                  breaker):
    from chalicelib.store.models import Account

    hostile = f"Acme{breaker}Bcc: spy@evil.example"
    refused = client.http.patch("/v1/account", headers=api, body=json.dumps({"name": hostile}))
    assert refused.status_code == 400 and json.loads(refused.body)["error"]["field"] == "name"
    # A name stored before the profile refused line breaks, or written to the table by hand.
    Account(account_id=account["account_id"]).update(actions=[Account.name.set(hostile)])
    client.http.post(_change(client, api))
    [notice] = _notices()
    assert notice["Bcc"] is None and "\n" not in str(notice["Subject"])
    assert str(notice["Subject"]) == "The contact email of Acme Bcc: spy@evil.example was changed"
    assert sorted(notice.keys()) == ["Content-Type", "Date", "From", "MIME-Version", "Message-ID",
                                     "Reply-To", "Subject", "To"]
