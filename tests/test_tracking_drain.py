"""The tracking worker drains its queue every few minutes (functions.QueueDrain, services/queue_drain.py):
a run counts what waits in batches, deletes what it counted, leaves on the queue what it could not
count (to come back after the visibility timeout, and reach the DLQ after its receives), and starts
no batch it may not have time to finish."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from chalicelib.functions import QueueDrain
from chalicelib.resources import TRACKING
from tests.support.campaigns import report_body
from tests.support.tracking import (
    IMAGE_ACCEPT,
    LATER,
    OPEN_AGENT,
    SENT,
    claim_for,
    click_path,
    mailed_reader,
    open_path,
)

REGION = "eu-west-1"


@pytest.fixture
def mailed(client: Any, account: dict[str, Any]) -> dict[str, str]:
    return mailed_reader(client, account)


def _open_and_click(client: Any, account: dict[str, Any], mailed: dict[str, str]) -> None:
    claim = claim_for(account["account_id"], mailed["list_id"], "reader@example.com", mailed["campaign_id"])
    with time_machine.travel(SENT, tick=False):
        paths = [open_path(claim), open_path(claim), click_path(claim, "https://shop.example/")]
    with time_machine.travel(LATER, tick=False):
        for path in paths:
            client.http.get(path, headers={"User-Agent": OPEN_AGENT, "Accept": IMAGE_ACCEPT})


def _run() -> dict[str, Any]:
    """One scheduled run, as EventBridge starts it, under the function's declared configuration."""
    from app import app
    from chalicelib.local.invoke import invoke_handler
    from chalicelib.local.scheduler import scheduled_event

    event = scheduled_event(app, "tracking_worker", datetime.now(UTC), REGION)
    return invoke_handler(app, "tracking_worker", event, REGION)


def _on_queue() -> tuple[int, int]:
    """(visible, in flight) messages on the tracking queue."""
    from chalicelib.adapters.sqs import queue_url
    from chalicelib.clients import client

    found = client("sqs").get_queue_attributes(
        QueueUrl=queue_url(TRACKING),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(found["ApproximateNumberOfMessages"]), int(found["ApproximateNumberOfMessagesNotVisible"])


def _enqueue(*bodies: str) -> None:
    from chalicelib.adapters.sqs import queue_url
    from chalicelib.clients import client

    for body in bodies:
        client("sqs").send_message(QueueUrl=queue_url(TRACKING), MessageBody=body)


def test_p13_a_scheduled_run_counts_every_waiting_event_and_empties_the_queue(client, account, mailed):
    _open_and_click(client, account, mailed)
    assert _on_queue() == (3, 0)
    assert _run() == {"batches": 1, "messages": 3, "returned": 0}
    assert _on_queue() == (0, 0)
    body = report_body(client, account, mailed["campaign_id"])
    assert body["opens"]["total"] == 2 and body["clicks"]["total"] == 1
    # An idle run: nothing counted, nothing changed.
    assert _run() == {"batches": 0, "messages": 0, "returned": 0}
    assert report_body(client, account, mailed["campaign_id"]) == body


@pytest.mark.parametrize("body", ["not json", json.dumps({"event_id": "x"}), "\u2028",
                                  "[" * 5000 + "]" * 5000, "[]", "null", '"an open"', "7"])
def test_p13_an_unreadable_message_stays_on_the_queue_and_the_others_are_counted(
        client, account, mailed, body):
    _open_and_click(client, account, mailed)
    _enqueue(body)
    assert _run() == {"batches": 1, "messages": 4, "returned": 1}
    # Hidden until its visibility timeout, then received again, and after its receives in the DLQ.
    assert _on_queue() == (0, 1)
    assert report_body(client, account, mailed["campaign_id"])["opens"]["total"] == 2


def test_when_counting_fails_every_event_stays_on_the_queue(client, account, mailed, monkeypatch):
    import chalicelib.workers.tracking as worker

    def broken(events: list[Any]) -> set[str]:
        raise RuntimeError("DynamoDB is down")

    _open_and_click(client, account, mailed)
    monkeypatch.setattr(worker, "count_events", broken)
    assert _run() == {"batches": 1, "messages": 3, "returned": 3}
    assert _on_queue() == (0, 3)
    assert report_body(client, account, mailed["campaign_id"])["opens"]["total"] == 0


# --- the drain itself, with a handler that records its batches ---------------------------------------

def _drain(batch_size: int, give_back: frozenset[str] = frozenset(),
           time_left: int = 60_000) -> tuple[Any, list[list[str]]]:
    from chalicelib.local.invoke import running_as
    from chalicelib.services.queue_drain import drain

    batches: list[list[str]] = []

    def handle(records: list[dict[str, str]]) -> list[str]:
        batches.append([record["body"] for record in records])
        return [record["messageId"] for record in records if record["body"] in give_back]

    with running_as("tracking_worker"):
        report = drain(QueueDrain(TRACKING, batch_size), handle, lambda: time_left)
    return report, batches


def test_a_drain_takes_batches_of_its_size_until_the_queue_is_empty(aws):
    _enqueue(*(f"m{n}" for n in range(23)))
    report, batches = _drain(batch_size=12)
    assert [len(batch) for batch in batches] == [12, 11]
    assert sorted(body for batch in batches for body in batch) == sorted(f"m{n}" for n in range(23))
    assert (report.batches, report.messages, report.returned) == (2, 23, 0)
    assert _on_queue() == (0, 0)


def test_a_drain_deletes_only_what_its_handler_did_not_give_back(aws):
    _enqueue("keep", "done", "also done")
    report, _ = _drain(batch_size=10, give_back={"keep"})
    assert report.returned == 1 and _on_queue() == (0, 1)


def test_a_drain_starts_no_batch_without_the_time_to_finish_it(aws):
    from chalicelib.services.queue_drain import BATCH_MILLIS

    _enqueue("waiting")
    report, batches = _drain(batch_size=10, time_left=BATCH_MILLIS)
    assert batches == [] and report.messages == 0 and _on_queue() == (1, 0)
    report, batches = _drain(batch_size=10, time_left=BATCH_MILLIS + 1)
    assert batches == [["waiting"]] and _on_queue() == (0, 0)


@pytest.mark.parametrize(("waiting", "receives"), [(0, 1), (3, 1), (9, 1), (10, 2), (13, 2)])
def test_a_drain_asks_sqs_again_only_after_a_full_receive(aws, waiting, receives):
    """A receive bringing fewer than asked ends the run: the cost model (issue 15) counts a run
    with a few events as one receive and one delete, not also an empty receive."""
    from bench.aws_calls import count_aws_calls

    _enqueue(*(f"m{n}" for n in range(waiting)))
    with count_aws_calls() as calls:
        report, _ = _drain(batch_size=1000)
    assert calls.by_operation["sqs.ReceiveMessage"] == receives
    assert calls.by_operation["sqs.DeleteMessageBatch"] == -(-waiting // 10)
    assert report.messages == waiting and _on_queue() == (0, 0)
