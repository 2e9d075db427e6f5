"""One email to one recipient, as the domain composes it; domain/mime.py builds its bytes.

Apart from the builder, so that what only composes or queues mail (the outbox's jobs, notices)
loads none of the `email` package's header machinery (cold start, issue 15).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OutgoingEmail:
    """One message to one recipient (P10). `headers` are extra headers such as List-Unsubscribe."""

    sender: str
    recipient: str
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
