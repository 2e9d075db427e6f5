"""`/t/o/{token}` (open pixel) and `/t/c/{token}` (click redirect) as Chalice routes, P13 and P15.

In AWS the mail's tracking links point at the tracking function URL instead
(public_tracking_front.py), which answers the same (web/tracking_responses.py) without an API Gateway
request; these routes serve the local stack and links already sent.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.web.pages import ANY_TYPE
from chalicelib.web.requests import client_ip

if TYPE_CHECKING:
    from chalicelib.web.tracking_responses import Fetch

public = Blueprint(__name__)


def _fetch() -> Fetch:
    # Here and in the routes, not at the top: a cold start of the API serves one route, and a
    # signup's should load no tracking rules (issue 15).
    from chalicelib.web.tracking_responses import Fetch

    request = public.current_request
    return Fetch(user_agent=request.headers.get("user-agent"),
                 country_header=request.headers.get("cloudfront-viewer-country"),
                 # Dropped once the country is known (P15).
                 ip=client_ip(request),
                 accept=request.headers.get("accept"))


@public.route("/t/o/{token}", methods=["GET"], content_types=ANY_TYPE)
def open_pixel(token: str) -> Response:
    from chalicelib.web import tracking_responses

    return tracking_responses.open_pixel(token, _fetch())


@public.route("/t/c/{token}", methods=["GET"], content_types=ANY_TYPE)
def click(token: str) -> Response:
    from chalicelib.web import tracking_responses

    return tracking_responses.click(token, _fetch())
