"""Deleting items through BatchWriteItem (25 a call, PynamoDB's batch_write): the one way the
store's modules delete what they have found."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from pynamodb.models import Model

M = TypeVar("M", bound=Model)


def delete_all(model: type[M], items: Iterable[M]) -> int:
    """Delete `items` from `model`'s table; how many."""
    deleted = 0
    with model.batch_write() as batch:
        for item in items:
            batch.delete(item)
            deleted += 1
    return deleted
