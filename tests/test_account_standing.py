"""What a suspended (P26 automatically, P33 by the operator), cancelled (P33) or deletion-marked
(P23) account's public surfaces accept: its lists take no signups, mail no confirmation and
complete no pending confirmation (or signup back, or phone code, or tracking consent), and the
pages say so without a word about the address (P05) or the account's reason; unsubscribing,
withdrawing tracking consent and the person's data requests always work (P07, P12, P16, P18,
P30). Reinstated, the account takes signups again, with the links already mailed."""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.config import signer
from chalicelib.domain.mail_links import PREFERENCES, UNSUBSCRIBE, LinkClaim, link_token
from chalicelib.store.models import Account, Subscriber
from tests.support.api import FORM, bearer
from tests.support.lists import new_list, stored, subscribe
from tests.support.mail import confirm_path, sent_mails, sent_sms
from tests.support.queues import deliver, take
from tests.support.signups import form_signup, js_signup

ANN = "ann@example.com"
PHONE = "+40712345678"
CLOSED = b"not taking signups"
REASON = "too many complaints"
STATES = ["suspended_automatically", "suspended_by_operator", "cancelled", "marked_for_deletion"]
# The states an account comes back from (a cancellation is final, P33).
REVERSIBLE = ["suspended_automatically", "suspended_by_operator", "marked_for_deletion"]


@pytest.mark.parametrize(("status", "deletion_state", "takes"), [
    ("active", None, True),
    ("suspended", None, False),
    ("cancelled", None, False),
    ("content_erased", None, False),
    ("active", "scheduled", False),
    ("suspended", "scheduled", False),
    ("cancelled", "scheduled", False),
])
def test_p26_p33_p23_only_an_active_account_not_marked_for_deletion_takes_signups(
        status, deletion_state, takes):
    from types import SimpleNamespace

    from chalicelib.domain.errors import Conflict
    from chalicelib.domain.health import refuse_unless_taking_signups, takes_signups

    account = SimpleNamespace(status=status, deletion_state=deletion_state)
    assert takes_signups(account) is takes
    if takes:
        refuse_unless_taking_signups(account)
    else:
        with pytest.raises(Conflict) as refused:
            refuse_unless_taking_signups(account)
        assert refused.value.status == 409 and refused.value.field == "list_id"
        assert refused.value.message == "this list is not taking signups at the moment"


def close(account_id: str, how: str) -> None:
    """Put the account in the state `how`, as the platform does, and drop the notices it mails."""
    from chalicelib.services.health import cancel_by_operator, suspend_by_operator
    from chalicelib.store import account_lifecycle
    from chalicelib.store import health as health_store

    if how == "suspended_automatically":
        assert health_store.suspend(account_id, f"complaint rate 0.50%: {REASON}") is not None
    elif how == "suspended_by_operator":
        suspend_by_operator(account_id, REASON)
    elif how == "cancelled":
        cancel_by_operator(account_id, REASON)
    else:
        account_lifecycle.set_deletion_nonce(account_id, "nonce")
        assert account_lifecycle.schedule_deletion(account_id, "nonce") is not None
    take("outbox")


def reopen(account_id: str, how: str) -> None:
    """Lift the suspension, or reactivate the account marked for deletion."""
    from chalicelib.services.account_lifecycle import reactivate
    from chalicelib.services.health import unsuspend

    if how == "marked_for_deletion":
        reactivate(account_id, "test")
    else:
        unsuspend(account_id)


def _mailed_link(client: Any, list_id: str, address: str = ANN) -> str:
    form_signup(client, list_id, email=address)
    deliver(take("outbox"))
    (mail,) = [mail for mail in sent_mails() if str(mail["To"]) == address]
    return confirm_path(mail)


def _says_closed(response: Any) -> None:
    """The answer of a closed account's page: 409, the list takes no signups now, nothing about
    the address or the account's reason, never a 5xx."""
    assert response.status_code == 409, (response.status_code, response.body)
    assert CLOSED in response.body
    assert ANN.encode() not in response.body and REASON.encode() not in response.body


@pytest.mark.parametrize("how", STATES)
def test_p26_p33_p23_p01_a_pending_signup_is_not_confirmed_while_the_account_takes_no_signups(
        client, account, news_list, how):
    list_id = news_list["list_id"]
    link = _mailed_link(client, list_id)
    close(account["account_id"], how)
    page = client.http.get(link)
    _says_closed(page)
    assert b"<form" not in page.body, "no confirm button"
    _says_closed(client.http.post(link, headers=FORM))
    assert stored(list_id, ANN).status == "pending"


@pytest.mark.parametrize("how", REVERSIBLE)
def test_p26_p23_reinstated_the_account_confirms_the_link_it_mailed_before(client, account, news_list, how):
    list_id = news_list["list_id"]
    link = _mailed_link(client, list_id)
    close(account["account_id"], how)
    _says_closed(client.http.post(link, headers=FORM))
    reopen(account["account_id"], how)
    assert client.http.get(link).status_code == 200
    assert client.http.post(link, headers=FORM).status_code == 200
    assert stored(list_id, ANN).status == "confirmed"


