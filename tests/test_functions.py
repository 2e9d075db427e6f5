"""One declaration per function (chalicelib/functions.py): the app's handlers match it, queues
follow it, and every handler runs under it locally and in the tests — a Lambda context whose
remaining time follows the declared timeout, and the same failure when a handler overruns."""
from __future__ import annotations

import json
from typing import Any

import pytest
from chalice import Chalice, Rate
from chalice.app import ScheduledEventConfig, SQSEventConfig

from app import app
from chalicelib.clients import client
from chalicelib.config import settings
from chalicelib.functions import (
    ACCOUNT_DATA_TABLES,
    FUNCTIONS,
    VISIBILITY_TIMEOUT_FACTOR,
    FunctionSpec,
    QueueTrigger,
    Touches,
    consumer_of,
    function_spec,
)
from chalicelib.local.invoke import DeployedContext, FunctionTimedOut, invoke_handler
from chalicelib.local.pump import SqsPump
from chalicelib.local.scheduler import Scheduler, scheduled_event
from chalicelib.resources import QUEUES, QueueSpec
from chalicelib.store.account_data import ACCOUNT_TABLES, AccountItems
from chalicelib.store.models import ALL_MODELS


def test_every_function_of_the_app_is_declared_once_and_nothing_else():
    names = [f.name for f in app.pure_lambda_functions] + [s.name for s in app.event_sources]
    names.append("api_handler")
    declared = [spec.name for spec in FUNCTIONS]
    assert sorted(declared) == sorted(names)
    assert len(set(declared)) == len(declared)


def test_queue_handlers_are_registered_with_their_declared_trigger():
    for source in app.event_sources:
        spec = function_spec(source.name, settings().ses_max_send_rate)
        if isinstance(source, SQSEventConfig):
            assert spec.trigger is not None, source.name
            assert source.queue == settings().resource_name(spec.trigger.queue.logical_name)
            assert source.batch_size == spec.trigger.batch_size
            assert source.maximum_batching_window_in_seconds == spec.trigger.batching_window_seconds
            assert source.maximum_concurrency == spec.trigger.maximum_concurrency >= 2
        else:
            assert isinstance(source, ScheduledEventConfig) and spec.trigger is None, source.name


def test_a_drained_queue_is_drained_by_a_handler_on_the_declared_schedule():
    drains = {spec.name: spec.drain for spec in FUNCTIONS if spec.drain is not None}
    assert set(drains) == {"tracking_worker"}
    for source in app.event_sources:
        if source.name in drains:
            assert isinstance(source, ScheduledEventConfig)
            expected = Rate(drains[source.name].every_minutes, unit=Rate.MINUTES).to_string()
            assert source.schedule_expression.to_string() == expected
    assert not any(spec.trigger and spec.drain for spec in FUNCTIONS)


def test_every_queue_has_one_consumer_and_a_visibility_timeout_of_six_timeouts_plus_window():
    for queue in QUEUES:
        spec = consumer_of(queue)
        source = spec.trigger or spec.drain
        assert source is not None and source.queue == queue == spec.consumes
        window = spec.trigger.batching_window_seconds if spec.trigger else 0
        expected = VISIBILITY_TIMEOUT_FACTOR * spec.timeout_seconds + window
        assert queue.visibility_timeout_seconds == expected == spec.queue_visibility_timeout_seconds
        assert queue.batch_size == source.batch_size == spec.batch_size
    with pytest.raises(ValueError, match="'nobody' has 0 consumers"):
        consumer_of(QueueSpec("nobody"))


def test_the_local_stack_creates_queues_with_the_declared_visibility_timeout_and_retention(aws):
    sqs = client("sqs")
    for queue in QUEUES:
        url = sqs.get_queue_url(QueueName=settings().resource_name(queue.logical_name))["QueueUrl"]
        found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout",
                                                                       "MessageRetentionPeriod"])["Attributes"]
        assert int(found["VisibilityTimeout"]) == queue.visibility_timeout_seconds, queue.logical_name
        assert int(found["MessageRetentionPeriod"]) == queue.retention_seconds, queue.logical_name


