"""The Lambda of feedback_worker: its handler alone (chalicelib.workers.feedback)."""
from __future__ import annotations

from chalicelib.lambda_entry import function_handler
from chalicelib.workers import feedback

handler = function_handler("feedback_worker", feedback.worker)
