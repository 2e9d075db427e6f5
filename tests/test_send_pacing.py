"""No billed waiting (issue 15): senders never sleep for the SES rate beyond a few milliseconds.

Campaign batches reserve their send times in the campaign lane and hand what must wait back to
the queue, delayed until its time; outbox mail without a token goes back delayed; the lanes share
the SES rate; the campaign sender's trigger follows the rate."""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from chalicelib.config import settings
from chalicelib.domain.sending import (
    MAX_SEND_WAIT_SECONDS,
    OUTBOX_BURST,
    Reservation,
    job_from_dict,
    sending_lanes,
)
from chalicelib.functions import (
    MIN_MAXIMUM_CONCURRENCY,
    SECONDS_PER_CAMPAIGN_MAIL,
    campaign_send_trigger,
    function_spec,
)
from chalicelib.store.send_rate import SendRateLimiter
from tests.support.campaigns import campaign_status, create_campaign
from tests.support.events import sqs_event
from tests.support.lists import new_list, subscribe
from tests.support.mail import recipients_of_sent
from tests.support.queues import run_queues, take
from tests.test_send_rate import Clock, assert_never_over_rate

START = 1_900_000_000.0


# --- the lanes and the trigger (pure) --------------------------------------------------------------

@pytest.mark.parametrize("rate", [1, 2, 14, 50, 200, 1000])
def test_the_campaign_and_outbox_lanes_share_the_ses_rate(rate):
    campaign, outbox = sending_lanes(rate)
    assert campaign + outbox == pytest.approx(rate)
    assert min(1.0, rate / 2) <= outbox <= max(1.0, rate * 0.05) + 1e-9
    assert campaign >= rate / 2


@pytest.mark.parametrize("rate", [1, 14, 50, 200, 1000])
def test_the_campaign_senders_trigger_follows_the_ses_rate(rate):
    trigger = campaign_send_trigger(rate)
    # Enough senders, each sending a mail every SECONDS_PER_CAMPAIGN_MAIL, to keep up with the rate.
    assert trigger.maximum_concurrency >= max(MIN_MAXIMUM_CONCURRENCY, rate * SECONDS_PER_CAMPAIGN_MAIL)
    most = max(MIN_MAXIMUM_CONCURRENCY, math.ceil(2 * rate * SECONDS_PER_CAMPAIGN_MAIL))
    assert trigger.maximum_concurrency <= most
    # More than one batch an invocation only while one sender outpaces the rate (no batch waits
    # behind another inside one invocation).
    assert 1 <= trigger.batch_size <= 10
    assert trigger.batch_size == 1 or trigger.batch_size * rate * SECONDS_PER_CAMPAIGN_MAIL <= 1
    assert function_spec("campaign_send_worker", rate).trigger == trigger


def test_the_packaged_rate_sizes_the_deployed_trigger():
    assert campaign_send_trigger(14).maximum_concurrency == 2
    assert campaign_send_trigger(1000).maximum_concurrency == 90
    assert campaign_send_trigger(1).batch_size == 10
    assert function_spec("campaign_send_worker").trigger == campaign_send_trigger(14)


# --- reservations (the bucket, moto) ------------------------------------------------------------------

def test_an_idle_bucket_reserves_its_burst_at_once_then_one_every_interval(aws):
    clock = Clock(START)
    limiter = SendRateLimiter(rate=10, bucket_id="r1", clock=clock)
    reservation = limiter.reserve(25)
    slots = [reservation.slot(k) for k in range(25)]
    assert all(slot <= START for slot in slots[:10]), "the burst (capacity 10) is due at once"
    assert slots[10] == pytest.approx(START + 0.1) and slots[24] == pytest.approx(START + 1.5)
    # The next reservation follows this one.
    assert limiter.reserve(1).slot(0) == pytest.approx(START + 1.6 - 0.9)


def test_reservations_of_many_senders_never_exceed_rate_times_window_plus_capacity(aws):
    clock = Clock(START)
    senders = [SendRateLimiter(rate=14, bucket_id="r2", clock=clock) for _ in range(4)]
    chooser = random.Random(15)
    slots: list[float] = []
    reserved: list[float] = []
    while clock.now - START < 60:
        count = chooser.randint(1, 100)
        reservation = chooser.choice(senders).reserve(count)
        reserved += [round(reservation.slot(k), 4) for k in range(count)]
        # A slot already past is used at once, when the reservation is made.
        slots += [max(clock.now, reservation.slot(k)) for k in range(count)]
        clock.sleep(chooser.choice([0.0, 0.05, 0.5, 3.0]))
    assert_never_over_rate([(slot, 1) for slot in slots], rate=14, capacity=14)
    assert len(reserved) == len(set(reserved)), "no two mails were given the same send time"


# --- a campaign batch hands back what must wait --------------------------------------------------------

