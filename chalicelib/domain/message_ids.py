"""The deterministic id of a campaign's message to one person: on its own, so that reading it
(the feedback worker, the purge) does not import the whole sending domain (cold start, issue 15)."""
from __future__ import annotations

import hashlib


def campaign_message_id(campaign_id: str, recipient_hash: str) -> str:
    """The one message id of this campaign for this person (keyed hash of the address or phone),
    the same on every list and every redelivery: claiming it makes sending exactly-once."""
    digest = hashlib.sha256(f"{campaign_id}|{recipient_hash}".encode()).hexdigest()[:40]
    return f"cm_{digest}"
