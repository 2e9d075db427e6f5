"""The subscriber's life: statuses, allowed transitions, expiry, and which contact data is kept.

Pure rules; the store (store/subscribers.py) and the signup service apply them.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.clock import now, parse_utc_time
from chalicelib.domain.errors import Conflict, InvalidInput, shown_name
from chalicelib.domain.header_text import check_contact_text, check_header_text
from chalicelib.domain.lists import ConsentText
from chalicelib.domain.numbers import whole_number
from chalicelib.domain.queue_size import json_bytes
from chalicelib.templates import N_

# P01: an unconfirmed signup is forgotten after this long; a list may set fewer days, never more.
MAX_PENDING_DAYS = 7
PENDING_LIFETIME = timedelta(days=MAX_PENDING_DAYS)


class Status(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class Source(StrEnum):
    """Where consent was given (P02)."""

    FORM = "form"
    JS = "js"
    API = "api"
    IMPORT = "import"
    # The person's own choice in the preference centre (tracking consent, P30).
    PREFERENCES = "preferences"


# `None` is "no entry" (never signed up, deleted, or an expired pending entry).
# Unsubscribed, bounced and complained are final for the entry (P12): nothing leads back to
# pending or confirmed, but the person's own confirmed signup back (OWN_SIGNUP_REOPENS); only
# deleting the entry (erasure, or the P29 purge 30 days on) ends them.
ENDED = frozenset({Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED})
_ENDED = ENDED
TRANSITIONS: dict[Status | None, frozenset[Status]] = {
    None: frozenset({Status.PENDING, Status.CONFIRMED}),
    Status.PENDING: frozenset({Status.PENDING, Status.CONFIRMED, *_ENDED}),
    Status.CONFIRMED: _ENDED,
    Status.UNSUBSCRIBED: frozenset(),
    Status.BOUNCED: frozenset(),
    Status.COMPLAINED: frozenset(),
}

# A signup may write over these (a pending entry is refreshed with the new consent proof).
SIGNUP_REPLACES = frozenset(
    status for status, targets in TRANSITIONS.items() if status and Status.PENDING in targets
)
# P12: the one way back. The person's own signup (hosted form or JS, double opt-in) may reopen
# an entry they unsubscribed, once they confirm it (until then the entry stays as it ended);
# no import, API call or feedback ever does, and a bounced or complained entry stays ended.
OWN_SIGNUP_REOPENS = frozenset({Status.UNSUBSCRIBED})


def may_transition(current: Status | None, target: Status) -> bool:
    return target in TRANSITIONS[current]


def check_transition(current: Status | None, target: Status) -> None:
    """Raise Conflict when the subscriber may not go from `current` to `target`."""
    if not may_transition(current, target):
        was = current.value if current else "absent"
        raise Conflict(f"a subscriber that is {was} cannot become {target.value}", field="status")


class SignupOutcome(StrEnum):
    """What a signup does to the entry; the public answer is the same for all (P05)."""

    CREATE_PENDING = "create_pending"
    CREATE_CONFIRMED = "create_confirmed"
    ALREADY_CONFIRMED = "already_confirmed"
    REFUSED = "refused"


def signup_outcome(current: Status | None, suppressed: bool, confirm_now: bool) -> SignupOutcome:
    """Decide a signup. Suppressed or ended addresses are never re-added (P12).

    `confirm_now` is true only when the list turned double opt-in off and the caller proved
    consent (authenticated API); hosted forms never pass it (P01).
    """
    if suppressed or current in _ENDED:
        return SignupOutcome.REFUSED
    if current is Status.CONFIRMED:
        return SignupOutcome.ALREADY_CONFIRMED
    target = Status.CONFIRMED if confirm_now else Status.PENDING
    check_transition(current, target)
    return SignupOutcome.CREATE_CONFIRMED if confirm_now else SignupOutcome.CREATE_PENDING


def pending_lifetime(days: int | None) -> timedelta:
    """How long a list's unconfirmed signups wait (P01): the list's own days (1-7), else 7; a
    stored value outside that range never makes it longer."""
    if days is None:
        return PENDING_LIFETIME
    return timedelta(days=min(max(int(days), 1), MAX_PENDING_DAYS))


def pending_expiry(at: datetime, lifetime: timedelta = PENDING_LIFETIME) -> datetime:
    return at + lifetime


def return_is_waiting(status: Status, entry_expires_at: datetime | None,
                      return_expires_at: datetime | None, at: datetime) -> bool:
    """Whether a person's own signup back to an entry they ended (P12) still waits for their
    confirmation: for 7 days (P01), and only while the ended entry itself stands (its deletion,
    P29, takes the signup along). Until then the entry stays as it ended (P22)."""
    return (status in OWN_SIGNUP_REOPENS and is_live(status, entry_expires_at, at)
            and return_expires_at is not None and return_expires_at > at)


def is_live(status: Status, expires_at: datetime | None, at: datetime) -> bool:
    """False for an entry past its expiry (a pending one after 7 days, P01; an ended one once
    its personal data is due for deletion, P29): DynamoDB's TTL deletes it up to two days late,
    so readers must treat it as gone (DESIGN.md). Confirmed entries never expire."""
    return status is Status.CONFIRMED or expires_at is None or expires_at > at


# --- contact data (P04) -------------------------------------------------------------------------

CONTACT_FIELDS = ("email", "name", "company", "phone", "website", "field_of_activity")
_MAX_LENGTH = {"email": 320, "name": 200, "company": 200, "phone": 40, "website": 2000,
               "field_of_activity": 200}
MAX_ATTRIBUTE_LENGTH = 500
# A contact travels whole in a campaign batch job, which one SQS message carries (256 KiB): its
# attributes (up to 50 of 500 characters, each non-Latin one a 6- or 12-byte JSON escape) may
# take at most this much queued, which leaves room for its other fields and the job's envelope.
ATTRIBUTES_MAX_QUEUED_BYTES = 64 * 1024


@dataclass(frozen=True)
class Contact:
    """A person's contact data, validated: only what P04 allows."""

    email: str
    name: str | None = None
    company: str | None = None
    phone: str | None = None
    website: str | None = None
    field_of_activity: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


