"""Counting mails sent (P13, P26) where they are sent, once per batch instead of once per mail.

SES is not asked for Send events (they were most of Tidings' own AWS cost), so the senders add
what they sent: one ADD to the account's day counter (the rates' volume) and one to the
campaign's `sent` counter, which also adds how many of them were trackable. Exactly once: a mail
is counted only by the invocation whose conditional claim (store/messages.claim) succeeded; a
redelivered job finds the claims taken and counts nothing again.
"""
from __future__ import annotations

from chalicelib.config import settings
from chalicelib.domain.clock import now
from chalicelib.domain.health import counts_for_account
from chalicelib.domain.sending import counts_toward_rates
from chalicelib.store.campaign_stats import add_sent
from chalicelib.store.health import count_sent


def count_sent_mail(account_id: str, mail_kind: str, amount: int, campaign_id: str | None = None,
                    trackable: int = 0) -> None:
    """Add `amount` mails of this kind sent for the account (and its campaign, when given) now,
    `trackable` of them with a pixel or tracked links (P30); the platform's own mail to the
    account counts nowhere, a campaign's texts in its report only."""
    if amount <= 0 or not counts_for_account(mail_kind):
        return
    if counts_toward_rates(mail_kind):
        count_sent(account_id, now().date(), amount, settings().health)
    if campaign_id:
        add_sent(campaign_id, amount, trackable)
