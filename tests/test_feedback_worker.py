"""The feedback worker: bounces and complaints change subscribers and suppressions (P12), every
event counts once toward the account's rates, a malformed record fails alone."""
from __future__ import annotations

import json

import pytest

from chalicelib.domain.clock import now
from chalicelib.queue_batches import BatchFailed
from chalicelib.store.models import AccountHealthDay
from chalicelib.store.suppressions import is_suppressed
from tests.support.api import bearer
from tests.support.events import ses_event, sns_body, sqs_event
from tests.support.lists import new_list, status_of, subscribe

ANN = "ann@example.com"


@pytest.fixture
def news(client, account):
    list_id = new_list(client, bearer(account["api_key"]))
    subscribe(account["account_id"], list_id, ANN)
    return list_id


def tags(account, list_id, kind="campaign", campaign="cmp_1"):
    return {"account": account["account_id"], "list": list_id, "kind": kind, "campaign": campaign}


def today_counts(account_id):
    try:
        day = AccountHealthDay.get(account_id, now().date().isoformat())
    except AccountHealthDay.DoesNotExist:
        return {}
    return {name: int(getattr(day, name)) for name in
            ("sent", "hard_bounces", "soft_bounces", "complaints") if getattr(day, name)}


def bounce(account, list_id, bounce_type="Permanent", subtype="General", recipient=ANN, ses_id=None,
           campaign="cmp_1"):
    return sns_body(ses_event("event-bounce.json", recipient, tags(account, list_id, campaign=campaign),
                              ses_id, bounceType=bounce_type, bounceSubType=subtype))


def test_p12_permanent_bounce_marks_bounced_suppresses_and_blocks_a_later_signup(client, account, news):
    result = client.lambda_.invoke("feedback_worker", sqs_event(bounce(account, news)))

    assert result.payload == {"batchItemFailures": []}
    assert status_of(news, ANN) == "bounced"
    assert is_suppressed(account["account_id"], ANN)
    again = client.http.post(f"/v1/lists/{news}/subscribers", headers=bearer(account["api_key"]),
                             body=json.dumps({"email": ANN}))
    assert again.status_code == 409
    assert status_of(news, ANN) == "bounced"
    assert today_counts(account["account_id"]) == {"hard_bounces": 1}


def test_p12_transient_bounces_are_counted_then_suppress_after_the_limit(client, account, news):
    # Three mails (three campaigns) bounce: each mail's transient bounce counts once.
    for attempt in range(2):
        client.lambda_.invoke("feedback_worker", sqs_event(
            bounce(account, news, "Transient", "MailboxFull", campaign=f"cmp_{attempt}")))
        assert status_of(news, ANN) == "confirmed", attempt
        assert not is_suppressed(account["account_id"], ANN)

    client.lambda_.invoke("feedback_worker", sqs_event(bounce(account, news, "Transient", "MailboxFull",
                                                              campaign="cmp_2")))

    assert status_of(news, ANN) == "bounced"
    assert is_suppressed(account["account_id"], ANN)
    assert today_counts(account["account_id"]) == {"soft_bounces": 3}


def test_transient_bounce_counters_hold_no_address(client, account, news):
    from chalicelib.store.models import RateCounter

    client.lambda_.invoke("feedback_worker", sqs_event(bounce(account, news, "Transient")))
    keys = [item.counter_key for item in RateCounter.scan()]
    assert keys and all("soft-bounce:" in key and "@" not in key and "ann" not in key for key in keys)


def test_p12_complaint_ends_every_list_of_the_account_and_suppresses(client, account, news):
    offers = new_list(client, bearer(account["api_key"]), "Acme Offers")
    subscribe(account["account_id"], offers, ANN)
    other = new_list(client, bearer(account["api_key"]), "Acme Jobs")
    subscribe(account["account_id"], other, "bo@example.com")
    complaint = ses_event("event-complaint.json", ANN, tags(account, news))

    result = client.lambda_.invoke("feedback_worker", sqs_event(sns_body(complaint)))

    assert result.payload == {"batchItemFailures": []}
    assert status_of(news, ANN) == "complained"
    assert status_of(offers, ANN) == "complained"
    assert status_of(other, "bo@example.com") == "confirmed"
    assert is_suppressed(account["account_id"], ANN)
    assert today_counts(account["account_id"]) == {"complaints": 1}


