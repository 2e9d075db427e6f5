"""The cost model's DynamoDB request units (bench/request_units.py, bench/metering.py): index writes
counted as DynamoDB counts them, sizes rounded per item, transactions and consistency priced."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from bench.prices import AWS_CALL_LATENCY_MS
from bench.request_units import (
    IndexDefinition,
    WriteUnits,
    index_write_units,
    item_size,
    read_units,
    value_size,
    write_units,
)

KEY = ("pk",)
BY_STATUS = IndexDefinition("by-status", ("status",), "ALL")
BY_DAY_KEYS = IndexDefinition("by-day", ("day",), "KEYS_ONLY")
BY_DAY_WITH_NAME = IndexDefinition("by-day-name", ("day",), "INCLUDE", ("name",))


def s(text: str) -> dict[str, str]:
    return {"S": text}


def test_an_item_entering_or_leaving_an_index_takes_one_write_there():
    old, new = {"pk": s("a")}, {"pk": s("a"), "status": s("new")}
    assert index_write_units(None, new, BY_STATUS, KEY) == 1
    assert index_write_units(old, new, BY_STATUS, KEY) == 1
    assert index_write_units(new, old, BY_STATUS, KEY) == 1
    assert index_write_units(new, None, BY_STATUS, KEY) == 1


def test_an_item_outside_a_sparse_index_before_and_after_takes_no_write_there():
    assert index_write_units({"pk": s("a")}, {"pk": s("a"), "name": s("Ada")}, BY_STATUS, KEY) == 0
    assert index_write_units(None, {"pk": s("a")}, BY_STATUS, KEY) == 0


def test_a_changed_index_key_takes_a_delete_and_a_put():
    old, new = {"pk": s("a"), "status": s("new")}, {"pk": s("a"), "status": s("sent")}
    assert index_write_units(old, new, BY_STATUS, KEY) == 2


def test_only_a_change_the_index_projects_takes_a_write_there():
    old = {"pk": s("a"), "day": s("2024-11-01"), "name": s("Ada"), "count": {"N": "1"}}
    counted = {**old, "count": {"N": "2"}}
    renamed = {**old, "name": s("Grace")}
    assert index_write_units(old, counted, BY_DAY_KEYS, KEY) == 0
    assert index_write_units(old, renamed, BY_DAY_KEYS, KEY) == 0
    assert index_write_units(old, counted, BY_DAY_WITH_NAME, KEY) == 0
    assert index_write_units(old, renamed, BY_DAY_WITH_NAME, KEY) == 1
    assert index_write_units(old, counted, IndexDefinition("all", ("day",)), KEY) == 1
    assert index_write_units(old, old, IndexDefinition("all", ("day",)), KEY) == 0


def test_a_write_rounds_the_larger_item_up_to_whole_kilobytes():
    small, big = {"pk": s("a")}, {"pk": s("a"), "body": s("x" * 1500)}
    assert write_units(None, small, KEY) == WriteUnits(1.0, 0.0)
    assert write_units(small, big, KEY) == WriteUnits(2.0, 0.0)
    assert write_units(big, None, KEY) == WriteUnits(2.0, 0.0)
    assert write_units(None, None, KEY) == WriteUnits(1.0, 0.0)  # deleting nothing still costs


def test_an_index_write_rounds_the_projected_item_not_the_whole_one():
    big = {"pk": s("a"), "day": s("2024-11-01"), "body": s("x" * 3000)}
    assert write_units(None, big, KEY, [BY_DAY_KEYS]) == WriteUnits(3.0, 1.0)
    assert write_units(None, big, KEY, [IndexDefinition("all", ("day",))]) == WriteUnits(3.0, 3.0)


def test_a_transaction_doubles_the_table_write_not_the_index_write():
    item = {"pk": s("a"), "status": s("new")}
    assert write_units(None, item, KEY, [BY_STATUS], transactional=True) == WriteUnits(2.0, 1.0)


def test_reads_round_up_to_4_kb_and_halve_when_eventually_consistent():
    assert read_units(5000, consistent=True) == 2.0
    assert read_units(5000) == 1.0
    assert read_units(0) == 0.5  # an item not found still costs the minimum
    assert read_units(100, transactional=True) == 2.0


def test_sizes_follow_dynamodbs_item_size_rules():
    assert value_size(s("héllo")) == 6
    assert value_size({"N": "12345"}) == 4  # 5 significant digits: 3 bytes, plus 1
    assert value_size({"N": "1000"}) == 2  # trailing zeros do not count
    assert value_size({"BOOL": True}) == 1
    assert value_size({"M": {"a": s("xy")}}) == 3 + 1 + 1 + 2
    assert value_size({"L": [s("xy"), {"N": "7"}]}) == 3 + (1 + 2) + (1 + 2)
    assert value_size({"SS": ["ab", "c"]}) == 3
    assert item_size({"pk": s("a"), "name": s("Ada")}) == 2 + 1 + 4 + 3


# --- the meter against moto -------------------------------------------------------------------------

@pytest.fixture
def table(aws: dict[str, str]) -> Iterator[Any]:
    """A table of its own with a sparse ALL index and a KEYS_ONLY index (not one of the app's)."""
    dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
    dynamodb.create_table(
        TableName="bench-units", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"}
                              for name in ("pk", "status", "day")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {"IndexName": "by-status", "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "by-day", "KeySchema": [{"AttributeName": "day", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}},
        ])
    yield dynamodb


def _setting(key: str, name: str, value: str) -> dict[str, Any]:
    """UpdateItem parameters setting one string attribute of the item `key`."""
    return {"TableName": "bench-units", "Key": {"pk": s(key)}, "UpdateExpression": "SET #a = :v",
            "ExpressionAttributeNames": {"#a": name}, "ExpressionAttributeValues": {":v": s(value)}}


def test_the_meter_counts_index_writes_from_the_items_moto_holds(table: Any):
    from bench.metering import metered

    with metered() as meter:
        table.put_item(TableName="bench-units", Item={"pk": s("a"), "status": s("new"), "day": s("d1")})
        table.update_item(**_setting("a", "name", "Ada"))
        table.update_item(**_setting("a", "status", "sent"))
        table.delete_item(TableName="bench-units", Key={"pk": s("a")})
    assert [(call.written.table, call.written.indexes) for call in meter.calls] == [
        (1.0, 2.0),  # put: into both indexes
        (1.0, 1.0),  # a projected attribute of the ALL index; the KEYS_ONLY index is unchanged
        (1.0, 2.0),  # the ALL index's key changed: a delete and a put
        (1.0, 2.0),  # delete: out of both indexes
    ]
    assert meter.table_write_units() == 4.0
    assert meter.index_write_units() == 7.0


def test_the_meter_prices_batches_transactions_and_reads(table: Any):
    from bench.metering import metered

    with metered() as meter:
        table.batch_write_item(RequestItems={"bench-units": [
            {"PutRequest": {"Item": {"pk": s("a"), "status": s("new")}}},
            {"PutRequest": {"Item": {"pk": s("b")}}},
        ]})
        table.transact_write_items(TransactItems=[
            {"Update": _setting("b", "day", "d1")},
            {"ConditionCheck": {"TableName": "bench-units", "Key": {"pk": s("a")},
                                "ConditionExpression": "attribute_exists(pk)"}},
        ])
        table.get_item(TableName="bench-units", Key={"pk": s("a")}, ConsistentRead=True)
        table.batch_get_item(RequestItems={"bench-units": {"Keys": [{"pk": s("a")}, {"pk": s("zz")}]}})
        table.batch_get_item(RequestItems={"bench-units": {"Keys": [{"pk": s("a")}, {"pk": s("zz")}],
                                                           "ConsistentRead": True}})
        table.query(TableName="bench-units", KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": s("a")})
    batch, transaction, get, batch_get, consistent_batch_get, query = meter.calls
    assert (batch.written, batch.read) == (WriteUnits(2.0, 1.0), 0.0)
    assert (transaction.written, transaction.read) == (WriteUnits(2.0, 1.0), 2.0)
    assert (get.read, batch_get.read, query.read) == (1.0, 1.0, 0.5)
    assert consistent_batch_get.read == 2.0, "strongly consistent: twice (the day-30 purge's is not)"
    assert meter.waited_ms() == 6 * AWS_CALL_LATENCY_MS
