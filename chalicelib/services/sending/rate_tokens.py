"""SES send tokens of the outbox lane for a known amount of work: taken from the shared bucket
(store/send_rate.py) in bulk — one DynamoDB call per grant — and spent one per SES call. A take
waits a few milliseconds at most: when none come, `retry_after` says how long the work should
wait in its queue instead (a Lambda is billed while it sleeps)."""
from __future__ import annotations

from chalicelib.domain.sending import MAX_SEND_WAIT_SECONDS
from chalicelib.store import send_rate


class RateTokens:
    """Up to `wanted` tokens, fetched when needed, waiting at most `max_wait` seconds a fetch."""

    def __init__(self, wanted: int, max_wait: float = MAX_SEND_WAIT_SECONDS) -> None:
        self._wanted = max(0, wanted)
        self._held = 0
        self._max_wait = max_wait
        self.retry_after = 0.0

    def take(self) -> bool:
        """Spend one token; False when none came in time (give the work back to the queue, for
        `retry_after` seconds)."""
        if self._held == 0:
            grant = send_rate.outbox_grant(max(1, self._wanted), self._max_wait)
            self._held, self.retry_after = grant.tokens, grant.retry_after
            if self._held == 0:
                return False
        self._held -= 1
        self._wanted = max(0, self._wanted - 1)
        return True
