"""The daily retention purge (P01, P21, P25): by due dates, on time, idempotent,
resumable, audited without contact data — and never a Scan."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bench.aws_calls import count_aws_calls
from chalicelib.cli import create_account_with_key
from chalicelib.cli import main as cli
from chalicelib.config import hash_key
from chalicelib.domain.signup_limits import Counter
from chalicelib.domain.subscriptions import ConsentEvidence, Contact, Source, Status
from chalicelib.domain.suppression import SuppressionReason, address_hash
from chalicelib.services.retention import PLATFORM_AUDIT, run_purges
from chalicelib.store import audit, messages
from chalicelib.store import retention as retention_store
from chalicelib.store.account_data import ACCOUNT_TABLES, NotPerAccount
from chalicelib.store.models import (
    ALL_MODELS,
    Account,
    MailingList,
    MessagePurgeList,
    RateCounter,
    Subscriber,
    Suppression,
)
from chalicelib.store.rate_limits import consume
from chalicelib.store.subscribers import write_signup
from chalicelib.store.suppressions import is_suppressed
from tests.support.retention import day, on_day, sent_message
from tests.support.tables import scanned, stored_ids, stored_message_ids

ANN = "ann@example.com"


def _signup(list_id: str, address: str, status: Status) -> None:
    consent = ConsentEvidence(given_at=day(0), source=Source.API, consent_text_version=1)
    assert write_signup("acc_1", list_id, Contact(email=address), consent, status) is not None


def test_every_model_is_in_the_account_purge_registry():
    missing = [model.__name__ for model in ALL_MODELS if model not in ACCOUNT_TABLES]
    assert missing == [], f"register these tables in store/account_data.py ACCOUNT_TABLES: {missing}"
    assert all(c.reason for c in ACCOUNT_TABLES.values() if isinstance(c, NotPerAccount))
    order = [model for model, c in ACCOUNT_TABLES.items() if not isinstance(c, NotPerAccount)]
    # Children before the parents they are found through; the account record last.
    assert order.index(Subscriber) < order.index(MailingList) and order[-1] is Account


def test_p21_a_batch_is_erased_through_its_purge_list_which_goes_with_it(aws):
    batch = {f"msg_{n}": f"hash_{n}" for n in range(3)}
    with on_day(0):
        messages.list_for_purge("acc_1", batch)
        messages.list_for_purge("acc_1", batch)  # a redelivered job files the same list again
        for message_id, hashed in batch.items():
            if message_id != "msg_2":  # the Lambda stopped before the last one
                assert messages.claim(hashed, message_id, "acc_1", "campaign")
        assert not messages.claim("hash_0", "msg_0", "acc_1", "campaign"), "claimed once"
        assert len(list(MessagePurgeList.scan())) == 1
    with on_day(30.01):
        assert run_purges().counts["messages"] == 2, "the records written; the missing key is only read"
        assert stored_message_ids() == set() and list(MessagePurgeList.scan()) == []


def test_p21_a_record_expires_two_days_early_so_ttl_erases_it_free_and_the_purge_takes_what_is_left(aws):
    from chalicelib.store.models import MessageRecord

    batch = {f"msg_{n}": f"hash_{n}" for n in range(4)}
    with on_day(0):
        messages.list_for_purge("acc_1", batch)
        for message_id, hashed in batch.items():
            assert messages.claim(hashed, message_id, "acc_1", "campaign")
    record = MessageRecord.get("hash_0", "msg_0")
    assert record.expires_at == record.sent_at + timedelta(days=28), "TTL's two days of lag before day 30"
    for hashed, message_id in [("hash_0", "msg_0"), ("hash_1", "msg_1"), ("hash_2", "msg_2")]:
        MessageRecord(recipient_hash=hashed, message_id=message_id).delete()  # TTL got to them
    with on_day(30.01), count_aws_calls() as calls:
        report = run_purges()
    assert report.counts["messages"] == 1 and stored_message_ids() == set()
    # One read of the list's four keys; one BatchWriteItem for the record left and one for the list.
    assert calls.by_operation["dynamodb.BatchGetItem"] == 1
    assert calls.by_operation["dynamodb.BatchWriteItem"] == 2


def test_p22_an_account_purge_finds_message_records_through_the_purge_lists(aws):
    with on_day(0):
        sent_message("msg_1", "acc_1")
        sent_message("msg_2", "acc_2")
    with on_day(5):
        removed, complete = retention_store.purge_account("acc_1", content_only=True, more_time=lambda: True)
    assert complete and removed["messages"] == 1 and removed["message-purge-lists"] == 1
    assert stored_message_ids() == {"msg_2"}


def test_p23_p25_an_account_whose_last_item_goes_as_its_time_runs_out_is_reported_deleted(aws):
    # The account record goes last; a purge that said "unfinished" then would never be resumed
    # (the next run no longer finds the account), so its deletion would go unaudited (P25).
    account_id = create_account_with_key("Gone", {"contact_email": "owner@gone.example"})["account_id"]

    def time_until_the_account_record_goes() -> bool:
        return any(True for _ in Account.query(account_id))

    removed, complete = retention_store.purge_account(account_id, content_only=False,
                                                      more_time=time_until_the_account_record_goes)
    assert complete and removed["accounts"] == 1
    assert not any(True for _ in Account.query(account_id))


def test_p21_message_records_are_purged_30_days_after_sending_not_before(aws):
    with on_day(0):
        sent_message("msg_old", "acc_1")
    with on_day(10):
        sent_message("msg_new", "acc_1")
    with on_day(29.99):
        assert run_purges().counts["messages"] == 0
        assert stored_message_ids() == {"msg_old", "msg_new"}
    with on_day(30.01):
        with count_aws_calls() as calls:
            report = run_purges()
        assert report.counts["messages"] == 1 and report.complete
        assert stored_message_ids() == {"msg_new"}, "the newer record is within its period (P25)"
        assert calls.by_operation["dynamodb.Scan"] == 0
    with on_day(40.01):
        assert run_purges().counts["messages"] == 1
        assert stored_message_ids() == set()


# --- P21: a reader's tracking history goes on its mail's day 30, even when TTL is late -------------
# Markers expire (TTL) on day 28, but DynamoDB's TTL has no deadline (moto runs none here): the
# tracking batch that creates them files their keys, and the daily purge deletes on day 30 what
# TTL left, a few calls for many markers (no Query per recipient, no Scan).

def test_p21_the_daily_purge_erases_a_readers_tracking_markers_on_day_30_when_ttl_is_late(client, account):
    from chalicelib.services.privacy import export_person
    from tests.support.retention import campaign_mail, marker_lists, stored_markers
    from tests.support.tracking import READER, mailed_reader, opened_and_clicked

    account_id = account["account_id"]
    with on_day(0):
        mailed = mailed_reader(client, account)
        campaign_mail(account_id, mailed["list_id"], mailed["campaign_id"], READER)
    with on_day(1):
        opened_and_clicked(account_id, mailed["list_id"], mailed["campaign_id"], READER, sent_at=day(0))
        assert len(stored_markers()) == 2 and marker_lists() == [stored_markers()]
    with on_day(29.99):
        report = run_purges()
        assert (report.counts["messages"], report.counts["tracking_markers"]) == (0, 0)
        assert len(stored_markers()) == 2, "not before day 30 (P25)"
        assert run_purges(dry_run=True).counts["tracking_markers"] == 0
    with on_day(30.01):
        assert run_purges(dry_run=True).counts["tracking_markers"] == 2
        with count_aws_calls() as calls:
            report = run_purges()
        assert (report.counts["messages"], report.counts["tracking_markers"]) == (1, 2)
        assert stored_markers() == [] and export_person(account_id, READER)["tracking"] == []
        assert list(MessagePurgeList.scan()) == [], "the lists go with what they name"
        assert calls.by_operation["dynamodb.Scan"] == 0
        assert run_purges().counts["tracking_markers"] == 0, "a second run finds nothing more"
    assert ("purge.tracking_markers", "2") in {(e.action, e.target) for e in audit.entries(PLATFORM_AUDIT)}


def test_p21_markers_ttl_deleted_early_cost_the_purge_one_read_and_their_list(client, account):
    from chalicelib.store.models import TrackingMarker
    from tests.support.retention import reader_tracked, stored_markers

    reader_tracked(client, account)
    for recipient, scope in stored_markers():  # TTL got to them on day 28.5
        TrackingMarker(campaign_recipient=recipient, scope=scope).delete()
    with on_day(30.01), count_aws_calls() as calls:
        assert run_purges().counts["tracking_markers"] == 0
    assert list(MessagePurgeList.scan()) == []
    # The list's two keys read in one call; the list deleted in one; no marker delete.
    assert calls.by_operation["dynamodb.BatchGetItem"] == 1
    assert calls.by_operation["dynamodb.BatchWriteItem"] == 1


def test_p21_the_purge_reads_listed_keys_eventually_consistent_at_half_a_read_unit(client, account):
    """Issue 15: whatever a due list names was last written days before (store/retention._erase_held
    says why), so the purge's BatchGetItems of records and markers need no strongly consistent read."""
    from bench.metering import metered
    from tests.support.retention import campaign_mail, reader_tracked
    from tests.support.tracking import READER

    mailed = reader_tracked(client, account)
    with on_day(0):
        campaign_mail(account["account_id"], mailed["list_id"], mailed["campaign_id"], READER)
    with on_day(30.01), metered() as meter:
        report = run_purges()
    assert (report.counts["messages"], report.counts["tracking_markers"]) == (1, 2)
    listed = [(asked, call.read) for call in meter.calls if call.label == "dynamodb.BatchGetItem"
              for table, asked in call.params["RequestItems"].items()
              if table.endswith(("-messages", "-tracking-markers"))]
    assert len(listed) == 2 and not any(asked.get("ConsistentRead") for asked, _ in listed)
    # A record and two markers, each under 4 KB: half a read unit each.
    assert sum(units for _, units in listed) == 3 * 0.5


