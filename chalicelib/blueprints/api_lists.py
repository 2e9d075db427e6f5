"""`/v1/lists`: the account's distribution lists and their settings."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.domain.subscriptions import MAX_PENDING_DAYS
from chalicelib.services.lists import (
    change_list,
    consent_history,
    create_list,
    delete_list,
    get_list,
    lists_page,
    pending_signup_days,
    tracking_history,
)
from chalicelib.templates import DEFAULT_LANGUAGE, LANGUAGES
from chalicelib.web.requests import page_size
from chalicelib.web.routes import ApiBlueprint, ApiCall

if TYPE_CHECKING:
    from chalicelib.store.models import MailingList

api = ApiBlueprint(__name__)

_URL = {"type": "string", "minLength": 1, "maxLength": 2000}
_SETTINGS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "double_opt_in": {"type": "boolean"},
    # P01: a list may forget unconfirmed signups sooner than the 7 days, never later (null: 7).
    "pending_signup_days": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_PENDING_DAYS},
    "tracking": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"opens": {"type": "boolean"}, "clicks": {"type": "boolean"}},
    },
    "consent_text": {"type": "string", "minLength": 1, "maxLength": 5000},
    # P30: whether opens and clicks need the person's own consent (new lists: required), and the
    # text of that separate box.
    "tracking_consent": {"enum": ["required", "not_required"]},
    "tracking_consent_text": {"type": "string", "minLength": 1, "maxLength": 5000},
    "allowed_origins": {"type": "array", "maxItems": 20, "items": _URL},
    "attributes": {
        "type": "array",
        "maxItems": 50,
        "items": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
    },
    "redirect_after_signup": {"type": ["string", "null"], "maxLength": 2000},
    # P32: linked from the form and the confirmation mail; the language of the list's pages and mails.
    "privacy_policy_url": {"type": ["string", "null"], "maxLength": 2000},
    "language": {"enum": list(LANGUAGES)},
    "redirect_after_confirm": {"type": ["string", "null"], "maxLength": 2000},
}
NEW_LIST = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "consent_text"],
    "properties": _SETTINGS,
}
LIST_PATCH = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": _SETTINGS,
}


def _versions(history: list) -> list[dict[str, Any]]:
    return [{"version": v.version, "text": v.text, "created_at": v.created_at.isoformat()} for v in history]


def list_view(mailing_list: MailingList) -> dict[str, Any]:
    history = consent_history(mailing_list)
    current = history[-1] if history else None
    tracking = tracking_history(mailing_list)
    return {
        "list_id": mailing_list.list_id,
        "name": mailing_list.name,
        "double_opt_in": mailing_list.double_opt_in,
        "pending_signup_days": pending_signup_days(mailing_list),
        "tracking": {"opens": mailing_list.track_opens, "clicks": mailing_list.track_clicks},
        "consent_text": current.text if current else None,
        "consent_version": current.version if current else None,
        "consent_versions": _versions(history),
        "tracking_consent": mailing_list.tracking_consent or "not_required",
        "tracking_consent_text": tracking[-1].text if tracking else None,
        "tracking_consent_versions": _versions(tracking),
        "allowed_origins": sorted(mailing_list.allowed_origins or []),
        "attributes": sorted(mailing_list.declared_attributes or []),
        "privacy_policy_url": mailing_list.privacy_policy_url,
        "language": mailing_list.language or DEFAULT_LANGUAGE,
        "redirect_after_signup": mailing_list.redirect_after_signup,
        "redirect_after_confirm": mailing_list.redirect_after_confirm,
        "created_at": mailing_list.created_at.isoformat(),
        "updated_at": mailing_list.updated_at.isoformat(),
    }


@api.route("/v1/lists", "POST", "Create a list", write=True, body=NEW_LIST, status=201)
def post_list(call: ApiCall) -> dict[str, Any]:
    return list_view(create_list(call.principal.account_id, call.principal.key_id, call.body))


@api.route("/v1/lists", "GET", "List the account's lists, a page at a time",
           query=("limit", "cursor"))
def get_lists(call: ApiCall) -> dict[str, Any]:
    items, cursor = lists_page(
        call.principal.account_id, page_size(call.query.get("limit")), call.query.get("cursor")
    )
    return {"lists": [list_view(item) for item in items], "next_cursor": cursor}


@api.route("/v1/lists/{list_id}", "GET", "Read a list")
def get_one_list(call: ApiCall, list_id: str) -> dict[str, Any]:
    return list_view(get_list(call.principal.account_id, list_id))


@api.route("/v1/lists/{list_id}", "PATCH", "Change a list's settings; a new consent text "
           "becomes a new version", write=True, body=LIST_PATCH)
def patch_list(call: ApiCall, list_id: str) -> dict[str, Any]:
    return list_view(change_list(call.principal.account_id, call.principal.key_id, list_id,
                                 call.body))


@api.route("/v1/lists/{list_id}", "DELETE", "Delete a list and its subscriber entries",
           write=True, status=204)
def remove_list(call: ApiCall, list_id: str) -> None:
    delete_list(call.principal.account_id, call.principal.key_id, list_id)
