"""The platform-wide opt-out (P12): a person refuses mail from every account on the deployment.

The confirmation mail belongs to no account: it is sent in the platform's name, from the
default sender, and recorded under `PLATFORM_ACCOUNT`.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.action_mail import ActionMail, action_email, action_message_id
from chalicelib.domain.outgoing import OutgoingEmail
from chalicelib.domain.tokens import Signer, TokenInvalid
from chalicelib.templates import DEFAULT_LANGUAGE, N_

PURPOSE = "platform-optout"
# Message records and SES tags need an account reference; no account id looks like this.
PLATFORM_ACCOUNT = "platform"
MAIL_KIND = "platform_optout"
LINK_LIFETIME_SECONDS = 7 * 24 * 3600

_MAIL = ActionMail(
    subject=N_("Confirm: stop all mail sent through this platform"),
    paragraphs=(
        N_("someone, hopefully you, asked that this address receive no more mail from any "
           "organisation that sends through this platform."),
    ),
    button=N_("Stop all mail to this address"),
    closing=N_("If you did not ask for this, ignore this message: nothing changes. "
               "The link works for 7 days."),
)


def optout_token(signer: Signer, address: str) -> str:
    return signer.sign(PURPOSE, {"a": address})


def read_optout_token(signer: Signer, token: str) -> str:
    """The address a genuine, unexpired opt-out token names; TokenExpired/TokenInvalid otherwise."""
    address = signer.verify(PURPOSE, token, LINK_LIFETIME_SECONDS).get("a")
    if not isinstance(address, str):
        raise TokenInvalid(N_("this link is not valid"), field="token")
    return address


def optout_email(signer: Signer, address: str, public_base_url: str, default_sender: str,
                 language: str = DEFAULT_LANGUAGE) -> OutgoingEmail:
    """The confirmation mail, in the language of the page it was asked from (P32)."""
    url = f"{public_base_url.rstrip('/')}/optout/{optout_token(signer, address)}"
    return action_email(address, default_sender, _MAIL, url, language=language)


def optout_message_id(hash_key: str, address: str, at: datetime) -> str:
    return action_message_id(hash_key, "opt", PLATFORM_ACCOUNT, address, at)
