"""Where an account's data lives: one finder per table, registered in ACCOUNT_TABLES, for the
purges that erase an account's content (P22) or the whole account (P23, P24).

Every model in `ALL_MODELS` must appear (tests/test_retention.py fails otherwise), as
- `AccountItems`: how to find the account's items, by key or index (never a Scan), and whether
  they are *content* (erased 30 days into a suspension) or go only with the account itself;
- `NotPerAccount`: items that belong to no one account, with the reason and how they go.
The order is the deletion order: the API keys first, then children before the parents they
are found through, the account record last, so a purge stopped by a timeout can always find
what is left.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from chalicelib.domain.clock import now
from chalicelib.domain.retention import LOOKBACK_DAYS, MESSAGE_RETENTION, buckets_between
from chalicelib.store.campaign_stats import partition_keys
from chalicelib.store.messages import records_of
from chalicelib.store.models import (
    Account,
    AccountHealthDay,
    ApiKey,
    AuditEntry,
    Campaign,
    CampaignStat,
    FeedbackReceipt,
    IdempotencyKey,
    ImportChunk,
    ImportJob,
    MailingList,
    MessagePurgeList,
    MessageRecord,
    PrivacyExport,
    PrivacyRequest,
    RateCounter,
    SenderIdentity,
    SendProgress,
    SendRateBucket,
    SentCountReceipt,
    Subscriber,
    Suppression,
    TidingsModel,
    TrackingMarker,
)
from chalicelib.store.tracking import markers_listed

Finder = Callable[[str], Iterator[TidingsModel]]


@dataclass(frozen=True)
class AccountItems:
    find: Finder
    content: bool


@dataclass(frozen=True)
class NotPerAccount:
    reason: str


def _subscribers(account_id: str) -> Iterator[Subscriber]:
    for mailing_list in MailingList.by_account.query(account_id):
        yield from Subscriber.query(mailing_list.list_id, attributes_to_get=["list_id", "address"])


def _campaign_stats(account_id: str) -> Iterator[CampaignStat]:
    # Counters are sharded under `{campaign_id}#{shard}`, opens and clicks under their own
    # partition (store/campaign_stats.py).
    for campaign in Campaign.query(account_id, attributes_to_get=["account_id", "campaign_id"]):
        for partition in partition_keys(campaign.campaign_id):
            yield from CampaignStat.query(partition)


def _send_progress(account_id: str) -> Iterator[SendProgress]:
    for campaign in Campaign.query(account_id, attributes_to_get=["account_id", "campaign_id"]):
        yield from SendProgress.query(campaign.campaign_id, attributes_to_get=["campaign_id", "part"])


def _import_chunks(account_id: str) -> Iterator[ImportChunk]:
    for job in ImportJob.query(account_id, attributes_to_get=["account_id", "import_id"]):
        yield from ImportChunk.query(job.import_id, attributes_to_get=["import_id", "chunk"])


def _purge_lists(account_id: str) -> Iterator[MessagePurgeList]:
    """Every purge list of the account still waiting for its day: message records have no index
    by account (it would cost a write per mail), so they are found through these lists."""
    at = now()
    for bucket in buckets_between(at - timedelta(days=LOOKBACK_DAYS), at + MESSAGE_RETENTION):
        yield from MessagePurgeList.query(bucket, filter_condition=MessagePurgeList.account_id == account_id)


def _tracking_markers(account_id: str) -> Iterator[TrackingMarker]:
    """The tracking history of the account's recipients (P21): a marker lives at most 30 days
    from its mail, whose campaign batch's purge list names the recipient, so the purge lists
    lead to every marker (a Query per recipient; markers have no index, which would cost a
    write on every marker write). An account without a campaign started within the purge
    lists' reach has none: one Query answers that."""
    since = now() - MESSAGE_RETENTION - timedelta(days=LOOKBACK_DAYS)
    recent = Campaign.query(account_id, filter_condition=Campaign.started_at >= since,
                            attributes_to_get=["account_id", "campaign_id"])
    if not any(True for _ in recent):
        return
    for purge_list in _purge_lists(account_id):
        yield from markers_listed(purge_list)


def _message_records(account_id: str) -> Iterator[MessageRecord]:
    for purge_list in _purge_lists(account_id):
        yield from records_of(purge_list)


def _account(account_id: str) -> Iterator[Account]:
    try:
        yield Account.get(account_id, consistent_read=True)
    except Account.DoesNotExist:
        return


ACCOUNT_TABLES: dict[type[TidingsModel], AccountItems | NotPerAccount] = {
    # The keys first (P23): nothing may act as the account while its data goes, as a key still
    # working mid-purge could write back what the purge had passed. Not content: a suspended
    # account keeps them, to export what it holds (P22).
    ApiKey: AccountItems(lambda a: ApiKey.by_account.query(a), content=False),
    Subscriber: AccountItems(_subscribers, content=True),
    MailingList: AccountItems(lambda a: MailingList.by_account.query(a), content=True),
    CampaignStat: AccountItems(_campaign_stats, content=True),
    SendProgress: AccountItems(_send_progress, content=True),
    # Markers before the campaigns and lists that find them, records before their lists, so a
    # purge stopped midway can find the rest.
    TrackingMarker: AccountItems(_tracking_markers, content=True),
    Campaign: AccountItems(lambda a: Campaign.query(a), content=True),
    MessageRecord: AccountItems(_message_records, content=True),
    MessagePurgeList: AccountItems(_purge_lists, content=True),
    ImportChunk: AccountItems(_import_chunks, content=True),
    ImportJob: AccountItems(lambda a: ImportJob.query(a), content=True),
    PrivacyExport: AccountItems(lambda a: PrivacyExport.query(a), content=True),
    # Records that requests were answered (P19) and the suppressions that protect people (P12)
    # stay while the account exists, even with no content: it may be unsuspended.
    PrivacyRequest: AccountItems(lambda a: PrivacyRequest.query(a), content=False),
    Suppression: AccountItems(lambda a: Suppression.query(a), content=False),
    AccountHealthDay: AccountItems(lambda a: AccountHealthDay.query(a), content=False),
    AuditEntry: AccountItems(lambda a: AuditEntry.query(a), content=False),
    # Not content: a suspension can be lifted, and the account then sends as them again. Their SES
    # identities go with the account (services/retention deletes them before these items).
    SenderIdentity: AccountItems(lambda a: SenderIdentity.by_account.query(a), content=False),
    Account: AccountItems(_account, content=False),
    RateCounter: NotPerAccount("abuse-limit windows keyed by hashes: the daily purge (and TTL) "
                               "removes them when their window ends"),
    FeedbackReceipt: NotPerAccount("SES event receipts, expiring (TTL) 30 days after their mail was sent"),
    IdempotencyKey: NotPerAccount("transactional Idempotency-Keys' request hashes, expiring (TTL) a day "
                                  "after their request"),
    SentCountReceipt: NotPerAccount("counted send invocations, expiring (TTL) 15 days after counting"),
    SendRateBucket: NotPerAccount("the platform's one SES send-rate bucket"),
}
