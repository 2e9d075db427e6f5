"""Starting a campaign: "send now" and the scheduler at `send_at` (test sends: test_sends.py).

Starting is one conditional update (store.campaigns.start_sending), so a double click or a click
racing the scheduler starts it once; then the first fan-out page of each list is queued
(services/sending/fanout.py). An account that is suspended (P26), lacks its sender identity (P08) or
whose From is not a verified identity it owns (P35) is refused before anything is queued.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib.adapters.sqs import enqueue_many
from chalicelib.domain.campaigns import STARTABLE, CampaignContent, CampaignStatus, Channel
from chalicelib.domain.clock import now
from chalicelib.domain.errors import Conflict, Forbidden, NotFound
from chalicelib.domain.health import sending_blocked_reason
from chalicelib.domain.sending import PageJob, check_may_send
from chalicelib.observability import logger
from chalicelib.resources import FANOUT
from chalicelib.services.senders import check_sender
from chalicelib.store import audit
from chalicelib.store.accounts import get_account, profile_of
from chalicelib.store.campaigns import (
    campaign_content,
    due_campaigns,
    get_campaign,
    start_sending,
    undo_start,
    update_campaign,
)
from chalicelib.store.lists import get_list
from chalicelib.store.models import Account, Campaign, MailingList
from chalicelib.store.send_progress import open_progress

SCHEDULER = "scheduler"


def check_account_may_send(account: Account, content: CampaignContent) -> MailingList:
    """Forbidden (suspended, P26) or Conflict (incomplete profile, P08; unverified From; no list
    of the campaign exists any more). Returns the first of the campaign's lists that exists."""
    check_may_send(sending_blocked_reason(account), profile_of(account))
    if content.channel is Channel.EMAIL:
        check_sender(account.account_id, content.from_address or account.sender_identity or "")
    return first_live_list(account.account_id, content)


def first_live_list(account_id: str, content: CampaignContent) -> MailingList:
    """The first of the campaign's lists that still exists; Conflict naming `list_ids` when none
    does: "sending" to nobody would look like a sent campaign (no silent loss)."""
    for list_id in sorted(content.list_ids):
        try:
            return get_list(account_id, list_id)
        except NotFound:
            continue
    raise Conflict("none of the campaign's lists exists any more; give it a list before sending",
                   field="list_ids")


def send_now(account_id: str, campaign_id: str, actor: str) -> Campaign:
    """Start sending a draft or scheduled campaign now; Conflict when it already started."""
    campaign = get_campaign(account_id, campaign_id)
    status = CampaignStatus(campaign.status)
    if status not in STARTABLE:
        raise Conflict(f"the campaign is {status.value}; only a draft or scheduled campaign can be "
                       "sent", field="status")
    check_account_may_send(get_account(account_id), campaign_content(campaign))
    if not start(campaign, status):
        raise Conflict("the campaign started sending meanwhile", field="status")
    audit.record(account_id, actor, "campaign.sending", campaign_id)
    return campaign


def start(campaign: Campaign, previous: CampaignStatus, due_by: datetime | None = None) -> bool:
    """Move the campaign to sending and queue the first page of each list; False when another
    caller started it first (or, with `due_by`, it is not due). When queueing fails the
    campaign goes back to `previous`, so it can be started again."""
    if not start_sending(campaign, due_by=due_by):
        return False
    list_ids = sorted(campaign.list_ids or ())
    try:
        open_progress(campaign.campaign_id, len(list_ids))
        enqueue_many(FANOUT, [PageJob(campaign.account_id, campaign.campaign_id, list_id).to_dict()
                              for list_id in list_ids])
    except Exception:
        undo_start(campaign, previous)
        raise
    logger.info("campaign sending", extra={"account_id": campaign.account_id,
                                           "campaign_id": campaign.campaign_id, "lists": len(list_ids)})
    return True


def start_due_campaigns(more_time: Callable[[], bool]) -> dict[str, int]:
    """Start every scheduled campaign whose time has come (the scheduler, once a minute).

    A campaign whose account may not send goes back to draft with an audit entry saying why,
    instead of being retried every minute. One whose start fails otherwise stays scheduled for
    the next run and holds back none due after it (`failed`); the first such error is raised
    once the others started, so the function's errors alarm tells the operator.
    """
    at = now()
    counts = {"started": 0, "refused": 0, "skipped": 0, "failed": 0}
    first_failure: Exception | None = None
    for listed in due_campaigns(at):
        if not more_time():
            break
        try:
            counts[_start_due(listed.account_id, listed.campaign_id, at)] += 1
        except Exception as error:
            # Oldest first: raising here would stop every campaign due after it, run after run.
            logger.error("scheduled campaign failed to start; it is tried again next run", extra={
                "account_id": listed.account_id, "campaign_id": listed.campaign_id,
                "error": type(error).__name__})
            counts["failed"] += 1
            first_failure = first_failure or error
    if first_failure is not None:
        logger.info("scheduled campaigns run", extra=counts)
        raise first_failure
    return counts


def _start_due(account_id: str, campaign_id: str, at: datetime) -> str:
    """Start one due campaign; which of start_due_campaigns' counts it adds to."""
    try:
        campaign = get_campaign(account_id, campaign_id)
        check_account_may_send(get_account(campaign.account_id), campaign_content(campaign))
    except NotFound:
        return "skipped"
    except (Forbidden, Conflict) as refusal:
        _refuse_scheduled(campaign, refusal.message)
        return "refused"
    return "started" if start(campaign, CampaignStatus.SCHEDULED, due_by=at) else "skipped"


def _refuse_scheduled(campaign: Campaign, reason: str) -> None:
    if campaign.status != CampaignStatus.SCHEDULED.value:
        return
    try:
        update_campaign(campaign, {"status": CampaignStatus.DRAFT.value, "send_at": None})
    except Conflict:
        return  # changed meanwhile: the next run looks at it again
    audit.record(campaign.account_id, SCHEDULER, "campaign.start_refused",
                 f"{campaign.campaign_id}: {reason}")
    logger.warning("scheduled campaign refused", extra={
        "account_id": campaign.account_id, "campaign_id": campaign.campaign_id, "reason": reason})