@pytest.fixture
def at_rate(monkeypatch):
    """Set the SES rate for the test (the settings read it again), and restore it after."""
    def set_rate(rate: float) -> None:
        monkeypatch.setenv("TIDINGS_SES_MAX_SEND_RATE", str(rate))
        settings.cache_clear()

    yield set_rate
    monkeypatch.undo()
    settings.cache_clear()


@pytest.fixture
def slow_rate(at_rate):
    """An SES rate of 3 a second: the campaign lane sends 2 a second, its burst is 2."""
    at_rate(3)


def _handed_back(monkeypatch) -> list[tuple[dict[str, Any], int]]:
    from chalicelib.services.sending import batches

    handed: list[tuple[dict[str, Any], int]] = []
    real = batches.enqueue

    def spying(queue: Any, job: dict[str, Any], delay_seconds: int = 0) -> str:
        handed.append((job, delay_seconds))
        return real(queue, job, delay_seconds)

    monkeypatch.setattr(batches, "enqueue", spying)
    return handed


def _sleeps(monkeypatch) -> list[float]:
    slept: list[float] = []
    real = time.sleep
    monkeypatch.setattr(time, "sleep", lambda seconds: slept.append(seconds) or real(seconds))
    return slept


def test_a_campaign_batch_never_sleeps_for_its_send_times_but_hands_the_rest_back_delayed(
        client, account, headers, slow_rate, monkeypatch):
    from chalicelib.store import send_rate

    list_id = new_list(client, headers, "News")
    for n in range(6):
        subscribe(account["account_id"], list_id, f"reader{n}@example.com")
    campaign = create_campaign(client, headers, [list_id])
    reserved: list[int] = []
    real_reserve = send_rate.reserve_campaign_sends
    monkeypatch.setattr(send_rate, "reserve_campaign_sends",
                        lambda count: reserved.append(count) or real_reserve(count))
    handed, slept = _handed_back(monkeypatch), _sleeps(monkeypatch)
    client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers, body="")
    # Time stands still: what the burst allows is what is due, however slow this machine is.
    with time_machine.travel(datetime.now(UTC), tick=False):
        client.lambda_.invoke("fanout_worker", sqs_event(*take("fanout")))
        result = client.lambda_.invoke("campaign_send_worker", sqs_event(*take("campaign-send")))
    assert result.payload == {"batchItemFailures": []}
    assert len(recipients_of_sent()) == 2, "the campaign lane's burst goes at once"
    ((job, delay),) = handed
    assert len(job["recipients"]) == 4 and job["reservation"] and delay >= 1
    # Each continuation arrives at its time and sends what is due, with the batch's reservation.
    for _ in range(10):
        if not handed:
            break
        (body, _), handed[:] = handed[0], []
        continuation = job_from_dict(body)
        assert continuation.reservation is not None
        with time_machine.travel(datetime.fromtimestamp(continuation.reservation.slot(0), UTC), tick=True):
            result = client.lambda_.invoke("campaign_send_worker", sqs_event(json.dumps(body)))
        assert result.payload == {"batchItemFailures": []}
    assert sorted(recipients_of_sent()) == [f"reader{n}@example.com" for n in range(6)]
    assert reserved == [6], "reserved once, the continuations keep the reservation"
    from chalicelib.store.messages import listed
    from chalicelib.store.models import MessagePurgeList

    filed = [hashed for purge_list in MessagePurgeList.scan() for hashed in listed(purge_list)]
    assert len(filed) == len(set(filed)) == 6, "each filed for the purge once, by the read before its mail"
    assert all(seconds <= MAX_SEND_WAIT_SECONDS for seconds in slept), slept
    assert campaign_status(client, headers, campaign["campaign_id"]) == "sent"


def test_the_fan_out_queues_each_batch_delayed_until_its_first_send_time(
        client, account, headers, slow_rate, monkeypatch):
    from chalicelib.services.sending import fanout

    monkeypatch.setattr(fanout, "batch_size", 2)
    queued: list[tuple[list[dict[str, Any]], list[int] | None]] = []
    real = fanout.enqueue_many
    monkeypatch.setattr(fanout, "enqueue_many", lambda queue, jobs, delays=None: queued.append((jobs, delays))
                        or real(queue, jobs, delays))
    list_id = new_list(client, headers, "News")
    for n in range(6):
        subscribe(account["account_id"], list_id, f"reader{n}@example.com")
    campaign = create_campaign(client, headers, [list_id])
    client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers, body="")
    with time_machine.travel(datetime.now(UTC), tick=False):
        client.lambda_.invoke("fanout_worker", sqs_event(*take("fanout")))
    ((jobs, delays),) = queued
    # The campaign lane sends 2 a second with a burst of 2: batches of 2 start 0, 1 and 2 s on.
    assert delays == [0, 1, 2]
    firsts = [job_from_dict(job).reservation.first for job in jobs]
    assert firsts[1] - firsts[0] == pytest.approx(1.0) and firsts[2] - firsts[1] == pytest.approx(1.0)
    assert len(take("campaign-send")) == 1, "the later batches wait in the queue"


