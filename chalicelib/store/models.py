"""PynamoDB models: one per table of DESIGN.md's data model.

`Meta.logical_name` is the table's name without the deployment prefix; `bind_models` (binding.py)
sets the real `table_name` and region from the settings, so nothing here is frozen at import.
Index hash keys that combine two values (`list_status`, `account_address`) are written by the
store functions, never by callers.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pynamodb.attributes import (
    BinaryAttribute,
    BinarySetAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

_M = TypeVar("_M", bound="TidingsModel")
# DynamoDB's limits on a key value (UTF-8 bytes). It refuses a read by a longer one with a
# ValidationException (a 500), and an id in a URL path can be 8 KB.
_HASH_KEY_MAX_BYTES = 2048
_RANGE_KEY_MAX_BYTES = 1024


def _longer_than(value: Any, limit: int) -> bool:
    return isinstance(value, str) and len(value.encode("utf-8", "surrogatepass")) > limit


def too_long_for_a_sort_key(value: Any) -> bool:
    """Whether no item can have `value` as a sort key: a Query, an update or a delete by it is
    refused (a 500) rather than answered with nothing, so its caller answers NotFound first."""
    return _longer_than(value, _RANGE_KEY_MAX_BYTES)


class TidingsModel(Model):
    """Base for every table: on-demand billing, names bound at run time."""

    class Meta:
        abstract = True
        table_name = "unbound"
        logical_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    @classmethod
    def get(cls: type[_M], hash_key: Any, range_key: Any | None = None, consistent_read: bool = False,
            attributes_to_get: Sequence[str] | None = None) -> _M:
        """As Model.get; DoesNotExist, without asking, for a key too long for any item to have."""
        if _longer_than(hash_key, _HASH_KEY_MAX_BYTES) or _longer_than(range_key, _RANGE_KEY_MAX_BYTES):
            raise cls.DoesNotExist()
        return super().get(hash_key, range_key, consistent_read=consistent_read,
                           attributes_to_get=attributes_to_get)


def _index_meta(name: str) -> type:
    class Meta:
        index_name = name
        projection = AllProjection()

    return Meta


def _keys_index_meta(name: str) -> type:
    """An index that projects keys only: the retention purges read it to delete by key."""

    class Meta:
        index_name = name
        projection = KeysOnlyProjection()

    return Meta


# --- accounts and keys -----------------------------------------------------------------------


class AccountsBySuspension(GlobalSecondaryIndex["Account"]):
    """Sparse (only accounts with `suspended_at`): the P22 purge finds accounts suspended 30 days."""

    Meta = _index_meta("by_suspension")
    status = UnicodeAttribute(hash_key=True)
    suspended_at = UTCDateTimeAttribute(range_key=True)


class AccountsByActivity(GlobalSecondaryIndex["Account"]):
    """Accounts of a status by their last active day (P24: the inactivity warning and deletion)."""

    Meta = _index_meta("by_activity")
    status = UnicodeAttribute(hash_key=True)
    last_active_day = UnicodeAttribute(range_key=True)


class AccountsByDeletion(GlobalSecondaryIndex["Account"]):
    """Sparse (only accounts marked for deletion): the P23 purge reads the due ones. A time range
    rather than day buckets: accounts are few, and a missed run can strand no bucket."""

    Meta = _index_meta("by_deletion")
    deletion_state = UnicodeAttribute(hash_key=True)
    deletion_due_at = UTCDateTimeAttribute(range_key=True)


class Account(TidingsModel):
    """A tenant. Its profile identifies the sender in every marketing mail (P08)."""

    class Meta(TidingsModel.Meta):
        logical_name = "accounts"

    account_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    postal_address = UnicodeAttribute(null=True)
    contact_email = UnicodeAttribute(null=True)
    # P27: the nonce of the latest email-change mail; only its link may confirm, and only once.
    email_change_nonce = UnicodeAttribute(null=True)
    sender_identity = UnicodeAttribute(null=True)
    # P32: the language of the mails the platform sends the account (en, ro; absent: en).
    language = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="active")
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # Account health (P26, domain/health.py): set when the rates suspend sending; an
    # operator's lift sets `health_since`, from which the rates are judged afresh. The account's
    # own limits can only be stricter than the platform's.
    suspended_at = UTCDateTimeAttribute(null=True)
    suspension_reason = UnicodeAttribute(null=True)
    health_since = UTCDateTimeAttribute(null=True)
    max_complaint_rate = NumberAttribute(null=True)
    max_bounce_rate = NumberAttribute(null=True)
    # Retention (P22-P24, chalicelib/services/retention.py). `last_active_day` (ISO date) moves at most
    # once a day, on authenticated API use; deletion is marked by `deletion_state` "scheduled".
    last_active_day = UnicodeAttribute(null=True)
    inactivity_warned_at = UTCDateTimeAttribute(null=True)
    deletion_nonce = UnicodeAttribute(null=True)
    deletion_state = UnicodeAttribute(null=True)
    deletion_requested_at = UTCDateTimeAttribute(null=True)
    deletion_due_at = UTCDateTimeAttribute(null=True)
    content_erased_at = UTCDateTimeAttribute(null=True)
    by_suspension = AccountsBySuspension()
    by_activity = AccountsByActivity()
    by_deletion = AccountsByDeletion()


class KeysByAccount(GlobalSecondaryIndex["ApiKey"]):
    Meta = _index_meta("by_account")
    account_id = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute(range_key=True)


class ApiKey(TidingsModel):
    """An API key. Only the SHA-256 of its secret is stored (P27); the secret is shown once."""

    class Meta(TidingsModel.Meta):
        logical_name = "api-keys"

    key_hash = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    name = UnicodeAttribute()
    scope = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    # The UTC day the key was last used: the account's activity (P24) is written once a day.
    last_used_day = UnicodeAttribute(null=True)
    by_account = KeysByAccount()


class SendersByAccount(GlobalSecondaryIndex["SenderIdentity"]):
    Meta = _index_meta("by_account")
    account_id = UnicodeAttribute(hash_key=True)
    identity = UnicodeAttribute(range_key=True)


class SenderIdentity(TidingsModel):
    """A From identity, an address or a whole domain, that exactly one account owns (P35): the
    account may send as it once SES has verified it. Keyed by the domain, so one Query finds every
    identity at a domain (an address's and its domain's, whoever owns them)."""

    class Meta(TidingsModel.Meta):
        logical_name = "sender-identities"

    domain = UnicodeAttribute(hash_key=True)
    # The domain itself, or an address at it (normalised).
    identity = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    # Set when its account's give-up begins (services/senders._give_up): from then on nobody sends
    # as it, and the claim stays until SES's identity is deleted, so none outlives its claim.
    releasing_at = UTCDateTimeAttribute(null=True)
    # Set once that give-up deleted SES's identity: only the claim's delete is left, which any
    # give-up may finish at once (none of them touches SES again).
    ses_deleted = BooleanAttribute(null=True)
    # Set once its add made SES's identity (or the operator adopted the one SES had): before that,
    # and while that add may still be running, no give-up begins (services/senders._give_up).
    ses_made = BooleanAttribute(null=True)
    # On the domain's guard item only (store/senders.claims_at, no account named): a random version
    # every claim and release at the domain replaces, so one whose checks read an older one is refused.
    claims_version = UnicodeAttribute(null=True)
    by_account = SendersByAccount()


# --- lists and subscribers -------------------------------------------------------------------


class ConsentTextVersion(MapAttribute):
    """One version of a list's consent text; old versions stay for consent proof (P02)."""

    version = NumberAttribute()
    text = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ListsByAccount(GlobalSecondaryIndex["MailingList"]):
    Meta = _index_meta("by_account")
    account_id = UnicodeAttribute(hash_key=True)
    list_id = UnicodeAttribute(range_key=True)


