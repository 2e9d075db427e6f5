"""Counting mails sent (P13, P26) where they are sent, once per batch instead of once per mail.

SES is not asked for Send events (they were most of Tidings' own AWS cost), so the senders add
what they sent: one ADD to the account's day counter (the rates' volume; not for texts) and one
to the campaign's `sent` counter, which also adds how many of them were trackable. Exactly once
(store/sent_counts.py): a sender invocation is a count batch that its claims name, and it counts
in one transaction with its receipt. A redelivered job that finds mails claimed by an earlier
delivery of the same job without a receipt counts them, once.

That earlier delivery either failed to count, or died (its Lambda timed out or ran out of
memory) with no `finally` run. One that failed to count notes that the provider answered for
all its claims (store/sent_counts.mark_answered, a write only then): its mails went and count as
sent. Without that note, it died, or could not write the note either. A sender sends one mail
at a time and claims the next only once the provider has answered for the last, so every claim
of such a delivery but its latest was answered: those mails went and count as sent. Its latest
claim may have died with the provider's answer outstanding: nothing can tell whether that mail
went, and it counts as failed ("may not have gone"), so the report never shows as sent a mail
nobody may have received; the error, when there is one, is towards the failure the account
sees. (The senders stop before their timeout with room for a whole send,
services/sending/step.SAFETY_SECONDS, so a death is rare.) A redelivery that sees only part
of the earlier delivery's claims (it hands its rest on) may so count one more as failed, never
one that did not go as sent. The earlier delivery may also still be running (SQS is
at-least-once): counting its claims takes its count over (store/sent_counts.py), and it then
counts only the claims still its own, so each mail counts once.
"""
from __future__ import annotations

import contextlib
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.config import settings
from chalicelib.domain.clock import now
from chalicelib.domain.health import counts_for_account
from chalicelib.domain.sending import counts_toward_rates
from chalicelib.services.sending.step import Message
from chalicelib.store.campaign_stats import sent_update as campaign_sent
from chalicelib.store.campaigns import failure_update
from chalicelib.store.health import sent_update as account_sent
from chalicelib.store.messages import claim_of
from chalicelib.store.models import MessageRecord
from chalicelib.store.sent_counts import (
    MAX_TRANSACTION_ITEMS,
    CounterUpdate,
    count_batch,
    count_failed,
    count_uncounted,
    counted,
    mark_answered,
)

# (account id, mail kind, campaign id or "")
CountKey = tuple[str, str, str]
# Earlier claims counted a transaction: each may bring its account's and its campaign's counters
# and, sent after a redrive, its campaign's failure taken back, and its batch's receipt taken over.
_CLAIMS_A_TRANSACTION = MAX_TRANSACTION_ITEMS // 5
# Why a claim whose sender died with it is counted as failed.
MAY_NOT_HAVE_GONE = "its sender stopped before the provider answered: it may not have gone"


@dataclass(frozen=True)
class _Earlier:
    """A claim an earlier delivery of the job made, found by this one: its record, whether its
    mail was trackable, where its failure would count, and when it was seen (claims are seen in
    the order they were made)."""

    record: MessageRecord
    trackable: bool
    failure: Callable[[str], CounterUpdate] | None
    seen: int


@dataclass
class _Tally:
    sent: int = 0
    trackable: int = 0
    # Of those sent, the ones counted as failed before (a redrive's, step.SENT_AFTER_FAILURE):
    # their failures are taken back with their count, once.
    taken_back: int = 0