@pytest.mark.parametrize("how", ["suspended_by_operator", "marked_for_deletion"])
def test_p12_p26_a_signup_back_is_not_confirmed_while_the_account_takes_no_signups(
        client, account, news_list, how):
    """A person who unsubscribed signs up again: their signup back waits beside the ended entry
    (store/returning.py); its link confirms nothing while the account is closed, and does again
    once it is reinstated."""
    from chalicelib.domain.suppression import SuppressionReason
    from chalicelib.store.suppressions import suppress

    list_id = news_list["list_id"]
    subscribe(account["account_id"], list_id, ANN, status="unsubscribed")
    suppress(account["account_id"], ANN, SuppressionReason.UNSUBSCRIBED)
    link = _mailed_link(client, list_id)
    close(account["account_id"], how)
    _says_closed(client.http.get(link))
    _says_closed(client.http.post(link, headers=FORM))
    assert stored(list_id, ANN).status == "unsubscribed"
    reopen(account["account_id"], how)
    assert client.http.post(link, headers=FORM).status_code == 200
    assert stored(list_id, ANN).status == "confirmed"


def test_p23_an_account_marked_for_deletion_takes_no_signups_until_reactivated(client, account, news_list):
    """Suspended and cancelled accounts already refuse these (test_suspension.py); an account
    marked for deletion takes no new people either: they and their consent would be deleted with
    it within 30 days. Reactivated, its forms work again."""
    list_id = news_list["list_id"]
    api = bearer(account["api_key"])
    form_signup(client, list_id, email="dan@example.com")  # queued before: waits for its mail
    take("outbox")
    close(account["account_id"], "marked_for_deletion")
    _says_closed(client.http.get(f"/f/{list_id}"))
    _says_closed(client.http.post("/c/resend", headers=FORM,
                                  body=urlencode({"list_id": list_id, "email": "dan@example.com"})))
    form_signup(client, list_id, email=ANN)
    js_signup(client, list_id, {"email": "bob@example.com", "consent": True})
    added = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=api,
                             body=json.dumps({"email": "eve@example.com"}))
    assert added.status_code == 409, added.body
    imported = client.http.post(f"/v1/lists/{list_id}/imports", headers={**api, "Content-Type": "text/csv"},
                                body=b"email\nfay@example.com\n")
    assert imported.status_code == 409, imported.body
    assert {entry.address for entry in Subscriber.query(list_id)} == {"dan@example.com"}
    assert take("outbox") == [] and take("imports") == []
    reopen(account["account_id"], "marked_for_deletion")
    assert client.http.get(f"/f/{list_id}").status_code == 200
    form_signup(client, list_id, email=ANN)
    assert len(take("outbox")) == 1, "the confirmation mail"


@pytest.mark.parametrize("how", [None, "marked_for_deletion"])
def test_p23_a_resend_queued_before_the_deletion_mark_mails_nothing(client, account, news_list, how):
    """The request was taken while the account took signups; the worker applies it after the
    mark: no mail (and, unmarked, the same request mails the link again)."""
    from datetime import UTC, datetime, timedelta

    import time_machine

    from chalicelib.services.signups import resend_confirmation
    from tests.support.queues import apply_queued_signups

    list_id = news_list["list_id"]
    form_signup(client, list_id, email=ANN)
    take("outbox")
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11)):  # past the per-address limit
        resend_confirmation(list_id, ANN, "192.0.2.1")
        if how:
            close(account["account_id"], how)
        apply_queued_signups()
        assert len(take("outbox")) == (0 if how else 1)


@pytest.mark.parametrize("how", STATES)
def test_p26_p33_p23_p01_a_confirmation_queued_before_the_account_closed_is_not_sent(
        client, account, news_list, how, app_logs):
    """Its link would answer 409 (takes_signups): the send worker drops the mail it finds queued
    for an account that takes no signups now, acknowledged (never retried), queued again for
    nobody, logged without the address."""
    from datetime import date

    from chalicelib.store.health import failures_since
    from tests.support.events import sqs_event

    list_id = news_list["list_id"]
    form_signup(client, list_id, email=ANN)
    queued = take("outbox")
    assert len(queued) == 1
    close(account["account_id"], how)
    result = client.lambda_.invoke("send_worker", sqs_event(*queued)).payload
    assert result == {"batchItemFailures": []}, "dropped, not retried"
    assert sent_mails() == [] and take("outbox") == []
    assert "email not sent" in app_logs.getvalue() and ANN not in app_logs.getvalue()
    # A mail the account may not send (P26) is a failure on its health; one a leaving account's
    # signup no longer needs is not (none would have been queued after the mark).
    failed, _ = failures_since(account["account_id"], date(2000, 1, 1))
    assert failed == (0 if how == "marked_for_deletion" else 1)


