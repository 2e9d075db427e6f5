"""Pure signup rules: state machine, expiry, contact filter, phone, tokens, suppression keys, mail."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from chalicelib.config import hash_key, signer
from chalicelib.domain import tokens
from chalicelib.domain.accounts import AccountProfile
from chalicelib.domain.confirmation_mail import confirmation_email, confirmation_message_id
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.subscriptions import (
    SIGNUP_REPLACES,
    SignupOutcome,
    Status,
    check_transition,
    clean_changes,
    clean_contact,
    form_address,
    is_live,
    normalise_phone,
    pending_expiry,
    pending_lifetime,
    pick_consent_version,
    signup_outcome,
)
from chalicelib.domain.suppression import address_hash
from chalicelib.resources import HASH_KEY_SECRET, SIGNING_KEYS_SECRET
from tests.support.tokens import altered

ENDED = (Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED)
ACME = AccountProfile(name="Acme Ltd", postal_address="1 Main Street, Bucharest",
                      contact_email="contact@acme.example", sender_identity="news@acme.example")


# --- state machine ------------------------------------------------------------------------------

@pytest.mark.parametrize(("current", "target"), [
    (None, Status.PENDING), (None, Status.CONFIRMED), (Status.PENDING, Status.PENDING),
    (Status.PENDING, Status.CONFIRMED), *((Status.PENDING, s) for s in ENDED),
    *((Status.CONFIRMED, s) for s in ENDED),
])
def test_allowed_transitions(current, target):
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), [
    (Status.CONFIRMED, Status.PENDING), (None, Status.UNSUBSCRIBED),
    *((ended, target) for ended in ENDED for target in (Status.PENDING, Status.CONFIRMED)),
])
def test_p12_forbidden_transitions_raise_conflict(current, target):
    with pytest.raises(Conflict):
        check_transition(current, target)


def test_p01_public_signup_of_a_new_address_is_pending_never_confirmed():
    assert signup_outcome(None, suppressed=False, confirm_now=False) is SignupOutcome.CREATE_PENDING
    assert signup_outcome(Status.PENDING, suppressed=False, confirm_now=False) \
        is SignupOutcome.CREATE_PENDING


def test_confirm_now_only_when_asked():
    assert signup_outcome(None, suppressed=False, confirm_now=True) is SignupOutcome.CREATE_CONFIRMED


def test_already_confirmed_address_is_left_alone():
    assert signup_outcome(Status.CONFIRMED, suppressed=False, confirm_now=False) \
        is SignupOutcome.ALREADY_CONFIRMED


@pytest.mark.parametrize("current", [None, Status.PENDING, Status.CONFIRMED])
def test_p12_suppressed_address_is_refused_whatever_its_entry(current):
    assert signup_outcome(current, suppressed=True, confirm_now=False) is SignupOutcome.REFUSED


@pytest.mark.parametrize("current", ENDED)
def test_p12_ended_entry_is_refused(current):
    assert signup_outcome(current, suppressed=False, confirm_now=True) is SignupOutcome.REFUSED


def test_p01_pending_expires_after_7_days_and_a_new_signup_may_replace_it():
    at = datetime(2025, 3, 1, 12, tzinfo=UTC)
    expires = pending_expiry(at)
    assert expires == at + timedelta(days=7)
    assert is_live(Status.PENDING, expires, at + timedelta(days=6, hours=23))
    assert not is_live(Status.PENDING, expires, at + timedelta(days=7))
    assert is_live(Status.CONFIRMED, None, at + timedelta(days=400))
    assert {Status.PENDING} == SIGNUP_REPLACES


def test_p01_a_lists_own_days_only_ever_shorten_the_seven():
    """A stored value outside 1-7 (written before validation, or by hand) never makes the wait
    longer than P01's 7 days, nor zero."""
    assert pending_lifetime(None) == timedelta(days=7)
    assert [pending_lifetime(days).days for days in (1, 2, 6, 7)] == [1, 2, 6, 7]
    assert pending_lifetime(8) == pending_lifetime(10**9) == timedelta(days=7)
    assert pending_lifetime(0) == pending_lifetime(-3) == timedelta(days=1)
    at = datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert pending_expiry(at, pending_lifetime(2)) == at + timedelta(days=2)