class MailingList(TidingsModel):
    """A distribution list and its settings. Keyed by list id so public forms find it directly."""

    class Meta(TidingsModel.Meta):
        logical_name = "lists"

    list_id = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    name = UnicodeAttribute()
    double_opt_in = BooleanAttribute(default=True)
    # P01: days an unconfirmed signup waits for confirmation (1-7); None: the default, 7.
    pending_signup_days = NumberAttribute(null=True)
    track_opens = BooleanAttribute(default=True)
    track_clicks = BooleanAttribute(default=True)
    consent_versions = ListAttribute(of=ConsentTextVersion, default=list)
    # P30: "required" (new lists) or "not_required"; None for a list stored before it existed,
    # which reads as not required. The tracking box's text has versions of its own.
    tracking_consent = UnicodeAttribute(null=True, default_for_new="required")
    tracking_consent_versions = ListAttribute(of=ConsentTextVersion, default=list)
    # P32: the controller's privacy policy, linked from the form and the confirmation mail; the
    # language of the list's public pages and system mails ("en" when not set).
    privacy_policy_url = UnicodeAttribute(null=True)
    language = UnicodeAttribute(null=True)
    allowed_origins = UnicodeSetAttribute(null=True)
    declared_attributes = UnicodeSetAttribute(null=True)
    redirect_after_signup = UnicodeAttribute(null=True)
    redirect_after_confirm = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    by_account = ListsByAccount()


