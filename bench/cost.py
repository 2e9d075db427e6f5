"""The cost model (issue 6): what a campaign mail costs Tidings in AWS charges, line by line, per
1,000 mails of a campaign (40% opened, 5% clicked), and that total as a share of what SES charges
for the same mails (the target: at most 3%).

A mail's line items are the paths it takes: the campaign workers that send it (fan-out and
campaign send, bench/sending.py's campaign, smaller), its share of the daily purge that erases its
message record 30 days later (P21), the SES events it causes, and its opens and clicks (the
tracking route and worker, measured by bench/tracking.py). The transactional send worker is
priced beside them, for comparison.

Everything runs in-process against moto (no network). Call counts are exact; DynamoDB request
units are computed per call from the items before and after it (bench/metering.py,
bench/request_units.py). Lambda durations are the code's own time outside AWS calls plus an
assumed wait per call (bench/prices.py): this machine's speed stands in for Lambda's, moto's does
not stand in for AWS's. Prices come from bench/prices.py. `python -m bench.cost` prints it all;
bench/__main__.py calls `main`.
"""
from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.metering import Meter, metered
from bench.offline import quiet
from bench.prices import AWS_CALL_LATENCY_MS, PRICES_AS_OF, SES_CALL_LATENCY_MS, USD
from bench.route_calls import _PROFILE, _provisioned
from bench.tracking import PIXEL_REQUESTS, WorkerRun, pixel_route, print_pixel_route, print_worker, worker_run

MAILS = 1_000
OPENED, CLICKED = 0.40, 0.05
# The campaign metered for the send path, after a small one run first to warm the code up (the
# first imports and template builds are a cold start's, which a busy sender rarely pays).
CAMPAIGN_RECIPIENTS = 200
WARM_UP_RECIPIENTS = 5
# The SES rate the send paths run at: high enough that no batch waits for send tokens (waiting on
# an account's SES quota is not what a mail costs, and sleeping would count as Lambda time here).
SES_SEND_RATE = 1_000.0
# The message-record purge runs this long after the campaign: past the 30 days of P21.
PURGE_AFTER = timedelta(days=31)
# Chalice's prod stage (.chalice/config.json).
LAMBDA_GB = 256 / 1024
# The issue's target: Tidings' own AWS cost at most 3% of what SES charges for the same mails.
TARGET_SHARE_OF_SES = 0.03
# The tracking worker priced again in smaller batches, as a slow trickle of opens gives it:
# counters are written per batch.
SMALLER_BATCHES = (100, 10)
SMALLER_BATCH_EVENTS = 2_000


# --- the paths a mail takes ------------------------------------------------------------------------

@dataclass(frozen=True)
class PathCost:
    """What one unit (a mail, an event) costs on one path, before prices."""

    label: str
    per: str
    write_units: float
    index_write_units: float
    read_units: float
    sqs_requests: float
    lambda_requests: float
    lambda_ms: float
    api_requests: float = 0.0
    sns_publishes: float = 0.0

    def usd(self) -> float:
        return ((self.write_units + self.index_write_units) * USD["dynamodb_write_request_unit"]
                + self.read_units * USD["dynamodb_read_request_unit"]
                + self.sqs_requests * USD["sqs_request"]
                + self.lambda_requests * USD["lambda_request"]
                + self.lambda_ms / 1000 * LAMBDA_GB * USD["lambda_gb_second"]
                + self.api_requests * USD["api_gateway_rest_request"]
                + self.sns_publishes * USD["sns_publish"])


def _path(label: str, per: str, meter: Meter, units: float, baseline: Meter | None = None,
          **requests: float) -> PathCost:
    """A path's cost per unit from what `meter` recorded for `units` of them, less what `baseline`
    recorded (the same work with none of the units: its fixed cost)."""
    base = baseline or Meter()
    return PathCost(label, per, (meter.table_write_units() - base.table_write_units()) / units,
                    (meter.index_write_units() - base.index_write_units()) / units,
                    (meter.read_units() - base.read_units()) / units,
                    lambda_ms=max(0.0, meter.lambda_ms() - base.lambda_ms()) / units, **requests)


