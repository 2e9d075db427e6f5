"""Security headers on every answer, added in one place (a Chalice middleware, and the tracking
function URL's own answers): whatever a route returns, it cannot forget them.

- every answer: `X-Content-Type-Options: nosniff` (a JSON error is never sniffed into HTML);
- HTML pages: a Content-Security-Policy with no script at all (the pages need none; styles are
  inline), `frame-ancestors 'none'` and `X-Frame-Options: DENY` (no clickjacking of the confirm,
  unsubscribe or erasure buttons), `Referrer-Policy: no-referrer` (their URLs carry tokens);
- every 429: `Retry-After` (the error's own, else a minute).

A page that sets its own policy (the local outbox) keeps it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Response

PAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: https:; "
               "frame-ancestors 'none'; base-uri 'none'")
DEFAULT_RETRY_AFTER_SECONDS = 60


def add_security_headers(response: Response) -> Response:
    """The response with the headers above (those it already has are kept)."""
    headers = response.headers
    names = {name.lower(): name for name in headers}
    content_type = str(headers.get(names.get("content-type", ""), "")).lower()

    def set_default(name: str, value: str) -> None:
        if name.lower() not in names:
            headers[name] = value

    set_default("X-Content-Type-Options", "nosniff")
    if content_type.startswith("text/html"):
        set_default("Content-Security-Policy", PAGE_POLICY)
        set_default("X-Frame-Options", "DENY")
        set_default("Referrer-Policy", "no-referrer")
    if response.status_code == 429:
        set_default("Retry-After", str(DEFAULT_RETRY_AFTER_SECONDS))
    return response


def security_headers(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice HTTP middleware: add_security_headers on every route's answer."""
    return add_security_headers(get_response(event))