class ConsentProof(MapAttribute):
    """Proof of consent (P02): when, how, from where, and which consent text."""

    given_at = UTCDateTimeAttribute()
    source = UnicodeAttribute()
    ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    form_url = UnicodeAttribute(null=True)
    consent_text_version = NumberAttribute(null=True)
    # Where consent was first given, as an import's file names it (P02, P03).
    original_source = UnicodeAttribute(null=True)
    confirmed_at = UTCDateTimeAttribute(null=True)
    confirm_ip = UnicodeAttribute(null=True)
    confirm_user_agent = UnicodeAttribute(null=True)


class TrackingConsentProof(MapAttribute):
    """Proof of the separate consent to tracking (P30), like the mailing consent's (P02): when,
    how, from where and which text; when it was confirmed; and when the person withdrew it (a
    withdrawal alone, on a list that does not ask for consent, has only `withdrawn_at`)."""

    given_at = UTCDateTimeAttribute(null=True)
    source = UnicodeAttribute(null=True)
    ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    form_url = UnicodeAttribute(null=True)
    consent_text_version = NumberAttribute(null=True)
    confirmed_at = UTCDateTimeAttribute(null=True)
    withdrawn_at = UTCDateTimeAttribute(null=True)


class PhoneConsentProof(MapAttribute):
    """The confirmation of an entry's phone number by its person (a code sent by SMS): which
    number, when, from where; and the pending code's keyed hash, time and tries (domain/
    phone_consent.py). Marketing SMS go only to a confirmed number."""

    phone = UnicodeAttribute(null=True)
    confirmed_at = UTCDateTimeAttribute(null=True)
    confirm_ip = UnicodeAttribute(null=True)
    confirm_user_agent = UnicodeAttribute(null=True)
    code_hash = UnicodeAttribute(null=True)
    code_sent_at = UTCDateTimeAttribute(null=True)
    attempts = NumberAttribute(null=True)


class CodeText(MapAttribute):
    """Where the message record of a code texted for an entry is found: its message id and the
    purge list naming it with its recipient's keyed hash (store/messages.py). Neither the number
    nor its hash: the entry's erasure finds the record through them, the number being proven
    nobody's, or changed since (P18); once the number's own erasure took the record off its list
    they lead nowhere."""

    purge_list = UnicodeAttribute()
    message_id = UnicodeAttribute()
    sent_at = UTCDateTimeAttribute()


class ReturningSignup(MapAttribute):
    """A person's own signup back to the entry they unsubscribed (P12), waiting for their
    confirmation beside the entry, which stays as it ended until then (P22): the new contact
    data and consent proofs, and when the signup expires unconfirmed (P01)."""

    phone = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    company = UnicodeAttribute(null=True)
    website = UnicodeAttribute(null=True)
    field_of_activity = UnicodeAttribute(null=True)
    attributes = MapAttribute(default=dict)
    consent = ConsentProof()
    tracking = TrackingConsentProof(null=True)
    expires_at = UTCDateTimeAttribute()


class SubscribersByStatus(GlobalSecondaryIndex["Subscriber"]):
    Meta = _index_meta("by_list_status")
    list_status = UnicodeAttribute(hash_key=True)
    address = UnicodeAttribute(range_key=True)


class SubscribersByAccountAddress(GlobalSecondaryIndex["Subscriber"]):
    Meta = _index_meta("by_account_address")
    account_address = UnicodeAttribute(hash_key=True)
    list_id = UnicodeAttribute(range_key=True)


