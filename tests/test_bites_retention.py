"""Retention and data-subject rules (P16-P18, P20, P21, P25, P28, P29) at the edges where the
mutation run found no fast test biting: the ended-entries purge at its expiry and under a race,
the message purge across days, lists and its time limit, a person's message records per account,
and the subject of a request given as text. Store functions are called directly against moto
(`make mutants` gives each mutant the fastest tests named for its module's rules), the domain
with plain calls."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.privacy import Subject, SubjectKind, rectification, subject_from_text, subject_of
from chalicelib.domain.retention import (
    ENDED_BUCKETS,
    LOOKBACK_DAYS,
    PURGE_SHARDS,
    due_buckets,
    ended_retention,
)
from chalicelib.domain.subscriptions import Status
from tests.support.retention import day, marker_lists_in_purge_order, on_day, sent_message

ANN = "ann@example.com"


def _always() -> bool:
    return True


def _never() -> bool:
    return False


# --- P25, P29: ended entries --------------------------------------------------------------------

def test_p25_p29_ended_entries_are_looked_for_in_their_own_buckets_of_every_day_looked_back():
    at = day(20)
    ended = due_buckets(at, ENDED_BUCKETS)
    assert len(ended) == (LOOKBACK_DAYS + 1) * PURGE_SHARDS
    assert ended[0] == f"{day(20 - LOOKBACK_DAYS).date().isoformat()}#{ENDED_BUCKETS}0"
    assert ended[-1] == f"{at.date().isoformat()}#{ENDED_BUCKETS}{PURGE_SHARDS - 1}"
    assert not set(ended) & set(due_buckets(at)), "pending signups' buckets are apart"


@pytest.mark.parametrize("days", [1, 30])
def test_p25_p29_an_ended_entry_keeps_its_data_from_1_to_30_days(days):
    assert ended_retention(days) == timedelta(days=days)


@pytest.mark.parametrize("days", [0, 31])
def test_p25_p29_an_ended_entry_never_keeps_its_data_0_or_31_days(days):
    with pytest.raises(ValueError):
        ended_retention(days)


def _ended_entry() -> datetime:
    """ANN subscribed on day 0 and unsubscribed on day 1: when her entry's data goes."""
    from chalicelib.store.models import Subscriber
    from chalicelib.store.subscribers import ending_actions
    from tests.support.lists import subscribe

    with on_day(0):
        subscribe("acc_1", "lst_1", ANN)
    with on_day(1):
        Subscriber(list_id="lst_1", address=ANN).update(
            actions=ending_actions("lst_1", ANN, Status.UNSUBSCRIBED))
    return Subscriber.get("lst_1", ANN).expires_at


def _entries() -> list[str]:
    from chalicelib.store.models import Subscriber

    return [entry.address for entry in Subscriber.query("lst_1")]


def test_p25_p29_an_ended_entry_is_deleted_at_its_expiry_and_not_a_second_before(aws):
    from chalicelib.store import retention as retention_store

    expiry = _ended_entry()
    assert expiry > day(1)
    before = retention_store.purge_ended_entries(expiry - timedelta(seconds=1), _always)
    assert (before.count, before.complete, _entries()) == (0, True, [ANN])
    at_expiry = retention_store.purge_ended_entries(expiry, _always)
    assert (at_expiry.count, at_expiry.complete, _entries()) == (1, True, [])


@pytest.mark.parametrize("since", ["signed_up_again", "ended_again"])
def test_p25_p29_an_entry_that_changed_after_the_purge_found_it_is_not_deleted(aws, monkeypatch, since):
    """Between the index read and the delete, ANN signs up again (a new consent), or signs up and
    ends again (her data's new period starts): either way the purge leaves her entry alone."""
    from chalicelib.store import retention as retention_store
    from chalicelib.store.models import Subscriber
    from chalicelib.store.subscribers import list_status_key

    expiry = _ended_entry()
    at = expiry + timedelta(hours=1)
    found = retention_store._expired

    def found_then_changed(model, bucket, purge_at) -> Iterator[Subscriber]:
        items = list(found(model, bucket, purge_at))
        entry = Subscriber(list_id="lst_1", address=ANN)
        if items and since == "signed_up_again":
            entry.update(actions=[Subscriber.status.set(Status.CONFIRMED.value), Subscriber.ended_at.remove(),
                                  Subscriber.list_status.set(list_status_key("lst_1", Status.CONFIRMED)),
                                  Subscriber.expires_at.remove(), Subscriber.purge_bucket.remove()])
        elif items:
            entry.update(actions=[Subscriber.ended_at.set(at),
                                  Subscriber.expires_at.set(at + timedelta(days=30))])
        return iter(items)

    monkeypatch.setattr(retention_store, "_expired", found_then_changed)
    progress = retention_store.purge_ended_entries(at, _always)
    assert (progress.count, _entries()) == (0, [ANN])


# --- P21, P25: message records -------------------------------------------------------------------

def _campaign_batch(campaign_id: str, hashes: list[str], sent: int) -> None:
    """A campaign batch filed for the purge, of which only the first `sent` mails went out."""
    from chalicelib.domain.message_ids import campaign_message_id
    from chalicelib.store import messages

    messages.list_campaign_for_purge("acc_1", campaign_id, hashes)
    for hashed in hashes[:sent]:
        assert messages.claim(hashed, campaign_message_id(campaign_id, hashed), "acc_1", "campaign",
                              campaign_id=campaign_id, list_id="lst_1")


