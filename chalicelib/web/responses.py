"""Response shapes: JSON bodies and the one error shape every 4xx uses."""
from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.domain.errors import TidingsError


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=body,
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def error_response(error: TidingsError, headers: dict[str, str] | None = None, *,
                   message: str | None = None) -> Response:
    """`{"error": {"code", "message", "field"}}` with the error's status (`message`: the
    error's own, or one in a public page's language)."""
    body = {"error": {"code": error.code, "message": message or error.message, "field": error.field}}
    return json_response(body, error.status, {**retry_after(error), **(headers or {})})


def retry_after(error: TidingsError) -> dict[str, str]:
    """`Retry-After` for a rate-limit error that knows when its window ends (else none here:
    web/security.py adds a default to every 429)."""
    seconds = getattr(error, "retry_after", None)
    return {"Retry-After": str(max(1, int(seconds)))} if seconds else {}


def html_response(html: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=html,
        status_code=status,
        headers={"Content-Type": "text/html; charset=utf-8", **(headers or {})},
    )
