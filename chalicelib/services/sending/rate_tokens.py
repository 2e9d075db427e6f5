"""SES send tokens for a known amount of work: taken from the shared bucket (store/send_rate.py)
in bulk — one DynamoDB call per bucket capacity of messages — and spent one per SES call."""
from __future__ import annotations

from collections.abc import Callable

from chalicelib.store import send_rate


class RateTokens:
    """Up to `wanted` tokens, fetched when needed. `max_wait()` says how long a fetch may wait
    for free tokens (the time the Lambda has left, say)."""

    def __init__(self, wanted: int, max_wait: Callable[[], float] = lambda: 10.0) -> None:
        self._wanted = max(0, wanted)
        self._held = 0
        self._max_wait = max_wait

    def take(self) -> bool:
        """Spend one token; False when none came in time (give the work back to the queue)."""
        if self._held == 0:
            wait = self._max_wait()
            self._held = send_rate.acquire(max(1, self._wanted), wait) if wait > 0 else 0
            if self._held == 0:
                return False
        self._held -= 1
        self._wanted = max(0, self._wanted - 1)
        return True
