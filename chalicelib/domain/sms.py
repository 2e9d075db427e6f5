"""SMS: one campaign text for one subscriber (the replies SNS receives: sms_replies.py).

Every marketing SMS ends with how to stop (P06): STOP_INSTRUCTION on its own line; a reply whose
first word is a stop keyword suppresses the number (P12).
"""
from __future__ import annotations

from chalicelib.domain.campaigns import CampaignContent
from chalicelib.domain.mail_links import FORWARD, PREFERENCES, UNSUBSCRIBE, LinkClaim, link_token, link_url
from chalicelib.domain.marketing_mail import ADVERTISEMENT_LABEL
from chalicelib.domain.sms_encoding import cut_to_fit
from chalicelib.domain.subscriptions import Contact
from chalicelib.domain.templates import render, template_variables
from chalicelib.domain.tokens import Signer
from chalicelib.templates import DEFAULT_LANGUAGE, N_, gettext_for

# A message id (P32): in the list's language, the keyword itself always STOP.
STOP_INSTRUCTION = N_("Reply STOP to opt out")


def compose_sms(*, signer: Signer, account_id: str, campaign_id: str | None, content: CampaignContent,
                recipient: Contact, list_id: str, list_name: str, account_name: str,
                public_base_url: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The text for `recipient`: the rendered body (labelled when an advertisement, P09), cut to
    fit in its encoding (domain/sms_encoding.py), then the stop instruction (P06); what Tidings
    adds is in the list's `language` (P32)."""
    _ = gettext_for(language)
    stop = _(STOP_INSTRUCTION)
    claim = LinkClaim(account_id, list_id, recipient.email, campaign_id)
    base = public_base_url.rstrip("/")
    variables = template_variables(
        recipient, list_name=list_name, account_name=account_name,
        unsubscribe_url=link_url(base, UNSUBSCRIBE, link_token(signer, UNSUBSCRIBE, claim)),
        preferences_url=link_url(base, PREFERENCES, link_token(signer, PREFERENCES, claim)),
        forward_url=link_url(base, FORWARD, link_token(signer, FORWARD, claim)))
    body = render(content.sms_body or "", "sms_body", variables).strip()
    if content.advertisement:
        body = f"{_(ADVERTISEMENT_LABEL)}: {body}"
    return cut_to_fit(body, f"\n{stop}")