class SubscribersByPurgeDay(GlobalSecondaryIndex["Subscriber"]):
    """Sparse: only pending entries (P01) and ended ones (P29) carry `expires_at`. `purge_bucket`
    is the expiry's day and a shard (domain/retention.py; ended entries in buckets of their own),
    so the daily purge queries due days, never scans."""

    Meta = _keys_index_meta("by_purge_day")
    purge_bucket = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute(range_key=True)


class Subscriber(TidingsModel):
    """A person on one list. `address` is the normalised email; pending entries expire (P01),
    ended ones are deleted 30 days after they ended (P29)."""

    class Meta(TidingsModel.Meta):
        logical_name = "subscribers"

    list_id = UnicodeAttribute(hash_key=True)
    address = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute()
    status = UnicodeAttribute()
    email = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    company = UnicodeAttribute(null=True)
    website = UnicodeAttribute(null=True)
    field_of_activity = UnicodeAttribute(null=True)
    attributes = MapAttribute(default=dict)
    consent = ConsentProof()
    # P30: the separate consent to open and click tracking, when the person gave (or withdrew) it.
    tracking = TrackingConsentProof(null=True)
    # P01-P03 for SMS: the person's confirmation of their phone number.
    phone_consent = PhoneConsentProof(null=True)
    # The records of the codes texted for the entry while they may be held (P18, P21).
    code_texts = ListAttribute(of=CodeText, null=True)
    # P12: on an unsubscribed entry, the person's own signup back, until they confirm it.
    returning = ReturningSignup(null=True)
    # P17 restriction of processing: the entry is kept but sending skips it (every campaign).
    restricted = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # When the entry was unsubscribed, bounced or complained: its personal data goes 30 days on (P29).
    ended_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    list_status = UnicodeAttribute()
    account_address = UnicodeAttribute()
    purge_bucket = UnicodeAttribute(null=True)
    by_list_status = SubscribersByStatus()
    by_account_address = SubscribersByAccountAddress()
    by_purge_day = SubscribersByPurgeDay()


class Suppression(TidingsModel):
    """A suppressed address, kept only as a keyed HMAC so it survives erasure (P12, P18).

    `scope` is an account id, or `*` for the platform-wide opt-out.
    """

    class Meta(TidingsModel.Meta):
        logical_name = "suppressions"

    scope = UnicodeAttribute(hash_key=True)
    # The keyed hash; `{hash}#{list id}` for an unsubscribe from one list only (P12: the address
    # cannot be re-added to that list), kept under the account so the account's purges find it.
    address_hash = UnicodeAttribute(range_key=True)
    # The first reason, and every reason since (a later bounce or erasure must not be hidden by
    # an earlier unsubscribe: transactional mail depends on it, P11).
    reason = UnicodeAttribute()
    reasons = UnicodeSetAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    # Set by erasure (P18) whatever the first reason: the tracking worker records nothing more
    # about an erased person, even when they open a mail they kept.
    erased = BooleanAttribute(null=True)
    # P12: the lists the person signed up to again themselves (double opt-in, confirmed) after
    # unsubscribing: the suppression no longer holds for them. Any later suppression empties it.
    lifted_for = UnicodeSetAttribute(null=True)


# --- sending ---------------------------------------------------------------------------------


class CampaignsBySchedule(GlobalSecondaryIndex["Campaign"]):
    """Sparse: only scheduled campaigns carry `schedule_bucket`, so the scheduler's query reads
    just the due ones, oldest first, never scanning the table."""

    Meta = _index_meta("by_schedule")
    schedule_bucket = UnicodeAttribute(hash_key=True)
    # PynamoDB stores it as a fixed-width UTC ISO string, so string order is time order.
    send_at = UTCDateTimeAttribute(range_key=True)


