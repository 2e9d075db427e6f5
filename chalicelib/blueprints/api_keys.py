"""`/v1/keys`: the account's API keys. The secret is returned once, at creation (P27)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.domain.keys import Scope
from chalicelib.services.keys import create_key, keys_of, revoke_key
from chalicelib.web.routes import ApiBlueprint, ApiCall

if TYPE_CHECKING:
    from chalicelib.store.models import ApiKey

api = ApiBlueprint(__name__)

NEW_KEY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "scope": {"type": "string", "enum": [scope.value for scope in Scope]},
    },
}


def key_view(key: ApiKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "scope": key.scope,
        "created_at": key.created_at.isoformat(),
    }


@api.route("/v1/keys", "POST", "Create an API key (its secret is shown only now)",
           write=True, body=NEW_KEY, status=201)
def post_key(call: ApiCall) -> dict[str, Any]:
    scope = Scope(call.body.get("scope", Scope.FULL.value))
    key, secret = create_key(call.principal.account_id, call.principal.key_id, call.body["name"],
                             scope)
    return {**key_view(key), "secret": secret}


@api.route("/v1/keys", "GET", "List the account's API keys (never their secrets)")
def get_keys(call: ApiCall) -> dict[str, Any]:
    return {"keys": [key_view(key) for key in keys_of(call.principal.account_id)]}


@api.route("/v1/keys/{key_id}", "DELETE", "Revoke an API key", write=True, status=204)
def remove_key(call: ApiCall, key_id: str) -> None:
    revoke_key(call.principal.account_id, call.principal.key_id, key_id)
