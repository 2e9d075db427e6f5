"""The scale model (issue 15): a campaign to 1,000,000 recipients at SES rates of 14, 200 and
1,000 a second. For each rate: how long the fan-out takes, when the last mail goes, how many
Lambdas run at once, the busiest DynamoDB partition key's writes a second against DynamoDB's
limit of 1,000 write units a second per partition, and the SQS messages in flight against SQS's
120,000, with the ceiling each finds.

How, since a million recipients through moto would take hours:
- Sampled through the real code: a campaign to SAMPLE recipients through the real fan-out and
  campaign-send handlers against moto (bench/paths.py), every DynamoDB write metered with the
  partition key it lands on; and the tracking worker's drain on full batches of opens of one
  campaign (its receives and deletes included).
  What each partition key takes per recipient (or per batch) is measured there.
- Timed by the sending model (bench/sending_model.py) around the measured cost of a page job, a
  batch and a mail: fan-out time, last send, senders at once, continuations.
- Scaled: a key's writes a second = its measured write units per recipient x the recipients a
  second the campaign reaches it at (the fan-out's pace for the fan-out's keys, the send rate for
  the senders'); for opens, the tracking worker's write units per batch x its batches a second
  at the first minutes' peak (ENGAGED privacy-proxy fetches arrive within a minute of delivery).
`python -m bench.scale` prints it; bench/__main__.py calls `main`.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from bench.metering import Meter
from bench.offline import quiet

RECIPIENTS = 1_000_000
RATES = (14.0, 200.0, 1000.0)
SAMPLE = 2_000
# DynamoDB: one partition takes at most 1,000 write units a second; SQS: at most 120,000
# messages in flight (received, not deleted) on a standard queue.
PARTITION_WCU_LIMIT = 1000
SQS_IN_FLIGHT_LIMIT = 120_000
# Opens at the peak: the share of mails whose privacy proxy fetches the pixel within a minute of
# delivery (bench/scenarios.py, busy), so events a second at the peak = rate x this share.
ENGAGED = 0.45
TRACKING_BATCH_SAMPLE = 5


@dataclass(frozen=True)
class KeyLoad:
    """Write units on one partition key, per unit of the work that writes it."""

    table: str
    key: str
    units: float


def _partition_keys(meters: list[Meter]) -> Counter[tuple[str, str]]:
    """Write units by (table, partition key value) over the meters' calls."""
    from bench.metering import MotoTables
    from chalicelib.config import settings

    tables = MotoTables(settings().region)
    found: Counter[tuple[str, str]] = Counter()
    for meter in meters:
        for call in meter.calls:
            units = call.written.table + call.written.indexes
            if not units:
                continue
            for table, key in _written_keys(tables, call):
                found[(table, key)] += units / max(1, len(_written_keys(tables, call)))
    return found


def _written_keys(tables: Any, call: Any) -> list[tuple[str, str]]:
    params, label = call.params, call.label
    if label in ("dynamodb.PutItem", "dynamodb.UpdateItem", "dynamodb.DeleteItem"):
        table = params["TableName"]
        item = params.get("Item") or params.get("Key") or {}
        return [(table, _hash_value(tables, table, item))]
    if label == "dynamodb.BatchWriteItem":
        keys = []
        for table, requests in params["RequestItems"].items():
            for request in requests:
                item = (request.get("PutRequest", {}).get("Item")
                        or request.get("DeleteRequest", {}).get("Key"))
                keys.append((table, _hash_value(tables, table, item)))
        return keys
    if label == "dynamodb.TransactWriteItems":
        keys = []
        for entry in params["TransactItems"]:
            ((_, action),) = entry.items()
            item = action.get("Item") or action.get("Key") or {}
            keys.append((action["TableName"], _hash_value(tables, action["TableName"], item)))
        return keys
    return []


def _hash_value(tables: Any, table: str, item: dict[str, Any]) -> str:
    name = tables.table_key(table)[0]
    value = item.get(name, {})
    return str(next(iter(value.values()), "?"))


