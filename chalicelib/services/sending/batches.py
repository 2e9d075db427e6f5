"""Sending one batch of a campaign: each recipient's own message, exactly once, at the SES rate.

Per batch: one read of the campaign, its account and the list (still sending? still allowed,
P26? still tracking, P15?) at each of its invocations, one reservation of its recipients' send
times in the campaign lane of the SES rate (store/send_rate.reserve), and batched suppression
reads as its recipients come due, the first of an invocation in the same call as the campaign's
when it fits (so a continuation costs no extra read, issue 4), which read their entries too (an
opt-out, a restriction or a tracking consent withdrawn since the fan-out counts, P07/P12/P17/P30;
services/sending/due_suppressions.py), each followed by one purge list filing the records it may
then write for the 30-day purge (P21). Per
recipient: a conditional put claims the deterministic message id and is the message record (a
redelivered batch or a person on two lists is mailed once), then one SES (or SNS) call. Per batch,
the mails sent are counted for the account's rates and the campaign's report, texts for the
report only, exactly once even when a count fails and the batch is redelivered
(services/sending/counting.py).

SES throttling is retried with backoff; if it persists the claim is released and the error
raised, so SQS redelivers the batch: nobody is lost, nobody mailed twice. On the job's last
attempt, a mail that still fails, and a recipient whose opt-outs still cannot be read (never
mailed unchecked), count as failed, so the campaign ends `failed` instead of staying `sending`;
the job is then reported failed all the same (step.GivenUp), so SQS moves it to the dead-letter
queue and its alarm tells the operator. When the Lambda's time runs short, or the next send time
is more than MAX_SEND_WAIT_SECONDS away, the unsent rest continues as a new job of the same
batch, with its reservation, delayed until its next send time: no Lambda is billed for waiting
on the rate. A continuation that arrives late sends at once.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from chalicelib.adapters import sns
from chalicelib.adapters.retries import error_name
from chalicelib.adapters.ses import send_raw_email
from chalicelib.adapters.sqs import enqueue
from chalicelib.config import hash_key, settings, signer
from chalicelib.domain.campaigns import CampaignContent, CampaignStatus, Channel
from chalicelib.domain.health import sending_blocked_reason
from chalicelib.domain.lists import TrackingConsent, tracking_consent_of
from chalicelib.domain.marketing_mail import compose_marketing_email
from chalicelib.domain.mime import build_mime
from chalicelib.domain.sending import (
    CAMPAIGN_KIND,
    MAX_SEND_WAIT_SECONDS,
    SMS_KIND,
    BatchJob,
    Reservation,
    campaign_message_id,
)
from chalicelib.domain.sms import compose_sms
from chalicelib.domain.subscriptions import Contact
from chalicelib.domain.suppression import address_hash, phone_hash
from chalicelib.observability import logger
from chalicelib.resources import CAMPAIGN_SEND
from chalicelib.services.sending.counting import SentCount
from chalicelib.services.sending.due_suppressions import DueSuppressions, first_due
from chalicelib.services.sending.sender_ownership import still_owns_sender
from chalicelib.services.sending.step import (
    SAFETY_SECONDS,
    GivenUp,
    Message,
    MessageFailed,
    SendingHeld,
    StepResult,
    count_unsent,
    send_message,
)
from chalicelib.store import audit, messages, send_rate
from chalicelib.store.accounts import profile_of
from chalicelib.store.campaigns import (
    campaign_content,
    end_completed,
    end_sending,
    failure_update,
    record_failures,
)
from chalicelib.store.models import Account, MailingList
from chalicelib.store.send_progress import finish_batch
from chalicelib.store.sending_state import CampaignState, DueRecipients, campaign_state, due_recipients
from chalicelib.store.sent_counts import CounterUpdate


@dataclass
class BatchOutcome:
    sent: int = 0
    duplicates: int = 0
    suppressed: int = 0
    failed: int = 0
    # Of those failed, the ones counted already, with their claims (step.MessageFailed.recorded).
    recorded: int = 0
    failure_reason: str | None = None
    # Of those failed, the ones given up on the job's last attempt (step.GivenUp).
    given_up: int = 0
    remaining: list[Contact] = field(default_factory=list)
    # What is left continues with the rest of the reservation, after this many seconds.
    reservation: Reservation | None = None
    delay_seconds: int = 0

    def hand_back(self, queue: list[Contact], position: int, reservation: Reservation | None,
                  delay_seconds: float) -> None:
        """Leave `queue[position:]` for a continuation, `delay_seconds` from now."""
        self.remaining = queue[position:]
        self.reservation = None if reservation is None else reservation.after(position)
        self.delay_seconds = max(0, math.ceil(delay_seconds))


def send_batch(job: BatchJob, time_left: Callable[[], float], last_attempt: bool = False) -> BatchOutcome:
    """Send one batch job. `time_left()` is the Lambda's remaining time in seconds; on the job's
    `last_attempt` (SQS dead-letters it next) a mail that still fails counts as failed, so the
    campaign ends `failed` with counts, never stuck or `sent`; then GivenUp is raised, so the
    job reaches the dead-letter queue and its alarm."""
    state = _batch_state(job)
    campaign, account, mailing_list = state.campaign, state.account, state.mailing_list
    context = {"campaign_id": job.campaign_id, "batch": job.batch_id}
    if campaign is None or account is None or campaign.status != CampaignStatus.SENDING.value:
        logger.info("batch of a campaign that is not sending dropped", extra=context)
        return BatchOutcome()
    blocked = sending_blocked_reason(account)
    if blocked:
        _cancel(job, "the account may not send", {**context, "reason": blocked})
        return BatchOutcome()
    content = campaign_content(campaign)
    # P35 at every batch, not only at the start: an identity the account gave up mid-send may be
    # another account's since, or SES may no longer verify it (SES itself sends as any identity
    # the platform's AWS account has verified).
    if content.channel is Channel.EMAIL and not still_owns_sender(
            job.account_id, content.from_address or account.sender_identity or ""):
        _cancel(job, "its sender identity is no longer the account's", context)
        return BatchOutcome()
    outcome = BatchOutcome()
    try:
        if content.channel is Channel.EMAIL:
            _email_batch(job, mailing_list, account, content, time_left, outcome, last_attempt,
                         state.first_read)
        else:
            _sms_batch(job, account, content, time_left, outcome, last_attempt)
    finally:
        # Failures are on record before the batch can count as finished (end_completed).
        record_failures(job.account_id, job.campaign_id, outcome.failed - outcome.recorded,
                        outcome.failure_reason or "")
    logger.info("campaign batch sent", extra={
        **context, "sent": outcome.sent, "duplicates": outcome.duplicates, "suppressed": outcome.suppressed,
        "failed": outcome.failed, "continued": len(outcome.remaining)})
    if outcome.remaining:
        continuation = replace(job, recipients=outcome.remaining, reservation=outcome.reservation,
                               continued=True)
        enqueue(CAMPAIGN_SEND, continuation.to_dict(), delay_seconds=outcome.delay_seconds)
    elif finish_batch(job.campaign_id, job.mailing_list.list_id, job.page, job.index):
        ended = end_completed(job.account_id, job.campaign_id)
        logger.info("campaign ended", extra={"campaign_id": job.campaign_id,
                                             "status": ended.value if ended else None})
    if outcome.given_up:
        logger.warning("campaign batch given up on its last attempt: its job goes to the dead-letter queue",
                       extra={**context, "given_up": outcome.given_up})
        raise GivenUp(f"{outcome.given_up} mails given up on the last attempt")
    return outcome


def _batch_state(job: BatchJob) -> CampaignState:
    """The campaign, its account and its list as stored now, read with the recipients due first
    (due_suppressions.first_due) in one call. Should that read fail, they are read alone, and the
    recipients when due: one that cannot be read there on the job's last attempt counts as failed
    (_send_each) rather than the job being dead-lettered with its campaign still `sending`."""
    ahead = job.recipients[:first_due(len(job.recipients), job.reservation)]
    if not ahead:
        return campaign_state(job.account_id, job.campaign_id, job.mailing_list.list_id)
    try:
        return campaign_state(job.account_id, job.campaign_id, job.mailing_list.list_id,
                           [address_hash(contact.email, hash_key()) for contact in ahead],
                           [contact.email for contact in ahead])
    except Exception:
        logger.warning("batch read with its first recipients failed: read alone", extra={
            "campaign_id": job.campaign_id, "batch": job.batch_id})
        return campaign_state(job.account_id, job.campaign_id, job.mailing_list.list_id)


def _cancel(job: BatchJob, why: str, context: dict[str, str]) -> None:
    if end_sending(job.account_id, job.campaign_id, CampaignStatus.CANCELLED):
        audit.record(job.account_id, "campaign-sender", "campaign.cancelled", job.campaign_id)
        logger.warning(f"campaign cancelled: {why}", extra=context)


def _failure_of(job: BatchJob) -> Callable[[str], CounterUpdate]:
    """How one of the batch's mails that failed for good counts on its campaign (step.Message)."""
    return lambda reason: failure_update(job.account_id, job.campaign_id, 1, reason)