def test_p25_the_marker_purge_leaves_markers_still_within_their_period(client, account):
    # One tracking batch on day 11: the reader's mail of the due campaign (sent on day 0), a later
    # reader's mail of it sent on day 3 and the reader's mail of a later campaign (day 10). On
    # day 30.01 only the first's markers go; each of the others on its own day 30.
    from tests.support.campaigns import campaign_of
    from tests.support.lists import subscribe
    from tests.support.retention import marker_lists, stored_markers
    from tests.support.tracking import READER, mailed_reader, opened_and_clicked

    account_id = account["account_id"]
    late_reader = "late.reader@example.com"
    with on_day(0):
        mailed = mailed_reader(client, account)
        list_id, due = mailed["list_id"], mailed["campaign_id"]
        subscribe(account_id, list_id, late_reader)
    with on_day(10):
        later = campaign_of(account_id, list_id)
    with on_day(11):
        opened_and_clicked(account_id, list_id, due, READER, sent_at=day(0))
        first = stored_markers()
        opened_and_clicked(account_id, list_id, due, late_reader, sent_at=day(3))
        opened_and_clicked(account_id, list_id, later, READER, sent_at=day(10))
        assert len(stored_markers()) == 6 and len(marker_lists()) == 3
    with on_day(30.01):
        assert run_purges().counts["tracking_markers"] == 2
        left = stored_markers()
    assert len(left) == 4 and not set(first) & set(left), "only the expired history went"
    with on_day(33.01):
        assert run_purges().counts["tracking_markers"] == 2, "the day-3 mail's, on its day 30"
    with on_day(40.01):
        assert run_purges().counts["tracking_markers"] == 2, "the later campaign's, on its day 30"
        assert stored_markers() == [] and marker_lists() == []


