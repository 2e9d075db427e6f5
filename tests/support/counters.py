"""Mail sent added straight to the counters, as a sender's count transaction adds it
(services/sending/counting.py): for tests that need a volume without sending it."""
from __future__ import annotations

from datetime import date

from chalicelib.config import settings
from chalicelib.store import campaign_stats, health


def add_sent(campaign_id: str, sent: int, trackable: int) -> None:
    """Add to the campaign's `sent` (and `trackable`) counters, one random shard."""
    item, actions = campaign_stats.sent_update(campaign_id, sent, trackable)
    item.update(actions=actions)


def count_sent(account_id: str, day: date, amount: int) -> None:
    """Add to the account's day counter of mails sent (P26's volume)."""
    item, actions = health.sent_update(account_id, day, amount, settings().health)
    item.update(actions=actions)
