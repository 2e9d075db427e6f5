"""Message records (P21): one per sent message, erased 30 days after sending.

A record is keyed by the recipient's keyed hash (never the address or number) and the
deterministic message id, so one conditional put both claims the message (exactly-once sending)
and files it where access, erasure and STOP replies look (a Query on the hash, no index).
It is written once: one write per mail is most of what a mail costs Tidings in DynamoDB.

The daily purge finds due records through purge lists (one item per send batch, listing the
batch's record keys) instead of an index on the expiry day: an index would add a write to every
record and another to every delete, where a campaign batch's list of 100 costs 4 write units to
write and 4 to delete. A record's TTL is set two days early (MESSAGE_RECORD_TTL), so DynamoDB has
usually deleted it, free, by the time its list is due; the purge then deletes only what is left.

A tracking batch files the markers it creates (a reader's open and click history, P21) in the
same table, under their mail's day 30 (store/tracking.py): a marker's TTL is also set two days
early, and the same daily purge deletes what TTL left of it, found through its list.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from pynamodb.exceptions import PutError
from pynamodb.expressions.update import Action

from chalicelib.domain.clock import now
from chalicelib.domain.message_ids import campaign_message_id
from chalicelib.domain.retention import (
    MESSAGE_RECORD_TTL,
    MESSAGE_RETENTION,
    PURGE_LIST_EXTRA_LIFETIME,
    purge_bucket,
)
from chalicelib.domain.sent_message import SentMessage
from chalicelib.store.batch_writes import delete_all
from chalicelib.store.conditions import updated_if
from chalicelib.store.models import MessagePurgeList, MessageRecord, TrackingMarker
from chalicelib.store.transactions import save_new_with_updates

# What names a purge list: a message record, or a tracking marker (store/tracking.py).
Listed = TypeVar("Listed", MessageRecord, TrackingMarker)
# Purge lists an erasure updates before it deletes what they name: 12 rounds of MAX_IN_FLIGHT
# updates, then about 4 BatchWriteItems of deletes.
LISTS_A_STEP = 96
# SQS keeps a message at most 14 days: no redrive can come after an unsent record expires.
UNSENT_LIFETIME = timedelta(days=15)


class Claimed(Enum):
    NEW = "new"
    # It took an `unsent` record (mark_unsent): its failure is counted, counting it sent takes
    # that back.
    AFTER_FAILURE = "after_failure"


def claim(recipient_hash: str, message_id: str, account_id: str, kind: str,
          campaign_id: str | None = None, list_id: str | None = None, count_batch: str | None = None,
          purge_list: str | None = None) -> Claimed | None:
    """Record that this message is being sent now, to be counted by `count_batch`
    (store/sent_counts.py); None when it was already claimed (a duplicate). A Lambda that dies
    between the claim and the provider's answer leaves a record of a mail that may not have gone:
    sending is at most once, never twice (services/sending/counting.py counts such a mail as
    failed). An `unsent` record is taken over once, by one conditional put (only a duplicate
    pays it)."""
    sent_at = now()
    record = MessageRecord(recipient_hash=recipient_hash, message_id=message_id, account_id=account_id,
                           kind=kind, campaign_id=campaign_id, list_id=list_id, sent_at=sent_at,
                           expires_at=sent_at + MESSAGE_RECORD_TTL, count_batch=count_batch,
                           purge_list=purge_list)
    if _put_if(record, MessageRecord.message_id.does_not_exist()):
        return Claimed.NEW
    record.failure_counted = True
    return Claimed.AFTER_FAILURE if _put_if(record, MessageRecord.unsent.exists()) else None


def _put_if(record: MessageRecord, condition: Any) -> bool:
    try:
        record.save(condition=condition)
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def release(recipient_hash: str, message_id: str) -> None:
    """Undo a claim after a failed send, so the redelivered job can try again."""
    MessageRecord(recipient_hash=recipient_hash, message_id=message_id).delete()


def unsent_record(recipient_hash: str, message_id: str, account_id: str, kind: str,
                  campaign_id: str | None, list_id: str | None) -> MessageRecord:
    """The record of a mail counted as failed and never sent: kept while SQS could still redrive
    its job (UNSENT_LIFETIME), so a redrive that sends it knows its failure was counted."""
    at = now()
    return MessageRecord(recipient_hash=recipient_hash, message_id=message_id, account_id=account_id,
                         kind=kind, campaign_id=campaign_id, list_id=list_id, sent_at=at,
                         expires_at=at + UNSENT_LIFETIME, unsent=True)


def mark_unsent(record: MessageRecord, counters: list[tuple[Any, list[Any]]]) -> bool:
    """Save an `unsent_record` in one transaction with its failure's `counters`; False (nothing
    counted) when the message is claimed already."""
    return save_new_with_updates(record, MessageRecord.message_id.does_not_exist(), counters)


def claim_of(recipient_hash: str, message_id: str) -> MessageRecord | None:
    """The record of a claimed message (one consistent GetItem), or None when it is gone."""
    try:
        return MessageRecord.get(recipient_hash, message_id, consistent_read=True)
    except MessageRecord.DoesNotExist:
        return None


def list_for_purge(account_id: str, messages: Mapping[str, str]) -> str | None:
    """File the records that sending `messages` ({message id: recipient hash}) may write, for the
    purge 30 days from now; the list's key, for the records to name. Call it before claiming
    them; repeating it for the same messages (a redelivered job) rewrites the same list."""
    return _save_list(account_id, sorted(messages), messages=dict(messages))


def list_campaign_for_purge(account_id: str, campaign_id: str, recipient_hashes: Iterable[str]) -> str | None:
    """list_for_purge for a campaign batch, whose message ids follow from the recipients."""
    hashes = sorted(set(recipient_hashes))
    if not hashes:
        return None
    return _save_list(account_id, [campaign_id, *hashes], campaign_id=campaign_id,
                      recipients={bytes.fromhex(hashed) for hashed in hashes})


def file_purge_list(account_id: str, identity: list[str], due: datetime, **content: Any) -> str | None:
    """Save a purge list due at `due` whose key follows from `identity` (what it lists), so saving
    it again rewrites it (store/tracking.py files the markers a tracking batch creates so); its
    key (purge_list_key), or None when it lists nothing."""
    if not identity:
        return None
    list_id = hashlib.sha256("|".join(identity).encode()).hexdigest()[:32]
    purge_list = MessagePurgeList(purge_bucket=purge_bucket(due, list_id),
                                  entry=f"{_sortable(due)}#{list_id}", account_id=account_id,
                                  expires_at=due + PURGE_LIST_EXTRA_LIFETIME, **content)
    purge_list.save()
    return purge_list_key(purge_list)


def purge_list_key(purge_list: MessagePurgeList) -> str:
    """A purge list's key as one string (bucket and entry hold no `|`)."""
    return f"{purge_list.purge_bucket}|{purge_list.entry}"


