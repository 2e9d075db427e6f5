"""The local SQS pump delivers batches as Lambda's event source mapping does (against moto)."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chalice import Chalice

from chalicelib.clients import client
from chalicelib.local.pump import SqsPump, failed_message_ids
from tests.support.lambdas import test_function

REGION = "eu-west-1"
MAX_RECEIVES = 3
Records = list[dict[str, Any]]


@pytest.fixture
def queue() -> Iterator[dict[str, str]]:
    """A queue with a dead-letter queue after MAX_RECEIVES receives, in a fresh moto account."""
    from moto import mock_aws

    with mock_aws():
        sqs = client("sqs")
        dlq_url = sqs.create_queue(QueueName="pump-jobs-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        url = sqs.create_queue(
            QueueName="pump-jobs",
            Attributes={
                "VisibilityTimeout": "60",
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES}
                ),
            },
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        yield {"url": url, "arn": arn, "dlq_url": dlq_url}


def pump_for(behaviour: Callable[[Records], Any]) -> tuple[SqsPump, list[Records]]:
    """A tiny app whose only SQS handler records each batch and answers with `behaviour`."""
    app = Chalice(app_name="pump-test")
    batches: list[Records] = []

    @app.on_sqs_message(queue="pump-jobs", batch_size=10, name="jobs_worker")
    def jobs_worker(event: Any) -> Any:
        records = event.to_dict()["Records"]
        batches.append(records)
        return behaviour(records)

    # retry delay 0: a record left on the queue is visible again at once.
    return SqsPump(app, REGION, retry_delay_seconds=0, spec_of=test_function), batches


def send(queue: dict[str, str], *bodies: str) -> list[str]:
    return [client("sqs").send_message(QueueUrl=queue["url"], MessageBody=body)["MessageId"]
            for body in bodies]


def fail_bodies(*bad: str) -> Callable[[Records], Any]:
    def behaviour(records: Records) -> dict[str, Any]:
        return {"batchItemFailures": [
            {"itemIdentifier": r["messageId"]} for r in records if r["body"] in bad
        ]}
    return behaviour


def queued(url: str) -> list[str]:
    bodies = []
    while messages := client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [m["Body"] for m in messages]
    return bodies


def test_each_record_gets_its_own_message_id_in_lambdas_event_shape(queue: dict[str, str]) -> None:
    pump, batches = pump_for(lambda records: None)
    ids = [client("sqs").send_message(
        QueueUrl=queue["url"], MessageBody="one",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "welcome"}},
    )["MessageId"], *send(queue, "two", "three")]

    outcomes = pump.deliver_once()

    assert [(o.received, o.deleted, o.retried, o.error) for o in outcomes] == [(3, 3, 0, None)]
    [records] = batches
    assert sorted(r["messageId"] for r in records) == sorted(ids)
    assert len(set(ids)) == 3
    first = next(r for r in records if r["body"] == "one")
    assert first["eventSource"] == "aws:sqs"
    assert first["eventSourceARN"] == queue["arn"]
    assert first["awsRegion"] == REGION
    assert first["md5OfBody"] == hashlib.md5(b"one").hexdigest()
    assert first["attributes"]["ApproximateReceiveCount"] == "1"
    assert first["receiptHandle"]
    assert first["messageAttributes"]["kind"]["stringValue"] == "welcome"
    assert first["messageAttributes"]["kind"]["dataType"] == "String"
    assert queued(queue["url"]) == []  # every record succeeded, so every record was deleted


def test_partial_batch_failure_redelivers_only_the_failed_record(queue: dict[str, str]) -> None:
    pump, batches = pump_for(fail_bodies("bad"))
    send(queue, "good-1", "bad", "good-2")

    first = pump.deliver_once()
    second = pump.deliver_once()

    assert [(o.received, o.deleted, o.retried) for o in first] == [(3, 2, 1)]
    assert [r["body"] for r in batches[1]] == ["bad"]
    assert batches[1][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert [(o.received, o.retried) for o in second] == [(1, 1)]


def test_a_raising_handler_leaves_the_whole_batch_for_redelivery(queue: dict[str, str]) -> None:
    calls = []

    def raise_once(records: Records) -> None:
        calls.append(len(records))
        if len(calls) == 1:
            raise RuntimeError("database unavailable")

    pump, batches = pump_for(raise_once)
    send(queue, "a", "b")

    first = pump.deliver_once()
    second = pump.deliver_once()

    assert [(o.received, o.deleted, o.retried, o.error) for o in first] == [(2, 0, 2, "RuntimeError")]
    assert sorted(r["body"] for r in batches[1]) == ["a", "b"]
    assert {r["attributes"]["ApproximateReceiveCount"] for r in batches[1]} == {"2"}
    assert [(o.received, o.deleted) for o in second] == [(2, 2)]
    assert queued(queue["url"]) == []


def test_a_message_that_keeps_failing_lands_in_the_dlq_after_max_receives(queue: dict[str, str]) -> None:
    pump, batches = pump_for(fail_bodies("poison"))
    send(queue, "poison", "fine")

    for _ in range(MAX_RECEIVES + 2):
        pump.deliver_once()

    deliveries = [r for batch in batches for r in batch if r["body"] == "poison"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in deliveries] == ["1", "2", "3"]
    assert queued(queue["dlq_url"]) == ["poison"]
    assert queued(queue["url"]) == []


def test_an_unknown_item_identifier_fails_the_whole_batch(queue: dict[str, str]) -> None:
    pump, _ = pump_for(lambda records: {"batchItemFailures": [{"itemIdentifier": "not-a-message"}]})
    send(queue, "a", "b")

    [outcome] = pump.deliver_once()

    assert (outcome.deleted, outcome.retried) == (0, 2)


def test_a_handler_on_a_queue_that_was_not_provisioned_is_named(queue: dict[str, str]) -> None:
    app = Chalice(app_name="pump-test")

    @app.on_sqs_message(queue="never-declared", name="orphan_worker")
    def orphan_worker(event: Any) -> None: ...

    with pytest.raises(RuntimeError, match="'orphan_worker' reads queue 'never-declared'"):
        SqsPump(app, REGION)


def test_failed_message_ids_follow_lambdas_report_rules() -> None:
    ids = {"m1", "m2"}
    assert failed_message_ids(None, ids) == set()
    assert failed_message_ids({"batchItemFailures": []}, ids) == set()
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "m2"}]}, ids) == {"m2"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, ids) == ids
    assert failed_message_ids({"batchItemFailures": ["m1"]}, ids) == ids


def test_the_app_send_worker_is_found_with_its_queue(aws: dict[str, str]) -> None:
    from app import app
    from chalicelib.config import settings

    pump = SqsPump(app, settings().region)

    found = [(s.function_name, s.queue_name, s.batch_size) for s in pump.subscriptions]
    assert ("send_worker", settings().resource_name("outbox"), 10) in found
