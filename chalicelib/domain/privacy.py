"""Data-subject requests (P16-P20): their types, who they are about, and their deadlines.

Pure rules; the service (chalicelib/services/privacy.py) applies them to the store. A request names its
person by email or phone, but what is stored about the request is only a keyed hash of it, so the
request record survives the person's erasure (P18) without holding contact data.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.request_types import RequestType
from chalicelib.domain.retention import MESSAGE_RETENTION
from chalicelib.domain.signup_limits import Counter, keyed
from chalicelib.domain.subscriptions import clean_changes, normalise_phone
from chalicelib.domain.suppression import address_hash, phone_hash

# P19: every request is answered within 30 days; one due within 5 days is flagged.
ANSWER_WITHIN = timedelta(days=30)
OVERDUE_SOON_WITHIN = timedelta(days=5)
# An export is a copy of the person's data: it is downloadable only this long, or less when
# what it copies must go sooner (export_expiry).
EXPORT_LIFETIME = timedelta(days=7)


# Requests whose answer is an export of everything held (P16).
EXPORTING = frozenset({RequestType.ACCESS, RequestType.PORTABILITY})

# Requests of one kind (export, edit, erase) one person may make from the preference centre in
# an hour. Its link lives a year and a page's nonce an hour: without a cap, whoever holds the link
# could fill the account's privacy requests, audit log and exports. Unsubscribing is not capped (P07).
PAGE_REQUESTS_PER_HOUR = 5


def page_request_counter(secret: str, account_id: str, address: str, request_type: RequestType) -> Counter:
    """The requests of `request_type` one person made from the preference centre this hour, under
    every link of theirs (keyed: no address in the counter's key). It names no `subject`, so
    their erasure keeps it for the rest of its hour: erasing it would reset the cap the erasure
    requests themselves count against (P18 gives way to the cap for that hour)."""
    person = keyed(secret, "address", address)
    return Counter(f"privacy-page:{request_type.value}:{account_id}:{person}", PAGE_REQUESTS_PER_HOUR, 3_600)


class RequestStatus(StrEnum):
    RECEIVED = "received"
    COMPLETED = "completed"


class SubjectKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"


@dataclass(frozen=True)
class Subject:
    """The person a request is about: a normalised email or an E.164 phone."""

    kind: SubjectKind
    value: str

    def keyed_hash(self, hash_key: str) -> str:
        """What may be stored about the subject: never the address or number itself."""
        if self.kind is SubjectKind.EMAIL:
            return address_hash(self.value, hash_key)
        return phone_hash(self.value, hash_key)


def subject_of(email: object = None, phone: object = None) -> Subject:
    """Exactly one of an email or a phone, validated; InvalidInput naming the field otherwise."""
    if email is not None and phone is not None:
        raise InvalidInput("give either 'email' or 'phone', not both", field="phone")
    if email is not None:
        if not isinstance(email, str):
            raise InvalidInput("'email' must be an email address", field="email")
        return Subject(SubjectKind.EMAIL, normalise_email(email))
    if phone is not None:
        if not isinstance(phone, str) or not phone.strip():
            raise InvalidInput("'phone' must be a phone number in international form", field="phone")
        return Subject(SubjectKind.PHONE, normalise_phone(phone.strip()))
    raise InvalidInput("give the person's 'email' or 'phone'", field="email")


def subject_from_text(who: str) -> Subject:
    """A subject from one string: an email address when it holds `@`, a phone otherwise."""
    return subject_of(email=who) if "@" in who else subject_of(phone=who)


def due_at(received_at: datetime) -> datetime:
    return received_at + ANSWER_WITHIN


@dataclass(frozen=True)
class Deadline:
    overdue: bool
    overdue_soon: bool


def deadline(due: datetime, completed: bool, at: datetime) -> Deadline:
    """P19 flags: an open request past its due date is overdue; one due within 5 days is
    overdue soon. A completed request is neither."""
    if completed:
        return Deadline(overdue=False, overdue_soon=False)
    return Deadline(overdue=due <= at, overdue_soon=at < due <= at + OVERDUE_SOON_WITHIN)


@dataclass(frozen=True)
class Person:
    """Everything that identifies one person in one account: the request's subject and what is
    proven to be theirs too (one hop, no further). A form takes any address with any number, so
    an entry ties its email and its phone together only once its person confirmed the number by
    code (domain/phone_consent.py); until then the number is nobody's proof of anything.

    `phone_only_entries`: other people's entries (list id, address) that carry the subject's
    number unconfirmed. The number there is this person's data; the rest of the entry is not."""

    account_id: str
    emails: frozenset[str]
    phones: frozenset[str]
    phone_only_entries: frozenset[tuple[str, str]] = frozenset()

    def keyed_hashes(self, hash_key: str) -> frozenset[str]:
        """The keyed hash of each proven email and phone, as suppressions and message records
        hold them: what the person's requests may suppress, delete and show."""
        return frozenset({address_hash(email, hash_key) for email in self.emails}
                         | {phone_hash(phone, hash_key) for phone in self.phones})


@dataclass(frozen=True)
class Rectification:
    """A validated rectify request (P17): contact fields (None clears one) and attributes."""

    fields: dict[str, object]
    attributes: dict[str, str]
    cleared_attributes: frozenset[str]

    def changes_for(self, current: Mapping[str, str], declared: Iterable[str]) -> dict[str, object]:
        """The patch for one entry: every contact field, and the attributes its list declares
        merged into the entry's current ones."""
        changes = dict(self.fields)
        declared = set(declared)
        touched = (set(self.attributes) | self.cleared_attributes) & declared
        if touched:
            merged = {**current, **{k: v for k, v in self.attributes.items() if k in declared}}
            changes["attributes"] = {k: v for k, v in merged.items() if k not in self.cleared_attributes}
        return changes

    @property
    def field_names(self) -> list[str]:
        """What was changed, by name only (for the outcome and the audit log)."""
        names = set(self.fields) | {f"attributes.{n}" for n in (*self.attributes, *self.cleared_attributes)}
        return sorted(names)


def rectification(raw: Mapping[str, object], declared_anywhere: Iterable[str]) -> Rectification:
    """Validate `changes` like a subscriber PATCH (domain/subscriptions.clean_changes); an
    attribute must be declared by at least one of the person's lists. Errors name
    `changes.<field>`."""
    try:
        cleaned = clean_changes(raw, declared_anywhere)
    except InvalidInput as error:
        # Its message id and parameters kept: the preference centre shows it in the list's language.
        raise InvalidInput(error.message_id, field=f"changes.{error.field}", params=error.params) from None
    return planned_rectification(raw, cleaned)


def planned_rectification(raw: Mapping[str, object], cleaned: Mapping[str, object]) -> Rectification:
    """The rectification `raw` asks for, given its changes as clean_changes gave them: the
    attributes it names with a value are merged in, those it names empty are cleared."""
    fields = dict(cleaned)
    attributes = dict(fields.pop("attributes", None) or {})
    raw_attributes = raw.get("attributes")
    named = raw_attributes if isinstance(raw_attributes, Mapping) else {}
    cleared = frozenset(name for name in named if name not in attributes)
    return Rectification(fields=fields, attributes=attributes, cleared_attributes=cleared)


def export_expiry(made_at: datetime, sections: Mapping[str, list[dict[str, Any]]]) -> datetime:
    """When an export made at `made_at` of these sections must go: EXPORT_LIFETIME later, or
    sooner at the earliest deadline of the data it copies, so the copy never outlives the original
    (P21: a message record and its tracking history 30 days after sending; P29: an ended entry's
    data; P01: an unconfirmed signup). A deadline already passed is the daily purge's to catch up
    on: it does not end the export before it can be downloaded."""
    ahead = [deadline for deadline in _copied_deadlines(sections) if deadline > made_at]
    return min([made_at + EXPORT_LIFETIME, *ahead])


def _copied_deadlines(sections: Mapping[str, list[dict[str, Any]]]) -> Iterator[datetime]:
    """The deadline of each exported row that has one, read from the export's own rows."""
    for row in sections.get("subscriptions", ()):
        if row.get("expires_at"):  # an unconfirmed or ended entry (a confirmed one has none)
            yield datetime.fromisoformat(row["expires_at"])
    for row in sections.get("messages", ()):
        if row.get("sent_at"):  # its `expires_at` is its TTL, set two days early
            yield datetime.fromisoformat(row["sent_at"]) + MESSAGE_RETENTION
    # Imported here: the tracking rules load only where opens are counted or purged, or an export
    # is made (cold start, issue 15).
    from chalicelib.domain.tracking import history_deadline

    for row in sections.get("tracking", ()):
        if row.get("expires_at"):
            yield history_deadline(datetime.fromisoformat(row["expires_at"]))
