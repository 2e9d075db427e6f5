"""SMS campaigns through SNS Publish: confirmed subscribers with a phone, a stop instruction in
every text (P06), opted-out and suppressed numbers skipped, an inbound STOP suppresses (P12)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from chalicelib.clients import client as aws_client
from chalicelib.config import hash_key
from chalicelib.domain.privacy import phone_hash
from chalicelib.domain.sms import STOP_INSTRUCTION
from chalicelib.domain.sms_keywords import answer_language, answer_text
from chalicelib.domain.sms_replies import InboundSms, Keyword, parse_inbound_sms
from chalicelib.domain.suppression import SuppressionReason
from chalicelib.store.suppressions import suppress, suppress_hash, suppressed_hashes
from tests.support.campaigns import campaign_status
from tests.support.events import sqs_event
from tests.support.lists import new_list, subscribe
from tests.support.mail import recorded_calls, sent_sms
from tests.support.queues import run_queues, take

ANN, BOB = "+40712345678", "+40723456789"
# In moto's list of numbers that replied STOP to the AWS account.
OPTED_OUT_AT_SNS = "+447700900149"


@pytest.fixture
def list_id(client, headers):
    return new_list(client, headers, "Texts", consent="Yes, text me offers.")


@pytest.fixture
def publishes(aws, monkeypatch):
    """Every SNS Publish call's parameters, passed on to moto."""
    return recorded_calls(monkeypatch, "sns", "publish")


def _sms_campaign(client, headers, list_id, **fields) -> dict[str, Any]:
    body = {"name": "Flash sale", "channel": "sms", "list_ids": [list_id],
            "sms_body": "Hi {{ name }}, 20% off today at Acme.", **fields}
    response = client.http.post("/v1/campaigns", headers=headers, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return json.loads(response.body)


def _send(client, headers, campaign_id: str) -> None:
    response = client.http.post(f"/v1/campaigns/{campaign_id}/send", headers=headers, body="")
    assert response.status_code == 202, response.body
    assert run_queues(client) == []



def _fanned_out(client, headers, list_id) -> tuple[dict[str, Any], dict[str, Any]]:
    """An SMS campaign to the list, sent and fanned out: (the campaign, its one batch, undelivered)."""
    campaign = _sms_campaign(client, headers, list_id)
    client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers, body="")
    run_queues(client, ("fanout",))
    [batch] = take("campaign-send")
    return campaign, batch


def _texted_ann_and_bob_but_not_counted(client, account, headers, list_id, monkeypatch):
    """Ann and Bob texted by a batch whose count then failed (SQS will redeliver it)."""
    from chalicelib.store.models import CampaignStat
    from tests.support.faults import fail_first_write_to

    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB)
    campaign, batch = _fanned_out(client, headers, list_id)
    fail_first_write_to(monkeypatch, CampaignStat)
    assert client.lambda_.invoke("campaign_send_worker", sqs_event(batch)).payload["batchItemFailures"]
    return campaign, batch

def test_p06_every_sms_goes_to_a_phone_and_ends_with_how_to_stop(client, account, headers, list_id,
                                                                  publishes):
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB)
    subscribe(account["account_id"], list_id, "nophone@example.com")
    campaign = _sms_campaign(client, headers, list_id, advertisement=True)
    _send(client, headers, campaign["campaign_id"])
    texts = dict(sent_sms())
    assert sorted(texts) == [ANN, BOB]
    assert texts[ANN] == f"Advertisement: Hi Ann, 20% off today at Acme.\n{STOP_INSTRUCTION}"
    assert all(text.endswith(STOP_INSTRUCTION) for text in texts.values())
    assert {call["MessageAttributes"]["AWS.SNS.SMS.SMSType"]["StringValue"] for call in publishes} == {
        "Promotional"}
    assert campaign_status(client, headers, campaign["campaign_id"]) == "sent"


def test_p06_numbers_sns_reports_opted_out_are_skipped_with_one_call_per_batch(client, account, headers,
                                                                              list_id, monkeypatch):
    sns = aws_client("sns")
    real, listings = sns.list_phone_numbers_opted_out, []
    monkeypatch.setattr(sns, "list_phone_numbers_opted_out", lambda **kw: listings.append(kw) or real(**kw))
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    subscribe(account["account_id"], list_id, "uk@example.com", phone=OPTED_OUT_AT_SNS)
    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    assert sorted(number for number, _ in sent_sms()) == [ANN, BOB]
    assert len(listings) == 1


def test_p12_p18_a_suppressed_number_or_unsubscribed_person_gets_no_sms(client, account, headers, list_id):
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB)
    subscribe(account["account_id"], list_id, "cy@example.com", phone="+40734567890")
    suppress_hash(account["account_id"], phone_hash(ANN, hash_key()), SuppressionReason.ERASED)
    suppress(account["account_id"], "bob@example.com", SuppressionReason.UNSUBSCRIBED)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    assert [number for number, _ in sent_sms()] == ["+40734567890"]


def test_a_redelivered_sms_batch_texts_nobody_twice(client, account, headers, list_id):
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    campaign = _sms_campaign(client, headers, list_id)
    client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers, body="")
    run_queues(client, ("fanout",))
    [batch] = take("campaign-send")
    for _ in range(2):
        client.lambda_.invoke("campaign_send_worker", sqs_event(batch))
    assert len(sent_sms()) == 1


def test_p13_a_text_whose_count_failed_still_counts_when_its_number_opted_out_before_the_redelivery(
        client, account, headers, list_id, monkeypatch):
    from chalicelib.store.campaign_stats import campaign_counters

    campaign, batch = _texted_ann_and_bob_but_not_counted(client, account, headers, list_id, monkeypatch)
    suppress_hash(account["account_id"], phone_hash(ANN, hash_key()), SuppressionReason.UNSUBSCRIBED)
    redelivered = client.lambda_.invoke("campaign_send_worker", sqs_event(batch))
    assert redelivered.payload == {"batchItemFailures": []}
    assert sorted(number for number, _ in sent_sms()) == [ANN, BOB]
    assert campaign_counters(campaign["campaign_id"])["sent"] == 2


def test_p13_a_number_sns_refuses_fails_alone_and_the_rest_of_its_batch_is_texted_at_once(
        client, account, headers, list_id, monkeypatch):
    """SNS's InvalidParameter names a number it will never text: that text fails and counts as
    failed, and the batch goes on, instead of failing whole at every receive until its last (the
    numbers after it held back for every visibility timeout)."""
    from botocore.exceptions import ClientError

    from chalicelib.adapters import sns
    from chalicelib.store.campaign_stats import campaign_counters
    from chalicelib.store.models import Campaign

    real = sns.send_sms

    def refuse_ann(number, text, sms_type):
        if number == ANN:
            raise ClientError({"Error": {"Code": "InvalidParameter", "Message": "no"}}, "Publish")
        return real(number, text, sms_type)

    monkeypatch.setattr(sns, "send_sms", refuse_ann)
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB)
    campaign, batch = _fanned_out(client, headers, list_id)
    delivered = client.lambda_.invoke("campaign_send_worker", sqs_event(batch))
    assert delivered.payload == {"batchItemFailures": []}
    assert [number for number, _ in sent_sms()] == [BOB]
    assert campaign_counters(campaign["campaign_id"])["sent"] == 1
    stored = Campaign.get(account["account_id"], campaign["campaign_id"])
    assert (stored.status, stored.failed) == ("failed", 1)
    assert "InvalidParameter" in stored.failure_reason


def test_p17_a_person_restricted_after_the_fan_out_is_not_texted(client, account, headers, list_id):
    """Restriction (P17) holds for texts as for mails: the batch reads the entries with the
    suppressions, once, before its first text."""
    from tests.support.privacy import completed

    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB)
    campaign, batch = _fanned_out(client, headers, list_id)
    completed(client, headers, type="restrict", email="bob@example.com")
    assert client.lambda_.invoke("campaign_send_worker", sqs_event(batch)).payload == {
        "batchItemFailures": []}
    assert [number for number, _ in sent_sms()] == [ANN]
    assert campaign_status(client, headers, campaign["campaign_id"]) == "sent"


def test_p12_an_sms_batch_whose_opt_outs_cannot_be_read_texts_nobody_and_ends_failed_on_its_last_receive(
        client, account, headers, list_id, monkeypatch):
    from pynamodb.exceptions import GetError

    from chalicelib.services.sending import batches

    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    campaign, batch = _fanned_out(client, headers, list_id)

    def unreadable(*args: Any, **kwargs: Any) -> set[str]:
        raise GetError("Failed to batch get items")

    monkeypatch.setattr(batches, "due_recipients", unreadable)
    event = sqs_event(batch)
    assert client.lambda_.invoke("campaign_send_worker", event).payload["batchItemFailures"]
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"
    assert client.lambda_.invoke("campaign_send_worker", event).payload["batchItemFailures"], \
        "given up: on to the dead-letter queue and its alarm"
    assert sent_sms() == []
    assert campaign_status(client, headers, campaign["campaign_id"]) == "failed"


def test_p13_texts_an_earlier_delivery_sent_count_sent_when_the_last_receive_cannot_file_for_the_purge(
        client, account, headers, list_id, monkeypatch):
    from botocore.exceptions import ClientError

    from chalicelib.services.sending import batches
    from chalicelib.store.campaign_stats import campaign_counters

    campaign, batch = _texted_ann_and_bob_but_not_counted(client, account, headers, list_id, monkeypatch)

    def unfileable(*args: Any, **kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "PutItem")

    monkeypatch.setattr(batches.messages, "list_campaign_for_purge", unfileable)
    event = sqs_event(batch)
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"
    assert client.lambda_.invoke("campaign_send_worker", event).payload == {"batchItemFailures": []}
    assert sorted(number for number, _ in sent_sms()) == [ANN, BOB]
    assert campaign_counters(campaign["campaign_id"])["sent"] == 2
    assert campaign_status(client, headers, campaign["campaign_id"]) == "sent"


def test_p21_a_continued_sms_batch_files_whom_it_texts_for_the_purge(client, account, headers, list_id):
    """A continuation texts the rest of its batch: someone its first job skipped (suppressed then,
    since lifted) is texted now, and must be filed for the 30-day purge like everyone else."""
    from dataclasses import replace

    from chalicelib.domain.sending import job_from_dict
    from chalicelib.services.sending.batches import send_batch
    from chalicelib.store.messages import listed
    from chalicelib.store.models import MessagePurgeList

    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    _, batch = _fanned_out(client, headers, list_id)
    continuation = replace(job_from_dict(json.loads(batch["body"])), continued=True)
    assert send_batch(continuation, time_left=lambda: 60.0).sent == 1
    filed = {hashed for purge_list in MessagePurgeList.scan() for hashed in listed(purge_list).values()}
    assert filed == {phone_hash(ANN, hash_key())}


def _campaign_texts() -> list[tuple[str, str]]:
    """(number, text) of every SMS sent but the answers to keyword replies."""
    return [(to, text) for to, text in sent_sms() if text.endswith(STOP_INSTRUCTION)]


def _inbound(aws, body: str, origination: str = ANN) -> None:
    """A reply to our number, published as SNS two-way SMS does, then the worker run on it."""
    message = {"originationNumber": origination, "destinationNumber": "+12125550101",
               "messageKeyword": "KEYWORD_123456789012", "messageBody": body,
               "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84"}
    aws_client("sns").publish(TopicArn=aws["sms_inbound_topic_arn"], Message=json.dumps(message))


def test_p06_p12_an_inbound_stop_suppresses_the_number_for_the_account_that_texted_it(
        client, aws, account, headers, list_id):
    from chalicelib.cli import create_account_with_key

    other = create_account_with_key("Other Ltd", {})
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    _inbound(aws, "Stop please")
    records = take("sms-inbound")
    assert len(records) == 1
    result = client.lambda_.invoke("sms_inbound_worker", sqs_event(*records))
    assert result.payload == {"batchItemFailures": []}
    ann = phone_hash(ANN, hash_key())
    assert suppressed_hashes(account["account_id"], [ann]) == {ann}
    assert suppressed_hashes(other["account_id"], [phone_hash(ANN, hash_key())]) == set()
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    assert len(_campaign_texts()) == 1, "the second campaign skips the number"


def test_p07_p12_a_stop_reply_after_the_texts_record_is_gone_suppresses_the_number_platform_wide(
        client, aws, account, headers, list_id):
    """The records that say which accounts texted a number go after 30 days (P21), but a STOP must
    work for at least 60 (P07). A STOP that finds no record (here a wording SNS itself does not
    honour, so SNS's own opt-out list does not cover it either) stops the number platform-wide,
    as SNS does for its own keywords: it cannot tell whose text the person answers."""
    from chalicelib.cli import create_account_with_key
    from chalicelib.store.models import MessageRecord

    other = create_account_with_key("Other Ltd", {})
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    for record in list(MessageRecord.scan()):
        record.delete()  # day 30: TTL or the purge took the record
    _inbound(aws, "Stop please")
    assert client.lambda_.invoke("sms_inbound_worker", sqs_event(*take("sms-inbound"))).payload == {
        "batchItemFailures": []}
    ann = phone_hash(ANN, hash_key())
    assert suppressed_hashes(account["account_id"], [ann]) == {ann}
    assert suppressed_hashes(other["account_id"], [ann]) == {ann}
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    assert len(_campaign_texts()) == 1, "the second campaign skips the number"


def test_p12_a_stop_whose_answer_sns_refuses_is_applied_and_not_retried(client, aws, account, monkeypatch):
    """SNS refusing the answer (a destination it does not serve) is no failure of the STOP: the
    record succeeds, rather than coming back until the dead-letter queue."""
    from botocore.exceptions import ClientError

    from chalicelib.adapters import sns

    def refuse(number, text, sms_type):
        raise ClientError({"Error": {"Code": "InvalidParameter", "Message": "refused"}}, "Publish")

    monkeypatch.setattr(sns, "send_sms", refuse)
    _keyword_from(client, aws, "STOP")
    ann = phone_hash(ANN, hash_key())
    assert suppressed_hashes(account["account_id"], [ann]) == {ann}


