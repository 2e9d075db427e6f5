"""Tracking benchmark (issue 6): the tracking worker on 10,000 events, the pixel route's AWS calls,
and Tidings' own AWS cost per 1,000 mails sent (40% opened, 5% clicked).

Everything runs in-process against moto (no network). Call counts are exact; request units are
derived from each call's parameters (items under 1 KB written, under 4 KB read: Tidings' items are
small); Lambda durations are this machine's in-process timings, a stand-in for AWS's. Prices come
from bench/prices.py. `python -m bench.tracking` prints it all; bench/__main__.py calls `main`.
"""
from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from botocore.client import BaseClient

from bench.aws_calls import count_aws_calls, describe
from bench.prices import PRICES_AS_OF, USD
from bench.route_calls import _PROFILE, _provisioned

EVENTS = 10_000
MAILS = 1_000
OPENED, CLICKED = 0.40, 0.05
# Chalice's prod stage (.chalice/config.json).
LAMBDA_GB = 256 / 1024
# The issue's target: Tidings' own AWS cost at most 3% of what SES charges for the same mails.
TARGET_SHARE_OF_SES = 0.03


@dataclass
class Meter:
    """Every AWS call made while metering, with its parameters, to derive request units."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    aws_seconds: float = 0.0

    @property
    def labels(self) -> Counter[str]:
        return Counter(label for label, _ in self.calls)

    def write_units(self) -> float:
        return sum(_units(label, params)[0] for label, params in self.calls)

    def read_units(self) -> float:
        return sum(_units(label, params)[1] for label, params in self.calls)

    def count(self, service: str) -> int:
        return sum(1 for label, _ in self.calls if label.startswith(f"{service}."))


def _units(label: str, params: dict[str, Any]) -> tuple[float, float]:
    """(write, read) request units of one DynamoDB call, for small items."""
    read = 1.0 if params.get("ConsistentRead") else 0.5
    operation = label.removeprefix("dynamodb.")
    if not label.startswith("dynamodb."):
        return 0.0, 0.0
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return 1.0, 0.0
    if operation == "TransactWriteItems":
        return 2.0 * len(params["TransactItems"]), 0.0
    if operation == "BatchWriteItem":
        return float(sum(len(items) for items in params["RequestItems"].values())), 0.0
    if operation in ("GetItem", "Query"):
        return 0.0, read
    if operation == "BatchGetItem":
        keys = sum(len(table["Keys"]) * (1.0 if table.get("ConsistentRead") else 0.5)
                   for table in params["RequestItems"].values())
        return 0.0, keys
    if operation == "TransactGetItems":
        return 0.0, 2.0 * len(params["TransactItems"])
    return 0.0, 0.0


@contextmanager
def metered() -> Iterator[Meter]:
    """Record every AWS call made in the block, and the time spent inside them."""
    meter = Meter()
    original = BaseClient._make_api_call

    def metering(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        meter.calls.append((f"{client.meta.service_model.service_name}.{operation_name}", api_params))
        started = time.perf_counter()
        try:
            return original(client, operation_name, api_params)
        finally:
            meter.aws_seconds += time.perf_counter() - started

    BaseClient._make_api_call = metering  # type: ignore[method-assign]
    try:
        yield meter
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


# --- the worker on 10,000 events ------------------------------------------------------------------

@dataclass(frozen=True)
class WorkerRun:
    events: int
    batches: int
    seconds: float
    meter: Meter
    counter_updates: int
    distinct_counters_per_batch: float
    ms_per_batch: float


def _events(total: int, campaign_id: str, list_id: str, account_id: str) -> list[dict[str, Any]]:
    """A viral-ish campaign: 4,000 readers, 80% opens (many repeated), 20% clicks on 3 links,
    a quarter from proxies and scanners, six countries."""
    rng = random.Random(6)
    sent = datetime.now(UTC) - timedelta(hours=6)
    links = ["https://shop.example/spring", "https://shop.example/autumn", "https://blog.example/news"]
    events = []
    for n in range(total):
        click = rng.random() < 0.2
        events.append({
            "id": uuid.UUID(int=rng.getrandbits(128)).hex, "action": "clicks" if click else "opens",
            "at": (sent + timedelta(seconds=n)).isoformat(), "account": account_id, "list": list_id,
            "campaign": campaign_id, "address": f"reader{rng.randrange(4000)}@example.com",
            "viewer": "machine" if rng.random() < 0.25 else "human",
            "country": rng.choice(["RO", "MD", "EE", "DE", "US", "unknown"]),
            "link": rng.choice(links) if click else None,
        })
    return events


@contextmanager
def _moto_transactions_without_snapshots() -> Iterator[None]:
    """moto deep-copies a whole table once per item of every TransactWriteItems (to roll back on a
    failed condition), which makes a 10,000-event run quadratic in moto alone. Within this block
    it copies nothing: no condition is meant to fail here, and a failure aborts the run."""
    from unittest import mock

    import moto.dynamodb.models as moto_dynamodb

    original = moto_dynamodb.DynamoDBBackend.transact_write_items
    no_copy = SimpleNamespace(deepcopy=lambda value: value)

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        with mock.patch.object(moto_dynamodb, "copy", no_copy):
            original(backend, transact_items)

    with mock.patch.object(moto_dynamodb.DynamoDBBackend, "transact_write_items", transact_write_items):
        yield


def worker_run(total: int = EVENTS) -> WorkerRun:
    """`total` events through the tracking worker in batches of the queue's batch size."""
    from chalicelib.resources import TRACKING
    from chalicelib.workers.tracking import count_records

    events = _events(total, "cmp_bench", "lst_bench", "acc_bench")
    records = [{"messageId": f"m-{n}", "body": json.dumps(event)} for n, event in enumerate(events)]
    size = TRACKING.batch_size
    distinct = []
    started = time.perf_counter()
    with metered() as meter, _moto_transactions_without_snapshots():
        for start in range(0, len(records), size):
            before = len(meter.calls)
            result = count_records(records[start:start + size])
            if result["batchItemFailures"]:
                raise RuntimeError(f"the worker failed {len(result['batchItemFailures'])} events")
            distinct.append(sum(_counter_updates(params) for label, params in meter.calls[before:]
                                if label == "dynamodb.TransactWriteItems"))
    seconds = time.perf_counter() - started
    batches = len(distinct)
    return WorkerRun(total, batches, seconds, meter, sum(distinct), sum(distinct) / batches,
                     1000 * seconds / batches)


