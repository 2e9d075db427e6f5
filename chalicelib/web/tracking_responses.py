"""What the open pixel and the click redirect answer (P13, P15), whichever front end asked: the
Chalice routes (public_tracking.py: API Gateway, and the local stack) or the tracking function
URL (public_tracking_front.py).

Each answers after one AWS call (the SQS SendMessage in tracking.track). A token that is not
genuine gets a 400 page: never a redirect, so the click route cannot be made an open redirect.
Lists with tracking off have neither link in their mail: composition (domain/marketing_mail.py)
is the guard, because a token cannot know the list's setting without a DynamoDB read here.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from chalice import Response

from chalicelib.domain.tracking import Action
from chalicelib.services.tracking import track
from chalicelib.web.pages import html_errors

# A 1x1 transparent GIF89a: 43 bytes.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
_NO_STORE = {"Cache-Control": "no-store, max-age=0", "Referrer-Policy": "no-referrer",
             "X-Robots-Tag": "noindex"}


@dataclass(frozen=True)
class Fetch:
    """What an answer reads from the request. The IP gives the country and goes no further (P15)."""

    user_agent: str | None
    # CloudFront-Viewer-Country as sent: believed only where the deployment declares CloudFront
    # in front (services/tracking.py).
    country_header: str | None
    ip: str | None
    accept: str | None


def _takes_a_gif(accept: str | None) -> bool:
    # Chalice refuses to return a binary body unless the request's Accept names it or */*
    # (Chalice._validate_binary_response); some image fetchers send neither. The function URL has
    # no such rule but answers alike, so both front ends count and answer the same.
    parts = {part.strip() for part in re.split("[,;]", (accept or "").lower())}
    return "*/*" in parts or "image/gif" in parts


@html_errors()
def open_pixel(token: str, fetch: Fetch) -> Response:
    """Queue the open; the pixel (200), or 204 for a fetcher that does not take a GIF."""
    track(Action.OPEN, token, fetch.user_agent, fetch.country_header, fetch.ip)
    if not _takes_a_gif(fetch.accept):
        # Counted all the same; an image with no content shows nothing, like the pixel.
        return Response(body="", status_code=204, headers=_NO_STORE)
    return Response(body=PIXEL, status_code=200, headers={"Content-Type": "image/gif", **_NO_STORE})


@html_errors()
def click(token: str, fetch: Fetch) -> Response:
    """Queue the click; a 302 to the target the token signs."""
    target = track(Action.CLICK, token, fetch.user_agent, fetch.country_header, fetch.ip)
    # The referrer would carry the token (and so the reader's address) to the target site.
    return Response(body="", status_code=302, headers={"Location": target or "", **_NO_STORE})
