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


# DynamoDB's limits on a key value's size, in UTF-8 bytes (moto checks them on writes only).
_KEY_MAX_BYTES = {"hash": 2048, "range": 1024}


def reads_refuse_oversized_keys(monkeypatch: Any) -> None:
    """Make GetItem refuse a key longer than DynamoDB allows with a ValidationException, as
    DynamoDB itself does (moto answers it with no item)."""
    from pynamodb.connection.base import Connection

    from chalicelib.store.models import TidingsModel

    schemas = {model.Meta.table_name: {model._hash_keyname: "hash", model._range_keyname: "range"}
               for model in _models(TidingsModel)}
    real = Connection.dispatch

    def dispatch(self: Connection, operation: str, kwargs: dict[str, Any]) -> Any:
        if operation == "GetItem":
            roles = schemas.get(kwargs["TableName"], {})
            for name, value in kwargs["Key"].items():
                text = value.get("S")
                if text is not None and len(text.encode("utf-8")) > _KEY_MAX_BYTES[roles.get(name, "range")]:
                    raise ClientError({"Error": {"Code": "ValidationException", "Message":
                                                 "One or more parameter values were invalid: Size of "
                                                 "key has exceeded the maximum size limit"}}, operation)
        return real(self, operation, kwargs)

    monkeypatch.setattr(Connection, "dispatch", dispatch)


def _models(base: type) -> list[type]:
    return [sub for cls in base.__subclasses__() for sub in [cls, *_models(cls)]]
