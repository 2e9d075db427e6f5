"""The feedback worker: SES events (SNS → SQS feedback queue) → bounces, complaints, rates,
suspensions. Partial batch failures: a malformed record fails alone and ends in the DLQ."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.functions import sqs_handler_options
from chalicelib.queue_batches import QueuedRecord, process_batch
from chalicelib.services.feedback import apply_feedback
from chalicelib.services.health import review_accounts

worker = Blueprint(__name__)


@worker.on_sqs_message(**sqs_handler_options("feedback_worker", settings().resource_name))
def feedback_worker(event: Any) -> dict[str, Any]:
    touched: set[str] = set()

    def handle(record: QueuedRecord) -> None:
        touched.update(apply_feedback(record.body))

    response = process_batch(event.to_dict(), handle)
    # Once per account per batch, after the counts. Should this raise, Lambda redelivers the
    # batch: the counts are not added twice (receipts) and the review runs again.
    review_accounts(touched)
    return response
