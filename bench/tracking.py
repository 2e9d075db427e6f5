"""The tracking benchmark (issues 6 and 15): the tracking worker's DynamoDB usage per event at
batch sizes from a trickle (one event a batch) to the queue's largest, and the AWS calls of the
pixel route.

Everything runs in-process against moto (no network), through the tracking worker's handler (a
run of its drain per batch: its receives and deletes are among the calls).
Request units are computed per call from the items before and after it (bench/metering.py,
bench/request_units.py), every index write counted. The events are a campaign's: 4,000 readers,
80% opens (many repeated), 20% clicks on 3 links, a quarter from proxies and scanners, six
countries. `python -m bench.tracking` prints the figures; bench/cost.py prices the worker under
modelled traffic.
"""
from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.aws_calls import count_aws_calls, describe
from bench.metering import Meter
from bench.offline import quiet

EVENTS = 2_000
BATCH_SIZES = (1, 2, 5, 10, 100, 1000)
PIXEL_REQUESTS = 200


@dataclass(frozen=True)
class WorkerRun:
    events: int
    batch_size: int
    batches: int
    meter: Meter

    @property
    def write_units_per_event(self) -> float:
        return self.meter.write_units() / self.events


READERS = 4_000


def _events(total: int, audience: Any) -> list[dict[str, Any]]:
    """Events of a campaign of READERS confirmed subscribers (bench/paths.audience)."""
    rng = random.Random(6)
    sent = datetime.now(UTC) - timedelta(hours=6)
    links = ["https://shop.example/spring", "https://shop.example/autumn", "https://blog.example/news"]
    events = []
    for n in range(total):
        click = rng.random() < 0.2
        events.append({
            "id": uuid.UUID(int=rng.getrandbits(128)).hex, "action": "clicks" if click else "opens",
            "at": (sent + timedelta(seconds=n)).isoformat(), "account": audience.account_id,
            "list": audience.list_id, "campaign": audience.campaign_id,
            "address": audience.address(rng.randrange(READERS)),
            "viewer": "machine" if rng.random() < 0.25 else "human",
            "country": rng.choice(["RO", "MD", "EE", "DE", "US", "unknown"]),
            "link": rng.choice(links) if click else None,
        })
    return events


def worker_run(total: int, batch_size: int, audience: Any) -> WorkerRun:
    """`total` events of the audience's campaign through the tracking worker's handler in
    batches of `batch_size`: a run of its drain for each batch queued."""
    from bench.paths import run_batch

    bodies = [json.dumps(event) for event in _events(total, audience)]
    meter = Meter()
    batches = 0
    for start in range(0, total, batch_size):
        run_batch("tracking_worker", bodies[start:start + batch_size], meter)
        batches += 1
    return WorkerRun(total, batch_size, batches, meter)


def pixel_route(requests: int = PIXEL_REQUESTS) -> tuple[Any, Meter]:
    """(AWS calls of one warm pixel request, the meter of `requests` more)."""
    from chalice.test import Client

    from app import app
    from chalicelib.config import signer
    from chalicelib.domain.mail_links import OPEN, LinkClaim, link_token

    token = link_token(signer(), OPEN, LinkClaim("acc_bench", "lst_bench", "reader@example.com", "cmp_bench"))
    headers = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0", "Accept": "image/*,*/*"}
    with Client(app, stage_name="local") as http:
        http.http.get(f"/t/o/{token}", headers=headers)  # warm: the queue URL is cached after this
        with count_aws_calls() as calls:
            http.http.get(f"/t/o/{token}", headers=headers)
        meter = Meter()
        with meter.recording():
            for _ in range(requests):
                http.http.get(f"/t/o/{token}", headers=headers)
    return calls, meter


def print_worker(runs: list[WorkerRun]) -> None:
    print(f"tracking worker, {runs[0].events:,} events of one campaign through its handler, by batch size "
          "(a marker put per reader and scope touched, one delta of counters per batch):")
    for run in runs:
        meter = run.meter
        print(f"  batches of {run.batch_size:>5}: {run.write_units_per_event:5.2f} WRU "
              f"({meter.index_write_units() / run.events:.2f} of them on indexes), "
              f"{meter.read_units() / run.events:.2f} RRU, "
              f"{len(meter.calls) / run.events:.2f} calls an event; "
              f"{meter.own_ms() / run.batches:.1f} ms CPU a batch")


def print_pixel_route(calls: Any, route: Meter) -> None:
    print(f"pixel route GET /t/o/{{token}} (warm container): {describe(calls)} "
          f"-> target exactly 1: {'met' if calls.total == 1 else 'NOT met'}; "
          f"{route.own_ms() / PIXEL_REQUESTS:.2f} ms CPU a request in the test client outside AWS calls")


def main() -> None:
    """Run the worker at each batch size and the pixel route; print their figures."""
    from chalice.test import Client

    from app import app
    from bench.paths import audience
    from bench.route_calls import _provisioned

    with quiet(), _provisioned(), Client(app, stage_name="local") as http:
        worker_run(50, 10, audience(http, READERS))
        runs = [worker_run(EVENTS, size, audience(http, READERS)) for size in BATCH_SIZES]
        calls, route = pixel_route()
    print_worker(runs)
    print_pixel_route(calls, route)


if __name__ == "__main__":
    from bench.offline import go_offline

    go_offline()
    main()