# --- contact data (P04), phone, email -----------------------------------------------------------

def test_p04_public_form_keeps_contact_fields_and_declared_attributes_only():
    contact = clean_contact(
        {"email": " Ann@Example.COM ", "name": "Ann", "company": "Acme", "phone": "+40 712 345 678",
         "website": "https://ann.example", "field_of_activity": "design", "city": "Cluj",
         "religion": "x", "password": "hunter2", "website_url": ""},
        ["city"], drop_unknown=True)
    assert contact.email == "ann@example.com"
    assert contact.phone == "+40712345678"
    assert contact.attributes == {"city": "Cluj"}
    assert "religion" not in repr(contact) and "hunter2" not in repr(contact)


def test_api_refuses_an_undeclared_attribute_by_name():
    with pytest.raises(InvalidInput) as error:
        clean_contact({"email": "a@example.com", "attributes": {"shoe_size": "44"}}, ["city"],
                      drop_unknown=False)
    assert error.value.field == "attributes.shoe_size"


def test_a_declared_attribute_cannot_shadow_a_contact_field():
    contact = clean_contact({"email": "a@example.com", "name": "Ann"}, ["name"], drop_unknown=True)
    assert contact.name == "Ann" and contact.attributes == {}


@pytest.mark.parametrize(("raw", "field"), [
    ({"name": "Ann"}, "email"), ({"email": "not-an-address"}, "email"),
    ({"email": "a@example.com", "phone": "12"}, "phone"),
    ({"email": "a@example.com", "name": 42}, "name"),
    ({"email": "a@example.com", "company": "x" * 201}, "company"),
    ({"email": "a@example.com", "city": "x" * 501}, "city"),
])
def test_bad_contact_input_names_the_field(raw, field):
    with pytest.raises(InvalidInput) as error:
        clean_contact(raw, ["city"], drop_unknown=True)
    assert error.value.field == field


def test_phone_is_stored_in_e164():
    assert normalise_phone("+49 30 901820") == "+4930901820"
    assert normalise_phone("0712 345 678", default_region="RO") == "+40712345678"


@pytest.mark.parametrize("raw", ["0712 345 678", "+40 12", "call me", "+1 555 0100 999 999"])
def test_invalid_phone_is_refused_with_field_phone(raw):
    with pytest.raises(InvalidInput) as error:
        normalise_phone(raw)
    assert error.value.field == "phone"


def test_p17_changes_clear_fields_and_normalise_the_phone():
    changes = clean_changes({"name": "", "phone": "+40712345678", "attributes": {"city": "Iasi"}}, ["city"])
    assert changes == {"name": None, "phone": "+40712345678", "attributes": {"city": "Iasi"}}


def test_p02_consent_version_is_the_one_shown_when_it_exists():
    assert pick_consent_version([1, 2, 3], "2") == 2
    assert pick_consent_version([1, 2, 3], "9") == 3
    assert pick_consent_version([1, 2, 3], None) == 3
    assert pick_consent_version([1, 2], True) == 2


# --- tokens -------------------------------------------------------------------------------------

def test_confirm_token_round_trip():
    token = tokens.confirm_token(signer(), "lst_1", "ann@example.com")
    assert tokens.read_confirm_token(signer(), token) == tokens.ConfirmClaim("lst_1", "ann@example.com")


@pytest.mark.parametrize("signed_up_at", [
    datetime(2025, 3, 1, 8, 0, 0, 123456, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2025, 3, 1, 8, tzinfo=UTC) - timedelta(microseconds=1)])
