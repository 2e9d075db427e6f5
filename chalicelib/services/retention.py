"""The daily purge (P01, P16, P21-P25, P29): everything past its retention period goes, on time.

Run by the retention worker (EventBridge, daily) and `python -m chalicelib.cli purge`. Every
step reads by index on due dates (no Scan), deletes a page at a time and can stop when its share
of the Lambda's time runs out: the next run continues where this one stopped (store/retention.py).
Each step gets an equal share of what is left when it starts (time a step leaves unused goes to
the ones after it), does at least one page every run, and a step that could not finish does not
hold back the steps after it: a backlog in one purge never stops another (P22-P24 run every day).
Each step leaves an audit entry with counts and account ids only — never contact data (P25) —
in the platform's own log (`PLATFORM_AUDIT`), because a deleted account's log goes with it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.adapters.sqs import enqueue
from chalicelib.config import settings
from chalicelib.domain.account_lifecycle import INACTIVITY_MAIL_KIND, inactivity_email, inactivity_message_id
from chalicelib.domain.clock import now
from chalicelib.domain.health import CANCELLED
from chalicelib.domain.outbox import EmailJob
from chalicelib.domain.retention import (
    ENDED_BUCKETS,
    Activity,
    PurgeKind,
    inactive_for_deletion,
    needs_inactivity_warning,
)
from chalicelib.observability import logger
from chalicelib.resources import OUTBOX
from chalicelib.services.accounts import account_language
from chalicelib.services.senders import delete_account_identities, give_up_running
from chalicelib.store import account_lifecycle as lifecycle
from chalicelib.store import audit
from chalicelib.store.audit import PLATFORM_AUDIT
from chalicelib.store.models import Account, PrivacyExport, RateCounter, Subscriber
from chalicelib.store.retention import (
    MARKERS,
    PurgeProgress,
    TimeLeft,
    count_due_messages,
    count_expired,
    date_undated_ended_entries,
    purge_account,
    purge_ended_entries,
    purge_expired,
    purge_expired_signups,
    purge_messages,
)

ACTOR = "retention-worker"
# Each run's outcome, in the platform's audit log: "complete", or "unfinished:<kinds>".
RUN_ACTION = "purge.run"
# The P29 backfill: ended entries written before endings were dated got their deletion date.
ENDINGS_DATED = "purge.ended_entries_dated"
# Kept back from the steps' shares: a step checks its time after each page, so the last page
# may run over (1,000 conditional deletes at ~10 ms), then the run writes its audit entries.
RESERVE_MILLIS = 30_000
# Milliseconds left before the Lambda's timeout (its context's get_remaining_time_in_millis).
TimeLeftMillis = Callable[[], float]


@dataclass
class PurgeReport:
    """Counts per kind (items, or accounts for the account kinds); `complete` is False when a
    step's time ran out and the next run must continue it (`unfinished` names those steps)."""

    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)
    complete: bool = True
    unfinished: list[str] = field(default_factory=list)


def _purge_ended_entries(at: datetime, more_time: TimeLeft) -> PurgeProgress:
    """P29, with its backfill: until every list has been walked once, the step first dates the
    ended entries written before endings were dated (they are not in the purge index), then
    deletes what is due, the backfilled ones included."""
    if not audit.reached(PLATFORM_AUDIT, ENDINGS_DATED):
        dated = date_undated_ended_entries(at, settings().ended_retention, more_time)
        if dated.count:
            audit.record(PLATFORM_AUDIT, ACTOR, ENDINGS_DATED, str(dated.count))
        if not dated.complete:
            return PurgeProgress(0, complete=False)
        audit.record_milestone(PLATFORM_AUDIT, ACTOR, ENDINGS_DATED)
    return purge_ended_entries(at, more_time)


def _erase_suspended_content(at: datetime, more_time: TimeLeft) -> PurgeProgress:
    progress = PurgeProgress()
    for listed in lifecycle.suspended_past_grace(at):
        account = lifecycle.still_suspended_past_grace(listed.account_id, at)
        if account is None:
            continue  # lifted (or gone) since the index was read
        removed, done = purge_account(account.account_id, content_only=True, more_time=more_time)
        if not done:
            return PurgeProgress(progress.count, complete=False)
        if lifecycle.mark_content_erased(account):
            audit.record(account.account_id, ACTOR, "account.content_erased", _summary(removed))
            audit.record(PLATFORM_AUDIT, ACTOR, "account.content_erased", account.account_id)
            progress.count += 1
    return progress


