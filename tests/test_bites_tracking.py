"""Tracking and report rules (P13, P14, P15, P26) at the edges where the mutation run found no fast
test biting: how a batch counts late, repeated, flooded and orphaned events, what a new marker
holds, what a report reads from its counters, and whose feedback counts toward an account's rates.
Plain calls, no AWS: `make mutants` gives each mutant the fastest tests named for its module's
rules, so these are named for P13 (tracking.py), P13/P14 (campaign_report.py) and P26 (health.py)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.campaign_report import build_report
from chalicelib.domain.health import SUSPENSION_MAIL_KIND, counts_for_account
from chalicelib.domain.optout import MAIL_KIND as OPTOUT_MAIL_KIND
from chalicelib.domain.sending import CAMPAIGN_KIND, TEST_KIND
from chalicelib.domain.tracking import (
    EVENT_ID_LIFETIME,
    HISTORY_LIFETIME,
    MAX_REMEMBERED_EVENTS,
    SETTLE,
    Action,
    BatchPlan,
    Marker,
    MarkerKey,
    TrackingEvent,
    marker_key,
    short_event_id,
)
from tests.support.tracking import planned, recipient_of, tracking_event

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SPRING = "https://shop.example/spring"


def _event(event_id: str, address: str = "ann@example.com", *, minutes_ago: float = 5,
           **fields: Any) -> TrackingEvent:
    return tracking_event(event_id, at=NOW - timedelta(minutes=minutes_ago), address=address, **fields)


def _plan(events: list[TrackingEvent], stored: dict[MarkerKey, Marker] | None = None, *, now: datetime = NOW,
          orphaned: frozenset[MarkerKey] = frozenset(), batch_id: str = "b1") -> BatchPlan:
    return planned(events, stored, now=now, batch_id=batch_id, orphaned=orphaned)


def _key(event: TrackingEvent) -> MarkerKey:
    return marker_key(event, recipient_of(event))


# --- P13, P21: opens of mails older than the history -----------------------------------------------

def test_p13_p21_each_late_open_adds_to_the_totals_and_the_batch_goes_on_to_the_next_event():
    old = NOW - HISTORY_LIFETIME - timedelta(days=1)
    late = [_event("late1", minutes_ago=10, sent_at=old), _event("late2", "bob@example.com", minutes_ago=9,
                                                                   sent_at=old)]
    fresh = _event("fresh", "cat@example.com", minutes_ago=5, sent_at=NOW - timedelta(days=1))
    plan = _plan([*late, fresh])
    assert (plan.late, plan.fresh) == (2, 3), "both late opens, and the fresh one, are counted"
    assert plan.late_counts == {"cmp_1": {"opens#total#human": 2, "countries#human#RO": 2}}
    assert [write.key for write in plan.writes] == [_key(fresh)], "a marker for the fresh reader only"
    assert plan.counters() == {"cmp_1": {"opens#total#human": 3, "countries#human#RO": 3,
                                         "opens#unique#any": 1, "opens#unique#human": 1}}


def test_p13_p21_a_mail_sent_exactly_its_history_lifetime_ago_is_late_a_second_younger_is_not():
    at_limit = _event("e1", sent_at=NOW - HISTORY_LIFETIME)
    younger = _event("e2", "bob@example.com", sent_at=NOW - HISTORY_LIFETIME + timedelta(seconds=1))
    plan = _plan([at_limit, younger])
    assert plan.late == 1 and plan.late_counts == {"cmp_1": {"opens#total#human": 1, "countries#human#RO": 1}}
    assert [write.key for write in plan.writes] == [_key(younger)]


# --- P13: repeated, flooded and orphaned events ------------------------------------------------------

def test_p13_a_message_delivered_three_times_in_one_batch_counts_once_and_the_batch_goes_on():
    twice_more = [_event("e1", minutes_ago=10) for _ in range(3)]
    plan = _plan([*twice_more, _event("e2", "bob@example.com", minutes_ago=5)])
    assert (plan.fresh, plan.replayed) == (2, 2)
    assert plan.counters()["cmp_1"]["opens#total#human"] == 2
    assert len(plan.writes) == 2


def _full_marker(remembered: str) -> Marker:
    """A marker holding MAX_REMEMBERED_EVENTS recent events, `remembered` among them."""
    recent = int((NOW - timedelta(hours=1)).timestamp())
    events = {short_event_id(f"loop{n}"): recent for n in range(MAX_REMEMBERED_EVENTS - 1)}
    events[short_event_id(remembered)] = recent
    return Marker(version=7, viewers=frozenset({"human"}), events=events,
                  first_at=NOW - timedelta(hours=2), last_at=NOW - timedelta(hours=1),
                  counted=MAX_REMEMBERED_EVENTS)


def test_p13_a_full_marker_tells_a_flood_from_a_redelivery_and_other_markers_still_count():
    flood = _event("new", minutes_ago=10)
    redelivered = _event("old", minutes_ago=9)
    other = _event("other", "bob@example.com", minutes_ago=5)
    plan = _plan([flood, redelivered, other], {_key(flood): _full_marker("old")})
    assert (plan.fresh, plan.replayed, plan.flooded) == (1, 1, 1)
    assert plan.counters() == {"cmp_1": {"opens#total#human": 1, "countries#human#RO": 1,
                                         "opens#unique#any": 1, "opens#unique#human": 1}}
    assert [write.key for write in plan.writes] == [_key(other)], "the full marker is not rewritten"


def test_p13_every_marker_of_a_dead_batch_is_adopted_once_settled():
    events = [_event("e1"), _event("e2", "bob@example.com")]
    dead = _plan(events, batch_id="dead")
    stored = {write.key: write.marker for write in dead.writes}
    assert len(stored) == 2
    plan = _plan(events, stored, now=NOW + SETTLE + timedelta(seconds=1), orphaned=frozenset(stored),
                 batch_id="next")
    assert (plan.fresh, plan.replayed, plan.adopted) == (0, 2, 2)
    assert plan.counters() == dead.counters()


# --- P13, P16, P21: what a new marker holds --------------------------------------------------------

def test_p13_p16_a_new_click_marker_holds_its_links_label_and_expires_with_its_mail():
    sent = NOW - timedelta(days=2)
    plan = _plan([_event("c1", action=Action.CLICK, link=f"{SPRING}?u=ann%40example.com#top", sent_at=sent)])
    (write,) = plan.writes
    assert write.marker.link == SPRING
    assert write.marker.expires_at == sent + HISTORY_LIFETIME


def test_p13_p16_an_older_event_delivered_late_moves_the_markers_first_time_back():
    first = NOW - timedelta(hours=1)
    stored_marker = Marker(version=1, viewers=frozenset({"human"}),
                           events={short_event_id("e1"): int(first.timestamp())}, first_at=first,
                           last_at=first, counted=1)
    older = _event("e0", minutes_ago=90)
    (write,) = _plan([older], {_key(older): stored_marker}).writes
    assert (write.marker.first_at, write.marker.last_at, write.marker.counted) == (older.at, first, 2)
    assert NOW - older.at < EVENT_ID_LIFETIME


# --- P13, P14: the report reads every counter it shows -------------------------------------------

def test_p13_p14_the_report_shows_trackable_unsubscribes_and_forwards_from_their_counters():
    report = build_report("cmp_1", {"trackable": 7, "unsubscribes": 2, "forwards": 3})
    assert (report["trackable"], report["unsubscribes"], report["forwards"]) == (7, 2, 3)
    empty = build_report("cmp_1", {})
    assert (empty["trackable"], empty["unsubscribes"], empty["forwards"]) == (0, 0, 0)


# --- P26: whose feedback counts toward the account's rates -------------------------------------------

def test_p26_feedback_on_the_accounts_own_mail_counts_and_on_the_platforms_mail_does_not():
    assert counts_for_account(None), "feedback without a kind is the account's (older mail)"
    assert counts_for_account(CAMPAIGN_KIND) and counts_for_account(TEST_KIND)
    assert not counts_for_account(SUSPENSION_MAIL_KIND)
    assert not counts_for_account(OPTOUT_MAIL_KIND)

