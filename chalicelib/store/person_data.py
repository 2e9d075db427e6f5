"""Where a person's data lives: one exporter and one eraser per table, registered in COVERAGE.

Every model in `ALL_MODELS` must appear in COVERAGE (tests/test_erasure.py fails otherwise), as
- `PersonalData`: holds a person's data; exported on access (P16), deleted on erasure (P18);
- `KeyedHashesOnly`: holds keyed hashes, never contact data; deleted on erasure when it has an
  eraser (whoever holds the key could link it to the person), otherwise kept on purpose, saying why;
- `NoPersonalData`: holds nothing about the people on the lists, with the reason why.
Each also says how long its items are kept, and the first two which fields hold the person's
data: the data map (store/data_map.py, P34) is built from this registry, so it cannot drift.
A table added later is therefore covered before it can ship.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.config import hash_key
from chalicelib.domain.clock import now
from chalicelib.domain.privacy import Person
from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason, account_subject, address_hash
from chalicelib.domain.tracking import scope_action
from chalicelib.store import feedback, idempotency, messages, person_subscribers, suppressions
from chalicelib.store import tracking as tracking_store
from chalicelib.store.batch_writes import delete_all
from chalicelib.store.models import (
    Account,
    AccountHealthDay,
    ApiKey,
    AuditEntry,
    Campaign,
    CampaignStat,
    FeedbackReceipt,
    IdempotencyKey,
    ImportChunk,
    ImportJob,
    MailingList,
    MessagePurgeList,
    MessageRecord,
    PrivacyExport,
    PrivacyRequest,
    RateCounter,
    SenderIdentity,
    SendProgress,
    SendRateBucket,
    SentCountReceipt,
    Subscriber,
    Suppression,
    TidingsModel,
    TrackingMarker,
)
from chalicelib.store.returning import returning_view, waiting_return
from chalicelib.store.subscribers import consent_view, tracking_view


@dataclass(frozen=True)
class Found:
    """The person being erased, and what of theirs several erasers need, read once at the start
    of the erasure: their entries (a Query per email; the codes texted for them are found
    through them), their message records (a Query per keyed hash; receipts and purge lists are
    found through them) and their tracking markers (a Query per campaign and email). Exports and
    `holds_personal_data` read afresh instead."""

    person: Person
    entries: tuple[Subscriber, ...]
    records: tuple[MessageRecord, ...]
    markers: tuple[TrackingMarker, ...]

    @classmethod
    def of(cls, person: Person) -> Found:
        entries = person_subscribers.entries_of(person)
        markers = tracking_store.markers_of(person.account_id, person.emails)
        return cls(person, tuple(entries), tuple(_messages(person, entries)),
                   tuple(marker for _, marker in markers))


Exporter = Callable[[Person], list[dict[str, Any]]]
Eraser = Callable[[Found], int]


@dataclass(frozen=True)
class PersonalData:
    """A table with a person's data. `export` is None only for copies of other tables' data,
    which say through `held` whether they hold the person (P20). `fields`: the attributes that
    hold it; `retention`: how long an item is kept."""

    erase: Eraser
    fields: tuple[str, ...]
    retention: str
    section: str | None = None
    export: Exporter | None = None
    held: Callable[[Person], bool] | None = None


@dataclass(frozen=True)
class KeyedHashesOnly:
    """A table that holds keyed hashes of addresses or phones, never the contact data itself.
    `erase` deletes the person's on erasure; it runs before the personal data's erasers, which
    delete what some of these are found through (message records)."""

    reason: str
    fields: tuple[str, ...]
    retention: str
    section: str | None = None
    export: Exporter | None = None
    erase: Eraser | None = None


@dataclass(frozen=True)
class NoPersonalData:
    reason: str
    retention: str


Coverage = PersonalData | KeyedHashesOnly | NoPersonalData


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- subscribers ---------------------------------------------------------------------------------

def subscription_view(entry: Subscriber, mailing_list: MailingList | None) -> dict[str, Any]:
    """One list entry as an export holds it: contact data and consent proof (P16)."""
    attributes = entry.attributes.as_dict() if hasattr(entry.attributes, "as_dict") else {}
    return {
        "list_id": entry.list_id,
        "list_name": mailing_list.name if mailing_list else None,
        "status": entry.status,
        "restricted": bool(entry.restricted),
        "email": entry.email,
        "phone": entry.phone,
        "name": entry.name,
        "company": entry.company,
        "website": entry.website,
        "field_of_activity": entry.field_of_activity,
        "attributes": attributes,
        "consent": consent_view(entry, mailing_list),
        "tracking_consent": tracking_view(entry, mailing_list),
        # P12: their signup back to an entry they unsubscribed, until confirmed or expired.
        "returning": returning_view(entry, mailing_list),
        "tracking_asked": bool(mailing_list and mailing_list.tracking_consent == "required"),
        # P01 for SMS: whether the person confirmed this number, when and from where.
        **phone_confirmation_view(entry),
        "created_at": _iso(entry.created_at),
        "updated_at": _iso(entry.updated_at),
        "ended_at": _iso(entry.ended_at),
        # When this entry and its data are deleted: 7 days after a signup nobody confirmed (P01),
        # or the ended retention after it ended (P29); never for a confirmed entry.
        "expires_at": _iso(entry.expires_at),
    }


def phone_confirmation_view(entry: Subscriber) -> dict[str, Any]:
    """The confirmation of the entry's current number, shaped like the consent proof's (P16);
    all None when that number was never confirmed."""
    proof = entry.phone_consent
    if proof is None or proof.phone != entry.phone:  # a proof for a number since replaced
        return {"phone_confirmed_at": None, "phone_confirm_ip": None, "phone_confirm_user_agent": None}
    return {"phone_confirmed_at": _iso(proof.confirmed_at), "phone_confirm_ip": proof.confirm_ip,
            "phone_confirm_user_agent": proof.confirm_user_agent}


def phone_only_view(entry: Subscriber, mailing_list: MailingList | None,
                    phones: frozenset[str]) -> dict[str, Any]:
    """Someone else's entry that carries the person's number unconfirmed: the list and the number
    are the person's data there; whose entry it is, and the rest of it, are not theirs to see.
    The number may be the entry's own or typed on a signup back waiting beside it (P12)."""
    view = {"list_id": entry.list_id, "list_name": mailing_list.name if mailing_list else None,
            "phone": entry.phone if entry.phone in phones else None, "phone_confirmed_at": None}
    signup = entry.returning
    if signup is not None and signup.phone in phones:
        # Held until the entry's data goes even once it no longer waits (P29): say which.
        view["returning"] = {"phone": signup.phone, "waiting": waiting_return(entry) is not None}
    return view


