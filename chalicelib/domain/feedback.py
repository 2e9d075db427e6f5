"""SES feedback, parsed: event publishing (`eventType`) and identity notifications
(`notificationType`), raw or inside the SNS envelope SQS receives without raw delivery.

Pure: one SQS body in, one `FeedbackEvent` (or `Ignored`) out. SES may add fields at any time, so
only what Tidings uses is read; a record Tidings cannot read at all is `MalformedFeedback`, which
fails that record alone (redelivered, then the dead-letter queue).
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from chalicelib.domain.clock import parse_utc_time
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.ids import is_id


class MalformedFeedback(InvalidInput):
    """The record is not an SES notification Tidings can read."""

    code = "malformed_feedback"


class FeedbackKind(StrEnum):
    SEND = "Send"
    DELIVERY = "Delivery"
    BOUNCE = "Bounce"
    COMPLAINT = "Complaint"
    REJECT = "Reject"
    DELIVERY_DELAY = "DeliveryDelay"
    OPEN = "Open"
    CLICK = "Click"
    RENDERING_FAILURE = "RenderingFailure"
    SUBSCRIPTION = "Subscription"


class BounceType(StrEnum):
    PERMANENT = "Permanent"
    TRANSIENT = "Transient"
    UNDETERMINED = "Undetermined"


# Names as they arrive; AWS's own sample spells the rendering failure with a space.
_KINDS: dict[str, FeedbackKind] = {kind.value: kind for kind in FeedbackKind}
_KINDS["Rendering Failure"] = FeedbackKind.RENDERING_FAILURE
# Identity notifications only ever carry these three.
_NOTIFICATION_KINDS = frozenset({FeedbackKind.BOUNCE, FeedbackKind.COMPLAINT, FeedbackKind.DELIVERY})
# The event's own object (its timestamp and recipients live there), by kind.
_DETAIL_KEY = {
    FeedbackKind.SEND: "send",
    FeedbackKind.DELIVERY: "delivery",
    FeedbackKind.BOUNCE: "bounce",
    FeedbackKind.COMPLAINT: "complaint",
    FeedbackKind.REJECT: "reject",
    FeedbackKind.DELIVERY_DELAY: "deliveryDelay",
    FeedbackKind.OPEN: "open",
    FeedbackKind.CLICK: "click",
    FeedbackKind.RENDERING_FAILURE: "failure",
    FeedbackKind.SUBSCRIPTION: "subscription",
}

# SES's account-level suppression list is shared by every tenant (one SES account): an address
# lands there through any tenant's bounce or complaint, and SES does not count these bounces
# toward the bounce rate. `Suppressed` (SES's global list: an address that recently bounced as
# invalid for any sender) SES does count, so Tidings counts it too.
ON_ACCOUNT_SUPPRESSION_LIST = "OnAccountSuppressionList"

# A feedback report of this type (RFC 5965) is the recipient saying the mail is not spam, which
# SES passes on as a complaint all the same: acting on it would stop mail they want.
NOT_SPAM = "not-spam"

# SES takes at most 50 recipients a message (Tidings sends one, P10): an event listing more is
# forged or broken, and read whole it would write a suppression for each of an unbounded list.
MAX_RECIPIENTS = 50

# What the logs may quote of a notification: an SES message id (hex digits, letters and dashes)
# and a type's name (words). Anything else is not written there as it came: a forged
# notification could put an address in either field (P14).
_LOGGABLE_SES_ID = re.compile(r"[A-Za-z0-9-]{1,100}")
_LOGGABLE_TYPE = re.compile(r"[A-Za-z][A-Za-z ]{0,39}")


@dataclass(frozen=True)
class Bounce:
    type: BounceType
    subtype: str | None

    @property
    def counts_toward_rates(self) -> bool:
        """Whether this bounce says something about the account's own sending (P26)."""
        return self.subtype != ON_ACCOUNT_SUPPRESSION_LIST


@dataclass(frozen=True)
class Engagement:
    """What an open or click carries (for the tracking reports; the IP only to derive a country)."""

    user_agent: str | None
    ip: str | None
    link: str | None = None