def _hashes(first: int) -> list[str]:
    return [f"{n:064x}" for n in range(first, first + 100)]


def _purge_lists() -> list[str]:
    from chalicelib.store.models import MessagePurgeList

    return [purge_list.purge_bucket for purge_list in MessagePurgeList.scan()]


def test_p21_p25_the_message_purge_erases_and_counts_every_record_of_every_list_and_day(aws):
    from chalicelib.store import retention as retention_store
    from tests.support.tables import stored_message_ids

    with on_day(0):
        _campaign_batch("cmp_a", _hashes(0), sent=2)  # 100 listed: checked as soon as read
    with on_day(1):
        _campaign_batch("cmp_b", _hashes(100), sent=3)
    with on_day(2):
        sent_message("msg_c", "acc_1")  # a list of one: checked at the end of its day
    with on_day(3):
        sent_message("msg_d", "acc_1")
    assert len(stored_message_ids()) == 7 and len(_purge_lists()) == 4
    progress = retention_store.purge_messages(day(34), _always)
    assert (progress.count, progress.complete) == (7, True)
    assert stored_message_ids() == set() and _purge_lists() == []


def test_p21_p25_the_message_purge_checks_its_time_after_each_hundred_records(aws):
    from chalicelib.store import retention as retention_store
    from tests.support.tables import stored_message_ids

    with on_day(0):
        # Two lists of 100 that share a purge bucket (the same day and shard).
        _campaign_batch("cmp_b", _hashes(100), sent=2)
        _campaign_batch("cmp_c", _hashes(100), sent=3)
    with on_day(1):
        sent_message("msg_d", "acc_1")
    assert len(set(_purge_lists())) == 2, "cmp_b's and cmp_c's lists share one bucket"
    stopped = retention_store.purge_messages(day(31), _never)
    assert not stopped.complete and stopped.count in (2, 3), "one list of 100 checked, then time was up"
    assert len(stored_message_ids()) == 6 - stopped.count and len(_purge_lists()) == 2
    rest = retention_store.purge_messages(day(31), _always)
    assert (stopped.count + rest.count, rest.complete) == (6, True)
    assert stored_message_ids() == set() and _purge_lists() == []


def test_p21_p28_a_persons_message_records_are_read_in_one_account_or_in_all(aws):
    from chalicelib.store.messages import accounts_that_messaged, claim, sent_to

    hashed = "a" * 64
    for account_id in ("acc_1", "acc_2"):
        assert claim(hashed, f"msg_{account_id}", account_id, "sms")
    assert claim("b" * 64, "msg_other", "acc_3", "sms")
    assert accounts_that_messaged(hashed) == {"acc_1": {"sms"}, "acc_2": {"sms"}}
    assert [record.message_id for record in sent_to(hashed, "acc_2")] == ["msg_acc_2"]


# --- P16-P18, P20: the subject of a request ---------------------------------------------------------

def test_p16_p18_a_number_given_as_text_is_a_phone_and_an_address_an_email():
    assert subject_from_text("+40 721 234 567") == Subject(SubjectKind.PHONE, "+40721234567")
    assert subject_from_text("Ann@Example.com").kind is SubjectKind.EMAIL
    assert subject_of(phone=" +40721234567 ") == Subject(SubjectKind.PHONE, "+40721234567")


@pytest.mark.parametrize("phone", [40721234567, "   "])
def test_p16_p20_a_phone_that_is_not_a_number_in_text_is_refused_naming_the_field(phone):
    with pytest.raises(InvalidInput) as refused:
        subject_of(phone=phone)
    assert refused.value.field == "phone"


def test_p17_a_refused_rectification_names_the_field_and_says_why():
    with pytest.raises(InvalidInput) as refused:
        rectification({"name": 5}, [])
    assert refused.value.field == "changes.name"
    assert refused.value.message == "'name' must be text"


# --- P21, P25: tracking markers -------------------------------------------------------------------

def test_p21_p25_the_marker_purge_checks_its_time_after_each_group_of_markers_and_misses_none(aws,
                                                                                              monkeypatch):
    from chalicelib.store import retention as retention_store
    from chalicelib.store.retention import MARKERS
    from tests.support.retention import stored_markers

    # A group is 100 in the deployment; 4 here keeps the test among the fastest of its rules.
    monkeypatch.setattr(retention_store, "RECORDS_CHECKED", 4)
    marker_lists_in_purge_order([2, 2, 1])
    assert len(stored_markers()) == 5 and len(set(_purge_lists())) == 1
    stopped = retention_store.purge_messages(day(31), _never)
    assert not stopped.complete and stopped.also[MARKERS] == 4, "two lists' markers, then time was up"
    assert len(stored_markers()) == 1 and len(_purge_lists()) == 1
    rest = retention_store.purge_messages(day(31), _always)
    assert (rest.also[MARKERS], rest.complete) == (1, True)
    assert stored_markers() == [] and _purge_lists() == []


def test_p21_p25_a_run_that_checks_several_groups_of_markers_deletes_every_list_it_emptied(aws, monkeypatch):
    from chalicelib.store import retention as retention_store
    from chalicelib.store.retention import MARKERS
    from tests.support.retention import stored_markers

    monkeypatch.setattr(retention_store, "RECORDS_CHECKED", 4)
    marker_lists_in_purge_order([2, 2, 2, 2, 1])  # two full groups, then the bucket's rest
    done = retention_store.purge_messages(day(31), _always)
    assert (done.also[MARKERS], done.complete) == (9, True)
    assert stored_markers() == [] and _purge_lists() == []
