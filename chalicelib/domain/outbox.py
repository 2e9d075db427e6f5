"""Jobs on the outbox queue: one message to one recipient, already rendered.

`message_id` is chosen by the producer and is deterministic for "this message to this person",
so a job that is enqueued or delivered twice is still sent once (the worker claims the id).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.outgoing import OutgoingEmail


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
