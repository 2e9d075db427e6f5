"""Transient faults for the redelivery tests: a call or a DynamoDB write that fails once, as an
SQS or DynamoDB blip does, to test what a redelivered job does after its first delivery failed
halfway."""
from __future__ import annotations

import re
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
    error, as DynamoDB does: a transaction is cancelled (TransactionCanceledException) with a
    ThrottlingError reason on each of its items in the table and None on the others. Every later
    call goes through. The list names the operation that failed, once it has."""
    from pynamodb.connection.base import Connection
    from pynamodb.exceptions import CancellationReason, VerboseClientError

    real, failed, table = Connection.dispatch, [], model.Meta.table_name

    def dispatch(self: Connection, operation: str, kwargs: dict[str, Any]) -> Any:
        if not failed and operation in _WRITES and table in _tables_written(operation, kwargs):
            failed.append(operation)
            if operation == "TransactWriteItems":
                reasons = [CancellationReason(code="ThrottlingError", message="throttled (test)")
                           if any(action["TableName"] == table for action in item.values()) else None
                           for item in kwargs["TransactItems"]]
                raise VerboseClientError({"Error": {"Code": "TransactionCanceledException",
                                                    "Message": "Transaction cancelled (test)"}},
                                         operation, {}, cancellation_reasons=reasons)
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
    """Make every request that names a key (GetItem, Query's key condition, BatchGetItem,
    UpdateItem, DeleteItem and a transaction's updates, deletes and checks) refuse a key value
    longer than DynamoDB allows with a ValidationException, as DynamoDB itself does (moto checks
    only the items it writes, and answers the others with no item)."""
    from pynamodb.connection.base import Connection

    from chalicelib.store.models import TidingsModel

    roles: dict[tuple[str, str | None], dict[str, str]] = {}
    for model in _models(TidingsModel):
        table = model.Meta.table_name
        roles[(table, None)] = {model._hash_keyname: "hash", model._range_keyname: "range"}
        for index in model._indexes.values():
            schema = index._get_schema()
            roles[(table, schema["index_name"])] = {key["AttributeName"]: key["KeyType"].lower()
                                                    for key in schema["key_schema"]}
    def refuse(operation: str, kwargs: dict[str, Any]) -> None:
        for table, index, key in _keys_named(operation, kwargs):
            for name, values in key.items():
                limit = _KEY_MAX_BYTES[roles.get((table, index), {}).get(name, "range")]
                if any(len(value.get("S", "").encode("utf-8")) > limit for value in values):
                    raise ClientError({"Error": {"Code": "ValidationException", "Message":
                                                 "One or more parameter values were invalid: Size of "
                                                 "key has exceeded the maximum size limit"}}, operation)

    real = Connection.dispatch

    def dispatch(self: Connection, operation: str, kwargs: dict[str, Any]) -> Any:
        refuse(operation, kwargs)
        return real(self, operation, kwargs)

    monkeypatch.setattr(Connection, "dispatch", dispatch)
    # store/batch_reads reads several tables at once through boto3's own client.
    from chalicelib.clients import client

    dynamodb = client("dynamodb")
    real_batch_get = dynamodb.batch_get_item

    def batch_get_item(**kwargs: Any) -> Any:
        refuse("BatchGetItem", kwargs)
        return real_batch_get(**kwargs)

    monkeypatch.setattr(dynamodb, "batch_get_item", batch_get_item)


_KeyValues = dict[str, list[dict[str, Any]]]


def _keys_named(operation: str, kwargs: dict[str, Any]) -> list[tuple[str, str | None, _KeyValues]]:
    """(table, index, key attribute -> values) for each key a request names."""
    def whole(table: str, key: dict[str, Any]) -> tuple[str, None, _KeyValues]:
        return table, None, {name: [value] for name, value in key.items()}

    if operation in ("GetItem", "UpdateItem", "DeleteItem"):
        return [whole(kwargs["TableName"], kwargs["Key"])]
    if operation == "BatchGetItem":
        return [whole(table, key) for table, wanted in kwargs["RequestItems"].items()
                for key in wanted["Keys"]]
    if operation == "TransactWriteItems":
        return [whole(action["TableName"], action["Key"]) for item in kwargs["TransactItems"]
                for action in item.values() if "Key" in action]
    if operation == "Query":
        # `#0 = :0 AND begins_with(#1, :1)`: each value belongs to the name before it.
        names = kwargs.get("ExpressionAttributeNames", {})
        values = kwargs.get("ExpressionAttributeValues", {})
        named: _KeyValues = {}
        current = None
        for token in re.findall(r"[#:]\w+", kwargs.get("KeyConditionExpression", "")):
            if token.startswith("#"):
                current = names[token]
            elif current is not None:
                named.setdefault(current, []).append(values[token])
        return [(kwargs["TableName"], kwargs.get("IndexName"), named)]
    return []


def _models(base: type) -> list[type]:
    return [sub for cls in base.__subclasses__() for sub in [cls, *_models(cls)]]


def conflict_transactions_on(monkeypatch: Any, model: type, times: int) -> list[str]:
    """Cancel the next `times` transactions that write `model`'s table as DynamoDB does when
    another transaction holds one of their items (TransactionConflict, on the first item); every
    later one goes through. The list grows by one a cancelled transaction."""
    from pynamodb.connection.base import Connection
    from pynamodb.exceptions import CancellationReason, VerboseClientError

    real, cancelled = Connection.dispatch, []

    def dispatch(self: Connection, operation: str, kwargs: dict[str, Any]) -> Any:
        if (len(cancelled) < times and operation == "TransactWriteItems"
                and model.Meta.table_name in _tables_written(operation, kwargs)):
            cancelled.append(operation)
            reasons = [CancellationReason(code="TransactionConflict") if n == 0 else None
                       for n in range(len(kwargs["TransactItems"]))]
            raise VerboseClientError({"Error": {"Code": "TransactionCanceledException",
                                                "Message": "conflict (test)"}},
                                     operation, {}, cancellation_reasons=reasons)
        return real(self, operation, kwargs)

    monkeypatch.setattr(Connection, "dispatch", dispatch)
    return cancelled
