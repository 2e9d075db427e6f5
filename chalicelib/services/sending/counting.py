"""Counting mails sent (P13, P26) where they are sent, once per batch instead of once per mail.

SES is not asked for Send events (they were most of Tidings' own AWS cost), so the senders add
what they sent: one ADD to the account's day counter (the rates' volume; not for texts) and one
to the campaign's `sent` counter, which also adds how many of them were trackable. Exactly once
(store/sent_counts.py): a sender invocation is a count batch that its claims name, and it counts
in one transaction with its receipt. A redelivered job that finds mails claimed by an earlier
delivery of the same job without a receipt (its count failed) counts them, once.
"""
from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass

from chalicelib.config import settings
from chalicelib.domain.clock import now
from chalicelib.domain.health import counts_for_account
from chalicelib.domain.sending import counts_toward_rates
from chalicelib.store.campaign_stats import sent_update as campaign_sent
from chalicelib.store.health import sent_update as account_sent
from chalicelib.store.messages import claim_of
from chalicelib.store.models import MessageRecord
from chalicelib.store.sent_counts import (
    MAX_TRANSACTION_ITEMS,
    CounterUpdate,
    count_batch,
    count_uncounted,
    counted,
)

# (account id, mail kind, campaign id or "")
CountKey = tuple[str, str, str]
# Earlier claims counted a transaction: each may bring its account's and its campaign's counter.
_CLAIMS_A_TRANSACTION = MAX_TRANSACTION_ITEMS // 3


@dataclass
class _Tally:
    sent: int = 0
    trackable: int = 0


class SentCount:
    """The mail one sender invocation counts: what it sent, and what an earlier delivery of the
    same `job` sent and never counted. Claims name `batch_for(kind)`."""

    def __init__(self, job: str) -> None:
        self._job = f"{job}@"
        self.batch_id = self._job + secrets.token_hex(8)
        self._sent: defaultdict[CountKey, _Tally] = defaultdict(_Tally)
        self._earlier: list[tuple[MessageRecord, bool]] = []

    def batch_for(self, kind: str) -> str | None:
        """The count batch a claim of this kind names; None for the platform's own mail, which
        counts nowhere."""
        return self.batch_id if counts_for_account(kind) else None

    def sent(self, key: CountKey, trackable: bool = False) -> None:
        tally = self._sent[key]
        tally.sent += 1
        tally.trackable += trackable

    def duplicate(self, recipient_hash: str, message_id: str, trackable: bool = False) -> bool:
        """Whether the message is claimed (one read); kept to count when an earlier delivery of
        this job claimed it, whose count may not have landed."""
        record = claim_of(recipient_hash, message_id)
        batch = record.count_batch if record is not None else None
        if record is not None and batch and batch.startswith(self._job) and batch != self.batch_id:
            self._earlier.append((record, trackable))
        return record is not None

    def count(self) -> None:
        """Add this invocation's mail in one transaction with its receipt, then the earlier
        deliveries' uncounted mail; a second call adds nothing more."""
        sent, self._sent = self._sent, defaultdict(_Tally)
        # One entry a claim: a transaction may touch an item once (a job queued twice).
        earlier = list({(record.recipient_hash, record.message_id): (record, trackable)
                        for record, trackable in self._earlier}.values())
        self._earlier = []
        counters = _counters(sent)
        if counters:
            count_batch(self.batch_id, counters)
        done = counted(record.count_batch for record, _ in earlier)
        uncounted = [(record, trackable) for record, trackable in earlier if record.count_batch not in done]
        for start in range(0, len(uncounted), _CLAIMS_A_TRANSACTION):
            part = uncounted[start:start + _CLAIMS_A_TRANSACTION]
            tallies: defaultdict[CountKey, _Tally] = defaultdict(_Tally)
            for record, trackable in part:
                tally = tallies[(record.account_id, record.kind, record.campaign_id or "")]
                tally.sent += 1
                tally.trackable += trackable
            count_uncounted([record for record, _ in part], _counters(tallies))


def _counters(tallies: dict[CountKey, _Tally]) -> list[CounterUpdate]:
    """The updates adding these tallies to the accounts' day counters and the campaigns' reports,
    one per account and campaign (a transaction may touch an item once); the platform's own mail
    to an account counts nowhere, a campaign's texts in its report only."""
    accounts: defaultdict[str, int] = defaultdict(int)
    campaigns: defaultdict[str, _Tally] = defaultdict(_Tally)
    for (account_id, kind, campaign_id), tally in tallies.items():
        if tally.sent <= 0 or not counts_for_account(kind):
            continue
        if counts_toward_rates(kind):
            accounts[account_id] += tally.sent
        if campaign_id:
            campaigns[campaign_id].sent += tally.sent
            campaigns[campaign_id].trackable += tally.trackable
    day, policy = now().date(), settings().health
    return ([account_sent(account_id, day, amount, policy) for account_id, amount in sorted(accounts.items())]
            + [campaign_sent(campaign_id, tally.sent, tally.trackable)
               for campaign_id, tally in sorted(campaigns.items())])
