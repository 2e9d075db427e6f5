"""Campaign counters (P13, P14): aggregates only, spread over SHARDS partition keys.

Every counter of a campaign lives under `{campaign_id}#{shard}`; a writer picks a shard at random,
so a viral campaign's opens fall on SHARDS partitions instead of one, and a report adds the
shards up (one Query each). Counter names are domain/tracking.py's, plus the ones below.

Opens and clicks are counted apart, under `{campaign_id}#t`: each tracking batch puts one delta
item (its counters in one map, sorted by time), and a report adds the deltas to a snapshot. Once
enough deltas are SETTLEd (no batch can still write one before them), a report folds them into the
snapshot, conditioned on the snapshot it read, so a report never reads more than a few dozen.
"""
from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import PutError

from chalicelib.store.models import CampaignStat

if TYPE_CHECKING:
    from chalicelib.domain.tracking import DeltaRef

SHARDS = 8
UNSUBSCRIBES = "unsubscribes"
FORWARDS = "forwards"
# Mails sent, added by the sender once per batch (SES is not asked for Send events).
SENT = "sent"
# Of those, the mails with an open pixel or tracked links (P30): what opens and clicks count among.
# Kept on the `sent` counter's items (sent_update); items of this name are from before.
TRACKABLE = "trackable"
# What the feedback worker counts per campaign (count_campaign_feedback).
FEEDBACK_COUNTERS = frozenset({"bounces#hard", "bounces#soft", "complaints"})


# The tracking partition of a campaign, its snapshot's sort key, and its deltas' prefix.
TRACKING_PARTITION = "t"
SNAPSHOT = "snapshot"
DELTA = "delta#"
# A report folds the settled deltas into the snapshot once there are this many.
FOLD_AFTER = 50


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


def sent_update(campaign_id: str, sent: int, trackable: int) -> tuple[CampaignStat, list[Any]]:
    """(item, actions) adding mails sent, `trackable` of them with a pixel or tracked links (P30:
    the report's base for opens), on a random shard's `sent` counter: for a transaction's update."""
    item, actions = counter_update(campaign_id, SENT, sent)
    if trackable:
        actions.append(CampaignStat.trackable.add(trackable))
    return item, actions


def count_campaign_feedback(campaign_id: str, counter: str,
                            amount: int = 1) -> tuple[CampaignStat, list[Any]]:
    """The feedback worker's hook: the update adding one SES outcome (one of FEEDBACK_COUNTERS) to
    the campaign's report (-1: a transient bounce its permanent one replaces), to be written in
    the same transaction as the event's receipt, so a repeated SES event adds nothing here either."""
    if counter not in FEEDBACK_COUNTERS:
        raise ValueError(f"unknown campaign feedback counter {counter!r}")
    return counter_update(campaign_id, counter, amount)


def partition_keys(campaign_id: str) -> list[str]:
    """Every partition key under which the campaign's counters live."""
    return [*(shard_key(campaign_id, shard) for shard in range(SHARDS)), tracking_key(campaign_id)]


def campaign_counters(campaign_id: str, now: datetime | None = None) -> dict[str, int]:
    """Every counter of the campaign: its shards' (SHARDS Queries) and its opens and clicks."""
    totals: dict[str, int] = {}
    for shard in range(SHARDS):
        for item in CampaignStat.query(shard_key(campaign_id, shard)):
            totals[item.counter] = totals.get(item.counter, 0) + int(item.value or 0)
            if item.trackable:
                totals[TRACKABLE] = totals.get(TRACKABLE, 0) + int(item.trackable)
    _add(totals, tracking_counters(campaign_id, now or datetime.now(UTC)))
    return totals


# --- opens and clicks: deltas and their snapshot ---------------------------------------------------

def tracking_key(campaign_id: str) -> str:
    return f"{campaign_id}#{TRACKING_PARTITION}"


def _sortable(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def delta_key(ref: DeltaRef) -> str:
    """A delta's sort key: its batch's time, then the batch (deltas sort by time)."""
    return f"{DELTA}{_sortable(ref.at)}#{ref.batch_id}"


def save_delta(ref: DeltaRef, counts: Mapping[str, int]) -> None:
    """Put one batch's counters for one campaign (a repeat rewrites the same item)."""
    CampaignStat(campaign_id=tracking_key(ref.campaign_id), counter=delta_key(ref),
                 counts=dict(counts)).save()


def deltas_found(refs: Iterable[DeltaRef]) -> set[DeltaRef]:
    """The deltas of `refs` that exist (BatchGetItem, 100 keys a call)."""
    by_key = {(tracking_key(ref.campaign_id), delta_key(ref)): ref for ref in refs}
    if not by_key:
        return set()
    found = CampaignStat.batch_get(list(by_key), attributes_to_get=["campaign_id", "counter"])
    return {by_key[(item.campaign_id, item.counter)] for item in found}


def tracking_counters(campaign_id: str, now: datetime) -> dict[str, int]:
    """The campaign's open and click counters: its snapshot plus every delta after it; folds
    the settled deltas into the snapshot once there are FOLD_AFTER of them."""
    # Here, not at the top: the senders and the feedback worker count through this module and
    # load no tracking rules (cold start, issue 15).
    from chalicelib.domain.tracking import SETTLE

    key = tracking_key(campaign_id)
    try:
        snapshot = CampaignStat.get(key, SNAPSHOT, consistent_read=True)
    except CampaignStat.DoesNotExist:
        snapshot = None
    after = snapshot.folded_through if snapshot is not None and snapshot.folded_through else DELTA
    totals = _numbers(snapshot.counts) if snapshot is not None and snapshot.counts else {}
    settled_through = f"{DELTA}{_sortable(now - SETTLE)}~"
    folded = dict(totals)
    last_settled, settled = None, 0
    for item in CampaignStat.query(key, CampaignStat.counter > after, consistent_read=True):
        if not item.counter.startswith(DELTA):
            continue
        counts = _numbers(item.counts)
        _add(totals, counts)
        if item.counter <= settled_through:
            _add(folded, counts)
            last_settled, settled = item.counter, settled + 1
    if settled >= FOLD_AFTER and last_settled is not None:
        _fold(key, snapshot, folded, last_settled)
    return totals


def _fold(key: str, snapshot: CampaignStat | None, counts: dict[str, int], through: str) -> None:
    """Save the snapshot with the deltas up to `through` added, unless another report did first."""
    condition = (CampaignStat.counter.does_not_exist() if snapshot is None
                 else CampaignStat.folded_through == snapshot.folded_through)
    try:
        CampaignStat(campaign_id=key, counter=SNAPSHOT, counts=counts, folded_through=through).save(
            condition=condition)
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def _numbers(counts: Any) -> dict[str, int]:
    raw = counts.as_dict() if hasattr(counts, "as_dict") else dict(counts or {})
    return {name: int(value) for name, value in raw.items()}


def _add(totals: dict[str, int], counts: Mapping[str, int]) -> None:
    for name, value in counts.items():
        totals[name] = totals.get(name, 0) + value