def _list_table_key(list_key: str) -> tuple[str, str]:
    """(bucket, entry) of a purge list's key as purge_list_key writes it."""
    bucket, _, entry = list_key.partition("|")
    return bucket, entry


def _save_list(account_id: str, identity: list[str], **content: Any) -> str | None:
    """A send batch's list: its records are due 30 days from now, when it is filed (P21)."""
    return file_purge_list(account_id, identity, now() + MESSAGE_RETENTION, **content)


def unlist(records: Iterable[MessageRecord]) -> int:
    """Take these records off the purge lists they name (their recipient's erasure, P18): the
    recipient's keyed hash leaves a campaign batch's `recipients`, the message another list's
    `messages`. One update per list, no read (which kind of list a record is on follows from its
    message id); how many lists were changed. Each update takes only its own elements off
    (DynamoDB's DELETE of set elements, REMOVE of map keys): two people of one list erased at
    once never write back the other's hash. The updates go a few at a time (store/concurrent_writes.py)."""
    on_list: dict[str, list[MessageRecord]] = {}
    for record in records:
        if record.purge_list:  # records written before records named their list have none
            on_list.setdefault(record.purge_list, []).append(record)
    return _rewrite_all([(list_key, _taking_off(held)) for list_key, held in sorted(on_list.items())])


def unlist_then_delete(model: type[Listed], items: Iterable[Listed],
                       unlist_items: Callable[[list[Listed]], int]) -> int:
    """Take `items` (a person's records or markers) off the purge lists they name with
    `unlist_items`, then delete them, LISTS_A_STEP lists at a time: an item goes only once its
    list no longer names it, so an erasure cut short (the API's 29 s) leaves no list naming what
    is gone (P18), and, made again, finds only what is left. Items naming no list are the
    caller's to delete. How many lists were changed."""
    on_list: dict[str, list[Listed]] = {}
    for item in items:
        if item.purge_list:
            on_list.setdefault(item.purge_list, []).append(item)
    list_keys, changed = sorted(on_list), 0
    for start in range(0, len(list_keys), LISTS_A_STEP):
        step = [item for list_key in list_keys[start:start + LISTS_A_STEP] for item in on_list[list_key]]
        changed += unlist_items(step)
        delete_all(model, step)
    return changed


def _taking_off(records: list[MessageRecord]) -> list[Action]:
    """The actions that take `records` (all named by one list) off it."""
    if all(_on_campaign_list(record) for record in records):
        # A set left empty goes with its last element, as DynamoDB keeps no empty set.
        return [MessagePurgeList.recipients.delete({bytes.fromhex(r.recipient_hash) for r in records})]
    return [MessagePurgeList.messages[record.message_id].remove() for record in records]


def _on_campaign_list(record: MessageRecord) -> bool:
    """A campaign batch's record (list_campaign_for_purge) has the campaign's id for its
    recipient; every other send's (list_for_purge) an id of its own."""
    return bool(record.campaign_id) and record.message_id == campaign_message_id(
        record.campaign_id, record.recipient_hash)


