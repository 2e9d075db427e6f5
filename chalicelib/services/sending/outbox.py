"""The outbox step: one queued email (transactional, test, confirmation and system mail) through
the send step, and the batch's sent mail counted once per account and campaign instead of once
per mail, exactly once across redeliveries (services/sending/counting.py). A test or
transactional mail whose recipient was suppressed after it was queued is not sent (P11, P12), nor a
confirmation whose signup no longer waits for it (erased, P18; restricted, P17; refused, P12), nor
the platform's own mail where it bounced hard or drew a complaint (P11). Nor is an account's mail
once the account may not send (P26) or no longer owns the identity it was queued From (P35): it
counts as failed on the account's health. A confirmation mail goes From the platform's own sender
instead, as it would have had the identity been gone when it was queued; it does not go at all
once the account takes no signups (marked for deletion, P23: its link would be refused), as
none would have been queued then (services/signups.send_confirmation), and it is no failure.

When the outbox lane has no SES token for a mail, the job goes back to the queue delayed until
one should be free: the Lambda does not sleep for it (it is billed while it sleeps), and the job
does not fail (a failure would count towards its dead-letter limit). So does a mail SES took
none of for now (its daily quota used up, or its sending paused: step.SendingHeld), and a job the worker has
too little time left for (SAFETY_SECONDS): a worker killed mid-send would leave a mail whose
redelivery finds it claimed and takes it as sent, though it may not have gone."""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from email.utils import parseaddr

from chalicelib.adapters.ses import send_raw_email
from chalicelib.adapters.sqs import enqueue
from chalicelib.config import hash_key, settings
from chalicelib.domain.clock import now
from chalicelib.domain.errors import NotFound
from chalicelib.domain.health import HealthPolicy, counts_for_account, sending_blocked_reason, takes_signups
from chalicelib.domain.mime import build_mime
from chalicelib.domain.outbox import CONFIRMATION_KIND, EmailJob, job_from_dict
from chalicelib.domain.privacy import subject_from_text
from chalicelib.domain.sending import blocking_suppression, checks_suppressions
from chalicelib.observability import logger
from chalicelib.resources import OUTBOX
from chalicelib.services.sending.counting import SentCount
from chalicelib.services.sending.rate_tokens import RateTokens
from chalicelib.services.sending.sender_ownership import still_owns_sender
from chalicelib.services.sending.step import (
    SAFETY_SECONDS,
    GivenUp,
    Message,
    MessageFailed,
    SendingHeld,
    StepResult,
    send_message,
)
from chalicelib.store import messages
from chalicelib.store.accounts import get_account
from chalicelib.store.health import count_failure, failure_update
from chalicelib.store.sending_state import confirmation_may_go
from chalicelib.store.suppressions import refuses_platform_mail, suppression_reasons

# Outbox message ids are one a job: any claim found taken is this job's, from an earlier delivery.
OUTBOX_JOBS = "outbox"
_ACCOUNT_GONE = "the account is gone"
_TAKES_NO_SIGNUPS = "the account takes no signups"
# Mail dropped for a reason that is not a failure of the account's sending: nothing is counted.
_NOT_FAILURES = (_ACCOUNT_GONE, _TAKES_NO_SIGNUPS)


def outbox_count() -> SentCount:
    """What one send worker invocation counts."""
    return SentCount(OUTBOX_JOBS)