def export_subscribers(person: Person) -> list[dict[str, Any]]:
    entries = person_subscribers.entries_of(person)
    phone_only = person_subscribers.phone_only_entries_of(person)
    lists = person_subscribers.lists_of(entries + phone_only)
    return ([subscription_view(entry, lists.get(entry.list_id)) for entry in entries]
            + [phone_only_view(entry, lists.get(entry.list_id), person.phones) for entry in phone_only])


def erase_subscribers(found: Found) -> int:
    """The person's entries deleted, and their number taken off other people's entries."""
    person = found.person
    phone_only = person_subscribers.phone_only_entries_of(person)
    for entry in phone_only:
        person_subscribers.remove_phone(entry, person.phones)
    return person_subscribers.delete_entries(list(found.entries)) + len(phone_only)


# --- abuse-limit counters ------------------------------------------------------------------------

def _subjects(person: Person) -> list[str]:
    """The person's keyed hashes as this account's counters and keys name them: another account's
    erasure of the same person never finds what this one holds (their hashes are the same)."""
    return sorted(account_subject(person.account_id, hashed) for hashed in person.keyed_hashes(hash_key()))


def erase_counters(found: Found) -> int:
    """The counters that count for the person (their keys hold a keyed hash of theirs), found by
    a Query of the `by_subject` index per keyed hash."""
    return delete_all(RateCounter, [counter for subject in _subjects(found.person)
                                    for counter in RateCounter.by_subject.query(subject)])


