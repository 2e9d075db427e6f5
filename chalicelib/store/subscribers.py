"""Subscribers: one entry per list and normalised address, with its consent proof (P02).

Pending entries carry a TTL (P01), and so do ended ones, whose personal data goes 30 days after
they ended (P29). DynamoDB deletes expired items up to two days late, so every read here treats
an expired entry as absent; the daily purge deletes them on time (store/retention.py).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from chalicelib.config import settings
from chalicelib.domain.clock import now
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.phone_consent import phone_confirmed
from chalicelib.domain.retention import (
    ENDED_BUCKETS,
    MESSAGE_RETENTION,
    PURGE_LIST_EXTRA_LIFETIME,
    purge_bucket,
)
from chalicelib.domain.subscriptions import (
    PENDING_LIFETIME,
    SIGNUP_REPLACES,
    TRANSITIONS,
    ConsentEvidence,
    Contact,
    Status,
    TrackingState,
    is_live,
    pending_expiry,
)
from chalicelib.store.conditions import CONDITION_FAILED, updated_if
from chalicelib.store.lists import consent_history, tracking_history
from chalicelib.store.models import (
    CodeText,
    ConsentProof,
    MailingList,
    PhoneConsentProof,
    ReturningSignup,
    Subscriber,
    TrackingConsentProof,
)
from chalicelib.store.paging import decode_cursor, encode_cursor, fill_page
from chalicelib.store.transactions import first_condition_failed, write_transaction

# A code's record is gone by then: the purge deletes it by day 30, before its purge list expires.
_CODE_RECORD_HELD = MESSAGE_RETENTION + PURGE_LIST_EXTRA_LIFETIME


def list_status_key(list_id: str, status: Status) -> str:
    """Hash key of the `by_list_status` index."""
    return f"{list_id}#{status.value}"


def account_address_key(account_id: str, address: str) -> str:
    """Hash key of the `by_account_address` index (one person's entries across an account)."""
    return f"{account_id}#{address}"


def _live(subscriber: Subscriber | None, at: datetime) -> Subscriber | None:
    if subscriber is None or not is_live(Status(subscriber.status), subscriber.expires_at, at):
        return None
    return subscriber


def get_subscriber(list_id: str, address: str) -> Subscriber | None:
    """The live entry, or None (never signed up, deleted, or pending and expired)."""
    try:
        return _live(Subscriber.get(list_id, address, consistent_read=True), now())
    except Subscriber.DoesNotExist:
        return None


def consent_proof(evidence: ConsentEvidence, confirmed_at: datetime | None) -> ConsentProof:
    """The stored proof of a signup's consent (P02)."""
    return ConsentProof(given_at=evidence.given_at, source=evidence.source.value, ip=evidence.ip,
                        user_agent=evidence.user_agent, form_url=evidence.form_url,
                        consent_text_version=evidence.consent_text_version,
                        original_source=evidence.original_source, confirmed_at=confirmed_at)


def tracking_proof(evidence: ConsentEvidence, confirmed_at: datetime | None) -> TrackingConsentProof:
    """The stored proof of a signup's tracking consent (P30)."""
    return TrackingConsentProof(given_at=evidence.given_at, source=evidence.source.value, ip=evidence.ip,
                                user_agent=evidence.user_agent, form_url=evidence.form_url,
                                consent_text_version=evidence.consent_text_version,
                                confirmed_at=confirmed_at)


def entries(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Subscriber]:
    """The live entries of these (list id, address) keys, in batched reads."""
    at = now()
    return {(entry.list_id, entry.address): entry for entry in Subscriber.batch_get(list(set(keys)))
            if _live(entry, at)}


def new_entry(account_id: str, list_id: str, contact: Contact, status: Status, consent: ConsentProof,
              tracking: TrackingConsentProof | None, at: datetime,
              pending_for: timedelta = PENDING_LIFETIME) -> Subscriber:
    """A whole new entry, as a signup writes it (pending entries expire `pending_for` on, P01)."""
    entry = Subscriber(
        list_id=list_id,
        address=contact.email,
        account_id=account_id,
        status=status.value,
        email=contact.email,
        phone=contact.phone,
        name=contact.name,
        company=contact.company,
        website=contact.website,
        field_of_activity=contact.field_of_activity,
        attributes=dict(contact.attributes),
        consent=consent,
        # P30: the separate tracking consent, confirmed with the entry.
        tracking=tracking,
        created_at=at,
        updated_at=at,
        expires_at=pending_expiry(at, pending_for) if status is Status.PENDING else None,
        list_status=list_status_key(list_id, status),
        account_address=account_address_key(account_id, contact.email),
    )
    if entry.expires_at is not None:  # the P01 purge's index (domain/retention.py)
        entry.purge_bucket = purge_bucket(entry.expires_at, f"{list_id}#{contact.email}")
    return entry


def not_restricted() -> Condition:
    """The entry's processing is not restricted (P17): a condition on writes that would mail it."""
    return Subscriber.restricted.does_not_exist() | (Subscriber.restricted == False)  # noqa: E712


def signup_replaces(entry: Subscriber | None) -> bool:
    """Whether write_signup would write over `entry` (a live entry as get_subscriber reads it, or
    None): its condition, read in Python, for a caller that counts the mail before writing."""
    return entry is None or (entry.status in {s.value for s in SIGNUP_REPLACES} and not entry.restricted)


def write_signup(account_id: str, list_id: str, contact: Contact, consent: ConsentEvidence,
                 status: Status, tracking: ConsentEvidence | None = None,
                 pending_for: timedelta = PENDING_LIFETIME) -> Subscriber | None:
    """Write a new pending or confirmed entry in one conditional put; a pending one expires
    `pending_for` on (the list's P01 lifetime).

    It may replace only nothing, a pending entry (expired or not: a new signup is new
    consent, but an unexpired one whose processing was restricted stays as it is, kept but not
    mailed, P17) or an ended one past its deletion date (P29). Returns None, writing nothing,
    when a confirmed, ended or restricted entry is in the way (the person's own signup back to an
    entry they unsubscribed waits beside it instead: store/returning.py).
    """
    at = now()
    confirmed_at = at if status is Status.CONFIRMED else None
    subscriber = new_entry(account_id, list_id, contact, status, consent_proof(consent, confirmed_at),
                           tracking_proof(tracking, confirmed_at) if tracking else None, at, pending_for)
    try:
        subscriber.save(condition=Subscriber.address.does_not_exist()
                        | (Subscriber.status.is_in(*(s.value for s in SIGNUP_REPLACES)) & not_restricted())
                        | (Subscriber.expires_at <= at))
    except PutError as exc:
        if exc.cause_response_code == CONDITION_FAILED:
            return None
        raise
    return subscriber


def confirm(list_id: str, address: str, ip: str | None, user_agent: str | None,
            signed_up_at: datetime | None = None) -> Subscriber | None:
    """Confirm a live pending entry: record when and from where, drop the TTL. With
    `signed_up_at`, only the signup whose consent was given then (the one its link was mailed
    for): not one that replaced it since (P02, P30).

    One conditional update; None when there is no such live pending entry (already confirmed,
    expired, ended, replaced or absent) — the caller decides what that means.
    """
    at = now()
    entry = Subscriber(list_id=list_id, address=address)
    condition = (Subscriber.status == Status.PENDING.value) & (Subscriber.expires_at > at)
    if signed_up_at is not None:
        condition &= Subscriber.consent.given_at == signed_up_at
    try:
        entry.update(
            actions=[
                Subscriber.status.set(Status.CONFIRMED.value),
                Subscriber.list_status.set(list_status_key(list_id, Status.CONFIRMED)),
                Subscriber.consent.confirmed_at.set(at),
                Subscriber.consent.confirm_ip.set(ip),
                Subscriber.consent.confirm_user_agent.set(user_agent),
                Subscriber.expires_at.remove(),
                Subscriber.updated_at.set(at),
            ],
            condition=condition,
        )
    except UpdateError as exc:
        if exc.cause_response_code == CONDITION_FAILED:
            return None
        raise
    return entry


def tracking_state(entry: Subscriber) -> TrackingState:
    """What the entry records about tracking consent (P30)."""
    proof = entry.tracking
    if proof is None:
        return TrackingState()
    return TrackingState(given=proof.given_at is not None, confirmed=proof.confirmed_at is not None,
                         withdrawn=proof.withdrawn_at is not None)


def confirm_tracking(entry: Subscriber) -> None:
    """Record that the person's confirmation also confirmed the tracking consent they gave with
    their signup (P30); nothing when they gave none, or withdrew it before confirming."""
    proof = entry.tracking
    if proof is None or proof.given_at is None or proof.confirmed_at or proof.withdrawn_at:
        return
    # Conditional on the stored proof: a withdrawal since this entry was read stays unconfirmed.
    updated_if(entry, [Subscriber.tracking.confirmed_at.set(entry.consent.confirmed_at or now())],
               Subscriber.tracking.given_at.exists() & Subscriber.tracking.withdrawn_at.does_not_exist())


def give_tracking(entry: Subscriber, evidence: ConsentEvidence) -> bool:
    """The person gave tracking consent themselves (the preference centre): given and confirmed
    at once, replacing an earlier withdrawal (P30). False, writing nothing, when the entry already
    holds it given, confirmed and not withdrawn, to the same text version: a replay keeps the
    first proof (P02). One conditional write, so racing presses record it once."""
    held = (Subscriber.tracking.given_at.exists() & Subscriber.tracking.confirmed_at.exists()
            & Subscriber.tracking.withdrawn_at.does_not_exist()
            & (Subscriber.tracking.consent_text_version == evidence.consent_text_version))
    return updated_if(entry, [Subscriber.tracking.set(tracking_proof(evidence, evidence.given_at)),
                              Subscriber.updated_at.set(now())], Subscriber.address.exists() & ~held)


def withdraw_tracking(entry: Subscriber) -> bool:
    """The person withdrew tracking consent (or, on a list that asks none, refused tracking):
    the proof of when it was given stays, with the time it was withdrawn (P30). False, writing
    nothing, when it was withdrawn already: the first withdrawal's time stays."""
    at = now()
    # The withdrawal time goes into the proof held, or makes one where none is: each a
    # conditional write, so racing withdrawals record one time, and never over a proof given since.
    into_held = updated_if(entry, [Subscriber.tracking.withdrawn_at.set(at), Subscriber.updated_at.set(at)],
                           Subscriber.address.exists() & Subscriber.tracking.exists()
                           & Subscriber.tracking.withdrawn_at.does_not_exist())
    return into_held or updated_if(entry, [Subscriber.tracking.set(TrackingConsentProof(withdrawn_at=at)),
                                           Subscriber.updated_at.set(at)],
                                   Subscriber.address.exists() & Subscriber.tracking.does_not_exist())


def tracking_view(entry: Subscriber | ReturningSignup,
                  mailing_list: MailingList | None) -> dict[str, Any] | None:
    """The entry's (or a signup back's) tracking consent as plain data, with the text it agreed
    to (P30); None when the person never gave or withdrew it."""
    proof = entry.tracking
    if proof is None:
        return None
    texts = {v.version: v.text for v in tracking_history(mailing_list)} if mailing_list else {}
    version = int(proof.consent_text_version) if proof.consent_text_version is not None else None

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"given_at": iso(proof.given_at), "source": proof.source, "ip": proof.ip,
            "user_agent": proof.user_agent, "form_url": proof.form_url, "consent_text_version": version,
            "consent_text": texts.get(version) if version is not None else None,
            "confirmed_at": iso(proof.confirmed_at), "withdrawn_at": iso(proof.withdrawn_at)}


