"""The AWS call counter (bench/aws_calls.py) counts boto3 and PynamoDB calls exactly."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
from botocore.client import BaseClient

from bench.aws_calls import count_aws_calls, describe
from chalicelib.clients import client
from chalicelib.config import settings
from chalicelib.store.models import Account


def _account(account_id: str) -> Account:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return Account(account_id=account_id, name="Acme", created_at=at, updated_at=at)


def test_counts_boto3_and_pynamodb_calls_per_operation(aws):
    # Both kinds of client exist before the block opens (provisioning made them): still counted.
    queue_name = settings().resource_name("outbox")
    with count_aws_calls() as calls:
        url = client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]
        client("sqs").send_message(QueueUrl=url, MessageBody="{}")
        client("sqs").send_message(QueueUrl=url, MessageBody="{}")
        _account("acc_1").save()
        assert Account.get("acc_1").name == "Acme"
        assert Account.count("acc_1") == 1

    assert calls.by_operation == Counter(
        {
            "sqs.GetQueueUrl": 1,
            "sqs.SendMessage": 2,
            "dynamodb.PutItem": 1,
            "dynamodb.GetItem": 1,
            "dynamodb.Query": 1,
        }
    )
    assert calls.operations[:3] == ["sqs.GetQueueUrl", "sqs.SendMessage", "sqs.SendMessage"]
    assert calls.total == 6


def test_failed_calls_are_counted_because_they_were_made(aws):
    _account("acc_1").save()
    with count_aws_calls() as calls:
        with pytest.raises(Account.DoesNotExist):
            Account.get("acc_missing")
        with pytest.raises(Exception, match="ConditionalCheckFailed"):
            _account("acc_1").save(condition=Account.account_id.does_not_exist())
    assert calls.by_operation == Counter({"dynamodb.GetItem": 1, "dynamodb.PutItem": 1})


def test_paginators_count_each_page(aws):
    for number in range(3):
        _account(f"acc_{number}").save()
    table = settings().resource_name(Account.Meta.logical_name)
    pages = client("dynamodb").get_paginator("scan")
    with count_aws_calls() as calls:
        assert len(list(pages.paginate(TableName=table, Limit=1))) >= 3
    assert calls.by_operation["dynamodb.Scan"] >= 3
    assert set(calls.by_operation) == {"dynamodb.Scan"}


def test_only_calls_inside_the_block_count_and_blocks_nest(aws):
    original = BaseClient._make_api_call
    _account("acc_1").save()
    with count_aws_calls() as outer:
        Account.get("acc_1")
        with count_aws_calls() as inner:
            client("sqs").list_queues()
        Account.get("acc_1")
    Account.get("acc_1")

    assert inner.by_operation == Counter({"sqs.ListQueues": 1})
    assert outer.by_operation == Counter({"dynamodb.GetItem": 2, "sqs.ListQueues": 1})
    assert BaseClient._make_api_call is original


def test_calls_from_other_threads_are_counted(aws):
    _account("acc_1").save()
    client("sqs")  # created here: boto3 client creation is not thread-safe

    def work() -> None:
        Account.get("acc_1")
        client("sqs").list_queues()

    with count_aws_calls() as calls:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert calls.by_operation == Counter({"dynamodb.GetItem": 4, "sqs.ListQueues": 4})


def test_the_original_method_comes_back_when_the_block_raises(aws):
    original = BaseClient._make_api_call
    with pytest.raises(RuntimeError), count_aws_calls():
        raise RuntimeError("boom")
    assert BaseClient._make_api_call is original


def test_describe_reads_like_a_report_line(aws):
    with count_aws_calls() as calls:
        Account.count("acc_1")
        client("sqs").list_queues()
        client("sqs").list_queues()
    assert describe(calls) == "3 calls (dynamodb.Query 1, sqs.ListQueues 2)"
    with count_aws_calls() as none:
        pass
    assert describe(none) == "0 calls"
