"""The send worker: outbox job → SES raw MIME, once per message id, partial batch failures."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from chalicelib.config import hash_key, settings
from chalicelib.domain.outbox import EmailJob
from chalicelib.domain.outgoing import OutgoingEmail
from chalicelib.domain.privacy import subject_from_text
from chalicelib.queue_batches import BatchFailed
from chalicelib.store.messages import listed
from chalicelib.store.models import MessagePurgeList, MessageRecord
from tests.support.events import sqs_event
from tests.support.mail import parsed, sent_mails, sent_raw

EVENTS = Path(__file__).resolve().parent.parent / "events"


def hold_account(account_id: str = "acc_1") -> None:
    """The account the jobs below belong to: its mail is sent only while it is held and may send."""
    from chalicelib.domain.clock import now
    from chalicelib.store.models import Account

    Account(account_id=account_id, name="Jobs Ltd", created_at=now(), updated_at=now()).save()


@pytest.fixture(autouse=True)
def _accounts(aws) -> None:
    hold_account("acc_1")
    hold_account("acc_sample")  # events/send_worker.json


def job(message_id: str = "msg-1", recipient: str = "ann@example.com") -> str:
    mail = OutgoingEmail(sender=settings().default_sender, recipient=recipient, subject="Hello Ann",
                         text="Plain words", html="<p>Rich <b>words</b></p>",
                         headers={"X-Tidings-Kind": "test"})
    return json.dumps(EmailJob(message_id, "acc_1", "test", mail, {"list": "lst_1"}).to_dict())


def test_p10_a_job_becomes_one_raw_mime_mail_to_one_recipient(client):
    result = client.lambda_.invoke("send_worker", sqs_event(job()))
    assert result.payload == {"batchItemFailures": []}
    [parsed] = sent_mails()
    assert parsed["To"] == "ann@example.com"
    assert parsed["X-Tidings-Kind"] == "test"
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed.get_body(("plain",)).get_content().strip() == "Plain words"
    assert "<b>words</b>" in parsed.get_body(("html",)).get_content()


def test_p21_the_message_record_is_erased_by_30_days_after_sending(client):
    client.lambda_.invoke("send_worker", sqs_event(job()))
    recipient = subject_from_text("ann@example.com").keyed_hash(hash_key())
    record = MessageRecord.get(recipient, "msg-1")
    assert record.kind == "test" and "ann" not in recipient
    [purge_list] = MessagePurgeList.scan()
    assert listed(purge_list) == {"msg-1": recipient}, "filed for the 30-day purge"
    # TTL attributes hold whole seconds. TTL (free) two days early; the purge list due on day 30.
    assert abs(record.expires_at - record.sent_at - timedelta(days=28)) < timedelta(seconds=1)
    assert purge_list.entry.startswith((record.sent_at + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"))


def test_a_redelivered_job_is_not_sent_twice(client):
    client.lambda_.invoke("send_worker", sqs_event(job(), job()))
    client.lambda_.invoke("send_worker", sqs_event(job()))
    assert len(sent_raw()) == 1


def test_p26_the_worker_counts_what_it_sent_once_per_account_day(client):
    from chalicelib.domain.clock import now
    from chalicelib.store.models import AccountHealthDay

    client.lambda_.invoke("send_worker", sqs_event(job(), job(), job("msg-2", "bob@example.com")))
    client.lambda_.invoke("send_worker", sqs_event(job()))
    account_id = json.loads(job())["account_id"]
    assert AccountHealthDay.get(account_id, now().date().isoformat()).sent == 2


def test_only_the_failed_record_is_reported(client):
    batch = sqs_event(job("a"), "{not json", job("b", "bo@example.com"))
    result = client.lambda_.invoke("send_worker", batch)
    assert result.payload == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert sorted(parsed(m)["To"] for m in sent_raw()) == [
        "ann@example.com", "bo@example.com"]


def test_a_failed_send_releases_its_claim_so_a_retry_sends(client, monkeypatch):
    from chalicelib.services.sending import outbox

    def refuse(*args, **kwargs):
        raise RuntimeError("SES throttled")

    monkeypatch.setattr(outbox, "send_raw_email", refuse)
    # When every record fails, Powertools raises so Lambda retries the whole batch.
    with pytest.raises(BatchFailed):
        client.lambda_.invoke("send_worker", sqs_event(job()))
    monkeypatch.undo()
    assert client.lambda_.invoke("send_worker", sqs_event(job())).payload == {"batchItemFailures": []}
    assert len(sent_raw()) == 1


def test_sample_outbox_event_sends_the_good_job_and_reports_the_bad_one(client):
    from chalicelib.domain.clock import now
    from chalicelib.domain.subscriptions import Contact, Source, Status, evidence
    from chalicelib.store.subscribers import write_signup

    # The good job is a confirmation: it goes only while its signup still waits for it.
    assert write_signup("acc_sample", "lst_sample", Contact(email="success@simulator.amazonses.com"),
                        evidence(now(), Source.FORM, 1, ip=None, user_agent=None, form_url=None),
                        Status.PENDING)
    event = json.loads((EVENTS / "send_worker.json").read_text())
    result = client.lambda_.invoke("send_worker", event)
    assert result.payload == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert len(sent_raw()) == 1


def test_p26_mail_sent_in_a_batch_whose_count_failed_once_is_counted_once_on_redelivery(client, monkeypatch):
    """The batch's mails go out, then counting them fails (a throttled write): the invocation
    fails and SQS redelivers its records, here apart and then together. Each mail SES accepted
    counts once in the volume the account's rates are computed over (P26)."""
    from pynamodb.exceptions import PynamoDBException

    from chalicelib.domain.clock import now
    from chalicelib.store.models import AccountHealthDay
    from tests.support.faults import fail_first_write_to

    ann, bob = job("msg-1"), job("msg-2", "bob@example.com")
    failed = fail_first_write_to(monkeypatch, AccountHealthDay)
    with pytest.raises(PynamoDBException):
        client.lambda_.invoke("send_worker", sqs_event(ann, bob))
    assert failed and len(sent_raw()) == 2
    for redelivered in (sqs_event(ann), sqs_event(bob), sqs_event(ann, bob)):
        assert client.lambda_.invoke("send_worker", redelivered).payload == {"batchItemFailures": []}
    assert len(sent_raw()) == 2
    assert AccountHealthDay.get("acc_1", now().date().isoformat()).sent == 2


