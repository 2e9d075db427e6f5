"""A frozen clock for the retention and timeline tests, and message records to purge."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

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
