"""The double opt-in mail (P01): a transactional message with the signed confirm link.

It names the list and identifies the sender with the account's name and postal address (P08),
names the controller and links its privacy policy (P32), in the list's language. When the signup
ticked the separate tracking box, confirming it confirms that consent too (P30), so the mail says
so before its link, quoting the text the box showed and saying where it is withdrawn.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from chalicelib.domain.accounts import AccountProfile
from chalicelib.domain.outgoing import OutgoingEmail
from chalicelib.domain.subscriptions import MAX_PENDING_DAYS
from chalicelib.domain.suppression import address_hash
from chalicelib.templates import DEFAULT_LANGUAGE, gettext_for, render_mail


def confirm_url(public_base_url: str, token: str) -> str:
    return f"{public_base_url.rstrip('/')}/c/{token}"


def confirmation_email(recipient: str, list_name: str, sender: AccountProfile, token: str, *,
                       public_base_url: str, default_sender: str, language: str = DEFAULT_LANGUAGE,
                       privacy_policy_url: str | None = None,
                       valid_days: int = MAX_PENDING_DAYS,
                       tracking_text: str | None = None) -> OutgoingEmail:
    """The message to `recipient`, in the list's `language`: From the account's verified
    identity, or the platform's; naming the controller and linking its privacy policy (P32);
    saying the link works for the list's `valid_days` (P01). `tracking_text`: the list's
    tracking-consent text the signup's ticked box showed, which confirming also gives (P30);
    None when the box was not ticked, and the mail then says nothing about tracking."""
    url = confirm_url(public_base_url, token)
    text, html = render_mail(
        "confirmation_mail",
        language=language,
        list_name=list_name,
        sender=sender,
        confirm_url=url,
        valid_days=valid_days,
        privacy_policy_url=privacy_policy_url,
        tracking_text=tracking_text,
    )
    _ = gettext_for(language)
    return OutgoingEmail(
        sender=sender.sender_identity or default_sender,
        recipient=recipient,
        subject=_("Please confirm your subscription to %(list)s") % {"list": list_name},
        text=text,
        html=html,
        reply_to=sender.contact_email,
    )


def confirmation_message_id(hash_key: str, list_id: str, address: str, purpose: str,
                            at: datetime, signed_up_at: datetime) -> str:
    """The outbox id of a confirmation mail: the same for one list, address, purpose and signup
    (its consent's time) on one UTC day, so a redelivered job mails once; a new signup, whose
    link is its own (P02), gets its own mail. Keyed with the address's HMAC, so the id reveals
    nothing about the address."""
    seed = (f"{list_id}|{address_hash(address, hash_key)}|{purpose}|{at.date().isoformat()}"
            f"|{signed_up_at.isoformat()}")
    return f"cnf_{hashlib.sha256(seed.encode('utf-8')).hexdigest()[:40]}"