def test_p12_a_recipient_that_is_no_address_does_not_keep_the_others_complaint_from_applying(
        client, account, news):
    """Recipients were applied in turn and the first that was no address failed the record: the
    ones after it never applied, on every receive, until the record was dead-lettered. Nothing
    was ever mailed to a string that is no address: it is skipped, the others apply."""
    complaint = ses_event("event-complaint.json", ANN, tags(account, news))
    complaint["complaint"]["complainedRecipients"].insert(0, {"emailAddress": "no\u2028address\x00"})
    result = client.lambda_.invoke("feedback_worker", sqs_event(sns_body(complaint)))
    assert result.payload == {"batchItemFailures": []}
    assert status_of(news, ANN) == "complained"
    assert is_suppressed(account["account_id"], ANN)


def test_p12_p26_a_not_spam_feedback_report_is_no_complaint(client, account, news):
    """An ARF report of Feedback-Type not-spam (RFC 5965) is the recipient saying the mail is
    wanted, which SES passes on as a complaint: it ends no entry, suppresses nobody and counts
    toward no rate; the record is acknowledged."""
    report = ses_event("event-complaint.json", ANN, tags(account, news), complaintFeedbackType="not-spam")
    result = client.lambda_.invoke("feedback_worker", sqs_event(sns_body(report)))

    assert result.payload == {"batchItemFailures": []}
    assert status_of(news, ANN) == "confirmed"
    assert not is_suppressed(account["account_id"], ANN)
    assert today_counts(account["account_id"]) == {}


def test_p12_a_complaint_does_not_touch_another_accounts_lists(client, account, news):
    from chalicelib.cli import create_account_with_key

    neighbour = create_account_with_key("Neighbour", {})
    theirs = new_list(client, bearer(neighbour["api_key"]))
    subscribe(neighbour["account_id"], theirs, ANN)

    client.lambda_.invoke("feedback_worker",
                          sqs_event(sns_body(ses_event("event-complaint.json", ANN, tags(account, news)))))

    assert status_of(theirs, ANN) == "confirmed"
    assert not is_suppressed(neighbour["account_id"], ANN)


def test_send_and_delivery_events_add_nothing_the_senders_count_sends(client, account, news):
    events = [sns_body(ses_event(name, f"p{index}@example.com", tags(account, news)))
              for index in range(3) for name in ("event-send.json", "event-delivery.json")]
    result = client.lambda_.invoke("feedback_worker", sqs_event(*events))
    assert result.payload == {"batchItemFailures": []}
    assert today_counts(account["account_id"]) == {}, "a stray Send must not count a mail twice"


def test_replayed_events_are_counted_once(client, account, news):
    ses_id = "0100018e0000replay-000000"
    send = sns_body(ses_event("event-send.json", ANN, tags(account, news), ses_id))
    delivery = sns_body(ses_event("event-delivery.json", ANN, tags(account, news), ses_id))
    soft = bounce(account, news, "Transient", ses_id=ses_id)
    complaint = sns_body(ses_event("event-complaint.json", ANN, tags(account, news), ses_id))

    # SES repeats within a batch, SQS redelivers the whole batch, SES sends once more later.
    client.lambda_.invoke("feedback_worker", sqs_event(send, send, delivery, soft, soft))
    client.lambda_.invoke("feedback_worker", sqs_event(send, delivery, soft))
    client.lambda_.invoke("feedback_worker", sqs_event(soft, complaint, complaint))
    client.lambda_.invoke("feedback_worker", sqs_event(complaint))

    assert today_counts(account["account_id"]) == {"soft_bounces": 1, "complaints": 1}


