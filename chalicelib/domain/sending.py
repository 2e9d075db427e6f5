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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib.domain.accounts import AccountProfile
from chalicelib.domain.campaigns import Channel, matches_filter
from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput
from chalicelib.domain.health import counts_for_account
from chalicelib.domain.list_settings import ListSettings
from chalicelib.domain.message_ids import campaign_message_id as campaign_message_id
from chalicelib.domain.signup_limits import Counter
from chalicelib.domain.subscriptions import Contact, Status
from chalicelib.domain.transactional import KIND as TRANSACTIONAL_KIND
from chalicelib.domain.transactional import blocking_reason as transactional_blocking_reason

# One page of a list per fan-out job: one Query, well inside a Lambda's time at any list size.
PAGE_SIZE = 500
# Recipients per batch job: one rate-token call and one suppression read cover a whole batch.
BATCH_SIZE = 100
# Ten jobs share one SendMessageBatch call, which SQS limits to 256 KiB: a batch whose
# recipients carry long attribute values is cut smaller.
MAX_JOB_BYTES = 24_000

# The SES rate is shared by two lanes, each its own bucket (store/send_rate.py): campaigns reserve
# their batches' send times ahead, which can fill hours of the rate; transactional and system mail
# (a confirmation link, a test send) takes what the outbox lane holds and never waits behind a
# campaign. The outbox gets this share of the rate, at least OUTBOX_MIN_RATE (half the rate at most).
OUTBOX_SHARE = 0.05
OUTBOX_MIN_RATE = 1.0
# The outbox lane's burst: a test send's five addresses, or a few signups at once, go together
# (a second may then hold this many more mails than the rate: SES's throttling is retried).
OUTBOX_BURST = 5
# A sender waits this long at most for its next send time; beyond, it hands the rest of its batch
# back to the queue, delayed until then (a Lambda is billed while it sleeps).
MAX_SEND_WAIT_SECONDS = 0.005

# Tests one account may send a day, per channel: a test is marketing to someone who gave no
# consent (P01), so the test route must not become a way round a list; a day's worth is enough to
# try a campaign on a team's inboxes and phones. Texts are also paid for one by one.
TESTS_PER_DAY = {Channel.EMAIL: 50, Channel.SMS: 20}

PAGE_JOB = "campaign_page"
BATCH_JOB = "campaign_batch"
CAMPAIGN_KIND = "campaign"
TEST_KIND = "test"
SMS_KIND = "sms"


def daily_tests(account_id: str, channel: Channel) -> Counter:
    """The tests the account sent today on `channel` (TESTS_PER_DAY)."""
    return Counter(f"test-{channel.value}:{account_id}", TESTS_PER_DAY[channel], 86_400)


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


def counts_toward_rates(kind: str) -> bool:
    """Whether a sent message of `kind` adds to the volume the account's bounce and complaint
    rates are computed over (P26): the account's own mail, not a text. SES never bounces a text
    nor hears a complaint about it, so counted in, texts would only dilute the rates."""
    return kind != SMS_KIND and counts_for_account(kind)


# Outbox mail whose recipient's suppressions decide it, when it is requested and again when it is
# sent (a complaint can land in between): a test send is campaign content, so every reason
# forbids it (P12); transactional mail may still reach an address that only unsubscribed (P11).
# A confirmation link is checked where it is requested; the platform's own mail against its own
# scope when it is sent (services/sending/outbox.py).
_SUPPRESSION_RULES: dict[str, Callable[[set[str]], str | None]] = {
    TEST_KIND: lambda reasons: min(reasons, default=None),
    TRANSACTIONAL_KIND: transactional_blocking_reason,
}


def checks_suppressions(kind: str) -> bool:
    """Whether an outbox mail of `kind` is refused to a suppressed recipient (see above)."""
    return kind in _SUPPRESSION_RULES


def blocking_suppression(kind: str, reasons: set[str]) -> str | None:
    """The suppression reason that forbids an outbox mail of `kind` to a recipient suppressed
    for `reasons`, or None when it may go."""
    rule = _SUPPRESSION_RULES.get(kind)
    return rule(reasons) if rule else None


