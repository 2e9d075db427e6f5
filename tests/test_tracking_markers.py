"""The tracking worker's markers (P13, P16): one marker per recipient, campaign and scope, written
at most once per batch, conditioned on the version read, then one delta of counters per campaign;
counts stay exact under redelivery, races and a Lambda dying between its markers and its delta,
and each marker keeps the recipient's history of its scope (first and latest time, how many,
which link). The planner is pure and tested with plain calls; the worker against moto."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.engagement import Viewer
from chalicelib.domain.tracking import (
    EVENT_ID_LIFETIME,
    HISTORY_LIFETIME,
    MARKER_LINK_LENGTH,
    MAX_REMEMBERED_EVENTS,
    SETTLE,
    Action,
    BatchPlan,
    Marker,
    MarkerKey,
    TrackingEvent,
    delta_ref,
    marker_key,
    short_event_id,
)
from tests.support.campaigns import report_body
from tests.support.lists import subscribe
from tests.support.queues import run_tracking_worker
from tests.support.tracking import READER, mailed_reader, planned, tracking_event

NOW = datetime.now(UTC).replace(microsecond=0)
SPRING = "https://shop.example/spring"


def _event(event_id: str, *, at: datetime | None = None, **fields: Any) -> TrackingEvent:
    return tracking_event(event_id, at=at or NOW - timedelta(minutes=5), **fields)


def _plan(events: list[TrackingEvent], stored: dict[MarkerKey, Marker] | None = None,
          **kwargs: Any) -> BatchPlan:
    return planned(events, stored, now=kwargs.pop("now", NOW), **kwargs)


def _counters(plan: BatchPlan) -> dict[str, int]:
    totals: dict[str, int] = {}
    for counts in plan.counters().values():
        for name, amount in counts.items():
            totals[name] = totals.get(name, 0) + amount
    return totals


def _stored_after(plan: BatchPlan) -> dict[MarkerKey, Marker]:
    """The markers as the plan leaves them once written: what the next batch reads."""
    return {write.key: write.marker for write in plan.writes}


# --- the plan (pure) ------------------------------------------------------------------------------

def test_p13_a_recipients_many_opens_in_one_batch_write_one_marker():
    events = [_event(f"e{n}", viewer=Viewer.MACHINE if n < 2 else Viewer.HUMAN,
                     at=NOW - timedelta(minutes=10 - n)) for n in range(5)]
    plan = _plan(events, batch_id="b1")
    (write,) = plan.writes
    assert write.key == marker_key(events[0], f"h-{READER}")
    assert write.read_version is None and write.marker.version == 1
    assert write.marker.viewers == {"human", "machine"}
    assert set(write.marker.events) == {short_event_id(f"e{n}") for n in range(5)}
    assert (write.marker.first_at, write.marker.last_at) == (events[0].at, events[4].at)
    assert write.marker.counted == 5 and write.marker.link is None
    assert _counters(plan) == {"opens#total#machine": 2, "opens#total#human": 3, "opens#unique#any": 1,
                               "opens#unique#machine": 1, "opens#unique#human": 1,
                               "countries#machine#RO": 2, "countries#human#RO": 3}
    # The marker names its batch and carries what it adds: the one campaign's delta.
    assert (write.marker.by, write.marker.by_at) == ("b1", NOW)
    assert plan.counters() == {"cmp_1": dict(write.marker.by_counts)}
    assert plan.fresh == 5


def test_p13_a_redelivered_batch_adds_nothing():
    events = [_event(f"e{n}", address=f"r{n % 3}@example.com") for n in range(6)]
    first = _plan(events)
    again = _plan(events[::-1], _stored_after(first))
    assert again.writes == [] and again.fresh == 0 and again.replayed == 6


def test_p13_an_event_twice_in_one_batch_counts_once():
    plan = _plan([_event("e1"), _event("e1")])
    assert plan.fresh == 1 and plan.replayed == 1
    assert _counters(plan)["opens#total#human"] == 1


def test_p13_a_redelivered_batch_mixed_with_fresh_events_counts_only_the_fresh():
    old = [_event("e1"), _event("e2", viewer=Viewer.MACHINE)]
    stored = _stored_after(_plan(old))
    fresh = [_event("e3"), _event("e4", address="other@example.com")]
    plan = _plan(old + fresh, stored)
    assert plan.fresh == 2 and plan.replayed == 2
    assert _counters(plan) == {"opens#total#human": 2, "countries#human#RO": 2,
                               "opens#unique#any": 1, "opens#unique#human": 1}
    (reader,) = [write for write in plan.writes if write.read_version is not None]
    assert set(reader.marker.events) == {short_event_id(f"e{n}") for n in (1, 2, 3)}


def test_p13_each_marker_write_is_conditioned_on_the_version_read():
    stored = _stored_after(_plan([_event("e1")]))
    stored = _stored_after(_plan([_event("e2")], stored))
    (marker,) = stored.values()
    assert marker.version == 2
    plan = _plan([_event("e3"), _event("e4", address="new@example.com")], stored)
    writes = {write.key: write for write in plan.writes}
    reader = writes.pop(next(iter(stored)))
    (newcomer,) = writes.values()
    assert (reader.read_version, reader.marker.version) == (2, 3)
    assert (newcomer.read_version, newcomer.marker.version) == (None, 1)


def test_p13_unique_people_and_machines_are_counted_apart():
    machine_first = _stored_after(_plan([_event("e1", viewer=Viewer.MACHINE)]))
    plan = _plan([_event("e2"), _event("e3")], machine_first)
    # The recipient was counted (any) by the proxy's fetch; the person is a first human open.
    assert _counters(plan) == {"opens#total#human": 2, "countries#human#RO": 2, "opens#unique#human": 1}
    both = _stored_after(plan)
    assert _counters(_plan([_event("e4"), _event("e5", viewer=Viewer.MACHINE)], both)) == {
        "opens#total#human": 1, "countries#human#RO": 1,
        "opens#total#machine": 1, "countries#machine#RO": 1}


def test_p13_unique_clicks_are_per_link_and_ignore_the_query():
    events = [_event("c1", action=Action.CLICK, link=f"{SPRING}?u=1"),
              _event("c2", action=Action.CLICK, link=f"{SPRING}?u=2"),
              _event("c3", action=Action.CLICK, link="https://shop.example/autumn"),
              _event("o1")]
    plan = _plan(events)
    assert len(plan.writes) == 3  # spring clicks, autumn clicks, opens
    counters = _counters(plan)
    assert counters[f"clicks#total#human#{SPRING}"] == 2
    assert counters[f"clicks#unique#any#{SPRING}"] == 1
    assert counters["clicks#unique#any#https://shop.example/autumn"] == 1
    assert counters["opens#unique#any"] == 1
    autumn = _event("c4", action=Action.CLICK, link="https://shop.example/autumn")
    later = _plan([autumn], _stored_after(plan))
    assert _counters(later) == {"clicks#total#human#https://shop.example/autumn": 1}


def test_a_long_link_keeps_the_marker_key_short():
    long_link = "https://shop.example/" + "a" * 490
    key = marker_key(_event("c1", action=Action.CLICK, link=long_link), "h" * 32)
    assert key.recipient == "cmp_1#" + "h" * 32
    assert key.scope.startswith("clicks#") and len(key.scope) < 30 and "shop" not in key.scope


def test_p16_a_recipients_markers_in_a_campaign_share_one_hash_key():
    events = [_event("o1"), _event("c1", action=Action.CLICK, link=SPRING),
              _event("c2", action=Action.CLICK, link="https://shop.example/autumn"),
              _event("o2", campaign_id="cmp_2")]
    keys = [marker_key(event, f"h-{READER}") for event in events]
    assert {key.recipient for key in keys[:3]} == {f"cmp_1#h-{READER}"}
    assert keys[0].scope == "opens" and len({key.scope for key in keys[:3]}) == 3
    assert keys[3] == MarkerKey(f"cmp_2#h-{READER}", "opens")


def test_p16_a_marker_keeps_the_first_and_latest_time_and_the_count_across_batches():
    early, late = NOW - timedelta(hours=3), NOW - timedelta(minutes=1)
    stored = _stored_after(_plan([_event("e2", at=NOW - timedelta(hours=2))]))
    # A later batch carries the newest event and one SQS delivered late, older than the first.
    plan = _plan([_event("e3", at=late), _event("e1", at=early)], stored)
    (write,) = plan.writes
    assert (write.marker.first_at, write.marker.last_at, write.marker.counted) == (early, late, 3)
    # A redelivered event changes nothing.
    assert _plan([_event("e3", at=late)], _stored_after(plan)).writes == []


def test_p16_a_click_marker_keeps_the_links_label_but_never_its_query():
    plan = _plan([_event("c1", action=Action.CLICK, link=f"{SPRING}?u=reader%40example.com#top")])
    (write,) = plan.writes
    assert write.marker.link == SPRING
    long_link = "https://shop.example/" + "a" * 490
    (write,) = _plan([_event("c2", action=Action.CLICK, link=long_link)]).writes
    assert write.marker.link == long_link[:MARKER_LINK_LENGTH]


def test_p13_a_marker_forgets_events_sqs_can_no_longer_redeliver():
    old = NOW - EVENT_ID_LIFETIME - timedelta(hours=1)
    stored = {marker_key(_event("x"), f"h-{READER}"): Marker(
        version=4, viewers=frozenset({"human"}),
        events={short_event_id("e0"): int(old.timestamp()), short_event_id("e1"): int(NOW.timestamp()) - 60},
        first_at=old, last_at=NOW - timedelta(minutes=1), counted=2)}
    plan = _plan([_event("e2")], stored)
    (write,) = plan.writes
    assert set(write.marker.events) == {short_event_id("e1"), short_event_id("e2")}
    # The unique counts stay, and so does the history the forgotten event began (P16).
    assert write.marker.first_at == old and write.marker.counted == 3
    assert _counters(plan) == {"opens#total#human": 1, "countries#human#RO": 1}


def test_p13_a_token_fetched_in_a_loop_stops_counting_at_the_markers_limit():
    recent = int(NOW.timestamp()) - 60
    stored = {marker_key(_event("x"), f"h-{READER}"): Marker(
        version=9, viewers=frozenset({"machine"}),
        events={short_event_id(f"l{n}"): recent for n in range(MAX_REMEMBERED_EVENTS - 1)},
        first_at=NOW - timedelta(hours=1), last_at=NOW - timedelta(minutes=1),
        counted=MAX_REMEMBERED_EVENTS - 1)}
    plan = _plan([_event("e1", viewer=Viewer.MACHINE), _event("e2", viewer=Viewer.MACHINE)], stored)
    assert plan.fresh == 1 and plan.flooded == 1
    assert _counters(plan)["opens#total#machine"] == 1


def test_p13_a_big_batch_writes_each_marker_once_and_one_delta_a_campaign():
    events = [_event(f"e{n}", address=f"r{n % 120}@example.com", campaign_id=f"cmp_{n // 120}")
              for n in range(240)]
    plan = _plan(events)
    assert len(plan.writes) == len({write.key for write in plan.writes}) == 120 + 120
    deltas = plan.counters()
    assert set(deltas) == {"cmp_0", "cmp_1"}
    assert deltas["cmp_0"]["opens#total#human"] == deltas["cmp_1"]["opens#total#human"] == 120


def _died_after_markers() -> tuple[dict[MarkerKey, Marker], BatchPlan]:
    """Markers a batch wrote before its Lambda died (no delta), and that batch's plan."""
    dead = _plan([_event("e1"), _event("e2", viewer=Viewer.MACHINE)], batch_id="dead")
    return _stored_after(dead), dead


