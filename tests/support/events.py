"""AWS-shaped events for the workers: SES event publishing, the SNS envelope around it, SQS batches."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SES_EVENTS = Path(__file__).resolve().parents[2] / "events" / "ses"


def ses_sample(name: str) -> dict[str, Any]:
    """One of AWS's documented SES event samples in events/ses/, as published."""
    return json.loads((SES_EVENTS / name).read_text())


def ses_event(sample: str, recipient: str, tags: dict[str, str], ses_message_id: str | None = None,
              at: datetime | None = None, sent: bool = True, **detail: Any) -> dict[str, Any]:
    """One of AWS's documented event-publishing samples, aimed at `recipient` with our tags.

    `sent` (the default) also writes the message record the senders would have written, so the
    feedback worker takes the event as about a mail this deployment sent; `sent=False` makes a
    forged or foreign event, which must count for nobody."""
    if sent and "account" in tags:
        tags = _record_sent(recipient, tags)
    document = ses_sample(sample)
    mail = document["mail"]
    mail["messageId"] = ses_message_id or f"0100{uuid.uuid4().hex}-000000"
    mail["destination"] = [recipient]
    mail["tags"] = {**mail.get("tags", {}), **{name: [value] for name, value in tags.items()}}
    stamp = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    mail["timestamp"] = stamp
    kind = document["eventType"]
    if kind == "Bounce":
        document["bounce"]["bouncedRecipients"][0]["emailAddress"] = recipient
        document["bounce"]["timestamp"] = stamp
    elif kind == "Complaint":
        document["complaint"]["complainedRecipients"] = [{"emailAddress": recipient}]
        document["complaint"]["timestamp"] = stamp
    elif kind == "Delivery":
        document["delivery"]["recipients"] = [recipient]
        document["delivery"]["timestamp"] = stamp
    for key, value in detail.items():
        document[kind.lower()][key] = value
    return document


def _record_sent(recipient: str, tags: dict[str, str]) -> dict[str, str]:
    """The tags with a `message` id, its message record written as a send would write it."""
    from chalicelib.config import hash_key
    from chalicelib.domain.message_ids import campaign_message_id
    from chalicelib.domain.suppression import address_hash
    from chalicelib.store import messages

    recipient_hash = address_hash(recipient, hash_key())
    message_id = tags.get("message") or (campaign_message_id(tags["campaign"], recipient_hash)
                                         if "campaign" in tags else f"tx_{uuid.uuid4().hex[:40]}")
    messages.claim(recipient_hash, message_id, tags["account"], tags.get("kind", "campaign"),
                   campaign_id=tags.get("campaign"), list_id=tags.get("list"))
    return {**tags, "message": message_id}


def sns_body(message: dict[str, Any] | str) -> str:
    """What SQS receives from the feedback topic (no raw message delivery): the message, a document
    or text as it stands, in SNS's envelope."""
    text = message if isinstance(message, str) else json.dumps(message)
    return json.dumps({"Type": "Notification", "MessageId": str(uuid.uuid4()),
                       "TopicArn": "arn:aws:sns:eu-west-1:123456789012:tidings-ses-feedback",
                       "Message": text, "Timestamp": "2026-03-07T10:00:00.000Z",
                       "SignatureVersion": "1", "Signature": "EXAMPLE"})


def sqs_event(*messages: str | dict[str, Any]) -> dict[str, Any]:
    """An SQS batch as Lambda delivers it, a record a message: a body, or a record taken from a
    queue (tests.support.queues.take), which keeps its messageId and receipt handle. Every record
    has its own messageId (Chalice's generate_sqs_event repeats one), as partial batch failures
    and idempotency keys need."""
    records = []
    for index, message in enumerate(messages):
        taken = {"body": message} if isinstance(message, str) else message
        records.append({
            "messageId": taken.get("messageId", f"m-{index}"),
            "receiptHandle": taken.get("receiptHandle", f"r-{index}"), "body": taken["body"],
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "x",
            "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:tidings-test",
            "awsRegion": "eu-west-1"})
    return {"Records": records}