def test_p12_a_forged_inbound_sms_from_another_topic_fails_alone_and_the_rest_of_the_batch_is_applied(
        client, aws, account, headers, list_id):
    """A notification that names a topic not ours (another account's, region's or name) is no
    reply to our number: it suppresses and answers nothing, and fails alone (P12)."""
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    _inbound(aws, "STOP")
    [genuine] = take("sms-inbound")
    ours = json.loads(genuine["body"])["TopicArn"]
    account_id, name = ours.split(":")[4], ours.split(":")[5]
    forged = [{**genuine, "messageId": f"forged-{index}", "body": json.dumps({
        **json.loads(genuine["body"]), "TopicArn": arn, "Message": json.dumps({
            "originationNumber": BOB, "destinationNumber": "+12125550101", "messageBody": "STOP"})})}
        for index, arn in enumerate([ours.replace(account_id, "210987654321"),
                                     ours.replace(name, f"{name}-other"),
                                     ours.replace(":eu-west-1:", ":us-east-1:"), None])]
    result = client.lambda_.invoke("sms_inbound_worker", sqs_event(*forged[:2], genuine, *forged[2:]))
    failed = [failure["itemIdentifier"] for failure in result.payload["batchItemFailures"]]
    assert failed == [f"forged-{index}" for index in range(4)]
    ann, bob = phone_hash(ANN, hash_key()), phone_hash(BOB, hash_key())
    assert suppressed_hashes(account["account_id"], [ann, bob]) == {ann}
    assert _replies_to(BOB) == []


@pytest.mark.parametrize("origination", [
    "72927", "SHORTCODE", "AcmeBank",  # a short code, an alphanumeric sender id
    "0712345678", "+40 7", "+4071234567800000", "", "\x00", "+40\u202e",  # no number in E.164
    "+" + "4" * 100_000])
def test_p12_a_reply_from_no_phone_number_is_acknowledged_and_dropped_never_dead_lettered(
        client, aws, account, app_logs, origination):
    """A short code or sender id is no person's number, nor one Tidings ever texted (it texts only
    numbers intake takes): its reply is applied as nothing, suppressing and answering nothing,
    and logged without the number. It must not fail: SQS would redeliver it until the dead-letter
    queue, whose alarm would sound for a reply nobody can act on."""
    from chalicelib.store.models import Suppression

    for body in ("STOP", "HELP", "START", "Stop " + "\x07" * 10_000):
        _keyword_from(client, aws, body, origination=origination)
    assert list(Suppression.scan()) == [] and sent_sms() == []
    logged = app_logs.getvalue()
    assert logged.count("no phone number; ignored") == 4
    number = origination[:20]
    assert len(number) < 5 or number not in logged, "no number in the logs"


@pytest.mark.parametrize("origination", ["+99912345678", "+10005550100"])
def test_p07_a_stop_from_a_number_the_phone_library_does_not_take_still_applies(
        client, aws, account, origination):
    """A number in E.164 the phone library calls invalid (a range newer than its metadata) may be
    one texted before: its STOP suppresses it, as written (platform-wide when no account's record
    names it), and nothing is texted back to it. HELP from it is answered by nothing."""
    from chalicelib.domain.suppression import PLATFORM_SCOPE

    for body in ("HELP", "STOP"):
        _keyword_from(client, aws, body, origination=origination)
    hashed = phone_hash(origination, hash_key())
    assert suppressed_hashes(PLATFORM_SCOPE, [hashed]) == {hashed} and sent_sms() == []


def test_p12_a_malformed_notification_fails_alone_and_a_transient_fault_is_retried(
        client, aws, account, headers, list_id, monkeypatch):
    """The inbound-SMS worker fails only what a later receive may change or someone must see: an
    unreadable notification fails alone, to reach the dead-letter queue after the queue's
    receives (a STOP in a shape it cannot read is kept there for a redrive, not dropped), while
    one whose suppression DynamoDB throttled fails and is applied when SQS redelivers it."""
    from chalicelib.store.models import Suppression
    from tests.support.faults import fail_first_write_to

    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    _inbound(aws, "STOP")
    [genuine] = take("sms-inbound")
    envelope = json.loads(genuine["body"])
    malformed = [{**genuine, "messageId": f"bad-{index}", "body": body} for index, body in enumerate([
        "not json", json.dumps({**envelope, "Message": "{"}), json.dumps({**envelope, "Message": "[]"}),
        json.dumps({**envelope, "Message": json.dumps({"originationNumber": ANN})}),
        json.dumps({**envelope, "Message": "[" * 100_000})])]
    written = fail_first_write_to(monkeypatch, Suppression)
    result = client.lambda_.invoke("sms_inbound_worker", sqs_event(*malformed, genuine))
    failed = [failure["itemIdentifier"] for failure in result.payload["batchItemFailures"]]
    assert written and failed == [*(f"bad-{index}" for index in range(5)), genuine["messageId"]]
    ann = phone_hash(ANN, hash_key())
    assert suppressed_hashes(account["account_id"], [ann]) == set()
    redelivered = client.lambda_.invoke("sms_inbound_worker", sqs_event(genuine))
    assert redelivered.payload == {"batchItemFailures": []}
    assert suppressed_hashes(account["account_id"], [ann]) == {ann}


def test_a_reply_that_is_not_a_stop_changes_nothing(client, aws, account, headers, list_id):
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    _inbound(aws, "Thanks, see you there")
    client.lambda_.invoke("sms_inbound_worker", sqs_event(*take("sms-inbound")))
    assert suppressed_hashes(account["account_id"], [phone_hash(ANN, hash_key())]) == set()


def test_inbound_sms_parsing_and_stop_keywords():
    sms = parse_inbound_sms(json.dumps({"originationNumber": "+40 712 345 678", "destinationNumber": "+1212",
                                        "messageBody": "UNSUBSCRIBE"}))
    assert sms == InboundSms(ANN, "+1212", "UNSUBSCRIBE") and sms.is_stop
    assert not InboundSms(ANN, "+1212", "stopping by later?").is_stop
    assert InboundSms(ANN, "+1212", " stop.").is_stop


@pytest.mark.parametrize("reply", ["ARRET", "CANCEL", "END", "OPT-OUT", "OPTOUT", "QUIT", "REMOVE", "STOP",
                                   "TD", "UNSUBSCRIBE", "remove me", "Td."])
def test_p12_every_opt_out_keyword_amazon_sns_honours_is_a_stop(reply):
    # SNS opts a number out on these; a reply Tidings did not take as one would leave the
    # number unsuppressed here while SNS itself refuses to text it.
    assert InboundSms(ANN, "+1212", reply).is_stop


@pytest.mark.parametrize("reply", ["ARRET", "ALTO", "PARAR", "STOPP", "CANCELAR", "Parar, por favor",
                                   "Stopp!"])
def test_p12_a_stop_word_carriers_honour_in_another_language_is_a_stop(reply):
    """French, Spanish, Portuguese, German and Nordic stop words opt out like STOP (P12)."""
    assert InboundSms(ANN, "+1212", reply).is_stop, repr(reply)


def _replies_to(number: str) -> list[str]:
    """The texts sent to `number` that are no campaign text (those end with how to stop)."""
    return [text for to, text in sent_sms() if to == number and not text.endswith(STOP_INSTRUCTION)]


def test_p06_p12_a_stop_in_spanish_suppresses_the_number_and_is_confirmed_by_one_text_only(
        client, aws, account, headers, list_id):
    """The first STOP writes the suppression and is confirmed by one text; the same or another
    STOP after it writes nothing and is answered by nothing (no reply storm)."""
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    for body in ("CANCELAR", "STOP", "Alto"):
        _inbound(aws, body)
        assert client.lambda_.invoke("sms_inbound_worker", sqs_event(*take("sms-inbound"))).payload == {
            "batchItemFailures": []}
    ann = phone_hash(ANN, hash_key())
    assert suppressed_hashes(account["account_id"], [ann]) == {ann}
    assert _replies_to(ANN) == [answer_text(Keyword.STOP, [], answer_language(ANN))]


def _keyword_from(client, aws, body: str, origination: str = ANN) -> None:
    _inbound(aws, body, origination)
    assert client.lambda_.invoke("sms_inbound_worker", sqs_event(*take("sms-inbound"))).payload == {
        "batchItemFailures": []}


def _texted(account, number: str) -> None:
    """A message record of the account's text to `number`, as a campaign leaves it."""
    from tests.support.retention import sent_message

    sent_message(f"m-{number}", account["account_id"], phone_hash(number, hash_key()))


def test_p12_help_and_start_from_a_number_no_account_texted_are_not_answered_its_stop_is_confirmed_once(
        client, aws, account, app_logs):
    """Answering any number that sends HELP or START would let whoever forges an origination
    number (or a misrouting carrier) have the platform text numbers of its choosing, three a
    day each: only a number an account texted is answered. Its STOP still suppresses the number
    platform-wide (P07) and is confirmed once (its person may be a subscriber texted 30-60 days
    ago); a repeated STOP is answered by nothing."""
    for body in ("HELP", "START", "Info", "help " * 300, "\N{CYRILLIC CAPITAL LETTER EN}ELP"):
        _keyword_from(client, aws, body, origination=BOB)
    assert sent_sms() == []
    assert app_logs.getvalue().count("no account texted the number") == 4, "all but the long reply"
    for _ in range(2):
        _keyword_from(client, aws, "STOP", origination=BOB)
    _keyword_from(client, aws, "HELP", origination=BOB)
    bob = phone_hash(BOB, hash_key())
    assert suppressed_hashes(account["account_id"], [bob]) == {bob}
    assert _replies_to(BOB) == [answer_text(Keyword.STOP, [], answer_language(BOB))]
    assert BOB not in app_logs.getvalue() and BOB[1:] not in app_logs.getvalue()


@pytest.mark.parametrize("origination", [ANN, "+40 712 345 678", "+40 (712) 345-678", "+40.712.345.678"])
def test_p12_help_from_a_texted_number_is_answered_however_the_number_is_written(
        client, aws, account, origination):
    _texted(account, ANN)
    _keyword_from(client, aws, "HELP", origination=origination)
    _keyword_from(client, aws, "START", origination=origination)
    assert _replies_to(ANN) == [answer_text(Keyword.HELP, ["Acme Ltd"], answer_language(ANN)),
                                answer_text(Keyword.START, [], answer_language(ANN))]


def test_p12_help_is_answered_with_the_names_of_the_accounts_that_texted_the_number_and_nothing_else(
        client, aws, account, headers, list_id):
    from chalicelib.cli import create_account_with_key

    create_account_with_key("Other Ltd", {})
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN, name="Ann Secret")
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    _keyword_from(client, aws, "help")
    _keyword_from(client, aws, "HELP", origination=BOB)
    [to_ann] = _replies_to(ANN)
    assert to_ann == answer_text(Keyword.HELP, ["Acme Ltd"], answer_language(ANN))
    assert "Other Ltd" not in to_ann and "Ann" not in to_ann and "Texts" not in to_ann
    assert _replies_to(BOB) == [], "nobody texted Bob: he is nobody's subscriber"


def test_p12_help_does_not_name_an_account_whose_text_to_the_number_was_never_sent(
        client, aws, account, headers, list_id):
    """A campaign text counted as failed and never sent leaves an `unsent` record (for redrive
    counting), not a text: HELP must not tell the number that account texted it (P12)."""
    from chalicelib.cli import create_account_with_key
    from chalicelib.store.messages import unsent_record

    other = create_account_with_key("Other Ltd", {})
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    for number in (ANN, BOB):
        unsent_record(phone_hash(number, hash_key()), f"m-{number}", other["account_id"], "sms",
                      "c1", "l1").save()
    _keyword_from(client, aws, "help")
    _keyword_from(client, aws, "help", origination=BOB)
    assert _replies_to(ANN) == [answer_text(Keyword.HELP, ["Acme Ltd"], answer_language(ANN))]
    assert _replies_to(BOB) == [], "an unsent text is no text: nobody texted Bob"


def test_p12_a_number_texted_only_a_phone_code_is_answered_help_and_start_a_forged_one_nothing(
        client, aws, account, list_id):
    """A confirmation code is a text the account had sent to the number, recorded like one (P21):
    HELP from its holder names the account, START is answered. A number never texted (a forged
    origination), or typed on an entry whose code was held back (suppressed), is answered nothing."""
    from chalicelib.domain.suppression import PLATFORM_SCOPE

    carol, dave = "+40734567890", "+40745678901"
    suppress_hash(PLATFORM_SCOPE, phone_hash(dave, hash_key()), SuppressionReason.UNSUBSCRIBED)
    for address, number in (("bob@example.com", BOB), ("dave@example.com", dave)):
        subscribe(account["account_id"], list_id, address, phone=number, phone_confirmed=False)
        assert _form_post(client, _prefs_token(account, list_id, address), "phone/code",
                          list_id=list_id).status_code == 200
    [(to, _)] = sent_sms()
    assert to == BOB, "the suppressed number got a code"
    for number in (BOB, carol, dave):
        for body in ("HELP", "START"):
            _keyword_from(client, aws, body, origination=number)
    assert [(to, text) for to, text in sent_sms()[1:]] == [
        (BOB, answer_text(Keyword.HELP, ["Acme Ltd"], answer_language(BOB))),
        (BOB, answer_text(Keyword.START, [], answer_language(BOB)))]


