"""Changing an account's contact email, confirmed at the new address (P27).

The API asks; the mail to the new address carries the signed link; only the button behind that
link changes the profile, and the address it replaces is then told. Both steps are audited, by
field name, never with the address.
"""
from __future__ import annotations

import secrets

from chalicelib.adapters.sqs import enqueue
from chalicelib.config import hash_key, settings, signer
from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.clock import now
from chalicelib.domain.email_change import (
    CHANGED_MAIL_KIND,
    MAIL_KIND,
    EmailChangeClaim,
    email_change_email,
    email_change_message_id,
    email_change_token,
    email_changed_message_id,
    email_changed_notice,
    read_email_change_token,
    replaced_hash,
)
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.outbox import EmailJob
from chalicelib.resources import OUTBOX
from chalicelib.services.accounts import account_language
from chalicelib.store import audit
from chalicelib.store.accounts import change_contact_email, get_account, set_email_change_nonce
from chalicelib.store.models import Account

# The audit actor of a change confirmed from the mail: the person at the new address.
CONFIRMED_BY_MAIL = "email-confirmation"
_LINK_USED = "this link was already used, or a newer one was sent"


class EmailChangeStale(InvalidInput):
    """A genuine link, but the contact email has changed since it was sent."""

    code = "email_change_stale"


class EmailChangeLinkUsed(InvalidInput):
    """A genuine link, but a newer mail was sent or this one was already used."""

    code = "email_change_link_used"


def request_email_change(account_id: str, actor: str, raw_email: str) -> None:
    """Mail a confirmation link to the new address; the profile is unchanged until it is used."""
    new_email = normalise_email(raw_email, field="new_email", mailable=True)
    account = get_account(account_id)
    if new_email == account.contact_email:
        raise Conflict("this is already the account's contact email", field="new_email")
    # A fresh nonce per request voids every earlier link (P27: a link confirms once).
    nonce = secrets.token_urlsafe(12)
    set_email_change_nonce(account_id, nonce)
    token = email_change_token(signer(), hash_key(), account_id, new_email, account.contact_email, nonce)
    mail = email_change_email(account.name, new_email, token, public_base_url=settings().public_base_url,
                              default_sender=settings().default_sender, language=account_language(account))
    job = EmailJob(message_id=email_change_message_id(hash_key(), account_id, new_email, now()),
                   account_id=account_id, kind=MAIL_KIND, email=mail)
    enqueue(OUTBOX, job.to_dict())
    audit.record(account_id, actor, "account.email_change_requested", "contact_email")


def pending_change(token: str) -> tuple[EmailChangeClaim, Account]:
    """The change a link asks for and its account; raises when the link is bad, stale or used."""
    claim = read_email_change_token(signer(), token)
    account = get_account(claim.account_id)
    if account.contact_email == claim.new_email:
        return claim, account  # already done: pressing the button again changes nothing
    if replaced_hash(hash_key(), account.contact_email) != claim.replaces:
        raise EmailChangeStale("the contact email has changed since this link was sent; "
                               "ask for a new one", field="token")
    if account.email_change_nonce != claim.nonce:
        raise EmailChangeLinkUsed(_LINK_USED, field="token")
    return claim, account


def confirm_email_change(token: str) -> Account:
    """Apply the change the link names, once: a used link (or one a newer request voided) never
    changes the contact email again; pressing it again while its change stands is harmless."""
    claim, account = pending_change(token)
    if account.contact_email != claim.new_email:
        _tell_replaced_address(account, claim)
        if not change_contact_email(account.account_id, claim.new_email, claim.nonce):
            raise EmailChangeLinkUsed(_LINK_USED, field="token")
        audit.record(account.account_id, CONFIRMED_BY_MAIL, "account.contact_email_changed", "contact_email")
        account.contact_email = claim.new_email
    return account


def _tell_replaced_address(account: Account, claim: EmailChangeClaim) -> None:
    """Queue the notice to the contact email this change replaces (P27). Queued before the change,
    under an id fixed for this request: a failed write is retried by pressing the button again,
    which queues the same id (sent once); queued after, a crash between the two would leave the
    change made and the old address never told, and a second press finds nothing left to do."""
    if not account.contact_email:
        return  # an account that had no contact email has no one to tell
    mail = email_changed_notice(account.contact_email, account.name, claim.new_email, now(),
                                default_sender=settings().default_sender, reply_to=settings().operator_email,
                                language=account_language(account))
    job = EmailJob(message_id=email_changed_message_id(account.account_id, claim.nonce),
                   account_id=account.account_id, kind=CHANGED_MAIL_KIND, email=mail)
    enqueue(OUTBOX, job.to_dict())
