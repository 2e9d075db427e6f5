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
