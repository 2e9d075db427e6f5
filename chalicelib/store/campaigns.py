"""Campaigns: per account (hash) by campaign id (range), plus the sparse `by_schedule` index that
lets the scheduler find due campaigns without a scan.

Every write is conditional on the status the caller read, so an edit cannot land on a campaign
that started sending meanwhile, and sending starts exactly once.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, UpdateError

from chalicelib.domain.campaigns import (
    STARTABLE,
    CampaignContent,
    CampaignStatus,
    Channel,
    check_deletable,
    check_editable,
    check_transition,
)
from chalicelib.domain.clock import now
from chalicelib.domain.errors import Conflict, InvalidInput, NotFound
from chalicelib.domain.ids import new_id
from chalicelib.store.models import Campaign
from chalicelib.store.paging import PAGE_TEXT_MAX_BYTES, decode_cursor, encode_cursor, fill_page, utf8_bytes

# The one hash key of the `by_schedule` index; only scheduled campaigns carry it.
SCHEDULE_BUCKET = "scheduled"
_CONDITION_FAILED = "ConditionalCheckFailedException"
_CHANGED = "the campaign changed meanwhile (it may have started sending); read it again"


def _schedule_bucket(status: str) -> str | None:
    return SCHEDULE_BUCKET if status == CampaignStatus.SCHEDULED else None


def campaign_content(campaign: Campaign) -> CampaignContent:
    """The stored campaign's content, as the domain rules and the mail composer take it."""
    # A raw MapAttribute as read back; the plain dict it was given before a save.
    stored_filter = campaign.attribute_filter
    attribute_filter = stored_filter.as_dict() if hasattr(stored_filter, "as_dict") else stored_filter
    return CampaignContent(
        channel=Channel(campaign.channel),
        list_ids=frozenset(campaign.list_ids or ()),
        attribute_filter=dict(attribute_filter or {}),
        subject=campaign.subject,
        html=campaign.html,
        text=campaign.text,
        text_from_html=bool(campaign.text_from_html),
        sms_body=campaign.sms_body,
        from_address=campaign.from_address,
        from_name=campaign.from_name,
        reply_to=campaign.reply_to,
        advertisement=bool(campaign.advertisement),
    )


def content_values(content: CampaignContent) -> dict[str, Any]:
    """Model attribute values for `content` (None removes an attribute on save)."""
    return {
        "channel": content.channel.value,
        "list_ids": set(content.list_ids),
        "attribute_filter": dict(content.attribute_filter) or None,
        "subject": content.subject,
        "html": content.html,
        "text": content.text,
        "text_from_html": content.text_from_html,
        "sms_body": content.sms_body,
        "from_address": content.from_address,
        "from_name": content.from_name,
        "reply_to": content.reply_to,
        "advertisement": content.advertisement,
    }


def create_campaign(account_id: str, values: dict[str, Any]) -> Campaign:
    """A new campaign from model attribute values (status draft unless `values` says scheduled)."""
    at = now()
    campaign = Campaign(account_id=account_id, campaign_id=new_id("cmp"), created_at=at, updated_at=at,
                        **values)
    campaign.schedule_bucket = _schedule_bucket(campaign.status)
    campaign.save(condition=Campaign.campaign_id.does_not_exist())
    return campaign


def get_campaign(account_id: str, campaign_id: str) -> Campaign:
    """The account's campaign; another account's is NotFound, never shown (P28)."""
    try:
        return Campaign.get(account_id, campaign_id, consistent_read=True)
    except Campaign.DoesNotExist:
        raise NotFound("no such campaign", field="campaign_id") from None


