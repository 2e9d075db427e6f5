"""Campaign rules: the status machine, what each channel needs, scheduling and the audience filter.

Pure: the API and the store apply these; nothing here reads a table or calls AWS.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from chalicelib.domain.clock import parse_utc_time
from chalicelib.domain.errors import Conflict, InvalidInput, PayloadTooLarge
from chalicelib.domain.from_names import check_from_name
from chalicelib.domain.header_text import check_header_text, check_no_encoded_word
from chalicelib.domain.sms_encoding import MAX_GSM7_SEPTETS, MAX_UCS2_UNITS, fits
from chalicelib.domain.subscriptions import CONTACT_FIELDS, Contact

# The longest SMS body the API takes: 10 GSM-7 parts of 153 (domain/sms_encoding.py; a body with
# characters outside GSM-7 may be 630 UTF-16 units).
MAX_SMS_LENGTH = MAX_GSM7_SEPTETS
# A campaign is one DynamoDB item, of 400 KB at most: its content may take this much UTF-8, the
# rest left for its other attributes (lists, filter, counts, failure reason).
CONTENT_MAX_BYTES = 350_000


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    # Sending ended, but some mails could not be built or sent (the campaign says how many, why).
    FAILED = "failed"
    CANCELLED = "cancelled"


# Sent, failed and cancelled are final. Sending starts from a draft ("send now") or a scheduled campaign.
TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.DRAFT: frozenset({CampaignStatus.SCHEDULED, CampaignStatus.SENDING,
                                     CampaignStatus.CANCELLED}),
    CampaignStatus.SCHEDULED: frozenset({CampaignStatus.DRAFT, CampaignStatus.SENDING,
                                         CampaignStatus.CANCELLED}),
    CampaignStatus.SENDING: frozenset({CampaignStatus.SENT, CampaignStatus.FAILED,
                                       CampaignStatus.CANCELLED}),
    CampaignStatus.SENT: frozenset(),
    CampaignStatus.FAILED: frozenset(),
    CampaignStatus.CANCELLED: frozenset(),
}
# Once sending has begun, recipients may already hold the mail: it can no longer change.
EDITABLE = frozenset({CampaignStatus.DRAFT, CampaignStatus.SCHEDULED})
DELETABLE = frozenset({CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.CANCELLED})
STARTABLE = frozenset(status for status, targets in TRANSITIONS.items()
                      if CampaignStatus.SENDING in targets)


def check_transition(current: CampaignStatus, target: CampaignStatus) -> None:
    """Conflict when a campaign that is `current` may not become `target`."""
    if current == target or target not in TRANSITIONS[current]:
        raise Conflict(f"a campaign that is {current.value} cannot become {target.value}",
                       field="status")


def check_editable(current: CampaignStatus) -> None:
    if current not in EDITABLE:
        raise Conflict(f"a campaign that is {current.value} can no longer be changed; only drafts "
                       "and scheduled campaigns can", field="status")


def check_deletable(current: CampaignStatus, started: bool) -> None:
    """Conflict unless the campaign may be deleted. One that started sending is kept, even when
    cancelled: its report, and the tracking history its recipients can ask for (P16, P18), are
    found through it."""
    if current not in DELETABLE:
        raise Conflict(f"a campaign that is {current.value} cannot be deleted; only drafts, "
                       "scheduled and cancelled campaigns can", field="status")
    if started:
        raise Conflict("a campaign that started sending cannot be deleted: its report and its "
                       "recipients' tracking history are kept with it", field="status")


# --- content ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CampaignContent:
    """What a campaign sends and to whom. `text_from_html` marks a text part derived from html."""

    channel: Channel
    list_ids: frozenset[str]
    attribute_filter: dict[str, str] = field(default_factory=dict)
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    text_from_html: bool = False
    sms_body: str | None = None
    from_address: str | None = None
    from_name: str | None = None
    reply_to: str | None = None
    advertisement: bool = False

    def template_fields(self) -> dict[str, str]:
        """The fields that are templates, by name, when set."""
        fields = {"subject": self.subject, "html": self.html, "text": self.text,
                  "sms_body": self.sms_body}
        return {name: source for name, source in fields.items() if source is not None}


_EMAIL_ONLY = ("subject", "html", "text", "from_address", "from_name", "reply_to")


def with_text_part(content: CampaignContent, own_text: str | None) -> CampaignContent:
    """The content with its text part: `own_text` when the author wrote one, otherwise derived
    from the HTML (and marked so, to be derived again when the HTML changes)."""
    if own_text and own_text.strip():
        return replace(content, text=own_text, text_from_html=False)
    if content.html and content.channel is Channel.EMAIL:
        # Lazily: only saving a campaign derives its text; what starts, fans out or sends it reads
        # the stored text and need not load the HTML reader (issue 15).
        from chalicelib.domain.html_text import html_to_text

        return replace(content, text=html_to_text(content.html), text_from_html=True)
    return replace(content, text=None, text_from_html=False)


def check_content(content: CampaignContent) -> None:
    """InvalidInput naming the field when the content does not suit its channel."""
    if not content.list_ids:
        raise InvalidInput("a campaign needs at least one list", field="list_ids")
    # Header-bound: one line each, whatever the channel (the subject is a template whose source
    # is checked here; what it renders is made one line when each mail is built).
    check_header_text(content.subject, "subject")
    check_no_encoded_word(content.subject, "subject")  # a mail program would show it decoded
    check_from_name(content.from_name)  # nor an address as the sender's name (P35)
    if content.channel is Channel.SMS:
        for name in _EMAIL_ONLY:
            if getattr(content, name) is not None:
                raise InvalidInput(f"an sms campaign has no '{name}'; remove it", field=name)
        if not content.sms_body:
            raise InvalidInput("an sms campaign needs 'sms_body'", field="sms_body")
        if not fits(content.sms_body):
            raise InvalidInput(f"'sms_body' is longer than an SMS may be: {MAX_GSM7_SEPTETS} GSM-7 "
                               "characters (a few signs, such as [ ] { } €, count two), or "
                               f"{MAX_UCS2_UNITS} when it has any other character (an emoji counts two)",
                               field="sms_body")
        return
    if content.sms_body is not None:
        raise InvalidInput("'sms_body' is for sms campaigns; an email campaign uses html and text",
                           field="sms_body")
    if not content.subject:
        raise InvalidInput("an email campaign needs a 'subject'", field="subject")
    if not (content.html or content.text):
        raise InvalidInput("an email campaign needs 'html' or 'text'", field="html")
    if not content.from_address:
        raise InvalidInput("an email campaign needs a 'from_address' (or a sender identity in the "
                           "account profile)", field="from_address")
    _check_stored_size(content)


def _check_stored_size(content: CampaignContent) -> None:
    """PayloadTooLarge naming `html` or `text` when the content would not fit the campaign's one
    DynamoDB item: a text part derived from the html is stored too, and counts as the html's."""
    parts = {"html": _utf8(content.html) + (_utf8(content.text) if content.text_from_html else 0),
             "text": 0 if content.text_from_html else _utf8(content.text)}
    if sum(parts.values()) + _utf8(content.subject) > CONTENT_MAX_BYTES:
        field = max(parts, key=lambda name: parts[name])
        raise PayloadTooLarge(f"the campaign's content takes more than {CONTENT_MAX_BYTES} bytes stored "
                              f"(UTF-8, a text part derived from the html included): shorten '{field}'",
                              field=field)


