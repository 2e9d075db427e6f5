"""The `/v1` route decorator: one place for auth, scope, body parsing, errors and OpenAPI.

Every `/v1` operation is registered here, so the OpenAPI document cannot miss one.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.domain.errors import TidingsError
from chalicelib.web.auth import Principal, authenticate, require_write
from chalicelib.web.requests import Schema, csv_body, json_body, raw_body
from chalicelib.web.responses import error_response, json_response


@dataclass(frozen=True)
class Operation:
    """What OpenAPI says about one route."""

    method: str
    path: str
    summary: str
    write: bool
    body: Schema | None
    query: tuple[str, ...]
    status: int
    csv_body_limit: int | None = None
    headers: tuple[str, ...] = ()


OPERATIONS: list[Operation] = []


@dataclass
class ApiCall:
    """What a `/v1` handler gets: the caller, the validated body and the query string."""

    principal: Principal
    request: Request
    body: dict[str, Any] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    csv: str = ""


def guarded(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors raised by a view into the JSON error shape."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except TidingsError as error:
            return error_response(error)

    return wrapper


class ApiBlueprint:
    """A Chalice blueprint whose routes are authenticated `/v1` operations."""

    def __init__(self, import_name: str) -> None:
        self.blueprint = Blueprint(import_name)

    def route(
        self,
        path: str,
        method: str,
        summary: str,
        *,
        write: bool = False,
        body: Schema | None = None,
        query: tuple[str, ...] = (),
        status: int = 200,
        csv_body_limit: int | None = None,
        headers: tuple[str, ...] = (),
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a `/v1` operation. `body` is the JSON Schema of a JSON body; `csv_body_limit`
        instead makes the body a `text/csv` file of at most that many bytes; `headers` names the
        optional request headers the operation reads (documented, not required)."""

        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            OPERATIONS.append(
                Operation(method, path, summary, write, body, query, status, csv_body_limit, headers)
            )

            @functools.wraps(handler)
            @guarded
            def view(**path_params: str) -> Response:
                request = self.blueprint.current_request
                raw_body(request, csv_body_limit)
                principal = authenticate(request)
                if write:
                    require_write(principal)
                call = ApiCall(
                    principal=principal,
                    request=request,
                    body=json_body(request, body) if body is not None else {},
                    query=dict(request.query_params or {}),
                    csv=csv_body(request, csv_body_limit) if csv_body_limit else "",
                )
                result = handler(call, **path_params)
                if isinstance(result, Response):
                    return result
                if status == 204:
                    return Response(body="", status_code=204)
                return json_response(result, status)

            # Accept any content type at the gateway, so a wrong one gets our JSON 415 below.
            self.blueprint.route(path, methods=[method], content_types=["*/*"])(view)
            return handler

        return register
