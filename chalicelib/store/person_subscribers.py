"""One person's subscriber entries across an account's lists, for data-subject requests (P16-P18).

By email, the `by_account_address` index finds them directly. By phone there is no index (the
phone is not a key): each of the account's lists is queried with a filter — reads grow with the
lists' sizes, but never a table Scan. Expired pending entries are included on purpose: they are
still stored, so access shows them and erasure deletes them.

An email and a phone are one person only where that entry's person confirmed the number by code:
otherwise anyone could type someone else's number (or address) on a form and then, through their
own request, suppress, delete or see what the account holds under the other's. A number typed on
a signup back (P12), waiting in an entry's `returning` map, is held there too, and is never proven.
"""
from __future__ import annotations

from pynamodb.exceptions import UpdateError

from chalicelib.domain.clock import now
from chalicelib.domain.privacy import Person, Rectification, Subject, SubjectKind
from chalicelib.domain.subscriptions import TRANSITIONS, Status
from chalicelib.store import campaign_stats
from chalicelib.store.batch_writes import delete_all
from chalicelib.store.lists import find_list
from chalicelib.store.models import MailingList, Subscriber
from chalicelib.store.subscribers import (
    account_address_key,
    end_entry_counted,
    ending_actions,
    phone_is_confirmed,
    update_fields,
)

# Statuses an objection may end (P17): the state machine's own allowed moves to unsubscribed.
_MAY_UNSUBSCRIBE = [status.value for status, targets in TRANSITIONS.items()
                    if status and Status.UNSUBSCRIBED in targets]


def _by_email(account_id: str, email: str) -> list[Subscriber]:
    return list(Subscriber.by_account_address.query(account_address_key(account_id, email)))


def _by_phone(account_id: str, phone: str) -> list[Subscriber]:
    """The entries holding the number: as their own, or typed on a signup back waiting beside them."""
    found: list[Subscriber] = []
    held_there = (Subscriber.phone == phone) | (Subscriber.returning.phone == phone)
    for mailing_list in MailingList.by_account.query(account_id):
        found.extend(Subscriber.query(mailing_list.list_id, filter_condition=held_there))
    return found


def find_person(account_id: str, subject: Subject) -> Person:
    """The subject with the emails and phones its entries in the account prove are theirs: only
    an entry whose number its person confirmed ties that number to that email. A number typed
    unconfirmed on someone else's entry is kept apart, as `phone_only_entries`."""
    if subject.kind is SubjectKind.EMAIL:
        entries = _by_email(account_id, subject.value)
        phones = frozenset(e.phone for e in entries if phone_is_confirmed(e))
        # A number she proved is hers wherever it is typed: a request by it would reach those copies.
        copies = frozenset().union(*(_phone_only(_by_phone(account_id, phone), phone)
                                     for phone in sorted(phones)))
        return Person(account_id, frozenset({subject.value}), phones, copies)
    entries = _by_phone(account_id, subject.value)
    return Person(account_id, _proven_emails(entries, subject.value), frozenset({subject.value}),
                  _phone_only(entries, subject.value))


def _proven_emails(entries: list[Subscriber], phone: str) -> frozenset[str]:
    """The emails whose entries confirmed `phone` as their own number: an entry found by the
    number on its signup back proves nothing by its own number's confirmation."""
    return frozenset(e.email for e in entries if e.phone == phone and phone_is_confirmed(e))


def _phone_only(entries: list[Subscriber], phone: str) -> frozenset[tuple[str, str]]:
    """The keys of the entries (all holding `phone`) whose person never proved it theirs."""
    emails = _proven_emails(entries, phone)
    return frozenset((e.list_id, e.address) for e in entries if e.email not in emails)


def entries_of(person: Person) -> list[Subscriber]:
    """Every stored entry of the person's emails in the account, by list."""
    entries = [entry for email in sorted(person.emails) for entry in _by_email(person.account_id, email)]
    return sorted(entries, key=lambda e: (e.list_id, e.address))


def phone_only_entries_of(person: Person) -> list[Subscriber]:
    """The other people's entries that carry the person's number unconfirmed, by list."""
    keys = sorted(person.phone_only_entries)
    return sorted(Subscriber.batch_get(keys), key=lambda e: (e.list_id, e.address)) if keys else []


def remove_phone(entry: Subscriber, phones: frozenset[str]) -> None:
    """Take the holder's numbers (and any code sent to one) off an entry that is not theirs, and
    off a signup back waiting beside it: the holder erased them (P18); the entry and the rest of
    the signup stay its own person's."""
    if entry.phone in phones:
        update_fields(entry, {"phone": None, "phone_consent": None})
    if entry.returning is None or entry.returning.phone not in phones:
        return
    try:  # only while the number is there: a signup back since typed with another is not theirs
        entry.update(actions=[Subscriber.returning.phone.remove(), Subscriber.updated_at.set(now())],
                     condition=Subscriber.returning.phone.is_in(*sorted(phones)))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def lists_of(entries: list[Subscriber]) -> dict[str, MailingList]:
    """The lists these entries are on, read once each."""
    found = {list_id: find_list(list_id) for list_id in {entry.list_id for entry in entries}}
    return {list_id: mailing_list for list_id, mailing_list in found.items() if mailing_list}


def restrict(entry: Subscriber) -> None:
    """Keep the entry but stop all mail to it (P17): sending skips restricted entries."""
    entry.update(actions=[Subscriber.restricted.set(True), Subscriber.updated_at.set(now())],
                 condition=Subscriber.address.exists())


def unrestrict(entry: Subscriber) -> bool:
    """Lift the entry's restriction (P17): a confirmed entry is mailed again. False, changing
    nothing, when it was not restricted."""
    try:
        entry.update(actions=[Subscriber.restricted.set(False), Subscriber.updated_at.set(now())],
                     condition=Subscriber.address.exists() & (Subscriber.restricted == True))  # noqa: E712
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def unsubscribe(entry: Subscriber, campaign_id: str | None = None) -> bool:
    """End the entry as unsubscribed (objection, P17); False when it had already ended.

    With `campaign_id` (the person came from that campaign's mail to this entry) the campaign
    counts one unsubscribe in the same transaction, as the mail's /u/ link does (P13): only
    when the entry ends now, so a repeat counts nothing more.
    Like every ended entry, its personal data is deleted 30 days on (P29).
    """
    if campaign_id:
        return end_entry_counted(entry.account_id, entry.list_id, entry.address, Status.UNSUBSCRIBED,
                                 campaign_stats.counter_update(campaign_id, campaign_stats.UNSUBSCRIBES))
    try:
        entry.update(
            actions=ending_actions(entry.list_id, entry.address, Status.UNSUBSCRIBED),
            condition=Subscriber.status.is_in(*_MAY_UNSUBSCRIBE),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def rectify(entry: Subscriber, mailing_list: MailingList, change: Rectification) -> bool:
    """Apply the rectification to one entry; False when nothing applies to its list, or when
    the entry went since it was read (a racing erasure or purge: it is not written back)."""
    current = entry.attributes.as_dict() if hasattr(entry.attributes, "as_dict") else {}
    changes = change.changes_for(current, mailing_list.declared_attributes or ())
    if not changes:
        return False
    try:
        update_fields(entry, changes)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def delete_entries(entries: list[Subscriber]) -> int:
    """Delete the entries in batches; returns how many."""
    return delete_all(Subscriber, entries)
