"""No silent loss (issue #12, item 4): header-bound fields are one line at save time, a mail that
cannot be built or sent ends its campaign `failed` with counts and a reason, and a campaign with
no live list is not "sent" to nobody."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.api import bearer
from tests.support.campaigns import create_campaign, sent_campaign
from tests.support.lists import new_list, subscribe
from tests.support.queues import fanned_out, run_queues

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


@pytest.mark.parametrize(("field", "value"), [
    ("from_name", "security@bank.example"), ("from_name", "Bank =?utf-8?b?YWxlcnRzQGJhbmsuZXhhbXBsZQ==?="),
    # Drawn right to left: "security@bank.example", from text that reads as no address.
    ("from_name", "\u202eelpmaxe.knab@ytiruces"),
    ("subject", "=?utf-8?q?Hi=0D=0ABcc:_victim@example.com?=")])
def test_p35_a_from_name_showing_an_address_or_an_encoded_word_is_refused_on_every_save_path(
        client, headers, field, value):
    """P35: the From name (and the subject) of a campaign, its test sends and a transactional mail
    is shown to the recipient as their mail program reads it: an address in it, drawn backwards by a
    directional override or not, or an encoded-word that decodes to one or to a line break, shows
    what no check saw."""
    list_id = new_list(client, headers)
    campaign = {"name": "c", "list_ids": [list_id], "subject": "Hi", "html": "<p>Hi</p>"}
    response = client.http.post("/v1/campaigns", headers=headers, body=json.dumps({**campaign, field: value}))
    assert response.status_code == 400 and _error(response)["field"] == field, response.body
    draft = create_campaign(client, headers, [list_id])
    patched = client.http.patch(f"/v1/campaigns/{draft['campaign_id']}", headers=headers,
                                body=json.dumps({field: value}))
    assert patched.status_code == 400 and _error(patched)["field"] == field, patched.body
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


def test_a_campaign_whose_mails_ses_refuses_ends_failed_with_counts_and_a_reason(client, account, headers,
                                                                                 monkeypatch):
    from tests.support.mail import ses_refuses

    list_id = new_list(client, headers)
    for email in ("ann@example.com", "bob@example.com"):
        subscribe(account["account_id"], list_id, email)
    campaign = create_campaign(client, headers, [list_id], from_address="offers@acme.example")
    started = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers)
    assert started.status_code == 202
    # SES refuses both mails for good after the start. (Deleting the From's identity in SES would
    # no longer do: the sender re-check, P35, cancels the campaign before it sends.)
    for email in ("ann@example.com", "bob@example.com"):
        ses_refuses(monkeypatch, email)
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
    # Given up, and reported failed: SQS moves it to the dead-letter queue, whose alarm sounds.
    assert client.lambda_.invoke("campaign_send_worker", event).payload["batchItemFailures"]
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
    # Given up, and reported failed: SQS moves it to the dead-letter queue, whose alarm sounds.
    assert client.lambda_.invoke("fanout_worker", event).payload["batchItemFailures"]
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
    assert client.lambda_.invoke("campaign_send_worker", event).payload["batchItemFailures"], \
        "given up: the dead-letter queue's alarm tells the operator"
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


def _pump_until_dead_lettered(queue_name: str, rounds: int = 12) -> list[str]:
    """Run Lambda's polling (the local pump, against moto's queues with their redrive policy)
    until the queue's dead-letter queue holds something; the bodies it holds, left there."""
    from app import app
    from chalicelib.clients import client as aws_client
    from chalicelib.config import settings
    from chalicelib.local.pump import SqsPump

    sqs = aws_client("sqs")
    dead_letters = sqs.get_queue_url(QueueName=settings().resource_name(f"{queue_name}-dlq"))["QueueUrl"]
    pump = SqsPump(app, settings().region, retry_delay_seconds=0)
    for _ in range(rounds):
        pump.deliver_once()
        found = sqs.receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10,
                                    VisibilityTimeout=0).get("Messages", [])
        if found:
            return [message["Body"] for message in found]
    return []


