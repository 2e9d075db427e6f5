"""Opens and clicks (P13, P15): the route's half queues one event; the worker's half counts a
batch of them.

The route verifies the token in-process, classifies the viewer, derives the country and drops the
IP, then makes exactly one AWS call (SQS SendMessage): no DynamoDB on the request path, so a
pixel answers fast and costs little. The worker aggregates (domain/tracking.plan_batch), writes
each marker with one conditional put and each campaign's counters with one delta
(store/tracking.py, store/campaign_stats.py); a batch that creates markers also files their keys
in one purge list, so the daily purge erases them on their mail's day 30 (P21).
"""
from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Any

from chalicelib.adapters.sqs import enqueue, queue_url
from chalicelib.config import hash_key, settings, signer
from chalicelib.domain.clock import now
from chalicelib.domain.lists import TrackingConsent, tracking_consent_of
from chalicelib.domain.subscriptions import Status, may_track_event
from chalicelib.domain.suppression import address_hash
from chalicelib.domain.tracking import (
    SETTLE,
    Action,
    DeltaRef,
    MarkerKey,
    TrackingEvent,
    delta_ref,
    marker_keys,
    plan_batch,
    recipient_key,
)
from chalicelib.observability import logger
from chalicelib.resources import TRACKING


def track(action: Action, token: str, user_agent: str | None, country_header: str | None,
          ip: str | None) -> str | None:
    """Queue the open or click a token names; returns the click's target (None for an open).

    TokenInvalid/TokenExpired for a token that is not genuine: nothing is queued. A token
    without a campaign (mail outside any campaign) is not counted but still answered. The IP is
    used for the country and goes no further than this function (P15).
    """
    # The route's half, imported here: the worker's Lambda reads no link (cold start, issue 15).
    from chalicelib.domain.country import viewer_country
    from chalicelib.domain.engagement import classify
    from chalicelib.domain.mail_links import CLICK, OPEN, read_tracking_token

    link = read_tracking_token(signer(), CLICK if action is Action.CLICK else OPEN, token)
    claim = link.claim
    if claim.campaign_id is None:
        return link.url
    at = now()
    event = TrackingEvent(event_id=uuid.uuid4().hex, action=action, at=at,
                          account_id=claim.account_id, list_id=claim.list_id,
                          campaign_id=claim.campaign_id, address=claim.address,
                          viewer=classify(user_agent, at, link.signed_at),
                          country=viewer_country(_believed(country_header), ip), link=link.label,
                          sent_at=link.signed_at)
    enqueue(TRACKING, event.to_dict())
    return link.url


def _believed(country_header: str | None) -> str | None:
    """The CloudFront-Viewer-Country header where the deployment declares CloudFront in front of
    the tracking links; None elsewhere, where any caller may write it (the source IP decides)."""
    return country_header if settings().tracking_behind_cloudfront else None


@cache
def warm_up() -> None:
    """Load and read ahead, once per environment, what the route's half needs for its first open
    or click: the signing keys (a secret read), the token, viewer and country rules, the queue's
    address. Queues nothing. The front's scheduled warm-up (functions.FunctionSpec.
    warm_every_minutes) runs it, so a reader's click waits for no cold start. Later warm-ups
    only keep the environment: the key is read again by a request once its cache has aged
    (config.SECRET_MAX_AGE_SECONDS), so a quiet front reads no secret."""
    from chalicelib.domain import country, engagement  # noqa: F401  (imported by the first fetch)
    from chalicelib.domain.mail_links import CLICK, OPEN

    signer().prepare(OPEN, CLICK)
    queue_url(TRACKING)