def phone_is_confirmed(entry: Subscriber) -> bool:
    """Whether the entry's current phone number is the one its person confirmed."""
    proof = entry.phone_consent
    return phone_confirmed(entry.phone, proof.phone if proof else None, proof.confirmed_at if proof else None)


def save_phone_code(entry: Subscriber, hashed: str, texted: tuple[str, str] | None = None) -> bool:
    """A new code was sent to the entry's number: keep its keyed hash, time and no tries yet, and
    where the record it will have is found (`texted`: its purge list's key and message id), before
    the text goes: the entry's erasure must find that record whatever the number is by then (P18).
    What leads to records the purge has deleted by now is dropped (P21). False, writing nothing,
    when another code was saved since `entry` was read (or the entry is gone): the list written
    here, built on that read, would lose the way to that code's record."""
    at = now()
    proof = PhoneConsentProof(phone=entry.phone, code_hash=hashed, code_sent_at=at, attempts=0)
    actions = [Subscriber.phone_consent.set(proof)]
    if texted is not None:
        held = [text for text in entry.code_texts or () if text.sent_at > at - _CODE_RECORD_HELD]
        purge_list, message_id = texted
        actions.append(Subscriber.code_texts.set(
            [*held, CodeText(purge_list=purge_list, message_id=message_id, sent_at=at)]))
    unchanged = (Subscriber.code_texts == entry.code_texts if entry.code_texts
                 else Subscriber.code_texts.does_not_exist())
    return updated_if(entry, actions, Subscriber.address.exists() & unchanged)