def _put_back(queue_name: str, bodies: list[str]) -> None:
    """Messages back on their queue, received afresh: what an operator's redrive from the
    dead-letter queue does."""
    from chalicelib.clients import client as aws_client
    from chalicelib.config import settings

    sqs = aws_client("sqs")
    url = sqs.get_queue_url(QueueName=settings().resource_name(queue_name))["QueueUrl"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)


def test_a_batch_given_up_on_its_last_receive_reaches_the_dead_letter_queue_and_the_campaign_fails(
        client, account, headers, monkeypatch):
    """The batch's mail kept failing until its last receive: the campaign ends failed with the
    reason, and the job is not acknowledged, so SQS moves it to the dead-letter queue, whose
    alarm tells the operator (acknowledged, it was lost work no operator heard of). Redriven
    once SES takes mail again, it sends nothing."""
    from botocore.exceptions import ClientError

    from chalicelib.services.sending import batches
    from tests.support.mail import recipients_of_sent

    campaign_id, _ = sent_campaign(client, account, headers, ("ann@example.com", "bob@example.com"))
    run_queues(client, ("fanout",))
    real_send = batches.send_raw_email

    def unavailable(*args: Any, **kwargs: Any) -> str:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try later"}}, "SendEmail")

    monkeypatch.setattr(batches, "send_raw_email", unavailable)
    dead = _pump_until_dead_lettered("campaign-send")
    assert len(dead) == 1 and json.loads(dead[0])["campaign_id"] == campaign_id
    shown = json.loads(client.http.get(f"/v1/campaigns/{campaign_id}", headers=headers).body)
    assert shown["status"] == "failed" and shown["failure"]["failed"] == 2
    assert "ServiceUnavailable" in shown["failure"]["reason"]
    monkeypatch.setattr(batches, "send_raw_email", real_send)
    _put_back("campaign-send", dead)
    assert run_queues(client, ("campaign-send",)) == []
    assert recipients_of_sent() == []
    report = json.loads(client.http.get(f"/v1/campaigns/{campaign_id}/report", headers=headers).body)
    assert report["status"] == "failed" and report["failed"] == 2 and report["sent"] == 0


def test_a_fan_out_page_given_up_on_its_last_receive_reaches_the_dead_letter_queue(client, account, headers,
                                                                                  monkeypatch):
    """The page could not be read until its last receive: the campaign ends failed naming the
    list, and the job goes on to the dead-letter queue, whose alarm tells the operator."""
    from botocore.exceptions import ClientError

    from chalicelib.services.sending import fanout

    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, "ann@example.com")
    campaign_id = create_campaign(client, headers, [list_id])["campaign_id"]

    def unreadable(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "try later"}}, "Query")

    monkeypatch.setattr(fanout, "confirmed_page", unreadable)
    client.http.post(f"/v1/campaigns/{campaign_id}/send", headers=headers)
    dead = _pump_until_dead_lettered("fanout")
    assert len(dead) == 1 and json.loads(dead[0])["list_id"] == list_id
    shown = json.loads(client.http.get(f"/v1/campaigns/{campaign_id}", headers=headers).body)
    assert shown["status"] == "failed" and list_id in shown["failure"]["reason"]


