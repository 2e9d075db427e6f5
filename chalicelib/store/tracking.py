"""What the tracking worker writes: markers, each one conditional put (whole item, conditioned on
the marker being as the batch read it), then one delta a campaign (store/campaign_stats.py);
and a person's markers, found by key for their export (P16) and erasure (P18).

No transaction: domain/tracking.py explains how a marker's `by` fields keep the counts exact when
a Lambda dies between its markers and its delta. A marker another worker wrote meanwhile (its
version moved on) is not written: that marker's events fail and SQS redelivers them, to be
planned again from the marker as it now is.

A person's markers are found without a Scan: for each campaign of the account (a Query) and each
of their addresses, the keyed hash gives the hash key of all their markers in it (a Query).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from pynamodb.exceptions import PutError

from chalicelib.config import hash_key
from chalicelib.domain.clock import now
from chalicelib.domain.mail_links import LINK_LIFETIME
from chalicelib.domain.tracking import Marker, MarkerKey, MarkerWrite, marker_recipient, recipient_key
from chalicelib.store.models import Campaign, TrackingMarker

# A marker must outlive every open/click link of the campaign: it holds the unique counts. Each
# write pushes its expiry on; the event ids it holds are forgotten sooner (EVENT_ID_LIFETIME).
UNIQUE_MARKER_LIFETIME = LINK_LIFETIME + timedelta(days=1)


def existing_markers(keys: set[MarkerKey]) -> dict[MarkerKey, Marker]:
    """{marker key: Marker} for the keys that exist (BatchGetItem, 100 keys a call)."""
    return {MarkerKey(item.campaign_recipient, item.scope): Marker(
                version=int(item.version), viewers=frozenset(item.viewers or ()),
                events=item.events.as_dict(), first_at=item.first_at, last_at=item.last_at,
                counted=int(item.counted), link=item.link, by=item.by, by_at=item.by_at,
                by_counts={name: int(value) for name, value in (item.by_counts.as_dict()
                                                                if item.by_counts else {}).items()})
            for item in TrackingMarker.batch_get(list(keys))}


def write_marker(write: MarkerWrite) -> bool:
    """Put the marker's new state if it is still as the batch read it; False when another worker
    changed it meanwhile (nothing written)."""
    marker = write.marker
    condition = (TrackingMarker.campaign_recipient.does_not_exist() if write.read_version is None
                 else TrackingMarker.version == write.read_version)
    item = TrackingMarker(campaign_recipient=write.key.recipient, scope=write.key.scope,
                          version=marker.version, viewers=set(marker.viewers), events=dict(marker.events),
                          first_at=marker.first_at, last_at=marker.last_at, counted=marker.counted,
                          link=marker.link, by=marker.by, by_at=marker.by_at,
                          by_counts=dict(marker.by_counts),
                          expires_at=now() + UNIQUE_MARKER_LIFETIME)
    try:
        item.save(condition=condition)
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


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
