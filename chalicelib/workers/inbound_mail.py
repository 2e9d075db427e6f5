"""The inbound-mail worker: unsubscribe mails SES receiving got (SNS → SQS), honoured like the
one-click POST (P07). Other mail, and SNS's own messages about the subscription, are
acknowledged and dropped; a record that is neither fails alone and ends in the dead-letter queue."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.domain.inbound_mail import NoUnsubscribe, unsubscribe_tokens
from chalicelib.domain.tokens import TokenExpired, TokenInvalid
from chalicelib.functions import sqs_handler_options
from chalicelib.observability import logger
from chalicelib.queue_batches import QueuedRecord, process_batch
from chalicelib.services.unsubscribe import Scope, read_unsubscribe_token, unsubscribe

worker = Blueprint(__name__)


def inbound_mail_record(record: QueuedRecord) -> None:
    """Honour one received mail's unsubscribe token; MalformedInbound fails the record."""
    readings = unsubscribe_tokens(record.body)
    if isinstance(readings, NoUnsubscribe):
        logger.info("inbound record without an unsubscribe token acknowledged",
                    extra={"reason": readings.reason})
        return
    refused: list[str] = []
    for token in readings:
        try:
            claim = read_unsubscribe_token(token)
        except (TokenInvalid, TokenExpired) as error:
            refused.append(error.code)
            continue
        unsubscribe(claim, Scope.LIST)
        return
    # Someone's mail with a broken or old token: retrying cannot help.
    logger.info("inbound unsubscribe with an unusable token dropped", extra={"reason": refused[0]})


@worker.on_sqs_message(**sqs_handler_options("inbound_mail_worker", settings().resource_name))
def inbound_mail_worker(event: Any) -> dict[str, Any]:
    return process_batch(event.to_dict(), inbound_mail_record)
