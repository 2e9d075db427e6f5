"""The fan-out worker: one page of a campaign's list per job (services/sending/fanout.py)."""
from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.sending import PageJob, job_from_dict
from chalicelib.functions import sqs_handler_options
from chalicelib.services.sending.fanout import fan_out_page

worker = Blueprint(__name__)
# Every record failed is reported like any partial failure, not raised: the same redelivery.
_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def fanout_record(record: SQSRecord) -> None:
    """Plan and queue one page; raising marks just this record failed (SQS redelivers it)."""
    job = job_from_dict(json.loads(record.body))
    if not isinstance(job, PageJob):
        raise InvalidInput("the fan-out queue takes page jobs only", field="type")
    fan_out_page(job)


@worker.on_sqs_message(**sqs_handler_options("fanout_worker", settings().resource_name))
def fanout_worker(event: Any) -> dict[str, Any]:
    return process_partial_response(event=event.to_dict(), record_handler=fanout_record,
                                    processor=_processor, context=event.context)
