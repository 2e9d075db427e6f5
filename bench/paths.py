"""The paths a campaign mail takes, run through the real handlers against moto and metered one
invocation at a time (bench/metering.py: calls, request units, CPU time, log bytes).

Each handler is invoked the way Lambda does it (chalicelib/local/invoke.py: middleware, a Lambda
context), with events shaped as its trigger delivers them: SQS batches for the workers, a
function URL request for the tracking front, API Gateway requests through the Chalice test client
for the routes. bench/cost.py prices what these return; bench/traffic.py decides when the
invocations happen and what each batch holds.
"""
from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.metering import Meter
from bench.traffic import Event, Kind

# Countries of the viewers, as the tracking route derives them (an unknown one now and then).
_COUNTRIES = ("RO", "MD", "EE", "DE", "US", "unknown")
_EVENTS = Path(__file__).resolve().parent.parent / "events"


def _region() -> str:
    from chalicelib.config import settings

    return settings().region


def invoke(function: str, event: dict[str, Any], meter: Meter, timeout_seconds: int | None = None) -> Any:
    """Invoke one handler of the app on `event` as Lambda would (under its declared timeout, or
    `timeout_seconds`), recording into `meter`."""
    from dataclasses import replace

    from app import app
    from chalicelib.functions import function_spec
    from chalicelib.local.invoke import invoke_handler

    spec = function_spec(function)
    if timeout_seconds is not None:
        spec = replace(spec, timeout_seconds=timeout_seconds)
    with meter.recording(logs=True):
        return invoke_handler(app, spec, event, _region())


SCHEDULED_EVENT = {"version": "0", "id": "bench", "detail-type": "Scheduled Event", "source": "aws.events",
                   "account": "123456789012", "time": "2026-03-07T10:00:00Z", "region": "eu-west-1",
                   "resources": [], "detail": {}}


def sqs_event(bodies: Sequence[str]) -> dict[str, Any]:
    """An SQS batch as Lambda's event source mapping delivers it."""
    return {"Records": [
        {"messageId": str(uuid.uuid4()), "receiptHandle": f"r-{index}", "body": body,
         "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"}, "messageAttributes": {},
         "md5OfBody": "x", "eventSource": "aws:sqs",
         "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:tidings-bench", "awsRegion": "eu-west-1"}
        for index, body in enumerate(bodies)]}


# --- a campaign and its list ------------------------------------------------------------------------

@dataclass(frozen=True)
class Audience:
    """A campaign created over HTTP on a list of confirmed subscribers (reader{n:05d}@example.com)."""

    account_id: str
    list_id: str
    campaign_id: str
    headers: dict[str, str]

    @staticmethod
    def address(recipient: int) -> str:
        return f"reader{recipient:05d}@example.com"


def audience(http: Any, recipients: int) -> Audience:
    """A campaign on a list of `recipients` confirmed subscribers, not sent (setup, not metered)."""
    from bench.sending import ready_campaign

    ready = ready_campaign(http, recipients)
    return Audience(ready.account_id, ready.list_id, ready.campaign_id, ready.headers)


@dataclass
class CampaignRun:
    """A campaign sent through the real workers: one meter per invocation of each."""

    recipients: int
    audience: Audience | None = None
    fanout: list[Meter] = field(default_factory=list)
    send: list[Meter] = field(default_factory=list)
    # The daily purge 31 days on, and the same purge at once again (nothing left: its fixed part).
    purge: Meter = field(default_factory=Meter)
    idle_purge: Meter = field(default_factory=Meter)
    purged: dict[str, int] = field(default_factory=dict)
    # Message records and markers DynamoDB's TTL deleted before that purge (free, unmetered).
    ttl_deleted: int = 0


