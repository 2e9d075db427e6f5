"""A person's own signup back to the entry they unsubscribed (P12; P01, P22), at the edges where
`make mutants` (run on 038a626) found no fast test biting in store/returning.py: which entries a
signup back may wait beside, what it keeps and shows (every contact field, both consent proofs),
and what confirming it writes, including under a race. Store functions are called directly against
moto; the end-to-end way back is in tests/test_resubscribe.py."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from chalicelib.domain.subscriptions import ConsentEvidence, Contact, Source, evidence

ACCOUNT = "acc_back"
LIST = "lst_back"
ANN = "ann@example.com"
T0 = datetime(2031, 3, 4, 10, 0, tzinfo=UTC)
CONTACT = Contact(email=ANN, name="Ann Back", company="Acme", phone="+4712345678",
                  website="https://ann.example", field_of_activity="Weaving", attributes={"city": "Oslo"})


def _consent(version: int = 1) -> ConsentEvidence:
    return evidence(T0, Source.FORM, version, ip="192.0.2.7", user_agent="Firefox", form_url="https://f.example")


def _left(status: str = "unsubscribed", account_id: str = ACCOUNT,
          expires_at: datetime | None = None) -> None:
    """Ann's entry on the list, as it ended (`status`), with its deletion date (P29) where given."""
    from chalicelib.store.models import Subscriber
    from tests.support.lists import subscribe

    subscribe(account_id, LIST, ANN, status=status, name="Ann Before", tracking=False)
    if expires_at is not None:
        Subscriber(list_id=LIST, address=ANN).update(actions=[Subscriber.expires_at.set(expires_at)])


def _entry():
    from chalicelib.store.models import Subscriber

    return Subscriber.get(LIST, ANN, consistent_read=True)


def _plain(attributes) -> dict[str, str]:
    return attributes if isinstance(attributes, dict) else attributes.as_dict()


def _mailing_list():
    from chalicelib.store.models import ConsentTextVersion, MailingList

    return MailingList(list_id=LIST, account_id=ACCOUNT, name="News",
                       consent_versions=[ConsentTextVersion(version=1, text="Yes, news.", created_at=T0)],
                       tracking_consent_versions=[ConsentTextVersion(version=2, text="Track me.",
                                                                     created_at=T0)])


@pytest.fixture
def at_t0() -> Iterator[None]:
    with time_machine.travel(T0, tick=False):
        yield


def _write(account_id: str = ACCOUNT, tracking: ConsentEvidence | None = None) -> bool:
    from chalicelib.store.returning import write_return

    return write_return(account_id, CONTACT, LIST, _consent(), tracking if tracking else _consent(2))


# --- which entry a signup back may wait beside (P12, P22) ---------------------------------------

@pytest.mark.parametrize("status", ["confirmed", "bounced", "complained"])
def test_p12_p22_a_signup_back_waits_only_beside_an_entry_its_person_unsubscribed(aws, at_t0, status):
    _left(status)
    assert _write() is False
    assert _entry().returning is None and _entry().status == status


def test_p12_p22_a_signup_back_never_waits_beside_another_accounts_entry(aws, at_t0):
    _left(account_id="acc_other", expires_at=T0 + timedelta(days=20))
    assert _write() is False
    assert _entry().returning is None


@pytest.mark.parametrize(("expires_in", "waits"), [(timedelta(0), False), (timedelta(seconds=1), True)])
# `expires_at` is a TTL attribute, held in whole seconds.
def test_p12_p29_a_signup_back_waits_only_while_the_unsubscribed_entry_stands(aws, at_t0, expires_in, waits):
    _left(expires_at=T0 + expires_in)
    assert _write() is waits
    assert (_entry().returning is not None) is waits


# --- what it keeps and shows (P12, P16, P22) ----------------------------------------------------

def test_p12_p22_a_signup_back_keeps_all_its_data_and_both_consents_beside_the_entry_as_it_ended(aws, at_t0):
    _left()
    assert _write() is True
    entry = _entry()
    assert (entry.status, entry.name, entry.phone) == ("unsubscribed", "Ann Before", None)
    signup = entry.returning
    assert (signup.phone, signup.name, signup.company, signup.website, signup.field_of_activity) == (
        CONTACT.phone, CONTACT.name, CONTACT.company, CONTACT.website, CONTACT.field_of_activity)
    assert signup.attributes.as_dict() == {"city": "Oslo"}
    consent = signup.consent
    assert (consent.given_at, consent.ip, consent.consent_text_version) == (T0, "192.0.2.7", 1)
    assert consent.confirmed_at is None
    assert (signup.tracking.given_at, signup.tracking.consent_text_version) == (T0, 2)
    assert signup.tracking.confirmed_at is None
    assert signup.expires_at == T0 + timedelta(days=7)


