"""P35 while mail is on its way: whether an account still owns the From identity of mail it
queued or started earlier (a campaign's batches, the outbox's jobs), read at most once a minute
per sender environment. Only a finding that it does is kept: one that it does not is read again.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.clock import now
from chalicelib.services.senders import owns_sender

# An identity given up mid-send can be sent as by another account only once SES has verified it
# for that account (DNS records, minutes at least), and a read at every campaign batch would pass
# issue 4's 0.1 DynamoDB calls per recipient.
OWNERSHIP_CHECK_SECONDS = 60
# (account id, From address) → when this environment last found the account owning it.
_owned_at: dict[tuple[str, str], datetime] = {}


def still_owns_sender(account_id: str, address: str) -> bool:
    """owns_sender, read again once this environment's last finding is OWNERSHIP_CHECK_SECONDS
    old."""
    at, key = now(), (account_id, address)
    checked = _owned_at.get(key)
    if checked is not None and (at - checked).total_seconds() < OWNERSHIP_CHECK_SECONDS:
        return True
    if not owns_sender(account_id, address):
        return False
    _owned_at[key] = at
    return True