def _class_of(table: str, key: str) -> str:
    """A partition key named by what it is, not by this run's ids."""
    logical = table.split("-", 1)[1] if "-" in table else table
    if logical == "send-rate":
        return f"send-rate bucket {key}"
    if logical == "campaign-stats":
        return "campaign counters, one shard" if not key.endswith("#t") else "campaign's open/click deltas"
    if logical in ("messages", "tracking-markers", "subscribers"):
        return f"{logical} (one per recipient)"
    if logical == "message-purge-lists":
        return "message purge lists, one day shard"
    if logical == "account-health":
        return "the account's day counter"
    return f"{logical} item"


@dataclass
class Sample:
    sending: dict[str, float]  # key class → write units per recipient (busiest key of the class)
    tracking: dict[str, float]  # key class → write units per tracking batch
    tracking_batch_events: int
    tracking_ms_per_batch: float
    costs: Any  # bench.sending_model.SendCosts


def measure() -> Sample:
    """The sample through the real code (see the module docstring)."""
    from chalice.test import Client

    from app import app
    from bench import paths
    from bench.cost import send_costs, ses_send_rate
    from bench.functions import function_config
    from bench.route_calls import _provisioned

    with quiet(), _provisioned(), ses_send_rate(1e6), paths.fast_moto_transactions(), \
            Client(app, stage_name="local") as http:
        paths.send_campaign(http, 5)  # warm the code up
        run = paths.send_campaign(http, SAMPLE)
        sending = _busiest(_partition_keys(run.fanout + run.send), SAMPLE)
        costs = send_costs(run, function_config("campaign_send_worker"))
        tracking, events, ms = _tracking_sample(http)
    return Sample(sending, tracking, events, ms, costs)


def _busiest(loads: Counter[tuple[str, str]], per: float) -> dict[str, float]:
    """The busiest key of each class: its write units divided by `per`."""
    by_class: dict[str, float] = defaultdict(float)
    for (table, key), units in loads.items():
        name = _class_of(table, key)
        by_class[name] = max(by_class[name], units / per)
    return dict(by_class)


def _tracking_sample(http: Any) -> tuple[dict[str, float], int, float]:
    """Full batches of one campaign's opens through the tracking worker: write units per batch
    on each key class, and its billed ms a batch."""
    from datetime import UTC, datetime, timedelta

    from bench import paths
    from bench.cost import invocation_ms
    from bench.functions import function_config
    from bench.traffic import Event, Kind
    from chalicelib.functions import queue_drain

    size = queue_drain("tracking_worker").batch_size
    target = paths.audience(http, 1)
    start = datetime.now(UTC) - timedelta(hours=1)
    meters = []
    for batch in range(TRACKING_BATCH_SAMPLE):
        events = [Event(float(n), batch * size + n, Kind.OPEN, machine=True) for n in range(size)]
        meters += paths.run_batches("tracking_worker", [paths.tracking_bodies(events, target, start)])
    config = function_config("tracking_worker")
    ms = sum(invocation_ms(config, meter) for meter in meters) / len(meters)
    return _busiest(_partition_keys(meters), len(meters)), size, ms


@dataclass(frozen=True)
class RateFigures:
    rate: float
    fanout_seconds: float
    last_send: float
    senders: int
    continuations: int
    busiest: tuple[str, float]  # key class, write units a second
    tracking: tuple[str, float]
    tracking_backlog: bool
    in_flight: int
    concurrency: dict[str, int]


def tracking_capacity(sample: Sample) -> float:
    """Events a second the tracking worker counts at most: one run a period, each starting
    batches until BATCH_MILLIS before its timeout (services/queue_drain.py), at the sampled
    time a batch."""
    from chalicelib.functions import function_spec
    from chalicelib.services.queue_drain import BATCH_MILLIS

    spec = function_spec("tracking_worker")
    assert spec.drain is not None
    busy = min(1.0, (spec.timeout_seconds - BATCH_MILLIS / 1000) / (spec.drain.every_minutes * 60))
    return busy * sample.tracking_batch_events / (sample.tracking_ms_per_batch / 1000)


