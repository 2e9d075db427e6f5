"""Forward to a friend (P14): the campaign, sent once to an address the reader types in.

The friend's address is used for this one message and kept nowhere: not in a table, not on a
list, not in a log or a counter; only the campaign's `forwards` count grows. The friend's copy
is composed for the friend, with no tracking and without the reader's links (the friend can never
unsubscribe the reader); its own unsubscribe link suppresses just the friend. A suppressed
friend gets nothing, and the answer does not tell (P05). Each reader may forward a campaign at
most FORWARDS_PER_DAY times a day (the shared abuse counters): otherwise the page would be a
free relay for mail to strangers.
"""
from __future__ import annotations

from chalicelib.adapters.sqs import enqueue
from chalicelib.config import hash_key, settings, signer
from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.clock import now
from chalicelib.domain.errors import InvalidInput, NotFound, TooManyRequests
from chalicelib.domain.mail_links import FORWARD, LinkClaim, read_link_token
from chalicelib.domain.marketing_mail import ListSettings, compose_marketing_email
from chalicelib.domain.outbox import EmailJob
from chalicelib.domain.signup_limits import Counter, keyed
from chalicelib.domain.subscriptions import Contact
from chalicelib.observability import logger
from chalicelib.resources import OUTBOX
from chalicelib.services.accounts import sender_profile
from chalicelib.store import campaign_stats
from chalicelib.store.campaigns import campaign_content, get_campaign
from chalicelib.store.lists import find_list
from chalicelib.store.rate_limits import consume
from chalicelib.store.suppressions import is_suppressed

FORWARDS_PER_DAY = 5
FORWARD_KIND = "forward"


def read_forward_token(token: str) -> LinkClaim:
    """The claim of a genuine forward link of a campaign; TokenInvalid/TokenExpired, or
    InvalidInput for mail that belongs to no campaign."""
    claim = read_link_token(signer(), FORWARD, token)
    if not claim.campaign_id:
        raise InvalidInput("this mail cannot be forwarded from here", field="token")
    return claim


def forward(claim: LinkClaim, friend_email: str) -> None:
    """Queue the campaign to the friend (one outbox job) and count it; InvalidInput for a bad
    address, TooManyRequests past the reader's daily limit, NotFound when the campaign is gone."""
    friend = normalise_email(friend_email)
    campaign_id = claim.campaign_id or ""
    campaign = get_campaign(claim.account_id, campaign_id)
    mailing_list = find_list(claim.list_id)
    if mailing_list is None or mailing_list.account_id != claim.account_id:
        raise NotFound("this list no longer exists", field="token")
    secret = hash_key()
    reader = keyed(secret, "forward", f"{campaign_id}:{claim.address}")
    if consume([Counter(f"fwd:{reader}", FORWARDS_PER_DAY, 86_400)], now()):
        raise TooManyRequests(f"this mail was already forwarded {FORWARDS_PER_DAY} times today")
    if is_suppressed(claim.account_id, friend):
        logger.info("forward to a suppressed address dropped", extra={"campaign_id": campaign_id})
        return
    # No campaign in the friend's links: the friend's opens, clicks and unsubscribes are not the
    # reader's, and are not counted on the campaign.
    email = compose_marketing_email(
        signer=signer(), account_id=claim.account_id, campaign_id="", content=campaign_content(campaign),
        recipient=Contact(email=friend),
        mailing_list=ListSettings(mailing_list.list_id, mailing_list.name, track_opens=False,
                                  track_clicks=False),
        sender=sender_profile(claim.account_id), public_base_url=settings().public_base_url)
    # The same friend twice is one message (the send worker claims the id), and the id is a keyed
    # hash: it names nobody.
    message_id = f"fwd-{keyed(secret, 'forward-to', f'{campaign_id}:{claim.address}:{friend}')}"
    enqueue(OUTBOX, EmailJob(message_id=message_id, account_id=claim.account_id, kind=FORWARD_KIND,
                             email=email, tags={"list": mailing_list.list_id}).to_dict())
    campaign_stats.add_counter(campaign_id, campaign_stats.FORWARDS)
    logger.info("campaign forwarded", extra={"campaign_id": campaign_id})
