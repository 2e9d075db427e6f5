"""CSV imports: the API queues the file in chunks, the import worker applies each chunk.

Re-importing the same file changes nothing: rows whose address is already live on the list are
counted as unchanged, suppressed addresses are skipped and counted (P12), and rows without consent
proof get a double opt-in mail, not campaign mail (P03). A chunk notes the rows it sets out to
write before writing them, so that its redelivery counts and mails those rows as its own.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.sqs import enqueue_many
from chalicelib.config import settings
from chalicelib.domain.accounts import AccountProfile
from chalicelib.domain.addresses import check_mail_domain
from chalicelib.domain.clock import now
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.health import sending_blocked_reason, takes_signups
from chalicelib.domain.imports import (
    ImportedPerson,
    ImportRow,
    chunks,
    clean_row,
    parse_csv,
    repeat_message,
)
from chalicelib.domain.lists import ConsentText, require_privacy_policy
from chalicelib.domain.subscriptions import Source, Status, evidence, pending_lifetime, pick_consent_version
from chalicelib.observability import logger
from chalicelib.resources import IMPORTS, OUTBOX
from chalicelib.services.signups import (
    address_limits,
    asks_tracking_consent,
    confirmation_job,
    confirmation_sender,
    refuse_account_signups,
)
from chalicelib.store import audit
from chalicelib.store import imports as import_store
from chalicelib.store import subscribers as subscriber_store
from chalicelib.store.accounts import get_account
from chalicelib.store.lists import consent_history, find_list, get_list, tracking_history
from chalicelib.store.models import ImportJob, MailingList, Subscriber
from chalicelib.store.rate_limits import consume_each
from chalicelib.store.suppressions import suppressed_among

CHUNK_JOB = "import_chunk"
# The report is one API answer, and a Lambda answers at most 6 MB: a 5 MB file of invalid rows
# has more errors than that holds. The first ones by line are listed (~150 KB at most).
MAX_REPORTED_ERRORS = 1000
# With TIDINGS_CHECK_EMAIL_DNS=1, the time a chunk may spend asking DNS whether its domains take
# mail: half the import worker's 60 s, the rest for writing. A lookup gets at most
# DNS_LOOKUP_SECONDS (email-validator's own default is 15).
DNS_BUDGET_SECONDS = 30.0
DNS_LOOKUP_SECONDS = 5.0


def start_import(account_id: str, actor: str, list_id: str, csv_text: str) -> ImportJob:
    """Check the file's columns, queue its rows in chunks and record the import. Forbidden while
    the account may not send (P26), Conflict while it is marked for deletion (P23): its rows
    without proof would wait for a confirmation mail that never comes. The import is recorded
    only once every chunk is queued: a file that cannot be queued leaves no import that never
    completes (a row too big for a queue message is PayloadTooLarge naming its column, before
    anything is queued)."""
    mailing_list = get_list(account_id, list_id)
    # P32: rows without complete proof are mailed a confirmation, which links the privacy policy.
    require_privacy_policy(mailing_list.privacy_policy_url)
    refuse_account_signups(get_account(account_id))
    parsed = parse_csv(csv_text, mailing_list.declared_attributes or ())
    if not parsed.rows:
        raise InvalidInput("the file has a header but no rows", field="body")
    pieces = chunks(parsed.rows)
    import_id = import_store.new_import_id()
    # Chunks queued before a failure are applied, and counted nowhere: the caller's retry imports
    # the file again, and its rows already on the list count as unchanged.
    enqueue_many(IMPORTS, [
        {"type": CHUNK_JOB, "account_id": mailing_list.account_id, "list_id": mailing_list.list_id,
         "import_id": import_id, "chunk": index,
         "rows": [row.queued() for row in piece]}
        for index, piece in enumerate(pieces)
    ])
    job = import_store.create_import(mailing_list.account_id, mailing_list.list_id, import_id,
                                     len(parsed.rows), len(pieces))
    logger.info("import queued", extra={"list_id": job.list_id, "import_id": job.import_id,
                                        "rows": job.total_rows, "chunks": job.total_chunks})
    audit.record(account_id, actor, "list.import_started", job.import_id)
    return job


def import_of(account_id: str, list_id: str, import_id: str) -> ImportJob:
    """One import of the account's list; NotFound for another account's list or import."""
    get_list(account_id, list_id)
    return import_store.get_import(account_id, list_id, import_id)


def apply_chunk(job: dict[str, Any], *, clock: Callable[[], float] = time.monotonic) -> None:
    """Import one chunk. Safe to repeat: rows already on the list are unchanged unless an earlier
    delivery of this chunk wrote them (then they count, and are mailed, as that delivery meant
    to), the mail ids are stable, and the chunk's outcome is stored once. With DNS checks, rows
    whose domain the chunk's DNS_BUDGET_SECONDS (by `clock`) leave unasked are invalid rows,
    to be imported again."""
    if job.get("type") != CHUNK_JOB:
        raise InvalidInput(f"unknown import job type {job.get('type')!r}", field="type")
    import_id, chunk = job["import_id"], int(job["chunk"])
    planned = import_store.chunk_plan(import_id, chunk)
    if planned is None:
        return
    mailing_list = find_list(job["list_id"])
    rows = [ImportRow.from_queued(item) for item in job["rows"]]
    outcome = import_store.ChunkOutcome()
    if mailing_list is None or mailing_list.account_id != job["account_id"]:
        outcome.errors = [(row.line, None, "the list was deleted during the import") for row in rows]
    elif sending_blocked_reason(account := get_account(job["account_id"])):
        # A suspended account adds no subscriber (P26), as its API refuses to: the rest of the
        # file is reported, not written half-way and left without its confirmation mails.
        outcome.errors = [(row.line, None, "the account was suspended during the import; import the "
                                           "rest again once the suspension is lifted") for row in rows]
    elif not takes_signups(account):  # marked for deletion meanwhile (P23), as its API refuses
        outcome.errors = [(row.line, None, "the account was marked for deletion during the import; "
                                           "import the rest again once it is reactivated") for row in rows]
    else:
        domains = MailDomains(clock) if settings().check_email_dns else None
        _import_rows(mailing_list, rows, outcome, ChunkPlan(import_id, chunk, planned), domains)
    import_store.record_chunk(job["account_id"], import_id, chunk, outcome)
    logger.info("import chunk applied", extra={
        "import_id": import_id, "chunk": chunk, "confirmed": outcome.confirmed,
        "pending": outcome.pending, "unchanged": outcome.unchanged,
        "suppressed": outcome.suppressed, "invalid": len(outcome.errors)})


@dataclass(frozen=True)
class ChunkPlan:
    """Which chunk is being applied, and the lines its earlier deliveries set out to write."""

    import_id: str
    chunk: int
    planned: set[int]


class MailDomains:
    """Whether each address's domain takes mail: asked of DNS once per domain, and only while the
    chunk's DNS_BUDGET_SECONDS last (500 lookups of up to 15 s ran past the worker's timeout and
    left the import "processing" for ever)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._deadline = clock() + DNS_BUDGET_SECONDS
        self._refusals: dict[str, InvalidInput | None] = {}

    def check(self, address: str) -> None:
        """InvalidInput naming `email` when the domain takes no mail, or was not asked in time."""
        domain = address.rpartition("@")[2]
        if domain not in self._refusals:
            left = self._deadline - self._clock()
            if left <= 0:
                raise InvalidInput("there was no time left in this part of the import to check that the "
                                   "address's domain takes mail; import this row again", field="email")
            try:
                check_mail_domain(address, timeout=min(DNS_LOOKUP_SECONDS, left))
                self._refusals[domain] = None
            except InvalidInput as refusal:
                self._refusals[domain] = refusal
        refusal = self._refusals[domain]
        if refusal is not None:
            raise refusal