class Campaign(TidingsModel):
    """A campaign of one account: its audience, its templates, its sender and its status.

    `text_from_html` says `text` was derived from `html` (and is derived again when html changes).
    `schedule_bucket` is written by store/campaigns.py, only while the status is scheduled.
    """

    class Meta(TidingsModel.Meta):
        logical_name = "campaigns"

    account_id = UnicodeAttribute(hash_key=True)
    campaign_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    channel = UnicodeAttribute(default="email")
    status = UnicodeAttribute(default="draft")
    list_ids = UnicodeSetAttribute()
    attribute_filter = MapAttribute(null=True, attr_name="filter")
    subject = UnicodeAttribute(null=True)
    html = UnicodeAttribute(null=True)
    text = UnicodeAttribute(null=True)
    text_from_html = BooleanAttribute(default=False)
    sms_body = UnicodeAttribute(null=True)
    from_address = UnicodeAttribute(null=True)
    from_name = UnicodeAttribute(null=True)
    reply_to = UnicodeAttribute(null=True)
    advertisement = BooleanAttribute(default=False)
    send_at = UTCDateTimeAttribute(null=True)
    schedule_bucket = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    # Mails that could not be built or sent (services/sending/step.MessageFailed), and the first
    # reason: a campaign with any ends `failed`, never `sent`.
    failed = NumberAttribute(null=True)
    failure_reason = UnicodeAttribute(null=True)
    # Fan-out pages planned but not queued by their last attempt, waiting for their retry or a
    # redrive, and when the first of them stalled: the owner sees why the campaign still sends
    # (web/views.py). Counts only.
    stalled_pages = NumberAttribute(null=True)
    stalled_since = UTCDateTimeAttribute(null=True)
    by_schedule = CampaignsBySchedule()


class MessageRecord(TidingsModel):
    """One sent message; erased 30 days after sending (P21). Keyed by the recipient's keyed hash
    (never the address or number) and the message id, deterministic per recipient, so a
    conditional put makes sending exactly-once (store/messages.py)."""

    class Meta(TidingsModel.Meta):
        logical_name = "messages"

    recipient_hash = UnicodeAttribute(hash_key=True)
    message_id = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    campaign_id = UnicodeAttribute(null=True)
    list_id = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()
    # The sender invocation that counts it as sent (store/sent_counts.py); removed once a later
    # delivery counted it instead, or when it failed for good (nothing to count).
    count_batch = UnicodeAttribute(null=True)
    # The key of the purge list that names it (store/messages.purge_list_key): the recipient's
    # erasure takes their keyed hash off that list too (P18).
    purge_list = UnicodeAttribute(null=True)
    # Not a mail but a campaign mail counted as failed and never sent (store/messages.mark_unsent):
    # a redrive may still send it, and takes that failure back.
    unsent = BooleanAttribute(null=True)
    # Claimed over an `unsent` record: its failure is counted, so counting it sent takes it back.
    failure_counted = BooleanAttribute(null=True)


class MessagePurgeList(TidingsModel):
    """The message records one send batch may write, filed under the day (and shard) they are
    due to be erased (P21): the daily purge reads these instead of an index on the records.
    Keys only, no contact data: a campaign batch's list holds the campaign id and its recipients'
    keyed hashes as raw bytes (the message ids follow from them; a third of the size of hex ids,
    so of the write units); any other list maps message id → recipient keyed hash. A tracking
    batch's list holds the keys of the markers it created (`markers`, packed by
    domain/tracking.pack_marker_key), filed under their mail's day 30 the same way."""

    class Meta(TidingsModel.Meta):
        logical_name = "message-purge-lists"

    purge_bucket = UnicodeAttribute(hash_key=True)
    # `{expiry, sortable}#{list id}`: a range condition finds the lists due by a time.
    entry = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute()
    campaign_id = UnicodeAttribute(null=True)
    recipients = BinarySetAttribute(legacy_encoding=False, null=True)
    messages = MapAttribute(null=True)
    markers = BinarySetAttribute(legacy_encoding=False, null=True)
    expires_at = TTLAttribute()