# --- transactional Idempotency-Keys --------------------------------------------------------------

def erase_idempotency_keys(found: Found) -> int:
    """The keys held for transactional mail to the person: one Query per keyed hash."""
    return idempotency.release_keys([key for subject in _subjects(found.person)
                                     for key in idempotency.keys_to(subject)])


# --- message records -----------------------------------------------------------------------------

def _messages(person: Person, entries: list[Subscriber]) -> list[MessageRecord]:
    """The records to the person's keyed hashes, and those of the codes texted for their
    `entries` (found through them: the number may be proven nobody's, or changed since, P18)."""
    records = [record for hashed in sorted(person.keyed_hashes(hash_key()))
               for record in messages.sent_to(hashed, person.account_id)]
    found = {(record.recipient_hash, record.message_id) for record in records}
    codes = messages.listed_records((text.purge_list, text.message_id)
                                    for entry in entries for text in entry.code_texts or ())
    return records + [record for record in codes if (record.recipient_hash, record.message_id) not in found]


def export_messages(person: Person) -> list[dict[str, Any]]:
    """Every message record still stored (P16, P20): its TTL is set two days early, so one past
    it is held until TTL or the day-30 purge deletes it. `sent` is false for the record of a
    mail counted as failed and never sent (store/messages.unsent_record): held, but no mail."""
    return [{"message_id": r.message_id, "kind": r.kind, "campaign_id": r.campaign_id,
             "list_id": r.list_id, "sent": not r.unsent, "sent_at": _iso(r.sent_at),
             "expires_at": _iso(r.expires_at)}
            for r in _messages(person, person_subscribers.entries_of(person))]


def erase_receipts(found: Found) -> int:
    """The feedback receipts of the person's mails: found through their message records."""
    return feedback.delete_receipts(feedback.receipts_of((r.message_id, r.recipient_hash)
                                                         for r in found.records))


def erase_from_purge_lists(found: Found) -> int:
    """The person's keyed hash taken off the purge lists their message records and tracking
    markers name, each record and marker deleted as soon as its list no longer names it: an
    erasure cut short and made again has only the rest to do. Runs after erase_receipts (the
    receipts are found through the records)."""
    return (messages.unlist_then_delete(MessageRecord, found.records, messages.unlist)
            + messages.unlist_then_delete(TrackingMarker, found.markers, tracking_store.unlist_markers))


def erase_messages(found: Found) -> int:
    """How many records the person had: those on a purge list went with it
    (erase_from_purge_lists); the rest, written before records named their list, go here."""
    delete_all(MessageRecord, [record for record in found.records if not record.purge_list])
    return len(found.records)


# --- tracking markers ----------------------------------------------------------------------------

def export_tracking(person: Person) -> list[dict[str, Any]]:
    """The person's opens, and clicks per link, in each of the account's campaigns (P13, P16):
    when the first and the latest happened, how many were counted, and when that history goes
    (within 30 days of the mail, P21); a marker past it is still shown until TTL deletes it,
    being still held (P16, P20). Markers are keyed by the
    campaign and a keyed hash of an email (an SMS's links carry the entry's email too)."""
    rows = [{"campaign_id": campaign_id, "kind": scope_action(marker.scope).value, "link": marker.link,
             "first_at": _iso(marker.first_at), "last_at": _iso(marker.last_at),
             "count": int(marker.counted), "expires_at": _iso(marker.expires_at)}
            for campaign_id, marker in tracking_store.markers_of(person.account_id, person.emails)]
    return sorted(rows, key=lambda row: (row["campaign_id"], row["kind"], row["link"] or ""))


