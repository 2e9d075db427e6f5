"""The tracking worker's markers (P13, P16): one marker per recipient, campaign and scope, written
at most once per batch, conditioned on the version read; counts stay exact under redelivery
and races, and each marker keeps the recipient's history of its scope (first and latest time,
how many, which link). The planner is pure and tested with plain calls; the worker against moto."""
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
    Action,
    BatchPlan,
    Marker,
    MarkerKey,
    TrackingEvent,
    marker_key,
    plan_batch,
    short_event_id,
)
from tests.support.campaigns import report_body
from tests.support.lists import subscribe
from tests.support.queues import run_tracking_worker
from tests.support.tracking import READER, mailed_reader

NOW = datetime.now(UTC).replace(microsecond=0)
SPRING = "https://shop.example/spring"


def _event(event_id: str, *, address: str = READER, action: Action = Action.OPEN,
           viewer: Viewer = Viewer.HUMAN, link: str | None = None, country: str = "RO",
           at: datetime | None = None, campaign_id: str = "cmp_1", list_id: str = "lst_1") -> TrackingEvent:
    return TrackingEvent(event_id=event_id, action=action, at=at or NOW - timedelta(minutes=5),
                         account_id="acc_1", list_id=list_id, campaign_id=campaign_id, address=address,
                         viewer=viewer, country=country, link=link)


def _recipients(events: list[TrackingEvent]) -> dict[str, str]:
    """A stand-in for the keyed hash: the address itself (the planner never looks inside)."""
    return {event.event_id: f"h-{event.address}" for event in events}


def _plan(events: list[TrackingEvent], stored: dict[str, Marker] | None = None, **kwargs: Any) -> BatchPlan:
    return plan_batch(events, stored or {}, _recipients(events), NOW, **kwargs)


def _counters(plan: BatchPlan) -> dict[str, int]:
    totals: dict[str, int] = {}
    for chunk in plan.chunks:
        for (_, name), amount in chunk.counters.items():
            totals[name] = totals.get(name, 0) + amount
    return totals


def _stored_after(plan: BatchPlan) -> dict[str, Marker]:
    """The markers as the plan leaves them once written: what the next batch reads."""
    return {key: write.marker for chunk in plan.chunks for key, write in chunk.markers.items()}


# --- the plan (pure) ------------------------------------------------------------------------------

def test_p13_a_recipients_many_opens_in_one_batch_write_one_marker():
    events = [_event(f"e{n}", viewer=Viewer.MACHINE if n < 2 else Viewer.HUMAN,
                     at=NOW - timedelta(minutes=10 - n)) for n in range(5)]
    plan = _plan(events)
    (chunk,) = plan.chunks
    (write,) = chunk.markers.values()
    assert write.key == marker_key(events[0], f"h-{READER}")
    assert write.read_version is None and write.marker.version == 1
    assert write.marker.viewers == {"human", "machine"}
    assert set(write.marker.events) == {short_event_id(f"e{n}") for n in range(5)}
    assert (write.marker.first_at, write.marker.last_at) == (events[0].at, events[4].at)
    assert write.marker.counted == 5 and write.marker.link is None
    assert _counters(plan) == {"opens#total#machine": 2, "opens#total#human": 3, "opens#unique#any": 1,
                               "opens#unique#machine": 1, "opens#unique#human": 1,
                               "countries#machine#RO": 2, "countries#human#RO": 3}
    assert chunk.items == 1 + 7
    assert plan.fresh == 5


def test_p13_a_redelivered_batch_adds_nothing():
    events = [_event(f"e{n}", address=f"r{n % 3}@example.com") for n in range(6)]
    first = _plan(events)
    again = _plan(events[::-1], _stored_after(first))
    assert again.chunks == [] and again.fresh == 0 and again.replayed == 6


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
    (reader,) = [write for write in plan.chunks[0].markers.values() if write.read_version is not None]
    assert set(reader.marker.events) == {short_event_id(f"e{n}") for n in (1, 2, 3)}


def test_p13_each_marker_write_is_conditioned_on_the_version_read():
    stored = _stored_after(_plan([_event("e1")]))
    stored = _stored_after(_plan([_event("e2")], stored))
    (marker,) = stored.values()
    assert marker.version == 2
    plan = _plan([_event("e3"), _event("e4", address="new@example.com")], stored)
    writes = {write.key: write for write in plan.chunks[0].markers.values()}
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
    assert len(plan.chunks[0].markers) == 3  # spring clicks, autumn clicks, opens
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
    (write,) = plan.chunks[0].markers.values()
    assert (write.marker.first_at, write.marker.last_at, write.marker.counted) == (early, late, 3)
    # A redelivered event changes nothing.
    assert _plan([_event("e3", at=late)], _stored_after(plan)).chunks == []


def test_p16_a_click_marker_keeps_the_links_label_but_never_its_query():
    plan = _plan([_event("c1", action=Action.CLICK, link=f"{SPRING}?u=reader%40example.com#top")])
    (write,) = plan.chunks[0].markers.values()
    assert write.marker.link == SPRING
    long_link = "https://shop.example/" + "a" * 490
    (write,) = _plan([_event("c2", action=Action.CLICK, link=long_link)]).chunks[0].markers.values()
    assert write.marker.link == long_link[:MARKER_LINK_LENGTH]


def test_p13_a_marker_forgets_events_sqs_can_no_longer_redeliver():
    old = NOW - EVENT_ID_LIFETIME - timedelta(hours=1)
    stored = {marker_key(_event("x"), f"h-{READER}"): Marker(
        version=4, viewers=frozenset({"human"}),
        events={short_event_id("e0"): int(old.timestamp()), short_event_id("e1"): int(NOW.timestamp()) - 60},
        first_at=old, last_at=NOW - timedelta(minutes=1), counted=2)}
    plan = _plan([_event("e2")], stored)
    (write,) = plan.chunks[0].markers.values()
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