class SendProgress(TidingsModel):
    """How far a campaign's sending has got (store/send_progress.py). The `total` item counts the
    lists still being paged and the pages planned and finished; one item per page holds its
    planned batch count and the indexes of its finished batches, so a redelivered page or batch
    counts once. Ids and counts only; expires once SQS could no longer redeliver a job."""

    class Meta(TidingsModel.Meta):
        logical_name = "send-progress"

    campaign_id = UnicodeAttribute(hash_key=True)
    part = UnicodeAttribute(range_key=True)
    lists_open = NumberAttribute(null=True)
    pages_planned = NumberAttribute(null=True)
    pages_done = NumberAttribute(null=True)
    batches = NumberAttribute(null=True)
    last_page = BooleanAttribute(null=True)
    done_batches = NumberSetAttribute(null=True)
    counted = BooleanAttribute(null=True)
    # A page's batches and its next page's job are queued (once they are, a give-up lost nothing).
    queued = BooleanAttribute(null=True)
    # A give-up counted the page's unqueued batches as one failure, which the page's redrive
    # takes back once it queues them.
    failure_counted = BooleanAttribute(null=True)
    expires_at = TTLAttribute()


class CampaignStat(TidingsModel):
    """An aggregated counter of a campaign (P13, P14): never contact data. Under the campaign's
    tracking partition (store/campaign_stats.py) the items are the tracking worker's deltas (one
    a batch) and their folded snapshot, each holding many counters in `counts`."""

    class Meta(TidingsModel.Meta):
        logical_name = "campaign-stats"

    campaign_id = UnicodeAttribute(hash_key=True)
    counter = UnicodeAttribute(range_key=True)
    value = NumberAttribute(default=0)
    # The `sent` counter's: how many of the mails sent could be tracked (P30), added in the same
    # write as they are.
    trackable = NumberAttribute(null=True)
    # A delta or snapshot: counter name → amount.
    counts = MapAttribute(null=True)
    # A snapshot: the sort key of the last delta it folded in.
    folded_through = UnicodeAttribute(null=True)


class TrackingMarker(TidingsModel):
    """What the tracking worker already counted for one recipient (keyed hash, never the
    address) in a campaign: their opens, or their clicks on one link (domain/tracking.Marker),
    and so the recipient's tracking history there (P16). Rewritten whole, conditioned on
    `version`, by store/tracking.py; the person's export and erasure find them by key."""

    class Meta(TidingsModel.Meta):
        logical_name = "tracking-markers"

    # `{campaign_id}#{recipient keyed hash}`: one Query reads a recipient's markers in a campaign.
    campaign_recipient = UnicodeAttribute(hash_key=True)
    # `opens`, or `clicks#{hash of the link's label}`.
    scope = UnicodeAttribute(range_key=True)
    version = NumberAttribute()
    # Viewer classes counted as unique; `any` is implied by the item's existence.
    viewers = UnicodeSetAttribute()
    # Short event id → the event's time (epoch seconds), for the events of the last 15 days.
    events = MapAttribute()
    # The times of the first and latest events counted, and how many were counted.
    first_at = UTCDateTimeAttribute()
    last_at = UTCDateTimeAttribute()
    counted = NumberAttribute()
    # A click marker's link: scheme, host and path, at most 200 characters (no query string).
    link = UnicodeAttribute(null=True)
    # The batch that wrote it last, when, and what that write added to the campaign's counters
    # (domain/tracking.py: a batch that died before its delta is adopted from these).
    by = UnicodeAttribute(null=True)
    by_at = UTCDateTimeAttribute(null=True)
    by_counts = MapAttribute(null=True)
    expires_at = TTLAttribute()
    # The purge list its creation filed it on (store/messages.purge_list_key): the recipient's
    # erasure takes its key off that list (P18).
    purge_list = UnicodeAttribute(null=True)


# --- privacy, audit, abuse limits -------------------------------------------------------------


class PrivacyRequest(TidingsModel):
    """A data-subject request with its 30-day due date (P19). The subject is a keyed hash, so
    the record survives erasure (P18); `outcome` holds counts and flags, never contact data.
    `request_id` sorts by time."""

    class Meta(TidingsModel.Meta):
        logical_name = "privacy-requests"

    account_id = UnicodeAttribute(hash_key=True)
    request_id = UnicodeAttribute(range_key=True)
    type = UnicodeAttribute()
    subject_kind = UnicodeAttribute()
    subject_hash = UnicodeAttribute()
    actor = UnicodeAttribute()
    status = UnicodeAttribute(default="received")
    received_at = UTCDateTimeAttribute()
    due_at = UTCDateTimeAttribute()
    completed_at = UTCDateTimeAttribute(null=True)
    outcome = MapAttribute(null=True)


