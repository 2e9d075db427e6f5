"""`POST /v1/messages`: one transactional email to one recipient, never to a bounced, complaining
or erased address, queued through the outbox like all mail (P11)."""
from __future__ import annotations

import json

import pytest

from chalicelib.config import hash_key
from chalicelib.domain.privacy import subject_from_text
from chalicelib.domain.suppression import SuppressionReason
from chalicelib.store.models import Account, MessageRecord
from chalicelib.store.suppressions import suppress
from tests.support.mail import parsed, recipients_of_sent, sent_raw
from tests.support.queues import run_queues, take


def _post(client, headers, **fields):
    body = {"to": "ann@example.com", "subject": "Your receipt", "text": "Thanks for your order.", **fields}
    return client.http.post("/v1/messages", headers=headers, body=json.dumps(body))


def _error(response) -> dict:
    return json.loads(response.body)["error"]


def test_p11_a_transactional_mail_goes_to_a_non_subscriber_through_the_outbox(client, account, headers):
    response = _post(client, headers, html="<p>Thanks for your order.</p>")
    assert response.status_code == 202, response.body
    message_id = json.loads(response.body)["message_id"]
    assert sent_raw() == [], "queued, not sent by the route"
    assert run_queues(client, ("outbox",)) == []
    assert recipients_of_sent() == ["ann@example.com"]
    message = parsed(sent_raw()[0])
    assert str(message["From"]) == "news@acme.example"
    assert message.get_body(("plain",)).get_content().strip() == "Thanks for your order."
    record = MessageRecord.get(subject_from_text("ann@example.com").keyed_hash(hash_key()), message_id)
    assert record.kind == "transactional"


def test_p11_an_array_of_recipients_is_refused(client, headers):
    response = _post(client, headers, to=["ann@example.com", "bob@example.com"])
    assert response.status_code == 400
    assert _error(response)["field"] == "to" and "exactly one" in _error(response)["message"]
    assert take("outbox") == []


@pytest.mark.parametrize("reason", [SuppressionReason.BOUNCED, SuppressionReason.COMPLAINED,
                                    SuppressionReason.ERASED])
def test_p11_a_bounced_complaining_or_erased_address_is_never_sent_to(client, account, headers, reason):
    suppress(account["account_id"], "ann@example.com", reason)
    response = _post(client, headers)
    assert response.status_code == 409
    assert _error(response)["field"] == "to" and reason.value in _error(response)["message"]
    assert take("outbox") == []


@pytest.mark.parametrize(("reason", "sent"), [(SuppressionReason.BOUNCED, []),
                                              (SuppressionReason.UNSUBSCRIBED, ["ann@example.com"])])
def test_p11_a_suppression_landing_after_the_request_is_checked_again_at_send_time(
        client, account, headers, reason, sent):
    assert _post(client, headers).status_code == 202
    suppress(account["account_id"], "ann@example.com", reason)
    assert run_queues(client, ("outbox",)) == []
    assert recipients_of_sent() == sent


def test_p12_a_person_who_opted_out_of_the_platform_gets_no_transactional_mail(client, headers):
    """P12: a platform-wide opt-out is from every client's mail, transactional mail included."""
    from chalicelib.domain.suppression import PLATFORM_SCOPE

    suppress(PLATFORM_SCOPE, "ann@example.com", SuppressionReason.PLATFORM_OPT_OUT)
    response = _post(client, headers)
    assert response.status_code == 409
    assert _error(response)["field"] == "to" and "platform_opt_out" in _error(response)["message"]
    assert take("outbox") == []


def test_p12_a_platform_opt_out_after_queueing_stops_the_mail_and_is_no_failure(client, headers):
    """P12: the opt-out is checked again when the mail goes; the account is not blamed for it."""
    from chalicelib.domain.suppression import PLATFORM_SCOPE

    assert _post(client, headers).status_code == 202
    suppress(PLATFORM_SCOPE, "ann@example.com", SuppressionReason.PLATFORM_OPT_OUT)
    assert run_queues(client, ("outbox",)) == []
    assert sent_raw() == []
    assert _health(client, headers)["failures"]["count"] == 0


def test_p11_an_unsubscribed_address_still_gets_transactional_mail(client, account, headers):
    suppress(account["account_id"], "ann@example.com", SuppressionReason.UNSUBSCRIBED)
    assert _post(client, headers).status_code == 202
    run_queues(client, ("outbox",))
    assert recipients_of_sent() == ["ann@example.com"]