def test_one_transient_bounce_repeated_does_not_reach_the_limit(client, account, news):
    soft = bounce(account, news, "Transient", ses_id="0100018e0000same-000000")
    for _ in range(3):
        client.lambda_.invoke("feedback_worker", sqs_event(soft))
    assert status_of(news, ANN) == "confirmed"
    assert not is_suppressed(account["account_id"], ANN)


def test_p26_one_mails_transient_bounce_replayed_under_new_ses_ids_does_not_reach_the_limit(
        client, account, news):
    # The limit is 3: three copies of one mail's bounce, each under a new SES message id.
    copies = [bounce(account, news, "Transient") for _ in range(3)]
    client.lambda_.invoke("feedback_worker", sqs_event(*copies))

    assert today_counts(account["account_id"]) == {"soft_bounces": 1}
    assert status_of(news, ANN) == "confirmed"
    assert not is_suppressed(account["account_id"], ANN)


def test_p26_a_transient_then_a_permanent_bounce_of_one_mail_count_once_each_however_replayed(
        client, account, news):
    soft = [bounce(account, news, "Transient") for _ in range(2)]
    hard = [bounce(account, news, "Permanent") for _ in range(2)]

    client.lambda_.invoke("feedback_worker", sqs_event(*soft))
    client.lambda_.invoke("feedback_worker", sqs_event(*hard))

    assert today_counts(account["account_id"]) == {"soft_bounces": 1, "hard_bounces": 1}
    assert status_of(news, ANN) == "bounced"


def test_a_malformed_record_fails_alone_and_the_others_apply(client, account, news):
    subscribe(account["account_id"], news, "bo@example.com")
    batch = sqs_event(bounce(account, news), sns_body({"eventType": "Bounce", "mail": {}}),
                      bounce(account, news, recipient="bo@example.com"))

    result = client.lambda_.invoke("feedback_worker", batch)

    assert result.payload == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert status_of(news, ANN) == "bounced"
    assert status_of(news, "bo@example.com") == "bounced"


def test_p12_an_event_naming_over_50_recipients_fails_alone_and_suppresses_none_of_them(
        client, account, news):
    """P12, P26: a forged complaint listing 51 recipients under this account's tags (no record
    matches, so each would be suppressed from the tags alone) fails alone, writing nothing; the
    batch's other record applies."""
    from chalicelib.store.models import Suppression

    subscribe(account["account_id"], news, "bo@example.com")
    forged = ses_event("event-complaint.json", ANN, tags(account, news), sent=False)
    others = [{"emailAddress": f"p{n}@example.com"} for n in range(50)]
    forged["complaint"]["complainedRecipients"] = [*others, {"emailAddress": ANN}]
    batch = sqs_event(sns_body(forged), bounce(account, news, recipient="bo@example.com"))

    result = client.lambda_.invoke("feedback_worker", batch)

    assert result.payload == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert status_of(news, "bo@example.com") == "bounced"
    assert status_of(news, ANN) == "confirmed"
    assert [entry.reason for entry in Suppression.scan()] == ["bounced"], "bo's bounce only"


def test_a_batch_of_only_malformed_records_is_retried_whole(client):
    # Powertools raises when every record failed, so Lambda retries the batch (then the DLQ).
    with pytest.raises(BatchFailed):
        client.lambda_.invoke("feedback_worker", sqs_event("{not json", "[]"))


def test_unknown_types_and_untagged_notifications_are_acknowledged(client, account, news):
    untagged = ses_event("event-bounce.json", ANN, {})
    unknown = {"eventType": "Teleport", "mail": {"messageId": "x"}}
    result = client.lambda_.invoke("feedback_worker", sqs_event(sns_body(untagged), sns_body(unknown)))

    assert result.payload == {"batchItemFailures": []}
    assert status_of(news, ANN) == "confirmed"
    assert not is_suppressed(account["account_id"], ANN)