def clean_contact(raw: Mapping[str, object], declared_attributes: Iterable[str], *,
                  drop_unknown: bool, check_dns: bool = False) -> Contact:
    """Validate contact fields and the list's declared attributes.

    Public forms pass `drop_unknown=True`: anything else they send is silently dropped (P04).
    The API passes False and gets InvalidInput for an undeclared attribute instead.
    `raw["attributes"]`, when it is an object, holds the attributes; otherwise they are read from
    the top level (how a flat HTML form sends them). A public form's `attributes` that is not an
    object is a field like any other: dropped, or the value of a declared attribute of that name.
    """
    declared = set(declared_attributes) - set(CONTACT_FIELDS)
    values = {name: _text(raw.get(name), name, _MAX_LENGTH[name]) for name in CONTACT_FIELDS}
    if values["email"] is None:
        raise InvalidInput(N_("'email' is required"), field="email")
    nested = raw.get("attributes")
    if drop_unknown and not isinstance(nested, Mapping):
        nested = None
    if nested is not None and not isinstance(nested, Mapping):
        raise InvalidInput("'attributes' must be an object of text values", field="attributes")
    source: Mapping[str, object] = nested if nested is not None else raw
    attributes: dict[str, str] = {}
    for name, value in source.items():
        if name not in declared:
            if nested is not None and not drop_unknown:
                shown = shown_name(name)  # a key may be as long as the body, and unprintable
                raise InvalidInput(f"'{shown}' is not an attribute of this list",
                                   field=f"attributes.{shown}")
            continue
        text = _text(value, name, MAX_ATTRIBUTE_LENGTH)
        if text is not None:
            attributes[name] = text
    if json_bytes(attributes) > ATTRIBUTES_MAX_QUEUED_BYTES:
        # Accepted, such a contact would make every campaign batch holding it too big to queue.
        raise InvalidInput(N_("the attributes take too much room together: shorten them, or use plain "
                              "Latin letters"), field="attributes")
    return Contact(
        email=normalise_email(values["email"], check_dns=check_dns, mailable=True),
        name=values["name"],
        company=values["company"],
        phone=textable_phone(values["phone"]) if values["phone"] else None,
        website=_website(values["website"]),
        field_of_activity=values["field_of_activity"],
        attributes=attributes,
    )


def clean_changes(raw: Mapping[str, object], declared_attributes: Iterable[str]) -> dict[str, object]:
    """A rectification patch (P17): contact fields other than the email, and declared attributes.

    An empty string clears a field. The email is the entry's key and cannot be patched.
    """
    changes: dict[str, object] = {}
    for name in CONTACT_FIELDS[1:]:
        if name in raw:
            text = _text(raw[name], name, _MAX_LENGTH[name])
            changes[name] = (textable_phone(text) if name == "phone" and text
                             else _website(text) if name == "website" else text)
    if "attributes" in raw:
        probe = clean_contact({"email": "probe@example.com", "attributes": raw["attributes"]},
                              declared_attributes, drop_unknown=False)
        changes["attributes"] = probe.attributes
    return changes