def test_p13_a_batch_that_died_before_its_delta_is_adopted_once_settled():
    stored, dead = _died_after_markers()
    (key,) = stored
    # SQS redelivers the dead batch's events: replays, yet the dead batch's counts come back.
    later = NOW + SETTLE + timedelta(seconds=1)
    plan = _plan([_event("e1"), _event("e2", viewer=Viewer.MACHINE)], stored, now=later,
                 batch_id="next", orphaned={key})
    assert plan.fresh == 0 and plan.replayed == 2 and plan.adopted == 1
    (write,) = plan.writes
    assert write.read_version == 1 and write.marker.by == "next"
    assert plan.counters() == dead.counters()
    # The adopting write is itself adoptable, should it die too; a fresh event adds to it.
    plan = _plan([_event("e3")], stored, now=later, batch_id="next", orphaned={key})
    assert _counters(plan) == {name: amount + (name in ("opens#total#human", "countries#human#RO"))
                               for name, amount in _counters(dead).items()}


def test_p13_events_of_a_marker_whose_batch_may_still_be_writing_are_deferred():
    stored, _ = _died_after_markers()
    (key,) = stored
    plan = _plan([_event("e3"), _event("e4", address="new@example.com")], stored, unsettled={key})
    assert plan.deferred == ("e3",)
    (write,) = plan.writes
    assert write.key != key and write.event_ids == ("e4",)


