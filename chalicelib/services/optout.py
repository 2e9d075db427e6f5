"""The platform-wide opt-out (P12): ask by address, confirm by mail, then suppressed everywhere.

Asking answers the same way for every address (no enumeration): the mail goes out whether or
not the address is known or already opted out, at most once a day per address, and each IP may
ask only as often as it may sign up (P05).
"""
from __future__ import annotations

from chalicelib.adapters.sqs import enqueue
from chalicelib.config import hash_key, settings, signer
from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.clock import now
from chalicelib.domain.optout import (
    MAIL_KIND,
    PLATFORM_ACCOUNT,
    optout_email,
    optout_message_id,
    read_optout_token,
)
from chalicelib.domain.outbox import EmailJob
from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason
from chalicelib.observability import logger
from chalicelib.resources import OUTBOX
from chalicelib.services.request_limits import refuse_over_request_limits
from chalicelib.store.suppressions import suppress
from chalicelib.templates import N_


def request_optout(raw_email: str, language: str, ip: str | None) -> None:
    """Queue the confirmation mail in `language`; InvalidInput(field="email") for a malformed address,
    TooManyRequests past the per-IP limit that signups and resends count too."""
    address = normalise_email(raw_email, mailable=True)
    # Each ask mails an address the caller typed: unlimited, anyone could mail any number of them.
    refuse_over_request_limits(ip, N_("too many requests from here; please try again later"))
    mail = optout_email(signer(), address, settings().public_base_url, settings().default_sender, language)
    job = EmailJob(message_id=optout_message_id(hash_key(), address, now()), account_id=PLATFORM_ACCOUNT,
                   kind=MAIL_KIND, email=mail)
    enqueue(OUTBOX, job.to_dict())
    logger.info("platform opt-out asked")


def confirm_optout(token: str) -> None:
    """Suppress the token's address for every account (scope `*`). Idempotent; TokenExpired or
    TokenInvalid for a bad link."""
    suppress(PLATFORM_SCOPE, read_optout_link(token), SuppressionReason.PLATFORM_OPT_OUT)
    logger.info("platform opt-out confirmed")


def read_optout_link(token: str) -> str:
    """The address a genuine, unexpired opt-out link names; TokenExpired/TokenInvalid otherwise."""
    return read_optout_token(signer(), token)
