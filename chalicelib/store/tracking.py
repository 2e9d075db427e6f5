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
A marker expires HISTORY_LIFETIME after its mail was sent (domain/tracking.py, P21): DynamoDB's
TTL deletes it, and every read here treats it as gone from then.
"""
from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from functools import cache

from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from chalicelib.config import hash_key
from chalicelib.domain.clock import now
from chalicelib.domain.suppression import address_hash
from chalicelib.domain.tracking import (
    HISTORY_LIFETIME,
    Marker,
    MarkerKey,
    WriteChunk,
    marker_recipient,
    recipient_key,
)
from chalicelib.store.campaign_stats import SHARDS, counter_update
from chalicelib.store.models import Campaign, MessagePurgeList, TrackingMarker


@cache
def _connection(region: str) -> Connection:
    return Connection(region=region)


def existing_markers(keys: set[MarkerKey]) -> dict[MarkerKey, Marker]:
    """{marker key: Marker} for the keys that exist and have not expired (BatchGetItem, 100 keys
    a call)."""
    at = now()
    return {MarkerKey(item.campaign_recipient, item.scope): Marker(
                version=int(item.version), viewers=frozenset(item.viewers or ()),
                events=item.events.as_dict(), first_at=item.first_at, last_at=item.last_at,
                counted=int(item.counted), link=item.link, expires_at=item.expires_at)
            for item in TrackingMarker.batch_get(list(keys)) if item.expires_at > at}


def write_chunk(chunk: WriteChunk) -> None:
    """Write the chunk's markers and add its counters, in one transaction on one random shard.

    Raises TransactWriteError when a marker is no longer as the batch read it (another worker
    counted events of that recipient meanwhile)."""
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
                                            link=marker.link,
                                            expires_at=marker.expires_at or now() + HISTORY_LIFETIME),
                             condition=condition)
        for (campaign_id, counter), amount in chunk.counters.items():
            item, actions = counter_update(campaign_id, counter, amount, shard)
            transaction.update(item, actions=actions)


def markers_of(account_id: str, addresses: Iterable[str], expired: bool = True,
               list_id: str | None = None) -> list[tuple[str, TrackingMarker]]:
    """(campaign id, marker) for every marker of these addresses in the account's campaigns, by
    campaign: one Query per campaign and address (P16, P18). Reads only. `expired=False` leaves
    out the markers past their expiry that TTL has not deleted yet (what an export shows);
    `list_id` keeps to the campaigns sent to that list."""
    key = hash_key()
    hashes = sorted({address_hash(address, key) for address in addresses})
    condition = None if expired else TrackingMarker.expires_at > now()
    found: list[tuple[str, TrackingMarker]] = []
    for campaign in Campaign.query(account_id, attributes_to_get=["account_id", "campaign_id", "list_ids"]):
        campaign_id = campaign.campaign_id
        if list_id is not None and list_id not in (campaign.list_ids or ()):
            continue
        for hashed in hashes:
            recipient = marker_recipient(campaign_id, recipient_key(key, campaign_id, hashed))
            found.extend((campaign_id, marker)
                         for marker in TrackingMarker.query(recipient, filter_condition=condition))
    return found


def markers_listed(purge_list: MessagePurgeList) -> Iterator[TrackingMarker]:
    """The markers of the recipients a campaign batch's purge list names (one Query each): how
    the markers go with their account (store/account_data.py), being keyed by nothing else."""
    if not purge_list.campaign_id:
        return
    key = hash_key()
    for raw in sorted(purge_list.recipients or ()):
        recipient = marker_recipient(purge_list.campaign_id,
                                     recipient_key(key, purge_list.campaign_id, raw.hex()))
        yield from TrackingMarker.query(recipient, attributes_to_get=["campaign_recipient", "scope"])


def delete_markers(markers: Iterable[TrackingMarker]) -> int:
    """Delete the markers in batches; returns how many."""
    deleted = 0
    with TrackingMarker.batch_write() as batch:
        for marker in markers:
            batch.delete(marker)
            deleted += 1
    return deleted
