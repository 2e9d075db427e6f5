"""Transient faults for the redelivery tests: a call that fails once, as an SQS or DynamoDB blip."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class FailsOnce:
    """Wraps `real`: the first call raises a transient error, every later call goes through."""

    def __init__(self, real: Callable[..., Any]) -> None:
        self.real, self.calls = real, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("endpoint not reachable (transient)")
        return self.real(*args, **kwargs)
