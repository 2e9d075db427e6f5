"""The signups worker: applies queued public signups and resend requests (domain/signup_job.py)."""
from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.domain.signup_job import ResendJob, signup_job_from_dict
from chalicelib.functions import sqs_handler_options
from chalicelib.queue_batches import QueuedRecord, process_batch
from chalicelib.services.signups import apply_public_signup, apply_resend
from chalicelib.warm_up import WARMED, is_warm_up

worker = Blueprint(__name__)


def signup_record(record: QueuedRecord) -> None:
    job = signup_job_from_dict(json.loads(record.body))
    if isinstance(job, ResendJob):
        apply_resend(job, record.message_id)
    else:
        apply_public_signup(job, record.message_id)


@worker.on_sqs_message(**sqs_handler_options("signup_worker", settings().resource_name))
def signup_worker(event: Any) -> dict[str, Any]:
    if is_warm_up(event.to_dict()):
        return WARMED
    return process_batch(event.to_dict(), signup_record)
