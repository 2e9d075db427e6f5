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
from chalicelib.domain.tokens import TokenExpired, TokenInvalid
from chalicelib.templates import DEFAULT_LANGUAGE, gettext_for, pick_language, render_page
from chalicelib.web.requests import raw_body
from chalicelib.web.responses import html_response, retry_after

FORM_TYPES = ["application/x-www-form-urlencoded"]
# GETs carry no body; a scanner sending an odd Content-Type must still get the page.
ANY_TYPE = ["*/*"]
# Pages whose URL holds a token: never leak it in a Referer, never cache or index it.
PRIVATE_PAGE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def form_fields(request: Request, max_fields: int = 20) -> dict[str, str]:
    """The first value of each field of a url-encoded form body (size-limited). A value that is
    not UTF-8 (a form on a windows-1252 page without accept-charset) is InvalidInput naming its
    field: replacing its bytes with U+FFFD would store a name nobody typed."""
    # surrogateescape keeps each byte that is not UTF-8 as a lone surrogate, to find it below.
    body = raw_body(request).decode("utf-8", errors="surrogateescape")
    try:
        parsed = parse_qs(body, keep_blank_values=True, max_num_fields=max_fields, errors="surrogateescape")
    except ValueError:  # more than max_fields fields
        raise InvalidInput(f"the form has more than {max_fields} fields", field="body") from None
    for name, values in parsed.items():
        if not _is_utf8(name):
            raise InvalidInput("the form is not UTF-8 text", field="body")
        if not all(_is_utf8(value) for value in values):
            raise InvalidInput("the form is not UTF-8 text", field=name)
    return {name: values[0] for name, values in parsed.items()}


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# What a ticked checkbox sends: its value ("yes" in Tidings' forms), or "on" when it has none;
# hand-written forms send "true" or "1". "no", "false", "0", "off" or nothing is not a yes.
_TICKED = frozenset({"yes", "on", "true", "1"})


def ticked(value: str | None) -> bool:
    """Whether a form's checkbox field says yes."""
    return (value or "").strip().lower() in _TICKED


def request_language(request: Request) -> str:
    """The language of a page that belongs to no list: the browser's (Accept-Language), en/ro."""
    return pick_language(request.headers.get("accept-language"))


def localized(error: TidingsError, language: str) -> str:
    """The error's message as a person reads it on a public page, in `language` (P32)."""
    translated = gettext_for(language)(error.message_id)
    return translated % error.params if error.params else translated


def message_page(status: int, title: str, paragraphs: list[str], *, link: dict[str, str] | None = None,
                 headers: dict[str, str] | None = PRIVATE_PAGE, language: str = DEFAULT_LANGUAGE) -> Response:
    """A page of a title and paragraphs (already in `language`), with an optional link (`href`, `text`)."""
    return html_response(render_page("message", language, title=title, paragraphs=paragraphs, link=link),
                         status, headers)


def redirect(location: str, headers: dict[str, str] | None = None) -> Response:
    """303 See Other: a form's POST answered by a GET of `location`."""
    return Response(body="", status_code=303, headers={"Location": location, **(headers or {})})


def confirm_page(title: str, paragraphs: list[str], button: str,
                 language: str = DEFAULT_LANGUAGE) -> Response:
    """A page whose button POSTs back to its own URL; showing it changes nothing."""
    html = render_page("action_confirm", language, title=title, paragraphs=paragraphs, button=button)
    return html_response(html, 200, PRIVATE_PAGE)


def html_errors(blueprint: Any = None, language_of: Callable[[str], str] | None = None,
                ) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Domain errors (bad or expired links included) become a page with the error's status, in
    the language of the link's list (`language_of(token)`) when it can tell, else in the one
    the browser asks for through `blueprint`'s request (without one, as for the tracking
    answers that both front ends share: English)."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            try:
                return view(*args, **kwargs)
            except TidingsError as error:
                language = _error_language(blueprint, language_of, kwargs.get("token"))
                _ = gettext_for(language)
                title = (_("This link does not work") if isinstance(error, TokenExpired | TokenInvalid)
                         else _("Something is not right"))
                return message_page(error.status, title, [localized(error, language)],
                                    headers={**PRIVATE_PAGE, **retry_after(error)}, language=language)

        return wrapper

    return decorate


def _error_language(blueprint: Any, language_of: Callable[[str], str] | None, token: str | None) -> str:
    if language_of is not None and token:
        try:
            return language_of(token)
        except TidingsError:
            pass  # a link that does not verify names no list
    return request_language(blueprint.current_request) if blueprint is not None else DEFAULT_LANGUAGE
