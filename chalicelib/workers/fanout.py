"""The fan-out worker: one page of a campaign's list per job (services/sending/fanout.py)."""
from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.sending import PageJob, job_from_dict
from chalicelib.functions import sqs_handler_options
from chalicelib.queue_batches import QueuedRecord, is_last_attempt, process_batch
from chalicelib.services.sending.fanout import fan_out_page

worker = Blueprint(__name__)


def fanout_record(record: QueuedRecord) -> None:
    """Plan and queue one page; raising marks just this record failed (SQS redelivers it)."""
    job = job_from_dict(json.loads(record.body))
    if not isinstance(job, PageJob):
        raise InvalidInput("the fan-out queue takes page jobs only", field="type")
    fan_out_page(job, last_attempt=is_last_attempt(record))


@worker.on_sqs_message(**sqs_handler_options("fanout_worker", settings().resource_name))
def fanout_worker(event: Any) -> dict[str, Any]:
    # A batch whose every record failed is reported like any partial failure: the same redelivery.
    return process_batch(event.to_dict(), fanout_record,
                         raise_on_entire_batch_failure=False)
