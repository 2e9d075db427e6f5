"""Sending benchmark (issues 4 and 15): a 1,000-recipient campaign through the real path,
in-process against moto — the send-now route, the fan-out worker on each page job, the campaign
send worker on each batch job, and each continuation a batch hands back (SQS delays it until its
reserved send time; the benchmark waits for it, no worker does) — at an SES rate of 100 a second.

Printed: SES calls per recipient (target 1), DynamoDB calls per recipient beyond the message-record
writes (target at most 0.1), CPU milliseconds per recipient for rendering and MIME (target at most
1 ms, `time.process_time`), and the wall time against the rate (1,000 at 100/s is about 10 s; at
most 12 s). The workers' own calls are counted; the SQS receives and deletes that Lambda's event
source mapping would make are not. `python -m bench.sending` prints the figures; bench/__main__.py
runs it in a fresh interpreter because it sets the rate in the environment. The cost model
(bench/cost.py) meters a smaller campaign with the same pieces: `ready_campaign`, `send_now`,
`run_workers`.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.config import signer
from chalicelib.domain.sending import sending_lanes

RECIPIENTS = 1_000
RATE = 100.0
# Runs of the rendering measurement (each over every recipient): their median is the figure.
CPU_RUNS = 7
# Like most designed templates, it places its own unsubscribe link, which composing then judges
# visible (P06: domain/html_text.shows_link, a parse a recipient) before leaving out the footer.
_HTML = ('<html><body><h1>Hello {{ name }}</h1><p>Our spring sale starts today: '
         '<a href="https://acme.example/sale">see the offers</a> or '
         '<a href="https://acme.example/shops">find a shop</a>.</p>'
         '<p style="font-size:12px;color:#666">Had enough? '
         '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>')


class _Context:
    """What the campaign send worker reads of the Lambda context: plenty of time left."""

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


def _subscribers(account_id: str, list_id: str, count: int) -> None:
    """`count` confirmed subscribers, written in BatchWriteItem calls (setup, not measured)."""
    from chalicelib.domain.subscriptions import Status
    from chalicelib.store.models import ConsentProof, Subscriber
    from chalicelib.store.subscribers import account_address_key, list_status_key

    at = datetime.now(UTC)
    with Subscriber.batch_write() as batch:
        for n in range(count):
            address = f"reader{n:05d}@example.com"
            batch.save(Subscriber(
                list_id=list_id, address=address, account_id=account_id, status=Status.CONFIRMED.value,
                email=address, name=f"Reader {n}", attributes={"plan": "gold" if n % 2 else "free"},
                consent=ConsentProof(given_at=at, source="api", consent_text_version=1, confirmed_at=at),
                created_at=at, updated_at=at, list_status=list_status_key(list_id, Status.CONFIRMED),
                account_address=account_address_key(account_id, address)))


@dataclass(frozen=True)
class ReadyCampaign:
    """A campaign created over HTTP on a list of confirmed subscribers, not sent yet."""

    account_id: str
    headers: dict[str, str]
    list_id: str
    campaign_id: str


_accounts: list[int] = []


def ready_campaign(http: Any, recipients: int) -> ReadyCampaign:
    """An account, a list of `recipients` confirmed subscribers and a campaign on it (setup, not
    measured), in the provisioned moto account, through the Chalice test client `http`."""
    from bench.route_calls import _PROFILE
    from chalicelib.cli import create_account_with_key
    from chalicelib.clients import client as aws_client

    # Each account sends as a domain of its own (P35: no two accounts share a sender identity).
    _accounts.append(len(_accounts))
    domain = f"acme{_accounts[-1]}.example"
    aws_client("sesv2").create_email_identity(EmailIdentity=domain)
    account = create_account_with_key("Acme Ltd", {**_PROFILE, "sender_identity": f"news@{domain}",
                                                   "contact_email": f"contact@{domain}"})
    headers = {"Authorization": f"Bearer {account['api_key']}", "Content-Type": "application/json"}
    # A list that does not ask for tracking consent (P30): every open and click is counted.
    body = {"name": "News", "consent_text": "Yes, send me the monthly news.", "attributes": ["plan"],
            "tracking_consent": "not_required", "privacy_policy_url": "https://acme.example/privacy"}
    created = http.http.post("/v1/lists", headers=headers, body=json.dumps(body))
    list_id = json.loads(created.body)["list_id"]
    _subscribers(account["account_id"], list_id, recipients)
    body = {"name": "Spring", "list_ids": [list_id], "subject": "Spring sale, {{ name }}", "html": _HTML}
    campaign_id = json.loads(http.http.post("/v1/campaigns", headers=headers,
                                            body=json.dumps(body)).body)["campaign_id"]
    return ReadyCampaign(account["account_id"], headers, list_id, campaign_id)


def send_now(http: Any, campaign: ReadyCampaign) -> None:
    """POST the campaign's send-now route: its first page job is queued."""
    http.http.post(f"/v1/campaigns/{campaign.campaign_id}/send", headers=campaign.headers, body="")