def _counter_updates(params: dict[str, Any]) -> int:
    return sum(1 for item in params["TransactItems"] if "Update" in item)


# --- the routes and the other paths a mail takes ---------------------------------------------------

@dataclass(frozen=True)
class PathCost:
    """What one unit (a mail, an event) costs on one path, before prices."""

    label: str
    per: str
    write_units: float
    read_units: float
    sqs_requests: float
    lambda_requests: float
    lambda_ms: float
    api_requests: float = 0.0
    sns_publishes: float = 0.0

    def usd(self) -> float:
        return (self.write_units * USD["dynamodb_write_request_unit"]
                + self.read_units * USD["dynamodb_read_request_unit"]
                + self.sqs_requests * USD["sqs_request"]
                + self.lambda_requests * USD["lambda_request"]
                + self.lambda_ms / 1000 * LAMBDA_GB * USD["lambda_gb_second"]
                + self.api_requests * USD["api_gateway_rest_request"]
                + self.sns_publishes * USD["sns_publish"])


def pixel_route(requests: int = 200) -> tuple[Any, float]:
    """(AWS calls of one warm pixel request, ms per request in the test client)."""
    from chalice.test import Client

    from app import app
    from chalicelib.domain.mail_links import OPEN, LinkClaim, link_token

    token = link_token(OPEN, LinkClaim("acc_bench", "lst_bench", "reader@example.com", "cmp_bench"))
    headers = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0", "Accept": "image/*,*/*"}
    with Client(app, stage_name="local") as http:
        http.http.get(f"/t/o/{token}", headers=headers)  # warm: the queue URL is cached after this
        with count_aws_calls() as calls:
            http.http.get(f"/t/o/{token}", headers=headers)
        started = time.perf_counter()
        for _ in range(requests):
            http.http.get(f"/t/o/{token}", headers=headers)
        ms = 1000 * (time.perf_counter() - started) / requests
    return calls, ms


