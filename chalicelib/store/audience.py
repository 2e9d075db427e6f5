"""A campaign's audience, read a page at a time from the `by_list_status` index (never a Scan)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.domain.subscriptions import Contact, Status
from chalicelib.store.models import Subscriber
from chalicelib.store.subscribers import list_status_key


def confirmed_page(list_id: str, limit: int,
                   start: dict[str, Any] | None) -> tuple[list[Subscriber], dict[str, Any] | None]:
    """Up to `limit` confirmed entries of the list after `start`, and where the next page starts
    (None at the end). Confirmed entries carry no expiry, so nothing read here is stale."""
    result = Subscriber.by_list_status.query(list_status_key(list_id, Status.CONFIRMED), limit=limit,
                                             page_size=limit, last_evaluated_key=start)
    entries = list(result)
    return entries, result.last_evaluated_key


def key_after(entry: Subscriber) -> dict[str, Any]:
    """A start key that continues the index right after `entry`."""
    return {"list_status": {"S": entry.list_status}, "address": {"S": entry.address},
            "list_id": {"S": entry.list_id}}


def entries_on(list_id: str, addresses: Iterable[str]) -> list[Subscriber]:
    """The list's entries for these addresses, whatever their status (batched reads)."""
    return list(Subscriber.batch_get([(list_id, address) for address in set(addresses)]))


def contact_of(entry: Subscriber) -> Contact:
    """The contact data a message is composed from."""
    stored = entry.attributes
    attributes = stored.as_dict() if hasattr(stored, "as_dict") else dict(stored or {})
    return Contact(email=entry.email, name=entry.name, company=entry.company, phone=entry.phone,
                   website=entry.website, field_of_activity=entry.field_of_activity,
                   attributes={name: str(value) for name, value in attributes.items()})
