"""What the public pages share: form parsing, message and confirm pages, redirects, and
turning domain errors into a readable page instead of JSON or a stack trace."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from chalice import Response
from chalice.app import Request

from chalicelib.domain.errors import InvalidInput, TidingsError
from chalicelib.templates import DEFAULT_LANGUAGE, render_page
from chalicelib.web.requests import raw_body
from chalicelib.web.responses import html_response, retry_after

FORM_TYPES = ["application/x-www-form-urlencoded"]
# GETs carry no body; a scanner sending an odd Content-Type must still get the page.
ANY_TYPE = ["*/*"]
# Pages whose URL holds a token: never leak it in a Referer, never cache or index it.
PRIVATE_PAGE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def form_fields(request: Request, max_fields: int = 20) -> dict[str, str]:
    """The first value of each field of a url-encoded form body (size-limited)."""
    body = raw_body(request).decode("utf-8", errors="replace")
    try:
        parsed = parse_qs(body, keep_blank_values=True, max_num_fields=max_fields)
    except ValueError:  # more than max_fields fields
        raise InvalidInput(f"the form has more than {max_fields} fields", field="body") from None
    return {name: values[0] for name, values in parsed.items()}


def message_page(status: int, title: str, paragraphs: list[str], *, link: dict[str, str] | None = None,
                 headers: dict[str, str] | None = PRIVATE_PAGE, language: str = DEFAULT_LANGUAGE) -> Response:
    """A page of a title and paragraphs (already in `language`), with an optional link (`href`, `text`)."""
    return html_response(render_page("message", language, title=title, paragraphs=paragraphs, link=link),
                         status, headers)


def redirect(location: str, headers: dict[str, str] | None = None) -> Response:
    """303 See Other: a form's POST answered by a GET of `location`."""
    return Response(body="", status_code=303, headers={"Location": location, **(headers or {})})


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
            return message_page(error.status, "This link does not work", [error.message],
                                headers={**PRIVATE_PAGE, **retry_after(error)})

    return wrapper
