"""The campaign scheduler: every minute, start the scheduled campaigns whose time has come."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

from chalicelib.services.sending.start import start_due_campaigns

worker = Blueprint(__name__)
# Leave this long before the Lambda's timeout; campaigns still due start on the next run.
_SAFETY_MILLIS = 2_000


@worker.schedule(Rate(1, unit=Rate.MINUTES), name="campaign_scheduler")
def campaign_scheduler(event: Any) -> dict[str, Any]:
    context = event.context
    return start_due_campaigns(more_time=lambda: context.get_remaining_time_in_millis() > _SAFETY_MILLIS)
