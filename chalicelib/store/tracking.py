"""What the tracking worker writes: markers and counters, a chunk per transaction, and each
subscriber's last open/click time (P16; only on a first open or click of a campaign).

A chunk's markers (conditional puts) and counter increments (one ADD per distinct counter) go
in ONE TransactWriteItems call, so a chunk counts whole or not at all: a Lambda that dies after
the commit leaves markers that make the redelivered events add nothing (domain/tracking.py). A
marker another worker claimed meanwhile cancels the transaction; the batch fails and SQS
redelivers it, to be planned again from the markers as they now are.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from functools import cache

from pynamodb.connection import Connection
from pynamodb.exceptions import UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.clock import now
from chalicelib.domain.mail_links import LINK_LIFETIME
from chalicelib.domain.tracking import Action, WriteChunk
from chalicelib.store.campaign_stats import SHARDS, counter_update
from chalicelib.store.models import Subscriber, TrackingMarker

# SQS keeps a message at most 14 days: no redelivery comes after an event marker expires.
EVENT_MARKER_LIFETIME = timedelta(days=15)
# A first-open marker must outlive every open/click link of the campaign.
UNIQUE_MARKER_LIFETIME = LINK_LIFETIME + timedelta(days=1)
_LAST_SEEN = {Action.OPEN: Subscriber.last_open_at, Action.CLICK: Subscriber.last_click_at}


@cache
def _connection(region: str) -> Connection:
    return Connection(region=region)


def existing_markers(keys: set[str]) -> dict[str, str]:
    """{marker key: id of the event that wrote it} for the keys that exist (BatchGetItem, 100
    keys a call)."""
    return {marker.marker_key: marker.event_id for marker in TrackingMarker.batch_get(list(keys))}


def write_chunk(chunk: WriteChunk) -> None:
    """Claim the chunk's markers and add its counters, in one transaction on one random shard.

    Raises TransactWriteError when a marker exists by now (another worker counted that event)."""
    at = now()
    shard = random.randrange(SHARDS)
    with TransactWrite(connection=_connection(TrackingMarker.Meta.region)) as transaction:
        for key, event_id in chunk.markers.items():
            lifetime = EVENT_MARKER_LIFETIME if key.startswith("event#") else UNIQUE_MARKER_LIFETIME
            transaction.save(TrackingMarker(marker_key=key, event_id=event_id, expires_at=at + lifetime),
                             condition=TrackingMarker.marker_key.does_not_exist())
        for (campaign_id, counter), amount in chunk.counters.items():
            item, actions = counter_update(campaign_id, counter, amount, shard)
            transaction.update(item, actions=actions)


def record_last_seen(list_id: str, address: str, action: Action, at: datetime) -> bool:
    """Keep the subscriber's latest open or click time; False when there is no entry (erased
    meanwhile: nothing is created) or it already holds a later time. Idempotent."""
    attribute = _LAST_SEEN[action]
    try:
        Subscriber(list_id=list_id, address=address).update(
            actions=[attribute.set(at)],
            condition=Subscriber.address.exists() & (attribute.does_not_exist() | (attribute < at)),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
