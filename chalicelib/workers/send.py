"""The send worker: outbox queue → SES, exactly once per message id, partial batch failures.

The mails sent are counted once per SQS batch (services/sending/counting.py), per account and campaign."""
from __future__ import annotations

import json
from collections import Counter
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from chalicelib.adapters.retries import with_backoff
from chalicelib.adapters.ses import send_raw_email
from chalicelib.config import hash_key, settings
from chalicelib.domain.mime import build_mime
from chalicelib.domain.outbox import job_from_dict
from chalicelib.domain.privacy import subject_from_text
from chalicelib.functions import sqs_handler_options
from chalicelib.observability import logger, metrics
from chalicelib.services.sending.counting import count_sent_mail
from chalicelib.services.sending.rate_tokens import RateTokens
from chalicelib.store import messages

worker = Blueprint(__name__)
_processor = BatchProcessor(event_type=EventType.SQS)


class RateExhausted(Exception):
    """No SES send token came in time: the job goes back to the queue."""


# (account id, mail kind, campaign id or "") → mails sent in one batch.
SentTally = Counter[tuple[str, str, str]]


def send_job(record: SQSRecord, tokens: RateTokens | None = None, sent: SentTally | None = None) -> None:
    """Send one queued email, within the shared SES rate (`tokens`: the batch's, else one is
    taken for this mail), and add it to the batch's `sent` tally (else it is counted at once).
    Raising marks just this record failed; SQS redelivers it."""
    job = job_from_dict(json.loads(record.body))
    recipient_hash = subject_from_text(job.email.recipient).keyed_hash(hash_key())
    messages.list_for_purge(job.account_id, {job.message_id: recipient_hash})
    if not messages.claim(recipient_hash, job.message_id, job.account_id, job.kind,
                          campaign_id=job.tags.get("campaign"), list_id=job.tags.get("list")):
        logger.info("duplicate outbox job skipped", extra={"message_id": job.message_id})
        return
    tags = {"account": job.account_id, "kind": job.kind, **job.tags}
    try:
        raw = build_mime(job.email)
        if not (tokens or RateTokens(1)).take():
            raise RateExhausted("no SES send token in time")
        with_backoff(lambda: send_raw_email(raw, job.email.recipient, tags))
    except Exception:
        messages.release(recipient_hash, job.message_id)
        raise
    tally: SentTally = Counter() if sent is None else sent
    tally[(job.account_id, job.kind, job.tags.get("campaign", ""))] += 1
    if sent is None:
        count_tally(tally)
    metrics.add_metric(name="EmailSent", unit="Count", value=1)
    logger.info("email sent", extra={"message_id": job.message_id, "kind": job.kind})


@worker.on_sqs_message(**sqs_handler_options("send_worker", settings().resource_name))
def send_worker(event: Any) -> dict[str, Any]:
    # Tokens for the whole batch in one call to the shared bucket, not one call per mail.
    tokens = RateTokens(len(event.to_dict().get("Records", [])))
    sent: SentTally = Counter()
    try:
        return process_partial_response(
            event=event.to_dict(), record_handler=partial(send_job, tokens=tokens, sent=sent),
            processor=_processor, context=event.context,
        )
    finally:
        count_tally(sent)


def count_tally(sent: SentTally) -> None:
    """Count a batch's sent mail: one ADD per account (and campaign) instead of one per mail."""
    for (account_id, kind, campaign_id), amount in sent.items():
        count_sent_mail(account_id, kind, amount, campaign_id or None)
