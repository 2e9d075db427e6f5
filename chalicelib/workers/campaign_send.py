"""The campaign send worker: recipient batches → SES or SNS (services/sending/batches.py), reporting
only the failed batches back to SQS."""
from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.sending import BatchJob, job_from_dict
from chalicelib.functions import sqs_handler_options
from chalicelib.queue_batches import QueuedRecord, is_last_attempt, process_batch
from chalicelib.services.sending.batches import send_batch

worker = Blueprint(__name__)


def campaign_batch_record(record: QueuedRecord, lambda_context: Any) -> None:
    """Send one batch; raising marks just this record failed (SQS redelivers it)."""
    job = job_from_dict(json.loads(record.body))
    if not isinstance(job, BatchJob):
        raise InvalidInput("the campaign-send queue takes batch jobs only", field="type")
    send_batch(job, time_left=lambda: lambda_context.get_remaining_time_in_millis() / 1000,
               last_attempt=is_last_attempt(record))


@worker.on_sqs_message(**sqs_handler_options("campaign_send_worker", settings().resource_name,
                                             settings().ses_max_send_rate))
def campaign_send_worker(event: Any) -> dict[str, Any]:
    # A batch whose every record failed is reported like any partial failure: the same redelivery.
    return process_batch(event.to_dict(), lambda record: campaign_batch_record(record, event.context),
                         raise_on_entire_batch_failure=False)
