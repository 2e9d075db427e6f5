"""List settings: consent-text versions, allowed origins, redirect URLs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from chalicelib.domain.errors import InvalidInput


class TrackingConsent(StrEnum):
    """Whether a list asks for its own consent before opens and clicks are tracked (P30).

    New lists ask (REQUIRED); a list stored before the setting existed reads as NOT_REQUIRED,
    as it behaved then. Either way a person can refuse tracking in the preference centre."""

    REQUIRED = "required"
    NOT_REQUIRED = "not_required"


# The tracking box's text when the list gives none: it says what is tracked, why, and how to stop.
DEFAULT_TRACKING_TEXT = ("You may also see when I open these emails and which links I click in them, "
                         "to make them better. I can withdraw this at any time in my preferences.")


def tracking_consent_of(stored: str | None) -> TrackingConsent:
    return TrackingConsent(stored) if stored else TrackingConsent.NOT_REQUIRED


@dataclass(frozen=True)
class ConsentText:
    version: int
    text: str
    created_at: datetime


def next_consent_versions(
    versions: list[ConsentText], new_text: str, at: datetime
) -> list[ConsentText]:
    """Append a version when the text changed; old versions stay for consent proof (P02)."""
    text = new_text.strip()
    if not text:
        raise InvalidInput("'consent_text' must not be empty", field="consent_text")
    if versions and versions[-1].text == text:
        return versions
    number = versions[-1].version + 1 if versions else 1
    return [*versions, ConsentText(version=number, text=text, created_at=at)]


def clean_origin(origin: str, field: str = "allowed_origins") -> str:
    """A web origin `scheme://host[:port]`, as browsers send it in the Origin header."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"'{origin}' is not an origin like https://example.com", field=field)
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidInput(f"'{origin}' must have no path, query or credentials", field=field)
    host = parts.hostname.lower()
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def clean_redirect_url(url: str, field: str) -> str:
    """An absolute http(s) URL to send the person to after signup or confirmation."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"'{field}' must be an absolute http(s) URL", field=field)
    return url.strip()
