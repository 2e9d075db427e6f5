"""`/v1/account`: the calling account's profile (P08: who the sender is).

The contact email changes only through `/v1/account/email-change`, confirmed at the new
address (P27); PATCH refuses it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.domain.accounts import PROFILE_MAX_LENGTH
from chalicelib.templates import LANGUAGES
from chalicelib.web.routes import ApiBlueprint, ApiCall

if TYPE_CHECKING:
    from chalicelib.store.models import Account

api = ApiBlueprint(__name__)

PROFILE_PATCH = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": PROFILE_MAX_LENGTH["name"]},
        "postal_address": {"type": "string", "minLength": 1,
                           "maxLength": PROFILE_MAX_LENGTH["postal_address"]},
        # Named so the refusal below can point at the route that changes it.
        "contact_email": {"type": "string", "maxLength": PROFILE_MAX_LENGTH["contact_email"]},
        "sender_identity": {"type": "string", "maxLength": PROFILE_MAX_LENGTH["sender_identity"]},
        # P32: the language of the mails the platform sends the account.
        "language": {"enum": list(LANGUAGES)},
    },
}


def account_view(account: Account) -> dict[str, Any]:
    from chalicelib.services.accounts import account_language, profile_of
    return {
        "account_id": account.account_id,
        "name": account.name,
        "postal_address": account.postal_address,
        "contact_email": account.contact_email,
        "sender_identity": account.sender_identity,
        "language": account_language(account),
        "status": account.status,
        "missing_for_sending": profile_of(account).missing_for_sending(),
        "created_at": account.created_at.isoformat(),
        "updated_at": account.updated_at.isoformat(),
    }


@api.route("/v1/account", "GET", "Read the calling account's profile")
def read_account(call: ApiCall) -> dict[str, Any]:
    from chalicelib.services.accounts import get_account
    return account_view(get_account(call.principal.account_id))


@api.route(
    "/v1/account", "PATCH", "Update the account's profile", write=True, body=PROFILE_PATCH
)
def patch_account(call: ApiCall) -> dict[str, Any]:
    from chalicelib.services.accounts import change_profile
    return account_view(change_profile(call.principal.account_id, call.principal.key_id, call.body))


EMAIL_CHANGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["new_email"],
    "properties": {"new_email": {"type": "string", "maxLength": 320}},
}


@api.route("/v1/account/email-change", "POST",
           "Change the contact email: mails a confirmation link to the new address; nothing "
           "changes until it is used", write=True, body=EMAIL_CHANGE, status=202)
def post_email_change(call: ApiCall) -> dict[str, Any]:
    from chalicelib.services.email_change import request_email_change
    request_email_change(call.principal.account_id, call.principal.key_id, call.body["new_email"])
    return {"status": "confirmation_sent",
            "message": "We have mailed a confirmation link to the new address; the contact email "
                       "changes when it is used (within 2 days)."}
