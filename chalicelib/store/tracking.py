"""What the tracking worker writes: markers and counters, a chunk per transaction, and each
subscriber's last open/click time (P16; only on a first open or click of a campaign).

A chunk's markers (whole-item puts, each conditioned on the marker being as the batch read it)
and counter increments (one ADD per distinct counter) go in ONE TransactWriteItems call, so a
chunk counts whole or not at all: a Lambda that dies after the commit leaves markers that name
the events counted, so their redelivery adds nothing (domain/tracking.py). A marker another
worker wrote meanwhile (its version moved on) cancels the transaction; the batch fails and SQS
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
from chalicelib.domain.tracking import Action, Marker, WriteChunk
from chalicelib.store.campaign_stats import SHARDS, counter_update
from chalicelib.store.models import Subscriber, TrackingMarker

# A marker must outlive every open/click link of the campaign: it holds the unique counts. Each
# write pushes its expiry on; the event ids it holds are forgotten sooner (EVENT_ID_LIFETIME).
UNIQUE_MARKER_LIFETIME = LINK_LIFETIME + timedelta(days=1)
_LAST_SEEN = {Action.OPEN: Subscriber.last_open_at, Action.CLICK: Subscriber.last_click_at}


@cache
def _connection(region: str) -> Connection:
    return Connection(region=region)


def existing_markers(keys: set[str]) -> dict[str, Marker]:
    """{marker key: Marker} for the keys that exist (BatchGetItem, 100 keys a call)."""
    return {item.marker_key: Marker(version=item.version, viewers=frozenset(item.viewers or ()),
                                    first_event=item.first_event, events=item.events.as_dict())
            for item in TrackingMarker.batch_get(list(keys))}


def write_chunk(chunk: WriteChunk) -> None:
    """Write the chunk's markers and add its counters, in one transaction on one random shard.

    Raises TransactWriteError when a marker is no longer as the batch read it (another worker
    counted events of that recipient meanwhile)."""
    expires_at = now() + UNIQUE_MARKER_LIFETIME
    shard = random.randrange(SHARDS)
    with TransactWrite(connection=_connection(TrackingMarker.Meta.region)) as transaction:
        for write in chunk.markers.values():
            marker = write.marker
            condition = (TrackingMarker.marker_key.does_not_exist() if write.read_version is None
                         else TrackingMarker.version == write.read_version)
            transaction.save(TrackingMarker(marker_key=write.key, version=marker.version,
                                            viewers=set(marker.viewers), first_event=marker.first_event,
                                            events=dict(marker.events), expires_at=expires_at),
                             condition=condition)
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
