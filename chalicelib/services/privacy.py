"""Data-subject requests, answered by the system itself (P16-P20).

`submit_request` records a request with its 30-day due date (P19) and completes it within the
call; the API and the preference centre both go through it, so every action a person takes is
on record (the page's objection goes through `object_once`, which records nothing for a replay
that changes nothing). `export_person` and `erase_person` are the building blocks for callers
that hold an address or phone. Nothing here logs or audits contact data: request ids and counts
only.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.config import hash_key
from chalicelib.domain.clock import now
from chalicelib.domain.errors import Conflict, InvalidInput, TidingsError
from chalicelib.domain.mail_links import LinkClaim
from chalicelib.domain.privacy import (
    EXPORTING,
    Person,
    Rectification,
    RequestType,
    Subject,
    export_expiry,
    rectification,
    subject_from_text,
)
from chalicelib.domain.subscriptions import Status, may_transition
from chalicelib.domain.suppression import SuppressionReason
from chalicelib.observability import logger
from chalicelib.store import audit, person_data, person_subscribers
from chalicelib.store.models import PrivacyRequest, Subscriber
from chalicelib.store.privacy_requests import (
    complete_request,
    create_request,
    load_export,
    save_export,
    withdraw_request,
)
from chalicelib.store.privacy_requests import get_request as get_request
from chalicelib.store.privacy_requests import requests_page as requests_page
from chalicelib.store.suppressions import end_hash_lifts, suppress_hash


class ExportGone(TidingsError):
    """The export existed but is past its 7 days, or the deadline of the data it copies (or was
    erased with the person)."""

    status = 410
    code = "export_expired"


def download_export(account_id: str, actor: str, request_id: str) -> dict[str, Any]:
    """The request's export, audited as downloaded; Conflict when the request type has none,
    ExportGone once it expired."""
    request = get_request(account_id, request_id)
    if RequestType(request.type) not in EXPORTING:
        raise Conflict(f"a {request.type} request has no export", field="request_id")
    export = load_export(request.account_id, request.request_id)
    if export is None:
        raise ExportGone("this export is no longer available (exports are kept 7 days, or less "
                         "when the data they copy must go sooner); make a new request",
                         field="request_id")
    audit.record(account_id, actor, "privacy.export_downloaded", request.request_id)
    return export


def export_person(account_id: str, who: str) -> dict[str, list[dict[str, Any]]]:
    """Everything the account holds about an email address or E.164 phone, by section (P16)."""
    return person_data.export_person(person_subscribers.find_person(account_id, subject_from_text(who)))


def erase_person(account_id: str, who: str) -> dict[str, Any]:
    """Erase an email address or E.164 phone from every table of the account, then suppress
    its keyed hashes so a later signup is silently refused (P18). Returns the outcome."""
    return _erase(person_subscribers.find_person(account_id, subject_from_text(who)))


def submit_request(account_id: str, actor: str, request_type: RequestType, subject: Subject,
                   changes: Mapping[str, object] | None = None,
                   mailed: LinkClaim | None = None,
                   admit: Callable[[], None] | None = None) -> PrivacyRequest:
    """Record and complete one request. Bad input raises InvalidInput before anything is recorded.

    `actor` is who asked (an API key id, or the preference centre); it goes to the audit log.
    `mailed` is the mail link the person came from: an objection that ends the entry that mail
    went to counts one unsubscribe for its campaign (P13). `admit`, once the input is valid and
    before anything is recorded, may still refuse the request (the preference centre's hourly
    cap, which a mistyped edit must not use up).
    """
    if request_type is RequestType.RECTIFY and not changes:
        raise InvalidInput("a rectify request needs 'changes'", field="changes")
    if request_type is not RequestType.RECTIFY and changes is not None:
        raise InvalidInput("'changes' belongs to rectify requests only", field="changes")
    person = person_subscribers.find_person(account_id, subject)
    plan = _plan_rectification(person, changes) if changes else None
    if admit is not None:
        admit()
    request = create_request(account_id, request_type, subject, actor)
    _record(request, _complete(request, person, subject, plan, mailed), actor)
    return request


def object_once(account_id: str, actor: str, subject: Subject, mailed: LinkClaim | None = None) -> int:
    """An objection to every list that the person makes themselves (the preference centre),
    recorded like submit_request's; but a replay, with no entry left to end, nothing left to
    suppress and no way back left to close (P12), is answered alike and records nothing (P19,
    P27): that page is not rate-capped, as opting out must always work (P07). How many entries
    ended now."""
    person = person_subscribers.find_person(account_id, subject)
    request = create_request(account_id, RequestType.OBJECT, subject, actor)
    outcome, changed = _object(person, mailed)
    if not changed:
        withdraw_request(request)
        return 0
    _record(request, outcome, actor)
    return int(outcome["entries_unsubscribed"])


def _record(request: PrivacyRequest, outcome: dict[str, Any], actor: str) -> None:
    complete_request(request, outcome)
    audit.record(request.account_id, actor, f"privacy.{request.type}", request.request_id)
    logger.info("privacy request completed", extra={"request_id": request.request_id, "type": request.type})


def _plan_rectification(person: Person, changes: Mapping[str, object]) -> Rectification:
    lists = person_subscribers.lists_of(person_subscribers.entries_of(person))
    declared = {name for mailing_list in lists.values() for name in mailing_list.declared_attributes or ()}
    return rectification(changes, declared)


def _complete(request: PrivacyRequest, person: Person, subject: Subject,
              plan: Rectification | None, mailed: LinkClaim | None) -> dict[str, Any]:
    request_type = RequestType(request.type)
    if request_type in EXPORTING:
        return _export(request, person, subject)
    if request_type is RequestType.EXISTS:
        return {"held": person_data.holds_personal_data(person)}
    if request_type is RequestType.ERASE:
        return _erase(person)
    if request_type is RequestType.RESTRICT:
        # The keyed hashes first: where suppressions are read (a new entry by the API or an
        # import, transactional and test mail, every campaign batch), the restriction holds for
        # the person in the account, not only for the entries found now.
        person_data.suppress_person(person, SuppressionReason.RESTRICTED)
        entries = person_subscribers.entries_of(person)
        for entry in entries:
            person_subscribers.restrict(entry)
        return {"entries_restricted": len(entries)}
    if request_type is RequestType.UNRESTRICT:
        # The reverse order: should the call stop halfway, the suppression still holds the person
        # back from every mail, and the request can be made again.
        lifted = sum(person_subscribers.unrestrict(e) for e in person_subscribers.entries_of(person))
        return {"entries_unrestricted": lifted,
                "identifiers_unrestricted": person_data.lift_person_restriction(person)}
    if request_type is RequestType.OBJECT:
        return _object(person, mailed)[0]
    if plan is None:
        raise InvalidInput("a rectify request needs 'changes'", field="changes")
    return _rectify(person, plan)


def _object(person: Person, mailed: LinkClaim | None) -> tuple[dict[str, Any], bool]:
    """End the person's entries, suppress their keyed hashes in the account and close any way
    back they had taken (P12, P17): the outcome, and whether this call changed anything. Each
    write is conditional; where an entry could end, only the call that ended one says so (racing
    calls may each win one write)."""
    entries = person_subscribers.entries_of(person)
    # Read before the writes: an update refreshes the entry it was called on with what it wrote.
    could_end = any(may_transition(Status(e.status), Status.UNSUBSCRIBED) for e in entries)
    ended = sum(person_subscribers.unsubscribe(e, _campaign_for(mailed, e)) for e in entries)
    hashes = sorted(person.keyed_hashes(hash_key()))
    newly = sum(suppress_hash(person.account_id, hashed, SuppressionReason.UNSUBSCRIBED) for hashed in hashes)
    # A way back they had taken closes: the suppression holds for every list again (P12).
    newly += sum(end_hash_lifts(person.account_id, hashed) for hashed in hashes)
    return ({"entries_unsubscribed": ended, "identifiers_suppressed": len(hashes)},
            bool(ended if could_end else newly))


def _campaign_for(mailed: LinkClaim | None, entry: Subscriber) -> str | None:
    return mailed.campaign_for(entry.list_id, entry.address, entry.created_at) if mailed else None


def _export(request: PrivacyRequest, person: Person, subject: Subject) -> dict[str, Any]:
    sections = person_data.export_person(person)
    at = now()
    export = {
        "request_id": request.request_id,
        "type": request.type,
        "generated_at": at.isoformat(),
        "subject": {subject.kind.value: subject.value},
        **sections,
    }
    # A copy must not outlive what it copies (P21, P29): it may go before its 7 days.
    stored = save_export(request, export, export_expiry(at, sections))
    return {"sections": {name: len(rows) for name, rows in sections.items()},
            "export_expires_at": stored.expires_at.isoformat()}


def _erase(person: Person) -> dict[str, Any]:
    # Suppressed first: an erasure cut short still keeps her from being mailed or re-added until
    # it is made again, by a number too that only her deleted entries could find again (P12, P18).
    suppressed = person_data.suppress_person(person, SuppressionReason.ERASED)
    removed = person_data.erase_everywhere(person)
    return {"removed": removed, "identifiers_suppressed": suppressed}


def _rectify(person: Person, plan: Rectification) -> dict[str, Any]:
    entries = person_subscribers.entries_of(person)
    lists = person_subscribers.lists_of(entries)
    updated = sum(person_subscribers.rectify(entry, lists[entry.list_id], plan)
                  for entry in entries if entry.list_id in lists)
    return {"entries_updated": updated, "fields": plan.field_names}
