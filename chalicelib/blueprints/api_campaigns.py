"""`/v1/campaigns`: the account's campaigns — audience, templates, sender and schedule.

A campaign is checked whole on every save that touches its content: the channel's rules, the
lists (the account's own), the filter, every template (compiled and test-rendered: an error is a
400 at save time, never a failure mid-send) and, for email, a From identity verified in SES (P08).
Sending is not here: it starts through store.campaigns.start_sending.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.adapters.ses import is_verified_sender
from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.campaigns import (
    MAX_SMS_LENGTH,
    CampaignContent,
    CampaignStatus,
    Channel,
    check_content,
    check_editable,
    clean_filter,
    clean_send_at,
    with_text_part,
)
from chalicelib.domain.clock import now
from chalicelib.domain.errors import InvalidInput, NotFound
from chalicelib.domain.templates import validate_template
from chalicelib.store import audit
from chalicelib.store.accounts import get_account
from chalicelib.store.campaigns import (
    campaign_content,
    campaigns_page,
    content_values,
    create_campaign,
    delete_campaign,
    get_campaign,
    update_campaign,
)
from chalicelib.store.lists import get_list
from chalicelib.store.models import Campaign
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
# Body fields that are part of CampaignContent (the rest: name, send_at, status).
_CONTENT_FIELDS = ("channel", "list_ids", "filter", "subject", "html", "text", "sms_body",
                   "from_address", "from_name", "reply_to", "advertisement")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def campaign_view(campaign: Campaign) -> dict[str, Any]:
    content = campaign_content(campaign)
    return {
        "campaign_id": campaign.campaign_id,
        "name": campaign.name,
        "status": campaign.status,
        "channel": content.channel.value,
        "list_ids": sorted(content.list_ids),
        "filter": content.attribute_filter,
        "subject": content.subject,
        "html": content.html,
        "text": content.text,
        "text_from_html": content.text_from_html,
        "sms_body": content.sms_body,
        "from_address": content.from_address,
        "from_name": content.from_name,
        "reply_to": content.reply_to,
        "advertisement": content.advertisement,
        "send_at": _iso(campaign.send_at),
        "created_at": _iso(campaign.created_at),
        "updated_at": _iso(campaign.updated_at),
        "started_at": _iso(campaign.started_at),
        "finished_at": _iso(campaign.finished_at),
    }


def _content_changes(body: dict[str, Any]) -> dict[str, Any]:
    """CampaignContent fields from the body's content fields (addresses normalised)."""
    changes: dict[str, Any] = {}
    for name in _CONTENT_FIELDS:
        if name not in body or name == "text":
            continue
        value = body[name]
        if name == "channel":
            value = Channel(value)
        elif name == "list_ids":
            value = frozenset(value)
        elif name == "filter":
            name, value = "attribute_filter", dict(value or {})
        elif name in ("from_address", "reply_to") and value:
            value = normalise_email(value, field=name)
        elif isinstance(value, str):
            value = value.strip() or None
        changes[name] = value
    return changes


def _checked(account_id: str, content: CampaignContent) -> CampaignContent:
    """The content, when it may be saved: channel rules, the account's own lists, the filter,
    every template, and a verified From identity. The first problem is raised, naming its field."""
    check_content(content)
    declared: set[str] = set()
    for list_id in sorted(content.list_ids):
        try:
            declared |= set(get_list(account_id, list_id).declared_attributes or ())
        except NotFound:
            raise NotFound(f"no such list: {list_id}", field="list_ids") from None
    content = replace(content, attribute_filter=clean_filter(content.attribute_filter, declared))
    for field, source in content.template_fields().items():
        # A derived text part comes from the html: its errors are the html's.
        validate_template(source, "html" if field == "text" and content.text_from_html else field,
                          declared)
    if content.channel is Channel.EMAIL and not is_verified_sender(content.from_address or ""):
        raise InvalidInput(f"'{content.from_address}' is not a verified sender identity in SES; "
                           "verify the address or its domain first", field="from_address")
    return content


def _schedule(raw_send_at: str | None) -> dict[str, Any]:
    """Status and send time for a `send_at` value: scheduled when given, a draft when null."""
    if raw_send_at is None:
        return {"status": CampaignStatus.DRAFT.value, "send_at": None}
    return {"status": CampaignStatus.SCHEDULED.value, "send_at": clean_send_at(raw_send_at, now())}


@api.route("/v1/campaigns", "POST", "Create a campaign (scheduled when send_at is given)",
           write=True, body=NEW_CAMPAIGN, status=201)
def post_campaign(call: ApiCall) -> dict[str, Any]:
    account_id = call.principal.account_id
    changes = _content_changes(call.body)
    channel = changes.setdefault("channel", Channel.EMAIL)
    if channel is Channel.EMAIL and not changes.get("from_address"):
        changes["from_address"] = get_account(account_id).sender_identity
    content = with_text_part(CampaignContent(**changes), call.body.get("text"))
    content = _checked(account_id, content)
    values = {"name": call.body["name"].strip(), **content_values(content),
              **_schedule(call.body.get("send_at"))}
    campaign = create_campaign(account_id, values)
    audit.record(account_id, call.principal.key_id, "campaign.created", campaign.campaign_id)
    return campaign_view(campaign)


@api.route("/v1/campaigns", "GET", "List the account's campaigns, a page at a time",
           query=("limit", "cursor"))
def get_campaigns(call: ApiCall) -> dict[str, Any]:
    items, cursor = campaigns_page(call.principal.account_id, page_size(call.query.get("limit")),
                                   call.query.get("cursor"))
    return {"campaigns": [campaign_view(item) for item in items], "next_cursor": cursor}


@api.route("/v1/campaigns/{campaign_id}", "GET", "Read a campaign")
def get_one_campaign(call: ApiCall, campaign_id: str) -> dict[str, Any]:
    return campaign_view(get_campaign(call.principal.account_id, campaign_id))


@api.route("/v1/campaigns/{campaign_id}", "PATCH", "Change a draft or scheduled campaign; "
           "send_at schedules it, send_at null makes it a draft, status cancelled cancels it",
           write=True, body=CAMPAIGN_PATCH)
def patch_campaign(call: ApiCall, campaign_id: str) -> dict[str, Any]:
    account_id = call.principal.account_id
    campaign = get_campaign(account_id, campaign_id)
    check_editable(CampaignStatus(campaign.status))
    body = call.body
    changes: dict[str, Any] = {}
    if any(name in body for name in _CONTENT_FIELDS):
        merged = replace(campaign_content(campaign), **_content_changes(body))
        # The author's own text part stays; a derived one follows the html.
        own_text = body.get("text", None if campaign.text_from_html else campaign.text)
        changes.update(content_values(_checked(account_id, with_text_part(merged, own_text))))
    if "name" in body:
        changes["name"] = body["name"].strip()
    if "status" in body:
        changes["status"] = body["status"]
    elif "send_at" in body:
        changes.update(_schedule(body["send_at"]))
    update_campaign(campaign, changes)
    if "status" in body:
        audit.record(account_id, call.principal.key_id, "campaign.cancelled", campaign_id)
    return campaign_view(campaign)


@api.route("/v1/campaigns/{campaign_id}", "DELETE", "Delete a draft, scheduled or cancelled campaign",
           write=True, status=204)
def remove_campaign(call: ApiCall, campaign_id: str) -> None:
    delete_campaign(get_campaign(call.principal.account_id, campaign_id))
    audit.record(call.principal.account_id, call.principal.key_id, "campaign.deleted", campaign_id)