def test_p14_fields_of_a_forged_notification_put_no_contact_data_in_the_logs(client, account, news,
                                                                            app_logs):
    """The SES message id is logged with every outcome, and an unknown type's name with the
    reason it was ignored: taken from the notification as they come, a forged one wrote any text
    it liked (an address) into the logs."""
    victim = "victim@example.org"
    bounced = ses_event("event-bounce.json", ANN, tags(account, news), ses_message_id=victim)
    unknown_type = {"eventType": victim, "mail": {"messageId": "x"}}
    unknown_notification = {"notificationType": victim, "mail": {"messageId": "x"}}
    unknown_envelope = {"Type": victim, "Message": "{}"}
    result = client.lambda_.invoke("feedback_worker", sqs_event(
        sns_body(bounced), sns_body(unknown_type), sns_body(unknown_notification),
        json.dumps(unknown_envelope)))
    assert result.payload == {"batchItemFailures": []}
    assert status_of(news, ANN) == "bounced", "the forged id changes nothing about what applies"
    assert "feedback applied" in app_logs.getvalue(), "the logs are captured"
    assert victim not in app_logs.getvalue()


def test_feedback_on_the_platforms_own_mail_to_the_account_changes_nothing(client, account, news):
    notice = ses_event("event-bounce.json", ANN,
                       {"account": account["account_id"], "kind": "account_suspended"})
    client.lambda_.invoke("feedback_worker", sqs_event(sns_body(notice)))
    assert not is_suppressed(account["account_id"], ANN)
    assert today_counts(account["account_id"]) == {}


def test_sample_feedback_event_applies_the_good_records_and_reports_the_malformed_one(client):
    from pathlib import Path

    from chalicelib.config import hash_key
    from chalicelib.domain.message_ids import campaign_message_id
    from chalicelib.domain.suppression import address_hash
    from chalicelib.store.messages import claim

    path = Path(__file__).resolve().parent.parent / "events" / "feedback_worker.json"
    event = json.loads(path.read_text())
    # The sample's bounce is about a campaign mail this deployment sent: its record exists.
    hashed = address_hash("recipient@example.com", hash_key())
    claim(hashed, campaign_message_id("cmp_sample", hashed), "acc_sample", "campaign", "cmp_sample",
          "lst_sample")
    result = client.lambda_.invoke("feedback_worker", event)
    assert result.payload == {"batchItemFailures": [{"itemIdentifier": event["Records"][3]["messageId"]}]}
    assert is_suppressed("acc_sample", "recipient@example.com")


# --- authenticity (issue #12) ---------------------------------------------------------------------

def test_p26_a_bounce_for_a_message_never_sent_here_counts_for_nobody(client, account, news):
    forged = sns_body(ses_event("event-bounce.json", ANN, tags(account, news), sent=False,
                                bounceType="Permanent", bounceSubType="General"))
    result = client.lambda_.invoke("feedback_worker", sqs_event(forged))
    # Acknowledged and counted nowhere (it still protects Ann: the no-record tests below).
    assert result.payload == {"batchItemFailures": []}
    assert today_counts(account["account_id"]) == {}


def test_p28_a_real_message_id_under_another_accounts_tag_counts_only_for_its_sender(client, account, news):
    from chalicelib.cli import create_account_with_key

    other = create_account_with_key("Other Ltd", {})
    # Ann's record exists, for the account fixture: a complaint naming the other account and the
    # same message id is about the fixture's mail, and counts for it alone.
    genuine = tags(account, news)
    sent = ses_event("event-complaint.json", ANN, genuine)
    message_id = sent["mail"]["tags"]["message"][0]
    forged = ses_event("event-complaint.json", ANN, {**genuine, "account": other["account_id"],
                                                     "message": message_id}, sent=False)
    client.lambda_.invoke("feedback_worker", sqs_event(sns_body(forged)))
    assert today_counts(other["account_id"]) == {}
    assert today_counts(account["account_id"]) == {"complaints": 1}
    assert status_of(news, ANN) == "complained"


