"""The import worker: one CSV import chunk per SQS message (a chunk is ≤ 500 rows)."""
from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.functions import sqs_handler_options
from chalicelib.queue_batches import QueuedRecord, process_batch
from chalicelib.services.imports import apply_chunk

worker = Blueprint(__name__)


def import_record(record: QueuedRecord) -> None:
    apply_chunk(json.loads(record.body))


@worker.on_sqs_message(**sqs_handler_options("import_worker", settings().resource_name))
def import_worker(event: Any) -> dict[str, Any]:
    return process_batch(event.to_dict(), import_record)