def _email_batch(job: BatchJob, mailing_list: MailingList | None, account: Account,
                 content: CampaignContent, time_left: Callable[[], float], outcome: BatchOutcome,
                 last_attempt: bool, first_read: tuple[int, DueRecipients] | None) -> None:
    """`mailing_list` as stored now (None: deleted): its tracking switches rule, not those the
    fan-out saw (P15). `first_read`: (n, the due read of the first n recipients), made with it."""
    queue = job.recipients
    hashes = {contact.email: address_hash(contact.email, hash_key()) for contact in queue}
    profile, config, links = profile_of(account), settings(), signer()
    count = SentCount(job.batch_id)
    # Each recipient's purge list, filed as their chunk is cleared: their record names it (P18).
    purge_lists: dict[str, str | None] = {}
    tags = {"account": job.account_id, "kind": CAMPAIGN_KIND, "campaign": job.campaign_id,
            "list": job.mailing_list.list_id}

    listed = replace(job.mailing_list, track_opens=bool(mailing_list and mailing_list.track_opens),
                     track_clicks=bool(mailing_list and mailing_list.track_clicks))
    tracks = listed.track_opens or listed.track_clicks

    def trackable(contact: Contact) -> bool:
        """Trackable when the fan-out found them so (P30) and no read since found otherwise."""
        return (tracks and contact.email in job.trackable
                and check.still_trackable(hashes[contact.email]))

    def message(contact: Contact) -> Message:
        def build() -> bytes:
            return build_mime(compose_marketing_email(
                signer=links, account_id=job.account_id, campaign_id=job.campaign_id, content=content,
                recipient=contact, mailing_list=listed, sender=profile,
                public_base_url=config.public_base_url, tracking_base_url=config.tracking_base_url,
                trackable=trackable(contact)))

        recipient_hash = hashes[contact.email]
        message_id = campaign_message_id(job.campaign_id, recipient_hash)
        # The message id comes back in SES's feedback, which counts only for a mail sent here.
        mail_tags = {**tags, "message": message_id}
        return Message(recipient_hash, message_id, job.account_id, CAMPAIGN_KIND, build,
                       lambda raw: send_raw_email(raw, contact.email, mail_tags),
                       job.campaign_id, job.mailing_list.list_id, count.batch_id, _failure_of(job),
                       purge_lists.get(recipient_hash))

    reservation = job.reservation or (send_rate.reserve_campaign_sends(len(queue)) if queue else None)
    required = bool(mailing_list) and tracking_consent_of(
        mailing_list.tracking_consent) is TrackingConsent.REQUIRED
    check = DueSuppressions(job.account_id, job.mailing_list.list_id,
                            [hashes[contact.email] for contact in queue],
                            [contact.email for contact in queue], reservation,
                            cleared=lambda chunk: purge_lists.update(dict.fromkeys(chunk, (
                                messages.list_campaign_for_purge(job.account_id, job.campaign_id, chunk)))),
                            tracking_required=required, first_read=first_read)
    try:
        _send_each(queue, message, time_left, outcome, last_attempt, count, reservation,
                   trackable=trackable, suppressed=check.suppressed)
    finally:
        # What was sent counts even when sending stops with an error: its claims stay taken.
        count.count()


