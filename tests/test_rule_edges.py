"""The edges of the rule code that mutation testing found untested (`make mutants`): each test
asserts what a rule needs from a pure function, at the values where a small bug would show."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.tokens import Signer, TokenExpired, TokenInvalid
from tests.support.lists import consent_texts
from tests.support.tokens import altered

SIGNER = Signer(("a-secret-for-the-edge-tests",))
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


# --- P12: a refused transition names the field and both states -----------------------------------

@pytest.mark.parametrize(("current", "target", "was"), [
    (None, "unsubscribed", "absent"), ("unsubscribed", "confirmed", "unsubscribed"),
    ("bounced", "pending", "bounced")])
def test_p12_a_refused_transition_names_the_status_field_and_both_states(current, target, was):
    from chalicelib.domain.subscriptions import Status, check_transition

    with pytest.raises(Conflict) as refused:
        check_transition(Status(current) if current else None, Status(target))
    assert refused.value.field == "status"
    assert refused.value.message == f"a subscriber that is {was} cannot become {target}"


# --- P16: the portability CSV ----------------------------------------------------------------------

ENTRY = {
    "list_id": "lst_1", "list_name": "News", "status": "confirmed", "restricted": False,
    "email": "ann@example.com", "phone": "+40712345678", "name": "=HYPERLINK(\"x\")", "company": None,
    "website": None, "field_of_activity": "-minus", "attributes": {"city": "Cluj", "size": "@big"},
    "consent": {"given_at": "2025-01-31T09:30:00+00:00", "source": "form", "consent_text_version": 2,
                "consent_text": "Yes, send me news.", "confirmed_at": "2025-01-31T09:35:00+00:00"},
    "created_at": "2025-01-31T09:30:00+00:00", "updated_at": None,
}


def test_p16_the_csv_has_one_row_per_list_with_contact_data_consent_proof_and_attributes():
    from chalicelib.domain.person_csv import COLUMNS, memberships_csv

    text = memberships_csv([ENTRY, {**ENTRY, "list_id": "lst_2", "attributes": {}, "consent": None}])
    assert text.startswith(",".join(COLUMNS) + ",attributes.city,attributes.size\r\n")
    assert text.endswith("\r\n") and "\r\n\r\n" not in text
    first, second = list(csv.DictReader(io.StringIO(text)))
    assert (first["consent_given_at"], first["consent_source"], first["consent_text_version"],
            first["consent_text"], first["confirmed_at"]) == (
        "2025-01-31T09:30:00+00:00", "form", "2", "Yes, send me news.", "2025-01-31T09:35:00+00:00")
    assert first["email"] == "ann@example.com" and first["status"] == "confirmed"
    assert first["attributes.city"] == "Cluj"
    assert first["company"] == "" and first["updated_at"] == "", "a missing value is an empty cell"
    assert second["list_id"] == "lst_2" and second["consent_text"] == "" and second["attributes.city"] == ""


def test_p16_csv_cells_a_spreadsheet_would_run_are_defused_but_numbers_stay_numbers():
    from chalicelib.domain.person_csv import memberships_csv

    [row] = list(csv.DictReader(io.StringIO(memberships_csv([ENTRY]))))
    assert row["name"] == "'=HYPERLINK(\"x\")"
    assert row["field_of_activity"] == "'-minus"
    assert row["attributes.size"] == "'@big"
    assert row["phone"] == "+40712345678", "an E.164 number stays machine-readable"
    tab = memberships_csv([{**ENTRY, "name": "\tTab", "phone": "-12 5"}])
    [tabbed] = list(csv.DictReader(io.StringIO(tab)))
    assert tabbed["name"] == "'\tTab" and tabbed["phone"] == "-12 5"


# --- P07 and P31: mail links live a year, and only their own kind --------------------------------

def _claim():
    from chalicelib.domain.mail_links import LinkClaim

    return LinkClaim("acc_1", "lst_1", "ann@example.com", "cmp_1")


@pytest.mark.parametrize("age", [timedelta(days=365) - timedelta(seconds=1), timedelta(days=365, seconds=2)])
def test_p07_mail_links_and_click_links_work_for_a_year_and_no_longer(age):
    from chalicelib.domain.mail_links import (
        CLICK,
        UNSUBSCRIBE,
        click_token,
        link_token,
        read_click_token,
        read_link_token,
        read_tracking_token,
    )

    with time_machine.travel(T0, tick=False):
        link = link_token(SIGNER, UNSUBSCRIBE, _claim())
        click = click_token(SIGNER, _claim(), "https://shop.example/sale")
    with time_machine.travel(T0 + age, tick=False):
        if age < timedelta(days=365):
            assert read_link_token(SIGNER, UNSUBSCRIBE, link) == _claim()
            assert read_click_token(SIGNER, click) == (_claim(), "https://shop.example/sale")
            assert read_tracking_token(SIGNER, CLICK, click).url == "https://shop.example/sale"
        else:
            for read in (lambda: read_link_token(SIGNER, UNSUBSCRIBE, link),
                         lambda: read_click_token(SIGNER, click),
                         lambda: read_tracking_token(SIGNER, CLICK, click)):
                with pytest.raises(TokenExpired):
                    read()


def test_p31_a_link_token_is_refused_for_another_purpose_and_when_its_claim_is_incomplete():
    from chalicelib.domain.mail_links import (
        CLICK,
        FORWARD,
        OPEN,
        UNSUBSCRIBE,
        link_token,
        read_click_token,
        read_link_token,
        read_tracking_token,
    )

    token = link_token(SIGNER, UNSUBSCRIBE, _claim())
    with pytest.raises(TokenInvalid):
        read_link_token(SIGNER, FORWARD, token)
    with pytest.raises(TokenInvalid):
        read_click_token(SIGNER, token)
    for payload in ({"a": "acc_1", "l": "lst_1"}, {"a": "acc_1", "l": "", "e": "x@example.com"},
                    {"a": "acc_1", "l": "lst_1", "e": 5},
                    {"a": "acc_1", "l": "lst_1", "e": "x@example.com", "c": 7}):
        with pytest.raises(TokenInvalid) as refused:
            read_link_token(SIGNER, OPEN, SIGNER.sign(OPEN, payload))
        assert refused.value.field == "token"
    no_campaign = read_link_token(SIGNER, OPEN, SIGNER.sign(OPEN, {"a": "a", "l": "l", "e": "e@x.example"}))
    assert no_campaign.campaign_id is None
    for target in ("javascript:alert(1)", "ftp://x.example/", None, 5, "//evil.example/"):
        forged = SIGNER.sign(CLICK, {**_claim().payload(), "u": target})
        with pytest.raises(TokenInvalid):
            read_click_token(SIGNER, forged)
        with pytest.raises(TokenInvalid):
            read_tracking_token(SIGNER, CLICK, forged)
    assert read_tracking_token(SIGNER, OPEN, link_token(SIGNER, OPEN, _claim())).url is None


# --- P01 and P31: the confirm link's list hint, read without trusting the token ---------------------

@pytest.mark.parametrize(("list_id", "hint"), [
    ("l" * 64, "l" * 64), ("l" * 65, None), ("lst_ü", None), (7, None), (None, None)])
def test_p31_the_confirm_link_hint_is_only_a_short_ascii_list_id(list_id, hint):
    from chalicelib.domain.tokens import CONFIRM, confirm_token_list_hint

    token = SIGNER.sign(CONFIRM, {"l": list_id, "a": "ann@example.com"})
    assert confirm_token_list_hint(SIGNER, token) == hint
    assert confirm_token_list_hint(Signer(("another-secret",)), token) is None, "encrypted: no key, no hint"
    assert confirm_token_list_hint(SIGNER, "not-a-token") is None


def test_p01_a_confirm_link_lives_7_days():
    from chalicelib.domain.tokens import confirm_token, read_confirm_token

    with time_machine.travel(T0, tick=False):
        token = confirm_token(SIGNER, "lst_1", "ann@example.com")
    with time_machine.travel(T0 + timedelta(days=7) - timedelta(seconds=1), tick=False):
        assert read_confirm_token(SIGNER, token).address == "ann@example.com"
    with time_machine.travel(T0 + timedelta(days=7, seconds=2), tick=False), pytest.raises(TokenExpired):
        read_confirm_token(SIGNER, token)


# --- P26: an account's own limits, the soft-bounce window ---------------------------------------------

@pytest.mark.parametrize(("value", "accepted"), [(0, False), (0.0005, True), (0.999, True), (1, False),
                                                  (1.5, False), (-0.1, False)])
def test_p26_an_accounts_own_limit_is_a_rate_strictly_between_0_and_1(value, accepted):
    from chalicelib.domain.health import check_own_threshold

    if accepted:
        assert check_own_threshold(value, "max_bounce_rate") == value
    else:
        with pytest.raises(InvalidInput) as refused:
            check_own_threshold(value, "max_bounce_rate")
        assert refused.value.field == "max_bounce_rate"


def test_p26_transient_bounces_are_summed_over_the_last_7_days_today_included():
    from chalicelib.domain.health import HealthPolicy, soft_bounce_days

    today = date(2026, 3, 10)
    assert soft_bounce_days(today, HealthPolicy()) == [today - timedelta(days=n) for n in range(7)]


def test_p23_a_confirmed_deletion_is_due_30_days_after_the_confirmation():
    from chalicelib.domain.retention import deletion_due

    assert deletion_due(T0) == T0 + timedelta(days=30)


# --- P02, P03, P04: one imported row --------------------------------------------------------------

def _row(**values: str):
    from chalicelib.domain.imports import clean_row

    return clean_row({"email": "Ann@Example.com", **values}, ["city"], consent_texts(1, 2))


def test_p03_a_row_without_consent_proof_gets_double_opt_in_and_one_with_it_is_proven():
    assert _row().proof is None
    proven = _row(consent_given_at="2025-05-01T10:00:00Z", consent_ip="198.51.100.4",
                  consent_user_agent="Firefox/128", consent_form_url="https://acme.example/join")
    assert proven.contact.email == "ann@example.com"
    proof = proven.proof
    assert (proof.source.value, proof.ip, proof.user_agent, proof.form_url, proof.consent_text_version) == (
        "import", "198.51.100.4", "Firefox/128", "https://acme.example/join", 2)
    assert proof.given_at == datetime(2025, 5, 1, 10, 0, tzinfo=UTC)
    older = _row(consent_given_at="2025-05-01T10:00:00Z", consent_text_version="1")
    assert older.proof.consent_text_version == 1


@pytest.mark.parametrize(("values", "complete"), [
    ({"consent_source": "Shop checkout", "consent_text_version": "1", "consent_ip": "198.51.100.4"}, True),
    ({"consent_source": "Shop checkout", "consent_text_version": "1",
      "consent_form_url": "https://acme.example/join"}, True),
    ({"consent_source": "Shop checkout", "consent_text_version": "1"}, False),
    ({"consent_source": "Shop checkout", "consent_ip": "198.51.100.4"}, False),
    ({"consent_text_version": "1", "consent_ip": "198.51.100.4"}, False),
])
def test_p01_p02_an_imported_proof_is_complete_with_when_where_which_text_and_an_ip_or_form_url(
        values, complete):
    """Only a complete proof confirms a row at once on a double opt-in list (P01); the original
    source is kept with the proof (P02)."""
    row = _row(consent_given_at="2025-05-01T10:00:00Z", **values)
    assert row.complete is complete
    assert row.confirmed_at_once(double_opt_in=True) is complete
    assert row.proof.original_source == values.get("consent_source")
    assert row.tracking is None


def test_p02_p30_an_imported_rows_source_is_at_most_200_characters_and_its_tracking_consent_is_kept():
    from chalicelib.domain.imports import clean_row

    given = {"consent_given_at": "2025-05-01T10:00:00Z"}
    assert _row(**given, consent_source="s" * 200).proof.original_source == "s" * 200
    with pytest.raises(InvalidInput) as refused:
        _row(**given, consent_source="s" * 201)
    assert refused.value.field == "consent_source"
    tracking = {"tracking_consent_given_at": "2025-05-02T10:00:00Z", "tracking_consent_text_version": "1"}
    for row in (clean_row({"email": "ann@example.com", **tracking}, ["city"], consent_texts(1),
                          tracking_versions=consent_texts(1)),
                clean_row({"email": "ann@example.com", **given, **tracking}, ["city"], consent_texts(1),
                          tracking_versions=consent_texts(1))):
        assert row.tracking.given_at == datetime(2025, 5, 2, 10, 0, tzinfo=UTC)
        assert row.tracking.consent_text_version == 1
        assert row.contact.attributes == {}


@pytest.mark.parametrize(("values", "field"), [
    ({"consent_ip": "198.51.100.4"}, "consent_given_at"),
    ({"consent_user_agent": "Firefox/128"}, "consent_given_at"),
    ({"consent_given_at": "2025-05-01T10:00:00Z", "consent_ip": "not-an-ip"}, "consent_ip"),
    ({"consent_given_at": "2025-05-01T10:00:00Z", "consent_text_version": "3"}, "consent_text_version"),
    ({"consent_given_at": "2025-05-01T10:00:00Z", "consent_text_version": "v1"}, "consent_text_version"),
    ({"consent_given_at": "yesterday"}, "consent_given_at"),
    ({"consent_given_at": "2025-05-01T10:00:00"}, "consent_given_at"),
])
def test_p02_proof_columns_without_a_time_or_with_a_bad_value_are_refused_naming_the_column(values, field):
    with pytest.raises(InvalidInput) as refused:
        _row(**values)
    assert refused.value.field == field


def test_p04_a_row_keeps_contact_fields_and_declared_attributes_only():
    person = _row(name="Ann", city="Cluj", consent_given_at="2025-05-01T10:00:00Z")
    assert person.contact.name == "Ann" and person.contact.attributes == {"city": "Cluj"}


# --- P17: rectification sets and clears attributes where a list declares them --------------------

def test_p17_a_rectification_sets_and_clears_attributes_only_where_a_list_declares_them():
    from chalicelib.domain.privacy import rectification

    change = rectification({"name": "Ann B", "attributes": {"city": "Iasi", "plan": None}}, ["city", "plan"])
    assert change.fields == {"name": "Ann B"}
    assert change.attributes == {"city": "Iasi"} and change.cleared_attributes == frozenset({"plan"})
    assert change.field_names == ["attributes.city", "attributes.plan", "name"]
    assert change.changes_for({"city": "Cluj", "plan": "gold", "size": "L"}, ["city", "plan", "size"]) == {
        "name": "Ann B", "attributes": {"city": "Iasi", "size": "L"}}
    assert change.changes_for({"size": "L"}, ["size"]) == {"name": "Ann B"}, "no attribute of this list"
    name_only = rectification({"name": "Ann C"}, ["city"])
    assert name_only.cleared_attributes == frozenset()
    assert name_only.changes_for({"city": "Cluj"}, ["city"]) == {"name": "Ann C"}


@pytest.mark.parametrize(("changes", "field"), [
    ({"attributes": {"shoe": "42"}}, "changes.attributes.shoe"), ({"phone": "12"}, "changes.phone"),
    ({"attributes": "gold"}, "changes.attributes")])
def test_p17_a_rectification_error_names_the_change_at_fault(changes, field):
    from chalicelib.domain.privacy import rectification

    with pytest.raises(InvalidInput) as refused:
        rectification(changes, ["city"])
    assert refused.value.field == field


# --- P21-P25: the purge reads the buckets of the days that may hold due items --------------------

def test_p25_an_item_is_filed_under_its_expiry_day_and_a_shard_of_its_key():
    from chalicelib.domain.retention import PURGE_SHARDS, purge_bucket

    expiry = datetime(2026, 3, 10, 23, 59, tzinfo=UTC)
    buckets = {purge_bucket(expiry, f"key-{n}") for n in range(40)}
    assert buckets == {f"2026-03-10#{shard}" for shard in range(PURGE_SHARDS)} and PURGE_SHARDS == 2
    assert purge_bucket(expiry, "key-1") == purge_bucket(expiry + timedelta(seconds=30), "key-1")


def test_p25_the_daily_purge_reads_today_and_the_14_days_before_oldest_first():
    from chalicelib.domain.retention import buckets_between, due_buckets

    at = datetime(2026, 3, 15, 3, 0, tzinfo=UTC)
    buckets = due_buckets(at)
    assert len(buckets) == 15 * 2
    assert buckets[:2] == ["2026-03-01#0", "2026-03-01#1"]
    assert buckets[-2:] == ["2026-03-15#0", "2026-03-15#1"]
    assert buckets_between(at, at) == ["2026-03-15#0", "2026-03-15#1"]
    assert buckets_between(at, at - timedelta(days=1)) == []


def test_p22_content_goes_30_days_after_the_suspension():
    from chalicelib.domain.retention import content_purge_cutoff

    assert content_purge_cutoff(T0) == T0 - timedelta(days=30)


def test_p24_the_cutoffs_are_11_months_and_a_year_back_as_iso_days():
    from chalicelib.domain.retention import inactivity_deletion_cutoff, inactivity_warning_cutoff

    at = datetime(2027, 6, 1, 3, 0, tzinfo=UTC)
    assert inactivity_warning_cutoff(at) == "2026-07-01"  # 335 days back
    assert inactivity_deletion_cutoff(at) == "2026-06-01"


def test_p04_an_imported_rows_address_is_checked_with_dns_when_the_deployment_asks(monkeypatch):
    from chalicelib.domain import subscriptions
    from chalicelib.domain.imports import clean_row

    asked = []
    monkeypatch.setattr(subscriptions, "normalise_email",
                        lambda address, check_dns=False, mailable=False:
                        asked.append((check_dns, mailable)) or address.lower())
    clean_row({"email": "ann@example.com"}, [], consent_texts(1), check_dns=True)
    clean_row({"email": "ann@example.com"}, [], consent_texts(1), check_dns=False)
    assert asked == [(True, True), (False, True)], "an imported address is always one SES can mail"


# --- P26: the verdict at exactly the minimum volume and thresholds -----------------------------------

@pytest.mark.parametrize(("sent", "hard", "complaints", "suspended"), [
    (199, 199, 0, False), (200, 10, 0, True), (200, 9, 0, False), (1000, 0, 1, True), (1001, 0, 1, False),
    (0, 0, 0, False)])
def test_p26_the_verdict_from_200_mails_at_0_1_percent_complaints_or_5_percent_bounces(
        sent, hard, complaints, suspended):
    from chalicelib.domain.health import DayCounts, HealthPolicy, summarise, suspension_reason, thresholds_for

    class Active:
        status, suspension_reason, max_complaint_rate, max_bounce_rate = "active", None, None, None

    window = summarise(date(2026, 3, 1), [DayCounts(date(2026, 3, 1), sent=sent, hard_bounces=hard,
                                                    complaints=complaints)])
    reason = suspension_reason(window, thresholds_for(HealthPolicy(), Active()))
    assert (reason is not None) is suspended, reason


# --- P23: the deletion link is the account's own, for 2 days ----------------------------------------

def test_p23_a_deletion_link_lives_2_days_and_holds_both_the_account_and_its_nonce():
    from chalicelib.domain.account_lifecycle import DELETION_PURPOSE, deletion_token, read_deletion_token

    with time_machine.travel(T0, tick=False):
        token = deletion_token(SIGNER, "acc_1", "nonce-1")
    with time_machine.travel(T0 + timedelta(days=2) - timedelta(seconds=1), tick=False):
        claim = read_deletion_token(SIGNER, token)
        assert (claim.account_id, claim.nonce) == ("acc_1", "nonce-1")
    with time_machine.travel(T0 + timedelta(days=2, seconds=2), tick=False), pytest.raises(TokenExpired):
        read_deletion_token(SIGNER, token)
    for payload in ({"acc": "acc_1"}, {"n": "nonce-1"}, {"acc": 1, "n": "nonce-1"}, {"acc": "acc_1", "n": 2}):
        with pytest.raises(TokenInvalid):
            read_deletion_token(SIGNER, SIGNER.sign(DELETION_PURPOSE, payload))


# --- P07, P31: links go to the platform's pages and to web targets only ----------------------------

def test_p07_a_mail_link_joins_the_public_base_and_the_purpose_path_with_one_slash():
    from chalicelib.domain.mail_links import FORWARD, PREFERENCES, UNSUBSCRIBE, link_url

    assert link_url("https://t.example/", UNSUBSCRIBE, "tok") == "https://t.example/u/tok"
    assert link_url("https://t.example", PREFERENCES, "tok") == "https://t.example/p/tok"
    assert link_url("https://t.example//", FORWARD, "tok") == "https://t.example/fwd/tok"


@pytest.mark.parametrize("target", ["http://shop.example/a", "https://shop.example/a"])
def test_p13_a_click_link_may_lead_to_an_http_or_https_page(target):
    from chalicelib.domain.mail_links import click_token, read_click_token

    assert read_click_token(SIGNER, click_token(SIGNER, _claim(), target))[1] == target


# --- P13: a report of a campaign nothing happened to ------------------------------------------------

def test_p13_a_report_without_counters_is_all_zeros():
    from chalicelib.domain.campaign_report import build_report

    report = build_report("cmp_1", {})
    zero = {"total": 0, "human": {"total": 0, "unique": 0}, "machine": {"total": 0, "unique": 0}}
    assert report == {
        "campaign_id": "cmp_1", "sent": 0, "delivered": 0, "bounced": {"hard": 0, "soft": 0}, "complaints": 0,
        "opens": {**zero, "unique": 0}, "clicks": {**zero, "links": []}, "unsubscribes": 0, "forwards": 0,
        "countries": [], "trackable": 0}


# --- P18, P20: a subject found by phone is hashed as a phone -----------------------------------------

def test_p18_a_phone_subject_is_hashed_like_the_phone_in_suppressions_and_message_records():
    from chalicelib.domain.privacy import phone_hash, subject_of
    from chalicelib.domain.suppression import address_hash

    by_phone = subject_of(phone="+40 712 345 678")
    assert by_phone.keyed_hash("k") == phone_hash("+40712345678", "k") != phone_hash("+40712345678", "k2")
    assert subject_of(email="Ann@Example.com").keyed_hash("k") == address_hash("ann@example.com", "k")


# --- P26: an account's own, stricter limits ------------------------------------------------------------

def test_p26_an_accounts_own_limits_tighten_the_platforms_and_never_loosen_them():
    from chalicelib.domain.health import HealthPolicy, thresholds_for

    class Own:
        status, suspension_reason = "active", None

        def __init__(self, complaints, bounces):
            self.max_complaint_rate, self.max_bounce_rate = complaints, bounces

    stricter = thresholds_for(HealthPolicy(), Own(0.0005, 0.01))
    assert (stricter.max_complaint_rate, stricter.max_bounce_rate) == (0.0005, 0.01)
    assert stricter.min_volume == 200
    looser = thresholds_for(HealthPolicy(), Own(0.5, 0.5))
    assert (looser.max_complaint_rate, looser.max_bounce_rate) == (0.001, 0.05)
    default = thresholds_for(HealthPolicy(), Own(None, None))
    assert (default.max_complaint_rate, default.max_bounce_rate) == (0.001, 0.05)


# --- P01: a confirmation link names a list and an address ----------------------------------------------

@pytest.mark.parametrize("payload", [
    {"l": "lst_1"}, {"a": "ann@example.com"}, {"l": 1, "a": "ann@example.com"},
    {"l": "lst_1", "a": ["ann@example.com"]}])
def test_p01_a_confirmation_link_without_a_list_and_an_address_is_invalid(payload):
    from chalicelib.domain.tokens import CONFIRM, read_confirm_token

    with pytest.raises(TokenInvalid):
        read_confirm_token(SIGNER, SIGNER.sign(CONFIRM, payload))


# --- P12, P17: who receives a campaign ------------------------------------------------------------

def test_p17_a_restricted_entry_or_one_outside_the_filter_receives_nothing():
    from chalicelib.domain.campaigns import Channel
    from chalicelib.domain.sending import eligible
    from chalicelib.domain.subscriptions import Contact

    gold = Contact(email="ann@example.com", attributes={"plan": "gold"})
    assert eligible(Channel.EMAIL, {"plan": "gold"}, gold, restricted=False)
    assert not eligible(Channel.EMAIL, {"plan": "gold"}, gold, restricted=True)
    assert not eligible(Channel.EMAIL, {}, gold, restricted=True)
    assert not eligible(Channel.EMAIL, {"plan": "silver"}, gold, restricted=False)
    assert not eligible(Channel.SMS, {}, gold, restricted=False, phone_confirmed=True), "no phone, no SMS"
    bob = Contact(email="b@example.com", phone="+40712345678")
    assert eligible(Channel.SMS, {}, bob, restricted=False, phone_confirmed=True)
    assert not eligible(Channel.SMS, {}, bob, restricted=False), "a phone its person did not confirm (P01)"
    assert not eligible(Channel.SMS, {}, bob, restricted=True, phone_confirmed=True)


# --- P12, P18: the keyed hash that suppressions keep ------------------------------------------------

def test_p18_the_suppression_hash_is_keyed_tells_addresses_apart_and_ignores_case():
    import hashlib

    from chalicelib.domain.suppression import address_hash

    ann = address_hash("ann@example.com", "k")
    assert ann == address_hash(" Ann@Example.COM ", "k")
    assert ann != address_hash("bob@example.com", "k") and ann != address_hash("ann@example.com", "k2")
    assert ann != hashlib.sha256(b"ann@example.com").hexdigest() and len(ann) == 64


# --- P26: what a suspended account is told ---------------------------------------------------------------

def test_p26_a_blocked_account_is_told_why():
    from chalicelib.domain.health import sending_blocked_reason

    class Account:
        def __init__(self, status, reason=None):
            self.status, self.suspension_reason = status, reason
            self.max_complaint_rate = self.max_bounce_rate = None

    assert sending_blocked_reason(Account("active", "old reason")) is None
    assert sending_blocked_reason(Account("suspended", "complaint rate 0.10%")) == (
        "sending is suspended: complaint rate 0.10%. Contact the operator to lift the suspension.")
    assert sending_blocked_reason(Account("suspended")) == (
        "sending is suspended. Contact the operator to lift the suspension.")
    assert sending_blocked_reason(Account("cancelled")) == "the account is cancelled and cannot send"


# --- P06, P08: the footer a marketing mail gets, exactly -------------------------------------------

TOKEN = r"[A-Za-z0-9_.\-]+"


def test_p06_p08_a_bare_template_gets_the_identity_then_the_links_in_both_parts():
    import re

    from tests.support.mail import composed

    text, html = composed("<html><body><p>Hello</p></body></html>")
    identity = "Acme Ltd, 1 Main Street, 010101 Bucharest, Romania"
    assert re.fullmatch(
        r'<html><body><p>Hello</p>'
        r'<div style="margin-top:32px;font-size:12px;color:#666;line-height:1\.5">'
        r'<p>Acme Ltd &middot; 1 Main Street, 010101 Bucharest, Romania &middot; '
        r'<a href="mailto:contact@acme\.example">contact@acme\.example</a></p>'
        r'<p>You receive this email because you subscribed to News\. '
        rf'<a href="https://t\.example/u/{TOKEN}">Unsubscribe</a> &middot; '
        rf'<a href="https://t\.example/p/{TOKEN}">Update your preferences</a></p>'
        r'</div></body></html>\s*', html), html
    assert re.fullmatch(
        rf"Hello\r?\n\r?\n-- \r?\n{re.escape(identity)}, contact@acme\.example\r?\n"
        r"You receive this email because you subscribed to News\.\r?\n"
        rf"Unsubscribe: https://t\.example/u/{TOKEN}\r?\n"
        rf"Preferences: https://t\.example/p/{TOKEN}\r?\n", text), text


def test_p06_p08_a_template_showing_the_identity_and_both_links_gets_no_footer_at_all():
    import re

    from tests.support.mail import composed

    identity = "<p>Acme Ltd, 1 Main Street, 010101 Bucharest, Romania, contact@acme.example</p>"
    text, html = composed(f'<p>Hi</p>{identity}<p><a href="{{{{ unsubscribe_url }}}}">Leave</a> '
                          '<a href="{{ preferences_url }}">Settings</a></p>')
    assert re.fullmatch(rf"<p>Hi</p>{re.escape(identity)}"
                        rf'<p><a href="https://t\.example/u/{TOKEN}">Leave</a> '
                        rf'<a href="https://t\.example/p/{TOKEN}">Settings</a></p>\s*', html), html
    assert "-- " not in text and text.count("1 Main Street") == 1


def test_p08_an_identity_with_markup_characters_shown_by_the_template_is_not_added_twice():
    from chalicelib.domain.accounts import AccountProfile
    from tests.support.mail import composed

    sender = AccountProfile(name="Smith & Sons", postal_address="2 Rue <A> & B", contact_email="c@s.example",
                            sender_identity="news@s.example")
    text, html = composed("<p>Hi</p><p>Smith &amp; Sons, 2 Rue &lt;A&gt; &amp; B, c@s.example</p>",
                          text="Hi\n\nSmith & Sons, 2 Rue <A> & B, c@s.example\n", sender=sender)
    assert html.count("2 Rue &lt;A&gt; &amp; B") == 1 and "mailto:" not in html
    assert text.count("2 Rue <A> & B") == 1


# --- P01: marketing SMS only to a number its person confirmed with a code ---------------------------

def test_p01_a_number_counts_as_confirmed_only_as_confirmed_and_while_unchanged():
    from chalicelib.domain.phone_consent import phone_confirmed

    assert phone_confirmed("+40712345678", "+40712345678", T0)
    assert not phone_confirmed("+40712345679", "+40712345678", T0), "a changed number needs confirming"
    assert not phone_confirmed("+40712345678", "+40712345678", None)
    assert not phone_confirmed(None, None, T0) and not phone_confirmed("", "", T0)


def test_p01_a_code_is_bound_to_the_entry_and_number_lives_15_minutes_and_5_tries():
    from chalicelib.domain.phone_consent import CODE_DIGITS, code_hash, code_matches, may_send_code, new_code

    code = new_code()
    assert len(code) == CODE_DIGITS == 6 and code.isdigit()
    stored = code_hash("k", "lst_1", "ann@example.com", "+40712345678", code)
    assert stored == code_hash("k", "lst_1", "ann@example.com", "+40712345678", f" {code} ")
    entry = ("k", "lst_1", "ann@example.com", "+40712345678")
    for position, changed in enumerate(("k2", "lst_2", "bob@example.com", "+40712345679")):
        other = list(entry)
        other[position] = changed
        assert code_hash(*other, code) != stored
    assert code_matches(stored, T0, 4, stored, T0 + timedelta(minutes=15))
    assert not code_matches(stored, T0, 4, stored, T0 + timedelta(minutes=15, seconds=1)), "expired"
    assert not code_matches(stored, T0, 5, stored, T0), "out of tries"
    wrong = code_hash(*entry, "000000" if code != "000000" else "111111")
    assert not code_matches(stored, T0, 0, wrong, T0)
    assert not code_matches(None, T0, 0, stored, T0) and not code_matches(stored, None, 0, stored, T0)
    assert may_send_code(None, T0)
    assert may_send_code(T0, T0 + timedelta(minutes=2))
    assert not may_send_code(T0, T0 + timedelta(minutes=2) - timedelta(seconds=1))


def test_p01_a_page_shows_only_a_numbers_prefix_and_last_three_digits():
    from chalicelib.domain.phone_consent import code_text, masked

    assert masked("+40712345678") == "+40•••678"
    assert masked("+401234") == "+40•••234" and masked("+40123") == "•••"
    text = code_text("Acme Ltd", "News", "123456")
    assert text.startswith("123456 is your code") and "Acme Ltd (News)" in text


# --- P31: what a link token is made of, to the byte and the second -----------------------------------

def test_p31_a_link_sent_before_encryption_is_read_with_its_purpose_and_expiry():
    """A signed (itsdangerous) token of an older mail: read with the same secrets, for its own
    purpose only, until its age runs out; its hint reads whatever its age."""
    from itsdangerous import URLSafeTimedSerializer

    with time_machine.travel(T0, tick=False):
        legacy = URLSafeTimedSerializer(list(SIGNER.secrets), salt="unsubscribe").dumps({"l": "lst_1"})
    assert "." in legacy
    with time_machine.travel(T0 + timedelta(seconds=100), tick=False):
        assert SIGNER.verify_timed("unsubscribe", legacy, 100) == ({"l": "lst_1"}, T0)
        with pytest.raises(TokenInvalid):
            SIGNER.verify("confirm", legacy, 100)
        with pytest.raises(TokenInvalid):
            SIGNER.verify("unsubscribe", altered(legacy), 100)
    with time_machine.travel(T0 + timedelta(seconds=102), tick=False):
        with pytest.raises(TokenExpired):
            SIGNER.verify("unsubscribe", legacy, 100)
        assert SIGNER.unverified_payload("unsubscribe", legacy) == {"l": "lst_1"}
        assert SIGNER.unverified_payload("confirm", legacy) is None
        assert SIGNER.unverified_payload("unsubscribe", altered(legacy)) is None


def test_p31_a_forged_legacy_token_gives_no_hint_and_is_never_decompressed():
    """A signed token's payload may be zlib-compressed (a leading dot): one an attacker made up
    could inflate to megabytes from a URL's few kilobytes. Its signature is checked first."""
    import zlib

    from itsdangerous.encoding import base64_encode

    bomb = b"." + base64_encode(zlib.compress(b"[" + b"0," * 5_000_000 + b"0]", 9))
    forged = bomb.decode() + ".AAAAAA.c2lnbmF0dXJl"
    assert len(forged) < 30_000
    assert SIGNER.unverified_payload("confirm", forged) is None


