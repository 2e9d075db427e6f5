"""`/v1/lists/{list_id}/subscribers`: the account's subscribers, with their consent proof (P02)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from chalice import Response

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.subscriptions import Status
from chalicelib.services.lists import get_list
from chalicelib.services.signups import api_signup
from chalicelib.services.subscribers import (
    consent_view,
    correct_entry,
    entries_page,
    entry_of,
    remove_entry,
    tracking_view,
)
from chalicelib.web.requests import page_size
from chalicelib.web.responses import json_response
from chalicelib.web.routes import ApiBlueprint, ApiCall
from chalicelib.web.schemas import CONSENT_PROOF, CONTACT, SUBSCRIBER_PATCH

if TYPE_CHECKING:
    from chalicelib.store.models import MailingList, Subscriber

api = ApiBlueprint(__name__)


NEW_SUBSCRIBER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["email"],
    "properties": {"email": {"type": "string", "maxLength": 320}, **CONTACT,
                   "consent": CONSENT_PROOF, "tracking_consent": CONSENT_PROOF},
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
        "tracking_consent": tracking_view(subscriber, mailing_list),
        "created_at": _iso(subscriber.created_at),
        "updated_at": _iso(subscriber.updated_at),
        "expires_at": _iso(subscriber.expires_at),
    }


def _email(raw: str) -> str:
    # The address arrives percent-encoded in the path (`%40` for `@`, `%2B` for `+`).
    return unquote(raw)


@api.route("/v1/lists/{list_id}/subscribers", "POST",
           "Add a subscriber. Double opt-in unless the list turned it off and consent proof is "
           "supplied; a suppressed or unsubscribed address is refused with 409; a confirmation mail "
           "the address got too recently (or too many a day) is refused with 429 and Retry-After",
           write=True, body=NEW_SUBSCRIBER, status=201)
def post_subscriber(call: ApiCall, list_id: str) -> Any:
    mailing_list = get_list(call.principal.account_id, list_id)
    proofs = ("consent", "tracking_consent")
    contact = {name: value for name, value in call.body.items() if name not in proofs}
    result = api_signup(mailing_list, contact, call.body.get("consent"), call.body.get("tracking_consent"))
    view = subscriber_view(result.subscriber, mailing_list)
    return view if result.created else json_response(view, 200)


@api.route("/v1/lists/{list_id}/subscribers", "GET",
           "List a list's subscribers, optionally of one status, a page at a time",
           query=("status", "limit", "cursor"))
def get_subscribers(call: ApiCall, list_id: str) -> dict[str, Any]:
    raw_status = call.query.get("status")
    try:
        status = Status(raw_status) if raw_status else None
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise InvalidInput(f"'status' must be one of {allowed}", field="status") from None
    mailing_list, items, cursor = entries_page(call.principal.account_id, list_id, status,
                                               page_size(call.query.get("limit")), call.query.get("cursor"))
    return {"subscribers": [subscriber_view(item, mailing_list) for item in items],
            "next_cursor": cursor}


@api.route("/v1/lists/{list_id}/subscribers/{email}", "GET",
           "Read a subscriber, with the consent proof and the consent text agreed to")
def get_one_subscriber(call: ApiCall, list_id: str, email: str) -> dict[str, Any]:
    mailing_list, subscriber = entry_of(call.principal.account_id, list_id, _email(email))
    return subscriber_view(subscriber, mailing_list)


@api.route("/v1/lists/{list_id}/subscribers/{email}", "PATCH",
           "Correct a subscriber's contact data (the email is the key and cannot change)",
           write=True, body=SUBSCRIBER_PATCH)
def patch_subscriber(call: ApiCall, list_id: str, email: str) -> dict[str, Any]:
    mailing_list, subscriber = correct_entry(call.principal.account_id, list_id, _email(email), call.body)
    return subscriber_view(subscriber, mailing_list)


@api.route("/v1/lists/{list_id}/subscribers/{email}", "DELETE",
           "Remove a subscriber from the list (suppressions are kept)", write=True, status=204)
def remove_subscriber(call: ApiCall, list_id: str, email: str) -> Response | None:
    remove_entry(call.principal.account_id, call.principal.key_id, list_id, _email(email))
    return None