def test_p26_made_up_bounces_batch_after_batch_do_not_suspend_an_account(client, account, news, settings_env):
    """Bounces about mail nobody sent (no message record) count toward no rate, however many: with
    a minimum volume of 1, a single counted one would suspend (bounce rate 100%). Three batches of
    ten go through the path a thousand would take, 25 seconds faster."""
    settings_env(TIDINGS_HEALTH_MIN_VOLUME="1")
    bodies = [sns_body(ses_event("event-bounce.json", f"p{n}@example.com", tags(account, news), sent=False,
                                 bounceType="Permanent", bounceSubType="General")) for n in range(30)]
    for start in range(0, len(bodies), 10):
        client.lambda_.invoke("feedback_worker", sqs_event(*bodies[start:start + 10]))
    from chalicelib.store.models import Account

    assert Account.get(account["account_id"]).status == "active"
    assert today_counts(account["account_id"]) == {}


# --- the message record, not the tags, says whose mail it was (P28) -------------------------------

def mailed(account_id, kind, campaign_id=None, list_id=None, recipient=ANN):
    """Write the message record a send of this kind writes (store/messages.claim); its message id."""
    import uuid

    from chalicelib.config import hash_key
    from chalicelib.domain.message_ids import campaign_message_id
    from chalicelib.domain.suppression import address_hash
    from chalicelib.store import messages

    hashed = address_hash(recipient, hash_key())
    message_id = campaign_message_id(campaign_id, hashed) if campaign_id else f"tx_{uuid.uuid4().hex}"
    assert messages.claim(hashed, message_id, account_id, kind, campaign_id=campaign_id, list_id=list_id)
    return message_id


def bounce_to(claimed, bounce_type="Permanent", subtype="General", recipient=ANN):
    """A Bounce carrying exactly these tags; its message record is written by the test."""
    return sns_body(ses_event("event-bounce.json", recipient, claimed, sent=False,
                              bounceType=bounce_type, bounceSubType=subtype))


@pytest.fixture
def neighbour(client):
    """Another account, with a campaign of its own."""
    from chalicelib.cli import create_account_with_key
    from tests.support.campaigns import campaign_of

    created = create_account_with_key("Neighbour", {})
    theirs = new_list(client, bearer(created["api_key"]))
    return {**created, "list_id": theirs, "campaign_id": campaign_of(created["account_id"], theirs)}


@pytest.mark.parametrize("kind", ["campaign", "transactional", "confirmation", "test"])
def test_p28_a_complaint_counts_in_the_campaign_its_record_names_never_the_campaign_tag(
        client, account, news, neighbour, kind, logs):
    from chalicelib.store.campaign_stats import campaign_counters
    from tests.support.campaigns import campaign_of

    # What each sender records: a campaign mail its campaign and list, a confirmation its list,
    # a transactional or test mail neither.
    ours = campaign_of(account["account_id"], news) if kind == "campaign" else None
    listed = news if kind in ("campaign", "confirmation") else None
    message_id = mailed(account["account_id"], kind, ours, listed)
    claimed = {"account": account["account_id"], "kind": kind, "list": news,
               "campaign": neighbour["campaign_id"], "message": message_id}

    result = client.lambda_.invoke("feedback_worker", sqs_event(sns_body(
        ses_event("event-complaint.json", ANN, claimed, sent=False))))

    assert result.payload == {"batchItemFailures": []}
    assert campaign_counters(neighbour["campaign_id"]).get("complaints", 0) == 0
    if ours:
        assert campaign_counters(ours).get("complaints", 0) == 1
    assert today_counts(account["account_id"]) == {"complaints": 1}
    assert status_of(news, ANN) == "complained" and is_suppressed(account["account_id"], ANN)
    assert '"tags":["campaign"' in logs.text.replace(" ", "")
    assert ANN not in logs.text


