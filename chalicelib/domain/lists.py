"""List settings: consent-text versions, allowed origins, redirect URLs."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.templates import N_


class TrackingConsent(StrEnum):
    """Whether a list asks for its own consent before opens and clicks are tracked (P30).

    New lists ask (REQUIRED); a list stored before the setting existed reads as NOT_REQUIRED,
    as it behaved then. Either way a person can refuse tracking in the preference centre."""

    REQUIRED = "required"
    NOT_REQUIRED = "not_required"


# The tracking box's text when the list gives none: it says what is tracked, why, and how to stop.
DEFAULT_TRACKING_TEXT = ("You may also see when I open these emails and which links I click in them, "
                         "to make them better. I can withdraw this at any time in my preferences.")


def require_privacy_policy(url: str | None) -> str:
    """The list's privacy policy link (P32: its form and confirmation mail link the controller's
    privacy policy); Conflict naming `privacy_policy_url` while it has none, so the list serves
    no form and takes no signup it would mail a confirmation to."""
    if not url:
        raise Conflict(N_("this list takes no signups until it links its privacy policy "
                          "(privacy_policy_url)"), field="privacy_policy_url")
    return url


def tracking_consent_of(stored: str | None) -> TrackingConsent:
    return TrackingConsent(stored) if stored else TrackingConsent.NOT_REQUIRED


@dataclass(frozen=True)
class ConsentText:
    version: int
    text: str
    created_at: datetime


# A list is one DynamoDB item (400 KB at most) that keeps every version of its consent text and
# of its tracking-consent text: each kind may take this much UTF-8 in all.
CONSENT_TEXTS_MAX_BYTES = 150_000


def next_consent_versions(
    versions: list[ConsentText], new_text: str, at: datetime, field: str = "consent_text"
) -> list[ConsentText]:
    """Append a version when the text changed; old versions stay for consent proof (P02).
    `field` names the text in an error: the signup consent's, or the tracking consent's (P30)."""
    text = new_text.strip()
    if not text:
        raise InvalidInput(f"'{field}' must not be empty", field=field)
    if versions and versions[-1].text == text:
        return versions
    number = versions[-1].version + 1 if versions else 1
    kept = [*versions, ConsentText(version=number, text=text, created_at=at)]
    if sum(len(version.text.encode("utf-8")) for version in kept) > CONSENT_TEXTS_MAX_BYTES:
        raise Conflict(f"this list keeps every '{field}' it has shown, as proof of what people agreed "
                       "to (P02), and one more would not fit: create a new list for the new text",
                       field=field)
    return kept


_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|[0-9a-f:.]{2,45}")


def clean_origin(origin: str, field: str = "allowed_origins") -> str:
    """A web origin `scheme://host[:port]`, as browsers send it in the Origin header; anything
    else (a bad port, an unclosed IPv6 bracket, a path) is InvalidInput naming `field`."""
    not_an_origin = InvalidInput(f"'{origin[:200]}' is not an origin like https://example.com", field=field)
    try:
        parts = urlsplit(origin.strip())
        port = parts.port  # raises for a port that is not a number from 0 to 65535
    except ValueError:
        raise not_an_origin from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise not_an_origin
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidInput(f"'{origin[:200]}' must have no path, query or credentials", field=field)
    host = parts.hostname.lower()
    # Browsers send hosts in ASCII (IDNA); anything else can never match an Origin header.
    if not _HOST.fullmatch(host):
        raise not_an_origin
    host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}"


# Printable ASCII without the space: what a URL in a Location header or an href may hold as is.
_URL_CHARACTERS = re.compile(r"[!-~]+")


def clean_redirect_url(url: str, field: str) -> str:
    """An absolute http(s) URL to send the person to after signup or confirmation, or to link.

    It goes into a Location header and into pages and mails as written, so a line break, a
    control character or a space (which `urlsplit` silently drops) is refused, as is anything
    not ASCII: such a URL is given in its ASCII form (punycode host, %-escaped path)."""
    url = url.strip()
    not_a_url = InvalidInput(f"'{field}' must be an absolute http(s) URL", field=field)
    if not _URL_CHARACTERS.fullmatch(url):
        raise InvalidInput(f"'{field}' may hold only printable ASCII: no spaces, line breaks or "
                           "other characters (%-escape them, and give a punycode host)", field=field)
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for a port that is not a number from 0 to 65535
    except ValueError:  # that, or an unclosed IPv6 bracket
        raise not_a_url from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise not_a_url
    return url
