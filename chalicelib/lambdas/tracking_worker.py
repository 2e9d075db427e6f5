"""The Lambda of tracking_worker: its handler alone (chalicelib.workers.tracking)."""
from __future__ import annotations

from chalicelib.lambda_entry import function_handler
from chalicelib.workers import tracking

handler = function_handler("tracking_worker", tracking.worker)
