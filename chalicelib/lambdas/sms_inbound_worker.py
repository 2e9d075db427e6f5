"""The Lambda of sms_inbound_worker: its handler alone (chalicelib.workers.sms_inbound)."""
from __future__ import annotations

from chalicelib.lambda_entry import function_handler
from chalicelib.workers import sms_inbound

handler = function_handler("sms_inbound_worker", sms_inbound.worker)