def test_p35_the_from_address_must_be_an_identity_the_account_owns(client, headers):
    response = _post(client, headers, from_address="someone@elsewhere.example")
    assert response.status_code == 403 and _error(response)["field"] == "from_address"


def test_p26_a_suspended_account_cannot_send_transactional_mail(client, account, headers):
    Account(account_id=account["account_id"]).update(actions=[Account.status.set("suspended")])
    response = _post(client, headers)
    assert response.status_code == 403
    assert take("outbox") == []


def test_variables_fill_the_templates_and_are_escaped_in_html(client, headers):
    response = _post(client, headers, subject="Order {{ order }}", html="<p>Hi {{ name }}</p>", text=None,
                     variables={"order": "A-17", "name": "<b>Ann</b>"})
    assert response.status_code == 202, response.body
    run_queues(client, ("outbox",))
    message = parsed(sent_raw()[0])
    assert str(message["Subject"]) == "Order A-17"
    assert "&lt;b&gt;Ann&lt;/b&gt;" in message.get_body(("html",)).get_content()
    assert "Hi <b>Ann</b>" in message.get_body(("plain",)).get_content()


def test_an_unknown_variable_is_a_400_naming_the_part(client, headers):
    response = _post(client, headers, subject="Order {{ order }}", variables={"name": "Ann"})
    assert response.status_code == 400 and _error(response)["field"] == "subject"


def test_the_same_idempotency_key_sends_once(client, headers):
    keyed = {**headers, "Idempotency-Key": "order-17-receipt"}
    first = json.loads(_post(client, keyed).body)["message_id"]
    second = json.loads(_post(client, keyed).body)["message_id"]
    assert first == second
    run_queues(client, ("outbox",))
    assert recipients_of_sent() == ["ann@example.com"]


# --- queued size (P11: never a 5xx) -------------------------------------------------------------

def test_p11_a_large_non_latin_message_is_a_413_naming_html_and_nothing_is_queued(client, headers):
    """120,000 Cyrillic characters: inside the schema's 200,000 and the 256 KiB body, but some
    1.4 MB queued (each is a 6-byte JSON escape, and the text part is made from the HTML)."""
    response = client.http.post("/v1/messages", headers=headers, body=json.dumps(
        {"to": "ann@example.com", "subject": "Receipt", "html": "<p>" + "\u0416" * 120_000 + "</p>"},
        ensure_ascii=False))
    assert response.status_code == 413, response.body[:300]
    assert _error(response)["field"] == "html" and _error(response)["code"] == "payload_too_large"
    assert take("outbox") == []


def test_p11_a_large_non_latin_text_part_is_a_413_naming_text(client, headers):
    response = client.http.post("/v1/messages", headers=headers, body=json.dumps(
        {"to": "ann@example.com", "subject": "Receipt", "html": "<p>Thanks</p>", "text": "\u0416" * 50_000},
        ensure_ascii=False))
    assert response.status_code == 413 and _error(response)["field"] == "text"
    assert take("outbox") == []


def test_p11_a_message_just_within_the_queues_limit_is_queued_and_a_byte_more_is_refused():
    from chalicelib.domain.errors import PayloadTooLarge
    from chalicelib.domain.outbox import EmailJob, refuse_oversized
    from chalicelib.domain.outgoing import OutgoingEmail
    from chalicelib.domain.queue_size import QUEUE_MESSAGE_MAX_BYTES, json_bytes

    def job(text: str) -> EmailJob:
        return EmailJob("tx_1", "acc_1", "transactional",
                        OutgoingEmail(sender="a@acme.example", recipient="ann@example.com", subject="S",
                                      text=text, html="<p>S</p>"))

    room = QUEUE_MESSAGE_MAX_BYTES - json_bytes(job("").to_dict())
    refuse_oversized(job("x" * room))
    assert json_bytes(job("x" * room).to_dict()) == QUEUE_MESSAGE_MAX_BYTES
    with pytest.raises(PayloadTooLarge) as refused:
        refuse_oversized(job("x" * (room + 1)))
    assert refused.value.field == "text"


