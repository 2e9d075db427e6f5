"""`/v1/senders`: the addresses and domains the account sends as (P35).

Every From the account uses must be one of these, verified by SES: a domain is verified by the
DNS records the answer lists (Easy DKIM), an address by the link SES mails to it.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalicelib.services.senders import add_sender, delete_sender, get_sender, list_senders
from chalicelib.web.routes import ApiBlueprint, ApiCall

api = ApiBlueprint(__name__)

NEW_SENDER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["identity"],
    "properties": {"identity": {"type": "string", "minLength": 1, "maxLength": 320}},
}


@api.route("/v1/senders", "POST",
           "Add a sender identity (an email address or a domain): creates it in SES and returns the "
           "DNS records to publish for a domain", write=True, body=NEW_SENDER, status=201)
def post_sender(call: ApiCall) -> dict[str, Any]:
    return add_sender(call.principal.account_id, call.principal.key_id, call.body["identity"])


@api.route("/v1/senders", "GET", "List the account's sender identities with their SES status")
def get_senders(call: ApiCall) -> dict[str, Any]:
    return {"senders": list_senders(call.principal.account_id)}


@api.route("/v1/senders/{identity}", "GET", "Read one sender identity and its SES status")
def get_one_sender(call: ApiCall, identity: str) -> dict[str, Any]:
    return get_sender(call.principal.account_id, unquote(identity))


@api.route("/v1/senders/{identity}", "DELETE", "Remove a sender identity (and its SES identity)",
           write=True, status=204)
def remove_sender(call: ApiCall, identity: str) -> None:
    delete_sender(call.principal.account_id, call.principal.key_id, unquote(identity))
