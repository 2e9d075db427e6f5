"""What the opt-out and account-confirmation pages share: form parsing, message pages, and
turning domain errors into a readable page instead of JSON or a stack trace."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from chalice import Response
from chalice.app import Request

from chalicelib.domain.errors import TidingsError
from chalicelib.templates import render_page
from chalicelib.web.requests import raw_body
from chalicelib.web.responses import html_response

FORM_TYPES = ["application/x-www-form-urlencoded"]
# GETs carry no body; a scanner sending an odd Content-Type must still get the page.
ANY_TYPE = ["*/*"]
# Pages whose URL holds a token: never leak it in a Referer, never cache or index it.
PRIVATE_PAGE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def form_fields(request: Request) -> dict[str, str]:
    """The first value of each field of a url-encoded form body (size-limited)."""
    body = raw_body(request).decode("utf-8", errors="replace")
    parsed = parse_qs(body, keep_blank_values=True, max_num_fields=20)
    return {name: values[0] for name, values in parsed.items()}


def message_page(status: int, title: str, paragraphs: list[str]) -> Response:
    return html_response(render_page("message", title=title, paragraphs=paragraphs, link=None), status,
                         PRIVATE_PAGE)


def confirm_page(title: str, paragraphs: list[str], button: str) -> Response:
    """A page whose button POSTs back to its own URL; showing it changes nothing."""
    html = render_page("action_confirm", title=title, paragraphs=paragraphs, button=button)
    return html_response(html, 200, PRIVATE_PAGE)


def html_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Domain errors (bad or expired links included) become a page with the error's status."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except TidingsError as error:
            return message_page(error.status, "This link does not work", [error.message])

    return wrapper
