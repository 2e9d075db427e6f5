"""Campaign fan-out: one page job reads one page of a list and queues its recipient batches.

A page is one Query of PAGE_SIZE confirmed entries (pending, unsubscribed, bounced and complained
entries are never read), so a list of any size is paged by a chain of short jobs instead of one
Lambda that would time out. Per page: restricted entries (P17) and those outside the filter are
dropped, and so is a person already reached through an earlier list of the campaign (the
deterministic message id would make a second mail impossible anyway; dropping it here keeps the
mail's links on one list). Suppressions are checked later, by the batch, just before sending, so
an opt-out made while a long campaign runs still takes effect at once (P07, P12).

An email page reserves its recipients' send times in the campaign lane of the SES rate (one
UpdateItem, store/send_rate.py) and queues each batch delayed until its first send time, so a
batch reaches a Lambda when it may send (services/sending/batches.py), never to wait there.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from chalicelib.adapters.retries import error_name
from chalicelib.adapters.sqs import MAX_DELAY_SECONDS, enqueue, enqueue_many
from chalicelib.domain.campaigns import CampaignContent, CampaignStatus, Channel
from chalicelib.domain.list_settings import ListSettings
from chalicelib.domain.lists import TrackingConsent, tracking_consent_of
from chalicelib.domain.sending import (
    BATCH_SIZE,
    PAGE_SIZE,
    BatchJob,
    PageJob,
    cut_batches,
    eligible,
    regroup,
)
from chalicelib.domain.subscriptions import Contact, Status, may_track
from chalicelib.observability import logger
from chalicelib.resources import CAMPAIGN_SEND, FANOUT
from chalicelib.store import send_rate
from chalicelib.store.audience import confirmed_page, contact_of, entries_on, key_after
from chalicelib.store.campaigns import (
    campaign_content,
    end_completed,
    forget_stall,
    page_stalled,
    page_unstalled,
    record_failures_while_sending,
)
from chalicelib.store.lists import list_language
from chalicelib.store.models import MailingList, Subscriber
from chalicelib.store.send_progress import (
    PagePlan,
    count_page_failure,
    is_complete,
    mark_queued,
    page_plan,
    plan_page,
)
from chalicelib.store.sending_state import campaign_and_list
from chalicelib.store.subscribers import phone_is_confirmed, tracking_state

# Module constants, so a test can page a handful of subscribers.
page_size = PAGE_SIZE
batch_size = BATCH_SIZE
# How long a page planned but not queued by its last attempt waits before its one retry (SQS's
# longest delay): time for the queue or table that failed it to recover.
STALL_RETRY_SECONDS = MAX_DELAY_SECONDS


def fan_out_page(job: PageJob, last_attempt: bool = False) -> None:
    """Plan one page (once, however often the job is delivered), queue its batches and the
    next page's job; a campaign that is no longer sending is left alone. On the job's
    `last_attempt` (SQS would dead-letter it next), a page that still fails before it is planned
    closes its list, and the campaign ends failed saying so, instead of staying `sending`; the
    error is raised all the same, so the job reaches the dead-letter queue and its alarm tells
    the operator (step.GivenUp). Redriven from there, the page finds its stored plan (no
    batches, its list's end) and queues nothing; a page planned but not queued by then queues its
    batches and takes back the one failure counted for them (_give_up_page). Such a page is
    also tried once more, STALL_RETRY_SECONDS later, with no operator (_retry_stalled). A page
    whose batches and next page are all queued lost nothing: a failure after that (noting it
    queued) counts nothing, whatever the attempt (_note_queued)."""
    try:
        queued = _queue_page(job)
    except Exception as error:
        if last_attempt and _give_up_page(job, error):
            _retry_stalled(job)
        raise
    if queued is not None:
        _note_queued(job, queued, last_attempt)


def _retry_stalled(job: PageJob) -> None:
    """Queue a copy of a page that has just stalled, delayed, so a passing fault does not leave
    its campaign `sending` until an operator redrives it. The job still goes to the dead-letter
    queue (its alarm tells the operator): both are deliveries of one page, so whichever runs
    later queues its batches again, which send no claimed mail twice and count none twice (as
    for any redelivery). Once only (the page's first stall): a fault that outlasts it waits for
    the operator."""
    try:
        enqueue(FANOUT, job.to_dict(), delay_seconds=STALL_RETRY_SECONDS)
    except Exception as error:
        logger.warning("stalled fan-out page not queued for its retry: it waits for its redrive", extra={
            "campaign_id": job.campaign_id, "list_id": job.list_id, "page": job.page,
            "error": error_name(error)})


def _give_up_page(job: PageJob, error: Exception) -> bool:
    """Record the page as the end of its list, with no batches, and the campaign's failure; the
    campaign ends failed once its other batches finish. Nothing is recorded when the campaign is
    not sending. The rest of the list cannot be read, so it cannot be counted: one failure stands
    for it, the reason naming the list. When an earlier delivery planned the page, its plan (and
    batches, and chain) stand: if they were not all queued, one failure stands for them, noted on
    the page, so the page's redrive that queues them takes it back (P13); True then (the page
    stalled now, for the first time), else False."""
    reason = (f"list {job.list_id} could not be read from page {job.page} on ({error_name(error)}); "
              "the rest of it was not mailed")
    if page_plan(job.campaign_id, job.list_id, job.page) is not None:
        if count_page_failure(job.campaign_id, job.list_id, job.page,
                              page_stalled(job.account_id, job.campaign_id, reason)):
            logger.warning("fan-out page planned but not queued by its last attempt: one failure, "
                           "taken back by its retry or redrive", extra={
                               "campaign_id": job.campaign_id, "list_id": job.list_id, "page": job.page,
                               "error": error_name(error)})
            return True
        return False
    if not record_failures_while_sending(job.account_id, job.campaign_id, 1, reason):
        return False
    if not plan_page(job.campaign_id, job.list_id, job.page, 0, last_page=True).first:
        return False
    logger.warning("fan-out page given up on its last attempt; the campaign fails and the job goes "
                   "to the dead-letter queue",
                   extra={"campaign_id": job.campaign_id, "list_id": job.list_id, "page": job.page,
                          "error": error_name(error)})
    if is_complete(job.campaign_id):
        end_completed(job.account_id, job.campaign_id)
    return False


@dataclass(frozen=True)
class _Queued:
    """A page whose batches and next page are queued: its plan, and what it read and kept."""

    plan: PagePlan
    read: int
    recipients: int


def _queue_page(job: PageJob) -> _Queued | None:
    """Plan the page and queue its batches and the next page's job; None when its campaign is
    gone or no longer sending (nothing queued)."""
    # Both in one read (issue 4).
    campaign, mailing_list = campaign_and_list(job.account_id, job.campaign_id, job.list_id)
    if campaign is None:
        logger.info("fan-out of a deleted campaign dropped", extra={"campaign_id": job.campaign_id})
        return
    if campaign.status != CampaignStatus.SENDING.value:
        logger.info("fan-out of a campaign that is not sending dropped",
                    extra={"campaign_id": job.campaign_id, "status": campaign.status})
        return
    content = campaign_content(campaign)
    if mailing_list is None:  # deleted since the campaign started: nobody left to mail on it
        entries, next_start = [], None
    else:
        entries, next_start = confirmed_page(job.list_id, page_size, job.start)
    recipients = _recipients(content, job.list_id, entries)
    trackable = _trackable(mailing_list, entries)
    batches = cut_batches(recipients, batch_size)
    plan = plan_page(job.campaign_id, job.list_id, job.page, len(batches), last_page=next_start is None)
    if not plan.first and plan.batches != len(batches):
        batches = regroup(recipients, plan.batches)
    if batches:
        # Every planned batch is queued, even one left empty: finishing it completes the page.
        settings_ = ListSettings(list_id=job.list_id, name=mailing_list.name if mailing_list else "",
                                 track_opens=bool(mailing_list and mailing_list.track_opens),
                                 track_clicks=bool(mailing_list and mailing_list.track_clicks),
                                 language=list_language(mailing_list))
        jobs = [BatchJob(job.account_id, job.campaign_id, settings_, job.page, index, batch,
                         frozenset(contact.email for contact in batch) & trackable)
                for index, batch in enumerate(batches)]
        delays = None
        if content.channel is Channel.EMAIL and recipients:
            reservation = send_rate.reserve_campaign_sends(len(recipients))
            reserved = reservation.split(len(batch) for batch in batches)
            jobs = [replace(batch_job, reservation=part)
                    for batch_job, part in zip(jobs, reserved, strict=True)]
            now = time.time()
            delays = [max(0, math.ceil(part.first - now)) for part in reserved]
        enqueue_many(CAMPAIGN_SEND, [batch_job.to_dict() for batch_job in jobs], delays)
    if not plan.last_page:
        # The stored plan rules: a redelivery that now reaches the end still continues the chain.
        start = next_start or (key_after(entries[-1]) if entries else job.start)
        enqueue(FANOUT, PageJob(job.account_id, job.campaign_id, job.list_id, job.page + 1, start).to_dict())
    return _Queued(plan, len(entries), len(recipients))


def _note_queued(job: PageJob, queued: _Queued, last_attempt: bool) -> None:
    """Note the page queued, taking back the failure a give-up before counted for it, and end
    an empty page's campaign when it was the last work left. Its batches and chain are queued, so
    a failure to note it is never counted: it is raised (a redelivery queues them again, which
    sends and counts nothing twice), and on the last attempt the job is dead-lettered with nothing
    counted failed, its campaign ended all the same when that was all it waited for."""
    plan = queued.plan
    try:
        take_back = page_unstalled(job.account_id, job.campaign_id) if plan.failure_counted else None
        mark_queued(job.campaign_id, job.list_id, job.page, take_back)
        if take_back is not None:
            forget_stall(job.account_id, job.campaign_id)
    except Exception as error:
        if last_attempt:
            logger.warning("fan-out page queued but not noted by its last attempt: nothing counted "
                           "failed; its redrive queues it again, harmlessly", extra={
                               "campaign_id": job.campaign_id, "list_id": job.list_id, "page": job.page,
                               "error": error_name(error)})
            # A failure still counted for the page waits for the redrive to take it back first.
            if not plan.failure_counted:
                _end_if_complete(job, plan)
        raise
    logger.info("fan-out page planned", extra={
        "campaign_id": job.campaign_id, "list_id": job.list_id, "page": job.page,
        "read": queued.read, "recipients": queued.recipients, "batches": plan.batches,
        "last_page": plan.last_page, "redelivered": not plan.first})
    _end_if_complete(job, plan)


def _end_if_complete(job: PageJob, plan: PagePlan) -> None:
    """An empty page has no batch whose finish could end the campaign: it ends it itself when
    nothing else is left."""
    if plan.batches == 0 and is_complete(job.campaign_id):
        end_completed(job.account_id, job.campaign_id)


def _trackable(mailing_list: MailingList | None, entries: list[Subscriber]) -> frozenset[str]:
    """The page's people whose mail may carry a pixel and tracked links (P30)."""
    if mailing_list is None:
        return frozenset()
    required = tracking_consent_of(mailing_list.tracking_consent) is TrackingConsent.REQUIRED
    return frozenset(entry.email for entry in entries
                     if may_track(required, Status(entry.status), tracking_state(entry)))


def _recipients(content: CampaignContent, list_id: str, entries: list[Subscriber]) -> list[Contact]:
    """The page's entries that receive the campaign, minus people reached through an earlier
    list of the campaign (a few batched reads, only for campaigns on several lists)."""
    chosen = [contact for entry in entries
              if eligible(content.channel, content.attribute_filter, contact := contact_of(entry),
                          bool(entry.restricted), phone_is_confirmed(entry))]
    earlier = sorted(other for other in content.list_ids if other < list_id)
    if not chosen or not earlier:
        return chosen
    addresses = [contact.email for contact in chosen]
    reached = {entry.address for other in earlier for entry in entries_on(other, addresses)
               if entry.status == Status.CONFIRMED.value
               and eligible(content.channel, content.attribute_filter, contact_of(entry),
                            bool(entry.restricted), phone_is_confirmed(entry))}
    return [contact for contact in chosen if contact.email not in reached]