def _text(value: object, name: str, max_length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(N_("'%(name)s' must be text"), field=name, params={"name": name})
    text = value.strip()
    if len(text) > max_length:
        raise InvalidInput(N_("'%(name)s' is longer than %(max)s characters"), field=name,
                           params={"name": name, "max": max_length})
    # A contact field is one line: it goes into greetings, subjects and exports, where a line
    # break or a control character (NUL, ESC, U+2028) breaks or hides what follows, and a
    # directional override reorders it.
    check_contact_text(text, name)
    return text or None


def _website(text: str | None) -> str | None:
    """The website as written when it is an absolute http(s) URL, or InvalidInput naming it.

    Exports, the preference centre and templates (`<a href="{{ website }}">`) show it: a
    `javascript:` or `data:` URL would run there. A scheme-relative `//host` is refused too (a
    CSV or a mail has no page to take a scheme from), and so is a bare `acme.example`."""
    if text is None:
        return None
    try:
        parts = urlsplit(text)  # the scheme comes back lower-cased: `JaVaScRiPt:` is caught
    except ValueError:  # an unclosed IPv6 bracket
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(N_("'%(field)s' must be a web address starting with http:// or https://"),
                           field="website", params={"field": "website"})
    return text


def normalise_phone(raw: str, default_region: str | None = None) -> str:
    """The number in E.164 (`+40712345678`), or InvalidInput(field="phone").

    Without `default_region` the number must be international (start with +).
    """
    import phonenumbers  # lazily: its metadata is large and most requests carry no phone

    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidInput(N_("'phone' is not a valid phone number; use the international form, "
                              "e.g. +40 712 345 678"), field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# phonenumbers' types of a number that costs whoever texts it (premium-rate, shared-cost) or reaches
# no one person's phone (a company's UAN, voicemail, pager, a forwarding "personal number"): a
# list that takes one texts it at the account's or the holder's expense, to no subscriber.
_NOT_PERSONAL_PHONE_TYPES = frozenset({"PREMIUM_RATE", "SHARED_COST", "UAN", "VOICEMAIL", "PAGER",
                                       "PERSONAL_NUMBER"})


def is_personal_phone(e164: str) -> bool:
    """Whether the number (E.164) is a valid one of a type a person's own phone may be: what
    Tidings texts."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:  # a STOP's number kept as written (domain/sms_replies.py)
        return False
    kind = phonenumbers.number_type(number)
    return phonenumbers.is_valid_number(number) and not any(
        kind == getattr(phonenumbers.PhoneNumberType, name) for name in _NOT_PERSONAL_PHONE_TYPES)


def textable_phone(raw: str) -> str:
    """`normalise_phone`, and InvalidInput(field="phone") for a number of a type no person's
    own phone is: what intake takes. A request about a number, or its STOP, takes any valid one."""
    e164 = normalise_phone(raw)
    if not is_personal_phone(e164):
        raise InvalidInput(N_("'phone' is a premium-rate, shared-cost or other number that is no "
                              "person's own phone; give a mobile or landline number"), field="phone")
    return e164


# --- consent proof (P02) ------------------------------------------------------------------------

@dataclass(frozen=True)
class ConsentEvidence:
    """How consent was given; stored with the entry and shown in exports (P02)."""

    given_at: datetime
    source: Source
    consent_text_version: int
    ip: str | None = None
    user_agent: str | None = None
    form_url: str | None = None
    # Where consent was first given, as an import's file says (e.g. "shop checkout"), P02.
    original_source: str | None = None


_MAX_USER_AGENT = 1000
_MAX_URL = 2000


def clean_ip(raw: str | None, field_name: str = "ip") -> str | None:
    """A textual IPv4/IPv6 address, or InvalidInput."""
    if not raw:
        return None
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        raise InvalidInput(f"'{field_name}' is not an IP address", field=field_name) from None


def clean_proof_url(raw: str | None, field: str) -> str | None:
    """The address of the form where consent was given, as an API caller or an import file
    supplies it (P02): an absolute http(s) URL on one line, or InvalidInput naming `field`. A
    placeholder ("n/a", "website") is no proof of where consent was given."""
    if raw is None or not raw.strip():
        return None
    url = raw.strip()
    _check_proof_length(url, field, _MAX_URL)
    check_header_text(url, field)
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
        raise InvalidInput(f"'{field}' must be the absolute http(s) URL of the form", field=field)
    return url


def form_address(raw: str | None) -> str | None:
    """The address of the page a browser says its form was on (a Referer): scheme, host, port and
    path only, or None for what is no http(s) URL. Its query and fragment may carry personal data
    that has nothing to do with the consent (`?email=` from a campaign's link), and credentials
    are never the form's: the proof keeps where the form was, nothing more (P04, P31)."""
    if not raw or not raw.strip():
        return None
    try:
        parts = urlsplit(raw.strip())
        port = parts.port  # raises for a port that is not a number
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname  # hostname: lower-cased, no credentials
    if scheme not in ("http", "https") or not host:
        return None
    host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    return urlunsplit((scheme, f"{host}:{port}" if port is not None else host, parts.path, "", ""))


def supplied_text(raw: str | None, field: str) -> str | None:
    """A one-line proof detail an API caller or an import file supplies (a user agent), or None."""
    if raw is None or not raw.strip():
        return None
    _check_proof_length(raw.strip(), field, _MAX_USER_AGENT)
    check_header_text(raw, field)
    return raw.strip()


def _check_proof_length(text: str, field: str, max_length: int) -> None:
    # `evidence` keeps this much of what a request's headers say; a supplied proof that long is
    # refused instead, as a cut one would prove something else (P02).
    if len(text) > max_length:
        raise InvalidInput(f"'{field}' is longer than {max_length} characters", field=field)


# Clock skew allowed for a consent time an API caller or an import supplies.
_CONSENT_TIME_SKEW = timedelta(minutes=5)


def supplied_consent_time(raw: str, field: str) -> datetime:
    """When consent was given, as an API caller or an import file says (P02): an ISO 8601 time
    with a time zone, as UTC, and not in the future; InvalidInput naming `field` otherwise."""
    given_at = parse_utc_time(raw, field)
    if given_at > now() + _CONSENT_TIME_SKEW:
        raise InvalidInput(f"'{field}' is in the future", field=field)
    return given_at


def evidence(given_at: datetime, source: Source, consent_text_version: int, *, ip: str | None,
             user_agent: str | None, form_url: str | None,
             original_source: str | None = None) -> ConsentEvidence:
    """Consent evidence with request-supplied text trimmed to sane lengths (a header can be huge)."""
    return ConsentEvidence(
        given_at=given_at,
        source=source,
        consent_text_version=consent_text_version,
        ip=clean_ip(ip),
        user_agent=(user_agent or "")[:_MAX_USER_AGENT] or None,
        form_url=(form_url or "")[:_MAX_URL] or None,
        original_source=original_source or None,
    )


@dataclass(frozen=True)
class TrackingState:
    """What an entry records about tracking consent (P30): when it was given (with its proof),
    confirmed (by the person's own confirmation or action), and withdrawn."""

    given: bool = False
    confirmed: bool = False
    withdrawn: bool = False


def may_track(consent_required: bool, status: Status | None, state: TrackingState) -> bool:
    """Whether opens and clicks of this entry's mail may be tracked (P15, P30): only for a
    confirmed entry; where the list asks for tracking consent, only with that consent given and
    confirmed; and never once the person withdrew it (also on a list that does not ask)."""
    if status is not Status.CONFIRMED or state.withdrawn:
        return False
    return not consent_required or (state.given and state.confirmed)


def may_track_event(consent_required: bool, status: Status, state: TrackingState, at: datetime,
                    ended_at: datetime | None, withdrawn_at: datetime | None) -> bool:
    """may_track as things stood when an open or click happened at `at`: an entry that ended, or
    a consent withdrawn, after the event still counts it (the worker sees events late)."""
    if status in ENDED and ended_at is not None and ended_at >= at:
        status = Status.CONFIRMED
    if state.withdrawn and withdrawn_at is not None and withdrawn_at >= at:
        state = TrackingState(given=state.given, confirmed=state.confirmed)
    return may_track(consent_required, status, state)


def pick_consent_version(versions: Iterable[int], claimed: object) -> int:
    """The consent-text version the person saw: the form's claim when it names a real version
    (the text may have changed while the form was open), otherwise the current one."""
    known = sorted(versions)
    if not known:
        raise InvalidInput("this list has no consent text", field="consent_text")
    named = named_version(known, claimed)
    return known[-1] if named is None else named


def version_in_force(history: Iterable[ConsentText], given_at: datetime, named: int | None,
                     field: str) -> int | None:
    """The consent-text version the person agreed to at `given_at` (P02): `named` (one of
    `history`'s), or else the newest version created at or before `given_at`. None when no
    version was in force yet: the proof names no text of this list. InvalidInput naming `field`
    when `named` was written after `given_at` (no one agrees to a text not yet written)."""
    created = {text.version: text.created_at for text in history}
    if named is not None:
        if created[named] > given_at:
            raise InvalidInput(f"consent text version {named} was written after the consent was given",
                               field=field)
        return named
    in_force = [version for version, at in created.items() if at <= given_at]
    return max(in_force) if in_force else None


def named_version(versions: Iterable[int], claimed: object) -> int | None:
    """The one of `versions` that `claimed` names (a number, or its digits as text), else None."""
    if isinstance(claimed, str):
        claimed = whole_number(claimed)
    if isinstance(claimed, int) and not isinstance(claimed, bool) and claimed in versions:
        return claimed
    return None
