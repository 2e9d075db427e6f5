"""Unsubscribing (P07, P12): from the mail's own list or from every list of its sender.

Takes effect at once: the address is suppressed for the account (it can never be re-added to the
account's lists; sending skips it), the entries end as `unsubscribed` through the subscription
state machine, and the campaign's report counts one unsubscribe when the entry on the mailed list
ended now, in the same write. Idempotent: repeating it (a double click, a one-click POST after the
page's, a mailto after either, a retry after a failure) changes and counts nothing more.
"""
from __future__ import annotations

from enum import StrEnum

from chalicelib.config import signer
from chalicelib.domain.mail_links import UNSUBSCRIBE, LinkClaim, read_link_token
from chalicelib.domain.subscriptions import Status
from chalicelib.domain.suppression import SuppressionReason
from chalicelib.observability import logger
from chalicelib.store import campaign_stats
from chalicelib.store.accounts import account_exists
from chalicelib.store.feedback import end_entry, lists_of_address
from chalicelib.store.subscribers import end_entry_counted
from chalicelib.store.suppressions import end_lifts, suppress


class Scope(StrEnum):
    LIST = "list"
    ALL = "all"


def read_unsubscribe_token(token: str) -> LinkClaim:
    """The claim of a genuine unsubscribe token (valid a year, P07); TokenInvalid/TokenExpired."""
    return read_link_token(signer(), UNSUBSCRIBE, token)


def unsubscribe(claim: LinkClaim, scope: Scope) -> bool:
    """Apply an unsubscribe; True when the entry on the mailed list ended now. Nothing for a link
    of an account deleted for good: it sends no more mail, and a suppression written back would
    be its data, that no purge would come for again (P23, P25)."""
    if not account_exists(claim.account_id):
        logger.info("unsubscribe link of a deleted account: nothing to do", extra={"list_id": claim.list_id})
        return False
    suppress(claim.account_id, claim.address, SuppressionReason.UNSUBSCRIBED)
    # A way back they had taken (P12) closes again: for this list, or for all.
    end_lifts(claim.account_id, claim.address, claim.list_id if scope is Scope.LIST else None)
    ended_here = _end_mailed_entry(claim)
    ended_elsewhere = 0
    if scope is Scope.ALL:
        others = set(lists_of_address(claim.account_id, claim.address)) - {claim.list_id}
        ended_elsewhere = sum(end_entry(claim.account_id, list_id, claim.address, Status.UNSUBSCRIBED)
                              for list_id in sorted(others))
    logger.info("unsubscribe applied", extra={"account_id": claim.account_id, "list_id": claim.list_id,
                                              "campaign_id": claim.campaign_id, "scope": scope.value,
                                              "ended_here": ended_here, "ended_elsewhere": ended_elsewhere})
    return ended_here


def _end_mailed_entry(claim: LinkClaim) -> bool:
    """End the entry on the mailed list; a campaign's unsubscribe is counted in the same
    transaction: counted after the end, a failed count would be lost, as the retry finds the entry
    ended and counts nothing (P13). Counted only on the entry the campaign's mail went to: one
    made since (they signed up again) ends uncounted."""
    if claim.campaign_id:
        update = campaign_stats.counter_update(claim.campaign_id, campaign_stats.UNSUBSCRIBES)
        if end_entry_counted(claim.account_id, claim.list_id, claim.address, Status.UNSUBSCRIBED, update,
                             created_before=claim.mailed_entries_before):
            return True
    return end_entry(claim.account_id, claim.list_id, claim.address, Status.UNSUBSCRIBED)
