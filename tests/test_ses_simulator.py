"""The local stack's SES mailbox simulator: what it publishes, and a bounce travelling the real
feedback path (send worker → SES → simulator → SNS topic → SQS feedback queue → feedback worker)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from chalicelib.domain.feedback import BounceType, FeedbackKind, parse_feedback
from chalicelib.local.simulator import install, outcome, simulated_events
from chalicelib.store.suppressions import is_suppressed
from tests.support.api import bearer
from tests.support.events import sqs_event
from tests.support.lists import new_list, status_of, subscribe
from tests.support.queues import take

AT = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
TAGS = {"account": "acc_1", "kind": "campaign", "list": "lst_1", "campaign": "cmp_1"}


def kinds_for(recipient: str) -> list[str]:
    events = simulated_events("ses-1", "news@acme.example", [recipient], TAGS, "tidings-feedback",
                              "eu-west-1", AT)
    return [event["eventType"] for event in events]


@pytest.mark.parametrize(("recipient", "expected"), [
    ("success@simulator.amazonses.com", ["Send", "Delivery"]),
    ("bounce@simulator.amazonses.com", ["Send", "Bounce"]),
    ("ooto@simulator.amazonses.com", ["Send", "Delivery"]),
    ("complaint@simulator.amazonses.com", ["Send", "Delivery", "Complaint"]),
    ("suppressionlist@simulator.amazonses.com", ["Send", "Bounce"]),
    ("bounce+label-1@simulator.amazonses.com", ["Send", "Bounce"]),
    ("ann@example.com", ["Send", "Delivery"]),
    ("bounce@example.com", ["Send", "Delivery"]),
])
def test_each_simulator_address_produces_what_ses_publishes(recipient, expected):
    assert kinds_for(recipient) == expected


def test_suppressionlist_bounces_permanently_as_on_the_account_suppression_list():
    assert outcome("SuppressionList@simulator.amazonses.com") == "suppressionlist"
    events = simulated_events("ses-1", "news@acme.example", ["suppressionlist@simulator.amazonses.com"],
                              TAGS, "tidings-feedback", "eu-west-1", AT)
    bounce = parse_feedback(json.dumps(events[-1])).bounce
    assert bounce.type is BounceType.PERMANENT and bounce.subtype == "OnAccountSuppressionList"


def test_simulated_events_parse_with_the_message_id_and_tags():
    events = simulated_events("ses-42", "news@acme.example", ["complaint@simulator.amazonses.com"], TAGS,
                              "tidings-feedback", "eu-west-1", AT)
    parsed = [parse_feedback(json.dumps(event)) for event in events]
    assert [event.kind for event in parsed] == [FeedbackKind.SEND, FeedbackKind.DELIVERY,
                                                FeedbackKind.COMPLAINT]
    assert {event.ses_message_id for event in parsed} == {"ses-42"}
    assert all(event.tags["account"] == "acc_1" and event.tags["list"] == "lst_1" for event in parsed)
    assert parsed[-1].complaint_feedback_type == "abuse"


@pytest.fixture
def simulator(aws: dict[str, str]) -> Iterator[None]:
    """The simulator hooked into the SES v2 client the send worker uses, as the local stack does."""
    from chalicelib.clients import client

    uninstall = install(client("sesv2"), aws["ses_feedback_topic_arn"])
    yield
    uninstall()  # clients outlive the test


def send_to(client, account_id: str, list_id: str, recipient: str) -> None:
    from chalicelib.config import settings
    from chalicelib.domain.outbox import EmailJob
    from chalicelib.domain.outgoing import OutgoingEmail

    mail = OutgoingEmail(sender=settings().default_sender, recipient=recipient, subject="News",
                         text="Hello")
    job = EmailJob(f"msg-{recipient}", account_id, "campaign", mail, {"list": list_id, "campaign": "cmp_1"})
    result = client.lambda_.invoke("send_worker", sqs_event(json.dumps(job.to_dict())))
    assert result.payload == {"batchItemFailures": []}


def run_feedback(client) -> list[str]:
    """Deliver what reached the feedback queue to the feedback worker; the SES event types seen."""
    records = take("feedback")
    result = client.lambda_.invoke("feedback_worker", sqs_event(*records))
    assert result.payload == {"batchItemFailures": []}
    return [json.loads(json.loads(r["body"])["Message"])["eventType"] for r in records]


def test_p12_bounce_at_the_simulator_travels_to_a_bounced_subscriber(client, account, simulator):
    bouncer = "bounce@simulator.amazonses.com"
    list_id = new_list(client, bearer(account["api_key"]))
    subscribe(account["account_id"], list_id, bouncer)

    send_to(client, account["account_id"], list_id, bouncer)
    seen = run_feedback(client)

    assert seen == ["Bounce"], "the set asks for no Send event: the simulator publishes none"
    assert status_of(list_id, bouncer) == "bounced"
    assert is_suppressed(account["account_id"], bouncer)


def test_p12_complaint_at_the_simulator_travels_to_a_complained_subscriber(client, account, simulator):
    complainer = "complaint@simulator.amazonses.com"
    list_id = new_list(client, bearer(account["api_key"]))
    subscribe(account["account_id"], list_id, complainer)

    send_to(client, account["account_id"], list_id, complainer)
    seen = run_feedback(client)

    assert seen == ["Complaint"]
    assert status_of(list_id, complainer) == "complained"
    assert is_suppressed(account["account_id"], complainer)


def test_success_at_the_simulator_is_counted_by_the_sender_and_publishes_nothing(client, account, simulator):
    from chalicelib.domain.clock import now
    from chalicelib.store.models import AccountHealthDay

    list_id = new_list(client, bearer(account["api_key"]))
    send_to(client, account["account_id"], list_id, "success@simulator.amazonses.com")
    assert not take("feedback"), "Send and Delivery are not among the set's event types"
    day = AccountHealthDay.get(account["account_id"], now().date().isoformat())
    assert day.sent == 1


def test_the_simulator_publishes_what_the_configuration_set_asks_for(aws):
    from chalicelib.config import settings
    from chalicelib.local.simulator import published_event_types
    from chalicelib.resources import FEEDBACK_EVENT_TYPES

    assert published_event_types(settings().configuration_set) == set(FEEDBACK_EVENT_TYPES)


def test_p12_local_stack_bounce_travels_from_signup_to_a_bounced_subscriber(tmp_path):
    """End to end on the real local stack: the confirmation mail to bounce@simulator bounces, and
    the pump carries the simulated Bounce from the feedback topic to the feedback worker."""
    import time
    import urllib.request

    from tests.support.stack import get_json, running_stack

    bouncer = "bounce@simulator.amazonses.com"
    with running_stack(tmp_path) as stack:
        api, details = stack.details["api_url"], stack.details
        auth = {"Authorization": f"Bearer {details['api_key']}", "Content-Type": "application/json"}
        request = urllib.request.Request(f"{api}/v1/lists/{details['list_id']}/subscribers", method="POST",
                                         headers=auth, data=json.dumps({"email": bouncer}).encode())
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 201
        entry_url = f"{api}/v1/lists/{details['list_id']}/subscribers/bounce%40simulator.amazonses.com"
        deadline = time.monotonic() + 30
        while get_json(entry_url, auth)["status"] != "bounced":
            assert time.monotonic() < deadline, stack.log.read_text()[-3000:]
            time.sleep(0.3)
        # The send worker counts `sent` when its SQS batch ends, and the feedback worker counts
        # the bounce after ending the entry: wait (bounded) until both counts have landed.
        while True:
            counts = get_json(f"{api}/v1/account/health", auth)["counts"]
            if counts["sent"] >= 1 and counts["hard_bounces"] >= 1:
                break
            assert time.monotonic() < deadline, stack.log.read_text()[-3000:]
            time.sleep(0.3)
        assert (counts["sent"], counts["hard_bounces"]) == (1, 1)
