"""The message record's account of a sent mail, as feedback reads it (services/feedback.py). Apart
from the feedback rules (feedback.py): the message store builds it, and every function that
records or purges messages loads that store, not the rules."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SentMessage:
    """What Tidings' own message record (store/messages.py) says of the mail an event was matched
    to. It, not the event's tags, decides whose rates, report and list the event touches (P28):
    the tags travel inside the notification and are only what the event claims."""

    message_id: str
    recipient_hash: str
    account_id: str
    kind: str
    campaign_id: str | None = None
    list_id: str | None = None
    sent_at: datetime | None = None

    def disagreeing_tags(self, tags: Mapping[str, str]) -> list[str]:
        """The names of the routing tags the event carries with another value than the record's
        (a tag the event lacks is no disagreement)."""
        held = {"account": self.account_id, "kind": self.kind, "campaign": self.campaign_id,
                "list": self.list_id}
        return sorted(name for name, value in held.items() if name in tags and tags[name] != value)