def test_p12_p30_a_signup_back_without_tracking_consent_keeps_none(aws, at_t0):
    from chalicelib.store.returning import write_return

    _left()
    assert write_return(ACCOUNT, CONTACT, LIST, _consent(), None) is True
    assert _entry().returning.tracking is None


def test_p12_p16_the_export_shows_the_signup_backs_data_consents_and_expiry(aws, at_t0):
    from chalicelib.store.returning import returning_view

    _left()
    _write()
    view = returning_view(_entry(), _mailing_list())
    assert view["consent"]["consent_text"] == "Yes, news." and view["consent"]["ip"] == "192.0.2.7"
    assert view["tracking_consent"]["consent_text"] == "Track me."
    assert view == {
        "waiting": True, "phone": CONTACT.phone, "name": CONTACT.name, "company": CONTACT.company,
        "website": CONTACT.website, "field_of_activity": CONTACT.field_of_activity,
        "attributes": {"city": "Oslo"},
        "consent": view["consent"], "tracking_consent": view["tracking_consent"],
        "expires_at": (T0 + timedelta(days=7)).isoformat()}


def test_p01_p12_a_signup_back_is_read_as_gone_after_seven_days_or_once_the_entry_is_due_to_go(aws, at_t0):
    from chalicelib.store.returning import waiting_return

    _left(expires_at=T0 + timedelta(days=2))
    _write()
    entry = _entry()
    assert waiting_return(entry, T0 + timedelta(days=1)) is not None
    assert waiting_return(entry, T0 + timedelta(days=2)) is None, "the entry is due for deletion (P29)"
    entry.expires_at = None
    assert waiting_return(entry, T0 + timedelta(days=7) - timedelta(microseconds=1)) is not None
    assert waiting_return(entry, T0 + timedelta(days=7)) is None, "seven days unconfirmed (P01)"


# --- confirming it (P12, P30) -------------------------------------------------------------------

def test_p12_p30_confirming_a_signup_back_writes_its_data_and_confirms_both_consents(aws, at_t0):
    from chalicelib.store.returning import confirm_return

    _left()
    _write()
    confirmed = confirm_return(_entry(), "198.51.100.9", "Safari")
    assert confirmed is not None
    stored = _entry()
    for entry in (confirmed, stored):
        assert entry.status == "confirmed" and entry.returning is None
        assert (entry.name, entry.company, entry.phone, entry.website, entry.field_of_activity) == (
            CONTACT.name, CONTACT.company, CONTACT.phone, CONTACT.website, CONTACT.field_of_activity)
        assert _plain(entry.attributes) == {"city": "Oslo"}
        consent = entry.consent
        assert (consent.confirmed_at, consent.confirm_ip, consent.confirm_user_agent) == (
            T0, "198.51.100.9", "Safari")
        assert consent.given_at == T0 and consent.consent_text_version == 1
        assert entry.tracking is not None and entry.tracking.confirmed_at == T0
        assert entry.tracking.consent_text_version == 2


def test_p12_p30_confirming_a_signup_back_without_tracking_consent_confirms_none(aws, at_t0):
    from chalicelib.store.returning import confirm_return, write_return

    _left()
    write_return(ACCOUNT, CONTACT, LIST, _consent(), None)
    confirmed = confirm_return(_entry(), None, None)
    assert confirmed is not None and confirmed.tracking is None and _entry().tracking is None


def test_p12_p22_a_signup_back_replaced_since_it_was_read_is_not_confirmed(aws):
    from chalicelib.store.returning import confirm_return

    _left()
    with time_machine.travel(T0, tick=False):
        _write()
    read = _entry()
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        _write()  # a second signup back (new consent) replaces the first
        assert confirm_return(read, None, None) is None
    assert _entry().status == "unsubscribed"
    assert _entry().returning.expires_at == T0 + timedelta(hours=1, days=7)


def test_p12_p18_a_signup_back_whose_entry_was_erased_since_it_was_read_is_not_confirmed(aws, at_t0):
    from chalicelib.store.returning import confirm_return

    _left()
    _write()
    read = _entry()
    read.delete()
    assert confirm_return(read, None, None) is None
    from tests.support.lists import stored

    assert stored(LIST, ANN) is None


def test_p01_p12_a_signup_back_is_judged_waiting_at_the_moment_its_confirmation_is_recorded(
        aws, at_t0, monkeypatch):
    from chalicelib.store import returning

    _left()
    _write()
    entry = _entry()
    last_second = T0 + timedelta(days=7) - timedelta(seconds=1)
    clock = iter([last_second, T0 + timedelta(days=8)])
    monkeypatch.setattr(returning, "now", lambda: next(clock))
    confirmed = returning.confirm_return(entry, None, None)
    assert confirmed is not None and confirmed.consent.confirmed_at == last_second