def test_a_given_up_fan_out_page_redriven_while_its_campaign_still_sends_mails_nobody(
        client, account, headers, monkeypatch):
    """The campaign's other list still sends when the given-up page is redriven from the
    dead-letter queue, its list readable again: the page's stored plan (no batches, its list's
    end) rules, so nobody on it is mailed after the campaign recorded them as not mailed."""
    from botocore.exceptions import ClientError

    from chalicelib.services.sending import fanout
    from tests.support.events import sqs_event
    from tests.support.mail import recipients_of_sent
    from tests.support.queues import take

    campaign_id, (broken, working) = sent_campaign(client, account, headers, ("ann@example.com",),
                                                   ("bob@example.com",))
    real_page = fanout.confirmed_page

    def unreadable(list_id: str, *args: Any, **kwargs: Any) -> Any:
        if list_id == broken:
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "later"}}, "Query")
        return real_page(list_id, *args, **kwargs)

    monkeypatch.setattr(fanout, "confirmed_page", unreadable)
    pages = {json.loads(record["body"])["list_id"]: record for record in take("fanout")}
    event = sqs_event(pages[broken])
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"
    assert client.lambda_.invoke("fanout_worker", event).payload["batchItemFailures"]
    shown = json.loads(client.http.get(f"/v1/campaigns/{campaign_id}", headers=headers).body)
    assert shown["status"] == "sending", "the other list is still to be paged"
    monkeypatch.setattr(fanout, "confirmed_page", real_page)
    redriven = client.lambda_.invoke("fanout_worker", sqs_event(pages[broken])).payload
    assert redriven == {"batchItemFailures": []}
    assert take("campaign-send") == [], "the redriven page queues no batch"
    _put_back("fanout", [pages[working]["body"]])
    assert run_queues(client) == []
    assert recipients_of_sent() == ["bob@example.com"]
    shown = json.loads(client.http.get(f"/v1/campaigns/{campaign_id}", headers=headers).body)
    assert shown["status"] == "failed" and broken in shown["failure"]["reason"]


def test_a_given_up_batch_redriven_while_its_campaign_still_sends_mails_nobody_twice(
        client, account, headers, monkeypatch):
    """Ann's batch gives up on its last receive while Bob's (another list) still waits; redriven
    from the dead-letter queue before the campaign ends, SES working again, it mails nobody: the
    mail it gave up keeps its claim, so it is neither sent late nor counted twice."""
    from botocore.exceptions import ClientError

    from chalicelib.services.sending import batches
    from tests.support.events import sqs_event
    from tests.support.mail import recipients_of_sent

    campaign_id, (ann_list, bob_list) = sent_campaign(client, account, headers, ("ann@example.com",),
                                                      ("bob@example.com",))
    jobs = fanned_out(client)
    real_send = batches.send_raw_email

    def unavailable(*args: Any, **kwargs: Any) -> str:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try later"}}, "SendEmail")

    monkeypatch.setattr(batches, "send_raw_email", unavailable)
    event = sqs_event(jobs[ann_list])
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"
    assert client.lambda_.invoke("campaign_send_worker", event).payload["batchItemFailures"]
    monkeypatch.setattr(batches, "send_raw_email", real_send)
    shown = json.loads(client.http.get(f"/v1/campaigns/{campaign_id}", headers=headers).body)
    assert shown["status"] == "sending", "Bob's batch is still to come"
    redriven = client.lambda_.invoke("campaign_send_worker", sqs_event(jobs[ann_list])).payload
    assert redriven == {"batchItemFailures": []}
    assert recipients_of_sent() == []
    _put_back("campaign-send", [jobs[bob_list]["body"]])
    assert run_queues(client, ("campaign-send",)) == []
    assert recipients_of_sent() == ["bob@example.com"]
    report = json.loads(client.http.get(f"/v1/campaigns/{campaign_id}/report", headers=headers).body)
    assert report["status"] == "failed" and report["failed"] == 1 and report["sent"] == 1


def test_a_mail_ses_refuses_on_the_last_receive_is_the_accounts_matter_not_a_dead_letter(
        client, account, headers, monkeypatch):
    """A refusal is final on any receive (the account's From, its content): the campaign ends
    failed saying so, and the job is acknowledged. Only work given up because its receives ran
    out reaches the dead-letter queue and the operator."""
    from tests.support.events import sqs_event
    from tests.support.mail import ses_refuses
    from tests.support.queues import take

    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, "ann@example.com")
    campaign = create_campaign(client, headers, [list_id], from_address="offers@acme.example")
    campaign_id = campaign["campaign_id"]
    client.http.post(f"/v1/campaigns/{campaign_id}/send", headers=headers)
    run_queues(client, ("fanout",))
    ses_refuses(monkeypatch, "ann@example.com")
    event = sqs_event(*take("campaign-send"))
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"
    assert client.lambda_.invoke("campaign_send_worker", event).payload == {"batchItemFailures": []}
    shown = json.loads(client.http.get(f"/v1/campaigns/{campaign_id}", headers=headers).body)
    assert shown["status"] == "failed" and "MessageRejected" in shown["failure"]["reason"]