def test_p13_parity_a_refused_outbox_mail_stays_a_failure_when_recording_it_failed_once(client, monkeypatch):
    """SES refuses Bob's mail for good and the write that marks its claim failed and counts the
    failure on the account's health (one transaction) is throttled once: the claim is released
    and the record goes back to SQS, whose redelivery is refused again and counts the failure
    then. One failure on the account's health, with its reason, never none; Ann's mail, in the
    same batch, goes once."""
    from chalicelib.domain.clock import now
    from chalicelib.store.health import failures_since
    from chalicelib.store.models import AccountHealthDay
    from tests.support.faults import fail_first_write_to
    from tests.support.mail import ses_refuses

    asked = ses_refuses(monkeypatch, "bob@example.com")
    ann, bob = job("msg-1"), job("msg-2", "bob@example.com")
    failed = fail_first_write_to(monkeypatch, AccountHealthDay)
    event = sqs_event(ann, bob)
    first = client.lambda_.invoke("send_worker", event)
    assert failed and first.payload == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    for _ in range(2):
        assert client.lambda_.invoke("send_worker", sqs_event(bob)).payload == {"batchItemFailures": []}
    assert asked == ["ann@example.com", "bob@example.com", "bob@example.com"]
    count, reason = failures_since("acc_1", now().date())
    assert (count, reason) == (1, "test msg-2: the provider refused the mail (MessageRejected)")
    assert AccountHealthDay.get("acc_1", now().date().isoformat()).sent == 1


def test_p13_a_worker_short_of_time_starts_no_mail_it_may_not_finish_and_queues_it_again(client):
    """A send worker killed mid-send would leave a claimed mail that its redelivery takes as sent,
    though it may not have gone. With just more than SAFETY_SECONDS of its declared timeout left
    it sends; with just less it sends nothing more and queues the job again (not a failure,
    which would count towards the dead-letter limit), and that job is sent once."""
    from app import app
    from chalicelib.functions import function_spec
    from chalicelib.local.invoke import invoke_handler
    from chalicelib.services.sending.step import SAFETY_SECONDS
    from tests.support.queues import deliver, take

    short = function_spec("send_worker").timeout_seconds - SAFETY_SECONDS + 0.01  # seconds gone
    readings = iter([0.0, short - 0.02])  # the context's start; the first mail has just enough

    def clock() -> float:
        return next(readings, short)

    ann, bob = job("msg-1"), job("msg-2", "bob@example.com")
    assert invoke_handler(app, "send_worker", sqs_event(ann, bob), settings().region, clock) == {
        "batchItemFailures": []}
    assert [parsed(raw)["To"] for raw in sent_raw()] == ["ann@example.com"]
    bob_hash = subject_from_text("bob@example.com").keyed_hash(hash_key())
    assert MessageRecord.count(bob_hash) == 0, "not claimed: nothing to mistake for sent"
    queued = take("outbox")
    assert [json.loads(record["body"])["message_id"] for record in queued] == ["msg-2"]
    deliver(queued)
    assert sorted(parsed(raw)["To"] for raw in sent_raw()) == ["ann@example.com", "bob@example.com"]