def erase_tracking(found: Found) -> int:
    """How many markers the person had: those on a purge list went with it
    (erase_from_purge_lists); the rest, written before markers named their list, go here."""
    tracking_store.delete_markers(marker for marker in found.markers if not marker.purge_list)
    return len(found.markers)


# --- suppressions --------------------------------------------------------------------------------

def export_suppressions(person: Person) -> list[dict[str, Any]]:
    """Whether each of the person's emails and phones is suppressed here, platform-wide, or for
    one list of the account (a Query per identifier finds those)."""
    identifiers = {address_hash(email, hash_key()): "email" for email in person.emails}
    identifiers.update({h: "phone" for h in person.keyed_hashes(hash_key()) if h not in identifiers})
    keys = [(scope, hashed) for hashed in identifiers for scope in (person.account_id, PLATFORM_SCOPE)]
    found = list(Suppression.batch_get(keys)) if keys else []
    rows = [_suppression_row(s, identifiers[s.address_hash]) for s in found]
    for hashed, kind in identifiers.items():
        per_list = Suppression.query(person.account_id, Suppression.address_hash.startswith(f"{hashed}#"))
        rows.extend(_suppression_row(s, kind) for s in per_list)
    return sorted(rows, key=lambda row: (row["identifier"], row["scope"], row.get("list_id") or ""))


def _suppression_row(entry: Suppression, identifier: str) -> dict[str, Any]:
    row = {"identifier": identifier, "reason": entry.reason,
           "reasons": sorted({entry.reason, *(entry.reasons or ())}), "since": _iso(entry.created_at)}
    if entry.scope == PLATFORM_SCOPE:
        return {**row, "scope": "platform"}
    _, _, list_id = entry.address_hash.partition("#")
    return {**row, "scope": "list", "list_id": list_id} if list_id else {**row, "scope": "account"}


# --- exports of earlier requests -----------------------------------------------------------------

def _exports(person: Person) -> list[PrivacyExport]:
    """The keys of the exports made of the person that are still stored, expired or not. Read
    strongly consistent: an export made just before an erasure must go with it (P18)."""
    hashes = sorted(person.keyed_hashes(hash_key()))
    if not hashes:
        return []
    return list(PrivacyExport.query(person.account_id,
                                    filter_condition=PrivacyExport.subject_hash.is_in(*hashes),
                                    attributes_to_get=["account_id", "request_id", "subject_hash"],
                                    consistent_read=True))


def holds_exports(person: Person) -> bool:
    return bool(_exports(person))


def erase_exports(found: Found) -> int:
    return delete_all(PrivacyExport, _exports(found.person))


