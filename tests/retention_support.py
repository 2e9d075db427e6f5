"""Helpers of the retention and timeline tests: a frozen clock, records, and what is stored."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

DAY0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return DAY0 + timedelta(days=n)


@contextmanager
def on_day(n: float) -> Iterator[None]:
    """Freeze the clock (app, tokens and boto3's signing alike) at DAY0 + n days."""
    with time_machine.travel(day(n), tick=False):
        yield


def sent_message(message_id: str, account_id: str, recipient_hash: str = "h" * 64) -> None:
    """A message record as the send worker leaves it: filed for the purge, then claimed."""
    from chalicelib.store import messages

    messages.list_for_purge(account_id, {message_id: recipient_hash})
    assert messages.claim(recipient_hash, message_id, account_id, "campaign", campaign_id="cmp_1",
                          list_id="lst_1")


def stored_ids(model: Any) -> set[str]:
    """Hash keys of every stored item of a model, expired or not (a test may Scan)."""
    from chalicelib.clients import client

    hash_key = model._hash_key_attribute().attr_name
    pages = client("dynamodb").get_paginator("scan").paginate(TableName=model.Meta.table_name)
    return {item[hash_key]["S"] for page in pages for item in page["Items"]}


def stored_message_ids() -> set[str]:
    """Message ids of every stored message record, expired or not (a test may Scan)."""
    from chalicelib.store.models import MessageRecord

    return {record.message_id for record in MessageRecord.scan()}


def items_of_account(account_id: str) -> dict[str, int]:
    """How many items of every table mention the account id (a test may Scan)."""
    from chalicelib.clients import client
    from chalicelib.store.models import ALL_MODELS

    found: dict[str, int] = {}
    dynamodb = client("dynamodb")
    for model in ALL_MODELS:
        pages = dynamodb.get_paginator("scan").paginate(TableName=model.Meta.table_name)
        count = sum(1 for page in pages for item in page["Items"] if account_id in str(item))
        if count:
            found[model.Meta.logical_name] = count
    return found