def campaigns_page(account_id: str, limit: int, cursor: str | None,
                   budget: int = PAGE_TEXT_MAX_BYTES) -> tuple[list[Campaign], str | None]:
    """One page of the account's campaigns (in id order), at most `budget` bytes of content
    (store/paging.fill_page), and the cursor of the next page."""
    start = decode_cursor(cursor, f"campaigns:{account_id}")
    if start is not None and (start.get("account_id") or {}).get("S") != account_id:
        raise InvalidInput("'cursor' belongs to another listing", field="cursor")
    result = Campaign.query(account_id, limit=limit, last_evaluated_key=start)
    # A page of big newsletters ends early (store/paging.py), going on from its last campaign.
    items, ended_early = fill_page(result, lambda c: utf8_bytes(c.subject, c.html, c.text, c.sms_body),
                                   budget)
    resume = ({"account_id": {"S": account_id}, "campaign_id": {"S": items[-1].campaign_id}}
              if ended_early else result.last_evaluated_key)
    return items, encode_cursor(resume, f"campaigns:{account_id}")


def update_campaign(campaign: Campaign, changes: dict[str, Any]) -> Campaign:
    """Apply model attribute changes to a draft or scheduled campaign.

    A `status` change must be an allowed transition; the schedule index follows the status.
    Conflict when the campaign is no longer editable, or was changed meanwhile.
    """
    read_status = CampaignStatus(campaign.status)
    check_editable(read_status)
    target = CampaignStatus(changes.get("status", read_status))
    if target != read_status:
        check_transition(read_status, target)
    for name, value in changes.items():
        setattr(campaign, name, value)
    campaign.schedule_bucket = _schedule_bucket(target)
    campaign.updated_at = now()
    try:
        campaign.save(condition=Campaign.status == read_status.value)
    except PutError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            raise Conflict(_CHANGED, field="status") from None
        raise
    return campaign


def delete_campaign(campaign: Campaign) -> None:
    """Delete a draft, scheduled or cancelled campaign that never started; Conflict otherwise."""
    check_deletable(CampaignStatus(campaign.status), started=campaign.started_at is not None)
    try:
        campaign.delete(condition=Campaign.status == campaign.status)
    except DeleteError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            raise Conflict(_CHANGED, field="status") from None
        raise


def due_campaigns(at: datetime) -> Iterator[Campaign]:
    """Scheduled campaigns whose `send_at` is at or before `at`, oldest first (an index query).

    The index is eventually consistent: a campaign just rescheduled or started may still be
    listed, so callers start each with `start_sending(campaign, due_by=at)`, which re-checks.
    """
    return Campaign.by_schedule.query(SCHEDULE_BUCKET, Campaign.send_at <= at)


def start_sending(campaign: Campaign, due_by: datetime | None = None) -> bool:
    """Move the campaign to sending, exactly once; False when it is not (or no longer) startable.

    One conditional update: of two concurrent calls (a double click, or a click racing the
    scheduler) only one gets True. With `due_by` (the scheduler) only a scheduled campaign whose
    `send_at` has come is started. On True, `campaign` holds the stored item as it now is, so the
    caller sends the content that was current when sending began.
    """
    at = now()
    if due_by is None:
        condition = Campaign.status.is_in(*(status.value for status in STARTABLE))
    else:
        condition = (Campaign.status == CampaignStatus.SCHEDULED.value) & (Campaign.send_at <= due_by)
    try:
        campaign.update(
            actions=[
                Campaign.status.set(CampaignStatus.SENDING.value),
                Campaign.started_at.set(at),
                Campaign.updated_at.set(at),
                Campaign.schedule_bucket.remove(),
            ],
            condition=condition & Campaign.campaign_id.exists(),
        )
    except UpdateError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            return False
        raise
    return True


def undo_start(campaign: Campaign, previous: CampaignStatus) -> None:
    """Put a campaign whose sending could not be queued back to `previous` (draft or scheduled),
    so a new click, or the scheduler's next run, starts it again."""
    at = now()
    actions = [Campaign.status.set(previous.value), Campaign.started_at.remove(), Campaign.updated_at.set(at)]
    if previous is CampaignStatus.SCHEDULED:
        actions.append(Campaign.schedule_bucket.set(SCHEDULE_BUCKET))
    try:
        campaign.update(actions=actions, condition=Campaign.status == CampaignStatus.SENDING.value)
    except UpdateError as exc:
        if exc.cause_response_code != _CONDITION_FAILED:
            raise


