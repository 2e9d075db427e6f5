"""The Lambda of signup_worker: its handler alone (chalicelib.workers.signups)."""
from __future__ import annotations

from chalicelib.lambda_entry import function_handler
from chalicelib.workers import signups

handler = function_handler("signup_worker", signups.worker)