def send_campaign(http: Any, recipients: int, purge: bool = True) -> CampaignRun:
    """Send a campaign to `recipients` confirmed subscribers: the send-now route (not metered),
    then the fan-out and campaign-send handlers on their queues' messages, an invocation per
    batch as their triggers would make them, until both queues are empty; then the purge 31 days
    later (unless not `purge`: its message records stay, for SES feedback on them). The SES rate
    must be high enough that no batch waits (bench/cost.py sets it)."""
    import time_machine

    from bench.sending import send_now
    from chalicelib.resources import CAMPAIGN_SEND, FANOUT
    from chalicelib.services.retention import run_purges

    ready = audience(http, recipients)
    run = CampaignRun(recipients, ready)
    send_now(http, _ready(ready))
    while True:
        fanned = _drain(FANOUT, "fanout_worker", run.fanout)
        sent = _drain(CAMPAIGN_SEND, "campaign_send_worker", run.send)
        if not fanned and not sent:
            break
    if not purge:
        return run
    with time_machine.travel(datetime.now(UTC) + timedelta(days=31)):
        run.ttl_deleted = ttl_sweep()
        with run.purge.recording(logs=True):
            run.purged = run_purges().counts
        with run.idle_purge.recording(logs=True):
            run_purges()
    return run



def marker_purge() -> tuple[Meter, Meter, int, int]:
    """The daily purge of the tracking markers' purge lists a scenario's tracking batches filed
    (P21): on the day they are due (their mails' day 30), which falls before the feedback
    campaign's own lists, so the purge meets no other list; TTL (assumed) has deleted the
    markers by then, so the purge reads each listed key and deletes the lists. Returns the
    meter of that purge, the meter of a run right after with nothing due (the bucket Queries
    every run makes, in the fixed cost), how many lists it deleted, and how many markers TTL
    had left it."""
    import time_machine

    from chalicelib.domain.clock import now
    from chalicelib.store.models import MessagePurgeList
    from chalicelib.store.retention import MARKERS, purge_messages

    lists = sum(1 for item in MessagePurgeList.scan() if item.markers)
    due, idle = Meter(), Meter()
    with time_machine.travel(datetime.now(UTC) + timedelta(days=29)):
        ttl_sweep()
        with due.recording(logs=True):
            progress = purge_messages(now(), lambda: True)
        with idle.recording(logs=True):
            purge_messages(now(), lambda: True)
    return due, idle, lists, progress.also[MARKERS]

def ttl_sweep() -> int:
    """What DynamoDB's TTL has deleted by now, free of charge and unmetered: the message records
    and tracking markers expired TTL_LAG ago or more (assumed: TTL deletes within its usual two
    days; moto has no TTL). Returns how many items it deleted."""
    from chalicelib.domain.clock import now
    from chalicelib.domain.retention import TTL_LAG
    from chalicelib.store.models import MessageRecord, TrackingMarker

    deleted = 0
    for model in (MessageRecord, TrackingMarker):
        for item in model.scan(model.expires_at <= now() - TTL_LAG):
            item.delete()
            deleted += 1
    return deleted


def _ready(ready: Audience) -> Any:
    from bench.sending import ReadyCampaign

    return ReadyCampaign(ready.account_id, ready.headers, ready.list_id, ready.campaign_id)


def _drain(queue: Any, function: str, meters: list[Meter]) -> int:
    """Invoke `function` on the queue's waiting messages, `queue.batch_size` a batch."""
    from chalicelib.adapters.sqs import queue_url
    from chalicelib.clients import client

    sqs, url, handled = client("sqs"), queue_url(queue), 0
    while True:
        messages: list[dict[str, Any]] = []
        while len(messages) < queue.batch_size:
            wanted = min(10, queue.batch_size - len(messages))
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=wanted,
                                      VisibilityTimeout=600).get("Messages", [])
            if not got:
                break
            messages.extend(got)
        if not messages:
            return handled
        meter = Meter()
        result = invoke(function, sqs_event([message["Body"] for message in messages]), meter)
        meters.append(meter)
        failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
        if failed:
            raise RuntimeError(f"{function} failed {len(failed)} records")
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        handled += len(messages)


# --- tracking -----------------------------------------------------------------------------------------