def test_plan_keeps_a_recipients_events_in_one_chunk_and_chunks_at_most_max_items():
    events = [_event(f"e{n}", address=f"r{n}@example.com", country=f"C{n}") for n in range(4)]
    events += [_event(f"f{n}", address="r3@example.com", country="RO") for n in range(3)]
    plan = _plan(events, max_items=8)
    assert all(chunk.items <= 8 for chunk in plan.chunks)
    keys = [key for chunk in plan.chunks for key in chunk.markers]
    assert len(keys) == len(set(keys)) == 4
    assert sum(_counters(plan).values()) == 7 * 2 + 4 * 2  # totals and countries; any and human


def test_plan_chains_the_versions_of_a_marker_too_big_for_one_transaction():
    # One marker, a total, two uniques and six countries: more than 6 items, so the marker is
    # written in two chunks, the second write conditioned on the first.
    events = [_event(f"e{n}", country=f"C{n}", at=NOW - timedelta(minutes=10 - n)) for n in range(6)]
    plan = _plan(events, max_items=6)
    writes = [write for chunk in plan.chunks for write in chunk.markers.values()]
    assert len(writes) == 2 and all(chunk.items <= 6 for chunk in plan.chunks)
    assert writes[0].read_version is None
    first, second = writes
    assert second.read_version == first.marker.version == 1 and second.marker.version == 2
    assert len(writes[-1].marker.events) == 6 and _counters(plan)["opens#total#human"] == 6


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
    """Every chunk the worker writes, as it goes."""
    from chalicelib.store import tracking as tracking_store

    chunks: list[Any] = []
    write_chunk = tracking_store.write_chunk

    def spying(chunk: Any) -> None:
        chunks.append(chunk)
        write_chunk(chunk)

    monkeypatch.setattr(tracking_store, "write_chunk", spying)
    return chunks


def _opens(client: Any, account: dict[str, Any], mailed: dict[str, str]) -> dict[str, Any]:
    return report_body(client, account, mailed["campaign_id"])["opens"]


def test_p13_worker_writes_one_marker_item_for_a_readers_many_opens(client, account, mailed, written):
    from chalicelib.store.models import TrackingMarker

    events = [_event(f"{n:032x}") for n in range(6)] + [_event("f" * 32, address="other@example.com")]
    assert run_tracking_worker(_records(mailed, events)) == {"batchItemFailures": []}
    (chunk,) = written
    assert len(chunk.markers) == 2
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
    assert "dynamodb.TransactWriteItems" not in calls.by_operation
    assert len(written) == 1
    assert report_body(client, account, mailed["campaign_id"]) == before


def test_p13_worker_redelivery_mixed_with_fresh_events_counts_only_the_fresh(client, account, mailed):
    old = _records(mailed, [_event("a" * 32), _event("b" * 32, address="other@example.com")])
    run_tracking_worker(old)
    fresh = _records(mailed, [_event("c" * 32, viewer=Viewer.MACHINE), _event("d" * 32)])
    assert run_tracking_worker(fresh + old) == {"batchItemFailures": []}
    assert _opens(client, account, mailed) == {"total": 4, "unique": 2, "human": {"total": 3, "unique": 2},
                                               "machine": {"total": 1, "unique": 1}}


def test_p13_racing_workers_fail_the_batch_and_its_redelivery_counts_once(
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
    assert sorted(item["itemIdentifier"] for item in failed) == sorted(r["messageId"] for r in ours)
    assert _opens(client, account, mailed)["total"] == 1  # theirs only: our transaction was cancelled
    assert run_tracking_worker(ours) == {"batchItemFailures": []}  # SQS redelivers
    assert run_tracking_worker(ours) == {"batchItemFailures": []}  # and once more
    assert _opens(client, account, mailed) == {"total": 3, "unique": 2, "human": {"total": 2, "unique": 2},
                                               "machine": {"total": 1, "unique": 1}}
    # The reader's history holds both of their events, the machine's fetch first (P16).
    ((_, marker),) = tracking_store.markers_of(mailed["account_id"], [READER])
    assert (marker.first_at, marker.last_at) == (NOW - timedelta(minutes=4), NOW - timedelta(minutes=3))
    assert marker.counted == 2


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


# --- P21: a reader's history goes within 30 days of the mail --------------------------------------

def test_p21_a_marker_expires_28_days_after_its_mail_so_ttl_has_it_gone_by_day_30():
    sent = NOW - timedelta(days=3)
    plan = _plan([replace(_event("e1"), sent_at=sent)])
    (write,) = plan.chunks[0].markers.values()
    assert write.marker.expires_at == sent + HISTORY_LIFETIME == sent + timedelta(days=28)


def test_p21_an_open_of_a_mail_older_than_the_history_adds_to_totals_only():
    old = replace(_event("e1"), sent_at=NOW - HISTORY_LIFETIME)
    recent = replace(_event("e2", address="other@example.com"),
                     sent_at=NOW - HISTORY_LIFETIME + timedelta(hours=1))
    plan = _plan([old, recent])
    assert plan.late == 1 and plan.fresh == 2
    assert [write.key for chunk in plan.chunks for write in chunk.markers.values()] == [
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
        assert len(export_person(account["account_id"], READER)["tracking"]) == 2
    with on_day(28.1):  # expired; DynamoDB's TTL deletes it within about two days
        assert export_person(account["account_id"], READER)["tracking"] == []
        opened_and_clicked(account["account_id"], mailed["list_id"], mailed["campaign_id"], READER,
                           sent_at=day(0))
        assert export_person(account["account_id"], READER)["tracking"] == [], "no history grows again"
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