def send_outbox_job(body: str, tokens: RateTokens | None = None, count: SentCount | None = None,
                    last_attempt: bool = False, time_left: Callable[[], float] | None = None) -> None:
    """Send one queued email (an SQS message body), within the outbox lane of the SES rate
    (`tokens`: the batch's, else one is taken for this mail), and add it to the batch's `count`
    (else it is counted at once). Without a token, the job is queued again, delayed until
    one should be free; with less than SAFETY_SECONDS of the invocation's `time_left`, at once.
    Raising marks just this record failed; SQS redelivers it. A mail that cannot be built or sent
    (MessageFailed) is counted as failed on the account's health (GET /v1/account/health), never
    lost without a word, and acknowledged; but one SES kept failing with an error a later attempt
    might have cured until the job's `last_attempt` raises step.GivenUp, so SQS moves the job to
    its dead-letter queue, whose alarm tells the operator. Redriven, it sends nothing and counts
    nothing more: the mail keeps its claim, its failure counted with it."""
    queued = json.loads(body)
    job = job_from_dict(queued)
    if time_left is not None and time_left() < SAFETY_SECONDS:
        enqueue(OUTBOX, queued)
        logger.info("email queued again: too little time left to send it",
                    extra={"message_id": job.message_id})
        return
    if _refused_since_queued(job):
        logger.info("email not sent: its recipient is suppressed, or no longer waits for it",
                    extra={"message_id": job.message_id, "kind": job.kind})
        return
    job, refused = _as_sendable_now(job)
    recipient_hash = subject_from_text(job.email.recipient).keyed_hash(hash_key())
    if refused:
        # Not a failure of the account's sending: its account was deleted (P22, P23), or takes no
        # signups for a confirmation. A mail holding its claim was sent, or counted failed with
        # it, by an earlier delivery: a job redriven after GivenUp.
        if refused not in _NOT_FAILURES and messages.claim_of(recipient_hash, job.message_id) is None:
            count_failure(*_failure_args(job, refused))
        logger.warning("email not sent", extra={"message_id": job.message_id, "kind": job.kind,
                                                "reason": refused})
        return
    purge_list = messages.list_for_purge(job.account_id, {job.message_id: recipient_hash})
    # The message id travels back in SES's feedback: a bounce or complaint counts only when it
    # names a message this deployment sent (services/feedback.py).
    tags = {"account": job.account_id, "kind": job.kind, **job.tags, "message": job.message_id}
    batch = count or outbox_count()
    message = Message(recipient_hash, job.message_id, job.account_id, job.kind,
                      build=lambda: build_mime(job.email),
                      deliver=lambda raw: send_raw_email(raw, job.email.recipient, tags),
                      campaign_id=job.tags.get("campaign"), list_id=job.tags.get("list"),
                      count_batch=batch.batch_for(job.kind),
                      failure_update=lambda reason: failure_update(*_failure_args(job, reason)),
                      purge_list=purge_list)
    tokens = tokens or RateTokens(1)
    try:
        result = send_message(message, tokens, last_attempt=last_attempt)
    except SendingHeld as held:
        enqueue(OUTBOX, queued, delay_seconds=held.delay_seconds)
        logger.warning(f"email queued again: {held.why}",
                       extra={"message_id": job.message_id, "delay_seconds": held.delay_seconds})
        return
    except MessageFailed as failure:
        if not failure.recorded:  # else counted with its claim, once across redeliveries
            count_failure(*_failure_args(job, failure.reason))
        logger.warning("email failed", extra={"message_id": job.message_id, "kind": job.kind,
                                              "reason": failure.reason})
        if failure.given_up:  # lost work: on to the dead-letter queue and its alarm
            raise GivenUp(failure.reason) from failure
        return
    if result is StepResult.DUPLICATE:
        if message.count_batch:  # sent by an earlier delivery, whose count may have failed
            batch.duplicate(message)
        logger.info("duplicate outbox job skipped", extra={"message_id": job.message_id})
    elif result is StepResult.NO_TOKEN:
        delay = max(1, math.ceil(tokens.retry_after))
        enqueue(OUTBOX, queued, delay_seconds=delay)
        logger.info("email queued again for the send rate", extra={"message_id": job.message_id,
                                                                    "delay_seconds": delay})
    else:
        batch.sent((job.account_id, job.kind, job.tags.get("campaign", "")), (recipient_hash, job.message_id))
        logger.info("email sent", extra={"message_id": job.message_id, "kind": job.kind})
    if count is None:
        batch.count()


def _refused_since_queued(job: EmailJob) -> bool:
    """Whether what forbids this kind of mail now holds for its recipient: a suppression that
    forbids a test or a transactional message, which may have landed after the request was
    checked (P11, P12); for a confirmation, the signup it confirms no longer waiting for it (the
    person erased, P18, their processing restricted, P17, or refused since, P12). The platform's
    own mail is never sent where it bounced hard or drew a complaint (P11)."""
    kind, recipient = job.kind, job.email.recipient
    if not counts_for_account(kind):
        return refuses_platform_mail(recipient)
    if kind == CONFIRMATION_KIND:
        return not confirmation_may_go(job.account_id, job.tags.get("list", ""), recipient)
    return checks_suppressions(kind) and blocking_suppression(
        kind, suppression_reasons(job.account_id, recipient)) is not None


def _failure_args(job: EmailJob, reason: str) -> tuple[str, date, str, HealthPolicy]:
    """A failed mail of the account as its health counts it: today, described without contact data."""
    return job.account_id, now().date(), f"{job.kind} {job.message_id}: {reason}", settings().health


def _as_sendable_now(job: EmailJob) -> tuple[EmailJob, str | None]:
    """The job as it may be sent now, or why the account's mail may not go any more: the account
    may not send (P26), a confirmation's account takes no signups (P23, domain/health.takes_signups),
    or the identity it was queued From is no longer the account's (P35)."""
    if not counts_for_account(job.kind):
        return job, None
    try:
        account = get_account(job.account_id)
    except NotFound:
        return job, _ACCOUNT_GONE
    blocked = sending_blocked_reason(account)
    if blocked:
        return job, blocked
    if job.kind == CONFIRMATION_KIND and not takes_signups(account):
        return job, _TAKES_NO_SIGNUPS
    default_sender = settings().default_sender
    address = parseaddr(job.email.sender)[1].lower()
    if address == parseaddr(default_sender)[1].lower() or still_owns_sender(job.account_id, address):
        return job, None
    if job.kind == CONFIRMATION_KIND:  # as services/signups.confirmation_sender would now choose
        return replace(job, email=replace(job.email, sender=default_sender)), None
    return job, "its sender identity is no longer the account's (P35)"