def test_a_transactional_mail_ses_refuses_is_counted_on_the_accounts_health(client, account, headers,
                                                                            monkeypatch):
    from tests.support.mail import ses_refuses

    queued = client.http.post("/v1/messages", headers=headers, body=json.dumps(
        {"to": "ann@example.com", "subject": "Receipt", "text": "Thanks",
         "from_address": "shop@acme.example"}))
    assert queued.status_code == 202
    ses_refuses(monkeypatch, "ann@example.com")
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


def _queue_confirmation(client, headers) -> None:
    list_id = new_list(client, headers)
    answer = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=headers,
                              body=json.dumps({"email": "ann@example.com"}))
    assert answer.status_code == 201, answer.body


def _queue_transactional(client, headers) -> None:
    answer = client.http.post("/v1/messages", headers=headers, body=json.dumps(
        {"to": "ann@example.com", "subject": "Receipt", "text": "Thanks"}))
    assert answer.status_code == 202, answer.body


@pytest.mark.parametrize("queue_mail", [_queue_transactional, _queue_confirmation],
                         ids=["transactional", "confirmation"])
@pytest.mark.parametrize("code", ["ServiceUnavailable", "Throttling"])
def test_p11_an_outbox_mail_given_up_on_its_last_receive_reaches_the_dead_letter_queue_and_goes_once(
        client, account, headers, monkeypatch, queue_mail, code):
    """SES kept failing an outbox mail (a receipt, a confirmation: the reply to the person's own
    action, P11) with an error a later attempt might have cured, until its last receive: the
    failure counts once on the account's health, and the job is not acknowledged, so SQS moves
    it to the dead-letter queue, whose alarm tells the operator. Redriven once SES takes mail
    again, it sends nothing and counts nothing more: the mail given up keeps its claim."""
    from botocore.exceptions import ClientError

    from chalicelib.domain.clock import now
    from chalicelib.services.sending import outbox
    from chalicelib.store.health import failures_since
    from tests.support.mail import recipients_of_sent

    queue_mail(client, headers)
    real_send = outbox.send_raw_email

    def failing(*args: Any, **kwargs: Any) -> str:
        raise ClientError({"Error": {"Code": code, "Message": "try later"}}, "SendEmail")

    monkeypatch.setattr(outbox, "send_raw_email", failing)
    dead = _pump_until_dead_lettered("outbox")
    assert len(dead) == 1 and json.loads(dead[0])["email"]["recipient"] == "ann@example.com"
    count, reason = failures_since(account["account_id"], now().date())
    assert count == 1 and code in reason
    monkeypatch.setattr(outbox, "send_raw_email", real_send)
    _put_back("outbox", dead)
    assert run_queues(client, ("outbox",)) == []
    assert recipients_of_sent() == []
    assert failures_since(account["account_id"], now().date())[0] == 1


def test_p11_an_outbox_mail_given_up_and_redriven_after_its_account_was_suspended_counts_once(
        client, account, headers, monkeypatch):
    """Redriven from the dead-letter queue once its account may no longer send, the mail given up
    on its last receive is not counted failed a second time on the account's health: its failure
    was counted with its claim when it was given up."""
    from botocore.exceptions import ClientError

    from chalicelib.domain.clock import now
    from chalicelib.services.sending import outbox
    from chalicelib.store.health import failures_since
    from chalicelib.store.models import Account
    from tests.support.mail import recipients_of_sent

    _queue_transactional(client, headers)

    def failing(*args: Any, **kwargs: Any) -> str:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try later"}}, "SendEmail")

    monkeypatch.setattr(outbox, "send_raw_email", failing)
    dead = _pump_until_dead_lettered("outbox")
    assert failures_since(account["account_id"], now().date())[0] == 1
    Account.get(account["account_id"]).update(actions=[Account.status.set("suspended")])
    _put_back("outbox", dead)
    assert run_queues(client, ("outbox",)) == []
    assert recipients_of_sent() == []
    assert failures_since(account["account_id"], now().date())[0] == 1