def test_p25_a_list_naming_a_marker_within_its_period_leaves_that_marker_alone(client, account):
    # Whatever a list says, the purge reads each marker's own expiry: one due later stays.
    from chalicelib.domain.tracking import MarkerKey, pack_marker_key
    from chalicelib.store.messages import file_purge_list
    from tests.support.retention import reader_tracked, stored_markers

    reader_tracked(client, account, sent_day=1)
    keys = stored_markers()
    file_purge_list(account["account_id"], ["early"], day(20),
                    markers={pack_marker_key(MarkerKey(*key)) for key in keys})
    with on_day(20.01):
        assert run_purges().counts["tracking_markers"] == 0
        assert stored_markers() == keys, "they expire on day 29: within their period"
    with on_day(30.99):
        assert run_purges().counts["tracking_markers"] == 0, "their own list is due on day 31"
    with on_day(31.01):
        assert run_purges().counts["tracking_markers"] == 2
        assert stored_markers() == []


def test_p18_an_erased_readers_marker_list_keeps_keyed_keys_only_and_goes_on_its_day(client, account):
    # Erasure deletes the markers and takes their keys (a campaign-salted keyed hash each) off
    # the tracking batch's purge list they name (P18); the emptied list stays until the day-30
    # purge, which finds nothing left and deletes it.
    from chalicelib.services.privacy import erase_person
    from tests.support.privacy_scan import contact_forms, found_in_tables, scan_every_table
    from tests.support.retention import marker_lists, reader_tracked, stored_markers
    from tests.support.tracking import READER

    account_id = account["account_id"]
    reader_tracked(client, account)
    with on_day(5):
        assert erase_person(account_id, READER)["removed"]["tracking-markers"] == 2
    assert stored_markers() == [] and marker_lists() == [] and len(list(MessagePurgeList.scan())) == 1
    assert found_in_tables(scan_every_table(), contact_forms([READER])) == {}
    with on_day(30.01):
        assert run_purges().counts["tracking_markers"] == 0
    assert list(MessagePurgeList.scan()) == []


