"""The Lambda of send_worker: its handler alone (chalicelib.workers.send)."""
from __future__ import annotations

from chalicelib.lambda_entry import function_handler
from chalicelib.workers import send

handler = function_handler("send_worker", send.worker)
