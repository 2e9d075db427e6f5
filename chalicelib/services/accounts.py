"""Accounts: reading one, its sender profile (P08), and changing the profile.

The contact email changes only through services/email_change.py, confirmed at the new address
(P27); a profile change that names it is refused here.
"""
from __future__ import annotations

from typing import Any

from chalicelib.domain.accounts import AccountProfile, clean_profile_changes
from chalicelib.domain.errors import InvalidInput
from chalicelib.services.senders import check_sender
from chalicelib.store import audit
from chalicelib.store.accounts import get_account as get_account
from chalicelib.store.accounts import profile_of as profile_of
from chalicelib.store.accounts import update_profile
from chalicelib.store.models import Account
from chalicelib.templates import DEFAULT_LANGUAGE, LANGUAGES


def sender_profile(account_id: str) -> AccountProfile:
    """The account's sender profile: who its mail and pages name (P08)."""
    return profile_of(get_account(account_id))


def account_language(account: Account) -> str:
    """The language of the mails the platform sends the account (P32): its setting, or English."""
    return account.language if account.language in LANGUAGES else DEFAULT_LANGUAGE


def change_profile(account_id: str, actor: str, body: dict[str, Any]) -> Account:
    """Apply a profile patch and audit the fields it named (never their values)."""
    if "contact_email" in body:
        raise InvalidInput("'contact_email' cannot be changed here: POST /v1/account/email-change "
                           "with {\"new_email\": ...} and confirm from the mail sent to it (P27)",
                           field="contact_email")
    account = get_account(account_id)
    changes = clean_profile_changes(body)
    sends_as = None
    if changes.get("sender_identity"):
        # The profile's From sends campaigns and confirmation mails: an identity it owns (P35),
        # still claimed, not being deleted, when the change is written (update_profile).
        sends_as = check_sender(account_id, changes["sender_identity"], field="sender_identity")
    update_profile(account, changes, sends_as=sends_as)
    audit.record(account_id, actor, "account.profile_updated", ",".join(sorted(changes)))
    return account