class ExportsByPurgeDay(GlobalSecondaryIndex["PrivacyExport"]):
    """Exports by the day (and shard) their 7 days end: the daily purge's query (P16, P25)."""

    Meta = _keys_index_meta("by_purge_day")
    purge_bucket = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute(range_key=True)


class PrivacyExport(TidingsModel):
    """The export an access or portability request produced (P16): a copy of the person's data,
    zlib-compressed JSON, downloadable for 7 days or until the earliest deadline of the data it
    copies if sooner (domain/privacy.export_expiry), then deleted by the daily purge (reads check
    the time; TTL is the backstop)."""

    class Meta(TidingsModel.Meta):
        logical_name = "privacy-exports"

    account_id = UnicodeAttribute(hash_key=True)
    request_id = UnicodeAttribute(range_key=True)
    subject_hash = UnicodeAttribute()
    payload = BinaryAttribute(legacy_encoding=False)
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()
    # Absent on exports saved before the purge read them: TTL deletes those.
    purge_bucket = UnicodeAttribute(null=True)
    by_purge_day = ExportsByPurgeDay()


class AuditEntry(TidingsModel):
    """Who did what, when (P27). `entry_id` sorts by time; no contact data in any field."""

    class Meta(TidingsModel.Meta):
        logical_name = "audit-log"

    account_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)
    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute(null=True)


class ImportJob(TidingsModel):
    """A CSV import of one list: what was queued. Its chunks' results are ImportChunk items."""

    class Meta(TidingsModel.Meta):
        logical_name = "imports"

    account_id = UnicodeAttribute(hash_key=True)
    import_id = UnicodeAttribute(range_key=True)
    list_id = UnicodeAttribute()
    total_rows = NumberAttribute()
    total_chunks = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()
    # The finished chunks' outcomes added up, in the transaction that stores each (so once):
    # a report reads these, not every chunk. None: an import recorded before they were kept.
    chunks_done = NumberAttribute(null=True)
    confirmed = NumberAttribute(null=True)
    pending = NumberAttribute(null=True)
    unchanged = NumberAttribute(null=True)
    suppressed = NumberAttribute(null=True)
    rate_limited = NumberAttribute(null=True)
    invalid = NumberAttribute(null=True)


class ImportRowError(MapAttribute):
    """Why one row was not imported: its line, the column, and the message (no cell values)."""

    line = NumberAttribute()
    field = UnicodeAttribute(null=True)
    message = UnicodeAttribute()


class ImportChunk(TidingsModel):
    """The outcome of one chunk of an import, written once (so a redelivered chunk counts once).
    Before it is done, the item holds only `planned`."""

    class Meta(TidingsModel.Meta):
        logical_name = "import-chunks"

    import_id = UnicodeAttribute(hash_key=True)
    chunk = NumberAttribute(range_key=True)
    confirmed = NumberAttribute(default=0)
    pending = NumberAttribute(default=0)
    unchanged = NumberAttribute(default=0)
    suppressed = NumberAttribute(default=0)
    rate_limited = NumberAttribute(default=0)
    invalid = NumberAttribute(default=0)
    errors = ListAttribute(of=ImportRowError, default=list)
    # The lines (row numbers, never cell values) the chunk set out to write, noted before writing
    # them: a redelivered chunk takes the entries it finds there as its own.
    planned = NumberSetAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute()


class CountersByPurgeDay(GlobalSecondaryIndex["RateCounter"]):
    """Counters by the day (and shard) their window ends: the daily purge's query."""

    Meta = _keys_index_meta("by_purge_day")
    purge_bucket = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute(range_key=True)


class CountersBySubject(GlobalSecondaryIndex["RateCounter"]):
    """Counters by the person they count for (their keyed hash in the account,
    domain/suppression.account_subject): their erasure's query in that account (P18)."""

    Meta = _keys_index_meta("by_subject")
    subject = UnicodeAttribute(hash_key=True)


