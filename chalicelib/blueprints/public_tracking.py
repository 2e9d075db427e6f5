"""`/t/o/{token}` (open pixel) and `/t/c/{token}` (click redirect), P13 and P15.

Each answers after one AWS call (the SQS SendMessage in tracking.track). A token that is not
genuine gets a 400 page: never a redirect, so the click route cannot be made an open redirect.
Lists with tracking off have neither link in their mail: composition (domain/marketing_mail.py)
is the guard, because a token cannot know the list's setting without a DynamoDB read here.
"""
from __future__ import annotations

import base64
import re

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.blueprints.public_pages import ANY_TYPE, html_errors
from chalicelib.domain.tracking import Action
from chalicelib.tracking import track

public = Blueprint(__name__)

# A 1x1 transparent GIF89a: 43 bytes.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
_NO_STORE = {"Cache-Control": "no-store, max-age=0", "Referrer-Policy": "no-referrer",
             "X-Robots-Tag": "noindex"}


def _track(action: Action, token: str) -> str | None:
    request: Request = public.current_request
    # API Gateway's view of the caller; dropped once the country is known (P15).
    ip = (request.context.get("identity") or {}).get("sourceIp")
    return track(action, token, request.headers.get("user-agent"),
                 request.headers.get("cloudfront-viewer-country"), ip)


def _takes_a_gif(accept: str | None) -> bool:
    # Chalice refuses to return a binary body unless the request's Accept names it or */*
    # (Chalice._validate_binary_response); some image fetchers send neither.
    parts = {part.strip() for part in re.split("[,;]", (accept or "").lower())}
    return "*/*" in parts or "image/gif" in parts


@public.route("/t/o/{token}", methods=["GET"], content_types=ANY_TYPE)
@html_errors
def open_pixel(token: str) -> Response:
    _track(Action.OPEN, token)
    if not _takes_a_gif(public.current_request.headers.get("accept")):
        # Counted all the same; an image with no content shows nothing, like the pixel.
        return Response(body="", status_code=204, headers=_NO_STORE)
    return Response(body=PIXEL, status_code=200, headers={"Content-Type": "image/gif", **_NO_STORE})


@public.route("/t/c/{token}", methods=["GET"], content_types=ANY_TYPE)
@html_errors
def click(token: str) -> Response:
    target = _track(Action.CLICK, token)
    # The referrer would carry the token (and so the reader's address) to the target site.
    return Response(body="", status_code=302, headers={"Location": target or "", **_NO_STORE})
