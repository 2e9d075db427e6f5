"""Changing an account's contact email (P27): only the new address's owner can confirm it.

The token names the account, the new address, a keyed hash of the address it replaces and a
nonce stored on the account when the mail was sent: only the latest request's link confirms, and
only once, so a used link cannot redo a change its owner has since undone; once the contact email
has changed, older links stop working, so a stale link cannot undo a change.

Once a change is confirmed, the address it replaced is told (someone holding an API key must
not be able to move the account's mail away unnoticed), without being shown the new one.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.domain.action_mail import ActionMail, action_email, action_message_id
from chalicelib.domain.addresses import masked_email
from chalicelib.domain.outgoing import OutgoingEmail
from chalicelib.domain.suppression import address_hash
from chalicelib.domain.tokens import Signer, TokenInvalid
from chalicelib.templates import DEFAULT_LANGUAGE, N_

PURPOSE = "account-email-change"
MAIL_KIND = "account_email_change"
CHANGED_MAIL_KIND = "account_email_changed"
LINK_LIFETIME_SECONDS = 2 * 24 * 3600


@dataclass(frozen=True)
class EmailChangeClaim:
    account_id: str
    new_email: str
    replaces: str  # keyed hash of the contact email at request time ("" when there was none)
    nonce: str  # the account's `email_change_nonce` when the mail was sent


def replaced_hash(hash_key: str, current: str | None) -> str:
    return address_hash(current, hash_key) if current else ""


def email_change_token(signer: Signer, hash_key: str, account_id: str, new_email: str,
                       current: str | None, nonce: str) -> str:
    return signer.sign(PURPOSE, {"acc": account_id, "e": new_email, "was": replaced_hash(hash_key, current),
                                 "n": nonce})


def read_email_change_token(signer: Signer, token: str) -> EmailChangeClaim:
    payload = signer.verify(PURPOSE, token, LINK_LIFETIME_SECONDS)
    values = (payload.get("acc"), payload.get("e"), payload.get("was"), payload.get("n"))
    if not all(isinstance(value, str) for value in values):
        raise TokenInvalid(N_("this link is not valid"), field="token")
    return EmailChangeClaim(*values)


def email_change_email(account_name: str, new_email: str, token: str, *, public_base_url: str,
                       default_sender: str, language: str = DEFAULT_LANGUAGE) -> OutgoingEmail:
    """The confirmation mail, in the account's language (P32)."""
    mail = ActionMail(
        subject=N_("Confirm the new contact email of %(account)s"),
        paragraphs=(N_("someone asked to make this address the contact email of the account "
                       "%(account)s."),),
        button=N_("Confirm this address"),
        closing=N_("If you did not ask for this, ignore this message: nothing changes. "
                   "The link works for 2 days."),
        params={"account": account_name},
    )
    url = f"{public_base_url.rstrip('/')}/account/email-change/{token}"
    return action_email(new_email, default_sender, mail, url, language=language)


def email_change_message_id(hash_key: str, account_id: str, new_email: str, at: datetime) -> str:
    return action_message_id(hash_key, "ecg", account_id, new_email, at)


def email_changed_notice(previous: str, account_name: str, new_email: str, changed_at: datetime, *,
                         default_sender: str, reply_to: str | None = None,
                         language: str = DEFAULT_LANGUAGE) -> OutgoingEmail:
    """The notice to the contact email a confirmed change replaced, in the account's language
    (P27, P32): which account, when, and what to do if its owner did not make the change. The new
    address is shown masked: the old mailbox may be the one that lost the account. It asks for a
    reply if the change was not theirs: `reply_to` is the operator's address."""
    mail = ActionMail(
        subject=N_("The contact email of %(account)s was changed"),
        paragraphs=(N_("the contact email of the account %(account)s was changed on %(date)s from this "
                       "address to %(new_email)s. Mail about the account now goes there."),
                    N_("If you did not make this change, someone else may hold an API key of the account: "
                       "revoke the keys you do not know (GET /v1/keys, then DELETE /v1/keys/{key_id}) and "
                       "change the contact email back (POST /v1/account/email-change).")),
        closing=N_("Reply to this message if you believe this is a mistake."),
        params={"account": account_name, "date": changed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "new_email": masked_email(new_email)},
    )
    return action_email(previous, default_sender, mail, None, reply_to=reply_to, language=language)


def email_changed_message_id(account_id: str, nonce: str) -> str:
    """One notice per confirmed change: the change consumes its request's nonce, so a confirmation
    delivered or pressed twice queues the same id, and the outbox sends it once."""
    return f"ecn_{hashlib.sha256(f'{account_id}|{nonce}'.encode()).hexdigest()[:40]}"