_ACCOUNT = "while the account exists"
COVERAGE: dict[type[TidingsModel], Coverage] = {
    Subscriber: PersonalData(
        section="subscriptions", export=export_subscribers, erase=erase_subscribers,
        fields=("address", "email", "phone", "name", "company", "website", "field_of_activity",
                "attributes", "consent", "tracking", "phone_consent", "code_texts", "account_address",
                "returning"),
        retention="confirmed: while subscribed; unconfirmed: 7 days (P01); ended (unsubscribed, "
                  "bounced, complained): 30 days after it ended, or fewer as deployed (P29); a "
                  "signup back to an unsubscribed entry (`returning`): read as gone after 7 days "
                  "(P01), deleted with the entry"),
    MessageRecord: PersonalData(
        section="messages", export=export_messages, erase=erase_messages, fields=("recipient_hash",),
        retention="30 days after sending (P21)"),
    TrackingMarker: PersonalData(
        section="tracking", export=export_tracking, erase=erase_tracking,
        fields=("campaign_recipient", "events", "first_at", "last_at", "counted", "link"),
        retention="28 days after the mail was sent, so TTL has usually deleted it by day 30, when "
                  "the daily purge deletes what TTL left, found through the purge list its "
                  "tracking batch filed (P21)"),
    # A copy of the other tables' data: not exported again, but erased with them.
    PrivacyExport: PersonalData(erase=erase_exports, held=holds_exports, fields=("payload", "subject_hash"),
                                retention="7 days, to be downloaded (P16), or less: never past the "
                                          "earliest deadline of the data it copies (P01, P21, "
                                          "P29); the daily purge deletes it then (P25)"),
    Suppression: KeyedHashesOnly(
        "the keyed hash is what keeps an erased person from being re-added (P12, P18)",
        section="suppressions", export=export_suppressions, fields=("address_hash",),
        retention=f"{_ACCOUNT}: it keeps the person from being re-added (P12, P18, P29); the "
                  "platform-wide opt-outs, and the addresses the platform's own mail bounced "
                  "from or drew a complaint at (P11), while the platform runs"),
    PrivacyRequest: KeyedHashesOnly(
        "the subject's keyed hash only; the record proves the request was answered (P19)",
        fields=("subject_hash",),
        retention=f"{_ACCOUNT}, an erased person's requests too: they prove each was answered in "
                  "time (P19), and no answer about the person reads them (P18, P20)"),
    RateCounter: KeyedHashesOnly(
        "abuse-limit counters keyed by keyed hashes, expiring with their window; those that count "
        "for a person name their keyed hash in `subject` and go with them, but the preference "
        "centre's hourly cap on a person's requests, which erasing would reset",
        fields=("counter_key", "subject"), erase=erase_counters,
        retention="until its window ends: an hour or a day for abuse limits; an address's "
                  "transient-bounce counter of a day, the transient-bounce window (7 days) and a day; "
                  "the preference centre's hourly cap on a person's requests stays its hour after "
                  "their erasure, which would otherwise reset it, and a number's platform-wide "
                  "daily caps on texted codes and on answers to keyword replies their day, as no one "
                  "account's erasure may reset them"),
    MessagePurgeList: KeyedHashesOnly(
        "the message ids and recipients' keyed hashes a send batch may have written, or the keys "
        "(campaign and the recipient's campaign-salted keyed hash) of the tracking markers a "
        "tracking batch created, kept until the 30-day purge deletes those records or markers "
        "(P21) and the list with them; the person's erasure takes their hash off the lists their "
        "records and markers name", fields=("recipients", "messages", "markers"),
        erase=erase_from_purge_lists,
        retention="30 days after sending, with its records or markers (P21)"),
    FeedbackReceipt: KeyedHashesOnly(
        "SES event receipts keyed by message id and the recipient's keyed hash; erased with the "
        "person's message records, which they are found through: a replay after that finds no "
        "record, so it counts nowhere and needs no receipt (services/unmatched_feedback.py)",
        fields=("receipt_key",), erase=erase_receipts,
        retention="30 days after its mail was sent (P21), while the mail's record could match a "
                  "replay; DynamoDB TTL deletes it from then, typically within two days"),
    IdempotencyKey: KeyedHashesOnly(
        "a keyed hash of a transactional request (its recipient and content) under a digest of the "
        "account and its Idempotency-Key, expiring with the key's window; the recipient's keyed "
        "hash finds it when they are erased", fields=("fingerprint", "recipient_hash"),
        erase=erase_idempotency_keys,
        retention="24 hours, while the key is honoured; DynamoDB TTL deletes it within days after"),
    SentCountReceipt: NoPersonalData("the ids of sender invocations whose sent mail was counted",
                                      retention="15 days, while SQS could redeliver the job"),
    Account: NoPersonalData(
        "the tenant's own profile, not a list member's data; its contact email changes only by "
        "confirmed email change (P27) and goes with the account (P23)",
        retention=f"{_ACCOUNT}: deleted 30 days after a confirmed deletion request (P23), 30 days "
                  "into a cancellation or suspension its content goes (P22), after a year unused (P24)"),
    ApiKey: NoPersonalData("hashes of API key secrets", retention=f"until revoked, or {_ACCOUNT}"),
    SenderIdentity: NoPersonalData("the tenant's own From addresses and domains (P35), not a list "
                                   "member's data; they go with the account. Per domain claimed, "
                                   "a version of its claims naming no account",
                                   retention=f"until removed, or {_ACCOUNT}; a domain's version "
                                             "goes with its last claim"),
    MailingList: NoPersonalData("list settings and consent texts", retention=f"until deleted, or {_ACCOUNT}"),
    Campaign: NoPersonalData("the tenant's templates and audience filters, never a recipient",
                             retention=f"until deleted, or {_ACCOUNT}"),
    CampaignStat: NoPersonalData("aggregated counters only (P14)", retention="with its campaign"),
    SendProgress: NoPersonalData("a campaign's sending progress: page and batch counts, ids only",
                                 retention="15 days, while SQS could redeliver a job"),
    AuditEntry: NoPersonalData("references only, never contact data (P27)", retention=_ACCOUNT),
    SendRateBucket: NoPersonalData("the platform's SES send-rate bucket",
                                   retention="while the platform runs"),
    AccountHealthDay: NoPersonalData("an account's daily mail counters (P26), aggregates only",
                                     retention="the health window (30 days) and a day"),
    ImportJob: NoPersonalData("an import's list and row counts", retention="30 days"),
    ImportChunk: NoPersonalData("a chunk's counts, row errors by line and column, and the lines it "
                                "set out to write; never cell values", retention="30 days"),
}