def _import_rows(mailing_list: MailingList, rows: list[ImportRow], outcome: import_store.ChunkOutcome,
                 plan: ChunkPlan, domains: MailDomains | None) -> None:
    history = consent_history(mailing_list)
    versions = [version.version for version in history]
    people, lines = _people(mailing_list, rows, history, outcome, domains)
    # Without proof, only the import itself is known; the person proves consent by confirming (P03).
    unproven = evidence(now(), Source.IMPORT, pick_consent_version(versions, None),
                        ip=None, user_agent=None, form_url=None)
    suppressed = suppressed_among(mailing_list.account_id, people, mailing_list.list_id)
    live = {address: entry for (_, address), entry in subscriber_store.entries(
        (mailing_list.list_id, address) for address in set(people) - suppressed).items()}
    new_lines = {lines[address] for address in people if address not in suppressed | live.keys()}
    if new_lines - plan.planned:
        import_store.plan_chunk(plan.import_id, plan.chunk, new_lines)
    waits = pending_lifetime(mailing_list.pending_signup_days)  # P01: the list's own days
    senders: list[AccountProfile | None] = []  # read once, when the first mail is due
    mails: list[dict[str, Any]] = []
    # P01, P03: confirmed at once only with proof, and on a double opt-in list only with
    # complete proof; anyone else is recorded pending and gets the confirmation mail.
    statuses = {address: Status.CONFIRMED if person.confirmed_at_once(mailing_list.double_opt_in)
                else Status.PENDING for address, person in people.items() if address not in suppressed}
    mailed = {address for address, status in statuses.items() if status is Status.PENDING
              and _writes(live.get(address), status, lines[address] in plan.planned)}
    within = _within_address_limits(mailing_list, plan, lines, mailed)
    for address, person in people.items():
        if address in suppressed:
            outcome.suppressed += 1
            continue
        if address in mailed - within:
            outcome.rate_limited += 1  # reported, neither written nor mailed
            continue
        status, entry = statuses[address], live.get(address)
        if entry is None:
            written = subscriber_store.write_signup(mailing_list.account_id, mailing_list.list_id,
                                                    person.contact, person.proof or unproven, status,
                                                    tracking=person.tracking, pending_for=waits)
        elif _writes(entry, status, lines[address] in plan.planned):
            written = entry  # an earlier delivery of this chunk wrote it, and may not have mailed it
        else:
            written = None  # already on the list
        if written is None:
            outcome.unchanged += 1
        elif status is Status.CONFIRMED:
            outcome.confirmed += 1
        else:
            outcome.pending += 1
            senders = senders or [confirmation_sender(mailing_list.account_id)]
            if senders[0] is not None:  # None: the account was suspended meanwhile (P26)
                mails.append(confirmation_job(mailing_list, address, "import", senders[0],
                                              written.consent.given_at, written.tracking).to_dict())
    enqueue_many(OUTBOX, mails)


