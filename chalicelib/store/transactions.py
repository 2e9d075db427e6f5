"""DynamoDB transactions (TransactWriteItems) over PynamoDB: one connection a region, and how to
read a cancellation."""
from __future__ import annotations

from functools import cache
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite


@cache
def _connection(region: str) -> Connection:
    return Connection(region=region)


def write_transaction(model: type[Model]) -> TransactWrite:
    """A transaction in `model`'s region (its tables' items may be from any of the app's models)."""
    return TransactWrite(connection=_connection(model.Meta.region))


def first_condition_failed(error: TransactWriteError) -> bool:
    """Whether the transaction was cancelled because its first item's condition failed (the
    item that decides whether the rest may happen); False for any other failure."""
    return condition_failed(error, 0)


def condition_failed(error: TransactWriteError, position: int) -> bool:
    """Whether the transaction was cancelled because the condition of its item at `position`
    failed. PynamoDB sends condition checks first, then deletes, puts and updates."""
    reasons = error.cancellation_reasons or []
    return (len(reasons) > position and reasons[position] is not None
            and reasons[position].code == "ConditionalCheckFailed")


def cancelled_by_a_race(error: TransactWriteError) -> bool:
    """Whether the transaction was cancelled only because a condition failed or another
    transaction wrote one of its items at that moment: what its checks read changed, and a fresh
    read decides again. False for any other failure."""
    codes = {reason.code for reason in error.cancellation_reasons or [] if reason is not None}
    return bool(codes) and codes <= {"ConditionalCheckFailed", "TransactionConflict"}


def save_new_with_updates(item: Model, condition: Any, updates: list[tuple[Any, list[Any]]]) -> bool:
    """Save `item` on `condition` (that it is new) and apply `updates` ((item, actions) pairs) in
    one transaction; False, nothing written, when the condition failed."""
    try:
        with write_transaction(type(item)) as transaction:
            transaction.save(item, condition=condition)
            for updated, actions in updates:
                transaction.update(updated, actions=actions)
    except TransactWriteError as error:
        if first_condition_failed(error):
            return False
        raise
    return True
