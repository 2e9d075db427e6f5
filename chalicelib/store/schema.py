"""A model's table definition in DynamoDB's CreateTable shape: the one source for the local stack's
tables and the deployment template's, so neither can drift from the models."""
from __future__ import annotations

from typing import Any

from chalicelib.store.models import TidingsModel


def table_definition(model: type[TidingsModel], table_name: str) -> dict[str, Any]:
    """CreateTable arguments (on-demand billing, indexes with the models' projections), plus
    `TimeToLiveAttribute` when the model has a TTL attribute."""
    schema = model._get_schema()
    definition: dict[str, Any] = {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": sorted(schema["attribute_definitions"], key=lambda a: a["AttributeName"]),
        "KeySchema": _hash_first(schema["key_schema"]),
    }
    indexes = [
        {
            "IndexName": index["index_name"],
            "KeySchema": _hash_first(index["key_schema"]),
            "Projection": index["projection"],
        }
        for index in schema["global_secondary_indexes"]
    ]
    if indexes:
        definition["GlobalSecondaryIndexes"] = sorted(indexes, key=lambda i: i["IndexName"])
    ttl = model._ttl_attribute()
    if ttl is not None:
        definition["TimeToLiveAttribute"] = ttl.attr_name
    return definition


def _hash_first(key_schema: list[dict[str, str]]) -> list[dict[str, str]]:
    # DynamoDB requires HASH before RANGE; PynamoDB lists keys in attribute order.
    return sorted(key_schema, key=lambda key: key["KeyType"] != "HASH")
