"""Retention rules (P01, P21-P25, P29): how long each kind of data is kept, and when an account goes.

Pure rules; the store (store/retention.py, store/account_lifecycle.py) and the daily purge
(chalicelib/services/retention.py) apply them. Items that expire carry a `purge_bucket`: the UTC day of
their expiry and a shard, the hash key of a sparse index. The purge queries the buckets of the
last few days with `expires_at <= now` as the key condition, so it reads only what is due — no
Scan — and never touches an item still within its period (P25). Shards spread one day's writes
over several index partitions, so a busy day cannot throttle the index.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from chalicelib.domain.subscriptions import PENDING_LIFETIME

# P21: message records are erased 30 days after sending.
MESSAGE_RETENTION = timedelta(days=30)
# DynamoDB's TTL deletes an expired item free of charge, typically within two days (DESIGN.md).
TTL_LAG = timedelta(days=2)
# A message record expires this long after sending, so TTL has usually deleted it by day 30 for
# nothing; the daily purge deletes, on day 30, only the records TTL has not reached yet (a delete
# costs a write unit, ten times the read that finds a record already gone). Issue 15.
MESSAGE_RECORD_TTL = MESSAGE_RETENTION - TTL_LAG
# A purge list (store/messages.py) outlives its due time by this much, so the purge always finds
# it first; TTL removes a list the purge never reached (the backstop, like the records' own TTL).
PURGE_LIST_EXTRA_LIFETIME = timedelta(days=2)
# P29: an ended entry (unsubscribed, bounced, complained) keeps its personal data at most this
# long; a deployment may set fewer days (TIDINGS_ENDED_RETENTION_DAYS), never more.
MAX_ENDED_RETENTION = timedelta(days=30)
# P01: an unconfirmed signup expires after 7 days.
PENDING_RETENTION = PENDING_LIFETIME
# P22: a suspended (or cancelled) account keeps its content this long, to export it.
SUSPENDED_CONTENT_GRACE = timedelta(days=30)
# P23: a confirmed deletion request takes effect after this long, unless reactivated.
DELETION_GRACE = timedelta(days=30)
# P24: deleted after a year without use, warned 30 days before.
INACTIVITY_LIMIT = timedelta(days=365)
INACTIVITY_NOTICE = timedelta(days=30)

PURGE_SHARDS = 2
# Ended entries share the subscribers' purge index with pending ones under buckets of their own
# (`YYYY-MM-DD#e0`), so each purge reads only its kind.
ENDED_BUCKETS = "e"
# The daily run also re-reads this many earlier days, so two weeks of missed runs lose nothing;
# anything older still goes through DynamoDB's TTL (the backstop, within ~2 days of expiry).
# Each day costs PURGE_SHARDS queries per kind, found or not.
LOOKBACK_DAYS = 14

DELETION_SCHEDULED = "scheduled"
CONTENT_ERASED = "content_erased"


class PurgeKind(StrEnum):
    """What the daily purge removes; names appear in its report and audit entries."""

    MESSAGES = "messages"
    PENDING_SIGNUPS = "pending_signups"
    ENDED_ENTRIES = "ended_entries"
    RATE_COUNTERS = "rate_counters"
    PRIVACY_EXPORTS = "privacy_exports"
    SUSPENDED_CONTENT = "suspended_account_content"
    DELETED_ACCOUNTS = "deleted_accounts"
    INACTIVITY_WARNINGS = "inactivity_warnings"
    INACTIVE_ACCOUNTS = "inactive_accounts"


def purge_bucket(expires_at: datetime, key: str, kind: str = "") -> str:
    """`YYYY-MM-DD#n`: the expiry's UTC day and a shard chosen by the item's key (after `kind`,
    e.g. ENDED_BUCKETS, when one index holds several kinds)."""
    shard = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % PURGE_SHARDS
    return f"{expires_at.date().isoformat()}#{kind}{shard}"


def due_buckets(at: datetime, kind: str = "") -> list[str]:
    """Every bucket that may hold items due by `at`: today's and LOOKBACK_DAYS before, oldest first."""
    return buckets_between(at - timedelta(days=LOOKBACK_DAYS), at, kind)