def test_p23_p11_an_account_marked_for_deletion_still_sends_its_transactional_mail(client, account, headers):
    """Only what a signup's link needs stops at the mark: the account may still mail the people
    it has (domain/health.takes_signups), and a reply to their own action still goes (P11)."""
    queued = client.http.post("/v1/messages", headers=headers, body=json.dumps(
        {"to": ANN, "subject": "Receipt", "text": "Thanks", "from_address": "news@acme.example"}))
    assert queued.status_code == 202, queued.body
    records = take("outbox")
    close(account["account_id"], "marked_for_deletion")
    deliver(records)
    assert [str(mail["To"]) for mail in sent_mails()] == [ANN]


def _prefs(account: dict[str, Any], list_id: str, address: str = ANN) -> str:
    return link_token(signer(), PREFERENCES, LinkClaim(account["account_id"], list_id, address, None))


def _press(client: Any, token: str, action: str, **fields: str) -> Any:
    """A preference-centre button, with the page's fresh nonce."""
    page = client.http.get(f"/p/{token}").body.decode()
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    return client.http.post(f"/p/{token}/{action}", headers=FORM, body=urlencode({"nonce": nonce, **fields}))


@pytest.mark.parametrize("how", STATES)
def test_p01_p26_no_phone_code_is_texted_or_taken_while_the_account_takes_no_signups(
        client, account, news_list, how):
    """Confirming a number is the SMS signup (P01): a closed account texts no code (its sending
    is stopped, P26) and takes none sent before."""
    list_id = news_list["list_id"]
    subscribe(account["account_id"], list_id, ANN, phone=PHONE, phone_confirmed=False)
    token = _prefs(account, list_id)
    assert _press(client, token, "phone/code", list_id=list_id).status_code == 200
    (_, text), = sent_sms()
    code = text.split()[0]
    close(account["account_id"], how)
    _says_closed(_press(client, token, "phone/confirm", list_id=list_id, code=code))
    assert stored(list_id, ANN).phone_consent.confirmed_at is None
    _says_closed(_press(client, token, "phone/code", list_id=list_id))
    assert len(sent_sms()) == 1, "no second code"
    if how in REVERSIBLE:
        reopen(account["account_id"], how)
        assert _press(client, token, "phone/confirm", list_id=list_id, code=code).status_code == 200
        assert stored(list_id, ANN).phone_consent.confirmed_at is not None


@pytest.mark.parametrize("how", STATES)
def test_p30_p26_tracking_consent_is_not_given_but_always_withdrawn_while_the_account_is_closed(
        client, account, how):
    api = bearer(account["api_key"])
    list_id = new_list(client, api, "Tracked", tracking={"opens": True, "clicks": True})
    subscribe(account["account_id"], list_id, ANN, tracking=False)
    token = _prefs(account, list_id)
    close(account["account_id"], how)
    _says_closed(_press(client, token, "tracking", list_id=list_id, choice="give", tracking_version="1"))
    assert (stored(list_id, ANN).tracking is None or stored(list_id, ANN).tracking.given_at is None)
    assert _press(client, token, "tracking", list_id=list_id, choice="withdraw").status_code == 200


@pytest.mark.parametrize("how", STATES)
def test_p07_p16_p17_p18_unsubscribing_and_the_persons_requests_always_work(client, account, news_list, how):
    """Whatever the account's standing: the one-click unsubscribe, the preference centre's
    export, edit, unsubscribe and erasure."""
    list_id = news_list["list_id"]
    for address in (ANN, "bob@example.com"):
        subscribe(account["account_id"], list_id, address)
    close(account["account_id"], how)
    unsubscribe = link_token(signer(), UNSUBSCRIBE, LinkClaim(account["account_id"], list_id, ANN, None))
    one_click = client.http.post(f"/u/{unsubscribe}", headers=FORM, body="List-Unsubscribe=One-Click")
    assert one_click.status_code == 200, one_click.body
    assert stored(list_id, ANN).status == "unsubscribed"
    token = _prefs(account, list_id, "bob@example.com")
    assert _press(client, token, "export").status_code == 200
    assert _press(client, token, "edit", name="Bob Person").status_code == 200
    assert _press(client, token, "unsubscribe", list_id=list_id).status_code == 200
    assert stored(list_id, "bob@example.com").status == "unsubscribed"
    assert _press(client, token, "erase").status_code == 200
    assert Account.get(account["account_id"]) is not None
    assert stored(list_id, "bob@example.com") is None


def test_p32_p26_a_romanian_lists_closed_confirm_page_is_in_romanian(client, account):
    list_id = new_list(client, bearer(account["api_key"]), "Știri", language="ro")
    link = _mailed_link(client, list_id)
    close(account["account_id"], "suspended_by_operator")
    for response in (client.http.get(link), client.http.post(link, headers=FORM)):
        assert response.status_code == 409
        page = response.body.decode()
        assert "această listă nu primește abonări în acest moment" in page
        assert "Nu s-a schimbat nimic." in page and "Această abonare nu poate fi confirmată" in page
        assert 'lang="ro"' in page