def _delete_account(account: Account, reason: str, more_time: TimeLeft) -> bool:
    # Its SES identities first (SES holds them, not DynamoDB), then every item it has.
    ses_identities = delete_account_identities(account.account_id)
    removed, done = purge_account(account.account_id, content_only=False, more_time=more_time)
    if ses_identities:
        removed = {**removed, "ses-identities": ses_identities}
    if done:
        audit.record(PLATFORM_AUDIT, ACTOR, f"account.deleted.{reason}",
                     f"{account.account_id} {_summary(removed)}")
    return done


def _delete_requested(at: datetime, more_time: TimeLeft) -> PurgeProgress:
    progress = PurgeProgress()
    for listed in lifecycle.deletions_due(at):
        account = lifecycle.still_due_for_deletion(listed.account_id, at)
        if account is None or give_up_running(account.account_id):
            continue  # reactivated since the index was read, or a later run deletes it
        # The platform's log is the only trace left: it says who ended the account (P33).
        reason = "cancelled" if account.status == CANCELLED else "requested"
        if not _delete_account(account, reason, more_time):
            return PurgeProgress(progress.count, complete=False)
        progress.count += 1
    return progress


def _warn_inactive(at: datetime, more_time: TimeLeft) -> PurgeProgress:
    progress = PurgeProgress()
    for account in lifecycle.inactive_since_warning_cutoff(at):
        activity = Activity(account.last_active_day, account.inactivity_warned_at)
        if not needs_inactivity_warning(activity, at):
            continue
        # P24: the deletion follows a warning mail; an account no mail can reach is not warned,
        # so it is never deleted for inactivity (the log tells the operator, daily).
        recipient = account.contact_email or account.sender_identity
        if not recipient:
            logger.warning("inactive account has no address to warn; not marked for deletion",
                           extra={"account_id": account.account_id})
            continue
        mail = inactivity_email(recipient, account.name, public_base_url=settings().public_base_url,
                                default_sender=settings().default_sender, language=account_language(account))
        message_id = inactivity_message_id(account.account_id, account.last_active_day)
        enqueue(OUTBOX, EmailJob(message_id=message_id, account_id=account.account_id,
                                 kind=INACTIVITY_MAIL_KIND, email=mail).to_dict())
        if lifecycle.mark_warned(account):
            audit.record(account.account_id, ACTOR, "account.inactivity_warned", account.last_active_day)
            progress.count += 1
        if not more_time():
            return PurgeProgress(progress.count, complete=False)
    return progress


def _delete_inactive(at: datetime, more_time: TimeLeft) -> PurgeProgress:
    progress = PurgeProgress()
    for account in lifecycle.inactive_since_warning_cutoff(at):
        if not inactive_for_deletion(Activity(account.last_active_day, account.inactivity_warned_at), at):
            continue
        try:
            current = Account.get(account.account_id, consistent_read=True)  # used since? (P25)
        except Account.DoesNotExist:
            continue
        if (not inactive_for_deletion(Activity(current.last_active_day, current.inactivity_warned_at), at)
                or give_up_running(current.account_id)):
            continue  # used since, or a later run deletes it
        if not _delete_account(current, "inactive", more_time):
            return PurgeProgress(progress.count, complete=False)
        progress.count += 1
    return progress


def _summary(removed: dict[str, int]) -> str:
    return ",".join(f"{table}={count}" for table, count in sorted(removed.items())) or "nothing"


Step = Callable[[datetime, TimeLeft], PurgeProgress]
_STEPS: dict[PurgeKind, Step] = {
    PurgeKind.MESSAGES: purge_messages,
    PurgeKind.PENDING_SIGNUPS: purge_expired_signups,
    PurgeKind.ENDED_ENTRIES: _purge_ended_entries,
    PurgeKind.RATE_COUNTERS: lambda at, more: purge_expired(RateCounter, at, more),
    # P16, P25: an export, a copy of a person's data, goes when its 7 days are over.
    PurgeKind.PRIVACY_EXPORTS: lambda at, more: purge_expired(PrivacyExport, at, more),
    PurgeKind.SUSPENDED_CONTENT: _erase_suspended_content,
    PurgeKind.DELETED_ACCOUNTS: _delete_requested,
    PurgeKind.INACTIVITY_WARNINGS: _warn_inactive,
    PurgeKind.INACTIVE_ACCOUNTS: _delete_inactive,
}


def _matching(found: Iterable[Account], at: datetime, rule: Callable[[Activity, datetime], bool]) -> int:
    return sum(1 for a in found if rule(Activity(a.last_active_day, a.inactivity_warned_at), at))