def test_p31_a_token_lives_to_the_second_of_its_age_and_a_minute_of_clock_skew():
    with time_machine.travel(T0, tick=False):
        token = SIGNER.sign("unsubscribe", {"l": "lst_1"})
    for moment, valid in [(T0 + timedelta(seconds=100), True), (T0 + timedelta(seconds=101), False),
                          (T0 - timedelta(seconds=60), True), (T0 - timedelta(seconds=61), False)]:
        with time_machine.travel(moment, tick=False):
            if valid:
                assert SIGNER.verify_timed("unsubscribe", token, 100) == ({"l": "lst_1"}, T0)
            else:
                with pytest.raises(TokenExpired):
                    SIGNER.verify("unsubscribe", token, 100)


def test_p31_a_token_is_33_bytes_more_than_its_compact_payload_and_at_most_8000_characters():
    """Version, nonce, time and tag around the payload's compact UTF-8 JSON: a link stays short.
    A genuine token of 8000 characters is read; a longer one is refused unread, as is one whose
    version byte was changed, with an error naming the token."""
    import base64
    import json

    payload = {"l": "lst_1", "a": "acc_1", "n": "Zoë"}
    compact = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    token = SIGNER.sign("unsubscribe", payload)
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) == 33 + len(compact)
    by_length = {len(SIGNER.sign("unsubscribe", {"x": "x" * size})): size for size in range(5950, 5965)}
    assert SIGNER.verify("unsubscribe", SIGNER.sign("unsubscribe", {"x": "x" * by_length[8000]}))
    too_long = SIGNER.sign("unsubscribe", {"x": "x" * by_length[8002]})
    with pytest.raises(TokenInvalid) as refused:
        SIGNER.verify("unsubscribe", too_long)
    assert refused.value.field == "token"
    assert str(refused.value) == "this link is not valid; it may have been cut or altered"
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[0] = 3
    with pytest.raises(TokenInvalid):
        SIGNER.verify("unsubscribe", base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode())


