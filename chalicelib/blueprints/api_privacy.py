"""`/v1/privacy/requests`: data-subject requests, recorded and answered at once (P16-P20)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Response

from chalicelib.domain.clock import now
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.request_types import RequestType
from chalicelib.web.requests import page_size
from chalicelib.web.responses import json_response
from chalicelib.web.routes import ApiBlueprint, ApiCall
from chalicelib.web.schemas import SUBSCRIBER_PATCH

if TYPE_CHECKING:
    from chalicelib.store.models import PrivacyRequest

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


def request_view(request: PrivacyRequest) -> dict[str, Any]:
    """The request as the API shows it, with the P19 deadline flags as of now."""
    from chalicelib.domain.privacy import deadline
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
    from chalicelib.domain.privacy import subject_of
    from chalicelib.services.privacy import submit_request
    subject = subject_of(email=call.body.get("email"), phone=call.body.get("phone"))
    request = submit_request(call.principal.account_id, call.principal.key_id,
                             RequestType(call.body["type"]), subject, call.body.get("changes"))
    return request_view(request)


@api.route("/v1/privacy/requests", "GET",
           "List the account's privacy requests, newest first, with overdue flags",
           query=("limit", "cursor"))
def get_requests(call: ApiCall) -> dict[str, Any]:
    from chalicelib.services.privacy import requests_page
    items, cursor = requests_page(call.principal.account_id, page_size(call.query.get("limit")),
                                  call.query.get("cursor"))
    return {"requests": [request_view(item) for item in items], "next_cursor": cursor}


@api.route("/v1/privacy/requests/{request_id}", "GET", "Read one privacy request and its outcome")
def get_one_request(call: ApiCall, request_id: str) -> dict[str, Any]:
    from chalicelib.services.privacy import get_request
    return request_view(get_request(call.principal.account_id, request_id))


@api.route("/v1/privacy/requests/{request_id}/export", "GET",
           "Download an access or portability export: JSON, or the list memberships as CSV "
           "(format=csv); available for 7 days", query=("format",))
def get_export(call: ApiCall, request_id: str) -> Response:
    from chalicelib.domain.person_csv import memberships_csv
    from chalicelib.services.privacy import download_export
    export_format = call.query.get("format", "json")
    if export_format not in ("json", "csv"):
        raise InvalidInput("'format' must be json or csv", field="format")
    export = download_export(call.principal.account_id, call.principal.key_id, request_id)
    if export_format == "csv":
        return Response(body=memberships_csv(export.get("subscriptions", [])), status_code=200,
                        headers={"Content-Type": "text/csv; charset=utf-8", **_NO_STORE,
                                 "Content-Disposition": f'attachment; filename="{request_id}.csv"'})
    return json_response(export, 200, _NO_STORE)
