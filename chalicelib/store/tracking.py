"""What the tracking worker writes, markers and counters, a chunk per transaction; and a
person's markers, found by key for their export (P16) and erasure (P18).

A chunk's markers (whole-item puts, each conditioned on the marker being as the batch read it)
and counter increments (one ADD per distinct counter) go in ONE TransactWriteItems call, so a
chunk counts whole or not at all: a Lambda that dies after the commit leaves markers that name
the events counted, so their redelivery adds nothing (domain/tracking.py). A marker another
worker wrote meanwhile (its version moved on) cancels the transaction; the batch fails and SQS
redelivers it, to be planned again from the markers as they now are.

A person's markers are found without a Scan: for each campaign of the account (a Query) and each
of their addresses, the keyed hash gives the hash key of all their markers in it (a Query).
"""
from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import timedelta
from functools import cache

from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from chalicelib.config import hash_key
from chalicelib.domain.clock import now
from chalicelib.domain.mail_links import LINK_LIFETIME
from chalicelib.domain.tracking import Marker, MarkerKey, WriteChunk, marker_recipient, recipient_key
from chalicelib.store.campaign_stats import SHARDS, counter_update
from chalicelib.store.models import Campaign, TrackingMarker

# A marker must outlive every open/click link of the campaign: it holds the unique counts. Each
# write pushes its expiry on; the event ids it holds are forgotten sooner (EVENT_ID_LIFETIME).
UNIQUE_MARKER_LIFETIME = LINK_LIFETIME + timedelta(days=1)


@cache
def _connection(region: str) -> Connection:
    return Connection(region=region)


def existing_markers(keys: set[MarkerKey]) -> dict[MarkerKey, Marker]:
    """{marker key: Marker} for the keys that exist (BatchGetItem, 100 keys a call)."""
    return {MarkerKey(item.campaign_recipient, item.scope): Marker(
                version=int(item.version), viewers=frozenset(item.viewers or ()),
                events=item.events.as_dict(), first_at=item.first_at, last_at=item.last_at,
                counted=int(item.counted), link=item.link)
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
            condition = (TrackingMarker.campaign_recipient.does_not_exist() if write.read_version is None
                         else TrackingMarker.version == write.read_version)
            transaction.save(TrackingMarker(campaign_recipient=write.key.recipient, scope=write.key.scope,
                                            version=marker.version, viewers=set(marker.viewers),
                                            events=dict(marker.events), first_at=marker.first_at,
                                            last_at=marker.last_at, counted=marker.counted,
                                            link=marker.link, expires_at=expires_at),
                             condition=condition)
        for (campaign_id, counter), amount in chunk.counters.items():
            item, actions = counter_update(campaign_id, counter, amount, shard)
            transaction.update(item, actions=actions)


def markers_of(account_id: str, addresses: Iterable[str]) -> list[tuple[str, TrackingMarker]]:
    """(campaign id, marker) for every marker of these addresses in the account's campaigns, by
    campaign: one Query per campaign and address (P16, P18). Reads only."""
    secret = hash_key()
    found: list[tuple[str, TrackingMarker]] = []
    for campaign in Campaign.query(account_id, attributes_to_get=["account_id", "campaign_id"]):
        campaign_id = campaign.campaign_id
        for address in sorted(set(addresses)):
            recipient = marker_recipient(campaign_id, recipient_key(secret, campaign_id, address))
            found.extend((campaign_id, marker) for marker in TrackingMarker.query(recipient))
    return found


def delete_markers(markers: Iterable[TrackingMarker]) -> int:
    """Delete the markers in batches; returns how many."""
    deleted = 0
    with TrackingMarker.batch_write() as batch:
        for marker in markers:
            batch.delete(marker)
            deleted += 1
    return deleted
