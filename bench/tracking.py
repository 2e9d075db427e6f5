"""The tracking benchmark (issue 6): the tracking worker on 10,000 events in the queue's batches
(or any other size), and the AWS calls of the pixel route.

Everything runs in-process against moto (no network). Call counts are exact. DynamoDB request
units are computed per call from the items before and after it, as moto holds them, with every
index write counted (bench/metering.py, bench/request_units.py). What these measurements cost is
bench/cost.py's to say: `python -m bench.tracking` prints them alone, `python -m bench.cost` (and
bench/__main__.py) prints them with the cost per 1,000 mails.
"""
from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from bench.aws_calls import count_aws_calls, describe
from bench.metering import Meter, metered
from bench.offline import quiet
from bench.route_calls import _provisioned
from chalicelib.config import signer

EVENTS = 10_000
PIXEL_REQUESTS = 200


# --- the worker on 10,000 events ------------------------------------------------------------------

@dataclass(frozen=True)
class WorkerRun:
    events: int
    batch_size: int
    batches: int
    meter: Meter
    counter_updates: int
    distinct_counters_per_batch: float

    @property
    def ms_per_batch(self) -> float:
        """Lambda milliseconds a batch: own time plus the assumed waits for its calls."""
        return self.meter.lambda_ms() / self.batches


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


def worker_run(total: int = EVENTS, batch_size: int | None = None,
               campaign_id: str = "cmp_bench") -> WorkerRun:
    """`total` events through the tracking worker in batches of `batch_size` (default: the
    queue's), for a campaign of their own."""
    from chalicelib.resources import TRACKING
    from chalicelib.workers.tracking import count_records

    events = _events(total, campaign_id, "lst_bench", "acc_bench")
    records = [{"messageId": f"m-{n}", "body": json.dumps(event)} for n, event in enumerate(events)]
    size = batch_size or TRACKING.batch_size
    distinct = []
    with metered() as meter, _moto_transactions_without_snapshots():
        for start in range(0, len(records), size):
            before = len(meter.calls)
            result = count_records(records[start:start + size])
            if result["batchItemFailures"]:
                raise RuntimeError(f"the worker failed {len(result['batchItemFailures'])} events")
            distinct.append(sum(_counter_updates(call.params) for call in meter.calls[before:]
                                if call.label == "dynamodb.TransactWriteItems"))
    batches = len(distinct)
    return WorkerRun(total, size, batches, meter, sum(distinct), sum(distinct) / batches)


def _counter_updates(params: dict[str, Any]) -> int:
    """The campaign counters a transaction adds to (its other updates, markers say, are not)."""
    return sum(1 for item in params["TransactItems"]
               if "Update" in item and "campaign-stats" in item["Update"]["TableName"])


# --- the pixel route ------------------------------------------------------------------------------

def pixel_route(requests: int = PIXEL_REQUESTS) -> tuple[Any, Meter]:
    """(AWS calls of one warm pixel request, the meter of `requests` more)."""
    from chalice.test import Client

    from app import app
    from chalicelib.domain.mail_links import OPEN, LinkClaim, link_token

    token = link_token(signer(), OPEN, LinkClaim("acc_bench", "lst_bench", "reader@example.com", "cmp_bench"))
    headers = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0", "Accept": "image/*,*/*"}
    with Client(app, stage_name="local") as http:
        http.http.get(f"/t/o/{token}", headers=headers)  # warm: the queue URL is cached after this
        with count_aws_calls() as calls:
            http.http.get(f"/t/o/{token}", headers=headers)
        with metered() as meter:
            for _ in range(requests):
                http.http.get(f"/t/o/{token}", headers=headers)
    return calls, meter


# --- printing -------------------------------------------------------------------------------------

def print_worker(run: WorkerRun) -> None:
    """The worker's calls, counters and request units on `run`."""
    from chalicelib.resources import TRACKING

    ops = run.meter.labels
    meter = run.meter
    print(f"{run.events:,} events in {run.batches} batches of up to {TRACKING.batch_size:,}, in-process "
          f"against moto: "
          f"{run.events / meter.wall_seconds:,.0f} events/s with moto's and the meter's time, "
          f"{run.events / (meter.own_ms() / 1000):,.0f} events/s of the worker's own "
          f"({run.ms_per_batch:.0f} ms a batch at the assumed call latencies)")
    print(f"  counter writes: {ops['dynamodb.TransactWriteItems']} TransactWriteItems calls "
          f"({ops['dynamodb.TransactWriteItems'] / run.batches:.2f} a batch) carrying "
          f"{run.counter_updates} counter ADDs ({run.distinct_counters_per_batch:.1f} distinct counters a "
          f"batch) -> target 'write calls <= distinct counters per batch': "
          f"{'met' if ops['dynamodb.TransactWriteItems'] <= run.counter_updates else 'NOT met'}")
    print(f"  markers looked up: {ops['dynamodb.BatchGetItem']} BatchGetItem calls; other writes: "
          f"{ops['dynamodb.UpdateItem'] + ops['dynamodb.PutItem']} (a marker holds the reader's history)")
    print(f"  request units per event: {meter.table_write_units() / run.events:.2f} WRU on tables + "
          f"{meter.index_write_units() / run.events:.2f} on indexes, "
          f"{meter.read_units() / run.events:.2f} RRU")


def print_pixel_route(calls: Any, route: Meter) -> None:
    """The AWS calls of one warm pixel request (`calls`) and its own time on `route`'s requests."""
    print(f"pixel route GET /t/o/{{token}} (warm container): {describe(calls)} "
          f"-> target exactly 1: {'met' if calls.total == 1 else 'NOT met'}; "
          f"{route.own_ms() / PIXEL_REQUESTS:.1f} ms a request in the test client outside AWS calls")


def main() -> None:
    """Run the worker on EVENTS events and the pixel route; print their figures."""
    with quiet(), _provisioned():
        run = worker_run()
        pixel_calls, route = pixel_route()
    print_worker(run)
    print_pixel_route(pixel_calls, route)


if __name__ == "__main__":
    from bench.offline import go_offline

    go_offline()
    main()