def test_p18_p21_a_phone_codes_record_goes_with_the_persons_erasure(client, aws, account, list_id):
    """The code's record is data about the number's holder, like any text's: an erasure by the
    number deletes it (P18; one by the entry's email too, below), and HELP from the number is
    then answered nothing."""
    from chalicelib.services.privacy import erase_person
    from chalicelib.store.messages import sent_to

    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    assert _form_post(client, _prefs_token(account, list_id, "bob@example.com"), "phone/code",
                      list_id=list_id).status_code == 200
    bob = phone_hash(BOB, hash_key())
    assert [record.kind for record in sent_to(bob)] == ["phone_code"]
    erase_person(account["account_id"], BOB)
    assert list(sent_to(bob)) == []
    _keyword_from(client, aws, "HELP", origination=BOB)
    assert len(sent_sms()) == 1, "the erased number was answered"


def _tables_holding(hashed: str) -> set[str]:
    """The tables with an item that still holds this keyed hash (a test may Scan)."""
    from tests.support.privacy_scan import scan_every_table

    return {name for name, items in scan_every_table().items() if any(hashed in item for item in items)}


def _code_to(client, account, list_id, address: str, number: str) -> str:
    """A code texted to `number`, typed unconfirmed on the entry of `address`: its keyed hash."""
    subscribe(account["account_id"], list_id, address, phone=number, phone_confirmed=False)
    assert _form_post(client, _prefs_token(account, list_id, address), "phone/code",
                      list_id=list_id).status_code == 200
    return phone_hash(number, hash_key())


def test_p18_an_erasure_by_email_takes_the_code_texted_to_its_entrys_unconfirmed_number(
        client, aws, account, list_id):
    """The code went to the number typed on her entry, at her asking: her erasure by email must
    not leave the record of that text (its number's keyed hash) behind until the 30-day purge."""
    from chalicelib.services.privacy import erase_person

    bob = _code_to(client, account, list_id, "bob@example.com", BOB)
    assert "messages" in _tables_holding(bob)
    erase_person(account["account_id"], "bob@example.com")
    assert _tables_holding(bob) == set()


def test_p18_an_erasure_by_email_takes_a_code_texted_to_a_number_the_entry_has_since_changed(
        client, aws, account, list_id):
    """The entry no longer holds the old number, yet the record of its code is still hers (P18)."""
    from chalicelib.services.privacy import erase_person
    from chalicelib.store.subscribers import get_subscriber, update_fields

    bob = _code_to(client, account, list_id, "bob@example.com", BOB)
    update_fields(get_subscriber(list_id, "bob@example.com"), {"phone": "+40734567890"})
    erase_person(account["account_id"], "bob@example.com")
    assert _tables_holding(bob) == set()


def test_p18_an_erasure_by_a_number_leaves_no_trace_of_it_on_the_entry_that_asked_it_a_code(
        client, aws, account, list_id):
    """Ann typed Bob's number and asked it a code: Bob's erasure by his number takes its keyed
    hash off Ann's entry too, which stays Ann's; only the suppression keeps it (P18)."""
    from chalicelib.services.privacy import erase_person
    from chalicelib.store.subscribers import get_subscriber

    bob = _code_to(client, account, list_id, "ann@example.com", BOB)
    erase_person(account["account_id"], BOB)
    assert _tables_holding(bob) == {"suppressions"}
    assert get_subscriber(list_id, "ann@example.com") is not None


def test_p21_an_entry_keeps_the_way_to_a_codes_record_only_while_the_record_may_be_held(
        client, aws, account, list_id):
    """Each code adds where its record is found to the entry; what leads to records past their 30
    days and their purge list's 2 goes with the next code: asked daily, the entry holds no more."""
    from chalicelib.store.subscribers import get_subscriber

    with time_machine.travel(datetime(2027, 3, 1, 9, tzinfo=UTC), tick=False) as traveller:
        _code_to(client, account, list_id, "bob@example.com", BOB)
        traveller.shift(timedelta(days=31))
        assert _form_post(client, _prefs_token(account, list_id, "bob@example.com"), "phone/code",
                          list_id=list_id).status_code == 200
        assert len(get_subscriber(list_id, "bob@example.com").code_texts) == 2, "dropped while held"
        traveller.shift(timedelta(days=1, seconds=1))
        assert _form_post(client, _prefs_token(account, list_id, "bob@example.com"), "phone/code",
                          list_id=list_id).status_code == 200
        texts = get_subscriber(list_id, "bob@example.com").code_texts
    assert [text.sent_at for text in texts] == [datetime(2027, 4, 1, 9, tzinfo=UTC),
                                                datetime(2027, 4, 2, 9, 0, 1, tzinfo=UTC)]


def test_p16_p20_a_code_texted_for_the_entry_is_in_its_persons_export_whatever_the_number_is_now(
        client, aws, account, list_id):
    """Her export by email lists the record of the code texted to her entry's number like her
    other messages, and after the number changed (P16); the answer to whether data is held reads
    the same sections (P20)."""
    from chalicelib.services.privacy import export_person
    from chalicelib.store.subscribers import get_subscriber, update_fields

    _code_to(client, account, list_id, "bob@example.com", BOB)
    [record] = export_person(account["account_id"], "bob@example.com")["messages"]
    assert (record["kind"], record["list_id"], record["sent"]) == ("phone_code", list_id, True)
    update_fields(get_subscriber(list_id, "bob@example.com"), {"phone": "+40734567890"})
    assert export_person(account["account_id"], "bob@example.com")["messages"] == [record]


def test_p18_two_codes_asked_at_once_never_lose_the_way_to_either_record(
        client, aws, account, list_id, monkeypatch):
    """Two asks read the entry before either saves its code: the later save, built on that read,
    must not write over the way to the first code's record (then texted), or an erasure by email
    leaves that text's record behind (P18). It is refused instead, and texts nothing."""
    from chalicelib.services import preferences
    from chalicelib.store import messages
    from chalicelib.store.subscribers import get_subscriber, save_phone_code

    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    filed = messages.list_for_purge

    def asked_meanwhile(account_id, texted):
        # The other ask saves its code between this one's read of the entry and its save.
        save_phone_code(get_subscriber(list_id, "bob@example.com"), "other", ("bucket|entry", "msg_other"))
        return filed(account_id, texted)

    monkeypatch.setattr(preferences.messages, "list_for_purge", asked_meanwhile)
    answer = _form_post(client, _prefs_token(account, list_id, "bob@example.com"), "phone/code",
                        list_id=list_id)
    assert answer.status_code == 429 and sent_sms() == []
    texts = get_subscriber(list_id, "bob@example.com").code_texts
    assert [text.message_id for text in texts] == ["msg_other"]


def test_p18_an_erasure_by_email_takes_a_code_texted_before_the_entry_ended_and_was_signed_up_back(
        client, aws, account, list_id):
    """Her entry was texted a code, then she unsubscribed and signed up back without the number:
    the confirmed signup back replaces the entry, and must keep the way to that record (P18)."""
    from chalicelib.domain.subscriptions import Contact, Source, Status, evidence
    from chalicelib.services.privacy import erase_person
    from chalicelib.store.models import Subscriber
    from chalicelib.store.returning import confirm_return, write_return
    from chalicelib.store.subscribers import ending_actions

    bob = _code_to(client, account, list_id, "bob@example.com", BOB)
    Subscriber(list_id=list_id, address="bob@example.com").update(
        actions=ending_actions(list_id, "bob@example.com", Status.UNSUBSCRIBED))
    consent = evidence(datetime.now(UTC), Source.FORM, 1, ip=None, user_agent=None, form_url=None)
    assert write_return(account["account_id"], Contact(email="bob@example.com"), list_id, consent, None)
    assert confirm_return(Subscriber.get(list_id, "bob@example.com", consistent_read=True), None, None)
    erase_person(account["account_id"], "bob@example.com")
    assert _tables_holding(bob) == set()

def test_p07_p12_a_stop_to_a_phone_code_suppresses_the_number_for_the_account_and_platform_wide(
        client, aws, account, list_id):
    """Whoever holds an entry's link may type any number: a STOP from a number texted only codes
    stops it in the account that texted it and, as a STOP nobody's record explains, everywhere."""
    from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason
    from chalicelib.store.models import Suppression

    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    assert _form_post(client, _prefs_token(account, list_id, "bob@example.com"), "phone/code",
                      list_id=list_id).status_code == 200
    _keyword_from(client, aws, "Stop, please", origination=BOB)
    bob = phone_hash(BOB, hash_key())
    # Each scope's own item: suppressed_hashes of the account would count the platform's too.
    assert Suppression.get(account["account_id"], bob).reason == SuppressionReason.UNSUBSCRIBED.value
    assert Suppression.get(PLATFORM_SCOPE, bob).reason == SuppressionReason.UNSUBSCRIBED.value


def test_p01_start_restarts_nothing_and_says_so(client, aws, account, headers, list_id):
    """Texts go only to a number confirmed through a signup (P01): START lifts no STOP."""
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    _keyword_from(client, aws, "STOP")
    _keyword_from(client, aws, "Start")
    ann = phone_hash(ANN, hash_key())
    assert suppressed_hashes(account["account_id"], [ann]) == {ann}
    assert _replies_to(ANN)[-1] == answer_text(Keyword.START, [], answer_language(ANN))
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    assert len(_campaign_texts()) == 1, "START restarted the texts"


@pytest.mark.parametrize("reply", ["Help me with my order", "Start time?", "Information please", "helpful"])
def test_a_reply_that_only_starts_like_help_or_start_is_not_answered(client, aws, account, reply):
    _texted(account, ANN)
    _keyword_from(client, aws, reply)
    assert sent_sms() == []


def test_p12_a_number_gets_at_most_three_keyword_answers_a_day(client, aws, account, headers, list_id):
    """No reply loop with another robot, no cost attack by repeated keywords: a STOP's confirmation
    and HELP's answers share the number's three a day; the next day it is answered again."""
    from chalicelib.domain.sms_keywords import ANSWERS_PER_NUMBER_PER_DAY

    assert ANSWERS_PER_NUMBER_PER_DAY == 3
    with time_machine.travel(datetime(2027, 3, 1, 9, tzinfo=UTC), tick=False):
        _texted(account, ANN)
        _keyword_from(client, aws, "STOP")
        for _ in range(3):
            _keyword_from(client, aws, "HELP")
        assert len(_replies_to(ANN)) == 3
    with time_machine.travel(datetime(2027, 3, 2, 9, tzinfo=UTC), tick=False):
        _keyword_from(client, aws, "HELP")
    assert len(_replies_to(ANN)) == 4


@pytest.mark.parametrize("reply", [
    "Stop, please", "STOP?", "Stop: no more texts", "Opt out", "OPT OUT please", "opt-out!",
    "\uff33\uff34\uff2f\uff30",  # STOP in full-width letters (a CJK keyboard)
    "Arr\u00eat", "ARR\u00caT.", "\u00abStop\u00bb", "  stop\u2028thanks"])
def test_p12_an_unmistakable_stop_reply_is_a_stop_however_it_is_typed(reply):
    # Other punctuation, full-width letters, an accent or "opt out" in two words: a reply that
    # means stop and was not taken as one would leave the number texted by every campaign.
    assert InboundSms(ANN, "+1212", reply).is_stop, repr(reply)


@pytest.mark.parametrize("reply", ["stopping by later?", "Don't stop", "Optimal", "opt in", "Option out",
                                   "Endless thanks", "Removed?", "s-top", "", "   ", "!!!",
                                   # invisible format characters (copied from a hyphenated page)
                                   "End\u00adless thanks", "End\u200bless thanks", "End\u2060less",
                                   # a word joined by any dash, as by the ASCII hyphen
                                   "Stop-motion", "Stop\u2011motion", "Stop\u2013motion"])
def test_p12_a_reply_that_only_looks_like_a_stop_is_not_one(reply):
    assert not InboundSms(ANN, "+1212", reply).is_stop, repr(reply)


# Cyrillic and Greek letters drawn like Latin ones (domain/lookalikes.py), by their Unicode names.
CYR_O, CYR_ES, CYR_TE, CYR_ER = "\N{CYRILLIC CAPITAL LETTER O}", "\N{CYRILLIC CAPITAL LETTER ES}", \
    "\N{CYRILLIC CAPITAL LETTER TE}", "\N{CYRILLIC CAPITAL LETTER ER}"


@pytest.mark.parametrize("reply, keyword", [
    (f"ST{CYR_O}P", Keyword.STOP),
    ("\N{CYRILLIC CAPITAL LETTER DZE}" f"{CYR_TE}{CYR_O}{CYR_ER}", Keyword.STOP),  # every letter Cyrillic
    ("\N{CYRILLIC SMALL LETTER DZE}\N{CYRILLIC SMALL LETTER TE}\N{CYRILLIC SMALL LETTER O}"
     "\N{CYRILLIC SMALL LETTER ER}", Keyword.STOP),  # in small letters: "st" drawn as "sᴛ"
    ("ST\N{GREEK CAPITAL LETTER OMICRON}\N{GREEK CAPITAL LETTER RHO}, please", Keyword.STOP),
    (f"{CYR_ES}\N{CYRILLIC CAPITAL LETTER A}NC\N{CYRILLIC CAPITAL LETTER IE}L", Keyword.STOP),
    ("\N{GREEK CAPITAL LETTER EPSILON}\N{GREEK CAPITAL LETTER NU}D", Keyword.STOP),
    (f"{CYR_O}pt \N{CYRILLIC SMALL LETTER O}ut", Keyword.STOP),
    (f"\uff33\u200b{CYR_TE}\uff2f\u00adP!", Keyword.STOP),  # full-width, Cyrillic and invisible at once
    ("Arr\N{CYRILLIC SMALL LETTER IE}\u0302t", Keyword.STOP),  # "Arrêt" with a Cyrillic e
    ("\N{CYRILLIC CAPITAL LETTER EN}ELP", Keyword.HELP),
    ("\N{GREEK CAPITAL LETTER ETA}\N{GREEK CAPITAL LETTER EPSILON}LP", Keyword.HELP),
    ("\N{CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I}NFO", Keyword.HELP),
    (f"S{CYR_TE}\N{GREEK CAPITAL LETTER ALPHA}RT", Keyword.START)])
