"""Jobs on the outbox queue: one message to one recipient, already rendered.

`message_id` is chosen by the producer and is deterministic for "this message to this person",
so a job that is enqueued or delivered twice is still sent once (the worker claims the id).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib.domain.errors import InvalidInput, PayloadTooLarge
from chalicelib.domain.outgoing import OutgoingEmail
from chalicelib.domain.queue_size import QUEUE_MESSAGE_MAX_BYTES, json_bytes

# The double opt-in mail's kind: the account's mail, From its identity or else the platform's.
CONFIRMATION_KIND = "confirmation"


@dataclass(frozen=True)
class EmailJob:
    message_id: str
    account_id: str
    kind: str
    email: OutgoingEmail
    # SES message tags: references only (account, campaign, list), never contact data.
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "email", **asdict(self)}


def refuse_oversized(job: EmailJob) -> None:
    """PayloadTooLarge naming the mail's larger part (`html`, or `text`) when the queued job would
    pass the outbox's limit: the bytes of the job as JSON, where a non-ASCII character takes 6
    (12 outside the BMP). A caller's content must be checked before it is queued; SQS would refuse
    it with an error the caller cannot act on."""
    size = json_bytes(job.to_dict())
    if size <= QUEUE_MESSAGE_MAX_BYTES:
        return
    parts = {"html": job.email.html or "", "text": job.email.text or ""}
    field = max(parts, key=lambda name: json_bytes(parts[name]))
    raise PayloadTooLarge(f"the message takes {size} bytes queued, more than the {QUEUE_MESSAGE_MAX_BYTES} "
                          f"a message may (its parts as JSON: a non-ASCII character counts 6 bytes); "
                          f"'{field}' is its largest part", field=field)


def job_from_dict(data: dict[str, Any]) -> EmailJob:
    """Parse a queued job; a malformed one raises InvalidInput (it goes to the dead-letter queue)."""
    if data.get("type") != "email":
        raise InvalidInput(f"unknown outbox job type {data.get('type')!r}", field="type")
    try:
        return EmailJob(
            message_id=data["message_id"],
            account_id=data["account_id"],
            kind=data["kind"],
            email=OutgoingEmail(**data["email"]),
            tags=dict(data.get("tags") or {}),
        )
    except (KeyError, TypeError) as exc:
        raise InvalidInput(f"malformed outbox job: {exc}", field="job") from None
