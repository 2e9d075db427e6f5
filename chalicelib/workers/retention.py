"""The retention worker: EventBridge runs it daily; it runs every purge (chalicelib/services/retention.py),
each step within its share of the function's declared timeout (chalicelib/functions.py)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

from chalicelib.services.retention import run_purges

worker = Blueprint(__name__)


@worker.schedule(Rate(1, unit=Rate.DAYS), name="retention_worker")
def retention_worker(event: Any) -> dict[str, Any]:
    report = run_purges(time_left_ms=event.context.get_remaining_time_in_millis)
    return {"counts": report.counts, "complete": report.complete, "unfinished": report.unfinished}
