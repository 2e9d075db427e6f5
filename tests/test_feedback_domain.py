"""Parsing SES feedback: AWS's documented samples, raw and SNS-wrapped; unknown and malformed."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from chalicelib.domain.feedback import (
    Bounce,
    BounceType,
    FeedbackKind,
    Ignored,
    MalformedFeedback,
    parse_feedback,
)
from chalicelib.domain.health import (
    DayCounts,
    HealthPolicy,
    Thresholds,
    counts_for_account,
    sending_blocked_reason,
    summarise,
    suspension_message_id,
    suspension_reason,
    thresholds_for,
    window_start,
)
from tests.support.events import SES_EVENTS, ses_sample, sns_body

SAMPLES = sorted(path.name for path in SES_EVENTS.glob("*.json"))

# What each documented sample must parse to: kind, SES message id's start, recipients.
EXPECTED = {
    "event-bounce.json": (FeedbackKind.BOUNCE, ("recipient@example.com",)),
    "event-click.json": (FeedbackKind.CLICK, ("recipient@example.com",)),
    "event-complaint.json": (FeedbackKind.COMPLAINT, ("recipient@example.com",)),
    "event-delivery.json": (FeedbackKind.DELIVERY, ("recipient@example.com",)),
    "event-deliverydelay.json": (FeedbackKind.DELIVERY_DELAY, ("recipient@example.com",)),
    "event-open.json": (FeedbackKind.OPEN, ("recipient@example.com",)),
    "event-reject.json": (FeedbackKind.REJECT, ("sender@example.com",)),
    "event-rendering-failure.json": (FeedbackKind.RENDERING_FAILURE, ("recipient@example.com",)),
    "event-send.json": (FeedbackKind.SEND, ("recipient@example.com",)),
    "event-subscription.json": (FeedbackKind.SUBSCRIPTION, ("recipient@example.com",)),
    "identity-bounce-with-dsn.json": (FeedbackKind.BOUNCE, ("jane@example.com",)),
    "identity-bounce-without-dsn.json": (FeedbackKind.BOUNCE, ("jane@example.com", "richard@example.com")),
    "identity-complaint-with-feedback-report.json": (FeedbackKind.COMPLAINT, ("richard@example.com",)),
    "identity-complaint-without-feedback-report.json": (FeedbackKind.COMPLAINT, ("richard@example.com",)),
    "identity-delivery.json": (FeedbackKind.DELIVERY, ("jane@example.com",)),
}


def test_every_documented_sample_is_covered():
    assert sorted(EXPECTED) == SAMPLES


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize("wrap", [False, True], ids=["raw", "sns"])
def test_every_documented_sample_parses_raw_and_sns_wrapped(name, wrap):
    document = ses_sample(name)
    body = sns_body(document) if wrap else json.dumps(document)
    event = parse_feedback(body)
    kind, recipients = EXPECTED[name]
    assert event.kind is kind
    assert event.ses_message_id == document["mail"]["messageId"]
    assert event.recipients == recipients
    assert event.timestamp.tzinfo is not None


def test_bounce_type_and_subtype_are_read():
    event = parse_feedback(json.dumps(ses_sample("event-bounce.json")))
    assert event.bounce.type is BounceType.PERMANENT and event.bounce.subtype == "General"
    assert event.timestamp == datetime(2017, 8, 5, 0, 41, 2, 669000, tzinfo=UTC)


@pytest.mark.parametrize(("subtype", "counts"), [
    ("OnAccountSuppressionList", False), ("Suppressed", True), ("General", True), (None, True)])
def test_p26_only_a_bounce_off_the_shared_account_suppression_list_stays_out_of_the_rates(subtype, counts):
    assert Bounce(BounceType.PERMANENT, subtype).counts_toward_rates is counts


def test_event_publishing_tags_become_first_values():
    event = parse_feedback(json.dumps(ses_sample("event-send.json")))
    assert event.tags["myCustomTag1"] == "myCustomTagValue1"
    assert event.tags["ses:configuration-set"] == "ConfigSet"


def test_the_tags_that_find_the_message_record_are_exposed():
    document = ses_sample("event-delivery.json")
    document["mail"]["tags"].update(account=["acc_1"], campaign=["cmp_1"], message=["cm_1"])
    event = parse_feedback(sns_body(document))
    assert (event.message_id, event.campaign_id, event.tags["account"]) == ("cm_1", "cmp_1", "acc_1")


def test_identity_notifications_have_no_tags():
    assert parse_feedback(json.dumps(ses_sample("identity-delivery.json"))).tags == {}


def test_complaint_feedback_type_and_engagement_are_kept_for_later_use():
    assert parse_feedback(json.dumps(ses_sample("event-complaint.json"))).complaint_feedback_type == "abuse"
    click = parse_feedback(json.dumps(ses_sample("event-click.json"))).engagement
    assert click.link.startswith("http://docs.aws.amazon.com/") and click.ip == "192.0.2.1"
    opened = parse_feedback(json.dumps(ses_sample("event-open.json"))).engagement
    assert opened.user_agent.startswith("Mozilla/5.0 (iPhone")


def test_transient_bounce_is_read():
    document = ses_sample("event-bounce.json")
    document["bounce"].update(bounceType="Transient", bounceSubType="MailboxFull")
    event = parse_feedback(json.dumps(document))
    assert event.bounce.type is BounceType.TRANSIENT and event.bounce.subtype == "MailboxFull"


@pytest.mark.parametrize("body", [
    json.dumps({"eventType": "Teleport", "mail": {}}),
    json.dumps({"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "ok"}),
    json.dumps({"notificationType": "Open", "mail": {}}),  # identity notifications have no opens
    json.dumps({"Type": "SubscriptionConfirmation", "Message": "You have chosen to subscribe"}),
])
def test_unknown_types_are_ignored_not_failed(body):
    assert isinstance(parse_feedback(body), Ignored)


def _without(path: str, name: str = "event-bounce.json") -> str:
    document = ses_sample(name)
    *parents, last = path.split(".")
    target = document
    for key in parents:
        target = target[key]
    del target[last]
    return json.dumps(document)


@pytest.mark.parametrize("body", [
    "not json",
    "[1, 2]",
    json.dumps({"mail": {"messageId": "x"}}),
    sns_body("{not json"),
    # Nested past what Python's parser recurses into: a RecursionError, failing the record as a
    # bug would, unless read as the malformed record it is.
    "[" * 100_000 + "]" * 100_000,
    sns_body('{"a":' * 100_000 + "1" + "}" * 100_000),
    json.dumps({"Type": "Notification", "Message": {"eventType": "Send"}}),
    _without("mail"),
    _without("mail.messageId"),
    _without("bounce.bounceType"),
    _without("bounce.bouncedRecipients"),
    _without("complaint.complainedRecipients", "event-complaint.json"),
    _without("delivery.timestamp", "identity-delivery.json").replace('"timestamp"', '"time"'),
    json.dumps({**ses_sample("event-bounce.json"), "bounce": {**ses_sample("event-bounce.json")["bounce"],
                                                          "bounceType": "Soft"}}),
    json.dumps({**ses_sample("event-send.json"), "mail": {**ses_sample("event-send.json")["mail"],
                                                      "destination": "recipient@example.com"}}),
])
def test_malformed_records_raise_a_domain_error(body):
    with pytest.raises(MalformedFeedback):
        parse_feedback(body)


def _complaint_to(count: int) -> str:
    document = ses_sample("event-complaint.json")
    document["complaint"]["complainedRecipients"] = [{"emailAddress": f"p{n}@example.com"}
                                                     for n in range(count)]
    return json.dumps(document)


def test_p12_an_event_naming_more_recipients_than_ses_allows_a_message_is_malformed():
    """P12, P26: SES takes at most 50 recipients a message, so an event listing more is forged or
    broken; refused whole, it suppresses nobody (no unbounded list of writes)."""
    assert len(parse_feedback(_complaint_to(50)).recipients) == 50
    with pytest.raises(MalformedFeedback) as refused:
        parse_feedback(_complaint_to(51))
    assert refused.value.field == "recipients"


# --- account health rules (P26) -----------------------------------------------------------------

class FakeAccount:
    def __init__(self, status="active", reason=None, complaint=None, bounce=None):
        self.status, self.suspension_reason = status, reason
        self.max_complaint_rate, self.max_bounce_rate = complaint, bounce


THRESHOLDS = Thresholds(max_complaint_rate=0.001, max_bounce_rate=0.05, min_volume=200)


def window(sent=0, hard=0, soft=0, complaints=0):
    return summarise(date(2026, 3, 1), [DayCounts(date(2026, 3, 1), sent=sent, hard_bounces=hard,
                                                  soft_bounces=soft, complaints=complaints)])


def test_p26_rates_at_or_above_a_threshold_suspend():
    assert "complaint rate 0.10%" in suspension_reason(window(sent=1000, complaints=1), THRESHOLDS)
    assert "bounce rate 5.00%" in suspension_reason(window(sent=1000, hard=50), THRESHOLDS)
    assert suspension_reason(window(sent=1000, hard=49), THRESHOLDS) is None


def test_p26_no_verdict_below_the_minimum_volume():
    assert suspension_reason(window(sent=1, hard=1), THRESHOLDS) is None
    assert suspension_reason(window(sent=199, complaints=5), THRESHOLDS) is None


def test_delivered_is_sent_minus_bounced_and_never_negative():
    assert window(sent=10, hard=2, soft=1).delivered == 7
    assert window(sent=0, hard=2).delivered == 0


def test_volume_is_at_least_the_bounces_counted():
    assert window(sent=10, hard=5).volume == 10
    assert window(sent=0, hard=3, soft=1).volume == 4


def test_p26_an_account_may_be_stricter_never_looser():
    policy = HealthPolicy()
    assert thresholds_for(policy, FakeAccount(complaint=0.0005)).max_complaint_rate == 0.0005
    assert thresholds_for(policy, FakeAccount(bounce=0.5)).max_bounce_rate == 0.05


def test_the_window_starts_at_the_last_lift_when_that_is_later():
    policy = HealthPolicy()
    today = date(2026, 3, 31)
    assert window_start(today, policy, None) == date(2026, 3, 2)
    lifted = datetime(2026, 3, 20, 15, tzinfo=UTC)
    assert window_start(today, policy, lifted) == date(2026, 3, 20)


def test_p26_a_suspended_account_may_not_send():
    assert sending_blocked_reason(FakeAccount()) is None
    reason = sending_blocked_reason(FakeAccount("suspended", "complaint rate 0.50% over 400 mails"))
    assert reason.startswith("sending is suspended: complaint rate 0.50%")
    assert sending_blocked_reason(FakeAccount("cancelled")) == "the account is cancelled and cannot send"


def test_platform_mail_to_the_account_does_not_count_toward_its_rates():
    assert counts_for_account("campaign") and counts_for_account("confirmation") and counts_for_account(None)
    assert not counts_for_account("account_suspended")
    assert not counts_for_account("platform_optout")


def test_the_suspension_notice_id_is_fixed_per_suspension():
    lifted = datetime(2026, 3, 20, tzinfo=UTC)
    assert suspension_message_id("acc_1", None) == suspension_message_id("acc_1", None)
    assert suspension_message_id("acc_1", None) != suspension_message_id("acc_1", lifted)
    assert suspension_message_id("acc_1", None) != suspension_message_id("acc_2", None)
