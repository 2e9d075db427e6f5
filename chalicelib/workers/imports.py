"""The import worker: one CSV import chunk per SQS message (a chunk is ≤ 500 rows)."""
from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.functions import sqs_handler_options
from chalicelib.services.imports import apply_chunk

worker = Blueprint(__name__)
_processor = BatchProcessor(event_type=EventType.SQS)


def import_record(record: SQSRecord) -> None:
    apply_chunk(json.loads(record.body))


@worker.on_sqs_message(**sqs_handler_options("import_worker", settings().resource_name))
def import_worker(event: Any) -> dict[str, Any]:
    return process_partial_response(event=event.to_dict(), record_handler=import_record,
                                    processor=_processor, context=event.context)
