"""Opaque, encrypted pagination cursors: a client can pass one back but not forge one, nor pass one
listing's cursor to another (each listing has its own purpose: a list cursor given to
`/v1/campaigns` would otherwise reach DynamoDB as a foreign key and fail with a 500), nor read
one. A cursor is the key the next page resumes after, and a listing of entries resumes after an
address: it travels in a URL's query string, through proxies, access logs and browser histories,
so it is encrypted like a public link's token (domain/tokens.py, P31), not only signed."""
from __future__ import annotations

from typing import Any

from chalicelib.config import signer, signing_keys
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.tokens import TokenExpired

# A page follows the one before within minutes; a day is room enough for a slow client.
CURSOR_LIFETIME_SECONDS = 24 * 3600


def _purpose(listing: str) -> str:
    return f"page-cursor:{listing}"


def encode_cursor(last_evaluated_key: dict[str, Any] | None, listing: str) -> str | None:
    """A cursor for `listing` (e.g. "campaigns") resuming after `last_evaluated_key`."""
    return signer().sign(_purpose(listing), {"k": last_evaluated_key}) if last_evaluated_key else None


def decode_cursor(cursor: str | None, listing: str) -> dict[str, Any] | None:
    """The key a cursor of `listing` resumes after; InvalidInput naming `cursor` for any other
    string, or one older than CURSOR_LIFETIME_SECONDS."""
    if not cursor:
        return None
    try:
        key = (_signed_only(cursor, listing) if "." in cursor
               else signer().verify(_purpose(listing), cursor, CURSOR_LIFETIME_SECONDS).get("k"))
    except TokenExpired:
        raise InvalidInput("'cursor' has expired; list again from the first page", field="cursor") from None
    except InvalidInput:
        raise InvalidInput("'cursor' is not a cursor this listing gave out", field="cursor") from None
    if not isinstance(key, dict):
        raise InvalidInput("'cursor' is not a cursor this listing gave out", field="cursor")
    return key


def _signed_only(cursor: str, listing: str) -> Any:
    """A cursor given out before cursors were encrypted (signed only, with a dot): still read, so
    a client paging through a listing at the change carries on; none is made any more."""
    # Imported here: only such a cursor needs it (cold start, issue 15).
    from itsdangerous import BadSignature, URLSafeSerializer

    try:
        return URLSafeSerializer(list(signing_keys()), salt=f"page-cursor:{listing}").loads(cursor)
    except BadSignature:
        raise InvalidInput("'cursor' is not a cursor this listing gave out", field="cursor") from None