def _due_counts(at: datetime) -> dict[str, int]:
    messages = count_due_messages(at)
    counts = {
        PurgeKind.MESSAGES: messages.count,
        PurgeKind.PENDING_SIGNUPS: count_expired(Subscriber, at),
        PurgeKind.ENDED_ENTRIES: count_expired(Subscriber, at, ENDED_BUCKETS),
        PurgeKind.RATE_COUNTERS: count_expired(RateCounter, at),
        PurgeKind.PRIVACY_EXPORTS: count_expired(PrivacyExport, at),
        PurgeKind.SUSPENDED_CONTENT: sum(1 for _ in lifecycle.suspended_past_grace(at)),
        PurgeKind.DELETED_ACCOUNTS: sum(1 for _ in lifecycle.deletions_due(at)),
        PurgeKind.INACTIVITY_WARNINGS: _matching(lifecycle.inactive_since_warning_cutoff(at), at,
                                                 needs_inactivity_warning),
        PurgeKind.INACTIVE_ACCOUNTS: _matching(lifecycle.inactive_since_warning_cutoff(at), at,
                                               inactive_for_deletion),
    }
    return {kind.value: count for kind, count in counts.items()} | messages.also


def run_purges(time_left_ms: TimeLeftMillis | None = None, dry_run: bool = False) -> PurgeReport:
    """Run every purge, each within its share of `time_left_ms` (None: no limit), or (dry run)
    count what each would remove and change nothing. Idempotent: a second run right after finds
    nothing more to do. The run's outcome is audited (RUN_ACTION) for `last_run`."""
    at = now()
    if dry_run:
        return PurgeReport(dry_run=True, counts=_due_counts(at))
    # MARKERS: the tracking markers the message step deletes, counted and audited apart (P21).
    report = PurgeReport(dry_run=False, counts={kind.value: 0 for kind in _STEPS} | {MARKERS: 0})
    pending = list(_STEPS.items())
    rounds = 0
    # A step that raises is not tried again this run, and does not stop the steps after it.
    failed: dict[PurgeKind, Exception] = {}
    # Every step runs in the first round; time the finished ones left unused goes to further
    # rounds of the unfinished ones, while more than the reserve is left.
    while pending and (rounds == 0 or _time_remains(time_left_ms)):
        unfinished = []
        for index, (kind, step) in enumerate(pending):
            if rounds and not _time_remains(time_left_ms):
                unfinished.append((kind, step))
                continue
            try:
                progress = step(at, _share(time_left_ms, steps_left=len(pending) - index))
            except Exception as error:
                # Its type only: an error's text may quote an item's contact data.
                logger.error("purge step failed; the others still run",
                             extra={"kind": kind.value, "error": type(error).__name__})
                failed[kind] = error
                continue
            report.counts[kind.value] += progress.count
            for name, count in progress.also.items():
                report.counts[name] = report.counts.get(name, 0) + count
            if not progress.complete:
                unfinished.append((kind, step))
        pending, rounds = unfinished, rounds + 1
    for kind, count in report.counts.items():
        if count:
            audit.record(PLATFORM_AUDIT, ACTOR, f"purge.{kind}", str(count))
    left = {kind for kind, _ in pending} | failed.keys()
    report.unfinished = [kind.value for kind in _STEPS if kind in left]
    report.complete = not left
    audit.record(PLATFORM_AUDIT, ACTOR, RUN_ACTION,
                 "complete" if report.complete else "unfinished:" + ",".join(report.unfinished))
    logger.info("retention purge ran", extra={"counts": report.counts, "complete": report.complete,
                                              "unfinished": report.unfinished})
    if failed:
        # Raised once the rest is done and audited: the function's errors alarm tells the operator.
        raise next(iter(failed.values()))
    return report


def _time_remains(time_left_ms: TimeLeftMillis | None) -> bool:
    return time_left_ms is None or time_left_ms() > RESERVE_MILLIS


def _share(time_left_ms: TimeLeftMillis | None, steps_left: int) -> TimeLeft:
    """`more_time` for the next step: true until it has used its equal share of what is left
    (less RESERVE_MILLIS) among the `steps_left` steps still to run."""
    if time_left_ms is None:
        return lambda: True
    left = time_left_ms()
    stop_below = left - max(0.0, left - RESERVE_MILLIS) / steps_left
    return lambda: time_left_ms() > stop_below


@dataclass(frozen=True)
class LastRun:
    at: datetime
    outcome: str  # "complete" or "unfinished:<kinds>"


def last_run() -> LastRun | None:
    """When the purge last ran and how it ended (from the platform's audit log), if ever."""
    for entry in audit.entries(PLATFORM_AUDIT, limit=100):
        if entry.action == RUN_ACTION:
            return LastRun(entry.at, entry.target or "")
    return None