class SentCount:
    """The mail one sender invocation counts: what it sent, and what an earlier delivery of the
    same `job` sent and never counted. Claims name `batch_for(kind)`."""

    def __init__(self, job: str) -> None:
        self._job = f"{job}@"
        self.batch_id = self._job + secrets.token_hex(8)
        self._sent: defaultdict[CountKey, _Tally] = defaultdict(_Tally)
        # The claims behind `_sent` (recipient hash, message id, trackable): counted one by one
        # when a later delivery took this count over.
        self._claims: list[tuple[str, str, bool]] = []
        self._earlier: list[_Earlier] = []

    def batch_for(self, kind: str) -> str | None:
        """The count batch a claim of this kind names; None for the platform's own mail, which
        counts nowhere."""
        return self.batch_id if counts_for_account(kind) else None

    def sent(self, key: CountKey, claim: tuple[str, str], trackable: bool = False,
             taken_back: bool = False) -> None:
        """One mail sent under its `claim` (recipient hash, message id)."""
        tally = self._sent[key]
        tally.sent += 1
        tally.trackable += trackable
        tally.taken_back += taken_back
        self._claims.append((*claim, trackable))

    def duplicate(self, message: Message, trackable: bool = False) -> bool:
        """Whether the message is claimed (one read); kept to count when an earlier delivery of
        this job claimed it, whose count may not have landed (as failed, to the message's
        `failure_update`, when it is that delivery's latest claim)."""
        record = claim_of(message.recipient_hash, message.message_id)
        batch = record.count_batch if record is not None else None
        if record is not None and batch and batch.startswith(self._job) and batch != self.batch_id:
            self._earlier.append(_Earlier(record, trackable, message.failure_update, len(self._earlier)))
        return record is not None

    def count(self) -> None:
        """Add this invocation's mail in one transaction with its receipt, then the earlier
        deliveries' uncounted mail (each one's latest claim as failed); a second call adds
        nothing more."""
        sent, self._sent = self._sent, defaultdict(_Tally)
        claims, self._claims = self._claims, []
        # One entry a claim: a transaction may touch an item once (a job queued twice).
        earlier = list({(found.record.recipient_hash, found.record.message_id): found
                        for found in self._earlier}.values())
        self._earlier = []
        counters = _counters(sent)
        if counters:
            try:
                taken = not count_batch(self.batch_id, counters)
            except Exception:
                # Every mail claimed here was answered: the redelivery counts them all as sent.
                with contextlib.suppress(Exception):
                    mark_answered(self.batch_id)
                raise
            if taken:  # a concurrent delivery counted some: the rest, still ours, count here
                self._count_sent([(record, trackable) for hashed, message_id, trackable in claims
                                  if (record := claim_of(hashed, message_id)) is not None
                                  and record.count_batch == self.batch_id])
        done, answered = counted(found.record.count_batch for found in earlier)
        latest: dict[str, _Earlier] = {}
        for found in earlier:
            if found.record.count_batch not in done | answered:
                batch = found.record.count_batch or ""
                if batch not in latest or _order(found) > _order(latest[batch]):
                    latest[batch] = found
        suspects = {id(found) for found in latest.values()}
        uncounted = [(found.record, found.trackable) for found in earlier
                     if found.record.count_batch not in done and id(found) not in suspects]
        self._count_sent(uncounted)
        # After the sent ones: should this fail, a redelivery still finds the suspect the latest.
        for found in latest.values():
            record = found.record
            # A failure counted before (its claim took an unsent record) is not counted again.
            count_failed(record.recipient_hash, record.message_id, record.count_batch or "",
                         [found.failure(MAY_NOT_HAVE_GONE)] if found.failure and not record.failure_counted
                         else [], take_over=True)

    @staticmethod
    def _count_sent(uncounted: list[tuple[MessageRecord, bool]]) -> None:
        for start in range(0, len(uncounted), _CLAIMS_A_TRANSACTION):
            part = uncounted[start:start + _CLAIMS_A_TRANSACTION]
            tallies: defaultdict[CountKey, _Tally] = defaultdict(_Tally)
            for record, trackable in part:
                tally = tallies[(record.account_id, record.kind, record.campaign_id or "")]
                tally.sent += 1
                tally.trackable += trackable
                tally.taken_back += bool(record.failure_counted)
            count_uncounted([record for record, _ in part], _counters(tallies))


def _order(found: _Earlier) -> tuple[float, int]:
    """The order its sender made a claim in: its time, then the order it was seen."""
    return (found.record.sent_at.timestamp() if found.record.sent_at else 0.0, found.seen)


def _counters(tallies: dict[CountKey, _Tally]) -> list[CounterUpdate]:
    """The updates adding these tallies to the accounts' day counters and the campaigns' reports,
    one per account and campaign (a transaction may touch an item once); the platform's own mail
    to an account counts nowhere, a campaign's texts in its report only."""
    accounts: defaultdict[str, int] = defaultdict(int)
    campaigns: defaultdict[str, _Tally] = defaultdict(_Tally)
    taken_back: defaultdict[tuple[str, str], int] = defaultdict(int)
    for (account_id, kind, campaign_id), tally in tallies.items():
        if tally.sent <= 0 or not counts_for_account(kind):
            continue
        if counts_toward_rates(kind):
            accounts[account_id] += tally.sent
        if campaign_id:
            campaigns[campaign_id].sent += tally.sent
            campaigns[campaign_id].trackable += tally.trackable
            taken_back[(account_id, campaign_id)] += tally.taken_back
    day, policy = now().date(), settings().health
    return ([account_sent(account_id, day, amount, policy) for account_id, amount in sorted(accounts.items())]
            + [campaign_sent(campaign_id, tally.sent, tally.trackable)
               for campaign_id, tally in sorted(campaigns.items())]
            + [failure_update(account_id, campaign_id, -amount, "")
               for (account_id, campaign_id), amount in sorted(taken_back.items()) if amount])