def test_p06_p07_p12_a_keyword_typed_with_cyrillic_or_greek_look_alikes_is_the_keyword(reply, keyword):
    """"ST\N{CYRILLIC CAPITAL LETTER O}P" reads STOP to whoever typed it: a person who means STOP is
    stopped (P06, P07), whatever script the phone's keyboard took each letter from."""
    assert InboundSms(ANN, "+1212", reply).keyword is keyword, ascii(reply)


def test_p12_the_look_alike_table_reads_only_cyrillic_and_greek_letters_each_as_one_latin_letter():
    """Keyword matching only: the table turns no Latin letter, digit or punctuation into another,
    and no look-alike is listed under two letters (the later would silently win)."""
    import unicodedata

    from chalicelib.domain.lookalikes import _LOOKALIKES, as_latin

    listed = "".join(_LOOKALIKES.values())
    assert len(listed) == len(set(listed))
    for latin, lookalikes in _LOOKALIKES.items():
        assert latin.isascii() and latin.isalpha()
        for char in lookalikes:
            assert unicodedata.name(char).startswith(("CYRILLIC ", "GREEK ")), unicodedata.name(char)
            assert as_latin(char) == latin
    printable = "".join(map(chr, range(32, 127)))
    assert as_latin(printable) == printable


def test_p07_p12_every_listed_look_alike_reaches_the_keywords_as_its_letter():
    """No entry of the table is dead: the compatibility form turned the lunate sigmas (drawn C)
    into sigmas before the table was read, so "\N{GREEK CAPITAL LUNATE SIGMA SYMBOL}ANCEL", which
    reads CANCEL, opted nobody out (P07, P12)."""
    from chalicelib.domain.lookalikes import _LOOKALIKES
    from chalicelib.domain.sms_replies import _plain

    for latin, lookalikes in _LOOKALIKES.items():
        for char in lookalikes:
            assert _plain(char) == latin.casefold(), ascii(char)
    for reply in ("\N{GREEK CAPITAL LUNATE SIGMA SYMBOL}ANCEL", "\N{GREEK LUNATE SIGMA SYMBOL}ancel"):
        assert InboundSms(ANN, "+1212", reply).keyword is Keyword.STOP, ascii(reply)


def _bold(word: str) -> str:
    """`word` in the mathematical bold capitals a "fancy text" keyboard types (U+1D400 is A)."""
    return "".join(chr(0x1D400 + ord(letter) - ord("A")) for letter in word)


@pytest.mark.parametrize("reply, keyword", [
    # Latin small capitals, which no compatibility form folds: read by their names.
    ("\N{LATIN LETTER SMALL CAPITAL S}\N{LATIN LETTER SMALL CAPITAL T}\N{LATIN LETTER SMALL CAPITAL O}"
     "\N{LATIN LETTER SMALL CAPITAL P}", Keyword.STOP),
    ("\N{LATIN LETTER SMALL CAPITAL E}\N{LATIN LETTER SMALL CAPITAL N}\N{LATIN LETTER SMALL CAPITAL D}",
     Keyword.STOP),
    ("\N{LATIN LETTER SMALL CAPITAL H}\N{LATIN LETTER SMALL CAPITAL E}\N{LATIN LETTER SMALL CAPITAL L}"
     "\N{LATIN LETTER SMALL CAPITAL P}", Keyword.HELP),
    ("\N{LATIN CAPITAL LETTER SMALL CAPITAL I}NFO", Keyword.HELP),
    ("\N{LATIN LETTER SMALL CAPITAL S}\N{LATIN LETTER SMALL CAPITAL T}\N{LATIN LETTER SMALL CAPITAL A}"
     "\N{LATIN LETTER SMALL CAPITAL R}\N{LATIN LETTER SMALL CAPITAL T}", Keyword.START),
    # Negative circled and squared capitals (emoji-like), which no compatibility form folds either.
    ("\N{NEGATIVE SQUARED LATIN CAPITAL LETTER S}\N{NEGATIVE SQUARED LATIN CAPITAL LETTER T}"
     "\N{NEGATIVE SQUARED LATIN CAPITAL LETTER O}\N{NEGATIVE SQUARED LATIN CAPITAL LETTER P}", Keyword.STOP),
    ("\N{NEGATIVE CIRCLED LATIN CAPITAL LETTER S}TOP", Keyword.STOP),
    # What the compatibility form folds: full-width, mathematical, circled and modifier letters.
    ("\uff33\uff34\uff2f\uff30", Keyword.STOP), (_bold("STOP"), Keyword.STOP), (_bold("HELP"), Keyword.HELP),
    ("\U0001d4ae\U0001d4af\U0001d4aa\U0001d4ab", Keyword.STOP),  # mathematical script
    ("\N{CIRCLED LATIN CAPITAL LETTER S}\N{CIRCLED LATIN CAPITAL LETTER T}OP", Keyword.STOP),
    ("\N{MODIFIER LETTER SMALL S}\N{MODIFIER LETTER SMALL T}\N{MODIFIER LETTER SMALL O}"
     "\N{MODIFIER LETTER SMALL P}", Keyword.STOP),
    ("\N{LATIN SMALL LETTER LONG S}top", Keyword.STOP),
    # Marks drawn on a letter, even one with no combining class (an enclosing circle), and what is
    # drawn as nothing: zero-width characters, bidi controls, tags; line separators end a word.
    ("S\u0336T\u0336O\u0336P\u0336", Keyword.STOP), ("S\N{COMBINING ENCLOSING CIRCLE}TOP", Keyword.STOP),
    ("HE\N{COMBINING ENCLOSING KEYCAP}LP", Keyword.HELP),
    ("S\u200dT\u200cO\u200bP", Keyword.STOP), ("\u202eSTOP\u202c", Keyword.STOP),
    ("\u2067HELP\u2069", Keyword.HELP), ("STOP\U000e0041", Keyword.STOP),
    ("\u2028STOP\u2029", Keyword.STOP), ("\u2029HELP\u2028", Keyword.HELP),
    ("\N{LATIN LETTER SMALL CAPITAL S}\u200bTOP\u2028please", Keyword.STOP)])
def test_p06_p07_p12_a_keyword_in_small_capitals_fancy_letters_or_with_hidden_marks_is_the_keyword(
        reply, keyword):
    """A "fancy text" keyboard's letters read as the keyword to whoever typed them: a person who
    means STOP is stopped (P06, P07), and one who asks for HELP is answered (P12)."""
    assert InboundSms(ANN, "+1212", reply).keyword is keyword, ascii(reply)


@pytest.mark.parametrize("reply", [
    "\N{LATIN LETTER SMALL CAPITAL S}\N{LATIN LETTER SMALL CAPITAL T}\N{LATIN LETTER SMALL CAPITAL O}"
    "\N{LATIN LETTER SMALL CAPITAL P}ping by later?",
    f"{_bold('STOP')}-motion", "S\u2028TOP", "HE\u2029LP", "\N{LATIN LETTER SMALL CAPITAL S}\u00a0TOP",
    # A letter drawn with a stroke or turned is another letter.
    "ST\N{LATIN CAPITAL LETTER O WITH STROKE}P", "\N{LATIN SMALL LETTER ESH}TOP"])
def test_p12_a_fancy_or_hidden_character_makes_no_keyword_of_what_is_not_one(reply):
    """Only a letter drawn another way is read as it: a word break drawn as one still breaks the
    word, and a letter that is another letter stays so."""
    assert InboundSms(ANN, "+1212", reply).keyword is None, ascii(reply)


@pytest.mark.parametrize("reply", [
    "СТОП", "Стоп, пожалуйста", "Старт", "Спасибо", "Хорошо", "Помощь", "торт",  # Russian
    "КРАЙ",  # "end" in Bulgarian
    "ΣΤΟΠ", "Τέλος", "Βοήθεια",  # Greek
    # Every letter a look-alike, reading POCT and TOP: no keyword.
    f"{CYR_ER}{CYR_O}{CYR_ES}{CYR_TE}", "\N{GREEK CAPITAL LETTER TAU}\N{GREEK CAPITAL LETTER OMICRON}"
    "\N{GREEK CAPITAL LETTER RHO}",
    f"ST{CYR_O}Pping by later?"])
def test_p12_a_russian_or_greek_word_is_no_keyword_by_its_look_alike_letters(reply):
    """Only keyword matching reads look-alikes as Latin, and a word of the language keeps letters
    that have none: no Russian or Greek reply is taken for a keyword it does not look like."""
    assert InboundSms(ANN, "+1212", reply).keyword is None, ascii(reply)


DOTLESS_I, DOTLESS_J = "\N{LATIN SMALL LETTER DOTLESS I}", "\N{LATIN SMALL LETTER DOTLESS J}"


@pytest.mark.parametrize("reply, keyword", [
    (f"QU{DOTLESS_I}T", Keyword.STOP), (f"UNSUBSCR{DOTLESS_I}BE", Keyword.STOP),
    (f"qu{DOTLESS_I}t", Keyword.STOP),  # QUIT in small letters on a phone set to Turkish
    (f"{DOTLESS_I}nfo", Keyword.HELP), (f"a{DOTLESS_J}utor", Keyword.HELP),
    (f"A{DOTLESS_J}UTOR", Keyword.HELP),
    ("\U0001d42a\U0001d42e\N{MATHEMATICAL ITALIC SMALL DOTLESS I}\U0001d42d", Keyword.STOP),  # math letters
    # A dot drawn on it, hidden or bidi characters around it, line separators, and a mix of families.
    (f"QU{DOTLESS_I}\u0307T", Keyword.STOP), (f"QU\u200b{DOTLESS_I}\u00adT", Keyword.STOP),
    (f"\u2067QU{DOTLESS_I}T\u2069", Keyword.STOP), (f"\u2028qu{DOTLESS_I}t\u2029please", Keyword.STOP),
    (f"Q\N{LATIN LETTER SMALL CAPITAL U}{DOTLESS_I}{CYR_TE}", Keyword.STOP)])
def test_p07_p12_a_keyword_typed_with_a_dotless_i_or_j_is_the_keyword(reply, keyword):
    """"QU\N{LATIN SMALL LETTER DOTLESS I}T" reads QUIT, and a Turkish phone lower-cases QUIT so:
    whoever sends it means to opt out (P07, P12), or asks for help."""
    assert InboundSms(ANN, "+1212", reply).keyword is keyword, ascii(reply)


def test_p12_a_small_dotless_letter_reads_as_the_small_letter_and_a_capital_keeps_its_case():
    from chalicelib.domain.lookalikes import as_latin

    assert as_latin(f"QU{DOTLESS_I}T qu{DOTLESS_I}t a{DOTLESS_J}utor") == "QUiT quit ajutor"
    assert as_latin("\N{LATIN LETTER SMALL CAPITAL T}\N{NEGATIVE SQUARED LATIN CAPITAL LETTER O}") == "TO"


@pytest.mark.parametrize("reply", [
    "Dur", "DUR", "\u0130ptal", "\u0130PTAL", "iptal", "\u00c7\u0131k", "\u00c7IKI\u015e",
    "\u00e7\u0131k\u0131\u015f", "Yard\u0131m", "YARDIM", "Bilgi", "Ba\u015fla", "Tamam",
    "Te\u015fekk\u00fcrler", "\u0131s\u0131rmak", f"QU{DOTLESS_I}Tting"])
def test_p12_a_turkish_word_is_no_keyword_by_its_dotless_i(reply):
    """Turkish writes the dotless i as a letter of its own: reading it as i makes no Turkish word
    ("stop", "cancel", "help", "start", "thanks") a keyword."""
    assert InboundSms(ANN, "+1212", reply).keyword is None, ascii(reply)


def _regional(word: str) -> str:
    """`word` in the regional indicator letters an emoji keyboard types (U+1F1E6 is A)."""
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in word)


@pytest.mark.parametrize("reply, keyword", [
    (_regional("STOP"), Keyword.STOP), (_regional("UNSUBSCRIBE"), Keyword.STOP),
    (_regional("HELP"), Keyword.HELP), (_regional("START"), Keyword.START),
    ("\u200b".join(_regional("STOP")), Keyword.STOP),  # spaced so that no two make a flag
    ("\ufe0f".join(_regional("HELP")), Keyword.HELP), (f"\u202e{_regional('STOP')}\u202c", Keyword.STOP),
    (f"{_regional('STOP')}, please", Keyword.STOP), (f"\u2028{_regional('STOP')}\u2029thanks", Keyword.STOP),
    (f"\u2066{_regional('ST')}\u034f\u00ad{_regional('OP')}\u2069", Keyword.STOP),
    (_regional("TD"), Keyword.STOP),  # drawn as Chad's flag: the letters TD all the same
    # A flag beside a keyword is an emoji, no letters of it or word after it.
    (f"STOP{_regional('US')}", Keyword.STOP), (f"Stop{_regional('GB')} please", Keyword.STOP),
    (f"HELP{_regional('RO')}", Keyword.HELP), (f"{_regional('FR')}Stop", Keyword.STOP),
    (f"{_regional('US')} START {_regional('US')}", Keyword.START),
    (f"{_regional('OPT')}-{_regional('OUT')}", Keyword.STOP),
    (f"{_regional('OPT')} {_regional('OUT')}", Keyword.STOP),
    (f"STOP\u200b{_regional('PL')}", Keyword.STOP), (f"{_regional('STOP')}{_regional('US')}", None)])
def test_p07_p12_a_keyword_typed_in_regional_indicator_letters_is_the_keyword(reply, keyword):
    """An emoji keyboard's letters (REGIONAL INDICATOR SYMBOL LETTER S...) spell the keyword to
    whoever typed them: a person who means STOP is stopped (P07, P12), one who asks for HELP answered."""
    assert InboundSms(ANN, "+1212", reply).keyword is keyword, ascii(reply)


