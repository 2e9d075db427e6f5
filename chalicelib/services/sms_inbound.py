"""Replies to our SMS: a STOP suppresses the number for every account that texted it (P06, P12).

Which accounts: those with a message record for the number's keyed hash, i.e. that sent it an
SMS in the last 30 days (P21). A STOP must work for at least 60 days (P07): one that finds no
record stops the number platform-wide, as SNS does for its own keywords (it adds a STOP sender to
the AWS account's opted-out list, which every SMS batch checks) but not for the other wordings
taken here ("stop all", "Stop, please"): nothing tells whose text the person answers.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.config import hash_key
from chalicelib.domain.privacy import phone_hash
from chalicelib.domain.sms import parse_inbound_sms
from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason
from chalicelib.observability import logger
from chalicelib.store.messages import accounts_that_messaged
from chalicelib.store.suppressions import suppress_hash


def apply_inbound_sms(message: str | Mapping[str, Any]) -> int:
    """Apply one inbound SMS; returns how many accounts now suppress the number (0 when it is
    suppressed platform-wide, or the SMS is no STOP)."""
    sms = parse_inbound_sms(message)
    if not sms.is_stop:
        logger.info("inbound SMS is not an opt-out; ignored")
        return 0
    hashed = phone_hash(sms.origination, hash_key())
    accounts = sorted(accounts_that_messaged(hashed))
    for account_id in accounts:
        suppress_hash(account_id, hashed, SuppressionReason.UNSUBSCRIBED)
    if not accounts:
        suppress_hash(PLATFORM_SCOPE, hashed, SuppressionReason.UNSUBSCRIBED)
    logger.info("SMS opt-out applied", extra={"accounts": len(accounts), "platform_wide": not accounts})
    return len(accounts)