def test_p28_a_bounce_ends_the_entry_on_the_list_its_record_names_never_the_list_tag(
        client, account, news, neighbour):
    offers = new_list(client, bearer(account["api_key"]), "Acme Offers")
    subscribe(account["account_id"], offers, ANN)
    subscribe(neighbour["account_id"], neighbour["list_id"], ANN)
    message_id = mailed(account["account_id"], "confirmation", list_id=news)

    for wrong_list in (offers, neighbour["list_id"]):
        claimed = {"account": account["account_id"], "kind": "confirmation", "list": wrong_list,
                   "message": message_id}
        client.lambda_.invoke("feedback_worker", sqs_event(bounce_to(claimed)))

    assert status_of(news, ANN) == "bounced"
    assert status_of(offers, ANN) == "confirmed"
    assert status_of(neighbour["list_id"], ANN) == "confirmed"


@pytest.mark.parametrize(("recorded", "claimed", "counted"), [
    ("campaign", "account_suspended", {"hard_bounces": 1}),
    ("account_suspended", "campaign", {}),
])
def test_p28_the_records_mail_kind_decides_whether_feedback_counts(client, account, news, recorded,
                                                                   claimed, counted):
    message_id = mailed(account["account_id"], recorded, list_id=news)
    tagged = {"account": account["account_id"], "kind": claimed, "list": news, "message": message_id}

    client.lambda_.invoke("feedback_worker", sqs_event(bounce_to(tagged)))

    assert today_counts(account["account_id"]) == counted
    assert is_suppressed(account["account_id"], ANN) == bool(counted)


# --- SES's suppression lists (P26, P28) -----------------------------------------------------------

@pytest.mark.parametrize(("subtype", "counted"), [
    # The account-level list is shared by every tenant, and SES does not count it either.
    ("OnAccountSuppressionList", {}),
    # The global list: the address recently bounced as invalid; SES counts it, so does Tidings.
    ("Suppressed", {"hard_bounces": 1}),
])
def test_p26_p28_a_bounce_off_an_ses_suppression_list_ends_and_suppresses_and_counts_as_ses_counts(
        client, account, news, subtype, counted):
    from chalicelib.store.campaign_stats import campaign_counters
    from tests.support.campaigns import campaign_of

    campaign_id = campaign_of(account["account_id"], news)
    result = client.lambda_.invoke("feedback_worker", sqs_event(
        bounce(account, news, "Permanent", subtype, campaign=campaign_id)))

    assert result.payload == {"batchItemFailures": []}
    assert today_counts(account["account_id"]) == counted
    # SES will not deliver there again: never mailed again, and the entry shows why.
    assert is_suppressed(account["account_id"], ANN)
    assert status_of(news, ANN) == "bounced"
    # The campaign's report still tells the mail was not delivered.
    assert campaign_counters(campaign_id).get("bounces#hard", 0) == 1


def test_p26_p28_a_complaint_off_the_shared_ses_suppression_list_stays_out_of_the_rates(
        client, account, news):
    """SES made this complaint up without sending (complaintSubType OnAccountSuppressionList):
    the address is on the account-level list every tenant shares, perhaps for a complaint about
    another tenant's mail. It stops mail to the person, as SES will never deliver there, but is
    not this account's complaint: counted toward its rates, a few would suspend it (0.1%)."""
    complaint = ses_event("event-complaint.json", ANN, tags(account, news),
                          complaintSubType="OnAccountSuppressionList")
    result = client.lambda_.invoke("feedback_worker", sqs_event(sns_body(complaint)))

    assert result.payload == {"batchItemFailures": []}
    assert today_counts(account["account_id"]) == {}
    assert is_suppressed(account["account_id"], ANN)


# --- no message record (it expires 28 days after sending): protect the person, count nowhere -------

BO = "bo@example.com"


def health_days(account_id):
    """Every day of the account's rates that holds a count."""
    return list(AccountHealthDay.query(account_id))


def expire_message_records():
    """What DynamoDB's TTL does (usually within two days) to message records past their expiry."""
    from datetime import UTC, datetime

    from chalicelib.store.models import MessageRecord

    for record in MessageRecord.scan():
        if record.expires_at <= datetime.now(UTC):
            record.delete()