def _jobs(mails: int, account_id: str) -> list[dict[str, Any]]:
    from chalicelib.config import settings
    from chalicelib.domain.mime import OutgoingEmail
    from chalicelib.domain.outbox import EmailJob

    return [EmailJob(message_id=f"bench-{n}", account_id=account_id, kind="campaign",
                     email=OutgoingEmail(sender=settings().default_sender, recipient=f"r{n}@example.com",
                                         subject="Spring", text="Hello", html="<p>Hello</p>"),
                     tags={"campaign": "cmp_bench", "list": "lst_bench"}).to_dict()
            for n in range(mails)]


def send_path(mails: int = 50) -> PathCost:
    """The send worker per mail (SES's own call excluded: its price is the yardstick)."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.cli import create_account_with_key
    from chalicelib.rate_tokens import RateTokens
    from chalicelib.resources import OUTBOX
    from chalicelib.workers.send import SentTally, count_tally, send_job

    account = create_account_with_key("Bench Ltd", _PROFILE)
    records = [SQSRecord({"messageId": f"s-{n}", "body": json.dumps(job)})
               for n, job in enumerate(_jobs(mails, account["account_id"]))]
    started = time.perf_counter()
    with metered() as meter:
        # As send_worker does: rate tokens fetched and the mails sent counted once per SQS batch.
        for start in range(0, len(records), OUTBOX.batch_size):
            batch = records[start:start + OUTBOX.batch_size]
            tokens, sent = RateTokens(len(batch)), SentTally()
            for record in batch:
                send_job(record, tokens=tokens, sent=sent)
            count_tally(sent)
    ms = 1000 * (time.perf_counter() - started) / mails
    # Outbox: the fan-out's SendMessageBatch (10 a call, assumed), the poller's receive + delete.
    return PathCost("send worker", "mail", meter.write_units() / mails, meter.read_units() / mails,
                    sqs_requests=0.1 + 0.2, lambda_requests=0.1, lambda_ms=ms)


def feedback_path(mails: int = 50) -> PathCost:
    """The feedback worker per mail: the Send and Delivery events SES publishes for each, if the
    configuration set asks for them (resources.FEEDBACK_EVENT_TYPES)."""
    from chalice.test import Client

    from app import app
    from chalicelib.cli import create_account_with_key
    from chalicelib.resources import FEEDBACK_EVENT_TYPES

    account = create_account_with_key("Bench Feedback Ltd", _PROFILE)
    kinds = [kind for kind in ("Send", "Delivery") if kind.lower() in FEEDBACK_EVENT_TYPES]
    bodies = [json.dumps(_ses_event(kind, f"r{n}@example.com", account["account_id"]))
              for n in range(mails) for kind in kinds]
    started = time.perf_counter()
    with metered() as meter, Client(app, stage_name="local") as http:
        for start in range(0, len(bodies), 10):
            records = [{"messageId": f"f-{start + n}", "receiptHandle": "r", "body": body,
                        "eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {}}
                       for n, body in enumerate(bodies[start:start + 10])]
            http.lambda_.invoke("feedback_worker", {"Records": records})
    ms = 1000 * (time.perf_counter() - started) / mails
    events = len(kinds)
    label = f"SES feedback ({', '.join(kinds) or 'none asked for'})"
    return PathCost(label, "mail", meter.write_units() / mails, meter.read_units() / mails,
                    sqs_requests=events * 0.2, lambda_requests=events * 0.1, lambda_ms=ms,
                    sns_publishes=events)


def _ses_event(kind: str, recipient: str, account_id: str) -> dict[str, Any]:
    """The shape SES's event publishing gives Send and Delivery events (documented samples)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    mail = {"timestamp": now, "source": "news@acme.example", "messageId": f"0100{uuid.uuid4().hex}-000000",
            "destination": [recipient],
            "tags": {"account": [account_id], "list": ["lst_bench"], "campaign": ["cmp_bench"],
                     "kind": ["campaign"]}}
    detail = {"timestamp": now, "recipients": [recipient], "processingTimeMillis": 500,
              "smtpResponse": "250 ok", "reportingMTA": "a8-70.smtp-out.amazonses.com"}
    return {"eventType": kind, "mail": mail, kind.lower(): {} if kind == "Send" else detail}