def test_p31_a_token_has_one_spelling_and_any_other_is_refused():
    """Base64 leaves the low bits of a token's last character unused and a lenient decoder skips
    characters outside its alphabet, so other strings would decode to the same bytes: an altered
    link would still work. Every one-character change is refused, in both padded lengths and in
    an old signed token's signature."""
    from itsdangerous import URLSafeTimedSerializer

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    lengths = {}
    for size in range(3):
        token = SIGNER.sign("unsubscribe", {"x": "x" * size})
        lengths[len(token) % 4] = token
    legacy = URLSafeTimedSerializer(list(SIGNER.secrets), salt="unsubscribe").dumps({"l": "lst_1"})
    assert set(lengths) == {0, 2, 3}
    for token in (lengths[2], lengths[3], legacy):
        assert SIGNER.verify("unsubscribe", token)
        last = alphabet.index(token[-1])
        same_bits = [character for character in alphabet if alphabet.index(character) >> 4 == last >> 4]
        spellings = [token[:-1] + character for character in same_bits]
        spellings += [token[:5] + outsider + token[5:] for outsider in ("=", "+", " ", "\n", "\u2028")]
        for spelling in spellings:
            if spelling != token:
                with pytest.raises(TokenInvalid):
                    SIGNER.verify("unsubscribe", spelling)
    # "-" and "_" read as "+" and "/" too.
    plus = next(token for token in (SIGNER.sign("unsubscribe", {"i": i}) for i in range(100)) if "-" in token)
    with pytest.raises(TokenInvalid):
        SIGNER.verify("unsubscribe", plus.replace("-", "+"))


