"""Helpers shared by the signup and confirmation tests (their fixtures: signup_fixtures.py)."""
from __future__ import annotations

import json
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode, urlsplit

from chalicelib.local.invoke import running_as

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SHOP = "https://shop.acme.example"
CONSENT = "Yes, send me the Acme newsletter. I can unsubscribe at any time."


def form_signup(client: Any, list_id: str, headers: dict[str, str] | None = None,
                **fields: str) -> Any:
    """Post the hosted form, then let the signups worker apply what it queued."""
    data = {"consent": "yes", **fields}
    response = client.http.post(f"/f/{list_id}", headers={**FORM, **(headers or {})},
                                body=urlencode(data))
    apply_queued_signups()
    return response


def js_signup(client: Any, list_id: str, body: dict[str, Any], origin: str | None = SHOP) -> Any:
    """Post to the JS endpoint, then let the signups worker apply what it queued."""
    headers = {"Content-Type": "application/json"}
    if origin:
        headers["Origin"] = origin
    response = client.http.post(f"/public/lists/{list_id}/subscribe", headers=headers,
                                body=json.dumps(body))
    apply_queued_signups()
    return response


def apply_queued_signups() -> int:
    """Run the signups worker on every queued public signup, as Lambda would; how many ran."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.resources import SIGNUPS
    from chalicelib.workers.signups import signup_record

    records = queue_records(SIGNUPS)
    with running_as("signup_worker"):
        for record in records:
            signup_record(SQSRecord(record))
    return len(records)


def outbox_records() -> list[dict[str, Any]]:
    """Take every job waiting on the outbox queue, as SQS event records."""
    from chalicelib.resources import OUTBOX

    return queue_records(OUTBOX)


def queue_records(queue: Any) -> list[dict[str, Any]]:
    """Take every message waiting on a declared queue, as SQS event records."""
    from chalicelib.adapters.clients import client
    from chalicelib.adapters.sqs import queue_url

    sqs, url = client("sqs"), queue_url(queue)
    records: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return records
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            records.append({"messageId": message["MessageId"], "body": message["Body"],
                            "receiptHandle": message["ReceiptHandle"], "eventSource": "aws:sqs"})


def deliver(records: list[dict[str, Any]]) -> None:
    """Run the send worker on queued jobs, as Lambda would."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.workers.send import send_job

    with running_as("send_worker"):
        for record in records:
            send_job(SQSRecord(record))


def sent_mails() -> list[EmailMessage]:
    """Every message moto's SES accepted, parsed from the raw MIME it kept verbatim."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    from chalicelib.config import settings

    backend = get_backend("ses")[DEFAULT_ACCOUNT_ID][settings().region]
    return [message_from_bytes(m.raw_data.encode("utf-8"), policy=policy.default)
            for m in backend.sent_messages]


def confirm_path(mail: EmailMessage) -> str:
    """The path of the confirm link in the mail's text part."""
    text = mail.get_body(preferencelist=("plain",)).get_content()
    url = re.search(r"https?://\S+/c/\S+", text).group(0)
    return urlsplit(url).path


def stored(list_id: str, address: str) -> Any:
    """The raw stored entry (expired or not), or None."""
    from chalicelib.store.models import Subscriber

    try:
        return Subscriber.get(list_id, address)
    except Subscriber.DoesNotExist:
        return None