def export_person(person: Person) -> dict[str, list[dict[str, Any]]]:
    """Every exported section, by name: what the account holds about the person (P16)."""
    return {coverage.section: coverage.export(person) for coverage in COVERAGE.values()
            if not isinstance(coverage, NoPersonalData) and coverage.section and coverage.export}


def holds_personal_data(person: Person) -> bool:
    """Whether any table with personal data still holds the person (P20), a copy made for an
    earlier request included: keyed hashes that stay after erasure do not count — the system no
    longer recognises an erased person."""
    return any(coverage.export(person) if coverage.export else coverage.held(person)
               for coverage in COVERAGE.values()
               if isinstance(coverage, PersonalData) and (coverage.export or coverage.held))


def erase_everywhere(person: Person) -> dict[str, int]:
    """Delete the person from every table with personal data, and their keyed hashes from the
    tables that delete them; how many items each lost. Keyed hashes go first: some are found
    through the personal data (a receipt through its message record), and the receipts before
    the purge lists, whose eraser deletes the records as it goes. What several erasers need is
    read once, before any of them deletes (`Found`)."""
    found = Found.of(person)
    receipts_first = sorted(COVERAGE.items(), key=lambda entry: entry[0] is not FeedbackReceipt)
    keyed = {model.Meta.logical_name: coverage.erase(found) for model, coverage in receipts_first
             if isinstance(coverage, KeyedHashesOnly) and coverage.erase}
    return keyed | {model.Meta.logical_name: coverage.erase(found) for model, coverage in COVERAGE.items()
                    if isinstance(coverage, PersonalData)}


def suppress_person(person: Person, reason: SuppressionReason) -> int:
    """Suppress each of the person's keyed hashes in the account (emails and phones alike).
    Idempotent: an existing suppression keeps its first reason and time; erasure also flags it
    `erased`, which keeps the person's own signup from lifting it (store/suppressions.own_signup)."""
    at = now()
    for hashed in person.keyed_hashes(hash_key()):
        Suppression(scope=person.account_id, address_hash=hashed).update(actions=[
            Suppression.reason.set(Suppression.reason | reason.value),
            Suppression.created_at.set(Suppression.created_at | at),
            Suppression.reasons.add({reason.value}),
            *([Suppression.erased.set(True)] if reason is SuppressionReason.ERASED else []),
        ])
    return len(person.keyed_hashes(hash_key()))


def lift_person_restriction(person: Person) -> int:
    """Take the `restricted` reason off each of the person's keyed hashes in the account (P17):
    how many held it. A suppression with another reason stays (store/suppressions.lift_reason)."""
    return sum(suppressions.lift_reason(person.account_id, hashed, SuppressionReason.RESTRICTED)
               for hashed in sorted(person.keyed_hashes(hash_key())))
