"""How much one job, and one SendMessageBatch call, may carry on the app's SQS queues, counted
as SQS counts: the UTF-8 bytes of the message bodies.

Sizes are measured on the serialised job, never estimated from characters: `json.dumps` writes a
non-Latin character as a 6-byte escape (12 for one outside the BMP), so 40,000 Cyrillic
characters already take 240,000 bytes.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

# The deployed queues' MaximumMessageSize: resources.QueueSpec declares it, the template
# (infra/template.py) and the local stack set it. It is AWS's long-standing limit; AWS now allows
# queues up to 1 MiB (and moto defaults to that), but a Lambda trigger's batch of ten such messages
# would pass Lambda's 6 MB invocation payload. SQS also caps the bodies of one SendMessageBatch
# call together at the queue's limit.
QUEUE_MESSAGE_MAX_BYTES = 256 * 1024
# SQS's most entries in one SendMessageBatch.
BATCH_MAX_ENTRIES = 10


def job_body(job: dict[str, Any]) -> str:
    """The message body a job is queued as (ASCII JSON)."""
    return json.dumps(job)


def body_bytes(body: str) -> int:
    """The size SQS counts for a message body."""
    return len(body.encode("utf-8"))


def json_bytes(value: Any) -> int:
    """The bytes `value` takes inside a queued job's JSON."""
    return body_bytes(json.dumps(value))


def batches(sizes: Sequence[int], max_bytes: int = QUEUE_MESSAGE_MAX_BYTES,
            max_entries: int = BATCH_MAX_ENTRIES) -> list[range]:
    """Consecutive index ranges of `sizes` whose bodies may share one SendMessageBatch: at most
    `max_entries` entries and `max_bytes` together. A body over `max_bytes` alone is the caller's
    to refuse; it gets a range of its own."""
    result: list[range] = []
    start, total = 0, 0
    for index, size in enumerate(sizes):
        if index > start and (index - start >= max_entries or total + size > max_bytes):
            result.append(range(start, index))
            start, total = index, 0
        total += size
    if start < len(sizes):
        result.append(range(start, len(sizes)))
    return result
