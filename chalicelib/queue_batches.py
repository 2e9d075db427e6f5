"""SQS partial batch responses (ReportBatchItemFailures): each record of a batch through its
handler, and only the records that failed reported back, so SQS redelivers just those.

What Powertools' BatchProcessor and process_partial_response do for SQS, in a few lines. The
project prefers Powertools for a solved problem, but only where the cost is justified: importing
its batch utility and SQSRecord adds 26-33 ms of CPU to each worker's cold import (0.15-0.2x
`import boto3`; `make bench` measures it on every run, bench/cold_start.batch_utility_cost), which
in the run of README's table would have taken seven of the eight workers over issue 15's 1.5x
target, and is billed at every cold start (INIT). What it adds that these workers do not use:
async processing, FIFO ordering, Kinesis and DynamoDB streams.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.config import settings
from chalicelib.observability import logger


class BatchFailed(Exception):
    """Every record of the batch failed: raised so Lambda retries the batch whole, as Powertools
    does (a response naming every record would do the same, less visibly)."""


@dataclass(frozen=True)
class QueueAttributes:
    """The attributes SQS sets on a record, as Powertools' SQSRecord names the ones read here."""

    raw: Mapping[str, Any]

    @property
    def approximate_receive_count(self) -> str | None:
        return self.raw.get("ApproximateReceiveCount")


@dataclass(frozen=True)
class QueuedRecord:
    """One SQS record as Lambda delivers it; read as a Powertools SQSRecord is."""

    raw: Mapping[str, Any]

    @property
    def message_id(self) -> str:
        return str(self.raw["messageId"])

    @property
    def body(self) -> str:
        return str(self.raw["body"])

    @property
    def attributes(self) -> QueueAttributes:
        return QueueAttributes(self.raw.get("attributes") or {})

    @property
    def event_source_arn(self) -> str:
        """The ARN of the queue the record came from."""
        return str(self.raw.get("eventSourceARN") or "")


def is_last_attempt(record: QueuedRecord) -> bool:
    """Whether this SQS record is on its last receive: failing it again
    would move it to the dead-letter queue, where nobody would learn of it."""
    try:
        received = int(record.attributes.approximate_receive_count)
    except (TypeError, ValueError, KeyError):
        return False
    return received >= settings().sqs_max_receive_count


def process_batch(event: Mapping[str, Any], handler: Callable[[QueuedRecord], object],
                  raise_on_entire_batch_failure: bool = True) -> dict[str, Any]:
    """Run `handler` on each record of an SQS event; the response ReportBatchItemFailures expects.
    A record fails alone when its handler raises (its error's type is logged, never its text,
    which may quote the record). BatchFailed when every record failed, unless told not to."""
    records = list(event.get("Records") or [])
    failed: list[str] = []
    for raw in records:
        record = QueuedRecord(raw)
        try:
            handler(record)
        except Exception as exc:
            logger.warning("queue record failed", extra={"message_id": record.message_id,
                                                         "error": type(exc).__name__})
            failed.append(record.message_id)
    if records and len(failed) == len(records) and raise_on_entire_batch_failure:
        raise BatchFailed(f"all {len(records)} records of the batch failed")
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
