"""Opaque, signed pagination cursors: a client can pass one back but not forge one."""
from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from chalicelib.config import signing_keys
from chalicelib.domain.errors import InvalidInput


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(list(signing_keys()), salt="page-cursor")


def encode_cursor(last_evaluated_key: dict[str, Any] | None) -> str | None:
    return _serializer().dumps(last_evaluated_key) if last_evaluated_key else None


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        return _serializer().loads(cursor)
    except BadSignature:
        raise InvalidInput("'cursor' is not a cursor this API gave out", field="cursor") from None