def tracking_path(run: WorkerRun, route_ms: float) -> PathCost:
    """One open or click: API Gateway, the route's Lambda and SendMessage, then its share of a
    worker batch (calls measured on the 10,000 events)."""
    from chalicelib.resources import TRACKING

    share = 1 / TRACKING.batch_size
    return PathCost("tracking (open or click)", "event", run.meter.write_units() / run.events,
                    run.meter.read_units() / run.events, sqs_requests=1 + 2 * share,
                    lambda_requests=1 + share, lambda_ms=route_ms + run.ms_per_batch * share,
                    api_requests=1)


# --- printing -------------------------------------------------------------------------------------

def main() -> None:
    """Run the benchmark and print its figures."""
    with _provisioned():
        run = worker_run()
        pixel_calls, route_ms = pixel_route()
        send = send_path()
        feedback = feedback_path()
    ops = run.meter.labels
    own = run.seconds - run.meter.aws_seconds
    print(f"{run.events:,} events in {run.batches} batches of up to 100, in-process against moto: "
          f"{run.events / run.seconds:,.0f} events/s with moto's time, {run.events / own:,.0f} events/s "
          f"of the worker's own ({run.ms_per_batch:.0f} ms a batch with moto)")
    print(f"  counter writes: {ops['dynamodb.TransactWriteItems']} TransactWriteItems calls "
          f"({ops['dynamodb.TransactWriteItems'] / run.batches:.2f} a batch) carrying "
          f"{run.counter_updates} counter ADDs ({run.distinct_counters_per_batch:.1f} distinct counters a "
          f"batch) -> target 'write calls <= distinct counters per batch': "
          f"{'met' if ops['dynamodb.TransactWriteItems'] <= run.counter_updates else 'NOT met'}")
    print(f"  markers looked up: {ops['dynamodb.BatchGetItem']} BatchGetItem calls; "
          f"last open/click times: {ops['dynamodb.UpdateItem']} UpdateItem calls "
          f"(first opens, and first clicks on a link)")
    print(f"  request units per event: {run.meter.write_units() / run.events:.2f} WRU, "
          f"{run.meter.read_units() / run.events:.2f} RRU")
    print(f"pixel route GET /t/o/{{token}} (warm container): {describe(pixel_calls)} "
          f"-> target exactly 1: {'met' if pixel_calls.total == 1 else 'NOT met'}; "
          f"{route_ms:.1f} ms a request in the test client")
    events = MAILS * (OPENED + CLICKED)
    _print_cost([(send, MAILS), (feedback, MAILS), (tracking_path(run, route_ms), events)])


def _print_cost(paths: list[tuple[PathCost, float]]) -> None:
    ses = MAILS * USD["ses_email"]
    print(f"Cost per {MAILS:,} mails sent, {OPENED:.0%} opened and {CLICKED:.0%} clicked "
          f"(prices {PRICES_AS_OF}, bench/prices.py; Lambda at {LAMBDA_GB * 1024:.0f} MB):")
    total = 0.0
    for path, units in paths:
        usd = path.usd() * units
        total += usd
        print(f"  {path.label:<30} {units:6.0f} {path.per}s x ({path.write_units:.2f} WRU, "
              f"{path.read_units:.2f} RRU, {path.sqs_requests:.2f} SQS, {path.lambda_requests:.2f} Lambda "
              f"+ {path.lambda_ms:.1f} ms, {path.api_requests:.0f} API, {path.sns_publishes:.0f} SNS) "
              f"= ${usd:.5f}")
    verdict = "met" if total <= TARGET_SHARE_OF_SES * ses else "NOT met"
    print(f"  total ${total:.5f} = {100 * total / ses:.2f}% of SES's ${ses:.2f} "
          f"-> target <= {TARGET_SHARE_OF_SES:.0%}: {verdict}")


if __name__ == "__main__":
    import logging

    from bench.offline import go_offline

    go_offline()
    logging.disable(logging.INFO)
    main()