def test_declared_tables_exist_and_the_purge_may_delete_every_accounts_items():
    logical = {model.Meta.logical_name for model in ALL_MODELS}
    for spec in FUNCTIONS:
        unknown = {grant.table for grant in spec.touches.tables} - logical
        assert not unknown, f"{spec.name} names tables no model declares: {unknown}"
    per_account = {model.Meta.logical_name for model, coverage in ACCOUNT_TABLES.items()
                   if isinstance(coverage, AccountItems)}
    assert set(ACCOUNT_DATA_TABLES) == per_account
    retention = function_spec("retention_worker").touches
    assert per_account <= {grant.table for grant in retention.tables if grant.access.value == "write"}


def test_context_counts_down_from_the_declared_timeout_on_its_clock():
    now = [100.0]
    context = DeployedContext(function_spec("retention_worker"), "eu-west-1", clock=lambda: now[0])
    assert context.get_remaining_time_in_millis() == 300_000
    now[0] += 299.5
    assert context.get_remaining_time_in_millis() == 500
    now[0] += 1
    assert context.get_remaining_time_in_millis() == -500
    assert context.memory_limit_in_mb == function_spec("retention_worker").memory_mb
    assert context.function_name == "retention_worker"


def _remaining_seen_by_the_purge(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    seen: list[float] = []

    def fake_run_purges(time_left_ms: Any = None, dry_run: bool = False) -> Any:
        seen.append(time_left_ms())
        from chalicelib.services.retention import PurgeReport
        return PurgeReport(dry_run=False)

    monkeypatch.setattr("chalicelib.workers.retention.run_purges", fake_run_purges)
    return seen


def test_the_test_client_invokes_handlers_under_their_declared_timeout(client, monkeypatch):
    seen = _remaining_seen_by_the_purge(monkeypatch)
    from datetime import UTC, datetime

    client.lambda_.invoke("retention_worker",
                          scheduled_event(app, "retention_worker", datetime.now(UTC), "eu-west-1"))
    assert 299_000 < seen[0] <= 300_000, "chalice.test alone would say 3,000"


def test_the_scheduler_invokes_handlers_under_their_declared_timeout(aws, monkeypatch):
    from datetime import UTC, datetime, timedelta

    seen = _remaining_seen_by_the_purge(monkeypatch)
    moment = [datetime(2026, 3, 1, tzinfo=UTC)]
    scheduler = Scheduler(app, "eu-west-1", clock=lambda: moment[0])
    moment[0] += timedelta(days=1, minutes=1)
    assert "retention_worker" in scheduler.run_due()
    assert 299_000 < seen[0] <= 300_000


def test_a_handler_that_overruns_its_timeout_fails_its_batch_as_in_aws(aws):
    """Lambda stops a function at its timeout and the whole batch comes back; locally the
    handler cannot be stopped, but its result is dropped the same way."""
    tiny = Chalice(app_name="overrun")
    queue = settings().resource_name("outbox")

    @tiny.on_sqs_message(queue=queue, batch_size=10, name="slow_worker")
    def slow_worker(event: Any) -> dict[str, Any]:
        return {"batchItemFailures": []}

    spec = FunctionSpec("slow_worker", 1, Touches(), trigger=QueueTrigger(QueueSpec("outbox"), 10))
    ticks = [0.0]  # the context starts at 0 s; the handler returns at 1.5 s

    def clock() -> float:
        now, ticks[0] = ticks[0], 1.5
        return now

    with pytest.raises(FunctionTimedOut, match=r"slow_worker ran 1\.5 s, past its timeout of 1 s"):
        invoke_handler(tiny, spec, {"Records": []}, "eu-west-1", clock=clock)

    client("sqs").send_message(QueueUrl=client("sqs").get_queue_url(QueueName=queue)["QueueUrl"],
                               MessageBody=json.dumps({}))
    overrun = FunctionSpec("slow_worker", 0, Touches(), trigger=QueueTrigger(QueueSpec("outbox"), 10))
    pump = SqsPump(tiny, "eu-west-1", retry_delay_seconds=0, spec_of=lambda name: overrun)
    [outcome] = pump.deliver_once()
    assert (outcome.deleted, outcome.retried, outcome.error) == (0, 1, "FunctionTimedOut")