def take_code_attempt(entry: Subscriber, code_hash: str, max_attempts: int) -> bool:
    """Use one of the tries of the code whose keyed hash is `code_hash`, before it is compared;
    False when none is left (or another code was sent meanwhile). One conditional write, so
    guesses sent in parallel get no more than `max_attempts` tries between them."""
    try:
        entry.update(actions=[Subscriber.phone_consent.attempts.add(1)],
                     condition=(Subscriber.phone_consent.code_hash == code_hash)
                     & ((Subscriber.phone_consent.attempts < max_attempts)
                        | Subscriber.phone_consent.attempts.does_not_exist()))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def confirm_phone(entry: Subscriber, ip: str | None, user_agent: str | None) -> bool:
    """The person typed the right code: their number is confirmed, recorded like email consent.
    False, writing nothing, when the entry went since it was read (an erasure, a purge)."""
    proof = PhoneConsentProof(phone=entry.phone, confirmed_at=now(), confirm_ip=ip,
                              confirm_user_agent=user_agent)
    return updated_if(entry, [Subscriber.phone_consent.set(proof)], Subscriber.address.exists())


def ending_actions(list_id: str, address: str, status: Status) -> list[Any]:
    """The update actions that end an entry as `status` now (unsubscribed, bounced, complained)
    and date the deletion of its personal data (P29): the deployment's ended retention from now,
    in the purge index's ended buckets, with DynamoDB's TTL as the backstop."""
    at = now()
    expires_at = at + settings().ended_retention
    return [
        Subscriber.status.set(status.value),
        Subscriber.list_status.set(list_status_key(list_id, status)),
        Subscriber.ended_at.set(at),
        Subscriber.expires_at.set(expires_at),
        Subscriber.purge_bucket.set(purge_bucket(expires_at, f"{list_id}#{address}", ENDED_BUCKETS)),
        Subscriber.updated_at.set(at),
    ]


