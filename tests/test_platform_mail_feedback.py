"""The platform's own mail (notices to an account's contact, opt-out links) never goes again where
it bounced hard or drew a complaint (P11), and that refusal never touches an account's audience."""
from __future__ import annotations

import json

import pytest

from chalicelib.adapters.sqs import enqueue
from chalicelib.cli import create_account_with_key
from chalicelib.domain.health import SUSPENSION_MAIL_KIND, suspension_notice
from chalicelib.domain.outbox import EmailJob
from chalicelib.domain.suppression import PLATFORM_MAIL_SCOPE
from chalicelib.resources import OUTBOX
from chalicelib.store.models import Suppression
from chalicelib.store.suppressions import is_suppressed, refuses_platform_mail
from tests.support.api import bearer
from tests.support.events import ses_event, sns_body, sqs_event
from tests.support.mail import recipients_of_sent, recorded_calls
from tests.support.queues import run_queues

OWNER = "owner@acme.example"
PROFILE = {"postal_address": "1 Main Street, Bucharest", "contact_email": OWNER,
           "sender_identity": "news@acme.example"}


@pytest.fixture
def owner_account(aws):
    return create_account_with_key("Acme Ltd", PROFILE)


def _queue_notice(account_id: str, recipient: str, message_id: str) -> None:
    mail = suspension_notice(recipient, "no-reply@tidings.example", "Acme Ltd", "complaints")
    enqueue(OUTBOX, EmailJob(message_id, account_id, SUSPENSION_MAIL_KIND, mail).to_dict())


def _feedback(client, document) -> None:
    result = client.lambda_.invoke("feedback_worker", sqs_event(sns_body(document)))
    assert result.payload == {"batchItemFailures": []}


def _tags_of_last_send(calls) -> dict[str, str]:
    return {tag["Name"]: tag["Value"] for tag in calls[-1]["EmailTags"]}


def test_p11_a_hard_bounce_of_a_platform_notice_stops_the_next_one_to_that_address(
        client, owner_account, monkeypatch):
    account_id = owner_account["account_id"]
    sends = recorded_calls(monkeypatch, "sesv2", "send_email")
    _queue_notice(account_id, OWNER, "msg_notice1")
    assert run_queues(client, ("outbox",)) == []
    assert recipients_of_sent() == [OWNER]
    # SES's bounce names the mail by the tags the sender set; its record was written when it went.
    _feedback(client, ses_event("event-bounce.json", OWNER, _tags_of_last_send(sends), sent=False,
                                bounceType="Permanent", bounceSubType="General"))

    _queue_notice(account_id, OWNER, "msg_notice2")
    _queue_notice(account_id, "other@acme.example", "msg_notice3")
    assert run_queues(client, ("outbox",)) == []
    assert sorted(recipients_of_sent()) == ["other@acme.example", OWNER], "the bounced address gets no more"


@pytest.mark.parametrize("sent", [True, False], ids=["record", "record-expired"])
def test_p11_a_complaint_about_a_platform_notice_stops_the_platforms_mail_there(
        client, owner_account, sent):
    account_id = owner_account["account_id"]
    _feedback(client, ses_event("event-complaint.json", OWNER,
                                {"account": account_id, "kind": SUSPENSION_MAIL_KIND,
                                 "message": "msg_notice1"}, sent=sent))
    assert refuses_platform_mail(OWNER)
    _only_keyed_hash()
    _queue_notice(account_id, OWNER, "msg_notice2")
    assert run_queues(client, ("outbox",)) == []
    assert recipients_of_sent() == []


def _only_keyed_hash() -> None:
    (entry,) = Suppression.query(PLATFORM_MAIL_SCOPE)
    assert entry.reason == "complained"
    assert "@" not in entry.address_hash and "owner" not in entry.address_hash


def test_p11_a_transient_bounce_of_a_platform_notice_stops_nothing(client, owner_account):
    account_id = owner_account["account_id"]
    _feedback(client, ses_event("event-bounce.json", OWNER,
                                {"account": account_id, "kind": SUSPENSION_MAIL_KIND, "message": "msg_n1"},
                                bounceType="Transient", bounceSubType="MailboxFull"))
    assert not refuses_platform_mail(OWNER)
    _queue_notice(account_id, OWNER, "msg_notice2")
    assert run_queues(client, ("outbox",)) == []
    assert recipients_of_sent() == [OWNER]


def test_p11_p28_the_platforms_refusal_does_not_touch_the_accounts_own_mail(client, owner_account):
    account_id, api = owner_account["account_id"], bearer(owner_account["api_key"])
    _feedback(client, ses_event("event-bounce.json", OWNER,
                                {"account": account_id, "kind": SUSPENSION_MAIL_KIND, "message": "msg_n1"},
                                bounceType="Permanent", bounceSubType="General"))
    assert refuses_platform_mail(OWNER) and not is_suppressed(account_id, OWNER)
    response = client.http.post("/v1/messages", headers=api, body=json.dumps(
        {"to": OWNER, "subject": "Your receipt", "text": "Thanks."}))
    assert response.status_code == 202, response.body
    assert run_queues(client, ("outbox",)) == []
    assert recipients_of_sent() == [OWNER], "the account's transactional mail still goes"


def test_p11_an_accounts_own_hard_bounce_does_not_stop_the_platforms_notices(client, owner_account):
    account_id = owner_account["account_id"]
    _feedback(client, ses_event("event-bounce.json", OWNER,
                                {"account": account_id, "kind": "transactional"},
                                bounceType="Permanent", bounceSubType="General"))
    assert is_suppressed(account_id, OWNER) and not refuses_platform_mail(OWNER)


def test_p11_p23_a_deletion_request_whose_confirmation_cannot_arrive_is_a_409_naming_contact_email(
        client, owner_account):
    account_id, api = owner_account["account_id"], bearer(owner_account["api_key"])
    _feedback(client, ses_event("event-complaint.json", OWNER,
                                {"account": account_id, "kind": SUSPENSION_MAIL_KIND, "message": "msg_n1"}))
    response = client.http.post("/v1/account/deletion", headers=api)
    assert response.status_code == 409
    error = json.loads(response.body)["error"]
    assert error["field"] == "contact_email" and "email-change" in error["message"]
    assert run_queues(client, ("outbox",)) == [] and recipients_of_sent() == []


def test_p11_p28_the_message_record_not_the_kind_tag_says_whether_it_was_the_platforms_mail(
        client, owner_account):
    from chalicelib.config import hash_key
    from chalicelib.domain.suppression import address_hash
    from chalicelib.store.messages import claim

    account_id = owner_account["account_id"]
    claim(address_hash(OWNER, hash_key()), "tx_1", account_id, "transactional")
    _feedback(client, ses_event("event-complaint.json", OWNER,
                                {"account": account_id, "kind": SUSPENSION_MAIL_KIND, "message": "tx_1"},
                                sent=False))
    assert is_suppressed(account_id, OWNER) and not refuses_platform_mail(OWNER)