def test_p13_only_recent_writes_that_added_something_need_their_delta_checked():
    stored, _ = _died_after_markers()
    ((key, marker),) = stored.items()
    ref = delta_ref(key, marker, NOW)
    assert ref is not None and (ref.campaign_id, ref.at, ref.batch_id) == ("cmp_1", NOW, "dead")
    assert delta_ref(key, marker, NOW + EVENT_ID_LIFETIME + timedelta(seconds=1)) is None
    assert delta_ref(key, Marker(version=1, viewers=frozenset(), events={}, first_at=NOW, last_at=NOW,
                                 counted=1), NOW) is None


# --- the worker (moto) ----------------------------------------------------------------------------

@pytest.fixture
def mailed(client: Any, account: dict[str, Any]) -> dict[str, str]:
    mailed = mailed_reader(client, account)
    subscribe(account["account_id"], mailed["list_id"], "other@example.com")
    return {"account_id": account["account_id"], **mailed}


def _records(mailed: dict[str, str], events: list[TrackingEvent]) -> list[dict[str, Any]]:
    """SQS records of the events, as the route queues them (a message id per event)."""
    records = []
    for event in events:
        body = event.to_dict() | {"account": mailed["account_id"], "list": mailed["list_id"],
                                  "campaign": mailed["campaign_id"]}
        records.append({"messageId": f"m-{event.event_id}", "body": json.dumps(body)})
    return records


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every marker write and delta the worker makes, as it goes."""
    from chalicelib.store import campaign_stats
    from chalicelib.store import tracking as tracking_store

    writes: list[Any] = []
    write_marker, save_delta = tracking_store.write_marker, campaign_stats.save_delta

    def marker_spy(write: Any, purge_list: str | None = None) -> bool:
        writes.append(write)
        return write_marker(write, purge_list)

    def delta_spy(ref: Any, counts: Any) -> None:
        writes.append((ref, dict(counts)))
        save_delta(ref, counts)

    monkeypatch.setattr(tracking_store, "write_marker", marker_spy)
    monkeypatch.setattr(campaign_stats, "save_delta", delta_spy)
    return writes


def _opens(client: Any, account: dict[str, Any], mailed: dict[str, str]) -> dict[str, Any]:
    return report_body(client, account, mailed["campaign_id"])["opens"]


def test_p13_worker_writes_one_marker_item_for_a_readers_many_opens(client, account, mailed, written):
    from chalicelib.store.models import TrackingMarker

    events = [_event(f"{n:032x}") for n in range(6)] + [_event("f" * 32, address="other@example.com")]
    assert run_tracking_worker(_records(mailed, events)) == {"batchItemFailures": []}
    *markers_written, (ref, delta) = written
    assert len(markers_written) == 2 and ref.campaign_id == mailed["campaign_id"]
    assert delta["opens#total#human"] == 7
    markers = list(TrackingMarker.scan())
    assert sorted(len(item.events.as_dict()) for item in markers) == [1, 6]
    assert all(item.version == 1 and "reader" not in item.campaign_recipient for item in markers)
    assert _opens(client, account, mailed) == {"total": 7, "unique": 2, "human": {"total": 7, "unique": 2},
                                               "machine": {"total": 0, "unique": 0}}


def test_p13_worker_redelivered_batch_adds_and_writes_nothing(client, account, mailed, written):
    from bench.aws_calls import count_aws_calls

    records = _records(mailed, [_event(f"{n:032x}", viewer=Viewer(("human", "machine")[n % 2]))
                                for n in range(4)])
    run_tracking_worker(records)
    before = report_body(client, account, mailed["campaign_id"])
    with count_aws_calls() as calls:
        assert run_tracking_worker(records[::-1] + records[:1]) == {"batchItemFailures": []}
    assert "dynamodb.PutItem" not in calls.by_operation
    assert len(written) == 2  # the first run's marker and delta
    assert report_body(client, account, mailed["campaign_id"]) == before


# --- P21: the markers a batch creates are filed for the day-30 purge, one put a batch ---------------

def test_p21_a_tracking_batch_that_creates_markers_makes_exactly_one_extra_put(client, account, mailed):
    from bench.aws_calls import count_aws_calls
    from tests.support.retention import marker_lists, stored_markers

    first = [_event(f"{n:032x}") for n in range(6)] + [_event("f" * 32, address="other@example.com")]
    with count_aws_calls() as calls:
        assert run_tracking_worker(_records(mailed, first)) == {"batchItemFailures": []}
    # Two markers, the campaign's delta, and the one purge list naming both markers.
    assert calls.by_operation["dynamodb.PutItem"] == 2 + 1 + 1
    assert marker_lists() == [stored_markers()] and len(stored_markers()) == 2
    again = [_event(f"{n:032x}", at=NOW - timedelta(minutes=1)) for n in range(10, 12)]
    with count_aws_calls() as calls:
        assert run_tracking_worker(_records(mailed, again)) == {"batchItemFailures": []}
    assert calls.by_operation["dynamodb.PutItem"] == 1 + 1, "a marker rewritten keeps its list: no put"
    assert len(marker_lists()) == 1


def test_p21_a_redelivered_tracking_batch_files_the_same_list(client, account, mailed, monkeypatch):
    from chalicelib.store.models import MessagePurgeList, TrackingMarker
    from tests.support.faults import fail_first_write_to
    from tests.support.retention import marker_lists, stored_markers

    records = _records(mailed, [_event("a" * 32), _event("b" * 32, address="other@example.com")])
    failed = fail_first_write_to(monkeypatch, TrackingMarker)
    assert len(run_tracking_worker(records)["batchItemFailures"]) == 2 and failed == ["PutItem"]
    assert stored_markers() == [] and len(marker_lists()) == 1, "filed before the markers"
    assert run_tracking_worker(records) == {"batchItemFailures": []}
    assert len(list(MessagePurgeList.scan())) == 1, "the same list, rewritten"
    assert marker_lists() == [stored_markers()] and len(stored_markers()) == 2


def test_p21_no_marker_is_written_when_its_purge_list_cannot_be(client, account, mailed, monkeypatch):
    from chalicelib.store.models import MessagePurgeList
    from tests.support.faults import fail_first_write_to
    from tests.support.retention import marker_lists, stored_markers

    records = _records(mailed, [_event("a" * 32)])
    fail_first_write_to(monkeypatch, MessagePurgeList)
    assert len(run_tracking_worker(records)["batchItemFailures"]) == 1
    assert stored_markers() == [], "no history the purge could miss"
    assert run_tracking_worker(records) == {"batchItemFailures": []}
    assert marker_lists() == [stored_markers()] and _opens(client, account, mailed)["total"] == 1


def test_p13_worker_redelivery_mixed_with_fresh_events_counts_only_the_fresh(client, account, mailed):
    old = _records(mailed, [_event("a" * 32), _event("b" * 32, address="other@example.com")])
    run_tracking_worker(old)
    fresh = _records(mailed, [_event("c" * 32, viewer=Viewer.MACHINE), _event("d" * 32)])
    assert run_tracking_worker(fresh + old) == {"batchItemFailures": []}
    assert _opens(client, account, mailed) == {"total": 4, "unique": 2, "human": {"total": 3, "unique": 2},
                                               "machine": {"total": 1, "unique": 1}}


def test_p13_racing_workers_retry_only_the_contested_markers_events_and_count_once(
        client, account, mailed, monkeypatch):
    from chalicelib.store import tracking as tracking_store

    ours = _records(mailed, [_event("a" * 32, at=NOW - timedelta(minutes=3)),
                             _event("b" * 32, address="other@example.com")])
    theirs = _records(mailed, [_event("c" * 32, at=NOW - timedelta(minutes=4), viewer=Viewer.MACHINE)])
    existing_markers = tracking_store.existing_markers

    def read_then_lose_the_race(keys: set[str]) -> dict[str, Any]:
        markers = existing_markers(keys)
        monkeypatch.setattr(tracking_store, "existing_markers", existing_markers)
        # Another worker counts the same reader between our read and our write.
        assert run_tracking_worker(theirs) == {"batchItemFailures": []}
        return markers

    monkeypatch.setattr(tracking_store, "existing_markers", read_then_lose_the_race)
    failed = run_tracking_worker(ours)["batchItemFailures"]
    assert [item["itemIdentifier"] for item in failed] == [ours[0]["messageId"]]
    assert _opens(client, account, mailed)["total"] == 2  # theirs, and our other reader's
    assert run_tracking_worker(ours) == {"batchItemFailures": []}  # SQS redelivers
    assert run_tracking_worker(ours) == {"batchItemFailures": []}  # and once more
    assert _opens(client, account, mailed) == {"total": 3, "unique": 2, "human": {"total": 2, "unique": 2},
                                               "machine": {"total": 1, "unique": 1}}
    # The reader's history holds both of their events, the machine's fetch first (P16).
    ((_, marker),) = tracking_store.markers_of(mailed["account_id"], [READER])
    assert (marker.first_at, marker.last_at) == (NOW - timedelta(minutes=4), NOW - timedelta(minutes=3))
    assert marker.counted == 2


def _dying_before_the_delta(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next delta write kills the Lambda: its markers are written, its delta never is."""
    from chalicelib.store import campaign_stats

    save_delta = campaign_stats.save_delta

    def die(ref: Any, counts: Any) -> None:
        monkeypatch.setattr(campaign_stats, "save_delta", save_delta)
        raise TimeoutError("Task timed out")

    monkeypatch.setattr(campaign_stats, "save_delta", die)


