"""The campaign send worker: recipient batches → SES or SNS (services/sending/batches.py), reporting
only the failed batches back to SQS."""
from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.sending import BatchJob, job_from_dict
from chalicelib.functions import sqs_handler_options
from chalicelib.services.sending.batches import send_batch
from chalicelib.services.sending.step import is_last_attempt

worker = Blueprint(__name__)
# Every record failed is reported like any partial failure, not raised: the same redelivery.
_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def campaign_batch_record(record: SQSRecord, lambda_context: Any) -> None:
    """Send one batch; raising marks just this record failed (SQS redelivers it)."""
    job = job_from_dict(json.loads(record.body))
    if not isinstance(job, BatchJob):
        raise InvalidInput("the campaign-send queue takes batch jobs only", field="type")
    send_batch(job, time_left=lambda: lambda_context.get_remaining_time_in_millis() / 1000,
               last_attempt=is_last_attempt(record))


@worker.on_sqs_message(**sqs_handler_options("campaign_send_worker", settings().resource_name))
def campaign_send_worker(event: Any) -> dict[str, Any]:
    return process_partial_response(event=event.to_dict(), record_handler=campaign_batch_record,
                                    processor=_processor, context=event.context)
