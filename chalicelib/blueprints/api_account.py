"""`/v1/account`: the calling account's profile (P08: who the sender is)."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.accounts import AccountProfile, clean_profile_changes
from chalicelib.store import audit
from chalicelib.store.accounts import get_account, update_profile
from chalicelib.store.models import Account
from chalicelib.web.routes import ApiBlueprint, ApiCall

api = ApiBlueprint(__name__)

_TEXT = {"type": "string", "minLength": 1, "maxLength": 500}
PROFILE_PATCH = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "postal_address": _TEXT,
        "contact_email": {"type": "string", "maxLength": 320},
        "sender_identity": {"type": "string", "maxLength": 320},
    },
}


def account_view(account: Account) -> dict[str, Any]:
    profile = AccountProfile(
        name=account.name,
        postal_address=account.postal_address,
        contact_email=account.contact_email,
        sender_identity=account.sender_identity,
    )
    return {
        "account_id": account.account_id,
        "name": account.name,
        "postal_address": account.postal_address,
        "contact_email": account.contact_email,
        "sender_identity": account.sender_identity,
        "status": account.status,
        "missing_for_sending": profile.missing_for_sending(),
        "created_at": account.created_at.isoformat(),
        "updated_at": account.updated_at.isoformat(),
    }


@api.route("/v1/account", "GET", "Read the calling account's profile")
def read_account(call: ApiCall) -> dict[str, Any]:
    return account_view(get_account(call.principal.account_id))


@api.route(
    "/v1/account", "PATCH", "Update the account's profile", write=True, body=PROFILE_PATCH
)
def patch_account(call: ApiCall) -> dict[str, Any]:
    account = get_account(call.principal.account_id)
    changes = clean_profile_changes(call.body)
    update_profile(account, changes)
    audit.record(account.account_id, call.principal.key_id, "account.profile_updated",
                 ",".join(sorted(changes)))
    return account_view(account)