def test_p13_worker_that_dies_before_its_delta_is_counted_once_by_the_redelivery(
        client, account, mailed, monkeypatch):
    import time_machine

    records = _records(mailed, [_event("a" * 32), _event("b" * 32, address="other@example.com",
                                                         viewer=Viewer.MACHINE)])
    _dying_before_the_delta(monkeypatch)
    failed = run_tracking_worker(records)["batchItemFailures"]
    assert len(failed) == 2 and _opens(client, account, mailed)["total"] == 0
    # Redelivered at once, the dead batch might still be running: the events wait.
    assert len(run_tracking_worker(records)["batchItemFailures"]) == 2
    assert _opens(client, account, mailed)["total"] == 0
    with time_machine.travel(datetime.now(UTC) + SETTLE + timedelta(seconds=5), tick=False):
        assert run_tracking_worker(records) == {"batchItemFailures": []}
        assert run_tracking_worker(records) == {"batchItemFailures": []}  # once more: nothing
        assert _opens(client, account, mailed) == {
            "total": 2, "unique": 2, "human": {"total": 1, "unique": 1}, "machine": {"total": 1, "unique": 1}}


def test_p13_a_fresh_event_adopts_a_dead_batchs_counts_before_its_redelivery(
        client, account, mailed, monkeypatch):
    import time_machine

    dead = _records(mailed, [_event("a" * 32)])
    _dying_before_the_delta(monkeypatch)
    assert len(run_tracking_worker(dead)["batchItemFailures"]) == 1
    with time_machine.travel(datetime.now(UTC) + SETTLE + timedelta(seconds=5), tick=False):
        assert run_tracking_worker(_records(mailed, [_event("c" * 32)])) == {"batchItemFailures": []}
        assert _opens(client, account, mailed)["total"] == 2
        assert run_tracking_worker(dead) == {"batchItemFailures": []}  # SQS's redelivery: a replay
        assert _opens(client, account, mailed) == {
            "total": 2, "unique": 1, "human": {"total": 2, "unique": 1}, "machine": {"total": 0, "unique": 0}}


