"""The Lambda of fanout_worker: its handler alone (chalicelib.workers.fanout)."""
from __future__ import annotations

from chalicelib.lambda_entry import function_handler
from chalicelib.workers import fanout

handler = function_handler("fanout_worker", fanout.worker)
