"""Bearer API key authentication for `/v1` routes (P27, P28)."""
from __future__ import annotations

from dataclasses import dataclass

from chalice.app import Request

from chalicelib.domain.errors import Forbidden, Unauthorized
from chalicelib.domain.keys import Scope
from chalicelib.services.keys import key_for_secret


@dataclass(frozen=True)
class Principal:
    """Who is calling: one account, through one key."""

    account_id: str
    key_id: str
    scope: Scope


def authenticate(request: Request) -> Principal:
    """The principal for the request's bearer key, or 401."""
    header = request.headers.get("authorization") or ""
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("send 'Authorization: Bearer <api key>'", field="Authorization")
    key = key_for_secret(secret.strip())
    if key is None:
        raise Unauthorized("the API key is not valid", field="Authorization")
    return Principal(account_id=key.account_id, key_id=key.key_id, scope=Scope(key.scope))


def require_write(principal: Principal) -> None:
    if principal.scope is not Scope.FULL:
        raise Forbidden("this key is read-only", field="Authorization")