def tracking_front(requests: int, audience_: Audience) -> tuple[Meter, list[Meter]]:
    """The open pixel through the tracking front's function URL handler: one warm-up request,
    then `requests` metered one by one (each is an invocation)."""
    from chalicelib.config import signer
    from chalicelib.domain.mail_links import OPEN, LinkClaim, link_token

    token = link_token(signer(), OPEN, LinkClaim(audience_.account_id, audience_.list_id,
                                                 audience_.address(0), audience_.campaign_id))
    event = json.loads((_EVENTS / "tracking_front.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/t/o/{token}"
    warm = Meter()
    invoke("tracking_front", event, warm)
    meters = []
    for _ in range(requests):
        meter = Meter()
        response = invoke("tracking_front", event, meter)
        if response["statusCode"] != 200:
            raise RuntimeError(f"the tracking front answered {response['statusCode']}")
        meters.append(meter)
    return warm, meters


def warm_up(function: str) -> Meter:
    """A scheduled warm-up of a function that has one (functions.FunctionSpec.warm_every_minutes),
    in an environment its earlier warm-ups left warm: its meter. The API's entry answers its
    warm-up before the app (chalicelib/lambdas/api_handler.py) and cannot be imported beside
    app.py: its check is metered alone."""
    if function == "api_handler":
        from chalicelib.warm_up import is_warm_up

        meter = Meter()
        with meter.recording(logs=True):
            if not is_warm_up(SCHEDULED_EVENT):
                raise RuntimeError("the bench's scheduled event is no warm-up")
        return meter
    invoke(function, SCHEDULED_EVENT, Meter())
    meter = Meter()
    invoke(function, SCHEDULED_EVENT, meter)
    return meter


def tracking_bodies(events: Sequence[Event], audience_: Audience, start: datetime) -> list[str]:
    """The SQS bodies the tracking route queues for these opens and clicks (scenario times from
    `start`), as services/tracking.track builds them."""
    from chalicelib.domain.engagement import Viewer
    from chalicelib.domain.tracking import Action, TrackingEvent

    rng = random.Random(6)
    bodies = []
    for event in events:
        click = event.kind is Kind.CLICK
        tracked = TrackingEvent(
            event_id=uuid.UUID(int=rng.getrandbits(128)).hex, action=Action.CLICK if click else Action.OPEN,
            at=start + timedelta(seconds=event.at), account_id=audience_.account_id,
            list_id=audience_.list_id, campaign_id=audience_.campaign_id,
            address=audience_.address(event.recipient),
            viewer=Viewer.MACHINE if event.machine else Viewer.HUMAN, country=rng.choice(_COUNTRIES),
            link=f"https://acme.example/offer-{event.link}?utm_campaign=spring" if click else None)
        bodies.append(json.dumps(tracked.to_dict()))
    return bodies


def run_batches(function: str, batches: Sequence[Sequence[str]]) -> list[Meter]:
    """Run an SQS handler once per batch of bodies, metered one by one (run_batch)."""
    meters = []
    for bodies in batches:
        meters.append(Meter())
        run_batch(function, bodies, meters[-1])
    return meters


def run_batch(function: str, bodies: Sequence[str], meter: Meter) -> None:
    """Invoke an SQS handler on one batch of bodies, recording into `meter`; a failed record is
    an error (the scenario has no failures). A function that drains its queue runs once on the
    bodies queued just before (its receives and deletes are in the meter, the queueing is not)."""
    from chalicelib.adapters.sqs import enqueue_many
    from chalicelib.functions import function_spec

    drain = function_spec(function).drain
    if drain is None:
        result = invoke(function, sqs_event(bodies), meter)
        failed = len((result or {}).get("batchItemFailures", []))
    else:
        # moto slows down with many messages waiting, so the queue holds a batch at a time: a run
        # of more is metered batch by batch into its one meter (an empty receive more a batch).
        failed = 0
        for start in range(0, len(bodies), drain.batch_size):
            chunk = bodies[start:start + drain.batch_size]
            with _fast_moto_queues():
                enqueue_many(drain.queue, [json.loads(body) for body in chunk])  # not metered
                # And moto is many times slower than AWS: an hour keeps the run's time check from
                # stopping it (its billed time is its CPU and the assumed waits anyway).
                result = invoke(function, SCHEDULED_EVENT, meter, timeout_seconds=3600)
            failed += len(chunk) - result["messages"] + result["returned"]
    if failed:
        raise RuntimeError(f"{function} failed {failed} records")


@contextmanager
def _fast_moto_queues() -> Iterator[None]:
    """moto works out every attribute of a queue, counting its messages one by one, each time it
    sends a message (and more): a run of 1,000 took minutes. Nothing here reads the counts, so
    leave them out (moto's time, not the app's)."""
    from unittest import mock

    import moto.sqs.models as moto_sqs

    counts = {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed",
              "ApproximateNumberOfMessagesNotVisible"}
    kept = [name for name in moto_sqs.Queue.BASE_ATTRIBUTES if name not in counts]
    with mock.patch.object(moto_sqs.Queue, "BASE_ATTRIBUTES", kept):
        yield


@contextmanager
def fast_moto_transactions() -> Iterator[None]:
    """moto copies every table before each TransactWriteItems to roll back on failure; the
    benchmark's transactions do not fail, so skip the copy (moto's time, not the app's)."""
    from types import SimpleNamespace
    from unittest import mock

    import moto.dynamodb.models as moto_dynamodb

    original = moto_dynamodb.DynamoDBBackend.transact_write_items
    no_copy = SimpleNamespace(deepcopy=lambda value: value)

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        with mock.patch.object(moto_dynamodb, "copy", no_copy):
            original(backend, transact_items)

    with mock.patch.object(moto_dynamodb.DynamoDBBackend, "transact_write_items", transact_write_items):
        yield


# --- SES feedback -------------------------------------------------------------------------------------

def feedback_bodies(events: Sequence[Event], audience_: Audience, start: datetime, sent: int) -> list[str]:
    """The SQS bodies of the feedback queue for these bounces and complaints: SES's documented
    event samples, tagged as the send worker tags a campaign mail, in SNS's envelope. They name
    recipients the audience's campaign was sent to (the first `sent`), as SES's do: feedback on
    a message this deployment did not send counts for nobody."""
    bodies = []
    for event in events:
        sample = "event-bounce.json" if event.kind is Kind.BOUNCE else "event-complaint.json"
        document = json.loads((_EVENTS / "ses" / sample).read_text())
        recipient = audience_.address(event.recipient % sent)
        stamp = (start + timedelta(seconds=event.at)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        mail = document["mail"]
        mail.update(messageId=f"0100{uuid.uuid4().hex}-000000", destination=[recipient], timestamp=stamp,
                    tags={"account": [audience_.account_id], "kind": ["campaign"],
                          "campaign": [audience_.campaign_id], "list": [audience_.list_id]})
        if event.kind is Kind.BOUNCE:
            document["bounce"]["bouncedRecipients"][0]["emailAddress"] = recipient
            document["bounce"]["timestamp"] = stamp
        else:
            document["complaint"]["complainedRecipients"] = [{"emailAddress": recipient}]
            document["complaint"]["timestamp"] = stamp
        bodies.append(json.dumps({
            "Type": "Notification", "MessageId": str(uuid.uuid4()),
            "TopicArn": "arn:aws:sns:eu-west-1:123456789012:tidings-ses-feedback",
            "Message": json.dumps(document), "Timestamp": stamp, "SignatureVersion": "1",
            "Signature": "EXAMPLE"}))
    return bodies


# --- signups, confirmations, unsubscribes ---------------------------------------------------------------

@dataclass
class SignupRun:
    """One public signup and its confirmation, metered per step."""

    form: Meter = field(default_factory=Meter)
    worker: Meter = field(default_factory=Meter)
    confirmation_mail: Meter = field(default_factory=Meter)
    page: Meter = field(default_factory=Meter)
    confirm: Meter = field(default_factory=Meter)
    # The daily purge erasing signups never confirmed (P01), less an idle run's.
    expiry: Meter = field(default_factory=Meter)
    idle_expiry: Meter = field(default_factory=Meter)


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def signups(http: Any, audience_: Audience, count: int) -> tuple[SignupRun, int]:
    """`count` signups through the public form, the signups worker, the send worker (the
    confirmation mail), the confirmation page and POST; then `count` more left unconfirmed and
    the purge that erases them once expired. Returns the meters and the signups metered."""
    import time_machine

    from chalicelib.resources import OUTBOX, SIGNUPS
    from chalicelib.services.retention import run_purges

    run = SignupRun()
    for n in range(count + 1):  # the first one warms the routes up, unmetered
        body = urlencode({"email": f"new{n}@example.com", "consent": "yes"})
        with (run.form if n else Meter()).recording(logs=True):
            http.http.post(f"/f/{audience_.list_id}", headers=_FORM, body=body)
        _drain(SIGNUPS, "signup_worker", [run.worker] if n else [])
        mails = _confirmation_paths(OUTBOX, run.confirmation_mail if n else Meter())
        for path in mails:
            with (run.page if n else Meter()).recording(logs=True):
                http.http.get(path)
            with (run.confirm if n else Meter()).recording(logs=True):
                http.http.post(path, headers=_FORM, body="")
    for n in range(count):
        body = urlencode({"email": f"unconfirmed{n}@example.com", "consent": "yes"})
        http.http.post(f"/f/{audience_.list_id}", headers=_FORM, body=body)
        _drain(SIGNUPS, "signup_worker", [])
        _confirmation_paths(OUTBOX, Meter())
    with time_machine.travel(datetime.now(UTC) + timedelta(days=8)):
        with run.expiry.recording(logs=True):
            run_purges()
        with run.idle_expiry.recording(logs=True):
            run_purges()
    return run, count


def _confirmation_paths(outbox: Any, meter: Meter) -> list[str]:
    """Send the outbox's mails through the send worker (into `meter`); their confirmation paths."""
    from chalicelib.adapters.sqs import queue_url
    from chalicelib.clients import client

    sqs, url = client("sqs"), queue_url(outbox)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    if not messages:
        return []
    invoke("send_worker", sqs_event([message["Body"] for message in messages]), meter)
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    paths = []
    for message in messages:
        text = json.loads(message["Body"])["email"]["text"]
        paths.append(text[text.index("/c/"):].split()[0])
    return paths


def unsubscribes(http: Any, audience_: Audience, count: int) -> Meter:
    """`count` one-click unsubscribes (RFC 8058 POST) from the campaign's mail, metered."""
    from chalicelib.config import signer
    from chalicelib.domain.mail_links import UNSUBSCRIBE, LinkClaim, link_token

    meter = Meter()
    for n in range(count + 1):
        claim = LinkClaim(audience_.account_id, audience_.list_id, audience_.address(n),
                          audience_.campaign_id)
        path = f"/u/{link_token(signer(), UNSUBSCRIBE, claim)}"
        with (meter if n else Meter()).recording(logs=True):
            response = http.http.post(path, headers=_FORM, body="List-Unsubscribe=One-Click")
        if response.status_code >= 300:
            raise RuntimeError(f"unsubscribe answered {response.status_code}")
    return meter


# --- the scheduled handlers of an idle deployment --------------------------------------------------------

def idle_schedules() -> tuple[Meter, Meter, Meter]:
    """The every-minute scheduler, the daily purge and the tracking drain with
    nothing to do: their meters."""
    schedules = ("campaign_scheduler", "retention_worker", "tracking_worker")
    for function in schedules:
        invoke(function, SCHEDULED_EVENT, Meter())  # warm
    meters = Meter(), Meter(), Meter()
    # With nothing cached, the meters show which secrets an idle run reads.
    from aws_lambda_powertools.utilities.parameters import clear_caches

    clear_caches()
    for function, meter in zip(schedules, meters, strict=True):
        invoke(function, SCHEDULED_EVENT, meter)
    return meters

