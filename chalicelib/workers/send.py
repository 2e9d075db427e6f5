"""The send worker: outbox queue → SES, exactly once per message id, partial batch failures."""
from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from chalicelib.adapters.ses import send_raw_email
from chalicelib.config import settings
from chalicelib.domain.mime import build_mime
from chalicelib.domain.outbox import job_from_dict
from chalicelib.domain.privacy import subject_from_text
from chalicelib.observability import logger, metrics
from chalicelib.resources import OUTBOX
from chalicelib.store import messages

worker = Blueprint(__name__)
_processor = BatchProcessor(event_type=EventType.SQS)


def send_job(record: SQSRecord) -> None:
    """Send one queued email. Raising marks just this record failed; SQS redelivers it."""
    job = job_from_dict(json.loads(record.body))
    if not messages.claim(job.message_id, job.account_id, job.kind,
                          campaign_id=job.tags.get("campaign"), list_id=job.tags.get("list"),
                          recipient_hash=subject_from_text(job.email.recipient).keyed_hash):
        logger.info("duplicate outbox job skipped", extra={"message_id": job.message_id})
        return
    try:
        ses_id = send_raw_email(build_mime(job.email), job.email.recipient,
                                {"account": job.account_id, "kind": job.kind, **job.tags})
    except Exception:
        messages.release(job.message_id)
        raise
    messages.mark_sent(job.message_id, ses_id)
    metrics.add_metric(name="EmailSent", unit="Count", value=1)
    logger.info("email sent", extra={"message_id": job.message_id, "kind": job.kind})


@worker.on_sqs_message(queue=settings().resource_name(OUTBOX.logical_name),
                       batch_size=OUTBOX.batch_size, name="send_worker")
def send_worker(event: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event.to_dict(), record_handler=send_job, processor=_processor,
        context=event.context,
    )
