"""Forward to a friend (P14) as a shareable web view: no reader's action sends a mail.

A mailed copy to any address a reader types in would put strangers on the sender's reputation:
five "forwards" to complaint addresses once pushed an account over its complaint limit, and
SES judges the whole deployment by such figures. So the reader's forward link (`/fwd/{token}`)
shows a button that gives them a link to the campaign's web view (`/v/{token}`) to pass on
themselves, from their own mailbox or anywhere. Nothing is mailed, no friend's address is ever
asked for or kept, nothing can bounce or complain; each share is counted on the campaign.

The share link names the campaign only (no reader, no address, P31): the web view renders the
campaign for an anonymous viewer, without tracking and without anyone's unsubscribe link. A
reader's forward link ends when the reader does: unsubscribed, suppressed, erased, or no longer
confirmed on the list; and every forward and share link ends while the account is suspended or
cancelled (P26, P33). A reader may share a campaign at most FORWARDS_PER_DAY times a day.
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.config import hash_key, settings, signer
from chalicelib.domain.campaigns import CampaignStatus
from chalicelib.domain.clock import now
from chalicelib.domain.errors import InvalidInput, NotFound, TidingsError
from chalicelib.domain.health import sending_blocked_reason
from chalicelib.domain.mail_links import FORWARD, LinkClaim, read_link_token
from chalicelib.domain.signup_limits import Counter, keyed
from chalicelib.domain.subscriptions import Contact, Status
from chalicelib.domain.suppression import account_subject, address_hash
from chalicelib.domain.templates import render, template_variables
from chalicelib.observability import logger
from chalicelib.store import campaign_stats
from chalicelib.store.accounts import get_account
from chalicelib.store.campaigns import campaign_content, get_campaign
from chalicelib.store.lists import find_list, list_language
from chalicelib.store.models import Campaign
from chalicelib.store.rate_limits import consume_or_refuse
from chalicelib.store.subscribers import get_subscriber
from chalicelib.store.suppressions import is_suppressed_for_list
from chalicelib.templates import DEFAULT_LANGUAGE, N_

FORWARDS_PER_DAY = 5
SHARE = "campaign-share"
# A shared link works this long: long enough to be passed on, not forever.
SHARE_LIFETIME_SECONDS = 90 * 86_400
# Campaigns whose mail went out: a draft is never shown.
_SHOWN = frozenset({CampaignStatus.SENDING.value, CampaignStatus.SENT.value, CampaignStatus.FAILED.value})


class LinkEnded(TidingsError):
    """A genuine link that no longer works: its reader left, or the account may not send."""

    status = 410
    code = "link_ended"


@dataclass(frozen=True)
class SharedView:
    """What the web view shows: the campaign's HTML for an anonymous viewer, or its text."""

    subject: str
    html: str | None
    text: str | None
    # The list's language (P32), for the page around a text-only campaign.
    language: str = DEFAULT_LANGUAGE


def _live_account(account_id: str) -> None:
    if sending_blocked_reason(get_account(account_id)):
        raise LinkEnded(N_("this mail can no longer be shared"), field="token")


def _shown_campaign(account_id: str, campaign_id: str) -> Campaign:
    campaign = get_campaign(account_id, campaign_id)
    if campaign.status not in _SHOWN:
        raise NotFound(N_("this mail does not exist"), field="token")
    return campaign


def reader_link(token: str) -> LinkClaim:
    """The claim of a forward link that still works: genuine, of a campaign, its reader still
    confirmed on the list and not suppressed, the account allowed to send. LinkEnded (410)
    otherwise, TokenInvalid/TokenExpired for a bad link."""
    claim = read_link_token(signer(), FORWARD, token)
    if not claim.campaign_id:
        raise InvalidInput(N_("this mail cannot be forwarded from here"), field="token")
    _live_account(claim.account_id)
    entry = get_subscriber(claim.list_id, claim.address)
    if (entry is None or entry.account_id != claim.account_id or entry.status != Status.CONFIRMED.value
            or is_suppressed_for_list(claim.account_id, claim.address, claim.list_id)):
        raise LinkEnded(N_("this forward link no longer works"), field="token")
    _shown_campaign(claim.account_id, claim.campaign_id)
    return claim


def share_url(claim: LinkClaim) -> str:
    """The web view's link for the campaign of `claim`: the campaign's ids, no reader."""
    token = signer().sign(SHARE, {"a": claim.account_id, "c": claim.campaign_id, "l": claim.list_id})
    return f"{settings().public_base_url.rstrip('/')}/v/{token}"


def share(token: str) -> tuple[LinkClaim, str]:
    """Count one share by the reader of a live forward link; the link's claim and the link to
    pass on. TooManyRequests past the reader's daily limit."""
    claim = reader_link(token)
    reader = keyed(hash_key(), "forward", f"{claim.campaign_id}:{claim.address}")
    counter = Counter(f"fwd:{reader}", FORWARDS_PER_DAY, 86_400,
                      account_subject(claim.account_id, address_hash(claim.address, hash_key())))
    consume_or_refuse([counter], now(),
                      N_("this mail was already shared %(count)s times today"),
                      params={"count": FORWARDS_PER_DAY})
    campaign_stats.add_counter(claim.campaign_id or "", campaign_stats.FORWARDS)
    logger.info("campaign shared", extra={"campaign_id": claim.campaign_id})
    return claim, share_url(claim)


def shared_view(token: str) -> SharedView:
    """The campaign a share link names, rendered for nobody in particular (no tracking, no
    reader's links); LinkEnded while the account may not send."""
    payload = signer().verify(SHARE, token, SHARE_LIFETIME_SECONDS)
    account_id, campaign_id, list_id = (str(payload.get(key, "")) for key in ("a", "c", "l"))
    _live_account(account_id)
    content = campaign_content(_shown_campaign(account_id, campaign_id))
    mailing_list = find_list(list_id)
    link = f"{settings().public_base_url.rstrip('/')}/v/{token}"
    variables = template_variables(Contact(email=""), list_name=mailing_list.name if mailing_list else "",
                                   account_name=get_account(account_id).name, unsubscribe_url="",
                                   preferences_url="", forward_url=link)
    return SharedView(subject=render(content.subject or "", "subject", variables),
                      html=render(content.html, "html", variables) if content.html else None,
                      text=render(content.text, "text", variables) if content.text else None,
                      language=list_language(mailing_list))


def language_of(token: str) -> str:
    """The language of the page a forward link opens: its list's (P32)."""
    return list_language(find_list(read_link_token(signer(), FORWARD, token).list_id))
