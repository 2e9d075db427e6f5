"""A campaign's sending progress: when every page is planned and every batch finished, it is sent.

Items of the SendProgress table, under the campaign id:
- `total`: `lists_open` (lists whose last page is not planned yet), `pages_planned`, `pages_done`;
- `page#{list}#{n}`: the page's planned `batches`, `last_page`, the finished batch indexes
  (`done_batches`, a set, so finishing a batch twice adds nothing), `counted` once the page
  was added to `pages_done`, `queued` once its batches and next page are queued, and
  `failure_counted` while a give-up's failure for its unqueued batches stands.

A page is planned (one transaction: its item, written once, and the total's counters) *before*
its batches are enqueued, and a redelivered page reuses the stored plan, so the total never
counts a page twice and every planned batch is enqueued. The campaign is complete when no list
is open and `pages_done == pages_planned`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib.domain.clock import now
from chalicelib.store.models import SendProgress
from chalicelib.store.transactions import condition_failed, first_condition_failed, write_transaction

TOTAL = "total"
# SQS keeps a message at most 14 days: no job can come back for a campaign after that.
PROGRESS_LIFETIME = timedelta(days=15)
_CONDITION_FAILED = "ConditionalCheckFailedException"


def _page_part(list_id: str, page: int) -> str:
    return f"page#{list_id}#{page}"


def open_progress(campaign_id: str, list_count: int) -> None:
    """Start counting a campaign that pages `list_count` lists. A start whose queueing failed
    leaves its total behind, and the campaign may have been edited since (another list): a new
    start counts its own lists while no page is planned yet; once one is, the counts stay."""
    total = SendProgress(campaign_id=campaign_id, part=TOTAL, lists_open=list_count, pages_planned=0,
                         pages_done=0, expires_at=now() + PROGRESS_LIFETIME)
    try:
        total.save(condition=SendProgress.part.does_not_exist() | (SendProgress.pages_planned == 0))
    except PutError as exc:
        if exc.cause_response_code != _CONDITION_FAILED:
            raise


@dataclass(frozen=True)
class PagePlan:
    """How many batches a page has and whether it is its list's last; `first` is False when a
    previous delivery of the page planned it."""

    batches: int
    last_page: bool
    first: bool
    queued: bool = False
    failure_counted: bool = False


def plan_page(campaign_id: str, list_id: str, page: int, batches: int, last_page: bool) -> PagePlan:
    """Record a page's plan once; on a redelivery, the plan stored by the first delivery."""
    empty = batches == 0
    item = SendProgress(campaign_id=campaign_id, part=_page_part(list_id, page), batches=batches,
                        last_page=last_page, counted=empty, expires_at=now() + PROGRESS_LIFETIME)
    total = SendProgress(campaign_id=campaign_id, part=TOTAL)
    try:
        with write_transaction(SendProgress) as transaction:
            transaction.save(item, condition=SendProgress.part.does_not_exist())
            transaction.update(total, actions=[
                SendProgress.pages_planned.add(1),
                SendProgress.pages_done.add(1 if empty else 0),
                SendProgress.lists_open.add(-1 if last_page else 0),
            ], condition=SendProgress.part.exists())
    except TransactWriteError as error:
        if not first_condition_failed(error):
            raise
        stored = page_plan(campaign_id, list_id, page)
        if stored is None:
            raise
        return stored
    return PagePlan(batches, last_page, first=True)


def page_plan(campaign_id: str, list_id: str, page: int) -> PagePlan | None:
    """The stored plan of a page (one consistent GetItem); None when it is not planned."""
    try:
        stored = SendProgress.get(campaign_id, _page_part(list_id, page), consistent_read=True)
    except SendProgress.DoesNotExist:
        return None
    return PagePlan(int(stored.batches or 0), bool(stored.last_page), first=False,
                    queued=bool(stored.queued), failure_counted=bool(stored.failure_counted))


def count_page_failure(campaign_id: str, list_id: str, page: int,
                       failure: tuple[Any, list[Any], Any]) -> bool:
    """Count a planned page's unqueued batches as one failure (`failure`: the campaign's item,
    actions and condition), noted on the page in the same transaction so its redrive takes it
    back once (mark_queued); False when counted before, or `failure`'s condition failed."""
    item, actions, condition = failure
    try:
        with write_transaction(SendProgress) as transaction:
            transaction.update(SendProgress(campaign_id=campaign_id, part=_page_part(list_id, page)),
                               actions=[SendProgress.failure_counted.set(True)],
                               condition=SendProgress.part.exists()
                               & SendProgress.failure_counted.does_not_exist()
                               & SendProgress.queued.does_not_exist())
            transaction.update(item, actions=actions, condition=condition)
    except TransactWriteError as error:
        if not first_condition_failed(error) and not condition_failed(error, 1):
            raise
        return False
    return True


def mark_queued(campaign_id: str, list_id: str, page: int,
                take_back: tuple[Any, list[Any], Any] | None) -> None:
    """Note that a page's batches and next page are queued (one UpdateItem); with `take_back`
    (the campaign's item, actions and condition), the failure a give-up counted for the page is
    taken back in the same transaction, once: a second taker finds the note gone."""
    item = SendProgress(campaign_id=campaign_id, part=_page_part(list_id, page))
    if take_back is None:
        item.update(actions=[SendProgress.queued.set(True)])
        return
    campaign, actions, condition = take_back
    try:
        with write_transaction(SendProgress) as transaction:
            transaction.update(item, condition=SendProgress.failure_counted.exists(),
                               actions=[SendProgress.queued.set(True), SendProgress.failure_counted.remove()])
            transaction.update(campaign, actions=actions, condition=condition)
    except TransactWriteError as error:
        if not first_condition_failed(error):
            raise
        item.update(actions=[SendProgress.queued.set(True)])


def finish_batch(campaign_id: str, list_id: str, page: int, index: int) -> bool:
    """Record that a batch finished (again is harmless); True when the campaign is now complete.

    One UpdateItem per batch; the last batch of a page adds the page to the total in one
    transaction guarded by the page's `counted` flag, and reads the total.
    """
    item = SendProgress(campaign_id=campaign_id, part=_page_part(list_id, page))
    item.update(actions=[SendProgress.done_batches.add({index})],
                condition=SendProgress.batches.exists())
    if len(item.done_batches or ()) < int(item.batches or 0):
        return False
    if not item.counted:
        _count_page(item)
    return is_complete(campaign_id)


def _count_page(item: SendProgress) -> None:
    try:
        with write_transaction(SendProgress) as transaction:
            transaction.update(item, actions=[SendProgress.counted.set(True)],
                               condition=SendProgress.counted.does_not_exist()
                               | (SendProgress.counted == False))  # noqa: E712 (a condition)
            transaction.update(SendProgress(campaign_id=item.campaign_id, part=TOTAL),
                               actions=[SendProgress.pages_done.add(1)])
    except TransactWriteError as error:
        if not first_condition_failed(error):
            raise


def is_complete(campaign_id: str) -> bool:
    """Every list paged to its end and every planned page finished."""
    try:
        total = SendProgress.get(campaign_id, TOTAL, consistent_read=True)
    except SendProgress.DoesNotExist:
        return False
    return int(total.lists_open or 0) <= 0 and int(total.pages_done or 0) >= int(total.pages_planned or 0)