def _rewrite_all(rewrites: list[tuple[str, list[Action]]]) -> int:
    """_rewrite each (list key, actions), independent updates issued concurrently; how many lists
    still existed. The first failed update is raised."""
    # Here: only an erasure pools updates; every sender imports this module (cold start, issue 15).
    from chalicelib.store.concurrent_writes import write_concurrently

    return write_concurrently(lambda rewrite: _rewrite(*rewrite), rewrites)


def _rewrite(list_key: str, actions: list[Action]) -> bool:
    """Apply `actions` to a purge list that still exists; False when the purge deleted it (an
    update would otherwise create a bare item that no purge finds again)."""
    bucket, entry = _list_table_key(list_key)
    return updated_if(MessagePurgeList(purge_bucket=bucket, entry=entry), actions,
                      MessagePurgeList.entry.exists())


def unlist_packed(by_list: Mapping[str, set[bytes]]) -> int:
    """Take these packed marker keys ({list key: keys}) off the tracking batches' purge lists
    (store/tracking.py), only them, as unlist does; how many lists were changed (a list the
    purge deleted already is not)."""
    return _rewrite_all([(list_key, [MessagePurgeList.markers.delete(packed)])
                         for list_key, packed in sorted(by_list.items())])


def due_lists(bucket: str, at: datetime) -> Iterator[MessagePurgeList]:
    """The purge lists of a bucket whose records are due by `at` (entries sort by expiry)."""
    return MessagePurgeList.query(bucket, MessagePurgeList.entry <= f"{_sortable(at)}#~")


def _sortable(at: datetime) -> str:
    """A UTC time whose text sorts as the time does (fixed width, always with microseconds)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def listed(purge_list: MessagePurgeList) -> dict[str, str]:
    """{message id: recipient hash} of a purge list as read from the table."""
    if purge_list.campaign_id:
        hashes = (raw.hex() for raw in purge_list.recipients or ())
        return {campaign_message_id(purge_list.campaign_id, hashed): hashed for hashed in hashes}
    return purge_list.messages.as_dict() if purge_list.messages else {}


def records_of(purge_list: MessagePurgeList) -> list[MessageRecord]:
    """The keys of the records a purge list names (some may never have been written)."""
    return [MessageRecord(recipient_hash=hashed, message_id=message_id)
            for message_id, hashed in sorted(listed(purge_list).items())]


def listed_records(listed_messages: Iterable[tuple[str, str]]) -> list[MessageRecord]:
    """The records still held of these messages ((purge list key, message id) each), found
    through the lists that name them with their recipient: a BatchGetItem of the lists, one of
    the records. A message its list no longer names (the recipient was erased, or the purge came)
    is found nowhere."""
    wanted: dict[str, set[str]] = {}
    for list_key, message_id in listed_messages:
        wanted.setdefault(list_key, set()).add(message_id)
    if not wanted:  # most people were texted no code: no read
        return []
    lists = MessagePurgeList.batch_get([_list_table_key(key) for key in sorted(wanted)])
    keys = {(hashed, message_id) for purge_list in lists
            for message_id, hashed in listed(purge_list).items()
            if message_id in wanted.get(purge_list_key(purge_list), ())}
    return list(MessageRecord.batch_get(sorted(keys))) if keys else []


def still_held(records: list[MessageRecord]) -> list[MessageRecord]:
    """Those of these records that are still in the table, TTL not having deleted them yet: keys
    only, BatchGetItem of 100 (half a read unit each, found or not)."""
    keys = [(record.recipient_hash, record.message_id) for record in records]
    return list(MessageRecord.batch_get(keys, attributes_to_get=["recipient_hash", "message_id"]))


def sent_message(recipient_hash: str, message_id: str) -> SentMessage | None:
    """What the record of this message to this recipient holds, or None when this deployment
    wrote none or it is past its 30 days: one consistent GetItem (feedback authenticity and
    routing, services/feedback.py)."""
    record = claim_of(recipient_hash, message_id)
    # Past its 30 days the record is due for erasure (P21), and its feedback receipts expire then:
    # one the daily purge has not reached yet must not let a replay count again.
    if record is None or record.sent_at + MESSAGE_RETENTION <= now():
        return None
    return SentMessage(message_id=message_id, recipient_hash=recipient_hash, account_id=record.account_id,
                       kind=record.kind, campaign_id=record.campaign_id, list_id=record.list_id,
                       sent_at=record.sent_at)


def sent_to(recipient_hash: str, account_id: str | None = None) -> Iterator[MessageRecord]:
    """The message records held for this keyed hash, in one account or in all."""
    condition = MessageRecord.account_id == account_id if account_id else None
    return MessageRecord.query(recipient_hash, filter_condition=condition)


def accounts_that_messaged(recipient_hash: str) -> dict[str, set[str]]:
    """Who sent to this address or number in the last 30 days, each with the kinds of what it
    sent: an `unsent` record is a mail that never went, so its account is no sender (HELP must
    not name it)."""
    kinds: dict[str, set[str]] = {}
    for record in sent_to(recipient_hash):
        if not record.unsent:
            kinds.setdefault(record.account_id, set()).add(record.kind)
    return kinds
