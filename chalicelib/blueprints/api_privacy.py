"""`/v1/privacy/requests`: data-subject requests, recorded and answered at once (P16-P20)."""
from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.blueprints.api_subscribers import SUBSCRIBER_PATCH
from chalicelib.domain.clock import now
from chalicelib.domain.errors import Conflict, InvalidInput, TidingsError
from chalicelib.domain.person_csv import memberships_csv
from chalicelib.domain.privacy import EXPORTING, RequestType, deadline, subject_of
from chalicelib.services.privacy import submit_request
from chalicelib.store import audit
from chalicelib.store.models import PrivacyRequest
from chalicelib.store.privacy_requests import get_request, load_export, requests_page
from chalicelib.web.requests import page_size
from chalicelib.web.responses import json_response
from chalicelib.web.routes import ApiBlueprint, ApiCall

api = ApiBlueprint(__name__)

NEW_REQUEST = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": [t.value for t in RequestType]},
        "email": {"type": "string", "maxLength": 320},
        "phone": {"type": "string", "maxLength": 40},
        "changes": SUBSCRIBER_PATCH,
    },
}
# An export is a copy of a person's data: never cached on the way.
_NO_STORE = {"Cache-Control": "no-store"}


class ExportGone(TidingsError):
    """The export existed but is past its 7 days (or was erased with the person)."""

    status = 410
    code = "export_expired"


def request_view(request: PrivacyRequest) -> dict[str, Any]:
    """The request as the API shows it, with the P19 deadline flags as of now."""
    flags = deadline(request.due_at, request.completed_at is not None, now())
    return {
        "request_id": request.request_id,
        "type": request.type,
        "subject_kind": request.subject_kind,
        "status": request.status,
        "received_at": request.received_at.isoformat(),
        "due_at": request.due_at.isoformat(),
        "completed_at": request.completed_at.isoformat() if request.completed_at else None,
        "overdue": flags.overdue,
        "overdue_soon": flags.overdue_soon,
        "outcome": request.outcome.as_dict() if request.outcome is not None else None,
    }


@api.route("/v1/privacy/requests", "POST",
           "Record a data-subject request about an email or phone and complete it at once",
           write=True, body=NEW_REQUEST, status=201)
def post_request(call: ApiCall) -> dict[str, Any]:
    subject = subject_of(email=call.body.get("email"), phone=call.body.get("phone"))
    request = submit_request(call.principal.account_id, call.principal.key_id,
                             RequestType(call.body["type"]), subject, call.body.get("changes"))
    return request_view(request)


@api.route("/v1/privacy/requests", "GET",
           "List the account's privacy requests, newest first, with overdue flags",
           query=("limit", "cursor"))
def get_requests(call: ApiCall) -> dict[str, Any]:
    items, cursor = requests_page(call.principal.account_id, page_size(call.query.get("limit")),
                                  call.query.get("cursor"))
    return {"requests": [request_view(item) for item in items], "next_cursor": cursor}


@api.route("/v1/privacy/requests/{request_id}", "GET", "Read one privacy request and its outcome")
def get_one_request(call: ApiCall, request_id: str) -> dict[str, Any]:
    return request_view(get_request(call.principal.account_id, request_id))


@api.route("/v1/privacy/requests/{request_id}/export", "GET",
           "Download an access or portability export: JSON, or the list memberships as CSV "
           "(format=csv); available for 7 days", query=("format",))
def get_export(call: ApiCall, request_id: str) -> Response:
    request = get_request(call.principal.account_id, request_id)
    export_format = call.query.get("format", "json")
    if export_format not in ("json", "csv"):
        raise InvalidInput("'format' must be json or csv", field="format")
    if RequestType(request.type) not in EXPORTING:
        raise Conflict(f"a {request.type} request has no export", field="request_id")
    export = load_export(request.account_id, request.request_id)
    if export is None:
        raise ExportGone("this export is no longer available (exports are kept 7 days); "
                         "make a new request", field="request_id")
    audit.record(call.principal.account_id, call.principal.key_id, "privacy.export_downloaded",
                 request.request_id)
    if export_format == "csv":
        return Response(body=memberships_csv(export.get("subscriptions", [])), status_code=200,
                        headers={"Content-Type": "text/csv; charset=utf-8", **_NO_STORE,
                                 "Content-Disposition": f'attachment; filename="{request_id}.csv"'})
    return json_response(export, 200, _NO_STORE)
