"""The inbound-SMS worker: replies SNS publishes to the inbound-SMS topic (services/sms_inbound.py)."""
from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.sms_replies import from_topic
from chalicelib.functions import sqs_handler_options
from chalicelib.queue_batches import QueuedRecord, process_batch
from chalicelib.resources import SMS_INBOUND_TOPIC
from chalicelib.services.sms_inbound import apply_inbound_sms

worker = Blueprint(__name__)


def sms_inbound_record(record: QueuedRecord) -> None:
    """Apply one SNS notification holding an inbound SMS; a malformed one, or one from a topic not
    ours (forged), fails alone, and after the queue's receives waits in its dead-letter queue
    (its alarm sounds): kept for a redrive should it be a reply in a shape this cannot read."""
    try:
        notification = json.loads(record.body)
    except json.JSONDecodeError:
        raise InvalidInput("the record is not an SNS notification", field="body") from None
    if not isinstance(notification, dict) or "Message" not in notification:
        raise InvalidInput("the record is not an SNS notification", field="body")
    if not from_topic(notification.get("TopicArn"), record.event_source_arn,
                      settings().resource_name(SMS_INBOUND_TOPIC)):
        raise InvalidInput("the notification is not from the inbound-SMS topic", field="TopicArn")
    apply_inbound_sms(notification["Message"])


@worker.on_sqs_message(**sqs_handler_options("sms_inbound_worker", settings().resource_name))
def sms_inbound_worker(event: Any) -> dict[str, Any]:
    # A batch whose every record failed is reported like any partial failure: the same redelivery.
    return process_batch(event.to_dict(), sms_inbound_record,
                         raise_on_entire_batch_failure=False)
