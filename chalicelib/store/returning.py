"""A person's own signup back to the entry they unsubscribed (P12), waiting beside it.

Until the person confirms, the entry keeps its status, data and the record of their unsubscribe
(P22): anyone can post an address on a public form. The signup waits in the entry's `returning`
map for 7 days (P01) and is read as gone after that; it goes with the entry when the entry is
erased (P18) or its data deleted (P29). Confirming puts a confirmed entry with the signup's data
in the ended one's place.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import PutError, UpdateError

from chalicelib.domain.clock import now
from chalicelib.domain.subscriptions import (
    OWN_SIGNUP_REOPENS,
    PENDING_LIFETIME,
    ConsentEvidence,
    Contact,
    Status,
    pending_expiry,
    return_is_waiting,
)
from chalicelib.store.models import MailingList, ReturningSignup, Subscriber
from chalicelib.store.subscribers import (
    consent_proof,
    consent_view,
    new_entry,
    not_restricted,
    tracking_proof,
    tracking_view,
)

_CONDITION_FAILED = "ConditionalCheckFailedException"


def _reopenable(account_id: str, at: datetime) -> Any:
    """The account's entry is one its person's own signup may reopen, still stands (P29), and
    its processing was not restricted: the signup's confirmation mail would mail it (P17)."""
    return (Subscriber.status.is_in(*(status.value for status in OWN_SIGNUP_REOPENS))
            & (Subscriber.account_id == account_id) & not_restricted()
            & (Subscriber.expires_at.does_not_exist() | (Subscriber.expires_at > at)))


def write_return(account_id: str, contact: Contact, list_id: str, consent: ConsentEvidence,
                 tracking: ConsentEvidence | None, pending_for: timedelta = PENDING_LIFETIME) -> bool:
    """Keep the signup beside the account's entry its person unsubscribed, in place of any
    earlier one waiting (a new signup is new consent). One conditional update that changes
    nothing else; False, writing nothing, when there is no such entry."""
    at = now()
    signup = ReturningSignup(
        phone=contact.phone, name=contact.name, company=contact.company, website=contact.website,
        field_of_activity=contact.field_of_activity, attributes=dict(contact.attributes),
        consent=consent_proof(consent, None), tracking=tracking_proof(tracking, None) if tracking else None,
        expires_at=pending_expiry(at, pending_for),
    )
    try:
        Subscriber(list_id=list_id, address=contact.email).update(
            actions=[Subscriber.returning.set(signup)], condition=_reopenable(account_id, at))
    except UpdateError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            return False
        raise
    return True


def waiting_return(entry: Subscriber, at: datetime | None = None) -> ReturningSignup | None:
    """The entry's signup back that still waits for confirmation, or None (none, or expired)."""
    signup = entry.returning
    if signup is None or not return_is_waiting(Status(entry.status), entry.expires_at, signup.expires_at,
                                               at or now()):
        return None
    return signup


def confirm_return(entry: Subscriber, ip: str | None, user_agent: str | None,
                   signed_up_at: datetime | None = None) -> Subscriber | None:
    """The person confirmed their signup back (P12): a confirmed entry with its data and consent
    proofs replaces the ended one, in one conditional put. None, writing nothing, when the
    signup no longer waits, is not the one given at `signed_up_at` (when named: the one the
    link was mailed for, P02), or another replaced it since `entry` was read."""
    at = now()
    signup = waiting_return(entry, at)
    if signup is None or (signed_up_at is not None and signup.consent.given_at != signed_up_at):
        return None
    contact = Contact(email=entry.address, name=signup.name, company=signup.company, phone=signup.phone,
                      website=signup.website, field_of_activity=signup.field_of_activity,
                      attributes=_plain(signup.attributes))
    consent = signup.consent
    consent.confirmed_at, consent.confirm_ip, consent.confirm_user_agent = at, ip, user_agent
    tracking = signup.tracking
    if tracking is not None and tracking.given_at is not None:  # confirmed with it (P30)
        tracking.confirmed_at = at
    confirmed = new_entry(entry.account_id, entry.list_id, contact, Status.CONFIRMED, consent, tracking, at)
    # The records of codes texted for the entry are still its person's to erase (P18); an ended
    # entry is texted none, so none is added since `entry` was read.
    confirmed.code_texts = entry.code_texts
    try:
        confirmed.save(condition=_reopenable(entry.account_id, at)
                       & (Subscriber.returning.expires_at == signup.expires_at))
    except PutError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            return None
        raise
    return confirmed


def returning_view(entry: Subscriber, mailing_list: MailingList | None) -> dict[str, Any] | None:
    """The signup back stored beside the entry, as an export holds it (P16): one that expired
    unconfirmed is still held until the entry's data goes (P29), so it is shown, marked as no
    longer waiting. None when there is none."""
    signup = entry.returning
    if signup is None:
        return None
    return {"waiting": waiting_return(entry) is not None,
            "phone": signup.phone, "name": signup.name, "company": signup.company, "website": signup.website,
            "field_of_activity": signup.field_of_activity, "attributes": _plain(signup.attributes),
            "consent": consent_view(signup, mailing_list),
            "tracking_consent": tracking_view(signup, mailing_list),
            # P01: the signup is forgotten then unless confirmed; the entry stays as it ended.
            "expires_at": signup.expires_at.isoformat()}


def _plain(attributes: MapAttribute | dict[str, str]) -> dict[str, str]:
    return attributes.as_dict() if isinstance(attributes, MapAttribute) else dict(attributes)
