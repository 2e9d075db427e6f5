"""Metering AWS calls for the cost model (bench/cost.py): every call made, the DynamoDB request
units it took, and how long a Lambda would have waited for it.

    meter = Meter()
    with meter.recording():
        count_records(records)
    meter.write_units(), meter.read_units(), meter.lambda_ms()

Request units come from the items themselves, read straight from moto's in-process tables (never
through boto3, so the meter's own reads are not metered): for each write, the items it touches
before and after the call, priced by bench/request_units.py with the table's key and indexes as
moto holds them; for each read, the items read by key as stored (DynamoDB charges the whole item
whatever a ProjectionExpression keeps), and the items a Query or Scan returned, as stored in the
table or index. Nothing here knows Tidings' tables: it needs moto (`mock_aws`) to be running.

Lambda time is the time spent outside AWS calls in the recorded blocks plus an assumed wait for
each call (bench/prices.py): moto answers in-process, at its own speed, which is not AWS's.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient

from bench.prices import AWS_CALL_LATENCY_MS, SES_CALL_LATENCY_MS
from bench.request_units import IndexDefinition, Item, WriteUnits, item_size, read_units, write_units

# DynamoDB data calls the meter does not size (PartiQL): reported, never silently priced at zero.
_UNSIZED = frozenset({"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"})


def assumed_latency_ms(label: str) -> float:
    """How long a Lambda waits for one call ("<service>.<Operation>"): an assumption, not a measure."""
    service, operation = label.split(".", 1)
    if service in ("ses", "sesv2") and operation.startswith("Send"):
        return SES_CALL_LATENCY_MS
    return AWS_CALL_LATENCY_MS


@dataclass(frozen=True)
class MeteredCall:
    """One AWS call: its label ("dynamodb.PutItem"), parameters and DynamoDB request units."""

    label: str
    params: dict[str, Any]
    written: WriteUnits = field(default_factory=WriteUnits)
    read: float = 0.0


@dataclass
class Meter:
    """Every AWS call made while recording, with its request units, and the time spent."""

    calls: list[MeteredCall] = field(default_factory=list)
    aws_seconds: float = 0.0
    wall_seconds: float = 0.0
    unsized: Counter[str] = field(default_factory=Counter)

    @property
    def labels(self) -> Counter[str]:
        return Counter(call.label for call in self.calls)

    def count(self, service: str) -> int:
        return sum(1 for call in self.calls if call.label.startswith(f"{service}."))

    def table_write_units(self) -> float:
        return sum(call.written.table for call in self.calls)

    def index_write_units(self) -> float:
        return sum(call.written.indexes for call in self.calls)

    def write_units(self) -> float:
        return self.table_write_units() + self.index_write_units()

    def read_units(self) -> float:
        return sum(call.read for call in self.calls)

    def own_ms(self) -> float:
        """Milliseconds spent in the recorded blocks outside AWS calls (and outside this meter)."""
        return 1000 * (self.wall_seconds - self.aws_seconds)

    def waited_ms(self) -> float:
        """Milliseconds a Lambda would wait for the calls made, at the assumed latencies."""
        return sum(assumed_latency_ms(call.label) for call in self.calls)

    def lambda_ms(self) -> float:
        """Billed Lambda milliseconds the recorded work stands for: own time plus waits."""
        return self.own_ms() + self.waited_ms()

    @contextmanager
    def recording(self) -> Iterator[Meter]:
        """Record every AWS call made by any botocore client in the block. May be entered often."""
        original = BaseClient._make_api_call

        def metering(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            started = time.perf_counter()
            try:
                service = client.meta.service_model.service_name
                if service != "dynamodb":
                    self.calls.append(MeteredCall(f"{service}.{operation_name}", api_params))
                    return original(client, operation_name, api_params)
                return self._dynamodb_call(client, operation_name, api_params, original)
            finally:
                self.aws_seconds += time.perf_counter() - started

        BaseClient._make_api_call = metering  # type: ignore[method-assign]
        started = time.perf_counter()
        try:
            yield self
        finally:
            self.wall_seconds += time.perf_counter() - started
            BaseClient._make_api_call = original  # type: ignore[method-assign]

    def _dynamodb_call(self, client: BaseClient, operation: str, params: dict[str, Any], call: Any) -> Any:
        tables = MotoTables(client.meta.region_name)
        label = f"dynamodb.{operation}"
        sized = operation not in _UNSIZED
        try:
            targets = _write_targets(tables, operation, params)
            before = [tables.item(table, key) for table, key, _ in targets]
        except Exception:
            # A malformed call (moto rejects it) or a table moto does not hold: the call must go
            # ahead exactly as without the meter, unsized.
            sized, targets, before = False, [], []
        if not sized:
            self.unsized[label] += 1
        try:
            response = call(client, operation, params)
        except Exception:
            # A failed conditional write is still billed; a read that failed read nothing.
            self.calls.append(MeteredCall(label, params, _written(tables, targets, before)))
            raise
        read = _read(tables, operation, params, response) if sized else 0.0
        self.calls.append(MeteredCall(label, params, _written(tables, targets, before), read))
        return response


@contextmanager
def metered() -> Iterator[Meter]:
    """A new Meter recording every AWS call made in the block."""
    meter = Meter()
    with meter.recording():
        yield meter


# --- moto's tables, read directly ------------------------------------------------------------------

class MotoTables:
    """moto's DynamoDB tables in one region of its default account, read without boto3."""

    def __init__(self, region: str) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        self._backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]

    def _table(self, name: str) -> Any:
        return self._backend.get_table(name)

    def table_key(self, name: str) -> tuple[str, ...]:
        return tuple(self._table(name).table_key_attrs)

    def indexes(self, name: str) -> tuple[IndexDefinition, ...]:
        """The table's secondary indexes (global, and local if any) as their writes see them."""
        table = self._table(name)
        return tuple(
            IndexDefinition(index.name, tuple(index.schema_key_attrs),
                            index.projection.get("ProjectionType", "ALL"),
                            tuple(index.projection.get("NonKeyAttributes", ())))
            for index in [*table.global_indexes, *table.indexes])

    def key_of(self, name: str, item: Item) -> dict[str, Any]:
        return {attribute: item[attribute] for attribute in self.table_key(name)}

    def item(self, name: str, key: Item) -> dict[str, Any] | None:
        """A copy of the stored item with this key, in DynamoDB's JSON; None when there is none."""
        from moto.dynamodb.models.dynamo_type import DynamoType

        table = self._table(name)
        stored = table.items.get(DynamoType(key[table.hash_key_attr]))
        if stored is not None and table.range_key_attr is not None:
            stored = stored.get(DynamoType(key[table.range_key_attr]))
        if stored is None:
            return None
        return {attribute: value.to_regular_json() for attribute, value in stored.attrs.items()}


