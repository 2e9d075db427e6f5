"""Campaign counters (P13, P14): aggregates only, spread over SHARDS partition keys.

Every counter of a campaign lives under `{campaign_id}#{shard}`; a writer picks a shard at random,
so a viral campaign's opens fall on SHARDS partitions instead of one, and a report adds the
shards up (one Query each). Counter names are domain/tracking.py's, plus the ones below.
"""
from __future__ import annotations

import random
from typing import Any

from chalicelib.store.models import CampaignStat

SHARDS = 8
UNSUBSCRIBES = "unsubscribes"
FORWARDS = "forwards"
# Mails sent, added by the sender once per batch (SES is not asked for Send events).
SENT = "sent"
# Of those, the mails with an open pixel or tracked links (P30): what opens and clicks count among.
TRACKABLE = "trackable"
# What the feedback worker counts per campaign (count_campaign_feedback).
FEEDBACK_COUNTERS = frozenset({"bounces#hard", "bounces#soft", "complaints"})


def shard_key(campaign_id: str, shard: int | None = None) -> str:
    """The partition key of one shard of a campaign (a random one when `shard` is None)."""
    return f"{campaign_id}#{random.randrange(SHARDS) if shard is None else shard}"


def counter_update(campaign_id: str, counter: str, amount: int = 1,
                   shard: int | None = None) -> tuple[CampaignStat, list[Any]]:
    """(item, actions) adding `amount` to a counter: for `update()` or a transaction's update."""
    item = CampaignStat(campaign_id=shard_key(campaign_id, shard), counter=counter)
    return item, [CampaignStat.value.add(amount)]


def add_counter(campaign_id: str, counter: str, amount: int = 1) -> None:
    """One UpdateItem ADD on a random shard."""
    item, actions = counter_update(campaign_id, counter, amount)
    item.update(actions=actions)


def count_campaign_feedback(campaign_id: str, counter: str) -> tuple[CampaignStat, list[Any]]:
    """The feedback worker's hook: the update adding one SES outcome (one of FEEDBACK_COUNTERS) to
    the campaign's report, to be written in the same transaction as the event's receipt, so a
    repeated SES event adds nothing here either."""
    if counter not in FEEDBACK_COUNTERS:
        raise ValueError(f"unknown campaign feedback counter {counter!r}")
    return counter_update(campaign_id, counter)


def campaign_counters(campaign_id: str) -> dict[str, int]:
    """Every counter of the campaign, summed over its shards (SHARDS Queries)."""
    totals: dict[str, int] = {}
    for shard in range(SHARDS):
        for item in CampaignStat.query(shard_key(campaign_id, shard)):
            totals[item.counter] = totals.get(item.counter, 0) + int(item.value or 0)
    return totals

