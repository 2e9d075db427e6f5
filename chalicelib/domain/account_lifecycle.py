"""Mails and links of an account's end of life (P23, P24): the deletion confirmation and the
inactivity warning. Both go to the account's contact email, in the platform's name.

A deletion link names the account and a nonce stored on it when the mail was sent: only the
latest mail's link confirms, and only once; reactivating voids nothing else to clean up.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from chalicelib.domain.action_mail import ActionMail, action_email
from chalicelib.domain.outgoing import OutgoingEmail
from chalicelib.domain.retention import DELETION_GRACE, INACTIVITY_NOTICE
from chalicelib.domain.tokens import Signer, TokenInvalid
from chalicelib.templates import DEFAULT_LANGUAGE, N_

DELETION_PURPOSE = "account-deletion"
DELETION_MAIL_KIND = "account_deletion_confirm"
INACTIVITY_MAIL_KIND = "account_inactivity_warning"
DELETION_LINK_SECONDS = 2 * 24 * 3600


@dataclass(frozen=True)
class DeletionClaim:
    account_id: str
    nonce: str


def deletion_token(signer: Signer, account_id: str, nonce: str) -> str:
    return signer.sign(DELETION_PURPOSE, {"acc": account_id, "n": nonce})


def read_deletion_token(signer: Signer, token: str) -> DeletionClaim:
    """The claim of a genuine link younger than 2 days; TokenExpired/TokenInvalid otherwise."""
    payload = signer.verify(DELETION_PURPOSE, token, DELETION_LINK_SECONDS)
    account_id, nonce = payload.get("acc"), payload.get("n")
    if not (isinstance(account_id, str) and isinstance(nonce, str)):
        raise TokenInvalid(N_("this link is not valid"), field="token")
    return DeletionClaim(account_id, nonce)


def deletion_email(contact: str, account_name: str, token: str, *, public_base_url: str,
                   default_sender: str, language: str = DEFAULT_LANGUAGE) -> OutgoingEmail:
    """The confirmation mail, in the account's language (P32)."""
    mail = ActionMail(
        subject=N_("Confirm the deletion of the account %(account)s"),
        paragraphs=(N_("someone with an API key of the account %(account)s asked to delete it."),
                    N_("Once you confirm, the account and all its data will be deleted in %(days)s days. "
                       "Until then you can export its data, and cancel the deletion with "
                       "POST /v1/account/reactivate.")),
        button=N_("Delete this account"),
        closing=N_("If you did not ask for this, ignore this message: nothing changes. "
                   "The link works for 2 days."),
        params={"account": account_name, "days": DELETION_GRACE.days},
    )
    return action_email(contact, default_sender, mail,
                        f"{public_base_url.rstrip('/')}/account/deletion/{token}", language=language)


def deletion_message_id(account_id: str, nonce: str) -> str:
    return f"adl_{hashlib.sha256(f'{account_id}|{nonce}'.encode()).hexdigest()[:40]}"


def inactivity_email(contact: str, account_name: str, *, public_base_url: str,
                     default_sender: str, language: str = DEFAULT_LANGUAGE) -> OutgoingEmail:
    """The P24 warning, in the account's language (P32); any authenticated API call keeps the
    account (the link shows how)."""
    mail = ActionMail(
        subject=N_("The account %(account)s will be deleted in %(days)s days"),
        paragraphs=(N_("the account %(account)s has not been used for 11 months. Accounts unused "
                       "for a year are deleted with all their data."),
                    N_("To keep it, make any API call with one of its keys, for example "
                       "GET /v1/account, within %(days)s days.")),
        button=N_("Open the API"),
        closing=N_("If you no longer need the account, ignore this message."),
        params={"account": account_name, "days": INACTIVITY_NOTICE.days},
    )
    return action_email(contact, default_sender, mail, f"{public_base_url.rstrip('/')}/v1/account",
                        language=language)


def inactivity_message_id(account_id: str, last_active_day: str) -> str:
    """One warning per period of inactivity, however often the purge runs."""
    return f"ain_{hashlib.sha256(f'{account_id}|{last_active_day}'.encode()).hexdigest()[:40]}"
