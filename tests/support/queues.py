"""What waits on a queue, and the workers run on it as Lambda would."""
from __future__ import annotations

from typing import Any

from tests.support.events import sqs_event

# Handler of each queue the sending path uses, by the queue's logical name.
WORKERS = {"fanout": "fanout_worker", "campaign-send": "campaign_send_worker", "outbox": "send_worker"}


def take(queue_name: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Receive and delete the messages waiting on a declared queue, as SQS event records: all of
    them, or one receive of at most `limit` (a Lambda batch)."""
    from chalicelib.adapters.sqs import queue_url
    from chalicelib.clients import client
    from chalicelib.resources import QUEUES

    (queue,) = [spec for spec in QUEUES if spec.logical_name == queue_name]
    sqs, url = client("sqs"), queue_url(queue)
    records: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=limit or 10).get("Messages", [])
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            records.append({"messageId": message["MessageId"], "body": message["Body"],
                            "receiptHandle": message["ReceiptHandle"], "eventSource": "aws:sqs"})
        if not batch or limit is not None:
            return records


def run_queues(client: Any, queues: tuple[str, ...] = ("fanout", "campaign-send", "outbox"),
               rounds: int = 50) -> list[dict[str, Any]]:
    """Deliver every queued job to its worker until the queues are empty; the records the
    workers reported as failed (not put back, so a test can redeliver them itself)."""
    failed: list[dict[str, Any]] = []
    for _ in range(rounds):
        busy = False
        for name in queues:
            records = take(name, 5 if name == "campaign-send" else 10)
            if not records:
                continue
            busy = True
            result = client.lambda_.invoke(WORKERS[name], sqs_event(*records))
            ids = {item["itemIdentifier"] for item in result.payload["batchItemFailures"]}
            failed += [record for record in records if record["messageId"] in ids]
        if not busy:
            return failed
    raise AssertionError("the queues did not drain")


def fanned_out(client: Any) -> dict[str, dict[str, Any]]:
    """Run the fan-out worker on every queued page; the campaign-send batch jobs it queued (taken
    off the queue, not run), by list id (one batch a list: the lists are small)."""
    import json

    run_queues(client, ("fanout",))
    jobs = take("campaign-send")
    by_list = {json.loads(record["body"])["list"]["list_id"]: record for record in jobs}
    assert len(by_list) == len(jobs), "one batch a list"
    return by_list


def deliver(records: list[dict[str, Any]]) -> None:
    """Run the send worker on queued jobs, as Lambda would."""
    from chalicelib.local.invoke import running_as
    from chalicelib.services.sending.outbox import send_outbox_job

    with running_as("send_worker"):
        for record in records:
            send_outbox_job(record["body"])


def apply_queued_signups() -> int:
    """Run the signups worker on every queued public signup, as Lambda would; how many ran."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.local.invoke import running_as
    from chalicelib.workers.signups import signup_record

    records = take("signups")
    with running_as("signup_worker"):
        for record in records:
            signup_record(SQSRecord(record))
    return len(records)


def run_tracking_worker(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Count a batch as the tracking worker's drain does; what it gives back, in the shape of a
    trigger's partial batch failure."""
    from chalicelib.local.invoke import running_as
    from chalicelib.workers.tracking import count_records

    with running_as("tracking_worker"):
        given_back = count_records(records)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in given_back]}


def record_send_batches(monkeypatch: Any) -> list[list[int]]:
    """Record every SendMessageBatch call from now on (the test's and the handlers'): the UTF-8
    bytes of each entry's body, one list per call."""
    from botocore.client import BaseClient

    calls: list[list[int]] = []
    real = BaseClient._make_api_call

    def recording(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "SendMessageBatch":
            calls.append([len(entry["MessageBody"].encode("utf-8")) for entry in params["Entries"]])
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    return calls