def _utf8(text: str | None) -> int:
    return len(text.encode("utf-8")) if text else 0


# --- scheduling ---------------------------------------------------------------------------------

def clean_send_at(raw: str, at: datetime) -> datetime:
    """An ISO 8601 time with a time zone, in the future, as UTC."""
    when = parse_utc_time(raw, "send_at")
    if when <= at:
        raise InvalidInput("'send_at' must be in the future", field="send_at")
    return when


# --- audience filter ----------------------------------------------------------------------------

FILTER_FIELDS = tuple(name for name in CONTACT_FIELDS if name != "email")


def clean_filter(raw: Mapping[str, str], declared_attributes: Iterable[str]) -> dict[str, str]:
    """`{name: required value}` over contact fields and the lists' declared attributes."""
    allowed = set(FILTER_FIELDS) | set(declared_attributes)
    cleaned: dict[str, str] = {}
    for name, value in raw.items():
        if name not in allowed:
            raise InvalidInput(f"'{name}' is neither a contact field nor an attribute of the "
                               "campaign's lists", field=f"filter.{name}")
        cleaned[name] = value.strip()
    return cleaned


def matches_filter(attribute_filter: Mapping[str, str], contact: Contact) -> bool:
    """True when every filtered field of `contact` equals the required value (ignoring case and
    surrounding spaces). An empty filter matches everyone."""
    for name, required in attribute_filter.items():
        value = getattr(contact, name) if name in FILTER_FIELDS else contact.attributes.get(name)
        if (value or "").strip().casefold() != required.strip().casefold():
            return False
    return True