def test_p21_the_marker_purge_takes_a_few_calls_for_many_markers(aws):
    # 200 markers of 100 readers (an open and a click each) of one tracking batch: one list; the
    # purge reads their keys 100 a call and deletes them 25 a call, with the list.
    import hashlib

    from chalicelib.domain.tracking import Action, plan_batch
    from chalicelib.store import tracking as tracking_store
    from tests.support.retention import stored_markers
    from tests.support.tracking import tracking_event

    events = [tracking_event(f"{action.value}-{n}", at=day(1), address=f"reader{n}@example.com",
                             action=action, link="https://shop.example/" if action is Action.CLICK else None,
                             sent_at=day(0))
              for n in range(100) for action in Action]
    recipients = {event.event_id: hashlib.sha256(event.address.encode()).hexdigest()[:32] for event in events}
    with on_day(1):
        plan = plan_batch(events, {}, recipients, day(1), "batch")
        tracking_store.list_new_markers(plan.writes)
        assert all(tracking_store.write_marker(write) for write in plan.writes)
    assert len(stored_markers()) == 200 and len(list(MessagePurgeList.scan())) == 1
    with on_day(29.99):
        assert run_purges().counts["tracking_markers"] == 0  # and the run's one-off backfill
    with on_day(30.01):
        with count_aws_calls() as calls:
            assert run_purges().counts["tracking_markers"] == 200
        with count_aws_calls() as nothing_due:
            assert run_purges().counts["tracking_markers"] == 0
    marginal = calls.total - nothing_due.total
    assert calls.by_operation["dynamodb.BatchGetItem"] == 2
    assert calls.by_operation["dynamodb.BatchWriteItem"] == 200 // 25 + 1
    # Beyond the fixed Query per due bucket: 2 reads, 9 deletes and the audit entry of the count.
    assert marginal == 2 + 9 + 1, f"{marginal} calls for 200 markers"
    assert stored_markers() == []