@pytest.mark.parametrize("reply", [
    _regional("RO"), f"{_regional('FR')} merci", _regional("ST"), f"{_regional('STO')}\u2028P",
    f"{_regional('ST')}OP", f"ST{_regional('OP')}"])
def test_p12_a_flag_or_regional_letters_spelling_no_keyword_are_no_keyword(reply):
    assert InboundSms(ANN, "+1212", reply).keyword is None, ascii(reply)


@pytest.mark.parametrize("reply", [
    # Circled and squared letters between two flags: read as STOP before regional letters were.
    f"{_regional('US')}\N{CIRCLED LATIN CAPITAL LETTER S}\N{CIRCLED LATIN CAPITAL LETTER T}"
    f"\N{CIRCLED LATIN CAPITAL LETTER O}\N{CIRCLED LATIN CAPITAL LETTER P}{_regional('US')}",
    f"{_regional('FR')}\N{SQUARED LATIN CAPITAL LETTER S}\N{SQUARED LATIN CAPITAL LETTER T}"
    f"\N{SQUARED LATIN CAPITAL LETTER O}\N{SQUARED LATIN CAPITAL LETTER P}!{_regional('FR')}",
    f"{_regional('GB')}\N{NEGATIVE SQUARED LATIN CAPITAL LETTER S}\N{NEGATIVE SQUARED LATIN CAPITAL LETTER T}"
    f"\N{NEGATIVE SQUARED LATIN CAPITAL LETTER O}\N{NEGATIVE SQUARED LATIN CAPITAL LETTER P}\u2764\ufe0f"
    f"{_regional('GB')}",
    # A comma or an emoji after a keyword in regional letters ends it, as after any word.
    f"{_regional('STOP')},{_regional('PLZ')}", f"{_regional('STOP')}\u2764\ufe0f{_regional('US')}",
    f"{_regional('STOP')}!{_regional('US')}"])
def test_p07_p12_only_what_is_drawn_as_nothing_or_a_dash_joins_regional_letters(reply):
    """A run of regional letters takes in what is drawn as nothing or a dash between them
    ("\N{REGIONAL INDICATOR SYMBOL LETTER O}\N{REGIONAL INDICATOR SYMBOL LETTER P}..-..."), and
    nothing else: a circled STOP between two flags, which the compatibility form folds to STOP,
    was taken into the flags' run and lost, and so was a STOP in regional letters followed by a
    comma, a heart and a flag (P07, P12)."""
    assert InboundSms(ANN, "+1212", reply).keyword is Keyword.STOP, ascii(reply)


def _parenthesised(word: str) -> str:
    """`word` in parenthesised small letters (U+249C is a), which the compatibility form makes "(s)"."""
    return "".join(chr(0x249C + ord(letter) - ord("a")) for letter in word)


@pytest.mark.parametrize("reply, keyword", [
    (_parenthesised("stop"), Keyword.STOP), (_parenthesised("help"), Keyword.HELP),
    (_parenthesised("start"), Keyword.START), (_parenthesised("optout"), Keyword.STOP),
    ("\N{PARENTHESIZED LATIN CAPITAL LETTER S}\N{PARENTHESIZED LATIN CAPITAL LETTER T}"
     "\N{PARENTHESIZED LATIN CAPITAL LETTER O}\N{PARENTHESIZED LATIN CAPITAL LETTER P}", Keyword.STOP),
    ("\N{TORTOISE SHELL BRACKETED LATIN CAPITAL LETTER S}TOP", Keyword.STOP),
    # Circled and squared letters, which the compatibility form folds to their letter.
    ("\N{CIRCLED LATIN SMALL LETTER S}\N{CIRCLED LATIN SMALL LETTER T}\N{CIRCLED LATIN SMALL LETTER O}"
     "\N{CIRCLED LATIN SMALL LETTER P}", Keyword.STOP),
    ("\N{SQUARED LATIN CAPITAL LETTER S}\N{SQUARED LATIN CAPITAL LETTER T}OP", Keyword.STOP),
    # Hidden, bidi and combining characters between them, line separators around, a mix of families.
    ("\u200b".join(_parenthesised("stop")), Keyword.STOP),
    ("\u0336".join(_parenthesised("stop")), Keyword.STOP),
    (f"\u2066{_parenthesised('help')}\u2069", Keyword.HELP),
    (f"\u2028{_parenthesised('stop')}\u2029", Keyword.STOP),
    (f"{_parenthesised('stop')}, please", Keyword.STOP),
    (f"{_parenthesised('s')}\N{NEGATIVE CIRCLED LATIN CAPITAL LETTER T}\N{LATIN LETTER SMALL CAPITAL O}P",
     Keyword.STOP),
    (f"{_parenthesised('qu')}{DOTLESS_I}\N{CIRCLED LATIN CAPITAL LETTER T}", Keyword.STOP),
    ("ST\N{CYRILLIC CAPITAL LETTER O WITH DIAERESIS}P", Keyword.STOP)])  # a Cyrillic O under its marks
def test_p07_p12_a_keyword_in_parenthesised_or_circled_letters_is_the_keyword(reply, keyword):
    """"\N{PARENTHESIZED LATIN SMALL LETTER S}\N{PARENTHESIZED LATIN SMALL LETTER T}..." reads stop
    to whoever typed it, though the compatibility form makes "(s)(t)(o)(p)" of it: read by name,
    it opts out (P07, P12)."""
    assert InboundSms(ANN, "+1212", reply).keyword is keyword, ascii(reply)


@pytest.mark.parametrize("reply", [f"{_parenthesised('stop')}ping by later?", _parenthesised("stopping"),
                                   f"{_parenthesised('s')} {_parenthesised('top')}",
                                   f"{_parenthesised('help')}{_parenthesised('ful')}"])
def test_p12_parenthesised_letters_spelling_no_keyword_are_no_keyword(reply):
    assert InboundSms(ANN, "+1212", reply).keyword is None, ascii(reply)


def test_p06_p07_p12_a_stop_with_a_cyrillic_o_keeps_the_next_campaign_from_texting_the_number(
        client, aws, account, headers, list_id):
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    _keyword_from(client, aws, f"ST{CYR_O}P")
    ann = phone_hash(ANN, hash_key())
    assert suppressed_hashes(account["account_id"], [ann]) == {ann}
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    assert len(_campaign_texts()) == 1, "the second campaign texted the number that replied STOP"


def test_p06_p12_a_stop_reply_with_a_comma_keeps_the_next_campaign_from_texting_the_number(
        client, aws, account, headers, list_id):
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    _inbound(aws, "Stop, thank you")
    client.lambda_.invoke("sms_inbound_worker", sqs_event(*take("sms-inbound")))
    ann = phone_hash(ANN, hash_key())
    assert suppressed_hashes(account["account_id"], [ann]) == {ann}
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    assert len(_campaign_texts()) == 1, "the second campaign texted the number that replied STOP"


def test_a_test_sms_goes_to_the_given_number_only(client, account, headers, list_id, publishes):
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    campaign = _sms_campaign(client, headers, list_id)
    response = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/test", headers=headers,
                                body=json.dumps({"addresses": [BOB]}))
    assert response.status_code == 202, response.body
    assert [number for number, _ in sent_sms()] == [BOB]


@pytest.mark.parametrize("scope", ["account", "platform"])
def test_p12_a_test_sms_to_a_number_that_opted_out_is_refused_whole(client, account, headers, list_id,
                                                                    publishes, scope):
    from chalicelib.config import hash_key
    from chalicelib.domain.privacy import phone_hash
    from chalicelib.domain.suppression import PLATFORM_SCOPE
    from chalicelib.store.suppressions import suppress_hash

    campaign = _sms_campaign(client, headers, list_id)
    # As a STOP reply (or an erasure) leaves it.
    suppress_hash(account["account_id"] if scope == "account" else PLATFORM_SCOPE,
                  phone_hash(ANN, hash_key()), SuppressionReason.UNSUBSCRIBED)
    response = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/test", headers=headers,
                                body=json.dumps({"addresses": [BOB, ANN]}))
    assert response.status_code == 409, response.body
    assert json.loads(response.body)["error"]["field"] == "addresses"
    assert "addresses[1]" in json.loads(response.body)["error"]["message"] and sent_sms() == []
    # The number that never opted out alone: sent.
    response = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/test", headers=headers,
                                body=json.dumps({"addresses": [BOB]}))
    assert response.status_code == 202 and [number for number, _ in sent_sms()] == [BOB]


@pytest.mark.parametrize("code", ["InvalidParameter", "Throttling"])
def test_parity_a_test_text_sns_refuses_is_a_422_naming_addresses_and_which_were_sent(
        client, headers, list_id, monkeypatch, code):
    from botocore.exceptions import ClientError

    from chalicelib.adapters import sns

    real = sns.send_sms

    def refuse_bob(number, text, sms_type):
        if number == BOB:
            raise ClientError({"Error": {"Code": code, "Message": f"refused {number}"}}, "Publish")
        return real(number, text, sms_type)

    monkeypatch.setattr(sns, "send_sms", refuse_bob)
    monkeypatch.setattr("chalicelib.adapters.retries.time.sleep", lambda seconds: None)
    campaign = _sms_campaign(client, headers, list_id)
    # Ann typed twice: the refused number is named by its place in the request as sent.
    response = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/test", headers=headers,
                                body=json.dumps({"addresses": [ANN, "+40 712 345 678", BOB]}))
    assert response.status_code == 422, response.body
    error = json.loads(response.body)["error"]
    assert error["field"] == "addresses" and "addresses[2] was not texted" in error["message"]
    assert code in error["message"] and "the numbers before it were" in error["message"]
    assert BOB not in error["message"], "the number is named by its place, never written back"
    assert [number for number, _ in sent_sms()] == [ANN]


def test_the_template_lets_the_lambdas_publish_sms_and_feeds_replies_to_their_queue():
    from chalicelib.config import read_settings
    from infra.template import LambdaFunction, SqsHandler, build_merge_template

    merge = build_merge_template(read_settings({"TIDINGS_PREFIX": "acme"}),
                                 [LambdaFunction("SmsInboundWorker", "SmsInboundWorkerRole",
                                                 "sms_inbound_worker"),
                                  LambdaFunction("CampaignSendWorker", "CampaignSendWorkerRole",
                                                 "campaign_send_worker")],
                                 [SqsHandler("SmsInboundWorker", "SmsInboundWorkerSqsEventSource",
                                             "acme-sms-inbound")])
    resources = merge["Resources"]
    (policy,) = resources["CampaignSendWorkerRole"]["Properties"]["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert statements["SendSms"]["Action"] == ["sns:Publish"]
    assert statements["SendSms"]["NotResource"] == [{"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}]
    assert "sns:ListPhoneNumbersOptedOut" in statements["ReadSmsOptOuts"]["Action"]
    assert resources["SmsInboundTopic"]["Properties"]["TopicName"] == "acme-sms-inbound"
    subscription = resources["SmsInboundTopicSubscription"]["Properties"]
    assert subscription["Endpoint"] == {"Fn::GetAtt": ["SmsInboundQueue", "Arn"]}


# --- P04: a phone held is a person's own phone, never a number that costs them ---------------------------

# phonenumbers' example number of each type that costs whoever texts it, or reaches no one's phone.
NOT_PERSONAL_PHONES = {"premium-rate": "+40900123456", "shared-cost": "+40801123456", "UAN": "+40372123456",
                       "voicemail": "+49177991234567", "pager": "+447640123456",
                       "personal number": "+447012345678"}


@pytest.mark.parametrize("number", NOT_PERSONAL_PHONES.values(), ids=NOT_PERSONAL_PHONES)
def test_p04_a_number_that_costs_or_is_no_personal_phone_is_refused_at_intake_naming_phone(
        client, headers, list_id, number):
    created = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=headers,
                               body=json.dumps({"email": "ann@example.com", "phone": number}))
    assert created.status_code == 400, created.body
    assert json.loads(created.body)["error"]["field"] == "phone"
    taken = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=headers,
                             body=json.dumps({"email": "ann@example.com", "phone": ANN}))
    assert taken.status_code in (201, 202), taken.body
    patched = client.http.patch(f"/v1/lists/{list_id}/subscribers/ann@example.com", headers=headers,
                                body=json.dumps({"phone": number}))
    assert patched.status_code == 400 and json.loads(patched.body)["error"]["field"] == "phone"


@pytest.mark.parametrize("number", ["+40712345678", "+40212345678", "+12015550123"],
                         ids=["mobile", "fixed line", "fixed line or mobile"])
def test_p04_a_mobile_or_fixed_line_number_is_taken(number):
    from chalicelib.domain.subscriptions import textable_phone

    assert textable_phone(number) == number


def test_p12_p18_a_number_refused_at_intake_is_still_a_subject_for_requests_and_stop_replies():
    """A person may ask about or erase, and STOP, any number held before the check (P12, P18)."""
    from chalicelib.domain.privacy import subject_of

    premium = NOT_PERSONAL_PHONES["premium-rate"]
    assert parse_inbound_sms({"originationNumber": premium, "destinationNumber": "+1212",
                              "messageBody": "STOP"}).origination == premium
    assert subject_of(phone=premium).value == premium


# --- P01-P03 for SMS: only numbers their person confirmed --------------------------------------------

def _prefs_token(account: dict[str, Any], list_id: str, address: str) -> str:
    from chalicelib.config import signer
    from chalicelib.domain.mail_links import PREFERENCES, LinkClaim, link_token

    return link_token(signer(), PREFERENCES, LinkClaim(account["account_id"], list_id, address, None))


def _form_post(client, token: str, path: str, **fields: str) -> Any:
    import re
    from urllib.parse import urlencode

    page = client.http.get(f"/p/{token}").body.decode()
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return client.http.post(f"/p/{token}/{path}", headers=form, body=urlencode({"nonce": nonce, **fields}))


def test_p01_p03_marketing_sms_go_only_to_numbers_their_person_confirmed(client, account, headers, list_id):
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    assert [number for number, _ in sent_sms()] == [ANN], "Bob's number was typed, never confirmed"


def test_p01_p02_a_number_is_confirmed_with_a_code_sent_to_it_and_recorded_like_email_consent(
        client, account, headers, list_id):
    from tests.support.lists import stored

    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    token = _prefs_token(account, list_id, "bob@example.com")
    assert "Text me a code to confirm my number" in client.http.get(f"/p/{token}").body.decode()
    assert _form_post(client, token, "phone/code", list_id=list_id).status_code == 200
    (number, text), = sent_sms()
    code = text.split()[0]
    assert number == BOB and len(code) == 6 and code.isdigit()
    assert code not in json.dumps(stored(list_id, "bob@example.com").phone_consent.as_dict(), default=str)
    # Too soon for another code; a wrong code is refused and counted.
    assert _form_post(client, token, "phone/code", list_id=list_id).status_code == 429
    wrong = "000000" if code != "000000" else "111111"
    assert _form_post(client, token, "phone/confirm", list_id=list_id, code=wrong).status_code == 400
    confirmed = _form_post(client, token, "phone/confirm", list_id=list_id, code=code)
    assert confirmed.status_code == 200
    proof = stored(list_id, "bob@example.com").phone_consent
    assert proof.phone == BOB and proof.confirmed_at is not None and proof.code_hash is None
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    assert [number for number, _ in sent_sms()][-1] == BOB


def test_p18_an_entry_erased_while_its_number_is_confirmed_is_a_400_not_a_500(
        client, account, headers, list_id, monkeypatch):
    """Bob's entry is erased (or purged, P29) between the code's check and the confirmation's
    write: the conditional write fails. A 400 saying no number is held, not a 500, and the entry
    is not written back."""
    from chalicelib.store import subscribers as subscriber_store
    from tests.support.lists import stored

    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    token = _prefs_token(account, list_id, "bob@example.com")
    assert _form_post(client, token, "phone/code", list_id=list_id).status_code == 200
    code = sent_sms()[-1][1].split()[0]
    write = subscriber_store.confirm_phone

    def erased_first(entry, ip, user_agent):
        stored(entry.list_id, entry.address).delete()
        return write(entry, ip, user_agent)

    monkeypatch.setattr(subscriber_store, "confirm_phone", erased_first)
    answer = _form_post(client, token, "phone/confirm", list_id=list_id, code=code)
    assert answer.status_code == 400 and "no phone number is held" in answer.body.decode()
    assert stored(list_id, "bob@example.com") is None


def test_p01_p02_asking_a_code_for_a_confirmed_number_keeps_its_proof(client, account, headers, list_id):
    """The page offers no code for a number already confirmed; a POST asking one anyway (a form
    re-sent from a tab left open, or whoever holds the link) must not replace the proof of that
    confirmation with a new code: the number would stop getting SMS, and the proof of the consent
    the SMS already sent went out on would be gone (P02)."""
    from tests.support.lists import stored

    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    token = _prefs_token(account, list_id, "bob@example.com")
    assert _form_post(client, token, "phone/code", list_id=list_id).status_code == 200
    code = sent_sms()[-1][1].split()[0]
    assert _form_post(client, token, "phone/confirm", list_id=list_id, code=code).status_code == 200
    proof = stored(list_id, "bob@example.com").phone_consent
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=10)):
        again = _form_post(client, token, "phone/code", list_id=list_id)
    assert again.status_code == 400
    assert stored(list_id, "bob@example.com").phone_consent.as_dict() == proof.as_dict()
    assert len(sent_sms()) == 1, "no code is texted to a confirmed number"
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    assert [number for number, _ in sent_sms()][-1] == BOB


