"""The one send step every message goes through: transactional and system mail from the outbox,
and each recipient of an email or SMS campaign batch.

claim → build → take a rate token → send with back-off; the claim is released when anything
after it fails, so the redelivered job sends the message, and sends it once. The claim is a
conditional write on the message's fixed id (store/messages.claim), which is also the message
record: a redelivered job or a person on two lists is mailed once.

A message that fails for good keeps its claim, and its failure is counted where it is decided,
in one transaction with the claim (store/sent_counts.count_failed): a redelivery finds it
counted, never as sent, never lost. One send, back-off included, takes at most
LONGEST_SEND_SECONDS: a sender starts none it may not finish before its Lambda's timeout
(SAFETY_SECONDS).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from chalicelib.adapters.retries import (
    error_code,
    error_name,
    is_daily_quota,
    is_refusal,
    is_sending_paused,
    longest_backoff,
    with_backoff,
)
from chalicelib.clients import PROVIDER_CALL_SECONDS
from chalicelib.services.sending.rate_tokens import RateTokens
from chalicelib.store import messages
from chalicelib.store.models import MessageRecord
from chalicelib.store.sent_counts import CounterUpdate, count_failed

# The provider's call with with_backoff's every attempt and wait (SES and SNS clients are bounded).
LONGEST_SEND_SECONDS = longest_backoff(PROVIDER_CALL_SECONDS)
# A sender starts no mail with less than this left before its Lambda's timeout: a mail started
# is finished (its claim, its build, one whole send with its back-off), and so is the count and
# hand-back after it. A sender killed mid-send would leave a mail that may not have gone
# (services/sending/counting.py counts a campaign's as failed).
SAFETY_SECONDS = LONGEST_SEND_SECONDS + 2.5
# How long a mail waits when SES's 24-hour quota is used up before it is tried again (SES's
# advice: up to 10 minutes; SQS delays a message at most 15).
QUOTA_WAIT_SECONDS = 600
# How long a mail waits while SES's sending is paused: a person lifts a pause, in hours or days,
# so as long as SQS can delay a message.
PAUSE_WAIT_SECONDS = 900


class StepResult(Enum):
    SENT = "sent"
    # Sent over an unsent record (a redrive): its failure, counted before, is taken back with
    # its count (services/sending/counting.py).
    SENT_AFTER_FAILURE = "sent_after_failure"
    # The id was claimed before: already sent, or being sent by another invocation.
    DUPLICATE = "duplicate"
    # No send token came in time: nothing was sent, the claim is released.
    NO_TOKEN = "no_token"


class SendingHeld(Exception):
    """SES takes no mail for now: its 24-hour sending quota is used up
    (adapters/retries.is_daily_quota), or its sending is paused (is_sending_paused). Nothing was
    sent and the claim is released. The mail is not a failure: it goes again `delay_seconds`
    later, however long that lasts, on the job's last attempt too (the caller queues it anew)."""

    def __init__(self, why: str, delay_seconds: int) -> None:
        super().__init__(why)
        self.why = why
        self.delay_seconds = delay_seconds


