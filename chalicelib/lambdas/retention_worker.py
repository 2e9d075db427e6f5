"""The Lambda of retention_worker: its handler alone (chalicelib.workers.retention)."""
from __future__ import annotations

from chalicelib.lambda_entry import function_handler
from chalicelib.workers import retention

handler = function_handler("retention_worker", retention.worker)