def buckets_between(first: datetime, last: datetime, kind: str = "") -> list[str]:
    """Every bucket of the days from `first` through `last`, oldest first."""
    days = (last.date() - first.date()).days
    return [f"{(first.date() + timedelta(days=n)).isoformat()}#{kind}{shard}"
            for n in range(days + 1) for shard in range(PURGE_SHARDS)]


def ended_retention(days: int) -> timedelta:
    """How long an ended entry keeps its personal data (P29): 1 to 30 days, never longer."""
    if not 1 <= days <= MAX_ENDED_RETENTION.days:
        raise ValueError(f"an ended entry's data is kept 1 to {MAX_ENDED_RETENTION.days} days (P29), "
                         f"not {days}")
    return timedelta(days=days)


@dataclass(frozen=True)
class Ending:
    """When an ended entry ended, when its personal data goes, and its purge bucket."""

    ended_at: datetime
    expires_at: datetime
    purge_bucket: str


def undated_ending(last_write: datetime, at: datetime, retention: timedelta, key: str) -> Ending:
    """The ending of an entry that ended before endings were dated (P29 backfill): it ended at
    its last write, and goes `retention` after it. Its bucket is the day it is due, or today
    when that day is past, so the ended-entries purge (which reads LOOKBACK_DAYS back) finds it
    on this run rather than never."""
    expires_at = last_write + retention
    return Ending(last_write, expires_at, purge_bucket(max(expires_at, at), key, ENDED_BUCKETS))


def day_of(at: datetime) -> str:
    """The ISO UTC day, as `last_active_day` and key `last_used_day` hold it."""
    return at.date().isoformat()


@dataclass(frozen=True)
class Activity:
    """What the inactivity rule reads of an account."""

    last_active_day: str
    warned_at: datetime | None


def inactivity_warning_cutoff(at: datetime) -> str:
    """Accounts last active on or before this day get the warning (11 months, P24)."""
    return (at - (INACTIVITY_LIMIT - INACTIVITY_NOTICE)).date().isoformat()


def inactivity_deletion_cutoff(at: datetime) -> str:
    """Accounts last active before this day have been inactive a full year (P24). An account
    active on this day itself may have been used less than a year ago: the day keeps no time."""
    return (at - INACTIVITY_LIMIT).date().isoformat()


def needs_inactivity_warning(activity: Activity, at: datetime) -> bool:
    """Inactive 11 months and not yet warned since it was last used. On the cutoff day itself it
    may be up to a day early, which only lengthens the notice: the deletion still waits for the
    full year and for 30 days after the warning."""
    return activity.warned_at is None and activity.last_active_day <= inactivity_warning_cutoff(at)


def inactive_for_deletion(activity: Activity, at: datetime) -> bool:
    """Inactive a full year, and warned at least 30 days ago (a late warning delays the deletion:
    the account always gets its 30 days' notice)."""
    return (activity.warned_at is not None and activity.warned_at <= at - INACTIVITY_NOTICE
            and activity.last_active_day < inactivity_deletion_cutoff(at))


def deletion_due(confirmed_at: datetime) -> datetime:
    return confirmed_at + DELETION_GRACE


def deletion_has_come(deletion_state: str | None, due_at: datetime | None, at: datetime) -> bool:
    """Whether the account's deletion date has come (P23): nothing cancels it any more, and the
    daily purge deletes the account."""
    return deletion_state == DELETION_SCHEDULED and due_at is not None and due_at <= at


def content_purge_cutoff(at: datetime) -> datetime:
    """Accounts suspended at or before this time have their content erased (P22)."""
    return at - SUSPENDED_CONTENT_GRACE
