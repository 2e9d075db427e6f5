"""The Lambda of campaign_scheduler: its handler alone (chalicelib.workers.scheduler)."""
from __future__ import annotations

from chalicelib.lambda_entry import function_handler
from chalicelib.workers import scheduler

handler = function_handler("campaign_scheduler", scheduler.worker)
