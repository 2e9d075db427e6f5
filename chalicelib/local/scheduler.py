"""The scheduler: runs every `@app.schedule` handler when its rate or cron expression fires.

It builds the event EventBridge sends ("Scheduled Event" from aws.events) and invokes the handler
through its middleware under its declared configuration (chalicelib/functions.py), as Lambda
would. A handler that raises is logged (its exception type only)
and runs again at its next time. A machine that slept past several firings runs a handler once.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalice import Chalice
from chalice.app import ScheduledEventConfig, ScheduleExpression

from chalicelib.functions import FunctionSpec, function_spec
from chalicelib.local.invoke import LOCAL_ACCOUNT_ID, LOCAL_STAGE, invoke_handler
from chalicelib.local.schedules import Schedule, parse_schedule

log = logging.getLogger("local_stack.scheduler")


@dataclass
class ScheduledJob:
    """One `@app.schedule` handler and the next time it is due."""

    function_name: str
    expression: str
    schedule: Schedule
    next_run: datetime | None


def scheduled_jobs(app: Chalice, now: datetime) -> list[ScheduledJob]:
    """Every schedule handler of `app`; an unsupported expression raises ValueError naming it."""
    jobs = []
    for source in app.event_sources:
        if not isinstance(source, ScheduledEventConfig):
            continue
        expression = source.schedule_expression
        text = expression.to_string() if isinstance(expression, ScheduleExpression) else expression
        try:
            schedule = parse_schedule(text)
        except ValueError as exc:
            raise ValueError(f"schedule handler {source.name!r}: {exc}") from None
        jobs.append(ScheduledJob(source.name, text, schedule, schedule.next_after(now)))
    return jobs


class Scheduler:
    """Runs due schedule handlers; `clock` is injectable so tests need not wait for real time."""

    def __init__(
        self,
        app: Chalice,
        region: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        spec_of: Callable[[str], FunctionSpec] = function_spec,
    ) -> None:
        self._app = app
        self._region = region
        self._clock = clock
        self._spec_of = spec_of
        self.jobs = scheduled_jobs(app, clock())

    def run(self, stop: threading.Event, tick_seconds: float = 1.0) -> None:
        """Check for due handlers every `tick_seconds` until `stop` is set."""
        while not stop.wait(tick_seconds):
            self.run_due()

    def run_due(self) -> list[str]:
        """Run every handler whose time has come; returns their names."""
        now = self._clock()
        ran = []
        for job in self.jobs:
            if job.next_run is None or job.next_run > now:
                continue
            due = job.next_run
            job.next_run = job.schedule.next_after(now)
            self._invoke(job, due)
            ran.append(job.function_name)
        return ran

    def _invoke(self, job: ScheduledJob, due: datetime) -> None:
        try:
            invoke_handler(
                self._app, self._spec_of(job.function_name),
                scheduled_event(self._app, job.function_name, due, self._region), self._region,
            )
        except Exception as exc:
            log.warning("%s (%s) raised %s", job.function_name, job.expression, type(exc).__name__)
            return
        log.info("%s (%s) ran; next at %s", job.function_name, job.expression,
                 job.next_run.isoformat() if job.next_run else "never")


def scheduled_event(app: Chalice, function_name: str, due: datetime, region: str) -> dict[str, Any]:
    """The event EventBridge delivers for a scheduled rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT_ID,
        "time": due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [
            f"arn:aws:events:{region}:{LOCAL_ACCOUNT_ID}:rule/{app.app_name}-{LOCAL_STAGE}-{function_name}"
        ],
        "detail": {},
    }
