"""P35 while mail is on its way: whether an account may still send as the From identity of mail
it queued or started earlier (a campaign's batches, the outbox's jobs), read at most once a minute
per sender environment. Only a finding that it may is kept: one that it may not is read again.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.clock import now
from chalicelib.services.senders import may_send_as

# An identity given up mid-send can be sent as by another account only once SES has verified it
# for that account (DNS records, minutes at least), and a read at every campaign batch would pass
# issue 4's 0.1 DynamoDB calls per recipient.
OWNERSHIP_CHECK_SECONDS = 60
# (account id, From address) → when this environment last found the account may send as it.
_owned_at: dict[tuple[str, str], datetime] = {}


def still_owns_sender(account_id: str, address: str) -> bool:
    """may_send_as (check_sender's whole test: the account's claim, no other account's verified
    domain above it, SES's verification now), read again once this environment's last finding
    is OWNERSHIP_CHECK_SECONDS old. SES sends as any identity the platform's AWS account has
    verified, whoever claims it: only this check keeps a lapsed one from going out."""
    at, key = now(), (account_id, address)
    checked = _owned_at.get(key)
    if checked is not None and (at - checked).total_seconds() < OWNERSHIP_CHECK_SECONDS:
        return True
    if not may_send_as(account_id, address):
        return False
    _owned_at[key] = at
    return True