@pytest.mark.parametrize("status", ["pending", "unsubscribed", "bounced"])
def test_p01_p12_no_phone_code_is_texted_for_an_entry_that_is_not_confirmed(client, account, list_id, status):
    """The page offers a code only for a confirmed entry: a pending one has not confirmed its
    address yet, and an ended one must get nothing more (P12). A POST anyway is a 400 naming
    list_id, texts nothing and writes no code."""
    from tests.support.lists import stored

    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False,
              status=status)
    answer = _form_post(client, _prefs_token(account, list_id, "bob@example.com"), "phone/code",
                        list_id=list_id)
    assert answer.status_code == 400 and "confirmed" in answer.body.decode()
    assert sent_sms() == [] and stored(list_id, "bob@example.com").phone_consent is None


def test_p01_p12_a_code_sent_before_unsubscribing_confirms_nothing_after(client, account, list_id):
    from chalicelib.domain.subscriptions import Status
    from chalicelib.store.models import Subscriber
    from chalicelib.store.subscribers import ending_actions
    from tests.support.lists import stored

    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    token = _prefs_token(account, list_id, "bob@example.com")
    assert _form_post(client, token, "phone/code", list_id=list_id).status_code == 200
    code = sent_sms()[-1][1].split()[0]
    Subscriber.get(list_id, "bob@example.com").update(
        actions=ending_actions(list_id, "bob@example.com", Status.UNSUBSCRIBED))
    answer = _form_post(client, token, "phone/confirm", list_id=list_id, code=code)
    assert answer.status_code == 400 and "confirmed" in answer.body.decode()
    proof = stored(list_id, "bob@example.com").phone_consent
    assert proof.confirmed_at is None and int(proof.attempts or 0) == 0, "not even a try is taken"


def test_p01_a_code_stops_working_after_five_wrong_tries(client, account, list_id):
    from chalicelib.domain.phone_consent import MAX_ATTEMPTS

    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    token = _prefs_token(account, list_id, "bob@example.com")
    _form_post(client, token, "phone/code", list_id=list_id)
    code = sent_sms()[-1][1].split()[0]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(MAX_ATTEMPTS):
        assert _form_post(client, token, "phone/confirm", list_id=list_id, code=wrong).status_code == 400
    assert _form_post(client, token, "phone/confirm", list_id=list_id, code=code).status_code == 400


@pytest.mark.parametrize(("wrong_guesses", "right_code_answer"), [(4, 200), (5, 400)])
def test_p01_guesses_sent_in_parallel_share_the_five_tries(client, account, list_id, monkeypatch,
                                                           wrong_guesses, right_code_answer):
    """Every request reads the entry before any of them counts its try: they all read the same
    count. The tries are taken by a conditional write before the code is compared."""
    import copy

    from chalicelib.domain.phone_consent import MAX_ATTEMPTS
    from chalicelib.services import preferences

    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    token = _prefs_token(account, list_id, "bob@example.com")
    _form_post(client, token, "phone/code", list_id=list_id)
    code = sent_sms()[-1][1].split()[0]
    wrong = "000000" if code != "000000" else "111111"
    read_once = preferences._entry_with_phone(
        preferences.LinkClaim(account["account_id"], list_id, "bob@example.com", None), list_id)
    # Each request gets the entry as it was read before any try (a write updates the object it used).
    monkeypatch.setattr(preferences, "_entry_with_phone", lambda claim, chosen: copy.deepcopy(read_once))
    assert MAX_ATTEMPTS == 5
    for _ in range(wrong_guesses):
        assert _form_post(client, token, "phone/confirm", list_id=list_id, code=wrong).status_code == 400
    right = _form_post(client, token, "phone/confirm", list_id=list_id, code=code)
    assert right.status_code == right_code_answer


@pytest.mark.parametrize(("code", "status"), [("InvalidParameter", 422), ("Throttling", 429)])
def test_p01_a_code_sns_will_not_text_is_a_4xx_page_not_a_500(client, account, list_id, monkeypatch, code,
                                                              status):
    """A number phonenumbers takes but SNS refuses (a destination it does not serve), or SNS
    throttling past the backoff: the person gets a page that says so, never a server error."""
    from botocore.exceptions import ClientError

    from chalicelib.adapters import sns

    def refuse(number, text, sms_type):
        raise ClientError({"Error": {"Code": code, "Message": f"refused {number}"}}, "Publish")

    monkeypatch.setattr(sns, "send_sms", refuse)
    monkeypatch.setattr("chalicelib.adapters.retries.time.sleep", lambda seconds: None)
    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    token = _prefs_token(account, list_id, "bob@example.com")
    response = _form_post(client, token, "phone/code", list_id=list_id)
    assert response.status_code == status, response.body
    page = response.body.decode()
    assert "Something is not right" in page and BOB not in page and code not in page


@pytest.mark.parametrize("held", ["entry and account counters", "number counter"])
def test_p01_a_code_whose_counters_other_requests_hold_is_a_429_not_a_500(client, account, list_id,
                                                                          monkeypatch, held):
    """The account's codes a day are one item all its forms count on: transaction conflicts past
    the retries (CountersBusy) are a 429 to try again, never a server error (P01 for SMS)."""
    from chalicelib.store.models import RateCounter
    from tests.support.faults import conflict_transactions_on

    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    token = _prefs_token(account, list_id, "bob@example.com")
    if held == "number counter":  # the first counting goes through, the number's is held throughout
        from chalicelib.services import preferences

        real = preferences._count_code

        def count_then_conflict(*args):
            real(*args)
            conflict_transactions_on(monkeypatch, RateCounter, 3)

        monkeypatch.setattr(preferences, "_count_code", count_then_conflict)
    else:
        conflict_transactions_on(monkeypatch, RateCounter, 3)
    response = _form_post(client, token, "phone/code", list_id=list_id)
    assert response.status_code == 429, response.body
    assert sent_sms() == []


def test_p01_a_changed_number_needs_confirming_again(client, account, headers, list_id):
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    patched = client.http.patch(f"/v1/lists/{list_id}/subscribers/ann%40example.com", headers=headers,
                                body=json.dumps({"phone": BOB}))
    assert patched.status_code == 200, patched.body
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    assert sent_sms() == []


def test_p13_an_sms_campaigns_report_counts_the_texts_it_sent_and_not_the_email_rates(
        client, account, headers, list_id):
    """Texts sent count in the campaign's report (P13); not in the volume the account's SES bounce
    and complaint rates are computed over (P26): SES never bounces a text, so they would dilute them."""
    from chalicelib.domain.clock import now
    from chalicelib.store.models import AccountHealthDay
    from tests.support.campaigns import report_body

    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB)
    campaign_id = _sms_campaign(client, headers, list_id)["campaign_id"]
    _send(client, headers, campaign_id)
    assert len(sent_sms()) == 2

    report = report_body(client, account, campaign_id)
    assert (report["status"], report["sent"], report["delivered"]) == ("sent", 2, 2), report
    days = AccountHealthDay.query(account["account_id"], AccountHealthDay.day == now().date().isoformat())
    assert sum(int(day.sent or 0) for day in days) == 0


# --- test sends (review 12, B1/B4 and its concerns) ----------------------------------------------------

def _test_send(client, headers, campaign_id: str, numbers: list[str]) -> Any:
    return client.http.post(f"/v1/campaigns/{campaign_id}/test", headers=headers,
                            body=json.dumps({"addresses": numbers}))


def test_p06_p12_a_stop_reply_to_a_test_sms_keeps_the_next_test_from_texting_the_number(
        client, aws, account, headers, list_id):
    """A test SMS ends with "Reply STOP to opt out" (P06): the reply suppresses the number for the
    account that texted it, and only that account, so the next test is refused (P12)."""
    from chalicelib.cli import create_account_with_key

    other = create_account_with_key("Other Ltd", {})
    campaign = _sms_campaign(client, headers, list_id)
    assert _test_send(client, headers, campaign["campaign_id"], [BOB]).status_code == 202
    _inbound(aws, "STOP", origination=BOB)
    result = client.lambda_.invoke("sms_inbound_worker", sqs_event(*take("sms-inbound")))
    assert result.payload == {"batchItemFailures": []}
    bob = phone_hash(BOB, hash_key())
    assert suppressed_hashes(account["account_id"], [bob]) == {bob}, "the STOP suppressed nothing"
    assert suppressed_hashes(other["account_id"], [bob]) == set(), "another tenant never texted Bob"
    again = _test_send(client, headers, campaign["campaign_id"], [BOB])
    assert again.status_code == 409, again.body
    assert json.loads(again.body)["error"]["field"] == "addresses"
    assert len(_campaign_texts()) == 1


def test_p21_a_test_sms_is_a_message_record_of_kind_test_filed_for_the_30_day_purge(
        client, account, headers, list_id):
    from chalicelib.domain.clock import now
    from chalicelib.store import messages
    from chalicelib.store.models import MessagePurgeList

    campaign = _sms_campaign(client, headers, list_id)
    response = _test_send(client, headers, campaign["campaign_id"], [BOB])
    (message_id,) = json.loads(response.body)["message_ids"]
    (record,) = messages.sent_to(phone_hash(BOB, hash_key()))
    assert (record.message_id, record.account_id, record.kind) == (message_id, account["account_id"], "test")
    assert record.count_batch is None, "a test counts in no report"
    assert timedelta(days=27) < record.expires_at - now() <= timedelta(days=30)
    filed = [messages.listed(purge_list) for purge_list in MessagePurgeList.scan()]
    assert {message_id: phone_hash(BOB, hash_key())} in filed


def test_p12_a_test_sms_to_a_number_sns_holds_opted_out_is_refused_whole(client, account, headers, list_id,
                                                                         publishes):
    # moto's CheckIfPhoneNumberIsOptedOut holds every number ending in 99 opted out.
    opted_out = "+40712345699"
    campaign = _sms_campaign(client, headers, list_id)
    response = _test_send(client, headers, campaign["campaign_id"], [BOB, opted_out])
    assert response.status_code == 409, response.body
    error = json.loads(response.body)["error"]
    assert error["field"] == "addresses" and "addresses[1]" in error["message"]
    assert publishes == []