def test_p13_a_report_folds_settled_deltas_into_one_snapshot_and_counts_them_once(
        client, account, mailed, monkeypatch):
    import time_machine

    from chalicelib.store import campaign_stats
    from chalicelib.store.models import CampaignStat

    monkeypatch.setattr(campaign_stats, "FOLD_AFTER", 3)
    for address in [f"r{n}@example.com" for n in range(5)] + ["late@example.com"]:
        subscribe(mailed["account_id"], mailed["list_id"], address)
    start = datetime.now(UTC)
    for n in range(5):
        with time_machine.travel(start + timedelta(seconds=n), tick=False):
            run_tracking_worker(_records(mailed, [_event(f"{n:032x}", address=f"r{n}@example.com")]))
    key = campaign_stats.tracking_key(mailed["campaign_id"])
    expected = {"total": 5, "unique": 5, "human": {"total": 5, "unique": 5},
                "machine": {"total": 0, "unique": 0}}
    assert _opens(client, account, mailed) == expected  # nothing settled yet: nothing folded
    assert [item.counter for item in CampaignStat.query(key)][-1] != campaign_stats.SNAPSHOT
    with time_machine.travel(start + SETTLE + timedelta(seconds=3), tick=False):
        assert _opens(client, account, mailed) == expected  # folds the four settled deltas
        snapshot = CampaignStat.get(key, campaign_stats.SNAPSHOT)
        assert int(snapshot.counts.as_dict()["opens#total#human"]) == 4
        assert _opens(client, account, mailed) == expected  # read again: nothing counted twice
        run_tracking_worker(_records(mailed, [_event("f" * 32, address="late@example.com")]))
        assert _opens(client, account, mailed)["total"] == 6