class MessageFailed(Exception):
    """The message cannot be built, or SES refused it for good (or, on the job's last attempt,
    kept failing): no retry can help. Its claim stays taken, so a redelivered job neither sends
    nor counts it again. `recorded`: its failure is counted already (the message's
    `failure_update`, with its claim); else the caller records it where the account can see it.
    `given_up`: it kept failing until the job's last attempt, with an error a later attempt might
    have cured: lost work the operator must hear of (GivenUp), not only the account."""

    def __init__(self, reason: str, recorded: bool = False, given_up: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.recorded = recorded
        self.given_up = given_up


class GivenUp(Exception):
    """A job's last attempt gave up work that a later attempt might have done, its failure on
    record (the campaign ends failed; an outbox mail counts on its account's health). Raised so
    the worker reports the record failed and SQS moves the job to its dead-letter queue, whose
    alarm tells the operator, as it does for any job that keeps failing; acknowledged, it would
    be lost work nobody but the account heard of.
    Redriven, a job mails nobody twice: a mail sent or failed keeps its claim, a given-up page its
    stored plan (no batches). Recipients whose opt-outs could not be read hold an unsent record
    instead (count_unsent): a redrive while the campaign still sends checks them, mails them once
    and takes their failure back; after the campaign ended, a redrive mails nobody."""


@dataclass(frozen=True)
class Message:
    """One message to one recipient: who (keyed hash), its fixed id and what it belongs to, how
    to build it (called once it is claimed) and how to hand what was built to the provider."""

    recipient_hash: str
    message_id: str
    account_id: str
    kind: str
    build: Callable[[], Any]
    deliver: Callable[[Any], object]
    campaign_id: str | None = None
    list_id: str | None = None
    # The sender invocation that counts it once sent (services/sending/counting.py).
    count_batch: str | None = None
    # Where its failure counts (a reason → a counter update): with its claim, exactly once.
    failure_update: Callable[[str], CounterUpdate] | None = None
    # The purge list that names it (store/messages.purge_list_key), for its record to name.
    purge_list: str | None = None


def send_message(message: Message, tokens: RateTokens | None, *, last_attempt: bool = False) -> StepResult:
    """Send `message` once; `tokens` is the shared SES rate (None: the provider has its own).

    MessageFailed when the message cannot be built or the provider refuses it for good, and, on
    the job's `last_attempt` (SQS would dead-letter it next), for any error: never a silent loss.
    SendingHeld, the claim released, while SES's daily quota is used up or its sending is
    paused. Any other error
    releases the claim and is raised, so the redelivered job tries again.
    """
    claimed = messages.claim(message.recipient_hash, message.message_id, message.account_id, message.kind,
                             campaign_id=message.campaign_id, list_id=message.list_id,
                             count_batch=message.count_batch, purge_list=message.purge_list)
    if claimed is None:
        return StepResult.DUPLICATE
    counted = claimed is messages.Claimed.AFTER_FAILURE
    try:
        built = message.build()
    except Exception as error:
        # The same content builds the same way every time: retrying cannot help. The type
        # only: a message could name the recipient's data.
        raise _failed(message, f"the mail could not be built ({type(error).__name__})",
                      counted=counted) from error
    try:
        if tokens is not None and not tokens.take():
            _release(message, counted)
            return StepResult.NO_TOKEN
        with_backoff(lambda: message.deliver(built))
    except Exception as error:
        if is_daily_quota(error) or is_sending_paused(error):
            _release(message, counted)
            raise (SendingHeld("SES's daily quota is used up", QUOTA_WAIT_SECONDS) if is_daily_quota(error)
                   else SendingHeld("SES's sending is paused", PAUSE_WAIT_SECONDS)) from error
        if is_refusal(error):
            raise _failed(message, f"the provider refused the mail ({error_code(error)})",
                          counted=counted) from error
        if last_attempt:
            raise _failed(message, f"sending kept failing until the last attempt "
                                   f"({error_name(error)})", given_up=True, counted=counted) from error
        _release(message, counted)
        raise
    return StepResult.SENT_AFTER_FAILURE if counted else StepResult.SENT


def count_unsent(message: Message, reason: str) -> bool:
    """Count `message`, never sent, as failed, with an unsent record in its place: a redrive
    that sends it takes the failure back, once. False (nothing counted) when it is claimed."""
    counters = [message.failure_update(reason)] if message.failure_update else []
    return messages.mark_unsent(_unsent(message), counters)


def _unsent(message: Message) -> MessageRecord:
    return messages.unsent_record(message.recipient_hash, message.message_id, message.account_id,
                                  message.kind, message.campaign_id, message.list_id)


def _release(message: Message, counted: bool) -> None:
    """Undo a claim; one taken over an unsent record puts that record back, its failure still
    counted."""
    if counted:
        _unsent(message).save()
    else:
        messages.release(message.recipient_hash, message.message_id)


def _failed(message: Message, reason: str, given_up: bool = False, counted: bool = False) -> MessageFailed:
    """The failure of a message whose claim stays taken; the claim no longer names a count batch,
    so a redelivery never counts it as sent, and its failure is counted in the same transaction
    (one, for a failed mail only; none when `counted` before, its claim taken over an unsent
    record). When that write fails the claim is released and the error raised: the redelivered
    job tries the mail again, and counts its failure then."""
    if message.count_batch is None:
        return MessageFailed(reason, given_up=given_up)
    counters = [message.failure_update(reason)] if message.failure_update and not counted else []
    try:
        count_failed(message.recipient_hash, message.message_id, message.count_batch, counters)
    except Exception:
        _release(message, counted)
        raise
    return MessageFailed(reason, recorded=bool(counters) or counted, given_up=given_up)
