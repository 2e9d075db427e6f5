"""The feedback worker: SES events (SNS → SQS feedback queue) → bounces, complaints, rates,
suspensions. Partial batch failures: a malformed record fails alone and ends in the DLQ."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.functions import sqs_handler_options
from chalicelib.services.feedback import apply_feedback
from chalicelib.services.health import review_accounts

worker = Blueprint(__name__)
_processor = BatchProcessor(event_type=EventType.SQS)


@worker.on_sqs_message(**sqs_handler_options("feedback_worker", settings().resource_name))
def feedback_worker(event: Any) -> dict[str, Any]:
    touched: set[str] = set()

    def handle(record: SQSRecord) -> None:
        account_id = apply_feedback(record.body)
        if account_id:
            touched.add(account_id)

    response = process_partial_response(
        event=event.to_dict(), record_handler=handle, processor=_processor, context=event.context,
    )
    # Once per account per batch, after the counts. Should this raise, Lambda redelivers the
    # batch: the counts are not added twice (receipts) and the review runs again.
    review_accounts(touched)
    return response