def test_p13_settle_outlasts_the_tracking_workers_timeout():
    from chalicelib.functions import function_spec

    # A batch can write its delta until its Lambda times out: a missing delta is only taken for
    # a dead batch's well after that.
    assert SETTLE.total_seconds() >= function_spec("tracking_worker").timeout_seconds + 60


def test_p13_worker_counts_unique_clicks_per_link_across_batches(client, account, mailed):
    run_tracking_worker(_records(mailed, [_event("a" * 32, action=Action.CLICK, link=f"{SPRING}?u=1")]))
    run_tracking_worker(_records(mailed, [
        _event("b" * 32, action=Action.CLICK, link=f"{SPRING}?u=2"),
        _event("c" * 32, action=Action.CLICK, link=SPRING, viewer=Viewer.MACHINE),
        _event("d" * 32, action=Action.CLICK, link="https://shop.example/autumn")]))
    links = report_body(client, account, mailed["campaign_id"])["clicks"]["links"]
    assert sorted(links, key=lambda link: link["url"]) == [
        {"url": "https://shop.example/autumn", "total": 1, "unique": 1, "human": 1, "machine": 0},
        {"url": SPRING, "total": 3, "unique": 1, "human": 2, "machine": 1},
    ]


def test_p14_a_click_queued_before_labels_counts_under_its_targets_origin(client, account, mailed):
    (record,) = _records(mailed, [_event("a" * 32, action=Action.CLICK, link=SPRING)])
    body = json.loads(record["body"])
    del body["label"]
    body["link"] = f"https://shop.example/account/{READER}?page=1"  # the rendered target, as queued then
    assert run_tracking_worker([record | {"body": json.dumps(body)}]) == {"batchItemFailures": []}
    assert report_body(client, account, mailed["campaign_id"])["clicks"]["links"] == [
        {"url": "https://shop.example", "total": 1, "unique": 1, "human": 1, "machine": 0}]