def test_p31_every_token_reads_back_and_one_made_with_a_retired_secret_under_a_rotated_list():
    """Base64 without padding: whatever character a token ends with, it reads back. After a key
    rotation (new secret first) a token made with the older secret is still read."""
    tokens = [SIGNER.sign("unsubscribe", {"i": index}) for index in range(1000)]
    assert [SIGNER.verify("unsubscribe", token)["i"] for token in tokens] == list(range(1000))
    rotated = Signer(("a-newer-secret", *SIGNER.secrets))
    assert rotated.verify("unsubscribe", tokens[0]) == {"i": 0}


def test_p27_a_key_secret_has_32_random_bytes():
    from chalicelib.domain.keys import new_secret

    secret = new_secret("key_1")
    assert secret.startswith("tid_key_1_") and len(secret.removeprefix("tid_key_1_")) == 43


# --- P35: who may claim a sender identity ------------------------------------------------------------

def test_p35_an_identity_belongs_to_one_account_and_a_domain_and_its_addresses_to_the_same_one():
    from chalicelib.domain.senders import Owner, check_may_claim, owned_identities_for, sender_name

    news, domain = sender_name("news@acme.example"), sender_name("acme.example")
    mine, theirs = Owner("news@acme.example", "acc_1"), Owner("news@acme.example", "acc_2")
    for owner, says in ((mine, "is already this account's"), (theirs, "is held by another owner")):
        with pytest.raises(Conflict) as refused:
            check_may_claim(news, "acc_1", [owner])
        assert says in str(refused.value) and str(refused.value).startswith("'news@acme.example'")
        assert refused.value.field == "identity"
    # Another account's address at the domain, seen after this account's own: the domain is refused.
    with pytest.raises(Conflict):
        check_may_claim(domain, "acc_1", [Owner("info@acme.example", "acc_1"), theirs])
    # An address at a domain another account owns is refused; at a domain where another account
    # owns only a different address, it may be claimed.
    with pytest.raises(Conflict):
        check_may_claim(news, "acc_1", [Owner("acme.example", "acc_2")])
    check_may_claim(news, "acc_1", [Owner("info@acme.example", "acc_2")])
    check_may_claim(domain, "acc_1", [Owner("info@acme.example", "acc_1")])
    assert owned_identities_for("news@acme.example", "acc_1", [Owner("acme.example", "acc_1"), mine]) == [
        "news@acme.example", "acme.example"]
