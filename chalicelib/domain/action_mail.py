"""A transactional mail that asks its recipient to confirm an action by following one link.

Used for the platform-wide opt-out (P12) and the account email change (P27). The link opens a
page with a button; only that button's POST acts (mail scanners fetch every link). Without a
link it is a notice of something already done, such as the one to a replaced contact email.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.domain.header_text import one_line
from chalicelib.domain.outgoing import OutgoingEmail
from chalicelib.domain.suppression import address_hash
from chalicelib.templates import DEFAULT_LANGUAGE, N_, gettext_for, render_mail

SIGNATURE = N_("The mailing platform")


@dataclass(frozen=True, kw_only=True)
class ActionMail:
    """What the mail says, as message ids (P32) whose `%(name)s` placeholders `params` fill;
    rendered in the sandbox, autoescaped. A notice has no button."""

    subject: str
    paragraphs: tuple[str, ...]
    button: str | None = None
    closing: str
    signature: str = SIGNATURE
    params: Mapping[str, object] = field(default_factory=dict)


def action_email(recipient: str, sender: str, mail: ActionMail, action_url: str | None,
                 reply_to: str | None = None, language: str = DEFAULT_LANGUAGE) -> OutgoingEmail:
    """The mail in `language` (the account's, or the asking browser's for the opt-out); with no
    `action_url`, a notice without link or button."""
    gettext = gettext_for(language)

    def _(message: str) -> str:
        return gettext(message) % mail.params if mail.params else gettext(message)

    text, html = render_mail("action_mail", language, paragraphs=[_(p) for p in mail.paragraphs],
                             button=_(mail.button) if mail.button and action_url else "",
                             action_url=action_url, closing=_(mail.closing), signature=_(mail.signature))
    # An account's name reaches the Subject: the profile refuses line breaks, but a name stored
    # before that check (or written to the table by hand) must not break the header, nor add one.
    return OutgoingEmail(sender=sender, recipient=recipient, subject=one_line(_(mail.subject)), text=text,
                         html=html, reply_to=reply_to)


def action_message_id(hash_key: str, prefix: str, scope: str, address: str, at: datetime) -> str:
    """The outbox id: the same for one action, scope and address on one UTC day, so repeated
    requests mail once a day (and nobody can flood an inbox through the form). Keyed with the
    address's HMAC, so the id reveals nothing about it."""
    seed = f"{prefix}|{scope}|{address_hash(address, hash_key)}|{at.date().isoformat()}"
    return f"{prefix}_{hashlib.sha256(seed.encode('utf-8')).hexdigest()[:40]}"
