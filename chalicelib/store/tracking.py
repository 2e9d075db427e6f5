"""What the tracking worker writes: markers, each one conditional put (whole item, conditioned on
the marker being as the batch read it), then one delta a campaign (store/campaign_stats.py);
and a person's markers, found by key for their export (P16) and erasure (P18).

No transaction: domain/tracking.py explains how a marker's `by` fields keep the counts exact when
a Lambda dies between its markers and its delta. A marker another worker wrote meanwhile (its
version moved on) is not written: that marker's events fail and SQS redelivers them, to be
planned again from the marker as it now is.

A person's markers are found without a Scan: for each campaign of the account (a Query) and each
of their addresses, the keyed hash gives the hash key of all their markers in it (a Query).
A marker expires HISTORY_LIFETIME after its mail was sent (domain/tracking.py, P21): DynamoDB's
TTL usually deletes it, and the worker's reads treat it as gone from then; a person's export
still shows it while it is stored (P16, P20). TTL has no deadline: before writing the markers it
creates, a batch files their keys in a purge list due on their mail's day 30 (`list_new_markers`,
one PutItem per account and day, store/messages.py), and on that day the daily purge deletes
those TTL left (`markers_filed`, `expired_markers`; store/retention.py). A Query per recipient
would not keep up with a big campaign.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from pynamodb.exceptions import PutError

from chalicelib.config import hash_key
from chalicelib.domain.clock import now
from chalicelib.domain.suppression import address_hash
from chalicelib.domain.tracking import (
    HISTORY_LIFETIME,
    Marker,
    MarkerKey,
    MarkerWrite,
    marker_recipient,
    new_marker_lists,
    pack_marker_key,
    recipient_key,
    unpack_marker_key,
)
from chalicelib.store.batch_writes import delete_all
from chalicelib.store.messages import file_purge_list, unlist_packed
from chalicelib.store.models import Campaign, MessagePurgeList, TrackingMarker


def existing_markers(keys: set[MarkerKey]) -> dict[MarkerKey, Marker]:
    """{marker key: Marker} for the keys that exist and have not expired (BatchGetItem, 100 keys
    a call)."""
    at = now()
    return {MarkerKey(item.campaign_recipient, item.scope): Marker(
                version=int(item.version), viewers=frozenset(item.viewers or ()),
                events=item.events.as_dict(), first_at=item.first_at, last_at=item.last_at,
                counted=int(item.counted), link=item.link, expires_at=item.expires_at,
                by=item.by, by_at=item.by_at,
                by_counts={name: int(value) for name, value in (item.by_counts.as_dict()
                                                                if item.by_counts else {}).items()},
                purge_list=item.purge_list)
            for item in TrackingMarker.batch_get(list(keys)) if item.expires_at > at}


def list_new_markers(writes: list[MarkerWrite]) -> dict[MarkerKey, str]:
    """File the markers these writes create for the daily purge on their mail's day 30 (P21):
    one list (a PutItem) per account and due day, usually one a batch; keys only. Call it before
    writing them, so no marker is ever held that no list names; a redelivered batch creates the
    same markers and rewrites the same list (its key follows from them). {marker key: its list's
    key}, for each marker to name its list."""
    lists: dict[MarkerKey, str] = {}
    for filed in new_marker_lists(writes):
        packed = sorted(pack_marker_key(key) for key in filed.keys)
        list_key = file_purge_list(filed.account_id, ["markers", *(raw.hex() for raw in packed)], filed.due,
                                   markers=set(packed))
        lists.update(dict.fromkeys(filed.keys, list_key))
    return lists


def markers_filed(purge_list: MessagePurgeList) -> list[MarkerKey]:
    """The keys of the markers a tracking batch's purge list names (none for a send batch's)."""
    return [unpack_marker_key(raw) for raw in sorted(purge_list.markers or ())]


def expired_markers(keys: list[MarkerKey], at: datetime) -> list[TrackingMarker]:
    """Those of these markers still held whose own expiry has passed by `at` (P25: one still within
    its period is left alone): BatchGetItem of 100, keys and expiry only (half a read unit each,
    found or not)."""
    found = TrackingMarker.batch_get([tuple(key) for key in keys],
                                     attributes_to_get=["campaign_recipient", "scope", "expires_at"])
    return [marker for marker in found if marker.expires_at <= at]


def write_marker(write: MarkerWrite, purge_list: str | None = None) -> bool:
    """Put the marker's new state if it is still as the batch read it, naming `purge_list` (a new
    marker's) or the list it named; False when another worker changed it meanwhile (nothing
    written)."""
    marker = write.marker
    condition = (TrackingMarker.campaign_recipient.does_not_exist() if write.read_version is None
                 else TrackingMarker.version == write.read_version)
    item = TrackingMarker(campaign_recipient=write.key.recipient, scope=write.key.scope,
                          version=marker.version, viewers=set(marker.viewers), events=dict(marker.events),
                          first_at=marker.first_at, last_at=marker.last_at, counted=marker.counted,
                          link=marker.link, by=marker.by, by_at=marker.by_at,
                          by_counts=dict(marker.by_counts),
                          expires_at=marker.expires_at or now() + HISTORY_LIFETIME,
                          purge_list=purge_list or marker.purge_list)
    try:
        item.save(condition=condition)
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def markers_of(account_id: str, addresses: Iterable[str],
               list_id: str | None = None) -> list[tuple[str, TrackingMarker]]:
    """(campaign id, marker) for every stored marker of these addresses in the account's
    campaigns, by campaign: one Query per campaign and address (P16, P18). Reads only. Markers
    past their expiry that TTL has not deleted yet are included: they are still held (P20).
    `list_id` keeps to the campaigns sent to that list."""
    key = hash_key()
    hashes = sorted({address_hash(address, key) for address in addresses})
    found: list[tuple[str, TrackingMarker]] = []
    for campaign in Campaign.query(account_id, attributes_to_get=["account_id", "campaign_id", "list_ids"]):
        campaign_id = campaign.campaign_id
        if list_id is not None and list_id not in (campaign.list_ids or ()):
            continue
        for hashed in hashes:
            recipient = marker_recipient(campaign_id, recipient_key(key, campaign_id, hashed))
            found.extend((campaign_id, marker)
                         for marker in TrackingMarker.query(recipient))
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


def unlist_markers(markers: Iterable[TrackingMarker]) -> int:
    """Take these markers' keys off the purge lists they name (their recipient's erasure, P18):
    one update per list, no read; how many lists were changed."""
    by_list: dict[str, set[bytes]] = {}
    for marker in markers:
        if marker.purge_list:  # markers written before they named their list have none
            key = MarkerKey(marker.campaign_recipient, marker.scope)
            by_list.setdefault(marker.purge_list, set()).add(pack_marker_key(key))
    return unlist_packed(by_list)


def delete_markers(markers: Iterable[TrackingMarker]) -> int:
    """Delete the markers in batches; returns how many."""
    return delete_all(TrackingMarker, markers)
