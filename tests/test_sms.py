"""SMS campaigns through SNS Publish: confirmed subscribers with a phone, a stop instruction in
every text (P06), opted-out and suppressed numbers skipped, an inbound STOP suppresses (P12)."""
from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.clients import client as aws_client
from chalicelib.config import hash_key
from chalicelib.domain.privacy import phone_hash
from chalicelib.domain.sms import STOP_INSTRUCTION, InboundSms, parse_inbound_sms
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


def test_p12_an_sms_batch_whose_opt_outs_cannot_be_read_texts_nobody_and_ends_failed_on_its_last_receive(
        client, account, headers, list_id, monkeypatch):
    from pynamodb.exceptions import GetError

    from chalicelib.services.sending import batches

    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    campaign, batch = _fanned_out(client, headers, list_id)

    def unreadable(*args: Any, **kwargs: Any) -> set[str]:
        raise GetError("Failed to batch get items")

    monkeypatch.setattr(batches, "suppressed_hashes", unreadable)
    event = sqs_event(batch)
    assert client.lambda_.invoke("campaign_send_worker", event).payload["batchItemFailures"]
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"
    assert client.lambda_.invoke("campaign_send_worker", event).payload == {"batchItemFailures": []}
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
    assert len(sent_sms()) == 1, "the second campaign skips the number"


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


def test_p06_p12_a_stop_reply_with_a_comma_keeps_the_next_campaign_from_texting_the_number(
        client, aws, account, headers, list_id):
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    _inbound(aws, "Stop, thank you")
    client.lambda_.invoke("sms_inbound_worker", sqs_event(*take("sms-inbound")))
    ann = phone_hash(ANN, hash_key())
    assert suppressed_hashes(account["account_id"], [ann]) == {ann}
    _send(client, headers, _sms_campaign(client, headers, list_id)["campaign_id"])
    assert len(sent_sms()) == 1, "the second campaign texted the number that replied STOP"


def test_a_test_sms_goes_to_the_given_number_only(client, account, headers, list_id, publishes):
    subscribe(account["account_id"], list_id, "ann@example.com", phone=ANN)
    campaign = _sms_campaign(client, headers, list_id)
    response = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/test", headers=headers,
                                body=json.dumps({"addresses": [BOB]}))
    assert response.status_code == 202, response.body
    assert [number for number, _ in sent_sms()] == [BOB]
    assert publishes[0]["MessageAttributes"]["AWS.SNS.SMS.SMSType"]["StringValue"] == "Transactional"


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
