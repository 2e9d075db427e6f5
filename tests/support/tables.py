"""What the tables hold, read the way only a test may (Scan; the app never does)."""
from __future__ import annotations

import json
from typing import Any


def stored_ids(model: Any) -> set[str]:
    """Hash keys of every stored item of a model, expired or not (a test may Scan)."""
    from chalicelib.adapters.clients import client

    hash_key = model._hash_key_attribute().attr_name
    pages = client("dynamodb").get_paginator("scan").paginate(TableName=model.Meta.table_name)
    return {item[hash_key]["S"] for page in pages for item in page["Items"]}


def stored_message_ids() -> set[str]:
    """Message ids of every stored message record, expired or not (a test may Scan)."""
    from chalicelib.store.models import MessageRecord

    return {record.message_id for record in MessageRecord.scan()}


def items_of_account(account_id: str) -> dict[str, int]:
    """How many items of every table mention the account id (a test may Scan)."""
    from chalicelib.adapters.clients import client
    from chalicelib.store.models import ALL_MODELS

    found: dict[str, int] = {}
    dynamodb = client("dynamodb")
    for model in ALL_MODELS:
        pages = dynamodb.get_paginator("scan").paginate(TableName=model.Meta.table_name)
        count = sum(1 for page in pages for item in page["Items"] if account_id in str(item))
        if count:
            found[model.Meta.logical_name] = count
    return found


def every_item_text() -> str:
    """Every item of every table, as text (moto; for 'nothing stored' checks only)."""
    from chalicelib.adapters.clients import client

    dynamodb = client("dynamodb")
    dumps = []
    for table in dynamodb.list_tables()["TableNames"]:
        dumps.append(json.dumps(dynamodb.scan(TableName=table)["Items"]))
    return "\n".join(dumps)