def _sms_batch(job: BatchJob, account: Account, content: CampaignContent,
               time_left: Callable[[], float], outcome: BatchOutcome, last_attempt: bool) -> None:
    key, links = hash_key(), signer()
    phones = {contact.phone or "": phone_hash(contact.phone or "", key) for contact in job.recipients}
    emails = {contact.email: address_hash(contact.email, key) for contact in job.recipients}
    skipped: set[int] | None = None
    purge_lists: dict[str, str | None] = {}  # each number's purge list, for its record (P18)

    def is_skipped(position: int) -> bool:
        """Read once, before the first text: a number suppressed here (a STOP reply, an erasure)
        or an address unsubscribed from the account (either way the person said no), an entry
        restricted or gone since the fan-out (P17), or a number SNS holds opted out; then file
        the others for the purge (P21)."""
        nonlocal skipped
        if skipped is None:
            due = due_recipients(job.account_id, job.mailing_list.list_id,
                                 [*phones.values(), *emails.values()], list(emails))
            opted_out = sns.opted_out_numbers()
            skipped = {index for index, contact in enumerate(job.recipients)
                       if {phones[contact.phone or ""], emails[contact.email]} & due.suppressed
                       or contact.phone in opted_out
                       or not due.still_mailable(contact.email)}
            # A continuation files its own: someone skipped before and texted now is listed too.
            texted = [phones[contact.phone or ""] for index, contact in enumerate(job.recipients)
                      if index not in skipped]
            purge_lists.update(dict.fromkeys(texted, messages.list_campaign_for_purge(
                job.account_id, job.campaign_id, texted)))
        return position in skipped

    count = SentCount(job.batch_id)

    def message(contact: Contact) -> Message:
        phone = contact.phone or ""

        def build() -> str:
            return compose_sms(signer=links, account_id=job.account_id, campaign_id=job.campaign_id,
                               content=content, recipient=contact, list_id=job.mailing_list.list_id,
                               list_name=job.mailing_list.name, account_name=account.name,
                               public_base_url=settings().public_base_url,
                               language=job.mailing_list.language)

        return Message(phones[phone], campaign_message_id(job.campaign_id, phones[phone]), job.account_id,
                       SMS_KIND, build, lambda text: sns.send_sms(phone, text, sns.PROMOTIONAL),
                       job.campaign_id, job.mailing_list.list_id, count.batch_id, _failure_of(job),
                       purge_lists.get(phones[phone]))

    try:
        # SNS keeps its own rate: no SES send times for SMS.
        _send_each(job.recipients, message, time_left, outcome, last_attempt, count, suppressed=is_skipped)
    finally:
        # The report counts texts as it counts mails (P13); texts stay out of the email rates.
        count.count()


