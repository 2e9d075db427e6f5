"""Suppression keys: a keyed hash of the address, never the address itself (P12, P18).

A plain SHA-256 of an email can be reversed by hashing guessed addresses; an HMAC keyed with a
secret cannot, so the suppression list survives erasure without holding contact data.
"""
from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum

from chalicelib.domain.addresses import normalise_email

# The scope of a platform-wide opt-out: the person refused mail from every account (P12).
PLATFORM_SCOPE = "*"
# The scope of addresses the platform's own mail (notices to an account's contact, opt-out links)
# bounced hard from or drew a complaint at: that mail never goes there again (P11). Apart from
# PLATFORM_SCOPE, which stops every account's mail, and never read for an account's audience.
PLATFORM_MAIL_SCOPE = "platform-mail"


class SuppressionReason(StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    COMPLAINED = "complained"
    BOUNCED = "bounced"
    ERASED = "erased"
    PLATFORM_OPT_OUT = "platform_opt_out"
    # The person's processing is restricted (P17): kept but not mailed, on every list of the
    # account, those they are added to afterwards included, and by transactional mail too.
    RESTRICTED = "restricted"


# P12: the one reason a person's own, confirmed signup may lift for the list they sign up to. An
# address that complained, bounced, was erased or opted out of the platform stays refused.
RESUBSCRIBABLE = frozenset({SuppressionReason.UNSUBSCRIBED.value})


def may_resubscribe(reasons: set[str]) -> bool:
    """Whether a person suppressed for `reasons` may sign up again themselves (P12): only when
    every reason is that they unsubscribed. Imports, the API and feedback never re-add anyone."""
    return bool(reasons) and reasons <= RESUBSCRIBABLE


def reason_after_lifting(reason: str, reasons: set[str], lifted: SuppressionReason) -> str | None:
    """The first reason a suppression keeps once `lifted` is taken off it (`reasons` holds every
    reason, the first included): the same while it is another, else the least of the rest (the
    order the others came in is not kept); None when `lifted` was its only reason and it goes. An
    unsubscribe, complaint, bounce or erasure beside it keeps it (P12, P18)."""
    rest = ({reason} | reasons) - {lifted.value}
    if not rest:
        return None
    return reason if reason in rest else min(rest)


def account_subject(account_id: str, hashed: str) -> str:
    """A person's keyed hash as one account's items name them for its erasure (P18): the hash
    alone is the same in every account, and one account's erasure of the person must never
    find (and delete) what another account holds about them."""
    return f"{account_id}:{hashed}"


def address_hash(address: str, hash_key: str) -> str:
    """HMAC-SHA256 (hex) of the normalised address under the deployment's `hash_key`; the same
    person always gets the same hash."""
    normalised = normalise_email(address)
    return hmac.new(hash_key.encode("utf-8"), normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def phone_hash(e164: str, hash_key: str) -> str:
    """HMAC-SHA256 (hex) of an E.164 number, keyed like suppressions; `tel:` keeps phone and
    email hashes apart."""
    return hmac.new(hash_key.encode("utf-8"), f"tel:{e164}".encode(), hashlib.sha256).hexdigest()
