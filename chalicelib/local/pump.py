"""The SQS pump: delivers each queue's messages to its `@app.on_sqs_message` handler as Lambda does.

Lambda's event source mapping (with `ReportBatchItemFailures`, which the deployment sets) receives
up to `batch_size` messages, invokes the handler with one event under the function's declared
configuration (chalicelib/functions.py: a handler that overruns its timeout fails its batch),
deletes the records that succeeded and leaves the others on the queue: those in
`batchItemFailures`, or every record when the handler raised or answered with an unknown record
id. A record left on the queue comes back after its visibility timeout; locally the pump shortens
that to `retry_delay_seconds` so a redelivery is seen at once. After `maxReceiveCount` receives
SQS itself moves the message to the dead-letter queue on the next receive (moto honours the
queue's RedrivePolicy the same way).
"""
from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalice import Chalice
from chalice.app import SQSEventConfig

from chalicelib.clients import client
from chalicelib.functions import FunctionSpec, function_spec
from chalicelib.local.invoke import invoke_handler

log = logging.getLogger("local_stack.pump")

# SQS's limit per ReceiveMessage, DeleteMessageBatch and ChangeMessageVisibilityBatch call.
_SQS_MAX_BATCH = 10


@dataclass(frozen=True)
class QueueSubscription:
    """One `@app.on_sqs_message` handler and the queue it consumes."""

    function_name: str
    queue_name: str
    queue_url: str
    queue_arn: str
    batch_size: int


@dataclass(frozen=True)
class BatchOutcome:
    """What happened to one delivered batch (counts only: never message contents)."""

    function_name: str
    received: int
    deleted: int
    retried: int
    # The exception's type when the handler raised (the whole batch stays on the queue).
    error: str | None = None


def subscriptions(app: Chalice) -> list[QueueSubscription]:
    """Every SQS handler of `app` with its queue's URL and ARN; a missing queue is a RuntimeError."""
    sqs = client("sqs")
    found = []
    for source in app.event_sources:
        if not isinstance(source, SQSEventConfig):
            continue
        queue_name = source.queue or (source.queue_arn or "").rpartition(":")[2]
        try:
            url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            raise RuntimeError(
                f"SQS handler {source.name!r} reads queue {queue_name!r}, which was not provisioned: "
                "declare it in chalicelib/resources.py"
            ) from None
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        found.append(QueueSubscription(source.name, queue_name, url, arn, source.batch_size))
    return found


class SqsPump:
    """Polls every SQS handler's queue and delivers batches to the handler."""

    def __init__(
        self,
        app: Chalice,
        region: str,
        retry_delay_seconds: int = 2,
        poll_interval_seconds: float = 0.5,
        spec_of: Callable[[str], FunctionSpec] = function_spec,
    ) -> None:
        self._app = app
        self._region = region
        self._retry_delay = retry_delay_seconds
        self._poll_interval = poll_interval_seconds
        self._spec_of = spec_of
        self.subscriptions = subscriptions(app)

    def run(self, stop: threading.Event) -> None:
        """Deliver until `stop` is set; sleeps `poll_interval_seconds` when every queue was empty."""
        while not stop.is_set():
            try:
                busy = any(outcome.received for outcome in self.deliver_once())
            except Exception as exc:  # keep pumping: the endpoint may be restarting or stopping
                log.warning("pump round failed: %s", type(exc).__name__)
                busy = False
            if not busy:
                stop.wait(self._poll_interval)

    def deliver_once(self) -> list[BatchOutcome]:
        """One batch per queue that has visible messages; returns what happened to each."""
        outcomes = []
        for subscription in self.subscriptions:
            messages = self._receive(subscription)
            if messages:
                outcome = self._deliver(subscription, messages)
                log.info(
                    "%s: %d received, %d deleted, %d left for redelivery%s",
                    outcome.function_name, outcome.received, outcome.deleted, outcome.retried,
                    f" (handler raised {outcome.error})" if outcome.error else "",
                )
                outcomes.append(outcome)
        return outcomes

    def _receive(self, subscription: QueueSubscription) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < subscription.batch_size:
            received = client("sqs").receive_message(
                QueueUrl=subscription.queue_url,
                MaxNumberOfMessages=min(_SQS_MAX_BATCH, subscription.batch_size - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not received:
                break
            messages.extend(received)
        return messages

    def _deliver(self, subscription: QueueSubscription, messages: list[dict[str, Any]]) -> BatchOutcome:
        event = {"Records": [sqs_record(m, subscription.queue_arn, self._region) for m in messages]}
        error = None
        try:
            result = invoke_handler(self._app, self._spec_of(subscription.function_name), event, self._region)
            failed_ids = failed_message_ids(result, {m["MessageId"] for m in messages})
        except Exception as exc:
            error = type(exc).__name__
            failed_ids = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        retry = [m for m in messages if m["MessageId"] in failed_ids]
        self._delete(subscription, done)
        self._make_visible_soon(subscription, retry)
        return BatchOutcome(subscription.function_name, len(messages), len(done), len(retry), error)

    def _delete(self, subscription: QueueSubscription, messages: list[dict[str, Any]]) -> None:
        for chunk in _chunks(messages):
            client("sqs").delete_message_batch(
                QueueUrl=subscription.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )

    def _make_visible_soon(self, subscription: QueueSubscription, messages: list[dict[str, Any]]) -> None:
        for chunk in _chunks(messages):
            client("sqs").change_message_visibility_batch(
                QueueUrl=subscription.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"],
                     "VisibilityTimeout": self._retry_delay}
                    for i, m in enumerate(chunk)
                ],
            )


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of a Lambda SQS event, built from a ReceiveMessage result."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_message_ids(result: Any, message_ids: set[str]) -> set[str]:
    """The records a handler reported failed; all of them when the report names an unknown id.

    No report, or an empty `batchItemFailures`, means every record succeeded (as in Lambda).
    """
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if not failures:
        return set()
    reported = [item.get("itemIdentifier") if isinstance(item, dict) else None for item in failures]
    if not all(identifier in message_ids for identifier in reported):
        return set(message_ids)
    return {str(identifier) for identifier in reported}


def _lambda_attribute(value: dict[str, Any]) -> dict[str, Any]:
    # Lambda spells message attributes in camelCase and sends binary values base64-encoded.
    attribute: dict[str, Any] = {
        "stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    return attribute


def _chunks(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [messages[start : start + _SQS_MAX_BATCH] for start in range(0, len(messages), _SQS_MAX_BATCH)]
