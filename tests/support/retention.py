"""A frozen clock for the retention and timeline tests, and message records to purge."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

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


def campaign_mail(account_id: str, list_id: str, campaign_id: str, address: str) -> None:
    """A campaign mail to `address` as the campaign sender leaves it: its batch's purge list
    (naming the recipient's keyed hash), then its record."""
    from chalicelib.config import hash_key
    from chalicelib.domain.message_ids import campaign_message_id
    from chalicelib.domain.suppression import address_hash
    from chalicelib.store import messages

    hashed = address_hash(address, hash_key())
    messages.list_campaign_for_purge(account_id, campaign_id, [hashed])
    assert messages.claim(hashed, campaign_message_id(campaign_id, hashed), account_id, "campaign",
                          campaign_id=campaign_id, list_id=list_id)


def stored_markers() -> list[tuple[str, str]]:
    """(hash key, scope) of every tracking marker stored, expired or not (TTL never runs in moto)."""
    from chalicelib.store.models import TrackingMarker

    return sorted((marker.campaign_recipient, marker.scope) for marker in TrackingMarker.scan())


def marker_lists() -> list[list[tuple[str, ...]]]:
    """The marker keys each stored purge list names, for the lists that name markers."""
    from chalicelib.store.models import MessagePurgeList
    from chalicelib.store.tracking import markers_filed

    return sorted(sorted(tuple(key) for key in markers_filed(purge_list))
                  for purge_list in MessagePurgeList.scan() if purge_list.markers)


def reader_tracked(client: Any, account: dict[str, Any], sent_day: float = 0) -> dict[str, str]:
    """A READER mailed a campaign on day 0 who opened it and clicked on day 1, the mail's token
    saying it was sent on `sent_day`: the tracking worker created their two markers and filed
    them. The list and campaign ids."""
    from tests.support.tracking import READER, mailed_reader, opened_and_clicked

    with on_day(0):
        mailed = mailed_reader(client, account)
    with on_day(1):
        opened_and_clicked(account["account_id"], mailed["list_id"], mailed["campaign_id"], READER,
                           sent_at=day(sent_day))
    return mailed


def marker_lists_in_purge_order(sizes: list[int]) -> None:
    """Marker purge lists due on day 30 in one purge bucket (the same day and shard), naming
    `sizes` markers each in the order the purge reads them (a bucket's lists sort by due time,
    then list id), of mails sent on day 0 (expired on day 28, TTL late)."""
    import hashlib

    from chalicelib.domain.retention import purge_bucket
    from chalicelib.domain.tracking import Action, pack_marker_key, plan_batch
    from chalicelib.store import tracking as tracking_store
    from chalicelib.store.messages import file_purge_list
    from tests.support.tracking import tracking_event

    events = [tracking_event(f"open-{n}", at=day(1), address=f"reader{n}@example.com", action=Action.OPEN,
                             sent_at=day(0)) for n in range(sum(sizes))]
    recipients = {event.event_id: hashlib.sha256(event.address.encode()).hexdigest()[:32] for event in events}
    with on_day(1):
        writes = plan_batch(events, {}, recipients, day(1), "batch").writes
        assert all(tracking_store.write_marker(write) for write in writes)
    keys = sorted(pack_marker_key(write.key) for write in writes)
    # A one-part identity's list id is the sha256 of the identity itself (file_purge_list).
    ids = {hashlib.sha256(f"markers-{n}".encode()).hexdigest()[:32]: f"markers-{n}" for n in range(1000)}
    bucket = purge_bucket(day(30), min(ids))
    in_bucket = sorted(list_id for list_id in ids if purge_bucket(day(30), list_id) == bucket)[:len(sizes)]
    start = 0
    for list_id, size in zip(in_bucket, sizes, strict=True):
        file_purge_list("acc_1", [ids[list_id]], day(30), markers=set(keys[start:start + size]))
        start += size
