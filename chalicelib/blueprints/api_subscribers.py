"""`/v1/lists/{list_id}/subscribers`: the account's subscribers, with their consent proof (P02)."""
from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalice import Response

from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.errors import InvalidInput, NotFound
from chalicelib.domain.subscriptions import Status, clean_changes
from chalicelib.services.signups import api_signup
from chalicelib.store import audit
from chalicelib.store.lists import get_list
from chalicelib.store.models import MailingList, Subscriber
from chalicelib.store.subscribers import (
    consent_view,
    delete_subscriber,
    get_subscriber,
    subscribers_page,
    update_fields,
)
from chalicelib.web.requests import page_size
from chalicelib.web.responses import json_response
from chalicelib.web.routes import ApiBlueprint, ApiCall

api = ApiBlueprint(__name__)


def _text(max_length: int) -> dict[str, Any]:
    return {"type": ["string", "null"], "maxLength": max_length}


_CONTACT = {
    "name": _text(200),
    "company": _text(200),
    "phone": _text(40),
    "website": _text(2000),
    "field_of_activity": _text(200),
    "attributes": {
        "type": "object",
        "maxProperties": 50,
        "additionalProperties": {"type": "string", "maxLength": 500},
    },
}
_CONSENT_PROOF = {
    "type": "object",
    "additionalProperties": False,
    "required": ["given_at"],
    "properties": {
        "given_at": {"type": "string", "maxLength": 40},
        "ip": {"type": "string", "maxLength": 45},
        "user_agent": {"type": "string", "maxLength": 1000},
        "form_url": {"type": "string", "maxLength": 2000},
        "consent_text_version": {"type": "integer", "minimum": 1},
    },
}
NEW_SUBSCRIBER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["email"],
    "properties": {"email": {"type": "string", "maxLength": 320}, **_CONTACT,
                   "consent": _CONSENT_PROOF},
}
SUBSCRIBER_PATCH = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": _CONTACT,
}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _plain(attributes: Any) -> dict[str, Any]:
    return attributes.as_dict() if hasattr(attributes, "as_dict") else dict(attributes or {})


def subscriber_view(subscriber: Subscriber, mailing_list: MailingList) -> dict[str, Any]:
    """The entry as the API shows it, with the consent text the person agreed to (P02)."""
    return {
        "email": subscriber.email,
        "status": subscriber.status,
        "name": subscriber.name,
        "company": subscriber.company,
        "phone": subscriber.phone,
        "website": subscriber.website,
        "field_of_activity": subscriber.field_of_activity,
        "attributes": _plain(subscriber.attributes),
        "consent": consent_view(subscriber, mailing_list),
        "created_at": _iso(subscriber.created_at),
        "updated_at": _iso(subscriber.updated_at),
        "expires_at": _iso(subscriber.expires_at),
    }


def _address(email: str) -> str:
    # The address arrives percent-encoded in the path (`%40` for `@`, `%2B` for `+`).
    return normalise_email(unquote(email), field="email")


def _subscriber(mailing_list: MailingList, email: str) -> Subscriber:
    subscriber = get_subscriber(mailing_list.list_id, _address(email))
    if subscriber is None:
        raise NotFound("no such subscriber on this list", field="email")
    return subscriber


@api.route("/v1/lists/{list_id}/subscribers", "POST",
           "Add a subscriber. Double opt-in unless the list turned it off and consent proof is "
           "supplied; a suppressed or unsubscribed address is refused with 409",
           write=True, body=NEW_SUBSCRIBER, status=201)
def post_subscriber(call: ApiCall, list_id: str) -> Any:
    mailing_list = get_list(call.principal.account_id, list_id)
    contact = {name: value for name, value in call.body.items() if name != "consent"}
    result = api_signup(mailing_list, contact, call.body.get("consent"))
    view = subscriber_view(result.subscriber, mailing_list)
    return view if result.created else json_response(view, 200)


@api.route("/v1/lists/{list_id}/subscribers", "GET",
           "List a list's subscribers, optionally of one status, a page at a time",
           query=("status", "limit", "cursor"))
def get_subscribers(call: ApiCall, list_id: str) -> dict[str, Any]:
    mailing_list = get_list(call.principal.account_id, list_id)
    raw_status = call.query.get("status")
    try:
        status = Status(raw_status) if raw_status else None
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise InvalidInput(f"'status' must be one of {allowed}", field="status") from None
    items, cursor = subscribers_page(list_id, status, page_size(call.query.get("limit")),
                                     call.query.get("cursor"))
    return {"subscribers": [subscriber_view(item, mailing_list) for item in items],
            "next_cursor": cursor}


@api.route("/v1/lists/{list_id}/subscribers/{email}", "GET",
           "Read a subscriber, with the consent proof and the consent text agreed to")
def get_one_subscriber(call: ApiCall, list_id: str, email: str) -> dict[str, Any]:
    mailing_list = get_list(call.principal.account_id, list_id)
    return subscriber_view(_subscriber(mailing_list, email), mailing_list)


@api.route("/v1/lists/{list_id}/subscribers/{email}", "PATCH",
           "Correct a subscriber's contact data (the email is the key and cannot change)",
           write=True, body=SUBSCRIBER_PATCH)
def patch_subscriber(call: ApiCall, list_id: str, email: str) -> dict[str, Any]:
    mailing_list = get_list(call.principal.account_id, list_id)
    subscriber = _subscriber(mailing_list, email)
    changes = clean_changes(call.body, mailing_list.declared_attributes or ())
    update_fields(subscriber, changes)
    return subscriber_view(subscriber, mailing_list)


@api.route("/v1/lists/{list_id}/subscribers/{email}", "DELETE",
           "Remove a subscriber from the list (suppressions are kept)", write=True, status=204)
def remove_subscriber(call: ApiCall, list_id: str, email: str) -> Response | None:
    mailing_list = get_list(call.principal.account_id, list_id)
    delete_subscriber(_subscriber(mailing_list, email))
    # References only: the audit log never holds the address (P27).
    audit.record(call.principal.account_id, call.principal.key_id, "subscriber.deleted", list_id)
    return None
