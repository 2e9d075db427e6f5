"""Enqueueing jobs on the app's SQS queues, and taking them off a queue that a scheduled function
drains itself (functions.QueueDrain)."""
from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.clients import client
from chalicelib.config import settings
from chalicelib.domain.errors import PayloadTooLarge
from chalicelib.domain.queue_size import QUEUE_MESSAGE_MAX_BYTES, batches, body_bytes, job_body
from chalicelib.resources import QueueSpec


@cache
def _queue_url(name: str) -> str:
    return client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def queue_url(queue: QueueSpec) -> str:
    """The URL of a declared queue (looked up once per container)."""
    return _queue_url(settings().resource_name(queue.logical_name))


# The longest SQS holds a new message back (DelaySeconds).
MAX_DELAY_SECONDS = 900


def enqueue(queue: QueueSpec, job: dict[str, Any], delay_seconds: int = 0) -> str:
    """Send one JSON job, hidden for `delay_seconds` (at most MAX_DELAY_SECONDS); returns the SQS
    message id. A job larger than the queue takes is PayloadTooLarge, and nothing is sent."""
    delay = max(0, min(MAX_DELAY_SECONDS, int(delay_seconds)))
    body = job_body(job)
    _check_fits(body_bytes(body))
    response = client("sqs").send_message(QueueUrl=queue_url(queue), MessageBody=body, DelaySeconds=delay)
    return response["MessageId"]


def enqueue_many(queue: QueueSpec, jobs: list[dict[str, Any]], delays: list[int] | None = None) -> None:
    """Send jobs in SendMessageBatch calls of at most ten entries and QUEUE_MESSAGE_MAX_BYTES of
    bodies together (SQS's limits), each hidden for its delay (seconds, at most
    MAX_DELAY_SECONDS; none by default). A job larger than the queue takes is PayloadTooLarge
    before any is sent; raises if SQS refused an entry."""
    held = [max(0, min(MAX_DELAY_SECONDS, int(delay))) for delay in delays or [0] * len(jobs)]
    bodies = [job_body(job) for job in jobs]
    sizes = [body_bytes(body) for body in bodies]
    for size in sizes:
        _check_fits(size)
    for indexes in batches(sizes):
        entries = [{"Id": str(index), "MessageBody": bodies[index], "DelaySeconds": held[index]}
                   for index in indexes]
        response = client("sqs").send_message_batch(QueueUrl=queue_url(queue), Entries=entries)
        if response.get("Failed"):
            raise RuntimeError(f"SQS refused {len(response['Failed'])} of {len(entries)} jobs")


def _check_fits(size: int) -> None:
    # The services refuse what a caller sent too big, naming the field; this is the backstop.
    if size > QUEUE_MESSAGE_MAX_BYTES:
        raise PayloadTooLarge(f"the job takes {size} bytes queued; a queue takes at most "
                              f"{QUEUE_MESSAGE_MAX_BYTES}", field="body")


# SQS's most messages in one ReceiveMessage or DeleteMessageBatch.
SQS_MAX_BATCH = 10


def receive(queue: QueueSpec, most: int) -> list[dict[str, Any]]:
    """Up to `most` (at most SQS_MAX_BATCH) waiting messages, hidden from other receivers for the
    queue's visibility timeout. A short poll: an empty queue answers at once, and a run billed by
    the millisecond does not wait; SQS may then miss a message, which the next run takes."""
    response = client("sqs").receive_message(QueueUrl=queue_url(queue), WaitTimeSeconds=0,
                                             MaxNumberOfMessages=max(1, min(SQS_MAX_BATCH, most)))
    return response.get("Messages", [])


def delete(queue: QueueSpec, receipt_handles: list[str]) -> int:
    """Delete received messages, ten a call; returns how many SQS did not delete (they come back
    after the visibility timeout, to be handled again)."""
    refused = 0
    for start in range(0, len(receipt_handles), SQS_MAX_BATCH):
        entries = [{"Id": str(index), "ReceiptHandle": handle}
                   for index, handle in enumerate(receipt_handles[start : start + SQS_MAX_BATCH])]
        response = client("sqs").delete_message_batch(QueueUrl=queue_url(queue), Entries=entries)
        refused += len(response.get("Failed", []))
    return refused


def forget_queue_urls() -> None:
    _queue_url.cache_clear()