# --- request units of one call ---------------------------------------------------------------------

Target = tuple[str, dict[str, Any], bool]  # table, key, written in a transaction


def _write_targets(tables: MotoTables, operation: str, params: dict[str, Any]) -> list[Target]:
    """The items a write call may change."""
    if operation == "PutItem":
        return [(params["TableName"], tables.key_of(params["TableName"], params["Item"]), False)]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(params["TableName"], params["Key"], False)]
    if operation == "BatchWriteItem":
        return [(table, tables.key_of(table, request["PutRequest"]["Item"]) if "PutRequest" in request
                 else request["DeleteRequest"]["Key"], False)
                for table, requests in params["RequestItems"].items() for request in requests]
    if operation == "TransactWriteItems":
        targets = []
        for entry in params["TransactItems"]:
            ((kind, action),) = entry.items()
            table = action["TableName"]
            if kind == "Put":
                targets.append((table, tables.key_of(table, action["Item"]), True))
            elif kind in ("Update", "Delete"):
                targets.append((table, action["Key"], True))
        return targets
    return []


def _written(tables: MotoTables, targets: list[Target], before: list[dict[str, Any] | None]) -> WriteUnits:
    total = WriteUnits()
    for (table, key, transactional), old in zip(targets, before, strict=True):
        total += write_units(old, tables.item(table, key), tables.table_key(table), tables.indexes(table),
                             transactional=transactional)
    return total


def _read(tables: MotoTables, operation: str, params: dict[str, Any], response: dict[str, Any]) -> float:
    """Read request units of a call that succeeded."""
    if operation == "GetItem":
        return read_units(item_size(tables.item(params["TableName"], params["Key"])),
                          consistent=bool(params.get("ConsistentRead")))
    if operation == "BatchGetItem":
        unprocessed = response.get("UnprocessedKeys", {})
        return sum(read_units(item_size(tables.item(table, key)),
                              consistent=bool(asked.get("ConsistentRead")))
                   for table, asked in params["RequestItems"].items() for key in asked["Keys"]
                   if key not in unprocessed.get(table, {}).get("Keys", []))
    if operation == "TransactGetItems":
        return sum(read_units(item_size(tables.item(entry["Get"]["TableName"], entry["Get"]["Key"])),
                              transactional=True) for entry in params["TransactItems"])
    if operation == "TransactWriteItems":
        return sum(read_units(item_size(tables.item(entry["ConditionCheck"]["TableName"],
                                                    entry["ConditionCheck"]["Key"])), transactional=True)
                   for entry in params["TransactItems"] if "ConditionCheck" in entry)
    if operation in ("Query", "Scan"):
        return read_units(_size_read(tables, params, response), consistent=bool(params.get("ConsistentRead")))
    return 0.0


def _size_read(tables: MotoTables, params: dict[str, Any], response: dict[str, Any]) -> float:
    """Bytes a Query or Scan read: its items as stored in the table or index (not as projected by
    the request). Items a filter dropped are not in the response: they are assumed the size of
    those returned (Count against ScannedCount)."""
    table = params["TableName"]
    key = tables.table_key(table)
    index = next((i for i in tables.indexes(table) if i.name == params.get("IndexName")), None)
    size = 0
    for returned in response.get("Items", []):
        stored = tables.item(table, returned) if all(name in returned for name in key) else None
        if stored is None:
            size += item_size(returned)
        else:
            size += item_size(index.projected(stored, key) if index is not None else stored)
    count, scanned = response.get("Count", 0), response.get("ScannedCount", 0)
    return size * scanned / count if scanned > count > 0 else size