def test_p11_a_test_send_of_a_campaign_too_big_to_queue_is_a_413_naming_html(client, account, headers):
    from tests.support.lists import new_list

    list_id = new_list(client, headers, "News")
    created = client.http.post("/v1/campaigns", headers=headers, body=json.dumps(
        {"name": "Spring", "list_ids": [list_id], "subject": "Hi",
         "html": "<p>" + "\u0416" * 60_000 + "</p>"},
        ensure_ascii=False))
    assert created.status_code == 201, created.body[:300]
    campaign = json.loads(created.body)
    response = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/test", headers=headers,
                                body=json.dumps({"addresses": ["me@acme.example", "you@acme.example"]}))
    assert response.status_code == 413 and _error(response)["field"] == "html", response.body[:300]
    assert take("outbox") == []


# --- Idempotency-Key (P11: never a silent success) -------------------------------------------------

def _keyed(headers, key="user-42"):
    return {**headers, "Idempotency-Key": key}


def test_p11_an_idempotency_key_reused_for_another_message_is_a_422_naming_the_key(client, headers):
    first = _post(client, _keyed(headers), subject="Reset your password", text="Your code is 1234.")
    assert first.status_code == 202, first.body
    for change in ({"text": "Your code is 5678."}, {"to": "bob@example.com"},
                   {"reply_to": "help@acme.example"}, {"variables": {"n": 1}}):
        fields = {"subject": "Reset your password", "text": "Your code is 1234.", **change}
        reused = _post(client, _keyed(headers), **fields)
        assert reused.status_code == 422, (change, reused.body)
        assert _error(reused)["field"] == "Idempotency-Key" and _error(reused)["code"] == "unprocessable"
    run_queues(client, ("outbox",))
    assert [str(parsed(raw)["Subject"]) for raw in sent_raw()] == ["Reset your password"]


def test_p11_the_same_request_with_its_key_gets_the_same_answer_and_one_mail(client, headers):
    answers = [_post(client, _keyed(headers), to=to, subject="Receipt")
               for to in ("ann@example.com", "Ann@Example.com")]
    assert [a.status_code for a in answers] == [202, 202]
    assert json.loads(answers[0].body) == json.loads(answers[1].body)
    run_queues(client, ("outbox",))
    assert recipients_of_sent() == ["ann@example.com"]


def test_p11_p28_another_accounts_same_key_names_its_own_message(client, account, headers):
    from chalicelib.cli import create_account_with_key
    from tests.support.api import bearer

    other = create_account_with_key("Other", {"sender_identity": "news@other.example"})
    ours = _post(client, _keyed(headers), subject="Ours")
    theirs = _post(client, _keyed(bearer(other["api_key"])), subject="Theirs")
    assert (ours.status_code, theirs.status_code) == (202, 202), theirs.body
    assert json.loads(ours.body)["message_id"] != json.loads(theirs.body)["message_id"]


def test_p11_a_key_lapses_after_its_window_and_then_names_a_new_message_that_is_sent(client, headers):
    from datetime import UTC, datetime

    import time_machine

    from chalicelib.domain.transactional import IDEMPOTENCY_WINDOW

    start = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        first = _post(client, _keyed(headers), subject="First")
    with time_machine.travel(start + IDEMPOTENCY_WINDOW - _SECOND, tick=False):
        assert _post(client, _keyed(headers), subject="Second").status_code == 422
    with time_machine.travel(start + IDEMPOTENCY_WINDOW, tick=False):
        second = _post(client, _keyed(headers), subject="Second")
        again = _post(client, _keyed(headers), subject="First")
    assert (first.status_code, second.status_code) == (202, 202)
    assert json.loads(second.body)["message_id"] != json.loads(first.body)["message_id"]
    assert again.status_code == 422, "the key is held for its new request now"
    run_queues(client, ("outbox",))
    assert sorted(str(parsed(raw)["Subject"]) for raw in sent_raw()) == ["First", "Second"]


def test_p11_a_refused_request_does_not_take_its_key(client, headers):
    too_big = client.http.post("/v1/messages", headers=_keyed(headers), body=json.dumps(
        {"to": "ann@example.com", "subject": "Receipt", "text": "\u0416" * 50_000}, ensure_ascii=False))
    assert too_big.status_code == 413 and _error(too_big)["field"] == "text"
    assert _post(client, _keyed(headers), subject="Receipt").status_code == 202


