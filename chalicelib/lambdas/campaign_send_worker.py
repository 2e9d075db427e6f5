"""The Lambda of campaign_send_worker: its handler alone (chalicelib.workers.campaign_send)."""
from __future__ import annotations

from chalicelib.lambda_entry import function_handler
from chalicelib.workers import campaign_send

handler = function_handler("campaign_send_worker", campaign_send.worker)
