"""Opaque, encrypted pagination cursors: a client can pass one back but not forge one, nor pass one
listing's cursor to another (each listing has its own purpose: a list cursor given to
`/v1/campaigns` would otherwise reach DynamoDB as a foreign key and fail with a 500), nor read
one. A cursor is the key the next page resumes after, and a listing of entries resumes after an
address: it travels in a URL's query string, through proxies, access logs and browser histories,
so it is encrypted like a public link's token (domain/tokens.py, P31), not only signed. And pages
that fit one answer (fill_page)."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from chalicelib.config import signer, signing_keys
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.tokens import TokenExpired

# A page follows the one before within minutes; a day is room enough for a slow client.
CURSOR_LIFETIME_SECONDS = 24 * 3600

Item = TypeVar("Item")
# A page is one API answer, which a Lambda may make 6 MB at most; text is up to 4 times bigger
# there (JSON escapes inside Lambda's JSON), so a page of items holding long texts (campaign
# content, consent histories) stops once it holds this much of them (UTF-8).
PAGE_TEXT_MAX_BYTES = 1_000_000


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


def fill_page(items: Iterable[Item], text_bytes: Callable[[Item], int],
              budget: int = PAGE_TEXT_MAX_BYTES) -> tuple[list[Item], bool]:
    """The items, up to `budget` bytes of their text (always at least one), and whether the page
    ended early: then the next page resumes after its last item."""
    page: list[Item] = []
    size = 0
    for item in items:
        size += text_bytes(item)
        if page and size > budget:
            return page, True
        page.append(item)
    return page, False


def utf8_bytes(*texts: str | None) -> int:
    return sum(len(text.encode("utf-8")) for text in texts if text)


def view_bytes(view: Any) -> int:
    """The text an answer's item holds: its JSON in UTF-8, for fill_page."""
    return len(json.dumps(view, ensure_ascii=False, default=str).encode("utf-8"))
