"""BatchGetItem over several tables at once: PynamoDB's batch_get reads one model's table, and
a check that needs items of two or three tables (a sender's, a confirmation's) makes one call."""
from __future__ import annotations

from typing import Any

from chalicelib.clients import client

# DynamoDB's cap on the keys of one BatchGetItem, over all its tables.
MAX_BATCH_KEYS = 100


def batch_get(request: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Every item of a BatchGetItem `request` (table -> {"Keys": [...], options}) that exists, by
    table: in calls of at most MAX_BATCH_KEYS keys, each repeated for its unprocessed keys."""
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in request}
    keys = [(table, key) for table, asked in request.items() for key in asked["Keys"]]
    dynamodb = client("dynamodb")
    for start in range(0, len(keys), MAX_BATCH_KEYS):
        chunk: dict[str, dict[str, Any]] = {}
        for table, key in keys[start:start + MAX_BATCH_KEYS]:
            chunk.setdefault(table, {**request[table], "Keys": []})["Keys"].append(key)
        while chunk:
            response = dynamodb.batch_get_item(RequestItems=chunk)
            for table, items in response.get("Responses", {}).items():
                found[table].extend(items)
            chunk = response.get("UnprocessedKeys") or {}
    return found