@pytest.mark.parametrize("held", ["quota", "paused"])
@pytest.mark.parametrize("receives", ["1", "5"])
def test_p13_an_outbox_mail_ses_holds_back_waits_and_is_not_a_failure(client, monkeypatch, receives, held):
    """SES's 24-hour quota is used up, or its sending paused: the mail is queued again
    QUOTA_WAIT_SECONDS (PAUSE_WAIT_SECONDS) later (on the job's last receive too), unclaimed and
    not counted as failed; then it is sent once."""
    from chalicelib.clients import client as aws_client
    from chalicelib.domain.clock import now
    from chalicelib.store.health import failures_since
    from tests.support.mail import recorded_calls, ses_holding_mail
    from tests.support.queues import deliver, take

    ses = aws_client("sesv2")
    real = ses.send_email
    error, wait = ses_holding_mail(held)

    def holding(**kwargs):
        raise error

    monkeypatch.setattr(ses, "send_email", holding)
    queued = recorded_calls(monkeypatch, "sqs", "send_message")
    event = sqs_event(job())
    event["Records"][0]["attributes"] = {"ApproximateReceiveCount": receives}
    assert client.lambda_.invoke("send_worker", event).payload == {"batchItemFailures": []}
    assert [call["DelaySeconds"] for call in queued] == [wait]
    assert sent_raw() == [] and failures_since("acc_1", now().date())[0] == 0
    recipient = subject_from_text("ann@example.com").keyed_hash(hash_key())
    assert MessageRecord.count(recipient) == 0, "not claimed"
    monkeypatch.setattr(ses, "send_email", real)
    assert take("outbox") == [], "not before its time"
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=wait + 1)):
        deliver(take("outbox"))
    assert [parsed(raw)["To"] for raw in sent_raw()] == ["ann@example.com"]


def test_p01_a_confirmation_mail_queued_right_after_its_signup_is_not_refused_by_a_stale_read(
        client, monkeypatch):
    """The signups worker writes the pending entry and queues its confirmation mail at once: the
    send worker may read the entry milliseconds later. An eventually consistent read may not see
    a write that recent yet, and a confirmation refused for it is dropped for good (the signup
    never gets its link): whether its signup still waits must be read strongly consistent."""
    from botocore.client import BaseClient

    from chalicelib.domain.clock import now
    from chalicelib.domain.outbox import CONFIRMATION_KIND
    from chalicelib.domain.subscriptions import Contact, Source, Status, evidence
    from chalicelib.store.models import Subscriber
    from chalicelib.store.subscribers import write_signup

    assert write_signup("acc_1", "lst_1", Contact(email="ann@example.com"),
                        evidence(now(), Source.FORM, 1, ip=None, user_agent=None, form_url=None),
                        Status.PENDING)
    confirmation = json.loads(job())
    confirmation["kind"] = CONFIRMATION_KIND
    original = BaseClient._make_api_call

    entries = Subscriber.Meta.table_name

    def just_written_unseen(self, operation, params):  # what a replica a write has not reached says
        if operation == "BatchGetItem":
            asked = params["RequestItems"].get(entries)
            if asked is not None and not asked.get("ConsistentRead"):
                others = {t: a for t, a in params["RequestItems"].items() if t != entries}
                answer = original(self, operation, {**params, "RequestItems": others}) if others else {}
                return {**answer, "Responses": {**answer.get("Responses", {}), entries: []}}
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", just_written_unseen)
    result = client.lambda_.invoke("send_worker", sqs_event(json.dumps(confirmation)))
    assert result.payload == {"batchItemFailures": []}
    assert [mail["To"] for mail in sent_mails()] == ["ann@example.com"]


@pytest.mark.parametrize("receives_left", [1, 0])
def test_p11_an_outbox_mail_failing_for_now_is_dead_lettered_only_on_its_last_receive(client, monkeypatch,
                                                                                    receives_left):
    """Throttled on every try: before the last receive the claim is released and the record goes
    back to SQS, uncounted; on the last one the failure counts once on the account's health and
    the record is still reported failed, so SQS dead-letters it and the operator hears of it."""
    from botocore.exceptions import ClientError

    from chalicelib.domain.clock import now
    from chalicelib.services.sending import outbox
    from chalicelib.store.health import failures_since

    def throttled(*args, **kwargs):
        raise ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "SendEmail")

    monkeypatch.setattr(outbox, "send_raw_email", throttled)
    event = sqs_event(job())
    receives = settings().sqs_max_receive_count - receives_left
    event["Records"][0]["attributes"] = {"ApproximateReceiveCount": str(receives)}
    with pytest.raises(BatchFailed):  # the one record failed: SQS keeps it, or dead-letters it
        client.lambda_.invoke("send_worker", event)
    last = receives_left == 0
    assert failures_since("acc_1", now().date())[0] == (1 if last else 0)
    recipient = subject_from_text("ann@example.com").keyed_hash(hash_key())
    assert MessageRecord.count(recipient) == (1 if last else 0), "a given-up mail keeps its claim"


def test_p11_an_outbox_mail_ses_refuses_on_its_last_receive_is_the_accounts_matter_not_a_dead_letter(
        client, monkeypatch):
    from chalicelib.domain.clock import now
    from chalicelib.store.health import failures_since
    from tests.support.mail import ses_refuses

    ses_refuses(monkeypatch, "ann@example.com")
    event = sqs_event(job())
    event["Records"][0]["attributes"] = {"ApproximateReceiveCount": str(settings().sqs_max_receive_count)}
    assert client.lambda_.invoke("send_worker", event).payload == {"batchItemFailures": []}
    assert failures_since("acc_1", now().date())[0] == 1
