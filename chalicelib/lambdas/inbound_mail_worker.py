"""The Lambda of inbound_mail_worker: its handler alone (chalicelib.workers.inbound_mail)."""
from __future__ import annotations

from chalicelib.lambda_entry import function_handler
from chalicelib.workers import inbound_mail

handler = function_handler("inbound_mail_worker", inbound_mail.worker)
