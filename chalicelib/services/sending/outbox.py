"""The outbox step: one queued email (transactional, test, confirmation and system mail) through
the send step, and the batch's sent mail counted once per account and campaign
(services/sending/counting.py) instead of once per mail."""
from __future__ import annotations

import json
from collections import Counter

from chalicelib.adapters.ses import send_raw_email
from chalicelib.config import hash_key, settings
from chalicelib.domain.clock import now
from chalicelib.domain.mime import build_mime
from chalicelib.domain.outbox import job_from_dict
from chalicelib.domain.privacy import subject_from_text
from chalicelib.observability import logger, metrics
from chalicelib.services.sending.counting import count_sent_mail
from chalicelib.services.sending.rate_tokens import RateTokens
from chalicelib.services.sending.step import Message, MessageFailed, StepResult, send_message
from chalicelib.store import messages
from chalicelib.store.health import count_failure


class RateExhausted(Exception):
    """No SES send token came in time: the job goes back to the queue."""


# (account id, mail kind, campaign id or "") → mails sent in one batch.
SentTally = Counter[tuple[str, str, str]]


def send_outbox_job(body: str, tokens: RateTokens | None = None, sent: SentTally | None = None,
                    last_attempt: bool = False) -> None:
    """Send one queued email (an SQS message body), within the shared SES rate (`tokens`: the
    batch's, else one is taken for this mail), and add it to the batch's `sent` tally (else it
    is counted at once). Raising marks just this record failed; SQS redelivers it. A mail that
    cannot be built or sent (MessageFailed) is acknowledged and counted as failed on the
    account's health (GET /v1/account/health), never lost without a word."""
    job = job_from_dict(json.loads(body))
    recipient_hash = subject_from_text(job.email.recipient).keyed_hash(hash_key())
    messages.list_for_purge(job.account_id, {job.message_id: recipient_hash})
    # The message id travels back in SES's feedback: a bounce or complaint counts only when it
    # names a message this deployment sent (services/feedback.py).
    tags = {"account": job.account_id, "kind": job.kind, **job.tags, "message": job.message_id}
    message = Message(recipient_hash, job.message_id, job.account_id, job.kind,
                      build=lambda: build_mime(job.email),
                      deliver=lambda raw: send_raw_email(raw, job.email.recipient, tags),
                      campaign_id=job.tags.get("campaign"), list_id=job.tags.get("list"))
    try:
        result = send_message(message, tokens or RateTokens(1), last_attempt=last_attempt)
    except MessageFailed as failure:
        count_failure(job.account_id, now().date(), f"{job.kind} {job.message_id}: {failure.reason}",
                      settings().health)
        metrics.add_metric(name="EmailFailed", unit="Count", value=1)
        logger.warning("email failed", extra={"message_id": job.message_id, "kind": job.kind,
                                              "reason": failure.reason})
        return
    if result is StepResult.DUPLICATE:
        logger.info("duplicate outbox job skipped", extra={"message_id": job.message_id})
        return
    if result is StepResult.NO_TOKEN:
        raise RateExhausted("no SES send token in time")
    tally: SentTally = Counter() if sent is None else sent
    tally[(job.account_id, job.kind, job.tags.get("campaign", ""))] += 1
    if sent is None:
        count_tally(tally)
    metrics.add_metric(name="EmailSent", unit="Count", value=1)
    logger.info("email sent", extra={"message_id": job.message_id, "kind": job.kind})


def count_tally(sent: SentTally) -> None:
    """Count a batch's sent mail: one ADD per account (and campaign) instead of one per mail."""
    for (account_id, kind, campaign_id), amount in sent.items():
        count_sent_mail(account_id, kind, amount, campaign_id or None)
