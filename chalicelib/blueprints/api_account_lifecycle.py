"""`/v1/account/...` of an account's end of life: its export and unsubscribe list (P22), and the
deletion request and reactivation (P23). The read routes work for a suspended account too."""
from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.web.requests import page_size
from chalicelib.web.responses import json_response
from chalicelib.web.routes import ApiBlueprint, ApiCall

api = ApiBlueprint(__name__)
# Contact data of the account's subscribers: never cached on the way.
_NO_STORE = {"Cache-Control": "no-store"}


@api.route("/v1/account/export", "GET",
           "Export the account's data: profile, lists, campaigns, and every list entry with its "
           "consent proof, a page at a time (also while suspended, P22)", query=("limit", "cursor"))
def get_account_export(call: ApiCall) -> Response:
    from chalicelib.services.account_lifecycle import account_export
    export = account_export(call.principal.account_id, call.principal.key_id,
                            page_size(call.query.get("limit")), call.query.get("cursor"))
    return json_response(export, 200, _NO_STORE)


@api.route("/v1/account/unsubscribes", "GET",
           "The unsubscribe requests the account received, list by list (also while suspended, P22)",
           query=("limit", "cursor"))
def get_unsubscribes(call: ApiCall) -> Response:
    from chalicelib.services.account_lifecycle import unsubscribes
    found = unsubscribes(call.principal.account_id, call.principal.key_id,
                         page_size(call.query.get("limit")), call.query.get("cursor"))
    return json_response(found, 200, _NO_STORE)


@api.route("/v1/account/deletion", "POST",
           "Ask to delete the account: mails a confirmation link to its contact email; once "
           "confirmed, everything is deleted in 30 days unless reactivated (P23)", write=True, status=202)
def post_deletion(call: ApiCall) -> dict[str, Any]:
    from chalicelib.services.account_lifecycle import request_deletion
    request_deletion(call.principal.account_id, call.principal.key_id)
    return {"status": "confirmation_sent",
            "message": "We have mailed a confirmation link to the account's contact email; nothing "
                       "changes until it is used (within 2 days)."}


@api.route("/v1/account/reactivate", "POST",
           "Cancel a confirmed deletion within its 30 days (P23)", write=True)
def post_reactivate(call: ApiCall) -> dict[str, Any]:
    from chalicelib.services.account_lifecycle import reactivate
    reactivate(call.principal.account_id, call.principal.key_id)
    return {"status": "active", "deletion_due_at": None}
