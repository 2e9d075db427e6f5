"""The tracking worker: batches of open/click events → aggregated campaign counters.

Not Powertools' per-record BatchProcessor: the point is to count the batch as a whole. A record
that is not an event fails alone (after its receives it lands in the DLQ); when counting fails,
every readable record fails and SQS redelivers them, which counts nothing twice (markers).
"""
from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.tracking import TrackingEvent, event_from_dict
from chalicelib.functions import sqs_handler_options
from chalicelib.observability import logger
from chalicelib.services.tracking import count_events

worker = Blueprint(__name__)


def count_records(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Count a batch of SQS records; the response ReportBatchItemFailures expects."""
    events: list[TrackingEvent] = []
    readable: list[str] = []
    failed: list[str] = []
    for record in records:
        try:
            events.append(event_from_dict(json.loads(record["body"])))
            readable.append(record["messageId"])
        except (InvalidInput, ValueError):
            logger.warning("unreadable tracking event", extra={"message_id": record["messageId"]})
            failed.append(record["messageId"])
    try:
        count_events(events)
    except Exception:
        logger.exception("tracking batch failed; SQS will redeliver it")
        failed.extend(readable)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


@worker.on_sqs_message(**sqs_handler_options("tracking_worker", settings().resource_name))
def tracking_worker(event: Any) -> dict[str, Any]:
    return count_records(event.to_dict()["Records"])