def _send_each(queue: list[Contact], message: Callable[[Contact], Message], time_left: Callable[[], float],
               outcome: BatchOutcome, last_attempt: bool, count: SentCount,
               reservation: Reservation | None = None,
               trackable: Callable[[Contact], bool] = lambda contact: False,
               suppressed: Callable[[int], bool] = lambda position: False) -> None:
    """The send step for each recipient in turn, each at its reserved send time (if any); the
    rest is handed back when the Lambda's time runs short or the next send time is further away
    than a few milliseconds, or SES takes no mail for now (SendingHeld, its delay later). A
    recipient `suppressed` by the time it is due is skipped; when that read fails on the
    `last_attempt`, the rest count as failed. A mail that fails for good counts as failed
    (MessageFailed); what is sent, or found sent by an earlier delivery, goes to `count`."""
    for position, contact in enumerate(queue):
        if time_left() < SAFETY_SECONDS:
            outcome.hand_back(queue, position, reservation, 0)
            return
        if reservation is not None:
            wait = reservation.slot(position) - time.time()
            if wait > MAX_SEND_WAIT_SECONDS:
                outcome.hand_back(queue, position, reservation, wait)
                return
            if wait > 0:
                time.sleep(wait)
        try:
            skip = suppressed(position)
        except Exception as error:
            if not last_attempt:
                raise
            _fail_unchecked(outcome, [(message(rest), trackable(rest)) for rest in queue[position:]],
                            count, error)
            return
        mail = message(contact)
        if skip:
            outcome.suppressed += 1
            # An earlier delivery of this job may have mailed them before they opted out, and
            # failed to count it: that mail still counts, once (P13; a read, for the rare
            # recipient suppressed since the fan-out).
            count.duplicate(mail, trackable(contact))
            continue
        try:
            result = send_message(mail, None, last_attempt=last_attempt)
        except SendingHeld as held:
            # Not sent and not failed: the rest waits for SES to take mail again, sending times
            # reserved anew then.
            logger.warning(f"{held.why}: the batch waits",
                           extra={"recipients": len(queue) - position, "delay_seconds": held.delay_seconds})
            outcome.hand_back(queue, position, None, held.delay_seconds)
            return
        except MessageFailed as failure:
            outcome.failed += 1
            outcome.recorded += failure.recorded
            outcome.given_up += failure.given_up
            outcome.failure_reason = outcome.failure_reason or failure.reason
            logger.warning("campaign mail failed", extra={"reason": failure.reason})
            continue
        if result is StepResult.DUPLICATE:
            outcome.duplicates += 1
            # Mailed by an earlier delivery of this batch (whose count may have failed) or
            # through another list (counted there).
            count.duplicate(mail, trackable(contact))
        else:
            outcome.sent += 1
            count.sent((mail.account_id, mail.kind, mail.campaign_id or ""),
                       (mail.recipient_hash, mail.message_id), trackable(contact),
                       taken_back=result is StepResult.SENT_AFTER_FAILURE)


