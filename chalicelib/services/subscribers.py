"""A list's subscribers as the account manages them through the API (P02, P17, P28).

Adding one is a signup (services/signups.api_signup): double opt-in and suppressions apply.
Every lookup goes through the account's own list, so another account's list is NotFound.
"""
from __future__ import annotations

from collections.abc import Callable

from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.errors import NotFound
from chalicelib.domain.subscriptions import Status, clean_changes
from chalicelib.store import audit
from chalicelib.store import subscribers as subscriber_store
from chalicelib.store.lists import get_list
from chalicelib.store.models import MailingList, Subscriber
from chalicelib.store.paging import view_bytes
from chalicelib.store.subscribers import consent_view as consent_view
from chalicelib.store.subscribers import tracking_view as tracking_view


def entry_of(account_id: str, list_id: str, email: str) -> tuple[MailingList, Subscriber]:
    """The account's list and the entry of `email` on it; NotFound naming the missing one."""
    mailing_list = get_list(account_id, list_id)
    subscriber = subscriber_store.get_subscriber(list_id, normalise_email(email, field="email"))
    if subscriber is None:
        raise NotFound("no such subscriber on this list", field="email")
    return mailing_list, subscriber


def entries_page(account_id: str, list_id: str, status: Status | None, limit: int,
                 cursor: str | None) -> tuple[MailingList, list[Subscriber], str | None]:
    """The list, one page of its entries (of one status, when given) and the next cursor."""
    mailing_list = get_list(account_id, list_id)
    items, next_cursor = subscriber_store.subscribers_page(list_id, status, limit, cursor,
                                                           shown_bytes(mailing_list))
    return mailing_list, items, next_cursor


def shown_bytes(mailing_list: MailingList | None) -> Callable[[Subscriber], int]:
    """How much an entry's view holds (UTF-8 of its JSON), for pages that must fit one answer:
    each view repeats the consent texts its person agreed to (P02), up to 5,000 letters each."""
    # Imported here: person_data loads the tracking rules, which the API's entry does not load
    # until a route needs them (cold start, issue 15).
    from chalicelib.store.person_data import subscription_view

    return lambda entry: view_bytes(subscription_view(entry, mailing_list))


def correct_entry(account_id: str, list_id: str, email: str,
                  body: dict[str, object]) -> tuple[MailingList, Subscriber]:
    """Apply validated contact-data corrections (the email is the key and cannot change). The
    attributes named are merged into the entry's (an empty one cleared), as a rectify request
    merges them (P17): the others are not erased by a correction that does not name them."""
    # Lazily: of the API's routes only this one and the privacy requests' use the privacy rules,
    # and the API's cold start serves any one route (issue 15).
    from chalicelib.domain.privacy import planned_rectification

    mailing_list, subscriber = entry_of(account_id, list_id, email)
    declared = mailing_list.declared_attributes or ()
    plan = planned_rectification(body, clean_changes(body, declared))
    current = subscriber.attributes.as_dict() if hasattr(subscriber.attributes, "as_dict") else {}
    subscriber_store.update_fields(subscriber, plan.changes_for(current, declared))
    return mailing_list, subscriber


def remove_entry(account_id: str, actor: str, list_id: str, email: str) -> None:
    """Delete the entry; its suppressions stay. The audit names the list, never the address."""
    _, subscriber = entry_of(account_id, list_id, email)
    subscriber_store.delete_subscriber(subscriber)
    audit.record(account_id, actor, "subscriber.deleted", list_id)
