"""Opaque, signed pagination cursors: a client can pass one back but not forge one, nor pass one
listing's cursor to another (each listing signs with its own salt: a list cursor given to
`/v1/campaigns` would otherwise reach DynamoDB as a foreign key and fail with a 500)."""
from __future__ import annotations

from typing import Any

from chalicelib.config import signing_keys
from chalicelib.domain.errors import InvalidInput


def _serializer(listing: str) -> Any:
    # Imported here: only a listing's handlers page (cold start, issue 15).
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(list(signing_keys()), salt=f"page-cursor:{listing}")


def encode_cursor(last_evaluated_key: dict[str, Any] | None, listing: str) -> str | None:
    """A cursor for `listing` (e.g. "campaigns") resuming after `last_evaluated_key`."""
    return _serializer(listing).dumps(last_evaluated_key) if last_evaluated_key else None


def decode_cursor(cursor: str | None, listing: str) -> dict[str, Any] | None:
    """The key a cursor of `listing` resumes after; InvalidInput for any other string."""
    if not cursor:
        return None
    from itsdangerous import BadSignature

    try:
        key = _serializer(listing).loads(cursor)
    except BadSignature:
        raise InvalidInput("'cursor' is not a cursor this listing gave out", field="cursor") from None
    if not isinstance(key, dict):
        raise InvalidInput("'cursor' is not a cursor this listing gave out", field="cursor")
    return key