class RateCounter(TidingsModel):
    """A fixed-window counter for abuse limits, shared by every Lambda; expires with its window.
    One that counts for a person (its key holds a keyed hash of theirs) names them in `subject`."""

    class Meta(TidingsModel.Meta):
        logical_name = "rate-counters"

    counter_key = UnicodeAttribute(hash_key=True)
    count = NumberAttribute(default=0)
    expires_at = TTLAttribute()
    purge_bucket = UnicodeAttribute(null=True)
    by_purge_day = CountersByPurgeDay()
    subject = UnicodeAttribute(null=True)
    by_subject = CountersBySubject()
    # On a job's marker only (store/rate_limits): when its count was made, so that its refund, on
    # any delivery, gives back the windows it counted in.
    counted_at = UTCDateTimeAttribute(null=True)


class SendRateBucket(TidingsModel):
    """The token bucket every sending Lambda draws from, so together they stay under the SES max
    send rate (store/send_rate.py). `full_at` is when the bucket is full again (epoch seconds)."""

    class Meta(TidingsModel.Meta):
        logical_name = "send-rate"

    bucket_id = UnicodeAttribute(hash_key=True)
    full_at = NumberAttribute()


class FeedbackReceipt(TidingsModel):
    """One mail's outcome already counted: (Tidings' message id, counter, keyed hash of the
    recipient). Written in the same transaction as the counters it adds to, so a repeated or
    replayed event adds nothing (store/feedback.py); expires once the mail's record has gone."""

    class Meta(TidingsModel.Meta):
        logical_name = "feedback-receipts"

    receipt_key = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute()


class SentCountReceipt(TidingsModel):
    """One sender invocation's sent mail already counted (its count batch id; no contact data).
    Written in the same transaction as the counters it adds to (store/sent_counts.py), so a
    redelivered job knows which of its claims were counted; expires once SQS could no longer
    redeliver the job."""

    class Meta(TidingsModel.Meta):
        logical_name = "sent-count-receipts"

    receipt_key = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute()
    # Not counted by its invocation but taken over by a later delivery of its job, which counted
    # some of its claims (store/sent_counts.py): the invocation counts only what is still its own.
    taken = BooleanAttribute(null=True)


class KeysByRecipient(GlobalSecondaryIndex["IdempotencyKey"]):
    """Held keys by their recipient's keyed hash in the account (domain/suppression.account_subject):
    the recipient's erasure in that account finds them (P18)."""

    Meta = _keys_index_meta("by_recipient")
    recipient_hash = UnicodeAttribute(hash_key=True)


class IdempotencyKey(TidingsModel):
    """An account's Idempotency-Key for transactional mail, held for the request it was first
    used with (store/idempotency.py): a digest of the account and key, and a keyed hash of the
    request (never the recipient or content in clear); expires with the key's window. The
    recipient's keyed hash lets their erasure find it: the fingerprint is theirs too."""

    class Meta(TidingsModel.Meta):
        logical_name = "idempotency-keys"

    key_id = UnicodeAttribute(hash_key=True)
    fingerprint = UnicodeAttribute()
    expires_at = TTLAttribute()
    recipient_hash = UnicodeAttribute(null=True)
    by_recipient = KeysByRecipient()


class AccountHealthDay(TidingsModel):
    """One account's mail counters for one UTC day (P26): aggregates only, never contact data.
    `day` is ISO (`2026-03-07`), so a range query reads a window in order."""

    class Meta(TidingsModel.Meta):
        logical_name = "account-health"

    account_id = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(range_key=True)
    sent = NumberAttribute(default=0)
    delivered = NumberAttribute(default=0)
    hard_bounces = NumberAttribute(default=0)
    soft_bounces = NumberAttribute(default=0)
    complaints = NumberAttribute(default=0)
    # The account's own mails that could not be built or sent (transactional, confirmation, test:
    # services/sending/outbox.py), and the latest reason (kind, message id, why; no contact data).
    failed = NumberAttribute(null=True)
    last_failure = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


ALL_MODELS: tuple[type[TidingsModel], ...] = (
    Account,
    ApiKey,
    SenderIdentity,
    MailingList,
    Subscriber,
    Suppression,
    Campaign,
    MessageRecord,
    MessagePurgeList,
    SendProgress,
    CampaignStat,
    TrackingMarker,
    PrivacyRequest,
    PrivacyExport,
    AuditEntry,
    RateCounter,
    SendRateBucket,
    ImportJob,
    ImportChunk,
    FeedbackReceipt,
    SentCountReceipt,
    IdempotencyKey,
    AccountHealthDay,
)
