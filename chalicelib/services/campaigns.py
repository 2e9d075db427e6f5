"""Campaigns: what may be saved, and the account's own campaigns read, changed and deleted.

A campaign is checked whole on every save that touches its content: the channel's rules, the
lists (the account's own), the filter, every template (compiled and test-rendered: an error is a
400 at save time, never a failure mid-send) and, for email, a From identity the account owns and
SES verified (P08, P35: services/senders.py).
Sending starts in services/sending/start.py.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.campaign_report import build_report, stalled
from chalicelib.domain.campaigns import (
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
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.header_text import header_text
from chalicelib.domain.health import refuse_while_blocked
from chalicelib.domain.templates import validate_template
from chalicelib.services.senders import check_sender
from chalicelib.store import audit
from chalicelib.store import campaigns as campaign_store
from chalicelib.store.accounts import get_account
from chalicelib.store.campaign_stats import campaign_counters
from chalicelib.store.campaigns import campaign_content as campaign_content
from chalicelib.store.campaigns import campaigns_page as campaigns_page
from chalicelib.store.campaigns import content_values
from chalicelib.store.campaigns import get_campaign as get_campaign
from chalicelib.store.lists import get_list
from chalicelib.store.models import Campaign

# Body fields that are part of CampaignContent (the rest: name, send_at, status).
CONTENT_FIELDS = ("channel", "list_ids", "filter", "subject", "html", "text", "sms_body",
                  "from_address", "from_name", "reply_to", "advertisement")


def _content_changes(body: dict[str, Any]) -> dict[str, Any]:
    """CampaignContent fields from the body's content fields (addresses normalised)."""
    changes: dict[str, Any] = {}
    for name in CONTENT_FIELDS:
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
            value = normalise_email(value, field=name, mailable=True)
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
    if content.channel is Channel.EMAIL:
        check_sender(account_id, content.from_address or "")
    return content


def _schedule(raw_send_at: str | None) -> dict[str, Any]:
    """Status and send time for a `send_at` value: scheduled when given, a draft when null."""
    if raw_send_at is None:
        return {"status": CampaignStatus.DRAFT.value, "send_at": None}
    return {"status": CampaignStatus.SCHEDULED.value, "send_at": clean_send_at(raw_send_at, now())}


def create_campaign(account_id: str, actor: str, body: dict[str, Any]) -> Campaign:
    """A new campaign from a validated body: a draft, or scheduled when `send_at` is given. An
    email campaign without a From sends as the account's sender identity. Forbidden while the
    account may not send (P22, P26)."""
    account = get_account(account_id)
    refuse_while_blocked(account)
    changes = _content_changes(body)
    channel = changes.setdefault("channel", Channel.EMAIL)
    if channel is Channel.EMAIL and not changes.get("from_address"):
        changes["from_address"] = account.sender_identity
    content = _checked(account_id, with_text_part(CampaignContent(**changes), body.get("text")))
    values = {"name": header_text(body["name"], "name"), **content_values(content),
              **_schedule(body.get("send_at"))}
    campaign = campaign_store.create_campaign(account_id, values)
    audit.record(account_id, actor, "campaign.created", campaign.campaign_id)
    return campaign


def change_campaign(account_id: str, actor: str, campaign_id: str, body: dict[str, Any]) -> Campaign:
    """Apply a patch to a draft or scheduled campaign: content (checked whole again), name,
    schedule (`send_at`; null makes it a draft) or `status: cancelled`, which also stops a
    campaign that is sending. While the account may not
    send, only cancelling is allowed (P22, P26): it stops mail, it writes no content."""
    campaign = get_campaign(account_id, campaign_id)
    if set(body) == {"status"} and campaign.status == CampaignStatus.SENDING.value:
        return _stop_sending(account_id, actor, campaign_id)
    check_editable(CampaignStatus(campaign.status))
    if set(body) != {"status"}:
        refuse_while_blocked(get_account(account_id))
    changes: dict[str, Any] = {}
    if any(name in body for name in CONTENT_FIELDS):
        merged = replace(campaign_content(campaign), **_content_changes(body))
        # The author's own text part stays; a derived one follows the html.
        own_text = body.get("text", None if campaign.text_from_html else campaign.text)
        changes.update(content_values(_checked(account_id, with_text_part(merged, own_text))))
    if "name" in body:
        changes["name"] = header_text(body["name"], "name")
    if "status" in body:
        changes["status"] = body["status"]
    elif "send_at" in body:
        changes.update(_schedule(body["send_at"]))
    campaign_store.update_campaign(campaign, changes)
    if "status" in body:
        audit.record(account_id, actor, "campaign.cancelled", campaign_id)
    return campaign


def _stop_sending(account_id: str, actor: str, campaign_id: str) -> Campaign:
    """Cancel a campaign while it sends: each batch reads its status first and drops itself,
    so nobody is mailed after the batches already sending finish (a batch is seconds long).
    Conflict when it ended meanwhile."""
    if not campaign_store.end_sending(account_id, campaign_id, CampaignStatus.CANCELLED):
        raise Conflict("the campaign is no longer sending: it ended meanwhile", field="status")
    audit.record(account_id, actor, "campaign.cancelled", campaign_id)
    return get_campaign(account_id, campaign_id)


def delete_campaign(account_id: str, actor: str, campaign_id: str) -> None:
    """Delete a draft, scheduled or cancelled campaign of the account."""
    campaign_store.delete_campaign(get_campaign(account_id, campaign_id))
    audit.record(account_id, actor, "campaign.deleted", campaign_id)


def campaign_report(account_id: str, campaign_id: str) -> dict[str, Any]:
    """The campaign's aggregates (P13, P14): counters only, so no contact data can appear."""
    campaign = get_campaign(account_id, campaign_id)
    return {**build_report(campaign.campaign_id, campaign_counters(campaign.campaign_id)),
            "status": campaign.status, "failed": int(campaign.failed or 0),
            "failure_reason": campaign.failure_reason,
            # The same as on the campaign's answer: why a sending campaign is not ending yet.
            "stalled": stalled(campaign.status, int(campaign.stalled_pages or 0), campaign.stalled_since)}