def test_p01_unconfirmed_signups_go_after_7_days_confirmed_ones_stay(aws):
    with on_day(0):
        _signup("lst_1", ANN, Status.PENDING)
        _signup("lst_1", "bob@example.com", Status.CONFIRMED)
    with on_day(6.9):
        assert run_purges().counts["pending_signups"] == 0
    with on_day(7.01):
        assert run_purges().counts["pending_signups"] == 1
        assert [s.address for s in Subscriber.query("lst_1")] == ["bob@example.com"]


def test_p25_a_signup_renewed_after_expiry_is_kept(aws):
    with on_day(0):
        _signup("lst_1", ANN, Status.PENDING)
    with on_day(8):
        _signup("lst_1", ANN, Status.PENDING)  # a new signup: new consent, new 7 days
        assert run_purges().counts["pending_signups"] == 0
        assert Subscriber.get("lst_1", ANN).status == "pending"


def test_rate_counters_are_purged_when_their_window_ends(aws):
    with on_day(0):
        consume([Counter(key="addr:abc", limit=5, window_seconds=3600)], day(0))
    assert len(stored_ids(RateCounter)) == 1
    with on_day(0.01):
        assert run_purges().counts["rate_counters"] == 0
    with on_day(0.05):
        assert run_purges().counts["rate_counters"] == 1
        assert stored_ids(RateCounter) == set()


def test_p25_purge_resumes_after_a_timeout_and_is_idempotent(aws, monkeypatch):
    monkeypatch.setattr(retention_store, "PAGE_SIZE", 10)
    with on_day(0):
        for n in range(35):
            sent_message(f"msg_{n:02}", "acc_1")
    with on_day(31):
        first = run_purges(time_left_ms=lambda: 0)  # the Lambda's time runs out after one page
        done = first.counts["messages"]
        assert 0 < done <= 10 and not first.complete and first.unfinished == ["messages"]
        assert len(stored_message_ids()) == 35 - done, "the deleted page stays deleted"
        second = run_purges()
        assert second.counts["messages"] == 35 - done and second.complete
        assert run_purges().counts["messages"] == 0, "a second run finds nothing more"


def test_p21_p25_a_purge_step_that_fails_does_not_stop_the_others(aws, monkeypatch):
    """One step raising (a bad item, a throttled call) used to end the run: every step after it
    was skipped, every day the fault lasted. The others run, the run is audited unfinished
    naming the step, and the error is raised after, so the function's errors alarm fires."""
    from chalicelib.services import retention

    def broken(at, more_time):
        raise RuntimeError("one bad item")

    monkeypatch.setitem(retention._STEPS, retention.PurgeKind.MESSAGES, broken)
    with on_day(0):
        _signup("lst_1", ANN, Status.PENDING)
    with on_day(8), pytest.raises(RuntimeError, match="one bad item"):
        run_purges()
    assert list(Subscriber.query("lst_1")) == []  # the step after the broken one still ran (P01)
    runs = [e.target for e in audit.entries(PLATFORM_AUDIT) if e.action == "purge.run"]
    assert runs == ["unfinished:messages"]


def test_p25_purges_are_audited_without_contact_data(aws):
    with on_day(1):
        sent_message("msg_1", "acc_1")
    with on_day(24):
        _signup("lst_1", ANN, Status.PENDING)
    with on_day(31.5):
        run_purges()
    entries = audit.entries(PLATFORM_AUDIT)
    assert {(e.action, e.target) for e in entries} == {("purge.messages", "1"),
                                                        ("purge.pending_signups", "1"),
                                                        ("purge.ended_entries_dated", None),
                                                        ("purge.run", "complete")}
    assert all("@" not in f"{e.actor}{e.action}{e.target}" for e in entries)


