"""Message records (P21): one per sent message, expiring 30 days after sending."""
from __future__ import annotations

from datetime import timedelta

from pynamodb.exceptions import PutError

from chalicelib.domain.clock import now
from chalicelib.store.models import MessageRecord

MESSAGE_RETENTION = timedelta(days=30)


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
        ]
    )
