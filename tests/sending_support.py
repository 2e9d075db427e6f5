"""Helpers for the sending tests: subscribers written directly, queues run as Lambda would."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any

CAMPAIGN_HTML = ('<html><body><h1>Hello {{ name }}</h1><p>Read <a href="https://acme.example/sale">the '
                 "sale</a>.</p></body></html>")
# Handler of each queue the sending path uses, by the queue's logical name.
WORKERS = {"fanout": "fanout_worker", "campaign-send": "campaign_send_worker", "outbox": "send_worker"}


def subscribe(account_id: str, list_id: str, email: str, *, status: str = "confirmed",
              phone: str | None = None, restricted: bool = False, **attributes: str) -> None:
    """A subscriber entry with consent proof, written straight to the store."""
    from chalicelib.domain.subscriptions import ConsentEvidence, Contact, Source, Status
    from chalicelib.store.models import Subscriber
    from chalicelib.store.subscribers import list_status_key, write_signup

    contact = Contact(email=email, name=email.split("@")[0].title(), phone=phone, attributes=attributes)
    evidence = ConsentEvidence(given_at=datetime.now(UTC), source=Source.API, consent_text_version=1)
    write_signup(account_id, list_id, contact, evidence, Status.CONFIRMED)
    if status != "confirmed" or restricted:
        Subscriber(list_id=list_id, address=email).update(actions=[
            Subscriber.status.set(status), Subscriber.restricted.set(restricted),
            Subscriber.list_status.set(list_status_key(list_id, Status(status)))])


def sqs_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    """An SQS event of these records, each with its own messageId (as Lambda delivers them)."""
    return {"Records": [
        {"messageId": record["messageId"], "receiptHandle": record["receiptHandle"], "body": record["body"],
         "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "x",
         "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:q",
         "awsRegion": "eu-west-1"}
        for record in records]}


def take(queue_name: str, limit: int = 10) -> list[dict[str, Any]]:
    """Receive (and delete) up to `limit` messages of a declared queue."""
    from chalicelib.adapters.sqs import queue_url
    from chalicelib.clients import client
    from chalicelib.resources import QUEUES

    (queue,) = [spec for spec in QUEUES if spec.logical_name == queue_name]
    sqs, url = client("sqs"), queue_url(queue)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=limit).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
            for m in messages]


def run_queues(client: Any, queues: tuple[str, ...] = ("fanout", "campaign-send", "outbox"),
               rounds: int = 50) -> list[dict[str, Any]]:
    """Deliver every queued job to its worker until the queues are empty; the records the
    workers reported as failed (not put back, so a test can redeliver them itself)."""
    failed: list[dict[str, Any]] = []
    for _ in range(rounds):
        busy = False
        for name in queues:
            records = take(name, 5 if name == "campaign-send" else 10)
            if not records:
                continue
            busy = True
            result = client.lambda_.invoke(WORKERS[name], sqs_event(records))
            ids = {item["itemIdentifier"] for item in result.payload["batchItemFailures"]}
            failed += [record for record in records if record["messageId"] in ids]
        if not busy:
            return failed
    raise AssertionError("the queues did not drain")


def sent_raw() -> list[Any]:
    """moto's copies of every raw message SES accepted."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    from chalicelib.config import settings

    return list(get_backend("ses")[DEFAULT_ACCOUNT_ID][settings().region].sent_messages)


def parsed(message: Any) -> EmailMessage:
    return message_from_string(message.raw_data, policy=policy.default)


def recipients_of_sent() -> list[str]:
    return sorted(str(parsed(message)["To"]) for message in sent_raw())


def sent_sms() -> list[tuple[str, str]]:
    """(number, text) of every SMS SNS published."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    from chalicelib.config import settings

    return list(get_backend("sns")[DEFAULT_ACCOUNT_ID][settings().region].sms_messages.values())


def create_campaign(client: Any, headers: dict[str, str], list_ids: list[str],
                    **fields: Any) -> dict[str, Any]:
    body = {"name": "Spring", "list_ids": list_ids, "subject": "Hi {{ name }}", "html": CAMPAIGN_HTML,
            **fields}
    response = client.http.post("/v1/campaigns", headers=headers, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return json.loads(response.body)


def campaign_status(client: Any, headers: dict[str, str], campaign_id: str) -> str:
    response = client.http.get(f"/v1/campaigns/{campaign_id}", headers=headers)
    return json.loads(response.body)["status"]
