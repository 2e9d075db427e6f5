"""Domain errors. Logic raises these; the web layer turns them into the JSON error shape."""
from __future__ import annotations

from collections.abc import Mapping

# A name taken from the input (a JSON key, a CSV header cell) may be as long as the body: an
# error echoes this much of it, in its message and its `field`, not a megabyte once JSON-escaped.
SHOWN_NAME_CHARS = 64


def shown_name(name: str) -> str:
    """A name from the input as an error echoes it: its first SHOWN_NAME_CHARS characters, then
    an ellipsis, with unprintable ones escaped (`\\x07`, `\\u2028`), so it reads on one line."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                    for c in name[:SHOWN_NAME_CHARS])
    return shown + "\u2026" if len(name) > SHOWN_NAME_CHARS else shown


class TidingsError(Exception):
    """Base of every error a caller may see. `status` is the HTTP status it maps to."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, *, params: Mapping[str, object] | None = None,
                 detail: str | None = None) -> None:
        """`message` is also the error's message id in the catalogs (chalicelib/locale): a
        message a person may see on a public page is marked `N_(...)`, with its variable parts
        as `%(name)s` placeholders filled from `params`; public pages show it translated
        (web/pages.py `localized`). `detail` adds an English explanation for API callers only
        (a library's own words, which no catalog holds)."""
        summary = message % params if params else message
        text = f"{summary}: {detail}" if detail else summary
        super().__init__(text)
        self.message = text
        # Without the detail, which may quote the input (email-validator names the address's
        # characters and domain): what may be stored beside someone's data.
        self.summary = summary
        self.message_id = message
        self.params: Mapping[str, object] = params or {}
        self.field = field


class InvalidInput(TidingsError):
    status = 400
    code = "invalid_input"


class Unauthorized(TidingsError):
    status = 401
    code = "unauthorized"


class Forbidden(TidingsError):
    status = 403
    code = "forbidden"


class NotFound(TidingsError):
    status = 404
    code = "not_found"


class Conflict(TidingsError):
    status = 409
    code = "conflict"


class Unprocessable(TidingsError):
    """A well-formed request the server will not act on, such as an Idempotency-Key reused for a
    different request (the IETF Idempotency-Key draft's 422)."""

    status = 422
    code = "unprocessable"


class PayloadTooLarge(TidingsError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(TidingsError):
    status = 415
    code = "unsupported_media_type"


class TooManyRequests(TidingsError):
    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, field: str | None = None, retry_after: int | None = None, *,
                 params: Mapping[str, object] | None = None) -> None:
        super().__init__(message, field, params=params)
        # Seconds until the limit that was full lets the caller in again (Retry-After).
        self.retry_after = retry_after


class ServiceUnavailable(TidingsError):
    """An AWS service failed part-way and what was done is kept or undone (nothing lost): the
    same request may be made again after `retry_after` seconds (Retry-After)."""

    status = 503
    code = "unavailable"

    def __init__(self, message: str, field: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, field)
        self.retry_after = retry_after