def test_p02_a_confirm_token_names_its_signup_to_the_microsecond(signed_up_at):
    token = tokens.confirm_token(signer(), "lst_1", "ann@example.com", signed_up_at)
    claim = tokens.read_confirm_token(signer(), token)
    assert claim == tokens.ConfirmClaim("lst_1", "ann@example.com", signed_up_at)


@pytest.mark.parametrize("bound", [-1, 1000 * 366 * 24 * 3600 * 1_000_000, 1.5, "1", True, [1], {"g": 1}])
def test_p02_a_confirm_token_whose_signup_is_not_a_time_is_invalid(bound):
    made = signer().sign(tokens.CONFIRM, {"l": "lst_1", "a": "ann@example.com", "g": bound})
    with pytest.raises(tokens.TokenInvalid):
        tokens.read_confirm_token(signer(), made)


def test_tampered_token_is_invalid_not_expired():
    token = tokens.confirm_token(signer(), "lst_1", "ann@example.com")
    forged = altered(token)
    with pytest.raises(tokens.TokenInvalid) as error:
        tokens.read_confirm_token(signer(), forged)
    assert error.value.code == "token_invalid"


def test_token_of_another_purpose_is_invalid():
    token = signer().sign("unsubscribe", {"l": "lst_1", "a": "ann@example.com"})
    with pytest.raises(tokens.TokenInvalid):
        tokens.read_confirm_token(signer(), token)


