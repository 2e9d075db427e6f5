"""The retention worker: EventBridge runs it daily; it runs every purge (chalicelib/services/retention.py)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

from chalicelib.services.retention import run_purges

worker = Blueprint(__name__)
# Stop starting new pages this long before the Lambda's timeout; the next run continues.
_SAFETY_MILLIS = 60_000


@worker.schedule(Rate(1, unit=Rate.DAYS), name="retention_worker")
def retention_worker(event: Any) -> dict[str, Any]:
    context = event.context
    report = run_purges(more_time=lambda: context.get_remaining_time_in_millis() > _SAFETY_MILLIS)
    return {"counts": report.counts, "complete": report.complete}