def _fail_unchecked(outcome: BatchOutcome, unchecked: list[tuple[Message, bool]], count: SentCount,
                    error: Exception) -> None:
    """On the job's last attempt, the `unchecked` mails (each with whether it is trackable), whose
    recipients' opt-outs could not be read (or their records filed for the purge): none is sent
    unchecked (P12). One an earlier delivery of this job sent counts as sent, once (P13), and one
    it counted as failed is not counted again; the others count as failed, each with an unsent
    record (step.count_unsent) so that a redrive that mails them takes the failure back (P13), and
    the campaign ends `failed` with the reason instead of staying `sending` once SQS dead-letters
    the job. When the message records cannot be read or written either, the rest count as failed
    (with no unsent record)."""
    code = error_name(error)
    reason = f"the recipients could not be checked for opt-outs until the last attempt ({code})"
    failed = recorded = checked = 0
    try:
        for mail, trackable in unchecked:
            if not count.duplicate(mail, trackable):
                recorded += count_unsent(mail, reason)
            checked += 1
    except Exception:  # the records are unreadable too: the unverified rest counts as failed
        failed += len(unchecked) - checked
    if failed + recorded:
        outcome.failed += failed + recorded
        outcome.recorded += recorded
        outcome.given_up += failed + recorded
        outcome.failure_reason = outcome.failure_reason or reason
        logger.warning("campaign recipients not checked for opt-outs: counted as failed",
                       extra={"recipients": failed + recorded, "reason": code})
