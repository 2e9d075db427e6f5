"""Signed tracking links, a reader mailed a campaign, and opens and clicks as the worker counts them."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.config import signer
from tests.support.api import bearer
from tests.support.campaigns import campaign_of
from tests.support.lists import new_list, subscribe
from tests.support.tokens import altered

# In the past: moto hides SQS messages whose send time lies ahead of the real clock.
SENT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
LATER = SENT + timedelta(hours=2)
READER = "reader@example.com"
OPEN_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
# What a browser's <img> fetch asks for.
IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"
# Ways a click token is tampered with: each must be refused, never followed.
TAMPERED_TOKENS = [
    altered,  # tag altered
    lambda token: "eyJ1IjoiaHR0cHM6Ly9ldmlsLmV4YW1wbGUvIn0",  # a bare, unencrypted payload
    lambda token: token[:40],  # truncated
    lambda token: altered(token, 30),  # ciphertext altered
]


def mailed_reader(client: Any, account: dict[str, Any]) -> dict[str, str]:
    """A confirmed READER of a new list, and a campaign sent to it: their ids."""
    list_id = new_list(client, bearer(account["api_key"]))
    subscribe(account["account_id"], list_id, READER)
    return {"list_id": list_id, "campaign_id": campaign_of(account["account_id"], list_id)}


def claim_for(account_id: str, list_id: str, address: str, campaign_id: str | None = "cmp_1") -> Any:
    from chalicelib.domain.mail_links import LinkClaim

    return LinkClaim(account_id, list_id, address, campaign_id)


def open_path(claim: Any) -> str:
    from chalicelib.domain.mail_links import OPEN, link_token

    return f"/t/o/{link_token(signer(), OPEN, claim)}"


def click_path(claim: Any, url: str) -> str:
    """A click link as composing makes it for a link written with no merge tag: labelled as its
    target, without query string or fragment."""
    from chalicelib.domain.link_labels import link_label
    from chalicelib.domain.mail_links import click_token

    return f"/t/c/{click_token(signer(), claim, url, link_label(url))}"


def click_path_before_labels(claim: Any, url: str) -> str:
    """A click link as composing made it before labels: the rendered target alone."""
    from chalicelib.domain.mail_links import CLICK

    return f"/t/c/{signer().sign(CLICK, {**claim.payload(), 'u': url})}"


def opened_and_clicked(account_id: str, list_id: str, campaign_id: str, address: str,
                       link: str = "https://shop.example/spring?utm=x",
                       sent_at: datetime | None = None) -> None:
    """The address opened the campaign (mailed at `sent_at`, default now) and clicked `link`, as
    the tracking worker counts it."""
    from chalicelib.domain.engagement import Viewer
    from chalicelib.domain.tracking import Action, TrackingEvent
    from chalicelib.services.tracking import count_events

    at = datetime.now(UTC)
    count_events([TrackingEvent(event_id=uuid.uuid4().hex, action=action, at=at, account_id=account_id,
                                list_id=list_id, campaign_id=campaign_id, address=address,
                                viewer=Viewer.HUMAN, country="RO", link=target, sent_at=sent_at or at)
                  for action, target in ((Action.OPEN, None), (Action.CLICK, link))])


# --- the tracking worker's planner, without AWS (domain/tracking.plan_batch) ------------------------

def tracking_event(event_id: str, *, at: datetime, address: str = READER, action: Any = None,
                   viewer: Any = None, link: str | None = None, country: str = "RO",
                   sent_at: datetime | None = None, campaign_id: str = "cmp_1",
                   list_id: str = "lst_1") -> Any:
    """An open (or, with `action`, a click) of one reader, as the route queues it."""
    from chalicelib.domain.engagement import Viewer
    from chalicelib.domain.tracking import Action, TrackingEvent

    return TrackingEvent(event_id=event_id, action=action or Action.OPEN, at=at, account_id="acc_1",
                         list_id=list_id, campaign_id=campaign_id, address=address,
                         viewer=viewer or Viewer.HUMAN, country=country, link=link, sent_at=sent_at)


def recipient_of(event: Any) -> str:
    """A stand-in for the keyed hash of the event's reader (the planner never looks inside)."""
    return f"h-{event.address}"


def planned(events: list[Any], stored: dict[Any, Any] | None = None, *, now: datetime, **kwargs: Any) -> Any:
    """The worker's plan for a batch of `events` over the markers `stored`, at `now`."""
    from chalicelib.domain.tracking import plan_batch

    recipients = {event.event_id: recipient_of(event) for event in events}
    return plan_batch(events, stored or {}, recipients, now, **kwargs)
