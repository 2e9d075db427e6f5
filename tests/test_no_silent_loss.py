"""No silent loss (issue #12, item 4): header-bound fields are one line at save time, a mail that
cannot be built or sent ends its campaign `failed` with counts and a reason, and a campaign with
no live list is not "sent" to nobody."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.api import bearer
from tests.support.campaigns import create_campaign
from tests.support.lists import new_list, subscribe
from tests.support.queues import run_queues

BREAKS = ["\u2028", "\u2029", "\x85", "\r\n", "\n", "\x0b", "\x00", "\x1c"]


def _error(response: Any) -> dict[str, Any]:
    return json.loads(response.body)["error"]


@pytest.mark.parametrize("character", BREAKS)
def test_p08_header_fields_refuse_line_breaks_and_controls_on_every_save_path(client, account, headers,
                                                                           character):
    list_id = new_list(client, headers)
    value = f"Acme{character}Bcc: victim@example.com"
    campaign = {"name": "c", "list_ids": [list_id], "subject": "Hi", "html": "<p>Hi</p>"}
    for field in ("from_name", "subject"):
        response = client.http.post("/v1/campaigns", headers=headers,
                                    body=json.dumps({**campaign, field: value}))
        assert response.status_code == 400 and _error(response)["field"] == field, (field, response.body)
    draft = create_campaign(client, headers, [list_id])
    patched = client.http.patch(f"/v1/campaigns/{draft['campaign_id']}", headers=headers,
                                body=json.dumps({"from_name": value}))
    assert patched.status_code == 400 and _error(patched)["field"] == "from_name"
    for path, body in (("/v1/lists", {"name": value, "consent_text": "Yes"}),):
        response = client.http.post(path, headers=headers, body=json.dumps(body))
        assert response.status_code == 400 and _error(response)["field"] == "name"
    renamed = client.http.patch(f"/v1/lists/{list_id}", headers=headers, body=json.dumps({"name": value}))
    assert renamed.status_code == 400 and _error(renamed)["field"] == "name"
    account_name = client.http.patch("/v1/account", headers=headers, body=json.dumps({"name": value}))
    assert account_name.status_code == 400 and _error(account_name)["field"] == "name"
    for field in ("from_name", "subject"):
        message = {"to": "ann@example.com", "subject": "Hi", "text": "Hi", field: value}
        response = client.http.post("/v1/messages", headers=headers, body=json.dumps(message))
        assert response.status_code == 400 and _error(response)["field"] == field


def test_p08_a_plain_unicode_name_is_still_fine(client, headers):
    list_id = new_list(client, headers, "Știri și oferte — ünïcödé")
    created = create_campaign(client, headers, [list_id], from_name="Ana Popescu · Acme")
    assert created["from_name"] == "Ana Popescu · Acme"


def test_a_subscriber_name_with_line_breaks_still_gets_a_one_line_subject(client, account, headers):
    from tests.support.mail import sent_mails

    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, "ann@example.com", name="Ann\u2028Bcc: x@example.com")
    campaign = create_campaign(client, headers, [list_id], subject="Hi {{ name }}")
    client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers)
    run_queues(client)
    (mail,) = sent_mails()
    assert "\n" not in str(mail["Subject"]) and mail["Bcc"] is None


def test_a_campaign_whose_mails_ses_refuses_ends_failed_with_counts_and_a_reason(client, account, headers):
    from chalicelib.clients import client as aws_client

    list_id = new_list(client, headers)
    for email in ("ann@example.com", "bob@example.com"):
        subscribe(account["account_id"], list_id, email)
    campaign = create_campaign(client, headers, [list_id], from_address="offers@acme.example")
    started = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers)
    assert started.status_code == 202
    # SES stops taking the From after the start (its identity was deleted in SES by hand).
    aws_client("sesv2").delete_email_identity(EmailIdentity="acme.example")
    aws_client("sesv2").delete_email_identity(EmailIdentity="news@acme.example")
    assert run_queues(client) == []  # nothing left for redelivery: the failure is on record
    shown = json.loads(client.http.get(f"/v1/campaigns/{campaign['campaign_id']}", headers=headers).body)
    assert shown["status"] == "failed"
    assert shown["failure"]["failed"] == 2 and "MessageRejected" in shown["failure"]["reason"]
    report = json.loads(client.http.get(f"/v1/campaigns/{campaign['campaign_id']}/report",
                                        headers=headers).body)
    assert report["status"] == "failed" and report["failed"] == 2 and report["sent"] == 0


def test_a_batch_still_failing_on_its_last_receive_ends_the_campaign_failed(client, account, headers,
                                                                            monkeypatch):
    from botocore.exceptions import ClientError

    from chalicelib.services.sending import batches
    from tests.support.queues import take

    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, "ann@example.com")
    campaign = create_campaign(client, headers, [list_id])
    client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers)
    run_queues(client, ("fanout",))

    def unavailable(*args: Any, **kwargs: Any) -> str:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try later"}}, "SendEmail")

    monkeypatch.setattr(batches, "send_raw_email", unavailable)
    (job,) = take("campaign-send")
    from tests.support.events import sqs_event

    event = sqs_event(job)
    failed = client.lambda_.invoke("campaign_send_worker", event).payload["batchItemFailures"]
    assert failed, "an early attempt goes back to SQS"
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"
    assert client.lambda_.invoke("campaign_send_worker", event).payload == {"batchItemFailures": []}
    shown = json.loads(client.http.get(f"/v1/campaigns/{campaign['campaign_id']}", headers=headers).body)
    assert shown["status"] == "failed" and "ServiceUnavailable" in shown["failure"]["reason"]


def test_a_fan_out_page_still_failing_on_its_last_receive_ends_the_campaign_failed(client, account, headers,
                                                                                   monkeypatch):
    """A page that cannot be read went to the dead-letter queue and left the campaign `sending`
    for good, the rest of its list never mailed and nothing saying so. On its last receive the
    page closes its list and the campaign ends failed, naming the list."""
    from botocore.exceptions import ClientError

    from chalicelib.services.sending import fanout
    from tests.support.events import sqs_event
    from tests.support.queues import take

    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, "ann@example.com")
    campaign = create_campaign(client, headers, [list_id])
    client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers)

    def unreadable(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "try later"}}, "Query")

    monkeypatch.setattr(fanout, "confirmed_page", unreadable)
    (job,) = take("fanout")
    event = sqs_event(job)
    assert client.lambda_.invoke("fanout_worker", event).payload["batchItemFailures"], \
        "an early attempt goes back to SQS"
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"
    assert client.lambda_.invoke("fanout_worker", event).payload == {"batchItemFailures": []}
    shown = json.loads(client.http.get(f"/v1/campaigns/{campaign['campaign_id']}", headers=headers).body)
    assert shown["status"] == "failed"
    assert list_id in shown["failure"]["reason"] and "InternalServerError" in shown["failure"]["reason"]


def test_p12_a_batch_whose_opt_outs_cannot_be_read_mails_nobody_and_ends_failed_on_its_last_receive(
        client, account, headers, monkeypatch):
    from chalicelib.store.models import Suppression
    from tests.support.events import sqs_event
    from tests.support.faults import unreadable_table
    from tests.support.mail import sent_mails
    from tests.support.queues import take

    list_id = new_list(client, headers)
    for email in ("ann@example.com", "bob@example.com"):
        subscribe(account["account_id"], list_id, email)
    campaign = create_campaign(client, headers, [list_id])
    client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers)
    run_queues(client, ("fanout",))

    unreadable_table(monkeypatch, Suppression)
    (job,) = take("campaign-send")
    event = sqs_event(job)
    assert client.lambda_.invoke("campaign_send_worker", event).payload["batchItemFailures"], \
        "an early attempt goes back to SQS"
    shown = json.loads(client.http.get(f"/v1/campaigns/{campaign['campaign_id']}", headers=headers).body)
    assert shown["status"] == "sending"
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"
    assert client.lambda_.invoke("campaign_send_worker", event).payload == {"batchItemFailures": []}
    assert sent_mails() == [], "nobody is mailed unchecked"
    shown = json.loads(client.http.get(f"/v1/campaigns/{campaign['campaign_id']}", headers=headers).body)
    assert shown["status"] == "failed", "never stuck `sending` once the job is dead-lettered"
    assert shown["failure"]["failed"] == 2
    assert "ProvisionedThroughputExceededException" in shown["failure"]["reason"]


def test_p13_p26_mail_an_earlier_delivery_sent_counts_sent_not_failed_when_the_last_receive_cannot_read(
        client, account, headers, monkeypatch):
    """The batch mails Ann, Bob and Cat, then its count fails, so SQS redelivers it; on its last
    receive the opt-out read is throttled too. All three got the mail: they count as sent (P13,
    and in the account's volume, P26), none as failed."""
    from chalicelib.store.campaign_stats import campaign_counters
    from chalicelib.store.models import CampaignStat, Suppression
    from tests.support.events import sqs_event
    from tests.support.faults import fail_first_write_to, unreadable_table
    from tests.support.mail import recipients_of_sent
    from tests.support.queues import take
    from tests.test_campaign_send import _account_sent

    list_id = new_list(client, headers)
    for name in ("ann", "bob", "cat"):
        subscribe(account["account_id"], list_id, f"{name}@example.com")
    campaign_id = create_campaign(client, headers, [list_id])["campaign_id"]
    client.http.post(f"/v1/campaigns/{campaign_id}/send", headers=headers, body="")
    run_queues(client, ("fanout",))
    [batch] = take("campaign-send")
    fail_first_write_to(monkeypatch, CampaignStat)
    assert client.lambda_.invoke("campaign_send_worker", sqs_event(batch)).payload["batchItemFailures"]
    assert recipients_of_sent() == ["ann@example.com", "bob@example.com", "cat@example.com"]
    unreadable_table(monkeypatch, Suppression)
    event = sqs_event(batch)
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"
    assert client.lambda_.invoke("campaign_send_worker", event).payload == {"batchItemFailures": []}
    shown = json.loads(client.http.get(f"/v1/campaigns/{campaign_id}", headers=headers).body)
    assert campaign_counters(campaign_id)["sent"] == 3 and shown["failure"] is None
    assert shown["status"] == "sent" and _account_sent(account["account_id"]) == 3


def test_a_transactional_mail_ses_refuses_is_counted_on_the_accounts_health(client, account, headers):
    from chalicelib.clients import client as aws_client

    queued = client.http.post("/v1/messages", headers=headers, body=json.dumps(
        {"to": "ann@example.com", "subject": "Receipt", "text": "Thanks",
         "from_address": "shop@acme.example"}))
    assert queued.status_code == 202
    aws_client("sesv2").delete_email_identity(EmailIdentity="acme.example")
    run_queues(client, ("outbox",))
    health = json.loads(client.http.get("/v1/account/health", headers=headers).body)
    assert health["failures"]["count"] == 1 and "MessageRejected" in health["failures"]["latest"]


def test_sending_a_campaign_with_no_live_list_is_409(client, account, headers):
    list_id = new_list(client, headers)
    campaign = create_campaign(client, headers, [list_id])
    assert client.http.delete(f"/v1/lists/{list_id}", headers=headers).status_code == 204
    started = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send",
                               headers=bearer(account["api_key"]))
    assert started.status_code == 409 and _error(started)["field"] == "list_ids"
    shown = json.loads(client.http.get(f"/v1/campaigns/{campaign['campaign_id']}", headers=headers).body)
    assert shown["status"] == "draft"