# What each job is run inside: a context manager counting its calls, say.
Around = Callable[[], AbstractContextManager[Any]]


@dataclass(frozen=True)
class WorkerJobs:
    """How many queued jobs the campaign's workers handled."""

    pages: int
    batches: int


def run_workers(each: Around, done: Callable[[], bool] = lambda: True, patience: float = 120.0) -> WorkerJobs:
    """Run the fan-out worker on every page job and the campaign send worker on every batch job
    until both queues are empty and `done()` (jobs handed back wait in the queue, delayed: the
    loop waits for them up to `patience` seconds in all). Each job is handled inside `each()` (to
    count its AWS calls); the receives and deletes of the queues, which Lambda's event source
    mapping would make, are outside it."""
    from chalicelib.workers.campaign_send import campaign_batch_record
    from chalicelib.workers.fanout import fanout_record

    pages = batches = 0
    deadline = time.monotonic() + patience
    while True:
        pages += _drain("fanout", fanout_record, each)
        handled = _drain("campaign-send", lambda record: campaign_batch_record(record, _Context()), each)
        batches += handled
        if not handled:
            if done() or time.monotonic() > deadline:
                return WorkerJobs(pages, batches)
            time.sleep(0.05)


def _drain(queue_name: str, handle: Callable[[Any], None], each: Around) -> int:
    """Run `handle` inside `each()` on every message waiting on a queue; how many there were."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.adapters.sqs import queue_url
    from chalicelib.clients import client
    from chalicelib.resources import QUEUES

    (queue,) = [spec for spec in QUEUES if spec.logical_name == queue_name]
    sqs, url, handled = client("sqs"), queue_url(queue), 0
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            with each():
                handle(SQSRecord({"messageId": message["MessageId"], "body": message["Body"]}))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
    return handled


def measure(recipients: int = RECIPIENTS) -> dict[str, Any]:
    """Send one campaign to `recipients` confirmed subscribers; the figures as a dict."""
    from chalice.test import Client

    from app import app
    from bench.aws_calls import count_aws_calls
    from bench.route_calls import _provisioned

    totals: Counter[str] = Counter()

    @contextmanager
    def counted() -> Iterator[None]:
        with count_aws_calls() as calls:
            yield
        totals.update(calls.by_operation)

    with _provisioned(), Client(app, stage_name="local") as http:
        campaign = ready_campaign(http, recipients)
        with count_aws_calls() as start:
            send_now(http, campaign)

        def status() -> str:
            return json.loads(http.http.get(f"/v1/campaigns/{campaign.campaign_id}",
                                            headers=campaign.headers).body)["status"]

        started = time.perf_counter()
        jobs = run_workers(counted, done=lambda: status() == "sent")
        wall = time.perf_counter() - started
        final = status()
        _render_cpu(campaign.account_id, campaign.campaign_id, campaign.list_id, 50)  # warm: templates built
        cpu = [_render_cpu(campaign.account_id, campaign.campaign_id, campaign.list_id, recipients)
               for _ in range(CPU_RUNS)]
    return {"recipients": recipients, "rate": RATE, "pages": jobs.pages, "batches": jobs.batches,
            "status": final, "start_calls": start.total, "calls": dict(totals), "wall_seconds": wall,
            "cpu_ms": cpu}


def _render_cpu(account_id: str, campaign_id: str, list_id: str, recipients: int) -> float:
    """CPU milliseconds per recipient to compose one message and build its MIME."""
    from chalicelib.domain.campaigns import CampaignContent, Channel, with_text_part
    from chalicelib.domain.marketing_mail import ListSettings, compose_marketing_email
    from chalicelib.domain.mime import build_mime
    from chalicelib.domain.subscriptions import Contact
    from chalicelib.services.accounts import sender_profile

    content = with_text_part(CampaignContent(channel=Channel.EMAIL, list_ids=frozenset({list_id}),
                                             subject="Spring sale, {{ name }}", html=_HTML,
                                             from_address="news@acme.example"), None)
    mailing_list = ListSettings(list_id=list_id, name="News", track_opens=True, track_clicks=True)
    sender = sender_profile(account_id)
    contacts = [Contact(email=f"reader{n:05d}@example.com", name=f"Reader {n}") for n in range(recipients)]
    links = signer()  # once a batch, as services/sending/batches.py takes it
    started = time.process_time()
    for contact in contacts:
        build_mime(compose_marketing_email(signer=links, account_id=account_id, campaign_id=campaign_id,
                                           content=content,
                                           recipient=contact, mailing_list=mailing_list, sender=sender,
                                           public_base_url="https://tidings.example"))
    return (time.process_time() - started) * 1000 / recipients


def report(figures: dict[str, Any]) -> list[str]:
    """The printed lines."""
    n, calls = figures["recipients"], Counter(figures["calls"])
    dynamodb = {op: count for op, count in calls.items() if op.startswith("dynamodb.")}
    # The claims (PutItem, one a recipient) are the message records (P21), and one purge list a
    # batch job (PutItem) files them for the 30-day purge.
    records = dynamodb.get("dynamodb.PutItem", 0) + dynamodb.get("dynamodb.BatchWriteItem", 0)
    others = sum(dynamodb.values()) - records
    ses = calls.get("sesv2.SendEmail", 0)
    expected = n / figures["rate"]
    # The campaign lane's share of the rate (the outbox keeps the rest: domain/sending.sending_lanes).
    campaign_rate, _ = sending_lanes(figures["rate"])
    claims, writes = dynamodb.get("dynamodb.PutItem", 0), dynamodb.get("dynamodb.BatchWriteItem", 0)
    other_ops = ", ".join(f"{op.split('.')[1]} {count}" for op, count in sorted(dynamodb.items())
                          if op not in ("dynamodb.PutItem", "dynamodb.BatchWriteItem"))
    return [
        f"{n} recipients, {figures['pages']} page jobs, {figures['batches']} batch jobs; "
        f"campaign {figures['status']}",
        f"send-now route: {figures['start_calls']} AWS calls (once per campaign)",
        f"SES calls per recipient: {ses / n:.3f} (target 1)",
        f"DynamoDB calls per recipient: message records and purge lists {records / n:.3f} (PutItem {claims}, "
        f"BatchWriteItem {writes}), everything else {others / n:.3f} (target at most 0.1)",
        f"  everything else: {other_ops}",
        f"SQS calls per recipient (enqueueing batches and pages): "
        f"{sum(c for op, c in calls.items() if op.startswith('sqs.')) / n:.3f}",
        f"CPU per recipient to compose and build a campaign mail (time.process_time, one core here): median "
        f"{statistics.median(figures['cpu_ms']):.3f} ms of {len(figures['cpu_ms'])} runs of {n:,} "
        f"(min {min(figures['cpu_ms']):.3f}, max {max(figures['cpu_ms']):.3f}) -> target at most 1 ms: "
        f"{'met' if statistics.median(figures['cpu_ms']) <= 1 else 'NOT met'}",
        f"wall time at {figures['rate']:.0f} msg/s: {figures['wall_seconds']:.1f} s "
        f"(the rate alone: {expected:.1f} s; target within 20%: at most {expected * 1.2:.1f} s -> "
        f"{'met' if figures['wall_seconds'] <= expected * 1.2 else 'NOT met'}; the campaign lane's "
        f"{campaign_rate:g}/s alone: {n / campaign_rate:.1f} s; {figures['batches']} batch invocations, "
        "continuations included; one process, moto in-process, delays honoured by moto)",
    ]


def print_sending() -> None:
    """Run `measure` in a fresh interpreter at RATE messages a second and print the report."""
    env = {**os.environ, "TIDINGS_SES_MAX_SEND_RATE": str(RATE)}
    result = subprocess.run([sys.executable, "-m", "bench.sending", "--json"], capture_output=True, text=True,
                            check=False, env=env)
    if result.returncode != 0:
        print(f"sending benchmark failed:\n{result.stderr[-2000:]}")
        return
    for line in report(json.loads(result.stdout.strip().splitlines()[-1])):
        print(line)


if __name__ == "__main__":
    from bench.offline import go_offline

    go_offline()
    if "--json" in sys.argv:
        import logging

        logging.disable(logging.CRITICAL)
        os.environ["TIDINGS_SES_MAX_SEND_RATE"] = str(RATE)
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        os.environ["POWERTOOLS_LOG_LEVEL"] = "CRITICAL"
        print(json.dumps(measure()))
    else:
        print_sending()
