"""Conditional writes that say whether their condition held, instead of raising."""
from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.models import Model

CONDITION_FAILED = "ConditionalCheckFailedException"


def updated_if(item: Model, actions: list[Any], condition: Any) -> bool:
    """Apply `actions` to `item` when `condition` holds; False, writing nothing, when it does not
    (another writer got there first: the caller decides what that means)."""
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == CONDITION_FAILED:
            return False
        raise
    return True
