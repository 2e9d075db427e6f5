"""What sending a campaign decides, without touching AWS: whether the account may send, who on a
page of subscribers receives it, how recipients are cut into batch jobs, and the message ids that
make each mail exactly-once.

A campaign fans out in two kinds of jobs. A *page job* reads one page of a list's confirmed
subscribers and plans its batches; a *batch job* carries at most BATCH_SIZE recipients (their
contact data, so the sender needs no read per recipient) and the list's settings.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib.domain.accounts import AccountProfile
from chalicelib.domain.campaigns import Channel, matches_filter
from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput
from chalicelib.domain.marketing_mail import ListSettings
from chalicelib.domain.subscriptions import Contact

# One page of a list per fan-out job: one Query, well inside a Lambda's time at any list size.
PAGE_SIZE = 500
# Recipients per batch job: one rate-token call and one suppression read cover a whole batch.
BATCH_SIZE = 100
# Ten jobs share one SendMessageBatch call, which SQS limits to 256 KiB: a batch whose
# recipients carry long attribute values is cut smaller.
MAX_JOB_BYTES = 24_000

PAGE_JOB = "campaign_page"
BATCH_JOB = "campaign_batch"
CAMPAIGN_KIND = "campaign"
TEST_KIND = "test"


def check_may_send(blocked_reason: str | None, profile: AccountProfile) -> None:
    """Raise when the account may not send this campaign now: Forbidden when it is suspended
    (P26), Conflict when its profile lacks what identifies the sender (P08). The From identity is
    checked by services/senders.check_sender (P35)."""
    if blocked_reason:
        raise Forbidden(blocked_reason, field="account")
    missing = profile.missing_for_sending()
    if missing:
        raise Conflict("the account profile is incomplete; add " + ", ".join(missing) + " with "
                       "PATCH /v1/account before sending (P08)", field="profile")


def eligible(channel: Channel, attribute_filter: Mapping[str, str], contact: Contact,
             restricted: bool, phone_confirmed: bool = False) -> bool:
    """Whether a confirmed subscriber receives the campaign: not restricted (P17), matching the
    filter, and for SMS with a phone number its person confirmed (P01)."""
    if restricted or not matches_filter(attribute_filter, contact):
        return False
    return channel is not Channel.SMS or (bool(contact.phone) and phone_confirmed)


def campaign_message_id(campaign_id: str, recipient_hash: str) -> str:
    """The one message id of this campaign for this person (keyed hash of the address or phone),
    the same on every list and every redelivery: claiming it makes sending exactly-once."""
    digest = hashlib.sha256(f"{campaign_id}|{recipient_hash}".encode()).hexdigest()[:40]
    return f"cm_{digest}"


def transactional_message_id(account_id: str, idempotency_key: str) -> str:
    """The message id for a transactional request repeated with the same Idempotency-Key."""
    digest = hashlib.sha256(f"{account_id}|{idempotency_key}".encode()).hexdigest()[:40]
    return f"tx_{digest}"


# --- jobs ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PageJob:
    """Read page `page` of a list's confirmed subscribers, starting after `start` (a DynamoDB
    key; None for the first page)."""

    account_id: str
    campaign_id: str
    list_id: str
    page: int = 0
    start: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": PAGE_JOB, **asdict(self)}


@dataclass(frozen=True)
class BatchJob:
    """Send the campaign to `recipients`, batch `index` of page `page` of the list. `trackable`
    names the recipients whose mail may carry an open pixel and tracked links (P30): the list
    tracks and, where it asks, they consented."""

    account_id: str
    campaign_id: str
    mailing_list: ListSettings
    page: int
    index: int
    recipients: list[Contact] = field(default_factory=list)
    trackable: frozenset[str] = frozenset()

    @property
    def batch_id(self) -> str:
        return f"{self.mailing_list.list_id}#{self.page}#{self.index}"

    def to_dict(self) -> dict[str, Any]:
        return {"type": BATCH_JOB, "account_id": self.account_id, "campaign_id": self.campaign_id,
                "list": asdict(self.mailing_list), "page": self.page, "index": self.index,
                "recipients": [_contact_dict(contact, contact.email in self.trackable)
                               for contact in self.recipients]}


# The key that marks a trackable recipient in a queued batch (it is no contact field).
_TRACKABLE = "trackable"


def _contact_dict(contact: Contact, trackable: bool = False) -> dict[str, Any]:
    data = {name: value for name, value in asdict(contact).items() if value not in (None, {})}
    if trackable:
        data[_TRACKABLE] = True
    return data


def job_from_dict(data: Mapping[str, Any]) -> PageJob | BatchJob:
    """Parse a queued fan-out or batch job; InvalidInput when malformed (it goes to the DLQ)."""
    try:
        if data.get("type") == PAGE_JOB:
            return PageJob(account_id=data["account_id"], campaign_id=data["campaign_id"],
                           list_id=data["list_id"], page=int(data["page"]), start=data.get("start"))
        if data.get("type") == BATCH_JOB:
            items = [dict(item) for item in data["recipients"]]
            trackable = frozenset(item["email"] for item in items if item.pop(_TRACKABLE, False))
            return BatchJob(account_id=data["account_id"], campaign_id=data["campaign_id"],
                            mailing_list=ListSettings(**data["list"]), page=int(data["page"]),
                            index=int(data["index"]),
                            recipients=[Contact(**item) for item in items], trackable=trackable)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"malformed campaign job: {exc}", field="job") from None
    raise InvalidInput(f"unknown campaign job type {data.get('type')!r}", field="type")


# --- batching -----------------------------------------------------------------------------------

def cut_batches(recipients: Iterable[Contact], max_count: int = BATCH_SIZE,
                max_bytes: int = MAX_JOB_BYTES) -> list[list[Contact]]:
    """Consecutive batches of at most `max_count` recipients and about `max_bytes` of JSON."""
    batches: list[list[Contact]] = []
    current: list[Contact] = []
    size = 0
    for contact in recipients:
        weight = len(json.dumps(_contact_dict(contact, True)))
        if current and (len(current) >= max_count or size + weight > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(contact)
        size += weight
    if current:
        batches.append(current)
    return batches


def regroup(recipients: list[Contact], count: int) -> list[list[Contact]]:
    """The recipients in exactly `count` consecutive, near-equal batches (some may be empty).

    A redelivered page must enqueue the batches its first delivery planned, whatever changed in
    the list meanwhile; with no batch planned, recipients who appeared since are not mailed.
    """
    if count <= 0:
        return []
    size, extra = divmod(len(recipients), count)
    groups, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        groups.append(recipients[start:end])
        start = end
    return groups