# --- P21: a reader's history goes within 30 days of the mail --------------------------------------

def test_p21_a_marker_expires_28_days_after_its_mail_so_ttl_has_it_gone_by_day_30():
    sent = NOW - timedelta(days=3)
    plan = _plan([replace(_event("e1"), sent_at=sent)])
    (write,) = plan.writes
    assert write.marker.expires_at == sent + HISTORY_LIFETIME == sent + timedelta(days=28)


def test_p21_a_batch_files_its_new_markers_per_account_and_day_30_of_their_mail():
    from chalicelib.domain.tracking import new_marker_lists

    sent = (NOW - timedelta(days=3)).replace(hour=6)  # and an hour later: the same day
    events = [replace(_event("e1"), sent_at=sent), replace(_event("e2", address="b@example.com"),
                                                           sent_at=sent + timedelta(hours=1)),
              replace(_event("e3", address="c@example.com"), sent_at=sent - timedelta(days=1)),
              replace(_event("e4", address="d@example.com"), sent_at=sent, account_id="acc_2")]
    plan = _plan(events)
    lists = new_marker_lists(plan.writes)
    assert [(filed.account_id, filed.due, len(filed.keys)) for filed in lists] == [
        ("acc_1", sent - timedelta(days=1) + timedelta(days=30), 1),
        ("acc_1", sent + timedelta(days=30), 2),  # the earliest of the day: the other is expired by then
        ("acc_2", sent + timedelta(days=30), 1)]
    stored = _stored_after(plan)
    assert new_marker_lists(_plan([replace(_event("e5"), sent_at=sent)], stored).writes) == [], \
        "a marker rewritten was filed when it was created"


def test_p21_a_purge_list_holds_a_markers_key_packed_and_nothing_else():
    from chalicelib.domain.tracking import pack_marker_key, unpack_marker_key

    opened = marker_key(_event("e1"), "ab" * 16)
    clicked = marker_key(_event("e2", action=Action.CLICK, link=SPRING + "?utm=x"), "23" * 16)
    for key in (opened, clicked):
        packed = pack_marker_key(key)
        assert unpack_marker_key(packed) == key and b"reader" not in packed
    assert len(pack_marker_key(opened)) == len("cmp_1#") + 16
    assert len(pack_marker_key(clicked)) == len("cmp_1#") + 16 + 8
    for bad in (MarkerKey("cmp_1#xyz", "opens"), MarkerKey("cmp_1#" + "ab" * 16, "clicks"),
                MarkerKey("cmp_1#" + "ab" * 16, "opens#abcd"), MarkerKey("cmp_1#" + "ab" * 15, "opens")):
        with pytest.raises(ValueError):
            pack_marker_key(bad)
    with pytest.raises(ValueError):
        unpack_marker_key(b"cmp_1#" + b"\x00" * 20)


def test_p21_an_open_of_a_mail_older_than_the_history_adds_to_totals_only():
    old = replace(_event("e1"), sent_at=NOW - HISTORY_LIFETIME)
    recent = replace(_event("e2", address="other@example.com"),
                     sent_at=NOW - HISTORY_LIFETIME + timedelta(hours=1))
    plan = _plan([old, recent])
    assert plan.late == 1 and plan.fresh == 2
    assert [write.key for write in plan.writes] == [
        marker_key(recent, "h-other@example.com")], "no history for the old mail's reader"
    assert _counters(plan) == {"opens#total#human": 2, "countries#human#RO": 2,
                               "opens#unique#any": 1, "opens#unique#human": 1}