def failure_update(account_id: str, campaign_id: str, failed: int, reason: str) -> tuple[Campaign, list[Any]]:
    """(item, actions) adding `failed` mails that could not be built or sent, keeping the first
    reason: for `update()` or a transaction's update."""
    return (Campaign(account_id=account_id, campaign_id=campaign_id),
            [Campaign.failed.add(failed),
             Campaign.failure_reason.set(Campaign.failure_reason | reason[:500])])


def record_failures(account_id: str, campaign_id: str, failed: int, reason: str) -> None:
    """Add `failed` mails that could not be built or sent; the first reason is kept."""
    if failed <= 0:
        return
    item, actions = failure_update(account_id, campaign_id, failed, reason)
    item.update(actions=actions)


def failure_while_sending(account_id: str, campaign_id: str, failed: int,
                          reason: str) -> tuple[Campaign, list[Any], Any]:
    """failure_update (a negative `failed` takes failures back) with its condition: only while
    the campaign is sending (never an item for a campaign that is gone, nor a change to one that
    ended)."""
    item, actions = failure_update(account_id, campaign_id, failed, reason)
    return item, actions, Campaign.status == CampaignStatus.SENDING.value


def page_stalled(account_id: str, campaign_id: str, reason: str) -> tuple[Campaign, list[Any], Any]:
    """failure_while_sending of the one failure that stands for a page planned but not queued by
    its last attempt, noting the page as stalled (and since when, kept from the first such page)
    so the campaign's answer says why it still sends (web/views.py)."""
    item, actions, condition = failure_while_sending(account_id, campaign_id, 1, reason)
    return item, [*actions, Campaign.stalled_pages.add(1),
                  Campaign.stalled_since.set(Campaign.stalled_since | now())], condition


def page_unstalled(account_id: str, campaign_id: str) -> tuple[Campaign, list[Any], Any]:
    """page_stalled taken back: the page's retry or redrive queued it."""
    item, actions, condition = failure_while_sending(account_id, campaign_id, -1, "")
    return item, [*actions, Campaign.stalled_pages.add(-1)], condition


def forget_stall(account_id: str, campaign_id: str) -> None:
    """Drop `stalled_since` once no page is stalled, so a later stall shows its own time; nothing
    when one still is (or the campaign is gone)."""
    try:
        Campaign(account_id=account_id, campaign_id=campaign_id).update(
            actions=[Campaign.stalled_since.remove()], condition=Campaign.stalled_pages <= 0)
    except UpdateError as exc:
        if exc.cause_response_code != _CONDITION_FAILED:
            raise


def record_failures_while_sending(account_id: str, campaign_id: str, failed: int, reason: str) -> bool:
    """record_failures, only while the campaign is sending (failure_while_sending); True when
    recorded."""
    item, actions, condition = failure_while_sending(account_id, campaign_id, failed, reason)
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            return False
        raise
    return True


def end_completed(account_id: str, campaign_id: str) -> CampaignStatus | None:
    """End a campaign whose every batch finished: `failed` when any mail failed, else `sent`;
    None when it was not sending any more. Batches record their failures before they count as
    finished, so the last one's consistent read sees them all."""
    try:
        campaign = Campaign.get(account_id, campaign_id, consistent_read=True)
    except Campaign.DoesNotExist:
        return None
    status = CampaignStatus.FAILED if campaign.failed else CampaignStatus.SENT
    return status if end_sending(account_id, campaign_id, status) else None


def end_sending(account_id: str, campaign_id: str, status: CampaignStatus) -> bool:
    """Move a sending campaign to sent (every batch done) or cancelled (the account stopped it,
    or may not send as it any more); False when it was not sending any more (someone else ended
    it)."""
    check_transition(CampaignStatus.SENDING, status)
    at = now()
    try:
        Campaign(account_id=account_id, campaign_id=campaign_id).update(
            actions=[Campaign.status.set(status.value), Campaign.finished_at.set(at),
                     Campaign.updated_at.set(at)],
            condition=Campaign.status == CampaignStatus.SENDING.value,
        )
    except UpdateError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            return False
        raise
    return True
