"""The store functions that apply retention and data-subject rules, called directly against moto
(faster than through the API, so `make mutants` can afford them): what each deletes, counts,
exports and keeps, at the edges where a small bug would show."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.subscriptions import ConsentEvidence, Contact, Source, Status
from chalicelib.store import retention as retention_store
from chalicelib.store.models import Subscriber
from chalicelib.store.subscribers import write_signup
from tests.support.retention import day, on_day, sent_message
from tests.support.tables import stored_message_ids

PEOPLE = ["ann@example.com", "bob@example.com", "cat@example.com"]


def _pending(address: str) -> None:
    consent = ConsentEvidence(given_at=day(0), source=Source.API, consent_text_version=1)
    assert write_signup("acc_1", "lst_1", Contact(email=address), consent, Status.PENDING) is not None


def _left() -> list[str]:
    return sorted(entry.address for entry in Subscriber.query("lst_1"))


# --- P01, P25: expired signups -------------------------------------------------------------------

def test_p01_p25_a_pending_signup_is_deleted_at_its_expiry_and_not_a_second_before(aws):
    with on_day(0):
        _pending(PEOPLE[0])
    expiry = Subscriber.get("lst_1", PEOPLE[0]).expires_at
    assert expiry == day(7)
    before = retention_store.purge_expired_signups(expiry - timedelta(seconds=1), lambda: True)
    assert (before.count, _left()) == (0, [PEOPLE[0]])
    at_expiry = retention_store.purge_expired_signups(expiry, lambda: True)
    assert (at_expiry.count, at_expiry.complete, _left()) == (1, True, [])


def test_p25_the_signup_purge_counts_what_it_deleted_and_stops_when_time_is_up(aws):
    with on_day(0):
        for address in PEOPLE:
            _pending(address)
    stopped = retention_store.purge_expired_signups(day(8), lambda: False)
    assert not stopped.complete and 0 < stopped.count == 3 - len(_left())
    rest = retention_store.purge_expired_signups(day(8), lambda: True)
    assert rest.complete and stopped.count + rest.count == 3 and _left() == []


# --- P21: message records --------------------------------------------------------------------------

def test_p21_the_message_purge_counts_every_record_and_stops_when_time_is_up(aws):
    with on_day(0):
        for n in range(3):
            sent_message(f"msg_{n}", "acc_1", recipient_hash=f"h{n}" + "0" * 62)
    assert retention_store.count_due_messages(day(30) - timedelta(seconds=1)).count == 0
    assert retention_store.count_due_messages(day(30)).count == 3
    stopped = retention_store.purge_messages(day(31), lambda: False)
    assert not stopped.complete and stopped.count == 3 - len(stored_message_ids()) > 0
    rest = retention_store.purge_messages(day(31), lambda: True)
    assert rest.complete and stopped.count + rest.count == 3 and stored_message_ids() == set()


# --- P16, P18, P21: a person's message records and suppressions ------------------------------------

@pytest.fixture
def person(aws):
    from chalicelib.config import hash_key
    from chalicelib.domain.privacy import Person
    from chalicelib.domain.suppression import address_hash
    from chalicelib.store.messages import claim

    with on_day(0):
        assert claim(address_hash(PEOPLE[0], hash_key()), "msg_1", "acc_1", "campaign", campaign_id="cmp_1",
                     list_id="lst_1")
    return Person(account_id="acc_1", emails=frozenset({PEOPLE[0]}), phones=frozenset())


def test_p16_p20_the_export_shows_each_message_record_while_it_is_stored(person):
    from chalicelib.store.person_data import export_messages

    with on_day(1):
        assert export_messages(person) == [{
            "message_id": "msg_1", "kind": "campaign", "campaign_id": "cmp_1", "list_id": "lst_1",
            "sent": True, "sent_at": day(0).isoformat(), "expires_at": day(28).isoformat()}]
    with on_day(28):
        assert len(export_messages(person)) == 1, "TTL set two days early has not deleted it: held"


def test_p20_the_export_shows_a_mail_counted_failed_and_never_sent_as_not_sent(person):
    """A redrive-counting record (store/messages.unsent_record) is data held about her, so it is
    exported, but it is no mail: the export must not say one was sent."""
    from chalicelib.config import hash_key
    from chalicelib.domain.suppression import address_hash
    from chalicelib.store.messages import mark_unsent, unsent_record
    from chalicelib.store.person_data import export_messages

    with on_day(0):
        assert mark_unsent(unsent_record(address_hash(PEOPLE[0], hash_key()), "msg_2", "acc_1", "campaign",
                                         "cmp_1", "lst_1"), [])
    with on_day(1):
        exported = {row["message_id"]: row["sent"] for row in export_messages(person)}
    assert exported == {"msg_1": True, "msg_2": False}


@pytest.mark.parametrize("reason", ["unsubscribed", "erased"])
def test_p18_only_an_erasure_marks_the_suppression_erased_and_the_first_time_stays(person, reason):
    from chalicelib.config import hash_key
    from chalicelib.domain.suppression import SuppressionReason, address_hash
    from chalicelib.store.models import Suppression
    from chalicelib.store.person_data import suppress_person

    with on_day(2):
        assert suppress_person(person, SuppressionReason(reason)) == 1
    with on_day(3):
        suppress_person(person, SuppressionReason.COMPLAINED)
    stored = Suppression.get("acc_1", address_hash(PEOPLE[0], hash_key()))
    assert stored.created_at == day(2) and stored.reason == reason
    assert set(stored.reasons) == {reason, "complained"}
    assert bool(stored.erased) is (reason == "erased")


# --- P08, P26: who may send --------------------------------------------------------------------------

def test_p26_a_blocked_account_is_refused_naming_the_account():
    from chalicelib.domain.accounts import AccountProfile
    from chalicelib.domain.errors import Conflict, Forbidden
    from chalicelib.domain.sending import check_may_send

    complete = AccountProfile(name="Acme", postal_address="1 Main St", contact_email="c@acme.example",
                              sender_identity="news@acme.example")
    with pytest.raises(Forbidden) as refused:
        check_may_send("sending is suspended", complete)
    assert refused.value.field == "account" and refused.value.message == "sending is suspended"
    with pytest.raises(Conflict) as incomplete:
        check_may_send(None, AccountProfile(name="Acme", postal_address=None, contact_email=None,
                                            sender_identity=None))
    assert incomplete.value.field == "profile"
    check_may_send(None, complete)


def test_p08_p35_a_campaign_without_its_own_from_address_sends_as_the_profiles_identity(
        client, account, headers):
    from chalicelib.domain.campaigns import CampaignContent, Channel
    from chalicelib.services.sending.start import check_account_may_send
    from chalicelib.store.accounts import get_account
    from tests.support.lists import new_list

    list_id = new_list(client, headers)
    content = CampaignContent(channel=Channel.EMAIL, list_ids=frozenset({list_id}), subject="Hi",
                              html="<p>Hi</p>", from_address=None)
    assert check_account_may_send(get_account(account["account_id"]), content).list_id == list_id


# --- P12: a suppression holds where it was given -----------------------------------------------------

def test_p12_a_list_unsubscribe_suppresses_for_that_list_only_and_keeps_its_first_reason(aws):
    from chalicelib.config import hash_key
    from chalicelib.domain.suppression import SuppressionReason, address_hash
    from chalicelib.store.models import Suppression
    from chalicelib.store.suppressions import is_suppressed, list_key, suppress, suppressed_among

    with on_day(1):
        suppress("acc_1", PEOPLE[0], SuppressionReason.UNSUBSCRIBED, list_id="lst_1")
    assert is_suppressed("acc_1", PEOPLE[0], "lst_1")
    assert not is_suppressed("acc_1", PEOPLE[0], "lst_2") and not is_suppressed("acc_1", PEOPLE[0])
    assert suppressed_among("acc_1", PEOPLE, "lst_1") == {PEOPLE[0]}
    assert suppressed_among("acc_1", PEOPLE, "lst_2") == set()
    with on_day(2):
        suppress("acc_1", PEOPLE[1], SuppressionReason.BOUNCED)
        suppress("acc_1", PEOPLE[1], SuppressionReason.COMPLAINED)
    stored = Suppression.get("acc_1", address_hash(PEOPLE[1], hash_key()))
    assert (stored.reason, stored.created_at) == ("bounced", day(2))
    assert set(stored.reasons) == {"bounced", "complained"}
    listed = Suppression.get("acc_1", list_key(address_hash(PEOPLE[0], hash_key()), "lst_1"))
    assert (listed.reason, listed.created_at) == ("unsubscribed", day(1))


# --- P25: a counter still within its window is never purged ------------------------------------------

def test_p25_a_rate_counter_is_purged_after_its_window_and_not_within_it(aws):
    from chalicelib.domain.signup_limits import Counter
    from chalicelib.store.models import RateCounter
    from chalicelib.store.rate_limits import consume
    from tests.support.tables import stored_ids

    with on_day(0):
        consume([Counter(key="short", limit=5, window_seconds=3600),
                 Counter(key="long", limit=5, window_seconds=6 * 3600)], day(0))
    before = len(stored_ids(RateCounter))
    progress = retention_store.purge_expired(RateCounter, day(0) + timedelta(hours=2), lambda: True)
    assert progress.count == 1 and progress.complete
    assert len(stored_ids(RateCounter)) == before - 1


# --- P12, P17: a campaign on several lists ------------------------------------------------------------

def test_p12_p17_a_campaign_on_two_lists_mails_each_person_once_and_no_restricted_entry(aws):
    from chalicelib.domain.campaigns import CampaignContent, Channel
    from chalicelib.services.sending.fanout import _recipients
    from tests.support.lists import subscribe

    for list_id, address, restricted in [
            ("lst_a", "ann@example.com", False), ("lst_b", "ann@example.com", False),
            ("lst_b", "bob@example.com", False), ("lst_b", "cat@example.com", True),
            ("lst_a", "dan@example.com", True), ("lst_b", "dan@example.com", False)]:
        subscribe("acc_1", list_id, address, restricted=restricted)
    content = CampaignContent(channel=Channel.EMAIL, list_ids=frozenset({"lst_a", "lst_b"}),
                              subject="Hi", html="<p>Hi</p>")

    def recipients(list_id):
        entries = list(Subscriber.query(list_id))
        return sorted(contact.email for contact in _recipients(content, list_id, entries))

    assert recipients("lst_a") == ["ann@example.com"]
    # Ann was reached through lst_a; Dan was not (restricted there), so lst_b mails him.
    assert recipients("lst_b") == ["bob@example.com", "dan@example.com"]
    alone = CampaignContent(channel=Channel.EMAIL, list_ids=frozenset({"lst_b"}), subject="Hi",
                            html="<p>Hi</p>")
    entries = list(Subscriber.query("lst_b"))
    assert sorted(c.email for c in _recipients(alone, "lst_b", entries)) == [
        "ann@example.com", "bob@example.com", "dan@example.com"]


# --- P18: erasure removes the person's earlier exports, and only theirs --------------------------

def test_p18_erasure_deletes_the_persons_exports_and_no_one_elses(aws):
    from chalicelib.config import hash_key
    from chalicelib.domain.privacy import Person
    from chalicelib.domain.suppression import address_hash
    from chalicelib.store.models import PrivacyExport
    from chalicelib.store.person_data import Found, erase_exports

    for request_id, address in [("req_1", PEOPLE[0]), ("req_2", PEOPLE[0]), ("req_3", PEOPLE[1])]:
        PrivacyExport(account_id="acc_1", request_id=request_id,
                      subject_hash=address_hash(address, hash_key()), payload=b"{}", created_at=day(0),
                      expires_at=day(7)).save()
    ann = Person(account_id="acc_1", emails=frozenset({PEOPLE[0]}), phones=frozenset())
    assert erase_exports(Found.of(ann)) == 2
    assert [export.request_id for export in PrivacyExport.query("acc_1")] == ["req_3"]
    assert erase_exports(Found.of(Person(account_id="acc_1", emails=frozenset(), phones=frozenset()))) == 0