def count_events(events: list[TrackingEvent]) -> set[str]:
    """Count a batch: read its markers (one per recipient, campaign and scope; BatchGetItem) and
    the deltas of their last writes, file the markers it creates for the day-30 purge (one purge
    list, P21), put each changed marker, then one delta per campaign with what the markers
    written add. The markers are also each recipient's tracking history (P16), so nothing else
    is written. Safe to repeat for the same events.

    Returns the ids of the events to retry: those of a marker another worker changed meanwhile,
    or whose last batch may still be writing its delta. Raises when a write fails otherwise (the
    whole batch is redelivered)."""
    # The store lazily: the open pixel's Lambda (the route half above) touches no table.
    from chalicelib.store import campaign_stats
    from chalicelib.store import tracking as tracking_store

    events, unrecorded = _of_people_tracked(events)
    if not events:
        return set()
    at, batch_id = now(), uuid.uuid4().hex[:16]
    secret = hash_key()
    recipient_of = {event.event_id: recipient_key(secret, event.campaign_id,
                                                  address_hash(event.address, secret))
                    for event in events}
    stored = tracking_store.existing_markers(marker_keys(events, recipient_of))
    orphaned, unsettled = _missing_deltas(stored, at)
    plan = plan_batch(events, stored, recipient_of, at, batch_id, orphaned, unsettled, unrecorded)
    failed = set(plan.deferred)
    # Filed before the writes (P21): a Lambda dying after them leaves no marker the purge misses.
    filed = tracking_store.list_new_markers(plan.writes)
    written = []
    for write in plan.writes:
        if tracking_store.write_marker(write, filed.get(write.key)):
            written.append(write)
        else:
            failed.update(write.event_ids)
    for campaign_id, counts in plan.counters(written).items():
        if counts:
            campaign_stats.save_delta(DeltaRef(campaign_id, at, batch_id), counts)
    if plan.flooded:
        logger.warning("tracking events over a marker's limit, not counted",
                       extra={"flooded": plan.flooded})
    logger.info("tracking batch counted", extra={
        "events": len(events), "fresh": plan.fresh, "replayed": plan.replayed, "late": plan.late,
        "markers": len(written), "retried": len(failed), "adopted": plan.adopted})
    return failed


def _missing_deltas(stored: dict[MarkerKey, Any], at: datetime) -> tuple[set[MarkerKey], set[MarkerKey]]:
    """(orphaned, unsettled): markers whose last batch's delta is missing, and has been for longer
    than SETTLE (that batch died: adopt its counts) or not yet (it may still be writing)."""
    from chalicelib.store import campaign_stats

    refs = {key: ref for key, marker in stored.items() if (ref := delta_ref(key, marker, at)) is not None}
    found = campaign_stats.deltas_found(set(refs.values()))
    missing = {key: ref for key, ref in refs.items() if ref not in found}
    orphaned = {key for key, ref in missing.items() if ref.at <= at - SETTLE}
    return orphaned, set(missing) - orphaned


def _of_people_tracked(events: list[TrackingEvent]) -> tuple[list[TrackingEvent], set[str]]:
    """(events to count, ids of those to count in the totals only). Drop the events of people who
    may not be tracked (P15, P18, P29, P30): their entry is gone (erased, deleted, its data purged
    after they left), or had ended, or they had withdrawn tracking consent, when the event
    happened; or the list now asks for a consent they never gave; and the opens (clicks) of a
    list that no longer tracks opens (clicks), P15. A mail they kept still fetches its pixel, and
    its tracked links still redirect; counting them would process their data without a ground.
    An event from before a withdrawal still counts, but in the totals only: withdrawing deleted
    the person's history (preferences.set_tracking), and a marker would rebuild it (P30). One
    batched read of the entries and one of their lists per batch."""
    from chalicelib.store import lists as list_store
    from chalicelib.store import subscribers as subscriber_store

    entries = subscriber_store.entries({(event.list_id, event.address) for event in events})
    lists = list_store.lists_by_id({event.list_id for event in events})

    def tracked(event: TrackingEvent) -> bool:
        entry, mailing_list = entries.get((event.list_id, event.address)), lists.get(event.list_id)
        if entry is None or mailing_list is None or entry.account_id != event.account_id:
            return False
        # The list's switch as it is now, not as it was at sending: switching off stops counting
        # the mails already out (a missing attribute is the model's default, on).
        switch = mailing_list.track_clicks if event.action is Action.CLICK else mailing_list.track_opens
        if switch is False:
            return False
        required = tracking_consent_of(mailing_list.tracking_consent) is TrackingConsent.REQUIRED
        withdrawn_at = entry.tracking.withdrawn_at if entry.tracking else None
        return may_track_event(required, Status(entry.status), subscriber_store.tracking_state(entry),
                               event.at, entry.ended_at, withdrawn_at)

    def withdrawn(event: TrackingEvent) -> bool:
        return subscriber_store.tracking_state(entries[(event.list_id, event.address)]).withdrawn

    kept = [event for event in events if tracked(event)]
    if len(kept) < len(events):
        logger.info("tracking events of people no longer tracked dropped",
                    extra={"dropped": len(events) - len(kept)})
    return kept, {event.event_id for event in kept if withdrawn(event)}
