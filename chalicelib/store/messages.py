"""Message records (P21): one per sent message, expiring 30 days after sending."""
from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import PutError

from chalicelib.domain.clock import now
from chalicelib.domain.retention import MESSAGE_RETENTION, purge_bucket
from chalicelib.store.models import MessageRecord


def claim(message_id: str, account_id: str, kind: str, campaign_id: str | None = None,
          list_id: str | None = None, recipient_hash: str | None = None) -> bool:
    """Record that this message is being sent; False when it was already claimed (a duplicate).

    `recipient_hash` (a keyed hash, never the address) finds the person's messages for access
    and erasure requests (P16, P18).
    """
    record = MessageRecord(
        message_id=message_id,
        account_id=account_id,
        kind=kind,
        campaign_id=campaign_id,
        list_id=list_id,
        recipient_hash=recipient_hash,
        status="sending",
        expires_at=now() + MESSAGE_RETENTION,
    )
    record.purge_bucket = purge_bucket(record.expires_at, message_id)
    try:
        record.save(condition=MessageRecord.message_id.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def release(message_id: str) -> None:
    """Undo a claim after a failed send, so the redelivered job can try again."""
    MessageRecord(message_id=message_id).delete(
        condition=MessageRecord.status == "sending"
    )


def mark_sent(message_id: str, ses_message_id: str) -> None:
    sent_at = now()
    MessageRecord(message_id=message_id).update(
        actions=[
            MessageRecord.status.set("sent"),
            MessageRecord.ses_message_id.set(ses_message_id),
            MessageRecord.sent_at.set(sent_at),
            MessageRecord.expires_at.set(sent_at + MESSAGE_RETENTION),
            MessageRecord.purge_bucket.set(purge_bucket(sent_at + MESSAGE_RETENTION, message_id)),
        ]
    )


@dataclass(frozen=True)
class SentMessage:
    """A claimed message that SES or SNS accepted, with the provider's message id."""

    message_id: str
    account_id: str
    kind: str
    provider_message_id: str
    recipient_hash: str
    campaign_id: str | None = None
    list_id: str | None = None


def mark_sent_many(sent: list[SentMessage]) -> None:
    """mark_sent for many claimed messages in BatchWriteItem calls (25 records a call, instead of
    an UpdateItem each): the sender wrote these records itself when claiming them."""
    sent_at = now()
    expires_at = sent_at + MESSAGE_RETENTION
    with MessageRecord.batch_write() as batch:
        for message in sent:
            batch.save(MessageRecord(
                message_id=message.message_id, account_id=message.account_id, kind=message.kind,
                campaign_id=message.campaign_id, list_id=message.list_id,
                recipient_hash=message.recipient_hash, status="sent",
                ses_message_id=message.provider_message_id, sent_at=sent_at, expires_at=expires_at,
                purge_bucket=purge_bucket(expires_at, message.message_id)))


def accounts_that_messaged(recipient_hash: str) -> set[str]:
    """The accounts holding a message record for this keyed hash (the `by_recipient` index):
    who sent to this address or number in the last 30 days."""
    return {record.account_id for record in MessageRecord.by_recipient.query(recipient_hash)}