def ending_condition(account_id: str, status: Status) -> Condition:
    """The condition under which the account's entry may end as `status` now (the subscription
    state machine's transitions): it fails when there is no entry or it had already ended."""
    may_end = [current.value for current, targets in TRANSITIONS.items() if current and status in targets]
    return Subscriber.status.is_in(*may_end) & (Subscriber.account_id == account_id)


def end_entry_counted(account_id: str, list_id: str, address: str, status: Status,
                      count: tuple[Model, list[Any]], created_before: datetime | None = None) -> bool:
    """End the account's entry as `status` and apply `count` (an item and its update actions: a
    campaign counter) in one transaction, so the count lands exactly when the entry ends: a retry
    after a failure neither loses it nor repeats it. False when there is no entry, it had
    already ended, or (`created_before`) it was created since: nothing is then written."""
    condition = ending_condition(account_id, status)
    if created_before is not None:
        condition &= Subscriber.created_at < created_before
    try:
        with write_transaction(Subscriber) as transaction:
            transaction.update(Subscriber(list_id=list_id, address=address),
                               actions=ending_actions(list_id, address, status), condition=condition)
            transaction.update(*count)
    except TransactWriteError as error:
        if first_condition_failed(error):
            return False
        raise
    return True


def subscribers_page(list_id: str, status: Status | None, limit: int, cursor: str | None,
                     text_bytes: Callable[[Subscriber], int] = lambda entry: 0,
                     ) -> tuple[list[Subscriber], str | None]:
    """One page of a list's live entries, by address, optionally of one status.

    A page may hold fewer than `limit` entries when expired pending ones were filtered out, or
    when the entries' views hold more than a page may (`text_bytes` of each, store/paging.py);
    `next_cursor` is None only at the end.
    """
    start = decode_cursor(cursor, f"subscribers:{list_id}:{status}")
    _check_cursor_belongs(start, list_id, status)
    live = live_filter(now())
    if status is None:
        result = Subscriber.query(list_id, filter_condition=live, limit=limit,
                                  last_evaluated_key=start)
    else:
        result = Subscriber.by_list_status.query(list_status_key(list_id, status),
                                                 filter_condition=live, limit=limit,
                                                 last_evaluated_key=start)
    items, ended_early = fill_page(result, text_bytes)
    resume = entry_key(list_id, status, items[-1].address) if ended_early else result.last_evaluated_key
    return items, encode_cursor(resume, f"subscribers:{list_id}:{status}")


