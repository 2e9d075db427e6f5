"""`/v1/campaigns`: the account's campaigns — audience, templates, sender and schedule.

The save rules live in services/campaigns.py; sending starts in api_sending.py."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.campaigns import MAX_SMS_LENGTH, CampaignStatus, Channel
from chalicelib.web.requests import page_size
from chalicelib.web.routes import ApiBlueprint, ApiCall

api = ApiBlueprint(__name__)


def _text(max_length: int) -> dict[str, Any]:
    return {"type": ["string", "null"], "maxLength": max_length}


_ADDRESS = _text(320)
_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "channel": {"enum": [channel.value for channel in Channel]},
    "list_ids": {"type": "array", "minItems": 1, "maxItems": 20, "uniqueItems": True,
                 "items": {"type": "string", "minLength": 1, "maxLength": 64}},
    "filter": {"type": ["object", "null"], "maxProperties": 20,
               "propertyNames": {"pattern": "^[a-z][a-z0-9_]{0,39}$"},
               "additionalProperties": {"type": "string", "maxLength": 500}},
    "subject": _text(500),
    "html": _text(200_000),
    "text": _text(100_000),
    "sms_body": _text(MAX_SMS_LENGTH),
    "from_address": _ADDRESS,
    "from_name": {"type": ["string", "null"], "maxLength": 100, "pattern": "^[^\\r\\n]*$"},
    "reply_to": _ADDRESS,
    "advertisement": {"type": "boolean"},
    "send_at": {"type": ["string", "null"], "maxLength": 40},
}
NEW_CAMPAIGN = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "list_ids"],
    "properties": _FIELDS,
}
CAMPAIGN_PATCH = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    # Cancelling keeps the campaign on record; deleting removes it.
    "properties": {**_FIELDS, "status": {"enum": [CampaignStatus.CANCELLED.value]}},
}
@api.route("/v1/campaigns", "POST", "Create a campaign (scheduled when send_at is given)",
           write=True, body=NEW_CAMPAIGN, status=201)
def post_campaign(call: ApiCall) -> dict[str, Any]:
    from chalicelib.services.campaigns import create_campaign
    from chalicelib.web.views import campaign_view
    return campaign_view(create_campaign(call.principal.account_id, call.principal.key_id, call.body))


@api.route("/v1/campaigns", "GET", "List the account's campaigns, a page at a time",
           query=("limit", "cursor"))
def get_campaigns(call: ApiCall) -> dict[str, Any]:
    from chalicelib.services.campaigns import campaigns_page
    from chalicelib.web.views import campaign_view
    items, cursor = campaigns_page(call.principal.account_id, page_size(call.query.get("limit")),
                                   call.query.get("cursor"))
    return {"campaigns": [campaign_view(item) for item in items], "next_cursor": cursor}


@api.route("/v1/campaigns/{campaign_id}", "GET", "Read a campaign")
def get_one_campaign(call: ApiCall, campaign_id: str) -> dict[str, Any]:
    from chalicelib.services.campaigns import get_campaign
    from chalicelib.web.views import campaign_view
    return campaign_view(get_campaign(call.principal.account_id, campaign_id))


@api.route("/v1/campaigns/{campaign_id}", "PATCH", "Change a draft or scheduled campaign; "
           "send_at schedules it, send_at null makes it a draft, status cancelled cancels it (and stops "
           "one that is sending)",
           write=True, body=CAMPAIGN_PATCH)
def patch_campaign(call: ApiCall, campaign_id: str) -> dict[str, Any]:
    from chalicelib.services.campaigns import change_campaign
    from chalicelib.web.views import campaign_view
    return campaign_view(change_campaign(call.principal.account_id, call.principal.key_id, campaign_id,
                                         call.body))


@api.route("/v1/campaigns/{campaign_id}", "DELETE", "Delete a draft, scheduled or cancelled campaign",
           write=True, status=204)
def remove_campaign(call: ApiCall, campaign_id: str) -> None:
    from chalicelib.services.campaigns import delete_campaign
    delete_campaign(call.principal.account_id, call.principal.key_id, campaign_id)