@dataclass(frozen=True)
class FeedbackEvent:
    """One SES event about one message. `recipients` are the addresses it concerns (contact data:
    held in memory, never logged); `tags` are the message's SES tags, first value of each: claims
    the notification carries, which nothing verifies on the way."""

    kind: FeedbackKind
    ses_message_id: str
    timestamp: datetime
    recipients: tuple[str, ...]
    tags: Mapping[str, str] = field(default_factory=dict)
    bounce: Bounce | None = None
    complaint_feedback_type: str | None = None
    engagement: Engagement | None = None
    complaint_subtype: str | None = None

    # The tags only find the message record (SentMessage); what the event touches comes from it.
    @property
    def loggable_ses_message_id(self) -> str:
        """SES's message id for the logs, or a placeholder when it is not shaped like one."""
        return self.ses_message_id if _LOGGABLE_SES_ID.fullmatch(self.ses_message_id) else "(not an SES id)"

    @property
    def complaint_counts_toward_rates(self) -> bool:
        """Whether this complaint is about the account's own mail (P26, P28): one SES reports
        for an address on its account-level suppression list (shared by every tenant) is not."""
        return self.complaint_subtype != ON_ACCOUNT_SUPPRESSION_LIST

    @property
    def message_id(self) -> str | None:
        """Tidings' own id of the message (the `message` tag the senders set): with the
        recipient's keyed hash, the key of its message record."""
        return self.tags.get("message")

    @property
    def campaign_id(self) -> str | None:
        """The `campaign` tag: a campaign mail's id follows from it and the recipient."""
        return self.tags.get("campaign")


@dataclass(frozen=True)
class TaggedMail:
    """What an event's tags say of a mail no message record matches (its record expired): who
    sent it and from which list. Unconfirmed, so enough to stop mail, never to count (P26)."""

    account_id: str
    kind: str | None
    list_id: str | None


def tagged_mail(tags: Mapping[str, str]) -> TaggedMail | None:
    """The account, kind and list the tags name, or None when the `account` tag is missing or not
    an account id; a `list` tag that is not a list id is left out."""
    account_id, list_id = tags.get("account"), tags.get("list")
    if account_id is None or not is_id(account_id, "acc"):
        return None
    return TaggedMail(account_id, tags.get("kind"), list_id if list_id and is_id(list_id, "lst") else None)


@dataclass(frozen=True)
class Ignored:
    """A well-formed record Tidings does not act on (logged, then acknowledged)."""

    reason: str


def parse_feedback(body: str) -> FeedbackEvent | Ignored:
    """Read one SQS message body. Raises MalformedFeedback when it is not readable SES feedback."""
    document = _json_object(body, "the record")
    if "Type" in document and "Message" in document:
        if document["Type"] != "Notification":
            return Ignored(f"SNS message of type {_loggable_type(document['Type'])}")
        message = document["Message"]
        if not isinstance(message, str):
            raise MalformedFeedback("the SNS envelope's Message is not a string", field="Message")
        document = _json_object(message, "the SNS Message")
    return parse_ses_notification(document)


def parse_ses_notification(document: Mapping[str, Any]) -> FeedbackEvent | Ignored:
    """Read one SES notification (already decoded JSON)."""
    if "eventType" in document:
        name, from_notification = document["eventType"], False
    elif "notificationType" in document:
        name, from_notification = document["notificationType"], True
    else:
        raise MalformedFeedback("neither eventType nor notificationType is present", field="eventType")
    kind = _KINDS.get(name) if isinstance(name, str) else None
    if kind is None or (from_notification and kind not in _NOTIFICATION_KINDS):
        return Ignored(f"unknown SES type {_loggable_type(name)}")
    mail = _object(document, "mail")
    detail_key = _DETAIL_KEY[kind]
    detail = _object(document, detail_key) if detail_key in document else {}
    message_id = mail.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        raise MalformedFeedback("mail.messageId is missing", field="mail.messageId")
    feedback_type = _text(detail.get("complaintFeedbackType"))
    if kind is FeedbackKind.COMPLAINT and (feedback_type or "").lower() == NOT_SPAM:
        return Ignored("a not-spam feedback report is no complaint")
    return FeedbackEvent(
        kind=kind,
        ses_message_id=message_id,
        timestamp=_timestamp(detail.get("timestamp") or mail.get("timestamp")),
        recipients=_recipients(kind, mail, detail),
        tags=_tags(mail.get("tags")),
        bounce=_bounce(detail) if kind is FeedbackKind.BOUNCE else None,
        complaint_feedback_type=feedback_type,
        complaint_subtype=_text(detail.get("complaintSubType")) if kind is FeedbackKind.COMPLAINT else None,
        engagement=_engagement(detail) if kind in (FeedbackKind.OPEN, FeedbackKind.CLICK) else None,
    )