def _writes(entry: Subscriber | None, status: Status, planned: bool) -> bool:
    """Whether the row's entry is (or, redelivered, was) written by this chunk, and so mailed when
    pending: none on the list yet, or one an earlier delivery of the chunk wrote."""
    return entry is None or (planned and entry.status == status.value)


def _within_address_limits(mailing_list: MailingList, plan: ChunkPlan, lines: dict[str, int],
                           addresses: set[str]) -> set[str]:
    """The addresses whose confirmation mail the per-address limits allow, counted as the form's
    and the API's are (a tenant's import is not the person, P11), in few transactions and once
    a row however often the chunk is delivered."""
    attempts = {f"{plan.import_id}:{plan.chunk}:{lines[address]}": address for address in addresses}
    counted = consume_each({job: address_limits(mailing_list, address) for job, address in attempts.items()},
                           now())
    return {attempts[job] for job in counted}


def _people(mailing_list: MailingList, rows: list[ImportRow], history: list[ConsentText],
            outcome: import_store.ChunkOutcome,
            domains: MailDomains | None) -> tuple[dict[str, ImportedPerson], dict[str, int]]:
    """The chunk's valid rows by address, and each address's line; invalid rows and repeated
    addresses are errors in `outcome` (the first row of an address wins)."""
    declared = mailing_list.declared_attributes or ()
    tracking_versions = tracking_history(mailing_list) if asks_tracking_consent(mailing_list) else []
    people: dict[str, ImportedPerson] = {}
    lines: dict[str, int] = {}
    for row in rows:
        if row.repeats is not None:
            outcome.errors.append((row.line, "email", repeat_message(row.repeats)))
            continue
        try:
            person = clean_row(row.values, declared, history, tracking_versions=tracking_versions)
            if domains is not None:
                domains.check(person.contact.email)
        except InvalidInput as error:
            # Stored for the import's report: never the cell's value (it may be the address).
            outcome.errors.append((row.line, error.field, error.summary))
            continue
        if person.contact.email in people:
            # What the file's reading did not take for one address (its spellings differ).
            outcome.errors.append((row.line, "email", repeat_message(lines[person.contact.email])))
            continue
        people[person.contact.email] = person
        lines[person.contact.email] = row.line
    return people, lines


def import_report(job: ImportJob) -> dict[str, Any]:
    """Status and counts of an import, with its first MAX_REPORTED_ERRORS invalid rows by line
    number; `errors_omitted` counts the invalid rows not listed."""
    done, totals = import_store.chunk_totals(job)
    # Only as many chunks as hold the errors listed are read (an import may have thousands).
    kept = import_store.first_errors(job.import_id, min(totals["invalid"], MAX_REPORTED_ERRORS))
    errors = sorted(({"line": int(e.line), "field": e.field, "message": e.message} for e in kept),
                    key=lambda e: e["line"])[:MAX_REPORTED_ERRORS]
    return {
        "import_id": job.import_id,
        "list_id": job.list_id,
        "status": "completed" if done >= int(job.total_chunks) else "processing",
        "rows": int(job.total_rows),
        "chunks": {"total": int(job.total_chunks), "done": done},
        "counts": totals,
        "errors": errors,
        # Invalid rows beyond the listed ones (and beyond what each chunk keeps): never a silent cut.
        "errors_omitted": totals["invalid"] - len(errors),
        "created_at": job.created_at.isoformat(),
    }
