"""The smoke test an operator runs after deploying (`python -m chalicelib.cli smoke`).

It sends one mail to each of SES's mailbox simulator's bounce and complaint addresses through the
deployed path (outbox queue → send worker → SES with the configuration set) and waits until both
came back through SES → SNS → SQS → the feedback worker, which suppresses the address for the
smoke account (P12). It also reads when the daily purge last ran and how it ended. Nothing it
sends or records holds a real person's contact data: the simulator's addresses are SES's own.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from chalicelib.adapters.sqs import enqueue
from chalicelib.config import settings
from chalicelib.domain.clock import now
from chalicelib.domain.outbox import EmailJob
from chalicelib.domain.outgoing import OutgoingEmail
from chalicelib.resources import OUTBOX
from chalicelib.services.retention import last_run
from chalicelib.store.accounts import create_account
from chalicelib.store.suppressions import is_suppressed

SIMULATOR = {"bounce": "bounce@simulator.amazonses.com", "complaint": "complaint@simulator.amazonses.com"}
SMOKE_KIND = "smoke-test"
# The purge runs daily: a last run older than this means the schedule or the function is broken.
PURGE_STALE_AFTER = timedelta(hours=26)


@dataclass
class SmokeReport:
    """What the smoke test found; `ok` when every check passed."""

    account_id: str
    feedback: dict[str, str] = field(default_factory=dict)  # kind -> "arrived after Ns" | "missing"
    purge: dict[str, Any] = field(default_factory=dict)
    ok: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "account_id": self.account_id, "feedback": self.feedback, "purge": self.purge}


def run_smoke(account_id: str | None, timeout_seconds: float, poll_seconds: float = 5.0,
              sleep: Callable[[float], None] = time.sleep) -> SmokeReport:
    """Send the two simulator mails as `account_id` (a new smoke account when None), wait up to
    `timeout_seconds` for their feedback, and check the purge's last run."""
    if account_id is None:
        account_id = create_account("Tidings smoke test").account_id
    report = SmokeReport(account_id)
    run = uuid.uuid4().hex[:12]
    for kind, address in SIMULATOR.items():
        mail = OutgoingEmail(sender=settings().default_sender, recipient=address,
                             subject=f"Tidings smoke test ({kind})",
                             text="A deployment check sent to the SES mailbox simulator.")
        enqueue(OUTBOX, EmailJob(message_id=f"smoke-{run}-{kind}", account_id=account_id, kind=SMOKE_KIND,
                                 email=mail).to_dict())
    started = time.monotonic()
    waiting = dict(SIMULATOR)
    while True:
        for kind, address in list(waiting.items()):
            if is_suppressed(account_id, address):
                report.feedback[kind] = f"arrived after {time.monotonic() - started:.0f} s"
                del waiting[kind]
        if not waiting or time.monotonic() - started >= timeout_seconds:
            break
        sleep(poll_seconds)
    for kind in waiting:
        report.feedback[kind] = f"missing after {timeout_seconds:.0f} s"
    report.purge = _purge_check()
    report.ok = not waiting and report.purge["ok"]
    return report


def _purge_check() -> dict[str, Any]:
    found = last_run()
    if found is None:
        return {"ok": False, "last_run": None, "outcome": "the purge has never run"}
    age = now() - found.at
    return {"ok": age <= PURGE_STALE_AFTER and found.outcome == "complete",
            "last_run": found.at.isoformat(), "hours_ago": round(age.total_seconds() / 3600, 1),
            "outcome": found.outcome}
