"""The inbound-SMS worker: replies SNS publishes to the inbound-SMS topic (services/sms_inbound.py)."""
from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.domain.errors import InvalidInput
from chalicelib.functions import sqs_handler_options
from chalicelib.services.sms_inbound import apply_inbound_sms

worker = Blueprint(__name__)
# Every record failed is reported like any partial failure, not raised: the same redelivery.
_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def sms_inbound_record(record: SQSRecord) -> None:
    """Apply one SNS notification holding an inbound SMS; a malformed one fails alone."""
    try:
        notification = json.loads(record.body)
    except json.JSONDecodeError:
        raise InvalidInput("the record is not an SNS notification", field="body") from None
    if not isinstance(notification, dict) or "Message" not in notification:
        raise InvalidInput("the record is not an SNS notification", field="body")
    apply_inbound_sms(notification["Message"])


@worker.on_sqs_message(**sqs_handler_options("sms_inbound_worker", settings().resource_name))
def sms_inbound_worker(event: Any) -> dict[str, Any]:
    return process_partial_response(event=event.to_dict(), record_handler=sms_inbound_record,
                                    processor=_processor, context=event.context)