def _loggable_type(name: Any) -> str:
    return name if isinstance(name, str) and _LOGGABLE_TYPE.fullmatch(name) else "(not a type name)"


def _recipients(kind: FeedbackKind, mail: Mapping[str, Any], detail: Mapping[str, Any]) -> tuple[str, ...]:
    if kind is FeedbackKind.BOUNCE:
        found = _addresses(detail.get("bouncedRecipients"), "bounce.bouncedRecipients")
    elif kind is FeedbackKind.COMPLAINT:
        found = _addresses(detail.get("complainedRecipients"), "complaint.complainedRecipients")
    elif kind is FeedbackKind.DELIVERY_DELAY:
        found = _addresses(detail.get("delayedRecipients"), "deliveryDelay.delayedRecipients")
    elif kind is FeedbackKind.DELIVERY:
        found = _strings(detail.get("recipients"), "delivery.recipients")
    else:
        found = _strings(mail.get("destination"), "mail.destination")
    if not found:
        raise MalformedFeedback(f"a {kind.value} event names no recipient", field="recipients")
    if len(found) > MAX_RECIPIENTS:
        raise MalformedFeedback(f"a {kind.value} event names {len(found)} recipients; SES sends a "
                                f"message to at most {MAX_RECIPIENTS}", field="recipients")
    return found


def _addresses(entries: Any, where: str) -> tuple[str, ...]:
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise MalformedFeedback(f"{where} is not a list of recipients", field=where)
    return _strings([entry.get("emailAddress") for entry in entries], where)


def _strings(values: Any, where: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise MalformedFeedback(f"{where} is not a list of addresses", field=where)
    return tuple(values)


def _bounce(detail: Mapping[str, Any]) -> Bounce:
    raw_type = detail.get("bounceType")
    try:
        bounce_type = BounceType(raw_type)
    except ValueError:
        raise MalformedFeedback("bounce.bounceType is not Permanent, Transient or Undetermined",
                                field="bounce.bounceType") from None
    return Bounce(bounce_type, _text(detail.get("bounceSubType")))


def _engagement(detail: Mapping[str, Any]) -> Engagement:
    return Engagement(user_agent=_text(detail.get("userAgent")), ip=_text(detail.get("ipAddress")),
                      link=_text(detail.get("link")))


def _tags(raw: Any) -> dict[str, str]:
    # Event publishing: {name: [values]}. Identity notifications have none.
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise MalformedFeedback("mail.tags is not an object", field="mail.tags")
    tags = {}
    for name, values in raw.items():
        value = values[0] if isinstance(values, list) and values else values
        if isinstance(value, str):
            tags[name] = value
    return tags


def _timestamp(raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise MalformedFeedback("the event has no timestamp", field="timestamp")
    try:
        return parse_utc_time(raw, "timestamp")
    except InvalidInput as exc:
        raise MalformedFeedback(exc.message, field="timestamp") from None


def _json_object(text: Any, what: str) -> dict[str, Any]:
    if not isinstance(text, str):
        raise MalformedFeedback(f"{what} is not text")
    try:
        document = json.loads(text)
    except ValueError:
        raise MalformedFeedback(f"{what} is not JSON") from None
    except RecursionError:
        raise MalformedFeedback(f"{what} is nested too deeply to read") from None
    if not isinstance(document, dict):
        raise MalformedFeedback(f"{what} is not a JSON object")
    return document


def _object(document: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = document.get(key)
    if not isinstance(value, dict):
        raise MalformedFeedback(f"'{key}' is missing or not an object", field=key)
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