@pytest.mark.parametrize("key", ["user\u202842", "user\u000042", "user\u008542", "user\n42", "k" * 201])
def test_p11_an_unprintable_or_huge_idempotency_key_is_a_400_naming_it(client, headers, key):
    response = _post(client, _keyed(headers, key))
    assert response.status_code == 400 and _error(response)["field"] == "Idempotency-Key"
    assert take("outbox") == []


def test_p11_a_key_of_200_printable_characters_is_taken(client, headers):
    assert _post(client, _keyed(headers, "k" * 199 + "\u00e9")).status_code == 202


def test_p11_p31_the_held_key_keeps_no_contact_data_nor_the_key_itself(client, headers):
    from chalicelib.store.models import IdempotencyKey

    assert _post(client, _keyed(headers, "ann@example.com"), subject="Code 1234").status_code == 202
    (held,) = list(IdempotencyKey.scan())
    stored = json.dumps(held.to_simple_dict())
    assert "ann@example.com" not in stored and "1234" not in stored and "ann" not in stored


_SECOND = __import__("datetime").timedelta(seconds=1)


# --- checked again when the queued mail is sent ---------------------------------------------------

def _health(client, headers) -> dict:
    return json.loads(client.http.get("/v1/account/health", headers=headers).body)


def test_p26_a_transactional_mail_queued_before_a_suspension_is_not_sent(client, account, headers):
    assert _post(client, headers).status_code == 202
    Account(account_id=account["account_id"]).update(actions=[Account.status.set("suspended")])
    assert run_queues(client, ("outbox",)) == []
    assert sent_raw() == []
    failures = _health(client, headers)["failures"]
    assert failures["count"] == 1 and "suspended" in failures["latest"]


def test_p23_a_transactional_mail_queued_before_its_account_was_deleted_is_not_sent(client, account, headers):
    from chalicelib.store.models import AccountHealthDay

    assert _post(client, headers).status_code == 202
    Account(account_id=account["account_id"]).delete()
    assert run_queues(client, ("outbox",)) == []
    assert sent_raw() == []
    assert list(AccountHealthDay.query(account["account_id"])) == [], "nothing kept for a deleted account"


def test_p35_a_transactional_mail_queued_before_its_identity_went_to_another_account_is_not_sent(
        client, account, headers):
    from chalicelib.cli import create_account_with_key

    assert _post(client, headers, from_address="shop@acme.example").status_code == 202
    assert client.http.delete("/v1/senders/acme.example", headers=headers).status_code == 204
    create_account_with_key("Other Ltd", {"sender_identity": "shop@acme.example"})
    assert run_queues(client, ("outbox",)) == []
    assert sent_raw() == []
    failures = _health(client, headers)["failures"]
    assert failures["count"] == 1 and "P35" in failures["latest"]


def test_p35_a_queued_transactional_mail_from_an_identity_ses_no_longer_verifies_is_not_sent(
        client, account, headers, monkeypatch):
    """P35: the send worker's re-check is check_sender's (SES's verification too), not only the
    claim: acme.example is still the account's, but SES says FAILED by the time the job runs."""
    from chalicelib.services.sending import sender_ownership
    from tests.support.mail import set_ses_status

    monkeypatch.setattr(sender_ownership, "_owned_at", {})
    assert _post(client, headers, from_address="shop@acme.example").status_code == 202
    set_ses_status("acme.example", "FAILED")
    run_queues(client, ("outbox",))
    assert sent_raw() == []
    failures = _health(client, headers)["failures"]
    assert failures["count"] == 1 and "P35" in failures["latest"]


def test_p35_a_queued_transactional_mail_from_an_identity_the_account_still_owns_is_sent(
        client, account, headers):
    assert _post(client, headers, from_address="news@acme.example").status_code == 202
    # The domain goes, the address itself stays the account's.
    assert client.http.delete("/v1/senders/acme.example", headers=headers).status_code == 204
    run_queues(client, ("outbox",))
    assert recipients_of_sent() == ["ann@example.com"]


def test_p11_a_subject_that_renders_past_one_header_line_is_a_400_naming_subject(client, headers):
    """Fifty variables of 5,000 characters make a subject of 250,000: the email package folds
    such a header in seconds to minutes, in the send worker, for a mail that then fails. The
    request is refused instead, naming the subject."""
    variables = {f"v{index}": "ăb " * 1_600 for index in range(12)}
    subject = "".join(f"{{{{ v{index} }}}}" for index in range(12))
    response = _post(client, headers, subject=subject, variables=variables)
    assert response.status_code == 400, response.body
    assert _error(response)["field"] == "subject"
    assert take("outbox") == []