@dataclass(frozen=True)
class Campaign:
    """The metered campaign: its workers' calls, the daily purge 31 days later (and that purge
    run again at once, with nothing left to erase: its fixed cost), and what they did."""

    recipients: int
    pages: int
    batches: int
    workers: Meter
    purge: Meter
    idle_purge: Meter
    purged: dict[str, int]


def campaign_run(recipients: int = CAMPAIGN_RECIPIENTS) -> Campaign:
    """A campaign to `recipients` confirmed subscribers through the real workers (bench/sending.py),
    every worker call metered, then the daily purge 31 days later, metered; after a small campaign
    run the same way, unmetered, to warm the code up."""
    _campaign(WARM_UP_RECIPIENTS, Meter(), Meter(), Meter())
    workers, purge, idle_purge = Meter(), Meter(), Meter()
    pages, batches, purged = _campaign(recipients, workers, purge, idle_purge)
    return Campaign(recipients, pages, batches, workers, purge, idle_purge, purged)


def _campaign(recipients: int, workers: Meter, purge: Meter,
              idle_purge: Meter) -> tuple[int, int, dict[str, int]]:
    """(page jobs, batch jobs, counts the purge erased) of one campaign in a fresh moto account."""
    import time_machine
    from chalice.test import Client

    from app import app
    from bench.sending import ready_campaign, run_workers, send_now
    from chalicelib.services.retention import run_purges

    with _provisioned(), _ses_send_rate(SES_SEND_RATE), Client(app, stage_name="local") as http:
        campaign = ready_campaign(http, recipients)
        send_now(http, campaign)
        jobs = run_workers(workers.recording)
        with time_machine.travel(datetime.now(UTC) + PURGE_AFTER):
            with purge.recording():
                report = run_purges()
            with idle_purge.recording():
                run_purges()
    return jobs.pages, jobs.batches, report.counts


@contextmanager
def _ses_send_rate(rate: float) -> Iterator[None]:
    """The SES send rate the settings give, for the length of the block."""
    from chalicelib.config import settings

    previous = os.environ.get("TIDINGS_SES_MAX_SEND_RATE")
    os.environ["TIDINGS_SES_MAX_SEND_RATE"] = str(rate)
    settings.cache_clear()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("TIDINGS_SES_MAX_SEND_RATE", None)
        else:
            os.environ["TIDINGS_SES_MAX_SEND_RATE"] = previous
        settings.cache_clear()


def campaign_path(run: Campaign) -> PathCost:
    """The campaign workers per mail sent (SES's own price excluded: it is the yardstick). Lambda's
    event source mapping receives and deletes each invocation's messages: two SQS requests an
    invocation, a page job an invocation, up to the queue's batch size of batch jobs in one."""
    from chalicelib.resources import CAMPAIGN_SEND, FANOUT

    invocations = run.pages / FANOUT.batch_size + run.batches / CAMPAIGN_SEND.batch_size
    return _path("campaign send (fan-out, send)", "mail", run.workers, run.recipients,
                 sqs_requests=(run.workers.count("sqs") + 2 * invocations) / run.recipients,
                 lambda_requests=invocations / run.recipients)