def test_p21_a_readers_history_goes_within_30_days_and_later_opens_only_add_to_totals(client, account):
    from chalicelib.services.privacy import export_person
    from chalicelib.store.models import TrackingMarker
    from tests.support.retention import day, on_day
    from tests.support.tracking import opened_and_clicked

    with on_day(0):
        mailed = mailed_reader(client, account)
    with on_day(1):
        opened_and_clicked(account["account_id"], mailed["list_id"], mailed["campaign_id"], READER,
                           sent_at=day(0))
        assert {m.expires_at for m in TrackingMarker.scan()} == {day(28)}
    with on_day(27.9):
        history = export_person(account["account_id"], READER)["tracking"]
        assert len(history) == 2
    with on_day(28.1):  # expired; DynamoDB's TTL deletes it within about two days
        assert export_person(account["account_id"], READER)["tracking"] == history, "held until then"
        opened_and_clicked(account["account_id"], mailed["list_id"], mailed["campaign_id"], READER,
                           sent_at=day(0))
        assert export_person(account["account_id"], READER)["tracking"] == history, "no history grows again"
        assert len(list(TrackingMarker.scan())) == 2, "no marker written for the late events"
        opens = _opens(client, account, mailed)
    assert opens["total"] == 2 and opens["unique"] == 1, "the aggregate stays and counts the late open"


def test_p21_p22_a_readers_history_goes_with_the_account(client, account, headers):
    from chalicelib.services.retention import run_purges
    from chalicelib.store import retention as retention_store
    from chalicelib.store.models import TrackingMarker
    from tests.support.campaigns import create_campaign
    from tests.support.lists import new_list
    from tests.support.mail import sent_mails
    from tests.support.queues import run_queues, take
    from tests.support.tables import items_of_account

    list_id = new_list(client, headers)
    for address in (READER, "other@example.com"):
        subscribe(account["account_id"], list_id, address)
    campaign = create_campaign(client, headers, [list_id])
    client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers)
    run_queues(client)
    for mail in sent_mails():  # both readers open their own mail: the pixel's path, as sent
        html = mail.get_body(("html",)).get_content()
        client.http.get("/t/o/" + html.split("/t/o/")[1].split('"')[0],
                        headers={"User-Agent": "Mozilla/5.0 Firefox/128.0", "Accept": "image/*"})
    run_tracking_worker(take("tracking"))
    assert len(list(TrackingMarker.scan())) == 2
    removed, complete = retention_store.purge_account(account["account_id"], content_only=True,
                                                      more_time=lambda: True)
    assert complete and removed["tracking-markers"] == 2
    assert list(TrackingMarker.scan()) == []
    assert "tracking-markers" not in items_of_account(account["account_id"])
    assert run_purges().complete


@pytest.mark.parametrize(("field", "value"), [("sent", "9999-12-31T00:00:00+00:00"),
                                              ("at", "9999-12-31T23:00:00+00:00"),
                                              ("at", "0001-01-01T00:00:00+23:59"), ("sent", "yesterday")])
def test_p13_an_event_whose_time_cannot_be_used_fails_alone(client, account, mailed, field, value):
    """A queued event whose time has no end of history (P21) or no UTC form once failed the whole
    batch: the good events of it came back with it on every run until the dead-letter queue."""
    good, bad = _records(mailed, [_event("a" * 32), _event("b" * 32, address="other@example.com")])
    bad["body"] = json.dumps(json.loads(bad["body"]) | {field: value})
    assert run_tracking_worker([good, bad]) == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    assert _opens(client, account, mailed)["total"] == 1


def test_p13_an_event_sent_at_the_latest_time_with_an_end_of_history_is_counted(client, account, mailed):
    from chalicelib.domain.retention import MESSAGE_RETENTION, PURGE_LIST_EXTRA_LIFETIME

    # Its history ends (P21), and so does the purge list that files its marker for day 30.
    latest = datetime.max.replace(tzinfo=UTC) - MESSAGE_RETENTION - PURGE_LIST_EXTRA_LIFETIME
    record = _records(mailed, [_event("c" * 32)])[0]
    record["body"] = json.dumps(json.loads(record["body"]) | {"sent": latest.isoformat()})
    assert run_tracking_worker([record]) == {"batchItemFailures": []}