def test_a_continuation_arriving_before_its_time_goes_back_without_sending(
        client, account, headers, slow_rate, monkeypatch):
    from chalicelib.domain.marketing_mail import ListSettings
    from chalicelib.domain.sending import BatchJob
    from chalicelib.domain.subscriptions import Contact
    from chalicelib.services.sending.batches import send_batch

    list_id = new_list(client, headers, "News")
    subscribe(account["account_id"], list_id, "ann@example.com")
    campaign = create_campaign(client, headers, [list_id])
    client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers, body="")
    take("fanout")
    handed = _handed_back(monkeypatch)
    later = Reservation(first=time.time() + 2000, interval=0.5)
    news = ListSettings(list_id=list_id, name="News", track_opens=True, track_clicks=True)
    job = BatchJob(account["account_id"], campaign["campaign_id"], news, 0, 0,
                   [Contact(email="ann@example.com")], reservation=later)
    outcome = send_batch(job, time_left=lambda: 60.0)
    assert outcome.sent == 0 and recipients_of_sent() == []
    ((body, delay),) = handed
    # SQS holds a message back 15 minutes at most (adapters/sqs clamps it, or SQS would refuse
    # the call): it comes back then and waits again.
    assert delay >= 1999
    assert job_from_dict(body).reservation == later


def test_a_batch_reads_each_recipients_suppressions_once_as_they_come_due(
        client, account, headers, slow_rate, monkeypatch):
    from chalicelib.services.sending.batches import send_batch
    from chalicelib.store.models import Subscriber
    from tests.support.mail import recorded_calls

    list_id = new_list(client, headers, "News")
    for person in ("ann@example.com", "bob@example.com", "cat@example.com"):
        subscribe(account["account_id"], list_id, person)
    campaign = create_campaign(client, headers, [list_id])
    client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers, body="")
    run_queues(client, ("fanout",))
    [batch] = take("campaign-send")
    # The first is due, the second and third 10 and 20 seconds on: each invocation sends one.
    job = replace(job_from_dict(json.loads(batch["body"])),
                  reservation=Reservation(first=time.time() - 1, interval=10.0))
    people = [contact.email for contact in job.recipients]
    made = recorded_calls(monkeypatch, "dynamodb", "batch_get_item")
    handed = _handed_back(monkeypatch)
    outcomes = [send_batch(job, time_left=lambda: 60.0)]
    while handed:
        (body, _), handed[:] = handed[0], []
        job = job_from_dict(body)
        with time_machine.travel(datetime.fromtimestamp(job.reservation.slot(0), UTC), tick=True):
            outcomes.append(send_batch(job, time_left=lambda: 60.0))
    assert [outcome.sent for outcome in outcomes] == [1, 1, 1]
    # Each entry is read with the person's suppressions (store/sending_state.due_recipients).
    read = [[key["address"]["S"] for key in call["RequestItems"][Subscriber.Meta.table_name]["Keys"]]
            for call in made if Subscriber.Meta.table_name in call["RequestItems"]]
    assert read == [[person] for person in people], "each read once, when due; none read ahead of time"
    assert sorted(recipients_of_sent()) == sorted(people)
    assert campaign_status(client, headers, campaign["campaign_id"]) == "sent"


# --- the outbox goes back to its queue without failing -------------------------------------------------

def test_outbox_mail_without_a_token_goes_back_delayed_and_does_not_fail(client, monkeypatch):
    from chalicelib.services.sending import outbox
    from chalicelib.store import send_rate
    from chalicelib.store.send_rate import Grant
    from tests.test_send_worker import hold_account, job

    hold_account()
    handed: list[int] = []
    real = outbox.enqueue
    monkeypatch.setattr(outbox, "enqueue", lambda queue, body, delay_seconds=0: handed.append(delay_seconds)
                        or real(queue, body, delay_seconds))
    monkeypatch.setattr(send_rate, "outbox_grant", lambda wanted, max_wait: Grant(0, time.time(), 2.4))
    slept = _sleeps(monkeypatch)
    result = client.lambda_.invoke("send_worker", sqs_event(job("msg-1"), job("msg-2", "bob@example.com")))
    assert result.payload == {"batchItemFailures": []}
    assert handed == [3, 3] and recipients_of_sent() == [] and slept == []
    assert take("outbox") == [], "delayed: not visible yet"


def test_the_outbox_lane_sends_a_small_burst_at_once(aws, at_rate):
    from chalicelib.store.send_rate import outbox_grant

    at_rate(14)
    assert outbox_grant(OUTBOX_BURST, MAX_SEND_WAIT_SECONDS).tokens == OUTBOX_BURST
    refused = outbox_grant(1, MAX_SEND_WAIT_SECONDS)
    assert refused.tokens == 0 and 0 < refused.retry_after <= 1.0