def test_purge_dry_run_counts_per_kind_and_changes_nothing(aws, capsys):
    with on_day(1):
        sent_message("msg_1", "acc_1")
    with on_day(24):
        _signup("lst_1", ANN, Status.PENDING)
    with on_day(31.5):
        assert cli(["purge", "--dry-run"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)
    assert report["dry_run"] is True
    assert report["counts"]["messages"] == 1 and report["counts"]["pending_signups"] == 1
    assert "@" not in out
    assert stored_message_ids() == {"msg_1"} and stored_ids(Subscriber) == {"lst_1"}
    assert audit.entries(PLATFORM_AUDIT) == []


@pytest.mark.parametrize("dry_run", [False, True])
def test_no_purge_ever_scans(aws, dry_run):
    with on_day(0):
        _signup("lst_1", ANN, Status.PENDING)
        sent_message("msg_1", "acc_1")
    with on_day(400), count_aws_calls() as calls:
        run_purges(dry_run=dry_run)
    assert calls.by_operation["dynamodb.Scan"] == 0
    assert calls.by_operation["dynamodb.Query"] > 0


# --- P29: unsubscribing ends processing ------------------------------------------------------------

def _end(list_id: str, address: str, how: str) -> None:
    """End the entry the way a person or a mailbox provider would."""
    from chalicelib.domain.mail_links import LinkClaim
    from chalicelib.services.unsubscribe import Scope, unsubscribe
    from chalicelib.store.feedback import end_entry
    from chalicelib.store.suppressions import suppress

    if how == "unsubscribed":
        # A link of an account deleted for good writes nothing (P23): the account must exist.
        Account(account_id="acc_1", name="Acme", created_at=day(0), updated_at=day(0)).save()
        unsubscribe(LinkClaim("acc_1", list_id, address, "cmp_1"), Scope.LIST)
    else:  # what the feedback worker does for a hard bounce or a complaint
        assert end_entry("acc_1", list_id, address, Status(how))
        suppress("acc_1", address, SuppressionReason(how))


@pytest.mark.parametrize("how", ["unsubscribed", "bounced", "complained"])
def test_p29_an_ended_entry_loses_its_personal_data_30_days_after_it_ended(aws, how):
    with on_day(0):
        _signup("lst_1", ANN, Status.CONFIRMED)
        _signup("lst_1", "bob@example.com", Status.CONFIRMED)
    with on_day(3):
        _end("lst_1", ANN, how)
        entry = Subscriber.get("lst_1", ANN)
        assert entry.ended_at == day(3) and entry.expires_at == day(33)
    with on_day(32.99):
        assert run_purges().counts["ended_entries"] == 0
        assert Subscriber.get("lst_1", ANN).email == ANN, "still within its 30 days (P25)"
    with on_day(33.01):
        with count_aws_calls() as calls:
            assert run_purges().counts["ended_entries"] == 1
        assert calls.by_operation["dynamodb.Scan"] == 0
        assert [s.address for s in Subscriber.query("lst_1")] == ["bob@example.com"]
        assert ANN not in json.dumps(list(scanned(Subscriber)))
        # Only the keyed hash stays, with why and since when: the address is never re-added.
        kept = Suppression.get("acc_1", address_hash(ANN, hash_key()))
        assert kept.reason == how and kept.created_at == day(3)
        assert is_suppressed("acc_1", ANN)
        assert run_purges().counts["ended_entries"] == 0, "idempotent"
    assert ("purge.ended_entries", "1") in {(e.action, e.target) for e in audit.entries(PLATFORM_AUDIT)}


def test_p29_the_deployment_may_keep_ended_entries_fewer_days_never_more(aws, settings_env):
    settings_env(TIDINGS_ENDED_RETENTION_DAYS="10")
    with on_day(0):
        _signup("lst_1", ANN, Status.CONFIRMED)
        _end("lst_1", ANN, "unsubscribed")
    with on_day(9.99):
        assert run_purges().counts["ended_entries"] == 0
    with on_day(10.01):
        assert run_purges().counts["ended_entries"] == 1
    for days in ("31", "0", "365"):
        settings_env(TIDINGS_ENDED_RETENTION_DAYS=days)
        with pytest.raises(ValueError, match="P29"):
            settings_env_read()


def settings_env_read() -> None:
    from chalicelib.config import settings

    settings()


def test_p29_an_ended_entry_past_its_date_is_gone_for_readers_before_the_purge_runs(aws):
    from chalicelib.store.subscribers import entries, get_subscriber

    with on_day(0):
        _signup("lst_1", ANN, Status.CONFIRMED)
        _end("lst_1", ANN, "unsubscribed")
    with on_day(30.5):  # DynamoDB's TTL may be two days late; the purge has not run yet today
        assert Subscriber.get("lst_1", ANN) is not None
        assert get_subscriber("lst_1", ANN) is None and entries([("lst_1", ANN)]) == {}


def _ended_before_dating(account_id: str, list_id: str, address: str) -> None:
    """An entry as the code before P29 ended it: status and updated_at, no deletion date."""
    from chalicelib.domain.mail_links import LinkClaim
    from chalicelib.services.unsubscribe import Scope, unsubscribe

    unsubscribe(LinkClaim(account_id, list_id, address, "cmp_1"), Scope.LIST)
    entry = Subscriber.get(list_id, address)
    entry.ended_at = entry.expires_at = entry.purge_bucket = None
    entry.save()


def test_p29_backfill_an_entry_ended_before_endings_were_dated_goes_30_days_after_it_ended(aws, monkeypatch):
    from chalicelib.cli import create_account_with_key
    from chalicelib.domain.lists import ConsentText
    from chalicelib.store.lists import create_list

    with on_day(-500):
        account_id = create_account_with_key("Acme", {"contact_email": "owner@acme.example"})["account_id"]
        list_id = create_list(account_id, {"name": "News"}, [ConsentText(1, "Yes.", day(-500))]).list_id
        consent = ConsentEvidence(given_at=day(-500), source=Source.API, consent_text_version=1)
        for address in (ANN, "bob@example.com", "old@example.com"):
            write_signup(account_id, list_id, Contact(email=address), consent, Status.CONFIRMED)
        _ended_before_dating(account_id, list_id, "old@example.com")  # long past its 30 days
    with on_day(3):
        _ended_before_dating(account_id, list_id, ANN)
        assert Subscriber.get(list_id, ANN).expires_at is None, "not in the purge index"
    with on_day(32.99):
        assert run_purges().counts["ended_entries"] == 1, "the one that ended 500 days ago"
        entry = Subscriber.get(list_id, ANN)
        assert entry.email == ANN, "still within its 30 days (P25)"
        assert entry.ended_at == day(3) and entry.expires_at == day(33)
    # The backfill walked every list once; later runs only read that it did.
    monkeypatch.setattr(retention_store, "every_account", None)
    with on_day(33.01), count_aws_calls() as calls:
        assert run_purges().counts["ended_entries"] == 1
    assert calls.by_operation["dynamodb.Scan"] == 0
    assert [s.address for s in Subscriber.query(list_id)] == ["bob@example.com"]
    assert is_suppressed(account_id, ANN) and is_suppressed(account_id, "old@example.com")
    assert Suppression.get(account_id, address_hash(ANN, hash_key())).created_at == day(3)


def test_p29_backfill_is_walked_again_until_it_completes(aws):
    from chalicelib.cli import create_account_with_key
    from chalicelib.domain.lists import ConsentText
    from chalicelib.services.retention import ENDINGS_DATED
    from chalicelib.store.lists import create_list

    with on_day(0):
        account_id = create_account_with_key("Acme", {"contact_email": "owner@acme.example"})["account_id"]
        lists = [create_list(account_id, {"name": f"L{n}"}, [ConsentText(1, "Yes.", day(0))]).list_id
                 for n in range(3)]
        consent = ConsentEvidence(given_at=day(0), source=Source.API, consent_text_version=1)
        for list_id in lists:
            write_signup(account_id, list_id, Contact(email=ANN), consent, Status.CONFIRMED)
            _ended_before_dating(account_id, list_id, ANN)
    with on_day(40):
        first = run_purges(time_left_ms=lambda: 0)  # the Lambda's time runs out after one list
        assert "ended_entries" in first.unfinished and not audit.reached(PLATFORM_AUDIT, ENDINGS_DATED)
        assert len([e for e in scanned(Subscriber) if "ended_at" in e]) == 1, "one list walked"
        assert run_purges().counts["ended_entries"] == 3
        assert audit.reached(PLATFORM_AUDIT, ENDINGS_DATED)
        assert not set(lists) & stored_ids(Subscriber)
        dated = [e.target for e in audit.entries(PLATFORM_AUDIT) if e.action == ENDINGS_DATED]
        # Both runs share one frozen moment, so their two entries may come in either order.
        assert sorted(dated[:2]) == ["1", "2"] and dated[2:] == [None], \
            "counted per run; the milestone sorts as the oldest entry"


def test_p29_backfill_stops_within_a_list_when_its_time_runs_out(aws):
    """A list of many undated ended entries is dated over several runs, not in one run past the
    Lambda's time: the time is checked after each entry dated."""
    from chalicelib.cli import create_account_with_key
    from chalicelib.domain.lists import ConsentText
    from chalicelib.store.lists import create_list

    addresses = [ANN, "bob@example.com", "cy@example.com"]
    with on_day(0):
        account_id = create_account_with_key("Acme", {"contact_email": "owner@acme.example"})["account_id"]
        list_id = create_list(account_id, {"name": "News"}, [ConsentText(1, "Yes.", day(0))]).list_id
        consent = ConsentEvidence(given_at=day(0), source=Source.API, consent_text_version=1)
        for address in addresses:
            write_signup(account_id, list_id, Contact(email=address), consent, Status.CONFIRMED)
            _ended_before_dating(account_id, list_id, address)
    with on_day(40):
        for walked in (1, 2, 3):
            assert "ended_entries" in run_purges(time_left_ms=lambda: 0).unfinished
            assert len([e for e in scanned(Subscriber) if "ended_at" in e]) == walked
        assert run_purges().counts["ended_entries"] == 3
        assert not stored_ids(Subscriber) & {list_id}


def test_p16_p25_an_export_is_deleted_by_the_daily_purge_once_its_7_days_are_over(aws):
    """An export is a copy of a person's data, kept 7 days to be downloaded: the daily purge
    deletes it then, as it does every other copy with a deadline, instead of leaving it to TTL,
    which has none (DynamoDB deletes up to days late)."""
    from chalicelib.domain.privacy import RequestType, Subject, SubjectKind
    from chalicelib.store.models import PrivacyExport
    from chalicelib.store.privacy_requests import create_request, save_export

    with on_day(0):
        request = create_request("acc_1", RequestType.ACCESS, Subject(SubjectKind.EMAIL, ANN), "key")
        save_export(request, {"subscriptions": [{"email": ANN}]}, day(7))
    with on_day(6.9):
        assert run_purges().counts["privacy_exports"] == 0, "within its 7 days (P25)"
        assert stored_ids(PrivacyExport) != set()
    with on_day(7.01):
        assert run_purges().counts["privacy_exports"] == 1
        assert stored_ids(PrivacyExport) == set()
        assert run_purges().counts["privacy_exports"] == 0, "idempotent"