def at_rate(sample: Sample, rate: float) -> RateFigures:
    from bench.sending_model import simulate
    from chalicelib.domain.sending import PAGE_SIZE
    from chalicelib.functions import campaign_send_trigger

    timeline = simulate(RECIPIENTS, rate, sample.costs)
    # The fan-out's keys are written at its pace, the senders' at the send rate (the sample does
    # not tell them apart: each key takes the faster, an upper bound).
    pace = max(PAGE_SIZE / sample.costs.per_page, rate)
    writes = {name: units * pace for name, units in sample.sending.items()}
    busiest = max(writes.items(), key=lambda item: item[1])
    # Opens at the peak: ENGAGED of the mails delivered each second fetch the pixel within the minute.
    events = rate * ENGAGED
    capacity = tracking_capacity(sample)
    batches = min(events, capacity) / sample.tracking_batch_events
    tracking = max(((name, units * batches) for name, units in sample.tracking.items()),
                   key=lambda item: item[1])
    trigger = campaign_send_trigger(rate)
    # The drain holds one batch at a time.
    in_flight = max(trigger.maximum_concurrency * trigger.batch_size, sample.tracking_batch_events)
    concurrency = {"campaign senders": timeline.peak_senders, "fan-out": 1, "tracking worker": 1,
                   "tracking front": math.ceil(events * 0.013)}
    return RateFigures(rate, timeline.fanout_seconds, timeline.last_send, timeline.peak_senders,
                       timeline.handed_back, busiest, tracking, events > capacity, in_flight, concurrency)


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def main() -> None:
    from chalicelib.domain.sending import PAGE_SIZE
    from chalicelib.functions import queue_drain

    sample = measure()
    costs = sample.costs
    print(f"sampled through the real handlers against moto: a campaign to {SAMPLE:,} (fan-out and "
          f"campaign-send), {TRACKING_BATCH_SAMPLE} tracking batches of {sample.tracking_batch_events:,} "
          "opens; timed by the sending model, scaled per recipient (bench/scale.py)")
    print(f"  measured: a page job of {PAGE_SIZE} takes {costs.per_page * 1000:.0f} ms billed, a batch "
          f"{costs.per_batch * 1000:.0f} ms besides {costs.per_mail * 1000:.1f} ms a mail; a tracking batch "
          f"{sample.tracking_ms_per_batch:.0f} ms")
    fanout_ceiling = PAGE_SIZE / costs.per_page
    print(f"  ceiling: the fan-out is one chain of page jobs, {fanout_ceiling:,.0f} recipients a second at "
          "most: above that rate sending waits for it")
    period = queue_drain("tracking_worker").every_minutes
    print(f"  tracking: the drain every {period} min counts {tracking_capacity(sample):,.0f} opens and "
          f"clicks a second at most ({ENGAGED:.0%} of mails fetched within a minute of delivery: "
          f"{tracking_capacity(sample) / ENGAGED:,.0f} mails a second); above that, counts lag and catch up")
    for rate in RATES:
        figures = at_rate(sample, rate)
        name, wcu = figures.busiest
        tname, twcu = figures.tracking
        print(f"-- {RECIPIENTS:,} recipients at {rate:g}/s: fan-out {_duration(figures.fanout_seconds)}, "
              f"last send after {_duration(figures.last_send)} (the rate alone "
              f"{_duration(RECIPIENTS / rate)}), {figures.continuations:,} continuations")
        print(f"   busiest partition key while sending: {name}, {wcu:,.1f} WCU/s "
              f"({100 * wcu / PARTITION_WCU_LIMIT:.1f}% of {PARTITION_WCU_LIMIT:,}); "
              f"while counting opens: {tname}, {twcu:,.1f} WCU/s"
              + (" (the tracking worker falls behind the peak: it catches up after it)"
                 if figures.tracking_backlog else ""))
        print(f"   SQS in flight at most {figures.in_flight:,} of {SQS_IN_FLIGHT_LIMIT:,}; "
              "Lambda concurrency: "
              + ", ".join(f"{what} {count}" for what, count in figures.concurrency.items()))


if __name__ == "__main__":
    from bench.offline import go_offline

    go_offline()
    main()