@pytest.mark.parametrize("raw", ["+40 7\u2028123", "+4071234\u00855678", "+40\x00712345678", "call me",
                                 "+40 12", "+" + "4" * 300, NOT_PERSONAL_PHONES["premium-rate"]])
def test_parity_a_bad_test_number_is_refused_naming_the_addresses_field(client, headers, list_id, publishes,
                                                                       raw):
    """The request's field is `addresses`, never `phone`, a field the caller never sent; the
    message says which of them."""
    campaign = _sms_campaign(client, headers, list_id)
    response = _test_send(client, headers, campaign["campaign_id"], [BOB, raw])
    assert response.status_code == 400, response.body
    error = json.loads(response.body)["error"]
    assert error["field"] == "addresses" and "addresses[1]" in error["message"]
    assert publishes == []


def test_p10_a_test_texts_a_number_once_however_it_was_typed(client, headers, list_id):
    campaign = _sms_campaign(client, headers, list_id)
    response = _test_send(client, headers, campaign["campaign_id"],
                          ["+40 712 345 678", "+40712345678", "+40-712-345-678", BOB])
    assert response.status_code == 202, response.body
    assert len(json.loads(response.body)["message_ids"]) == 2
    assert sorted(number for number, _ in sent_sms()) == [ANN, BOB]


def test_p01_test_texts_are_capped_per_account_a_day(client, headers, list_id):
    """A test texts a number that gave no consent (P01), and each text is paid for: an account
    sends TESTS_PER_DAY a day, counted per number (a test that would pass it sends none);
    another account's day is its own."""
    from chalicelib.cli import create_account_with_key
    from chalicelib.domain.campaigns import Channel
    from chalicelib.domain.sending import TESTS_PER_DAY

    limit = TESTS_PER_DAY[Channel.SMS]

    numbers = [f"+407123450{index:02d}" for index in range(limit + 1)]
    campaign_id = _sms_campaign(client, headers, list_id)["campaign_id"]
    with time_machine.travel(datetime(2027, 3, 1, 9, tzinfo=UTC), tick=False):
        for start in range(0, limit - 2, 3):
            assert _test_send(client, headers, campaign_id, numbers[start:start + 3]).status_code == 202
        sent = len(sent_sms())
        assert sent == limit - 2
        over = _test_send(client, headers, campaign_id, numbers[sent:sent + 3])
        assert over.status_code == 429, over.body
        assert json.loads(over.body)["error"]["field"] == "addresses" and len(sent_sms()) == sent
        # Just up to the cap: sent.
        assert _test_send(client, headers, campaign_id, numbers[sent:sent + 2]).status_code == 202
        assert _test_send(client, headers, campaign_id, numbers[-1:]).status_code == 429
        other = create_account_with_key("Other Ltd", {
            "postal_address": "2 Side Street, Cluj", "contact_email": "c@other.example",
            "sender_identity": "news@other.example"})
        other_headers = {"Authorization": f"Bearer {other['api_key']}", "Content-Type": "application/json"}
        other_list = new_list(client, other_headers, "Texts", consent="Yes, text me offers.")
        other_campaign = _sms_campaign(client, other_headers, other_list)["campaign_id"]
        assert _test_send(client, other_headers, other_campaign, numbers[-1:]).status_code == 202
    with time_machine.travel(datetime(2027, 3, 2, 0, 0, 1, tzinfo=UTC), tick=False):
        assert _test_send(client, headers, campaign_id, numbers[-1:]).status_code == 202
    assert len(sent_sms()) == limit + 2


def test_p01_a_test_sms_goes_by_the_campaigns_promotional_route(client, headers, list_id, publishes):
    campaign = _sms_campaign(client, headers, list_id)
    assert _test_send(client, headers, campaign["campaign_id"], [BOB]).status_code == 202
    assert publishes[0]["MessageAttributes"]["AWS.SNS.SMS.SMSType"]["StringValue"] == "Promotional"


# --- phone codes never texted where the number said no (review 12, B2) ---------------------------------

def _stop_from_bob_for_the_account(client, aws, headers, account, list_id) -> None:
    """Bob's number texted by a campaign of the account, then his STOP reply applied."""
    subscribe(account["account_id"], list_id, "ann@example.com", phone=BOB)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    _inbound(aws, "STOP", origination=BOB)
    client.lambda_.invoke("sms_inbound_worker", sqs_event(*take("sms-inbound")))
    bob = phone_hash(BOB, hash_key())
    assert suppressed_hashes(account["account_id"], [bob]) == {bob}


def test_p12_a_phone_code_is_never_texted_to_a_number_that_replied_stop(client, aws, account, headers,
                                                                        list_id):
    """The number's owner replied STOP to the account; the same number typed on another entry, by
    whoever holds that entry's link, gets no code. The page answers as it would have had the code
    gone (P05): 200, and 429 to a second request within the interval."""
    _stop_from_bob_for_the_account(client, aws, headers, account, list_id)
    texted = len(sent_sms())
    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    token = _prefs_token(account, list_id, "bob@example.com")
    response = _form_post(client, token, "phone/code", list_id=list_id)
    assert response.status_code == 200
    assert len(sent_sms()) == texted, "a code was texted to a number that said STOP"
    assert _form_post(client, token, "phone/code", list_id=list_id).status_code == 429


@pytest.mark.parametrize("how", ["platform", "sns"])
def test_p12_a_phone_code_is_never_texted_to_a_number_opted_out_platform_wide_or_at_sns(
        client, account, list_id, how):
    from chalicelib.domain.suppression import PLATFORM_SCOPE

    number = "+40712345699" if how == "sns" else BOB  # moto: a number ending in 99 is opted out
    if how == "platform":
        suppress_hash(PLATFORM_SCOPE, phone_hash(BOB, hash_key()), SuppressionReason.UNSUBSCRIBED)
    subscribe(account["account_id"], list_id, "bob@example.com", phone=number, phone_confirmed=False)
    token = _prefs_token(account, list_id, "bob@example.com")
    assert _form_post(client, token, "phone/code", list_id=list_id).status_code == 200
    assert sent_sms() == []


def test_p12_another_accounts_suppression_does_not_keep_a_code_from_a_number(client, account, list_id):
    from chalicelib.cli import create_account_with_key

    other = create_account_with_key("Other Ltd", {})
    suppress_hash(other["account_id"], phone_hash(BOB, hash_key()), SuppressionReason.UNSUBSCRIBED)
    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    assert _form_post(client, _prefs_token(account, list_id, "bob@example.com"), "phone/code",
                      list_id=list_id).status_code == 200
    assert [number for number, _ in sent_sms()] == [BOB]


def test_p12_an_entry_gets_at_most_its_codes_a_day(client, account, list_id):
    from chalicelib.domain.phone_consent import CODES_PER_ENTRY_PER_DAY, RESEND_INTERVAL

    start = datetime(2027, 3, 1, 9, tzinfo=UTC)
    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    token = _prefs_token(account, list_id, "bob@example.com")
    for index in range(CODES_PER_ENTRY_PER_DAY):
        with time_machine.travel(start + index * RESEND_INTERVAL, tick=False):
            assert _form_post(client, token, "phone/code", list_id=list_id).status_code == 200
    with time_machine.travel(start + CODES_PER_ENTRY_PER_DAY * RESEND_INTERVAL, tick=False):
        refused = _form_post(client, token, "phone/code", list_id=list_id)
    assert refused.status_code == 429 and f"{CODES_PER_ENTRY_PER_DAY} codes today" in refused.body.decode()
    assert len(sent_sms()) == CODES_PER_ENTRY_PER_DAY
    with time_machine.travel(datetime(2027, 3, 2, 0, 0, 1, tzinfo=UTC), tick=False):
        assert _form_post(client, token, "phone/code", list_id=list_id).status_code == 200
    assert len(sent_sms()) == CODES_PER_ENTRY_PER_DAY + 1


@pytest.mark.parametrize(("codes_before", "answer"), [(198, 200), (199, 429)])
def test_p12_an_account_texts_at_most_200_phone_codes_a_day(client, account, list_id, codes_before, answer):
    """Entries typed by whoever holds their links, each within its own caps, must not make one
    account's forms an SMS pump: 200 codes a day per account, the 429 naming the limit."""
    from chalicelib.domain.phone_consent import CODES_PER_ACCOUNT_PER_DAY, account_code_counter
    from chalicelib.store.rate_limits import consume

    assert CODES_PER_ACCOUNT_PER_DAY == 200
    with time_machine.travel(datetime(2027, 3, 1, 9, tzinfo=UTC), tick=False):
        assert consume([account_code_counter(account["account_id"])], datetime.now(UTC),
                       amount=codes_before) == []
        subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
        assert _form_post(client, _prefs_token(account, list_id, "bob@example.com"), "phone/code",
                          list_id=list_id).status_code == 200, "the 199th code of the day"
        subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN, phone_confirmed=False)
        last = _form_post(client, _prefs_token(account, list_id, "ann@example.com"), "phone/code",
                          list_id=list_id)
    assert last.status_code == answer
    assert len(sent_sms()) == (2 if answer == 200 else 1)
    if answer == 429:
        assert "200 codes" in last.body.decode()


def test_p12_a_number_is_texted_at_most_its_codes_a_day_whatever_the_entries_it_is_typed_on(
        client, account, list_id):
    """Typed on many entries (any account), a number gets CODES_PER_NUMBER_PER_DAY codes a day;
    past that the page still answers as if it sent one (200), so it tells nothing."""
    from chalicelib.domain.phone_consent import CODES_PER_NUMBER_PER_DAY

    with time_machine.travel(datetime(2027, 3, 1, 9, tzinfo=UTC), tick=False):
        for index in range(CODES_PER_NUMBER_PER_DAY + 1):
            address = f"typed{index}@example.com"
            subscribe(account["account_id"], list_id, address, phone=BOB, phone_confirmed=False)
            token = _prefs_token(account, list_id, address)
            assert _form_post(client, token, "phone/code", list_id=list_id).status_code == 200
            assert len(sent_sms()) == min(index + 1, CODES_PER_NUMBER_PER_DAY)
        # Another number is not held back by Bob's.
        subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN, phone_confirmed=False)
        assert _form_post(client, _prefs_token(account, list_id, "ann@example.com"), "phone/code",
                          list_id=list_id).status_code == 200
    assert [number for number, _ in sent_sms()].count(ANN) == 1


@pytest.mark.parametrize("held_back", ["number's codes used up", "opted out at SNS"])
def test_p01_a_code_that_was_not_texted_confirms_nothing(client, account, list_id, monkeypatch, held_back):
    """A code held back from the number (its codes for the day used up, or it opted out) reached
    nobody: it must not be there to guess. Else every entry the number is typed on adds its own
    five tries a code and five codes a day, and the number's daily cap bounds texts but not
    guesses: one who signs up many addresses with a stranger's number could confirm it (P01)."""
    from chalicelib.domain import phone_consent
    from chalicelib.store.rate_limits import consume
    from tests.support.lists import stored

    number = "+40712345699" if held_back == "opted out at SNS" else BOB  # moto: ...99 is opted out
    at = datetime(2027, 3, 1, 9, tzinfo=UTC)
    if held_back == "number's codes used up":
        assert consume([phone_consent.number_code_counter(hash_key(), BOB)], at,
                       amount=phone_consent.CODES_PER_NUMBER_PER_DAY) == []
    monkeypatch.setattr(phone_consent, "new_code", lambda: "123456")
    subscribe(account["account_id"], list_id, "mallory@example.com", phone=number, phone_confirmed=False)
    token = _prefs_token(account, list_id, "mallory@example.com")
    with time_machine.travel(at, tick=False):
        assert _form_post(client, token, "phone/code", list_id=list_id).status_code == 200
        assert sent_sms() == []
        guessed = _form_post(client, token, "phone/confirm", list_id=list_id, code="123456")
    assert guessed.status_code == 400
    proof = stored(list_id, "mallory@example.com").phone_consent
    assert proof.confirmed_at is None


# --- a text's size in its own encoding (review 12, B3 and the 1600 concern) -----------------------------

def _composed(body: str, **fields: Any) -> str:
    from chalicelib.domain.campaigns import CampaignContent, Channel
    from chalicelib.domain.sms import compose_sms
    from chalicelib.domain.subscriptions import Contact
    from chalicelib.domain.tokens import Signer

    content = CampaignContent(channel=Channel.SMS, list_ids=("l",), sms_body=body, **fields)
    return compose_sms(signer=Signer(("k",)), account_id="a", campaign_id="c", content=content,
                       recipient=Contact(email="ann@example.com", phone=ANN), list_id="l", list_name="L",
                       account_name="Acme", public_base_url="https://x.example")


def test_p06_a_cut_sms_stays_in_the_gsm7_alphabet():
    """A cut marked "…" (U+2026, not in GSM 03.38) would send the whole text as UCS-2, 67
    characters a part instead of 153: over twice the parts for a cut ASCII campaign."""
    from chalicelib.domain.sms_encoding import GSM7_BASIC, GSM7_EXTENSION, MAX_GSM7_SEPTETS, septets

    text = _composed("Sale " * 400)
    assert set(text) <= GSM7_BASIC | GSM7_EXTENSION, sorted(set(text) - GSM7_BASIC - GSM7_EXTENSION)
    assert text.endswith(f"...\n{STOP_INSTRUCTION}") and septets(text) <= MAX_GSM7_SEPTETS


