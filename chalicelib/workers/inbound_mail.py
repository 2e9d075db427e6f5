"""The inbound-mail worker: unsubscribe mails SES receiving got (SNS → SQS), honoured like the
one-click POST (P07). Other mail is acknowledged and dropped; a record that is not an SES
receiving notification fails alone and ends in the dead-letter queue."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.domain.inbound_mail import unsubscribe_token
from chalicelib.domain.tokens import TokenExpired, TokenInvalid
from chalicelib.functions import sqs_handler_options
from chalicelib.observability import logger
from chalicelib.services.unsubscribe import Scope, read_unsubscribe_token, unsubscribe

worker = Blueprint(__name__)
_processor = BatchProcessor(event_type=EventType.SQS)


def inbound_mail_record(record: SQSRecord) -> None:
    """Honour one received mail's unsubscribe token; MalformedInbound fails the record."""
    token = unsubscribe_token(record.body)
    if token is None:
        logger.info("inbound mail without an unsubscribe token dropped")
        return
    try:
        claim = read_unsubscribe_token(token)
    except (TokenInvalid, TokenExpired) as error:
        # Someone's mail with a broken or old token: retrying cannot help.
        logger.info("inbound unsubscribe with an unusable token dropped", extra={"reason": error.code})
        return
    unsubscribe(claim, Scope.LIST)


@worker.on_sqs_message(**sqs_handler_options("inbound_mail_worker", settings().resource_name))
def inbound_mail_worker(event: Any) -> dict[str, Any]:
    return process_partial_response(event=event.to_dict(), record_handler=inbound_mail_record,
                                    processor=_processor, context=event.context)