def purge_path(run: Campaign) -> PathCost:
    """The daily purge per mail: erasing the campaign's message records 30 days on (P21). The
    purge runs daily whatever was sent, so neither its invocation nor what an idle run does (its
    queries of empty due days) is counted: only what the mails added to it."""
    sqs = run.purge.count("sqs") - run.idle_purge.count("sqs")
    return _path("message-record purge", "mail", run.purge, run.recipients, baseline=run.idle_purge,
                 sqs_requests=sqs / run.recipients, lambda_requests=0.0)


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
    """The transactional send worker per mail (SES's own price excluded), for comparison: the
    outbox's jobs, not a campaign's."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.cli import create_account_with_key
    from chalicelib.resources import OUTBOX

    account = create_account_with_key("Bench Ltd", _PROFILE)
    records = [SQSRecord({"messageId": f"s-{n}", "body": json.dumps(job)})
               for n, job in enumerate(_jobs(WARM_UP_RECIPIENTS + mails, account["account_id"]))]
    with _ses_send_rate(SES_SEND_RATE):
        _send_jobs(records[:WARM_UP_RECIPIENTS])  # warm the code up, unmetered
        with metered() as meter:
            _send_jobs(records[WARM_UP_RECIPIENTS:])
    # Outbox: the enqueuer's SendMessageBatch (10 a call, assumed), the poller's receive + delete.
    return _path("transactional send worker", "mail", meter, mails, sqs_requests=0.1 + 0.2,
                 lambda_requests=1 / OUTBOX.batch_size)


def _send_jobs(records: list[Any]) -> None:
    """The send worker on outbox records, as send_worker does it: rate tokens fetched and the
    mails sent counted once per SQS batch."""
    from chalicelib.resources import OUTBOX
    from chalicelib.services.sending.outbox import SentTally, count_tally, send_outbox_job
    from chalicelib.services.sending.rate_tokens import RateTokens

    for start in range(0, len(records), OUTBOX.batch_size):
        batch = records[start:start + OUTBOX.batch_size]
        tokens, sent = RateTokens(len(batch)), SentTally()
        for record in batch:
            send_outbox_job(record.body, tokens=tokens, sent=sent)
        count_tally(sent)


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
    with metered() as meter, Client(app, stage_name="local") as http:
        for start in range(0, len(bodies), 10):
            records = [{"messageId": f"f-{start + n}", "receiptHandle": "r", "body": body,
                        "eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {}}
                       for n, body in enumerate(bodies[start:start + 10])]
            http.lambda_.invoke("feedback_worker", {"Records": records})
    events = len(kinds)
    label = f"SES feedback ({', '.join(kinds) or 'none asked for'})"
    return _path(label, "mail", meter, mails, sqs_requests=events * 0.2, lambda_requests=events * 0.1,
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


def tracking_route_served_by_function_url() -> bool:
    """Whether GET /t/o/* and /t/c/* reach their Lambda through a function URL (priced as Lambda
    only) instead of API Gateway (an API request as well): so when the app has the tracking front,
    which infra/template.py then gives a public function URL."""
    from app import app
    from chalicelib.blueprints.public_tracking_front import FUNCTION_NAME

    return any(function.name == FUNCTION_NAME for function in app.pure_lambda_functions)


def tracking_path(run: WorkerRun, route: Meter, route_requests: int) -> PathCost:
    """One open or click: the route (through API Gateway or a function URL), its Lambda and
    SendMessage, then its share of a worker batch (measured on `run`)."""
    share = 1 / run.batch_size
    function_url = tracking_route_served_by_function_url()
    label = f"tracking (open or click, {'function URL' if function_url else 'API Gateway'})"
    return PathCost(label, "event", run.meter.table_write_units() / run.events,
                    run.meter.index_write_units() / run.events, run.meter.read_units() / run.events,
                    sqs_requests=route.count("sqs") / route_requests + 2 * share,
                    lambda_requests=1 + share,
                    lambda_ms=route.lambda_ms() / route_requests + run.ms_per_batch * share,
                    api_requests=0.0 if function_url else 1.0)


# --- printing -------------------------------------------------------------------------------------

def main() -> None:
    """Measure every path a mail takes and print what each costs, then the total against SES's."""
    with quiet():
        with _provisioned():
            run = worker_run()
            smaller = [worker_run(SMALLER_BATCH_EVENTS, size, f"cmp_bench_{size}")
                       for size in SMALLER_BATCHES]
            pixel_calls, route = pixel_route()
            send = send_path()
            feedback = feedback_path()
        campaign = campaign_run()
    print_worker(run)
    print_pixel_route(pixel_calls, route)
    _print_campaign(campaign)
    events = MAILS * (OPENED + CLICKED)
    fixed = [(campaign_path(campaign), MAILS), (purge_path(campaign), MAILS), (feedback, MAILS)]
    _print_cost([*fixed, (tracking_path(run, route, PIXEL_REQUESTS), events)], beside=[(send, MAILS)])
    ses = MAILS * USD["ses_email"]
    for small in smaller:
        path = tracking_path(small, route, PIXEL_REQUESTS)
        total = sum(p.usd() * units for p, units in fixed) + path.usd() * events
        print(f"  with the worker's batches at {small.batch_size} events (opens arriving slowly; "
              f"{path.write_units:.2f} WRU an event): total {100 * total / ses:.2f}% of SES")
    unsized = run.meter.unsized + route.unsized + campaign.workers.unsized + campaign.purge.unsized
    if unsized:
        print(f"  NOT in the request units (PartiQL, not sized): {dict(unsized)}")


def _print_campaign(run: Campaign) -> None:
    workers, purge = run.workers, run.purge
    print(f"campaign to {run.recipients} recipients ({run.pages} page jobs, {run.batches} batch jobs, "
          f"SES at {SES_SEND_RATE:,.0f} msg/s): {len(workers.calls)} worker calls "
          f"({_by_label(workers)})")
    print(f"  request units per mail: {workers.table_write_units() / run.recipients:.2f} WRU on tables + "
          f"{workers.index_write_units() / run.recipients:.2f} on indexes, "
          f"{workers.read_units() / run.recipients:.2f} RRU")
    purged = ", ".join(f"{kind} {count}" for kind, count in run.purged.items() if count) or "nothing"
    idle = run.idle_purge
    print(f"  purge {PURGE_AFTER.days} days later: {purged} erased in {len(purge.calls)} calls "
          f"({_by_label(purge)}); {purge.write_units():.0f} WRU, {purge.read_units():.1f} RRU; "
          f"less an idle run's (nothing to erase, not per mail): {len(idle.calls)} calls, "
          f"{idle.write_units():.0f} WRU, {idle.read_units():.1f} RRU")


def _by_label(meter: Meter) -> str:
    return ", ".join(f"{label} {count}" for label, count in sorted(meter.labels.items())) or "no calls"


def _print_cost(paths: list[tuple[PathCost, float]], beside: list[tuple[PathCost, float]]) -> None:
    ses = MAILS * USD["ses_email"]
    print(f"Cost per {MAILS:,} campaign mails sent, {OPENED:.0%} opened and {CLICKED:.0%} clicked "
          f"(prices {PRICES_AS_OF}, bench/prices.py; Lambda at {LAMBDA_GB * 1024:.0f} MB):")
    print(f"  Lambda ms = the code's own time outside AWS calls + an ASSUMED wait per call of "
          f"{AWS_CALL_LATENCY_MS:.0f} ms (DynamoDB, SQS, SNS) or {SES_CALL_LATENCY_MS:.0f} ms (an SES send); "
          f"assumptions, not measurements")
    total = sum(_print_path(path, units) for path, units in paths)
    verdict = "met" if total <= TARGET_SHARE_OF_SES * ses else "NOT met"
    print(f"  total ${total:.5f} = {100 * total / ses:.2f}% of SES's ${ses:.2f} "
          f"-> target <= {TARGET_SHARE_OF_SES:.0%}: {verdict}")
    for path, units in beside:
        print("  for comparison, not in the total:")
        _print_path(path, units)


def _print_path(path: PathCost, units: float) -> float:
    usd = path.usd() * units
    print(f"  {path.label:<45} {units:5.0f} {path.per}s x ({path.write_units:.2f} WRU + "
          f"{path.index_write_units:.2f} GSI WRU, {path.read_units:.2f} RRU, {path.sqs_requests:.2f} SQS, "
          f"{path.lambda_requests:.3f} Lambda + {path.lambda_ms:.1f} ms, {path.api_requests:.0f} API, "
          f"{path.sns_publishes:.0f} SNS) = ${usd:.5f}")
    return usd


if __name__ == "__main__":
    from bench.offline import go_offline

    go_offline()
    main()