def test_p06_a_gsm7_text_fits_its_1530_septets_exactly_and_is_cut_one_past():
    from chalicelib.domain.sms_encoding import MAX_GSM7_SEPTETS, septets

    room = MAX_GSM7_SEPTETS - len(STOP_INSTRUCTION) - 1
    assert _composed("a" * room) == f"{'a' * room}\n{STOP_INSTRUCTION}"
    cut = _composed("a" * (room + 1))
    assert cut.endswith(f"...\n{STOP_INSTRUCTION}") and septets(cut) == MAX_GSM7_SEPTETS
    # An extension character ("€", "[") costs two septets.
    euros = _composed("€" * (room // 2 + 1))
    assert euros.endswith(f"...\n{STOP_INSTRUCTION}") and septets(euros) <= MAX_GSM7_SEPTETS


def test_p06_a_ucs2_text_is_cut_to_630_units_and_marked_with_an_ellipsis():
    """A body with a character outside GSM-7 ("ă", an emoji, U+2028) goes as UCS-2: at most 630
    UTF-16 units, an emoji counting two; the stop line always survives."""
    from chalicelib.domain.sms_encoding import MAX_UCS2_UNITS, ucs2_units

    room = MAX_UCS2_UNITS - len(STOP_INSTRUCTION) - 1
    assert _composed("ă" * room) == f"{'ă' * room}\n{STOP_INSTRUCTION}"
    for body in ("ă" * (room + 1), "\U0001F600" * (room // 2 + 1), "a\u2028" * room):
        cut = _composed(body)
        assert cut.endswith(f"…\n{STOP_INSTRUCTION}") and ucs2_units(cut) <= MAX_UCS2_UNITS, body[:3]
    assert ucs2_units(_composed("ă" * (room + 1))) == MAX_UCS2_UNITS


def test_p06_a_body_whose_only_non_gsm7_character_is_cut_off_stays_gsm7():
    from chalicelib.domain.sms_encoding import is_gsm7

    text = _composed("a" * 1600 + "😀")
    assert is_gsm7(text) and text.endswith(f"...\n{STOP_INSTRUCTION}")


@pytest.mark.parametrize(("body", "fits"), [("a" * 1530, True), ("a" * 1531, False), ("€" * 765, True),
                                             ("€" * 766, False), ("ă" * 630, True), ("ă" * 631, False),
                                             ("\U0001F600" * 315, True), ("\U0001F600" * 316, False),
                                             ("a" * 629 + "ă", True), ("a" * 630 + "ă", False)])
def test_p06_an_sms_body_is_refused_past_what_one_publish_carries_in_its_encoding(client, headers, list_id,
                                                                                   body, fits):
    """AWS End User Messaging SMS refuses a text over 1530 GSM-7 characters or 630 others; SNS's
    pages say 1,600 characters and 1,600 bytes: the smallest reading, in the encoding's units (one
    "ă" makes a 1530-character body too long)."""
    response = client.http.post("/v1/campaigns", headers=headers, body=json.dumps({
        "name": "Long", "channel": "sms", "list_ids": [list_id], "sms_body": body}))
    assert response.status_code == (201 if fits else 400), response.body
    if not fits:
        assert json.loads(response.body)["error"]["field"] == "sms_body"


def test_p12_a_refused_test_number_reads_the_same_whether_it_opted_out_here_or_elsewhere(
        client, account, headers, list_id, publishes):
    """A number that opted out in this account, platform-wide, or at SNS (a STOP to any tenant's
    texts) is refused in the same words: the 409 must not tell one tenant that a number replied
    STOP to another's texts."""
    from chalicelib.config import hash_key
    from chalicelib.domain.privacy import phone_hash
    from chalicelib.domain.suppression import PLATFORM_SCOPE
    from chalicelib.store.suppressions import suppress_hash

    here, platform_wide, at_sns = ANN, BOB, "+40712345699"  # moto holds numbers ending in 99 opted out
    suppress_hash(account["account_id"], phone_hash(here, hash_key()), SuppressionReason.UNSUBSCRIBED)
    suppress_hash(PLATFORM_SCOPE, phone_hash(platform_wide, hash_key()), SuppressionReason.UNSUBSCRIBED)
    campaign = _sms_campaign(client, headers, list_id)
    messages = set()
    for number in (here, platform_wide, at_sns):
        response = _test_send(client, headers, campaign["campaign_id"], [number])
        assert response.status_code == 409, response.body
        messages.add(json.loads(response.body)["error"]["message"])
    assert len(messages) == 1, messages
    assert publishes == []


@pytest.mark.parametrize("code", ["InternalError", "AuthorizationError"])
def test_p01_an_sns_fault_on_a_phone_code_is_not_blamed_on_the_number(client, account, list_id, monkeypatch,
                                                                      code):
    """Only an answer refusing this text (retries.REFUSAL_CODES) says the number cannot be texted:
    SNS failing on its side, or a permission the platform lacks, is the platform's fault, a server
    error its alarms see, not a page telling the person to check a number that is fine."""
    from botocore.exceptions import ClientError

    from chalicelib.adapters import sns

    def fail(number, text, sms_type):
        raise ClientError({"Error": {"Code": code, "Message": "not you"}}, "Publish")

    monkeypatch.setattr(sns, "send_sms", fail)
    monkeypatch.setattr("chalicelib.adapters.retries.time.sleep", lambda seconds: None)
    subscribe(account["account_id"], list_id, "bob@example.com", phone=BOB, phone_confirmed=False)
    token = _prefs_token(account, list_id, "bob@example.com")
    response = _form_post(client, token, "phone/code", list_id=list_id)
    assert response.status_code == 500, response.body


# --- keyword answers: what a tenant's name or an attacker's text can make the platform say -------

@pytest.mark.parametrize("number", [NOT_PERSONAL_PHONES["premium-rate"], NOT_PERSONAL_PHONES["shared-cost"]],
                         ids=["premium-rate", "shared-cost"])
def test_p12_a_keyword_from_a_premium_rate_number_is_applied_and_never_answered(client, aws, account, number):
    """Texting a premium-rate or shared-cost number bills the platform: the STOP is applied (P12)
    but no keyword is answered, as no campaign or code texts such a number (one an account's
    record says was texted neither)."""
    _texted(account, number)
    _texted(account, ANN)
    for body in ("STOP", "HELP", "START"):
        _keyword_from(client, aws, body, origination=number)
    hashed = phone_hash(number, hash_key())
    assert suppressed_hashes(account["account_id"], [hashed]) == {hashed}
    assert sent_sms() == []
    _keyword_from(client, aws, "HELP")
    assert len(_replies_to(ANN)) == 1, "a mobile number is still answered"


@pytest.mark.parametrize("hide", ["\u034f", "\ufe0f", "\u3164", "\U000e0100", "\u180b"],
                         ids=["grapheme joiner", "variation selector", "Hangul filler",
                              "supplementary selector", "Mongolian selector"])
def test_p12_a_keyword_hidden_by_a_joiner_filler_or_variation_selector_is_still_the_keyword(hide):
    """Default-ignorable characters are drawn as nothing, like a zero-width space: the person
    sees STOP, so it opts out (P12); HELP is answered."""
    for reply in (f"S{hide}TOP", f"{hide}Stop{hide}", f"Stop{hide} please"):
        assert InboundSms(ANN, "+1212", reply).keyword is Keyword.STOP, repr(reply)
    assert InboundSms(ANN, "+1212", f"HE{hide}LP").keyword is Keyword.HELP
    assert not InboundSms(ANN, "+1212", f"End{hide}less thanks").is_stop


def test_p12_a_huge_forged_reply_is_read_no_further_than_an_sms_carries(monkeypatch):
    """SNS carries 256 KB: a body of U+FDFA (18 characters in compatibility form each) cost seconds
    of CPU a record. Only an SMS's 1,600 characters are read; a STOP at its start still counts."""
    import unicodedata

    from chalicelib.domain.sms_replies import MAX_REPLY_CHARS

    read: list[int] = []
    normalize = unicodedata.normalize
    monkeypatch.setattr(unicodedata, "normalize",
                        lambda form, text: read.append(len(text)) or normalize(form, text))
    assert InboundSms(ANN, "+1212", "Stop " + "\ufdfa" * 80_000).keyword is Keyword.STOP
    assert InboundSms(ANN, "+1212", "\ufdfa" * 80_000).keyword is None
    assert InboundSms(ANN, "+1212", "help" + " " * 80_000).keyword is None
    assert read and max(read) <= MAX_REPLY_CHARS == 1600


@pytest.mark.parametrize("name", [
    "Acme\u202e dtL", "Acme\u2066Ltd", "Ac\u200bme Ltd", "Acme\u2028Ltd", "Acme\u0085Ltd", "Acme\x07Ltd",
    "Ac\u034fme Ltd", "\uff21\uff43\uff4d\uff45 Ltd"])
def test_p12_help_names_an_account_without_its_invisible_reordering_or_breaking_characters(name):
    """A name stored before the profile refused them (or written by hand): HELP, the platform's
    own answer, shows it on one line as a phone draws it, nothing reordered or hidden (P12)."""
    text = answer_text(Keyword.HELP, [name], "en")
    shown = text.split(": ", 1)[1].split(". Reply STOP")[0]
    assert shown.replace(" ", "") in ("AcmedtL", "AcmeLtd"), repr(text)
    assert all(char.isprintable() for char in text), repr(text)


PHISHING_NAMES = {"web address": "Refunds at http://acme-pay.example/login",
                  "bare host name": "acme-refunds.example", "www": "Visit www.acme",
                  "full-width host": "acme\uff0eexample", "hidden scheme": "https\u200b://acme",
                  "email address": "Write to refunds@acme.example",
                  "international phone": "Call +44 20 7946 0958 for a refund",
                  "national phone": "Call 0900 123 456",
                  "full-width phone": "\uff10\uff19\uff10\uff10 \uff11\uff12\uff13 \uff14\uff15\uff16"}


@pytest.mark.parametrize("name", PHISHING_NAMES.values(), ids=PHISHING_NAMES)
def test_p12_help_never_shows_an_account_name_holding_a_link_or_a_number_to_call(name):
    """An attacker tenant could otherwise phish in the platform's voice: HELP says a sender
    texted, without the name (P12), in the number's language."""
    from chalicelib.domain.sms_keywords import UNNAMED_SENDER
    from chalicelib.templates import gettext_for

    for language in ("en", "ro"):
        text = answer_text(Keyword.HELP, [name, "Acme Ltd", name], language)
        unnamed = gettext_for(language)(UNNAMED_SENDER)
        assert f"{unnamed}, Acme Ltd." in text and text.count(unnamed) == 1, text
        for part in ("acme-", "@", "0958", "456", "www", "\uff10", "://", "\uff0e"):
            assert part not in text, (part, text)


def test_p12_help_cuts_a_long_name_and_a_long_list_to_two_parts_in_gsm7():
    """Every part of a text costs: a name shows at most 40 characters, the answer at most two
    parts however many accounts texted the number, and an accent GSM-7 lacks ("Ș") does not
    send the whole answer as UCS-2 (P12)."""
    from chalicelib.domain.sms_encoding import fits, is_gsm7, parts_limits
    from chalicelib.domain.sms_keywords import HELP_SENDERS
    from chalicelib.templates import gettext_for

    long_name = "Ștefan " + "Very Long Company Name " * 8
    text = answer_text(Keyword.HELP, [long_name], "en")
    shown = text.split(": ", 1)[1].split(". Reply STOP")[0]
    assert shown == "Stefan Very Long Company Name Very Lo..." and len(shown) == 40, text
    for language in ("en", "ro"):
        many = answer_text(Keyword.HELP, [f"Shop {index} {long_name}" for index in range(40)], language)
        assert is_gsm7(many) and fits(many, parts_limits(2)) and not fits(many, parts_limits(1)), many
        assert many.endswith(gettext_for(language)(HELP_SENDERS).split("%(senders)s")[1]), many


@pytest.mark.parametrize("name", [*PHISHING_NAMES.values(), "Acme\u202eLtd", "Acme\u2066Ltd"])
def test_p12_an_account_name_holding_a_link_a_number_or_a_bidi_control_is_a_400_naming_name(
        client, account, name):
    """HELP texts show the account's name: it is refused at save, not only hidden when texted."""
    from tests.support.api import bearer

    headers = bearer(account["api_key"])
    refused = client.http.patch("/v1/account", headers=headers, body=json.dumps({"name": name}))
    assert refused.status_code == 400 and json.loads(refused.body)["error"]["field"] == "name", refused.body
    shown = json.loads(client.http.get("/v1/account", headers=headers).body)
    assert shown["name"] == "Acme Ltd"
    for fine in ("J.R.R. Tolkien Society", "7-Eleven Studio 54", "Caf\u00e9 Ltd.", "Festival 2024-2025"):
        taken = client.http.patch("/v1/account", headers=headers, body=json.dumps({"name": fine}))
        assert taken.status_code == 200, (fine, taken.body)


def test_p12_help_to_a_number_texted_by_an_account_whose_stored_name_phishes_withholds_the_name(
        client, aws, account, headers, list_id):
    """A name written before the check (or by hand) reaches HELP through the worker unshown."""
    from chalicelib.store.models import Account

    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    phishing = "Refunds: call +44 20 7946 0958"
    Account(account_id=account["account_id"]).update(actions=[Account.name.set(phishing)])
    _keyword_from(client, aws, "HELP")
    [answer] = _replies_to(ANN)
    assert answer == answer_text(Keyword.HELP, [phishing], answer_language(ANN)) and "0958" not in answer


def test_p12_help_reads_no_more_of_a_huge_stored_name_than_a_save_could_hold(monkeypatch):
    """A name written by hand may be 400 KB: its link search was quadratic (minutes of CPU for one
    HELP). Only its first 1,000 characters are read, more than the 200 a save takes."""
    import unicodedata

    read: list[int] = []
    normalize = unicodedata.normalize
    monkeypatch.setattr(unicodedata, "normalize",
                        lambda form, text: read.append(len(text)) or normalize(form, text))
    for name in ("a" * 300_000, "a.b" * 100_000):
        assert answer_text(Keyword.HELP, [name], "en")
    assert read and max(read) <= 1000
