"""The send worker: outbox queue → SES, exactly once per message id, partial batch failures.

Each record goes through the outbox step (services/sending/outbox.py); the batch's sent mail is
counted once per account and campaign, exactly once even when counting fails (counting.py). A
job the invocation has too little time left for goes back to the queue, unsent; one given up on
its last receive is reported failed, on to the dead-letter queue (step.GivenUp)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.functions import sqs_handler_options
from chalicelib.queue_batches import QueuedRecord, is_last_attempt, process_batch
from chalicelib.services.sending.outbox import outbox_count, send_outbox_job
from chalicelib.services.sending.rate_tokens import RateTokens
from chalicelib.warm_up import WARMED, is_warm_up

worker = Blueprint(__name__)


@worker.on_sqs_message(**sqs_handler_options("send_worker", settings().resource_name))
def send_worker(event: Any) -> dict[str, Any]:
    if is_warm_up(event.to_dict()):
        return WARMED
    # Tokens for the whole batch in one call to the shared bucket, not one call per mail.
    tokens = RateTokens(len(event.to_dict().get("Records", [])))
    count = outbox_count()

    def send(record: QueuedRecord) -> None:
        send_outbox_job(record.body, tokens, count, last_attempt=is_last_attempt(record),
                        time_left=lambda: event.context.get_remaining_time_in_millis() / 1000)

    try:
        return process_batch(event.to_dict(), send)
    finally:
        count.count()