def eligible(channel: Channel, attribute_filter: Mapping[str, str], contact: Contact,
             restricted: bool, phone_confirmed: bool = False) -> bool:
    """Whether a confirmed subscriber receives the campaign: not restricted (P17), matching the
    filter, and for SMS with a phone number its person confirmed (P01)."""
    if restricted or not matches_filter(attribute_filter, contact):
        return False
    return channel is not Channel.SMS or (bool(contact.phone) and phone_confirmed)


def still_mailable(status: str | None, restricted: bool) -> bool:
    """Whether a recipient the fan-out chose may still be mailed when its send time comes: its
    entry (of that `status`, None when it is gone) is still on the list, still confirmed, and its
    processing was not restricted since (P17: kept but not mailed)."""
    return status == Status.CONFIRMED.value and not restricted


def sending_lanes(ses_rate: float) -> tuple[float, float]:
    """(campaign rate, outbox rate), messages a second: together `ses_rate`."""
    outbox = min(ses_rate / 2, max(OUTBOX_MIN_RATE, ses_rate * OUTBOX_SHARE))
    return ses_rate - outbox, outbox


@dataclass(frozen=True)
class Reservation:
    """Send times reserved for a batch's recipients, in order: the k-th may go at `first` +
    k * `interval` (epoch seconds), not before."""

    first: float
    interval: float

    def slot(self, position: int) -> float:
        return self.first + position * self.interval

    def after(self, sent: int) -> Reservation:
        """The reservation of what is left once the first `sent` have gone."""
        return Reservation(self.slot(sent), self.interval)

    def split(self, sizes: Iterable[int]) -> list[Reservation]:
        """The reservation cut into consecutive parts of these sizes (one a batch)."""
        parts, offset = [], 0
        for size in sizes:
            parts.append(self.after(offset))
            offset += size
        return parts


def transactional_message_id(account_id: str, idempotency_key: str, fingerprint: str) -> str:
    """The message id for a transactional request repeated with the same Idempotency-Key: the
    same request (`fingerprint`) gets the same id, so it is sent once; another request under the
    key, once the key is no longer held for the first (domain/transactional.IDEMPOTENCY_WINDOW),
    gets its own id and is sent."""
    digest = hashlib.sha256(json.dumps([account_id, idempotency_key, fingerprint]).encode()).hexdigest()[:40]
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
    """Send the campaign to `recipients`, batch `index` of page `page` of the list; at the send
    times of `reservation` once the batch has reserved them (None: not yet). `trackable` names
    the recipients whose mail may carry an open pixel and tracked links (P30): the list tracks
    and, where it asks, they consented."""

    account_id: str
    campaign_id: str
    mailing_list: ListSettings
    page: int
    index: int
    recipients: list[Contact] = field(default_factory=list)
    trackable: frozenset[str] = frozenset()
    reservation: Reservation | None = None
    # A continuation: what an earlier delivery of the batch left (already filed for the purge).
    continued: bool = False

    @property
    def batch_id(self) -> str:
        return f"{self.mailing_list.list_id}#{self.page}#{self.index}"

    def to_dict(self) -> dict[str, Any]:
        job = {"type": BATCH_JOB, "account_id": self.account_id, "campaign_id": self.campaign_id,
               "list": asdict(self.mailing_list), "page": self.page, "index": self.index,
               "recipients": [_contact_dict(contact, contact.email in self.trackable)
                              for contact in self.recipients]}
        if self.reservation is not None:
            job["reservation"] = asdict(self.reservation)
        if self.continued:
            job["continued"] = True
        return job


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
            reserved = data.get("reservation")
            return BatchJob(account_id=data["account_id"], campaign_id=data["campaign_id"],
                            mailing_list=ListSettings(**data["list"]), page=int(data["page"]),
                            index=int(data["index"]),
                            recipients=[Contact(**item) for item in items], trackable=trackable,
                            reservation=None if reserved is None else Reservation(
                                float(reserved["first"]), float(reserved["interval"])),
                            continued=bool(data.get("continued", False)))
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

