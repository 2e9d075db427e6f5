"""Transient faults for the redelivery tests: a call or a DynamoDB write that fails once, as an
SQS or DynamoDB blip does, to test what a redelivered job does after its first delivery failed
halfway."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


class FailsOnce:
    """Wraps `real`: the first call raises a transient error, every later call goes through."""

    def __init__(self, real: Callable[..., Any]) -> None:
        self.real, self.calls = real, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("endpoint not reachable (transient)")
        return self.real(*args, **kwargs)


def _tables_written(operation: str, kwargs: dict[str, Any]) -> set[str]:
    if operation == "TransactWriteItems":
        return {action["TableName"] for item in kwargs["TransactItems"] for action in item.values()}
    if operation == "BatchWriteItem":
        return set(kwargs["RequestItems"])
    return {kwargs["TableName"]}


def fail_first_write_to(monkeypatch: Any, model: type) -> list[str]:
    """Make the next write (a transaction's included) to `model`'s table fail with a throttling
    error; every later call goes through. The list names the operation that failed, once it has."""
    from pynamodb.connection.base import Connection

    real, failed = Connection.dispatch, []

    def dispatch(self: Connection, operation: str, kwargs: dict[str, Any]) -> Any:
        if (not failed and operation in _WRITES
                and model.Meta.table_name in _tables_written(operation, kwargs)):
            failed.append(operation)
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                         "Message": "throttled (test)"}}, operation)
        return real(self, operation, kwargs)

    monkeypatch.setattr(Connection, "dispatch", dispatch)
    return failed


def unreadable_table(monkeypatch: Any, model: type) -> None:
    """Make every BatchGetItem that reads `model`'s table fail with a throttling error, whatever
    other tables it reads too (a campaign batch reads its first recipients' suppressions with its
    campaign)."""
    from chalicelib.clients import client

    dynamodb = client("dynamodb")
    real = dynamodb.batch_get_item

    def batch_get_item(**kwargs: Any) -> Any:
        if model.Meta.table_name in kwargs["RequestItems"]:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                         "Message": "throttled (test)"}}, "BatchGetItem")
        return real(**kwargs)

    monkeypatch.setattr(dynamodb, "batch_get_item", batch_get_item)
