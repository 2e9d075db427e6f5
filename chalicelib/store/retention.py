"""The purges' reads and deletes (P01, P21, P22-P25, P29): by due dates, a page at a time.

Message records, and the tracking markers TTL has not deleted by their mail's day 30, are
found through their purge lists (store/messages.py, store/tracking.py), other expiring items
through an index on the due day.

Each page is deleted before the next is read, so the progress of a run is in the table itself:
a run stopped by its timeout (or a crash) leaves nothing half-done, and the next run's query
simply no longer finds what was deleted. Deletes go in BatchWriteItem calls of 25 where a
deleted item can no longer change (message records, ended counter windows, a purged account);
a pending signup can be renewed by a new signup, and an ended entry replaced by its person's own
new signup, so those are deleted under a condition instead.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.domain.retention import ENDED_BUCKETS, due_buckets, undated_ending
from chalicelib.domain.subscriptions import ENDED, Status
from chalicelib.domain.tracking import MarkerKey
from chalicelib.store.account_data import ACCOUNT_TABLES, AccountItems
from chalicelib.store.account_lifecycle import every_account
from chalicelib.store.batch_writes import delete_all
from chalicelib.store.messages import due_lists, listed, records_of, still_held
from chalicelib.store.models import (
    MailingList,
    MessagePurgeList,
    MessageRecord,
    PrivacyExport,
    RateCounter,
    Subscriber,
    TidingsModel,
    TrackingMarker,
)
from chalicelib.store.subscribers import list_status_key
from chalicelib.store.tracking import expired_markers, markers_filed

# The message purge's count of the tracking markers it deleted, apart from the records.
MARKERS = "tracking_markers"
# Keys read per page; 40 BatchWriteItem calls delete one page.
PAGE_SIZE = 1000
# Message records (and markers) looked up together (BatchGetItem takes 100 keys a call).
RECORDS_CHECKED = 100
TimeLeft = Callable[[], bool]


@dataclass
class PurgeProgress:
    """How many items a purge deleted (or, in a dry run, found) and whether it finished; `also`
    counts, by name, what it deleted beside them (the message purge's MARKERS)."""

    count: int = 0
    complete: bool = True
    also: dict[str, int] = field(default_factory=dict)


def _pages(items: Iterable[TidingsModel]) -> Iterator[list[TidingsModel]]:
    iterator = iter(items)
    while page := list(islice(iterator, PAGE_SIZE)):
        yield page


# Tables whose items the daily purge finds through their `by_purge_day` index.
DatedModel = type[RateCounter] | type[Subscriber] | type[PrivacyExport]


def _expired(model: DatedModel, bucket: str, at: datetime) -> Iterator[TidingsModel]:
    return model.by_purge_day.query(bucket, model.expires_at <= at, page_size=PAGE_SIZE)


def count_expired(model: DatedModel, at: datetime, kind: str = "") -> int:
    """How many items of the model (of one kind of bucket) are past their expiry (dry run), from
    the keys-only index (RateCounter's `count` attribute hides PynamoDB's Select=COUNT helper)."""
    return sum(1 for bucket in due_buckets(at, kind) for _ in _expired(model, bucket, at))


def purge_expired(model: type[RateCounter] | type[PrivacyExport], at: datetime,
                  more_time: TimeLeft) -> PurgeProgress:
    """Delete the model's items expired by `at`, in batches; stops early when time runs out."""
    progress = PurgeProgress()
    for bucket in due_buckets(at):
        for page in _pages(_expired(model, bucket, at)):
            delete_all(model, page)
            progress.count += len(page)
            if not more_time():
                progress.complete = False
                return progress
    return progress


def count_due_messages(at: datetime) -> PurgeProgress:
    """How many message records, and tracking markers (`also`), are due to be erased by `at`
    (dry run): their lists' length."""
    progress = PurgeProgress(also={MARKERS: 0})
    for bucket in due_buckets(at):
        for purge_list in due_lists(bucket, at):
            progress.count += len(listed(purge_list))
            progress.also[MARKERS] += len(purge_list.markers or ())
    return progress


def purge_messages(at: datetime, more_time: TimeLeft) -> PurgeProgress:
    """Erase the message records and tracking markers due by `at` (P21), purge lists a group at a
    time: the group's records and markers that TTL has not deleted yet first (one BatchGetItem a
    table finds them among up to RECORDS_CHECKED keys: a transactional mail's list holds one),
    the emptied lists 25 to a call after them, so a run stopped midway finds again any list
    whose items it may not have deleted (deleting twice is harmless). Counts the records this
    run deleted, and the markers apart (`also`, MARKERS)."""
    progress = PurgeProgress(also={MARKERS: 0})
    emptied: list[MessagePurgeList] = []
    try:
        for bucket in due_buckets(at):
            group: list[MessagePurgeList] = []
            records: list[MessageRecord] = []
            markers: list[MarkerKey] = []
            for purge_list in due_lists(bucket, at):
                group.append(purge_list)
                records += records_of(purge_list)
                markers += markers_filed(purge_list)
                if len(records) + len(markers) >= min(RECORDS_CHECKED, PAGE_SIZE):
                    _erase_held(records, markers, at, progress)
                    emptied += group
                    group, records, markers = [], [], []
                    if not more_time():
                        progress.complete = False
                        return progress
            if group:
                _erase_held(records, markers, at, progress)
                emptied += group
                if not more_time():
                    progress.complete = False
                    return progress
    finally:
        delete_all(MessagePurgeList, emptied)
    return progress


def _erase_held(records: list[MessageRecord], markers: list[MarkerKey], at: datetime,
                progress: PurgeProgress) -> None:
    """Delete those of `records` still in the table, and of `markers` those past their own expiry
    (normally all: a list is due two days after the latest expiry it names; the check keeps P25
    whatever a list says); count both. A marker's expiry never moves once written, so one read
    expired is still expired when the unconditional batch delete reaches it.

    Both reads are eventually consistent (half the read units; issue 15): nothing a due list names
    is written in the days before it comes due. A record is written only while its job can still
    be delivered (SQS keeps one 14 days; its list is due on day 30), a marker only before its own
    expiry (an event of an older mail writes none, domain/tracking.plan_batch), two days before its
    list's deadline. What may land just before the read is a delete (an erasure, TTL), and a stale
    "still there" then costs only the delete of an item already gone."""
    held = still_held(records) if records else []
    delete_all(MessageRecord, held)
    progress.count += len(held)
    expired = expired_markers(markers, at) if markers else []
    delete_all(TrackingMarker, expired)
    progress.also[MARKERS] += len(expired)


def purge_expired_signups(at: datetime, more_time: TimeLeft) -> PurgeProgress:
    """Delete pending signups past their 7 days (P01). Each delete is conditional: a signup
    renewed since the index was read is a new consent with a new expiry, and stays (P25)."""
    still_expired = (Subscriber.status == Status.PENDING.value) & (Subscriber.expires_at <= at)
    return _delete_entries(due_buckets(at), still_expired, at, more_time)


def purge_ended_entries(at: datetime, more_time: TimeLeft) -> PurgeProgress:
    """Delete the entries that ended (unsubscribed, bounced, complained) their retention ago,
    with all their personal data (P29); the suppression's keyed hash, reason and date stay in
    the suppressions table. Conditional: an entry its person signed up to again since the index
    was read is a new consent, and stays (P25)."""
    still_ended = Subscriber.status.is_in(*(status.value for status in ENDED)) & (Subscriber.expires_at <= at)
    return _delete_entries(due_buckets(at, ENDED_BUCKETS), still_ended, at, more_time)


def date_undated_ended_entries(at: datetime, retention: timedelta, more_time: TimeLeft) -> PurgeProgress:
    """Give a deletion date to the ended entries written before endings were dated (P29
    backfill): their `updated_at` is when they ended (the ending was their last write), so they
    go `retention` after it, in a purge bucket the ended-entries purge reads today or later.

    Walks every account's lists by index (accounts by activity, lists by account, entries by
    list and status), never a Scan; the time is checked after each entry dated and each list
    walked, and an entry dated on an earlier run no longer matches the filter, so a run stopped by
    its time share costs the next one only the index reads. The
    update is conditional: an entry written since it was read (signed up to again) is left
    alone (P25)."""
    progress = PurgeProgress()
    undated = Subscriber.ended_at.does_not_exist()
    for account in every_account():
        for mailing_list in MailingList.by_account.query(account.account_id):
            for status in ENDED:
                key = list_status_key(mailing_list.list_id, status)
                for entry in Subscriber.by_list_status.query(key, filter_condition=undated):
                    _date_ending(entry, at, retention)
                    progress.count += 1
                    # A list of a million ended entries must not run the step past its time.
                    if not more_time():
                        return PurgeProgress(progress.count, complete=False)
            if not more_time():
                return PurgeProgress(progress.count, complete=False)
    return progress


def _date_ending(entry: Subscriber, at: datetime, retention: timedelta) -> None:
    ending = undated_ending(entry.updated_at, at, retention, f"{entry.list_id}#{entry.address}")
    try:
        entry.update(actions=[Subscriber.ended_at.set(ending.ended_at),
                              Subscriber.expires_at.set(ending.expires_at),
                              Subscriber.purge_bucket.set(ending.purge_bucket)],
                     condition=(Subscriber.updated_at == entry.updated_at)
                     & Subscriber.status.is_in(*(status.value for status in ENDED)))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def _delete_entries(buckets: list[str], condition: Any, at: datetime, more_time: TimeLeft) -> PurgeProgress:
    progress = PurgeProgress()
    for bucket in buckets:
        for page in _pages(_expired(Subscriber, bucket, at)):
            for entry in page:
                try:
                    Subscriber(list_id=entry.list_id, address=entry.address).delete(condition=condition)
                    progress.count += 1
                except DeleteError as exc:
                    if exc.cause_response_code != "ConditionalCheckFailedException":
                        raise
            if not more_time():
                progress.complete = False
                return progress
    return progress


def purge_account(account_id: str, content_only: bool, more_time: TimeLeft) -> tuple[dict[str, int], bool]:
    """Delete the account's items table by table, in ACCOUNT_TABLES order: only its content
    (P22), or everything including the account record (P23, P24). Returns counts per table
    and whether it finished."""
    counts: dict[str, int] = {}
    started = False
    for model, coverage in ACCOUNT_TABLES.items():
        if not isinstance(coverage, AccountItems) or (content_only and not coverage.content):
            continue
        if started and not more_time():  # finding a table's items costs calls too
            return counts, False
        started = True
        # Time is checked before a page goes, never after: once the last page (the account
        # record) has gone the purge is done, and a later run could not find the account to
        # finish and audit it (P25).
        for number, page in enumerate(_pages(coverage.find(account_id))):
            if number and not more_time():
                return counts, False
            delete_all(model, page)
            counts[model.Meta.logical_name] = counts.get(model.Meta.logical_name, 0) + len(page)
    return counts, True