def test_p12_a_complaint_29_days_after_sending_suppresses_and_ends_the_entry_but_counts_nowhere(
        client, account, news, logs):
    from datetime import timedelta

    import time_machine

    from chalicelib.store.campaign_stats import campaign_counters
    from tests.support.campaigns import campaign_of

    campaign_id = campaign_of(account["account_id"], news)
    with time_machine.travel(now() - timedelta(days=29), tick=False):
        complaint = ses_event("event-complaint.json", ANN, tags(account, news, campaign=campaign_id))
    expire_message_records()
    complaint["complaint"]["timestamp"] = now().strftime("%Y-%m-%dT%H:%M:%S.000Z")

    for _ in range(2):  # SES or SQS repeating it changes nothing more
        result = client.lambda_.invoke("feedback_worker", sqs_event(sns_body(complaint)))
        assert result.payload == {"batchItemFailures": []}

    assert is_suppressed(account["account_id"], ANN)
    assert status_of(news, ANN) == "complained"
    assert health_days(account["account_id"]) == []
    assert campaign_counters(campaign_id).get("complaints", 0) == 0
    assert ANN not in logs.text


def test_p12_a_permanent_bounce_without_a_record_suppresses_and_ends_the_entry_but_counts_nowhere(
        client, account, news):
    from chalicelib.store.campaign_stats import campaign_counters
    from tests.support.campaigns import campaign_of

    campaign_id = campaign_of(account["account_id"], news)
    hard = bounce_to(tags(account, news, campaign=campaign_id))

    for _ in range(2):
        result = client.lambda_.invoke("feedback_worker", sqs_event(hard))
        assert result.payload == {"batchItemFailures": []}

    assert is_suppressed(account["account_id"], ANN)
    assert status_of(news, ANN) == "bounced"
    assert health_days(account["account_id"]) == []
    assert campaign_counters(campaign_id).get("bounces#hard", 0) == 0


def test_p12_a_transient_bounce_without_a_record_changes_nothing(client, account, news):
    from chalicelib.store.models import RateCounter

    subscribe(account["account_id"], news, BO)
    # Three mails' transient bounces (the limit), beside a permanent bounce that does protect.
    soft = [bounce_to(tags(account, news, campaign=f"cmp_{n}"), "Transient", "MailboxFull") for n in range(3)]
    hard = bounce_to(tags(account, news), recipient=BO)

    result = client.lambda_.invoke("feedback_worker", sqs_event(*soft, hard))

    assert result.payload == {"batchItemFailures": []}
    assert status_of(news, ANN) == "confirmed"
    assert not is_suppressed(account["account_id"], ANN)
    assert list(RateCounter.scan()) == []
    assert status_of(news, BO) == "bounced"
    assert health_days(account["account_id"]) == []


@pytest.mark.parametrize("tagged", ["ours", "neighbours"])
def test_p12_without_a_record_tags_naming_another_accounts_list_leave_its_entry_alone(
        client, account, news, neighbour, tagged):
    subscribe(neighbour["account_id"], neighbour["list_id"], ANN)
    accounts = {"ours": account["account_id"], "neighbours": neighbour["account_id"]}
    lists = {"ours": news, "neighbours": neighbour["list_id"]}
    other = "neighbours" if tagged == "ours" else "ours"
    claimed = {"account": accounts[tagged], "kind": "campaign", "list": lists[other], "campaign": "cmp_1"}

    result = client.lambda_.invoke("feedback_worker", sqs_event(sns_body(
        ses_event("event-complaint.json", ANN, claimed, sent=False))))

    assert result.payload == {"batchItemFailures": []}
    assert is_suppressed(accounts[tagged], ANN)
    assert not is_suppressed(accounts[other], ANN)
    # The tagged list's entry is the other account's; the tagged account's is on no tagged list.
    assert status_of(news, ANN) == "confirmed"
    assert status_of(neighbour["list_id"], ANN) == "confirmed"


