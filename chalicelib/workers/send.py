"""The send worker: outbox queue → SES, exactly once per message id, partial batch failures.

Each record goes through the outbox step (services/sending/outbox.py); the batch's sent mail is
counted once per account and campaign."""
from __future__ import annotations

from collections import Counter
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
from chalicelib.services.sending.outbox import SentTally, count_tally, send_outbox_job
from chalicelib.services.sending.rate_tokens import RateTokens
from chalicelib.services.sending.step import is_last_attempt

worker = Blueprint(__name__)
_processor = BatchProcessor(event_type=EventType.SQS)


@worker.on_sqs_message(**sqs_handler_options("send_worker", settings().resource_name))
def send_worker(event: Any) -> dict[str, Any]:
    # Tokens for the whole batch in one call to the shared bucket, not one call per mail.
    tokens = RateTokens(len(event.to_dict().get("Records", [])))
    sent: SentTally = Counter()

    def send(record: SQSRecord) -> None:
        send_outbox_job(record.body, tokens, sent, last_attempt=is_last_attempt(record))

    try:
        return process_partial_response(event=event.to_dict(), record_handler=send, processor=_processor,
                                        context=event.context)
    finally:
        count_tally(sent)
