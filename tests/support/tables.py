"""What the tables hold, read the way only a test may (Scan; the app never does), and test setup
written in batches."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock


@contextmanager
def saved_in_batches(*models: Any) -> Iterator[None]:
    """Setup only: inside the block, the models' `save` puts the item into a BatchWriteItem of 25
    (all written by the end of the block) instead of a PutItem each, so a test creates thousands
    of items through the very code that writes them, at one call per 25. A batch write has no
    condition, so only for items new to their table (whose conditions would all pass); `save`
    returns nothing, and nothing inside the block may read what it wrote."""
    with ExitStack() as stack:
        for model in models:
            batch = stack.enter_context(model.batch_write())
            stack.enter_context(mock.patch.object(
                model, "save", lambda item, *args, _batch=batch, **kwargs: _batch.save(item)))
        yield


def scanned(model: Any) -> Iterator[dict[str, Any]]:
    """Every stored item of a model's table, expired or not, as DynamoDB returns it."""
    from chalicelib.clients import client

    pages = client("dynamodb").get_paginator("scan").paginate(TableName=model.Meta.table_name)
    for page in pages:
        yield from page["Items"]


def stored_ids(model: Any) -> set[str]:
    """Hash keys of every stored item of a model, expired or not."""
    hash_key = model._hash_key_attribute().attr_name
    return {item[hash_key]["S"] for item in scanned(model)}


def stored_message_ids() -> set[str]:
    """Message ids of every stored message record, expired or not."""
    from chalicelib.store.models import MessageRecord

    return {record.message_id for record in MessageRecord.scan()}


def items_of_account(account_id: str) -> dict[str, int]:
    """How many items of every table mention the account id, by table."""
    return items_of_accounts([account_id])[account_id]


def items_of_accounts(account_ids: list[str]) -> dict[str, dict[str, int]]:
    """items_of_account of each account id, from one scan of every table."""
    from chalicelib.store.models import ALL_MODELS

    found: dict[str, dict[str, int]] = {account_id: {} for account_id in account_ids}
    for model in ALL_MODELS:
        for item in scanned(model):
            text = str(item)
            for account_id in account_ids:
                if account_id in text:
                    counts = found[account_id]
                    counts[model.Meta.logical_name] = counts.get(model.Meta.logical_name, 0) + 1
    return found


def every_item_text() -> str:
    """Every item of every table, as text (for 'nothing stored' checks only)."""
    from chalicelib.store.models import ALL_MODELS

    def as_text(value: object) -> str:  # binary attributes (purge lists' packed keys)
        return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)

    return "\n".join(json.dumps(list(scanned(model)), default=as_text) for model in ALL_MODELS)


def snapshot() -> dict[str, list[str]]:
    """Every item of every table, as sorted text by table: equal before and after an act only
    when it wrote nothing (a replay must leave no new row, and change no time in an old one)."""
    from chalicelib.store.models import ALL_MODELS

    def as_text(value: object) -> str:
        return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)

    return {model.Meta.logical_name: sorted(json.dumps(item, sort_keys=True, default=as_text)
                                            for item in scanned(model)) for model in ALL_MODELS}


def changed_tables(before: dict[str, list[str]], after: dict[str, list[str]]) -> set[str]:
    """The tables whose items differ between two snapshots."""
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