@pytest.mark.parametrize("claimed", [
    {"account": "acc_" + "0" * 20},
    {"account": None},
    {"account": ""},
    {"account": "x" * 3000},
    {"account": "acc_0000#lst_0000"},
    {"kind": "account_suspended"},
], ids=["missing account", "no account tag", "empty", "too long", "not an id", "the platform's own mail"])
def test_p12_without_a_record_tags_naming_no_account_here_change_nothing(client, account, news, claimed):
    from chalicelib.domain.suppression import PLATFORM_MAIL_SCOPE
    from chalicelib.store.models import Suppression

    subscribe(account["account_id"], news, BO)
    odd = {name: value for name, value in {**tags(account, news), **claimed}.items() if value is not None}
    batch = sqs_event(sns_body(ses_event("event-complaint.json", ANN, odd, sent=False)),
                      sns_body(ses_event("event-complaint.json", BO, tags(account, news), sent=False)))

    result = client.lambda_.invoke("feedback_worker", batch)

    assert result.payload == {"batchItemFailures": []}
    assert status_of(news, ANN) == "confirmed"
    # Bo's alone in the account; the platform's own mail stops only the platform's mail (P11).
    platform_mail = [PLATFORM_MAIL_SCOPE] if "kind" in claimed else []
    scopes = sorted(item.scope for item in Suppression.scan())
    assert scopes == sorted([account["account_id"], *platform_mail])
    assert status_of(news, BO) == "complained"


def test_p21_p18_a_receipt_goes_30_days_after_its_mail_was_sent_not_after_the_event(client, account, news):
    """A receipt holds the recipient's keyed hash and is needed only while its mail's record can
    match a replay: 30 days after sending (P21), however late the complaint came. TTL deletes it
    from then, within days (the data map says so)."""
    from datetime import timedelta

    import time_machine

    from chalicelib.domain.retention import MESSAGE_RETENTION
    from chalicelib.store.models import FeedbackReceipt, MessageRecord

    with time_machine.travel(now() - timedelta(days=20), tick=False):
        complaint = ses_event("event-complaint.json", ANN, tags(account, news))
    complaint["complaint"]["timestamp"] = now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    client.lambda_.invoke("feedback_worker", sqs_event(sns_body(complaint)))

    [record] = list(MessageRecord.scan())
    [receipt] = list(FeedbackReceipt.scan())
    assert receipt.expires_at <= record.sent_at + MESSAGE_RETENTION


def test_p21_a_record_past_its_30_days_that_the_purge_has_not_reached_counts_nowhere(client, account, news):
    """Its receipt expires at day 30: a record the daily purge has yet to delete must not let
    a late replay count again once TTL took the receipt (P21: the record is as good as gone)."""
    from datetime import timedelta

    import time_machine

    from chalicelib.store.models import FeedbackReceipt

    with time_machine.travel(now() - timedelta(days=30, hours=1), tick=False):
        complaint = ses_event("event-complaint.json", ANN, tags(account, news))
    complaint["complaint"]["timestamp"] = now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    client.lambda_.invoke("feedback_worker", sqs_event(sns_body(complaint)))

    assert health_days(account["account_id"]) == [] and list(FeedbackReceipt.scan()) == []
    assert is_suppressed(account["account_id"], ANN), "it still suppresses, as any late complaint"


def test_p25_p18_an_addresss_transient_bounce_counter_goes_when_no_window_reads_it(client, account, news):
    """The counter holds the address's keyed hash and is summed over the transient-bounce window
    (a week) only: it expires a day after the last window that reads it, not with the account's
    30-day health window."""
    from datetime import UTC, datetime, timedelta

    from chalicelib.config import settings
    from chalicelib.store.models import RateCounter

    client.lambda_.invoke("feedback_worker", sqs_event(bounce(account, news, "Transient", "MailboxFull")))
    [counter] = [c for c in RateCounter.scan() if c.counter_key.startswith("soft-bounce:")]
    today = now().date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
    assert counter.expires_at == midnight + timedelta(days=settings().health.soft_bounce_window_days + 1)