def test_p01_token_expires_after_7_days():
    start = datetime(2025, 3, 1, 12, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        token = tokens.confirm_token(signer(), "lst_1", "ann@example.com")
    with time_machine.travel(start + timedelta(days=6, hours=23), tick=False):
        tokens.read_confirm_token(signer(), token)
    with time_machine.travel(start + timedelta(days=7, seconds=1), tick=False), \
            pytest.raises(tokens.TokenExpired) as error:
        tokens.read_confirm_token(signer(), token)
    assert error.value.code == "token_expired"


def test_key_rotation_old_secret_still_verifies_when_second(put_secret):
    put_secret(SIGNING_KEYS_SECRET, '["old-secret"]')
    token = tokens.confirm_token(signer(), "lst_1", "ann@example.com")
    put_secret(SIGNING_KEYS_SECRET, '["new-secret", "old-secret"]')
    assert tokens.read_confirm_token(signer(), token).address == "ann@example.com"
    fresh = tokens.confirm_token(signer(), "lst_1", "ann@example.com")
    put_secret(SIGNING_KEYS_SECRET, '["new-secret"]')
    assert tokens.read_confirm_token(signer(), fresh).list_id == "lst_1"  # signed with the first secret
    with pytest.raises(tokens.TokenInvalid):
        tokens.read_confirm_token(signer(), token)  # the old secret was retired


def test_list_hint_of_an_expired_token_but_never_of_an_altered_one():
    start = datetime(2025, 3, 1, 12, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        token = tokens.confirm_token(signer(), "lst_1", "ann@example.com")
    with time_machine.travel(start + timedelta(days=30), tick=False):
        assert tokens.confirm_token_list_hint(signer(), token) == "lst_1"
    # An encrypted token cannot be read once altered: not even the list (P31).
    assert tokens.confirm_token_list_hint(signer(), altered(token)) is None
    assert tokens.confirm_token_list_hint(signer(), "garbage") is None


# --- suppression keys ---------------------------------------------------------------------------

def test_p18_suppression_key_is_a_keyed_hash_of_the_normalised_address(put_secret):
    first = address_hash("Ann@Example.com", hash_key())
    assert first == address_hash("ann@example.com", hash_key())
    assert len(first) == 64 and "ann" not in first
    put_secret(HASH_KEY_SECRET, "another-secret")
    assert address_hash("ann@example.com", hash_key()) != first


# --- confirmation mail --------------------------------------------------------------------------

def test_confirmation_mail_names_list_and_sender_and_carries_the_link():
    mail = confirmation_email("ann@example.com", "News <b>&", ACME, "TOKEN",
                              public_base_url="https://lists.acme.example/",
                              default_sender="no-reply@tidings.example")
    assert mail.sender == "news@acme.example"
    assert mail.reply_to == "contact@acme.example"
    assert "News <b>&" in mail.subject
    for body in (mail.text, mail.html):
        assert "https://lists.acme.example/c/TOKEN" in body
        assert "Acme Ltd" in body and "1 Main Street, Bucharest" in body
    assert "News &lt;b&gt;&amp;" in mail.html and "<b>&" not in mail.html
    assert "News <b>&" in mail.text


def test_confirmation_mail_falls_back_to_the_platform_sender():
    profile = AccountProfile(name="Acme", postal_address=None, contact_email=None, sender_identity=None)
    mail = confirmation_email("ann@example.com", "News", profile, "T",
                              public_base_url="https://x.example", default_sender="no-reply@tidings.example")
    assert mail.sender == "no-reply@tidings.example"
    assert mail.reply_to is None


def test_p02_confirmation_message_id_is_stable_per_day_purpose_and_signup_and_hides_the_address():
    day = datetime(2025, 3, 1, 8, tzinfo=UTC)
    signup = day - timedelta(minutes=1)
    KEY = hash_key()

    def mail_id(list_id: str = "lst_1", purpose: str = "signup", at: datetime = day,
                signed_up_at: datetime = signup) -> str:
        return confirmation_message_id(KEY, list_id, "ann@example.com", purpose, at, signed_up_at)

    same = mail_id()
    assert same == mail_id(at=day + timedelta(hours=15)), "a redelivered job mails once"
    assert same != mail_id(at=day + timedelta(days=1))
    assert same != mail_id(purpose="resend")
    assert same != mail_id(list_id="lst_2")
    # A new signup (it replaces the one waiting) gets its own mail, with its own link (P02, P30).
    assert same != mail_id(signed_up_at=signup + timedelta(microseconds=1))
    assert "ann" not in same and "example" not in same


@pytest.mark.parametrize(("referer", "kept"), [
    ("https://shop.example/join?email=ann%40example.com#x", "https://shop.example/join"),
    ("HTTP://u:p@Shop.Example:8080/a/b?phone=%2B40712345678", "http://shop.example:8080/a/b"),
    ("https://[2001:db8::1]/f?e=a@b.c", "https://[2001:db8::1]/f"),
    ("https://shop.example", "https://shop.example"),
    ("ftp://shop.example/f", None), ("/relative?email=a@b.c", None), ("https://[::1/f", None),
    ("https://shop.example:99999/", None), ("", None), (None, None),
])
def test_p04_p31_a_form_address_is_its_page_without_query_fragment_or_credentials(referer, kept):
    assert form_address(referer) == kept


# A website is shown in exports, the preference centre and templates (`{{ website }}` in a link):
# only an http(s) address may be one. Scheme-relative `//host` is refused too: a CSV or a mail has
# no page to take its scheme from, and it names any host.
HOSTILE_WEBSITES = ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " \t javascript:alert(1)",
                    "\x01javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
                    "vbscript:msgbox(1)", "//evil.example", "https:evil.example", "http://", "acme.example"]


@pytest.mark.parametrize("website", HOSTILE_WEBSITES)
def test_p04_a_website_that_is_not_an_http_address_is_refused_naming_it(website):
    from chalicelib.domain.subscriptions import clean_changes

    with pytest.raises(InvalidInput) as refused:
        clean_contact({"email": "ann@example.com", "website": website}, (), drop_unknown=False)
    assert refused.value.field == "website"
    with pytest.raises(InvalidInput) as refused:
        clean_changes({"website": website}, ())
    assert refused.value.field == "website"


@pytest.mark.parametrize("website", ["https://acme.example", "HTTP://Acme.example/shop?x=1", "https://b\u00fccher.example"])
def test_p04_an_http_website_is_kept_as_written(website):
    assert clean_contact({"email": "ann@example.com", "website": f" {website} "}, (),
                         drop_unknown=False).website == website