def live_filter(at: datetime) -> Condition:
    """A query's filter for entries not past their expiry (P01, P29): TTL deletes them up to two
    days late, and the daily purge some hours late, so a listing must leave them out itself."""
    return Subscriber.expires_at.does_not_exist() | (Subscriber.expires_at > at)


def entry_key(list_id: str, status: Status | None, address: str) -> dict[str, Any]:
    """The key a query of the list's entries (of one status: in the status index) goes on from
    after the entry of `address`, as DynamoDB gives it: for a page that ends early."""
    key = {"list_id": {"S": list_id}, "address": {"S": address}}
    if status is not None:
        key["list_status"] = {"S": list_status_key(list_id, status)}
    return key


def _check_cursor_belongs(start: dict[str, Any] | None, list_id: str, status: Status | None) -> None:
    # Cursors are signed, but one from another list or filter would make DynamoDB fail.
    if start is None:
        return
    same_list = (start.get("list_id") or {}).get("S") == list_id
    expected_index_key = list_status_key(list_id, status) if status else None
    same_filter = (start.get("list_status") or {}).get("S") == expected_index_key
    if not (same_list and same_filter):
        raise InvalidInput("'cursor' belongs to another listing", field="cursor")


def update_fields(subscriber: Subscriber, changes: dict[str, Any]) -> Subscriber:
    """Set (or, for None, remove) contact fields and attributes (rectification, P17). A new phone
    number drops the confirmation of the one it replaces: that number, and when and from where it
    was confirmed, would otherwise stay held where no export, request by that number or erasure
    looks (P16, P18, P20); the new one is confirmed anew."""
    actions = []
    for name, value in changes.items():
        attribute = getattr(Subscriber, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    proof = subscriber.phone_consent
    if "phone" in changes and "phone_consent" not in changes and proof is not None \
            and proof.phone != changes["phone"]:
        actions.append(Subscriber.phone_consent.remove())
    actions.append(Subscriber.updated_at.set(now()))
    subscriber.update(actions=actions, condition=Subscriber.address.exists())
    return subscriber


def delete_subscriber(subscriber: Subscriber) -> None:
    """Remove the entry. Suppressions are separate and stay (P12)."""
    subscriber.delete()


def consent_view(entry: Subscriber | ReturningSignup, mailing_list: MailingList | None) -> dict[str, Any]:
    """The entry's (or a signup back's) consent proof as plain data, with the text of the consent
    version it agreed to (P02): what the API shows and what an export holds."""
    texts = {v.version: v.text for v in consent_history(mailing_list)} if mailing_list else {}
    consent = entry.consent
    version = int(consent.consent_text_version) if consent.consent_text_version is not None else None

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "given_at": iso(consent.given_at),
        "source": consent.source,
        "ip": consent.ip,
        "user_agent": consent.user_agent,
        "form_url": consent.form_url,
        "consent_text_version": version,
        "consent_text": texts.get(version) if version is not None else None,
        "original_source": consent.original_source,
        "confirmed_at": iso(consent.confirmed_at),
        "confirm_ip": consent.confirm_ip,
        "confirm_user_agent": consent.confirm_user_agent,
    }
