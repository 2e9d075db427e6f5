"""The signups worker: applies queued public signups and resend requests (domain/signup_job.py)."""
from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.domain.signup_job import ResendJob, signup_job_from_dict
from chalicelib.functions import sqs_handler_options
from chalicelib.services.signups import apply_public_signup, apply_resend

worker = Blueprint(__name__)
_processor = BatchProcessor(event_type=EventType.SQS)


def signup_record(record: SQSRecord) -> None:
    job = signup_job_from_dict(json.loads(record.body))
    if isinstance(job, ResendJob):
        apply_resend(job)
    else:
        apply_public_signup(job)


@worker.on_sqs_message(**sqs_handler_options("signup_worker", settings().resource_name))
def signup_worker(event: Any) -> dict[str, Any]:
    return process_partial_response(event=event.to_dict(), record_handler=signup_record,
                                    processor=_processor, context=event.context)