def test_p11_a_subject_of_998_characters_is_sent(client, headers):
    response = _post(client, headers, subject="{{ s }}", variables={"s": "ă" * 998})
    assert response.status_code == 202, response.body


# --- encoded-words: text a mail program decodes, which no check saw ------------------------------

# "admin@bank.example" then a NUL: decoded, the From name reads as another address (the Mailsploit
# spoofs); the same trick carries a CR/LF or U+2028 past check_header_text.
_SPOOFED_NAME = "=?utf-8?b?YWRtaW5AYmFuay5leGFtcGxl?==?utf-8?Q?=00?="


@pytest.mark.parametrize("from_name", [_SPOOFED_NAME, "Shop =?UTF-8?q?=E2=80=A8Bcc:_x?= team"])
def test_p35_an_encoded_word_in_the_from_name_is_a_400_naming_it(client, headers, from_name):
    """P35: the From name is shown by the recipient's mail program decoded; an encoded-word in it
    could show another sender's address, or a line break the header check refuses as text."""
    response = _post(client, headers, from_name=from_name)
    assert response.status_code == 400, response.body
    assert _error(response)["field"] == "from_name"
    assert take("outbox") == []


@pytest.mark.parametrize("fields", [
    {"subject": "=?utf-8?q?Hi=0D=0ABcc:_x@y.example?="},
    {"subject": "Order {{ order }}", "variables": {"order": "=?utf-8?b?4oCo?= 17"}},
    {"subject": "Order {{ '=?utf-8?' }}Q{{ '?=0A?=' }}", "variables": {}},
])
def test_an_encoded_word_in_the_subject_written_or_rendered_is_a_400_naming_it(client, headers, fields):
    """Hostile input: a subject that is, or renders to, an encoded-word of a CR/LF or U+2028 would
    reach the recipient as the line break one_line took out of the text."""
    response = _post(client, headers, **fields)
    assert response.status_code == 400, response.body
    assert _error(response)["field"] == "subject"
    assert take("outbox") == []


def test_text_that_only_looks_like_an_encoded_word_goes_as_written(client, headers):
    response = _post(client, headers, subject="Why =? and ?= in a subject", from_name="Shop =?= team")
    assert response.status_code == 202, response.body
    run_queues(client, ("outbox",))
    message = parsed(sent_raw()[0])
    assert str(message["Subject"]) == "Why =? and ?= in a subject"
    assert message["From"].addresses[0].display_name == "Shop =?= team"


@pytest.mark.parametrize("from_name", ["security@paypal.example", "PayPal <security@paypal.example>",
                                       "billing\u200b@bank.example", "Bank (alerts\uff20bank.example)"])
def test_p35_a_from_name_showing_an_address_is_a_400_naming_it(client, headers, from_name):
    """P35: many mail programs show only the From name; one holding an address, even with an
    invisible character or a full-width at sign, shows a sender the account does not own."""
    response = _post(client, headers, from_name=from_name)
    assert response.status_code == 400, response.body
    assert _error(response)["field"] == "from_name" and "address" in _error(response)["message"]
    assert take("outbox") == []


def test_p35_a_from_name_with_an_at_sign_but_no_address_is_sent(client, headers):
    response = _post(client, headers, from_name="Acme @ the market, +40 712 345 678")
    assert response.status_code == 202, response.body
    run_queues(client, ("outbox",))
    assert parsed(sent_raw()[0])["From"].addresses[0].display_name == "Acme @ the market, +40 712 345 678"


@pytest.mark.parametrize(("name", "template"), [("true", "{{ true }}"), ("self", "{{ self }}"),
                                                ("None", "{{ None }}"),
                                                ("loop", "{% for x in [1] %}{{ loop }}{% endfor %}")])
def test_a_variable_the_template_language_names_itself_is_a_400_naming_it(client, headers, name, template):
    """Never a silent success: Jinja's own `true`, `self`, `loop`... win over a variable of that
    name, so the mail would show "True" or "<TemplateReference None>" where the value was asked."""
    response = _post(client, headers, text=template, variables={name: "order 17"})
    assert response.status_code == 400, response.body
    assert _error(response)["field"] == f"variables.{name}"
    assert take("outbox") == []
