"""The tracking worker: every 4 minutes it drains the tracking queue, batches of open/click events →
aggregated campaign counters.

A drain, not a queue trigger (functions.QueueDrain): opens trickle in over two days, and a
trigger's pollers would cut them into batches of one or two, each an invocation with its own
delta write and, after every quiet spell, its own cold start and secret read.

Not Powertools' per-record BatchProcessor: the point is to count the batch as a whole. A record
that is not an event fails alone (after its receives it lands in the DLQ); so do the events the
count gives back (their marker changed meanwhile); when counting fails, every readable record
fails. A failed record is not deleted: SQS shows it again after the visibility timeout, which
counts nothing twice (markers), as a trigger's partial batch failure would.
"""
from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint, Rate

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.tracking import TrackingEvent, event_from_dict
from chalicelib.functions import queue_drain
from chalicelib.observability import logger
from chalicelib.services.queue_drain import drain
from chalicelib.services.tracking import count_events

worker = Blueprint(__name__)
DRAIN = queue_drain("tracking_worker")


def count_records(records: list[dict[str, Any]]) -> list[str]:
    """Count a batch of SQS records; the message ids of those to give back to the queue."""
    events: list[TrackingEvent] = []
    message_of: dict[str, list[str]] = {}
    failed: list[str] = []
    for record in records:
        try:
            event = event_from_dict(json.loads(record["body"]))
        except (InvalidInput, ValueError, RecursionError):  # RecursionError: JSON nested too deep
            logger.warning("unreadable tracking event", extra={"message_id": record["messageId"]})
            failed.append(record["messageId"])
            continue
        events.append(event)
        message_of.setdefault(event.event_id, []).append(record["messageId"])
    try:
        retry = count_events(events)
    except Exception:
        logger.exception("tracking batch failed; SQS will redeliver it")
        retry = set(message_of)
    return failed + [message_id for event_id in sorted(retry) for message_id in message_of.get(event_id, [])]


@worker.schedule(Rate(DRAIN.every_minutes, unit=Rate.MINUTES), name="tracking_worker")
def tracking_worker(event: Any) -> dict[str, Any]:
    return drain(DRAIN, count_records, event.context.get_remaining_time_in_millis).to_dict()
