"""Rule tests that bite where `make mutants` (run on 0cf0a21) found none did: consent, sending,
suppression and links (P01-P12, P31, P35). Each is fast and asserts, at the value where a small
bug would show, what its rule needs; tests/test_bites_suppressions.py holds the store's side."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.tokens import Signer
from tests.support.lists import consent_texts

SIGNER = Signer(("a-secret-for-the-bite-tests",))
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


# --- P01, P02, P04: what a signup keeps --------------------------------------------------------

def test_p04_every_allowed_contact_field_is_kept_as_given():
    from chalicelib.domain.subscriptions import clean_contact

    contact = clean_contact({"email": "ann@example.com", "name": " Ann ", "company": "Acme Ltd",
                             "phone": "+40 712 345 678", "website": "https://acme.example",
                             "field_of_activity": "Retail"}, (), drop_unknown=True)
    assert (contact.name, contact.company, contact.phone, contact.website, contact.field_of_activity) == (
        "Ann", "Acme Ltd", "+40712345678", "https://acme.example", "Retail")


def test_p04_an_undeclared_attribute_is_refused_from_the_api_and_dropped_from_a_form():
    from chalicelib.domain.subscriptions import clean_contact

    raw = {"email": "ann@example.com", "attributes": {"plan": "gold", "shoe_size": "42"}}
    with pytest.raises(InvalidInput) as refused:
        clean_contact(raw, ["plan"], drop_unknown=False)
    assert refused.value.field == "attributes.shoe_size"
    assert clean_contact(raw, ["plan"], drop_unknown=True).attributes == {"plan": "gold"}


@pytest.mark.parametrize(("raw", "field"), [
    ({"company": "x" * 201}, "company"), ({"website": 42}, "website"), ({"name": ["Ann"]}, "name"),
    ({"attributes": {"plan": 5}}, "plan"), ({"attributes": {"plan": "x" * 501}}, "plan")])
def test_p04_a_contact_field_or_attribute_out_of_bounds_is_refused_naming_it(raw, field):
    from chalicelib.domain.subscriptions import clean_contact

    with pytest.raises(InvalidInput) as refused:
        clean_contact({"email": "ann@example.com", **raw}, ["plan"], drop_unknown=False)
    assert refused.value.field == field


def test_p02_the_user_agent_is_kept_trimmed_and_a_missing_one_stays_missing():
    from chalicelib.domain.subscriptions import Source, evidence

    def kept(user_agent):
        return evidence(T0, Source.FORM, 1, ip=None, user_agent=user_agent, form_url=None).user_agent

    assert kept("Mozilla/5.0 (X11)") == "Mozilla/5.0 (X11)"
    assert kept("M" * 1001) == "M" * 1000
    assert kept(None) is None and kept("") is None


def test_p01_a_confirmed_entry_never_expires_and_a_pending_one_lives_until_its_expiry():
    from chalicelib.domain.subscriptions import Status, is_live

    assert is_live(Status.CONFIRMED, T0 - timedelta(days=30), T0)
    assert is_live(Status.PENDING, None, T0)
    assert is_live(Status.PENDING, T0 + timedelta(seconds=1), T0)
    assert not is_live(Status.PENDING, T0, T0)


def test_p01_a_signup_is_confirmed_at_once_only_when_the_caller_says_consent_is_proven():
    from chalicelib.domain.subscriptions import SignupOutcome, Status, signup_outcome

    assert signup_outcome(None, False, True) is SignupOutcome.CREATE_CONFIRMED
    assert signup_outcome(Status.PENDING, False, True) is SignupOutcome.CREATE_CONFIRMED
    assert signup_outcome(None, False, False) is SignupOutcome.CREATE_PENDING


# --- P01: the SMS code -------------------------------------------------------------------------

def test_p01_a_phone_code_is_drawn_from_all_million_six_digit_codes(monkeypatch):
    from chalicelib.domain import phone_consent

    bounds = []

    def highest(bound: int) -> int:
        bounds.append(bound)
        return bound - 1

    monkeypatch.setattr(phone_consent.secrets, "randbelow", highest)
    assert phone_consent.new_code() == "999999" and bounds == [10 ** 6]


def test_p01_the_code_sms_is_written_in_the_lists_language():
    from chalicelib.domain.phone_consent import code_text

    assert code_text("Acme", "Știri", "123456", "ro") == (
        "123456 este codul tau pentru a primi SMS de la Acme (Știri). Daca nu l-ai cerut, "
        "ignora acest mesaj.")
    assert code_text("Acme", "News", "123456", "en") == (
        "123456 is your code to receive SMS from Acme (News). If you did not ask for it, "
        "ignore this message.")


# --- P02, P03: an import row -------------------------------------------------------------------

def test_p02_an_import_rows_proof_columns_are_proof_never_contact_attributes():
    """A list may declare an attribute named like a proof column: the import still reads that
    column as consent proof only, so the IP and browser never become contact data."""
    from chalicelib.domain.imports import clean_row

    person = clean_row({"email": "ann@example.com", "consent_given_at": "2026-01-05T10:00:00Z",
                        "consent_ip": "192.0.2.7", "tracking_consent_given_at": "2026-01-05T10:00:00Z",
                        "plan": "gold"},
                       ["plan", "consent_ip", "tracking_consent_given_at"], consent_texts(1),
                       tracking_versions=consent_texts(1))
    assert person.contact.attributes == {"plan": "gold"}
    assert person.proof.ip == "192.0.2.7" and person.tracking is not None


def test_p03_an_import_row_asks_dns_about_the_address_when_the_deployment_does(monkeypatch):
    import email_validator

    from chalicelib.domain.imports import clean_row

    def no_mail_domain(address, check_deliverability=False, **_):
        if check_deliverability:
            raise email_validator.EmailUndeliverableError("example.com does not accept email")
        return real(address, check_deliverability=False)

    real = email_validator.validate_email
    monkeypatch.setattr(email_validator, "validate_email", no_mail_domain)
    assert clean_row({"email": "ann@example.com"}, [], consent_texts(1)).contact.email == "ann@example.com"
    with pytest.raises(InvalidInput) as refused:
        clean_row({"email": "ann@example.com"}, [], consent_texts(1), check_dns=True)
    assert refused.value.field == "email"


# --- P01, P17: who receives a campaign ---------------------------------------------------------

def test_p01_an_sms_goes_only_to_an_entry_with_a_number_its_person_confirmed():
    from chalicelib.domain.campaigns import Channel
    from chalicelib.domain.sending import eligible
    from chalicelib.domain.subscriptions import Contact

    ann, bob = Contact(email="ann@example.com", phone="+40712345678"), Contact(email="bob@example.com")
    assert eligible(Channel.SMS, {}, ann, False, True)
    assert not eligible(Channel.SMS, {}, ann, False), "a number is unconfirmed unless said otherwise"
    assert not eligible(Channel.SMS, {}, ann, False, False)
    assert not eligible(Channel.SMS, {}, bob, False, True), "no number, nothing to send to"
    assert eligible(Channel.EMAIL, {}, bob, False)


def test_p17_a_filter_is_matched_against_the_entrys_own_contact_data():
    from chalicelib.domain.campaigns import Channel
    from chalicelib.domain.sending import eligible
    from chalicelib.domain.subscriptions import Contact

    ann = Contact(email="ann@example.com", company="Acme", attributes={"plan": "gold"})
    assert eligible(Channel.EMAIL, {"company": "acme ", "plan": "Gold"}, ann, False)
    assert not eligible(Channel.EMAIL, {"plan": "silver"}, ann, False)
    assert not eligible(Channel.EMAIL, {"company": "Acme"}, ann, True), "restricted (P17)"


# --- P12: the one way back ---------------------------------------------------------------------

def test_p12_only_a_person_who_did_nothing_but_unsubscribe_may_sign_up_again():
    from chalicelib.domain.suppression import may_resubscribe

    assert may_resubscribe({"unsubscribed"})
    assert not may_resubscribe(set())
    for other in ("complained", "bounced", "erased", "platform_opt_out"):
        assert not may_resubscribe({other}) and not may_resubscribe({"unsubscribed", other})


# --- P06, P08, P09: what the platform adds to a marketing mail ---------------------------------

def _compose(*, html: str | None, text: str | None = None, language: str = "en",
             advertisement: bool = False, postal_address: str = "1 Main Street, Bucharest"):
    from chalicelib.domain.accounts import AccountProfile
    from chalicelib.domain.campaigns import CampaignContent, Channel, with_text_part
    from chalicelib.domain.marketing_mail import ListSettings, compose_marketing_email
    from chalicelib.domain.subscriptions import Contact

    content = with_text_part(CampaignContent(
        channel=Channel.EMAIL, list_ids=frozenset({"lst_1"}), subject="News", html=html,
        from_address="news@acme.example", advertisement=advertisement), text)
    return compose_marketing_email(
        signer=SIGNER, account_id="acc_1", campaign_id="cmp_1", content=content,
        recipient=Contact(email="ann@example.com"),
        mailing_list=ListSettings(list_id="lst_1", name="Știri", track_opens=False, track_clicks=False,
                                  language=language),
        sender=AccountProfile(name="Acme", postal_address=postal_address,
                              contact_email="contact@acme.example", sender_identity="news@acme.example"),
        public_base_url="https://mail.tidings.example")


def test_p06_p09_the_footer_and_label_the_platform_adds_are_in_the_lists_language():
    mail = _compose(html="<html><body><p>Salut</p></body></html>", text="Salut", language="ro",
                    advertisement=True)
    assert "Primești acest email pentru că te-ai abonat la Știri." in mail.html
    assert ">Dezabonare</a>" in mail.html and ">Publicitate</p>" in mail.html
    assert mail.text.startswith("Publicitate\n\nSalut\n\n-- \n")
    assert "\nDezabonare: https://mail.tidings.example/u/" in mail.text and "\nPreferințe: " in mail.text
    assert "Unsubscribe" not in mail.html + mail.text


def test_p08_the_identity_footer_follows_the_authors_text_as_written():
    mail = _compose(html=None, text="    Indented, as the author wrote it.\n\n\n")
    assert mail.text.startswith("    Indented, as the author wrote it.\n\n-- \n"
                                "Acme, 1 Main Street, Bucharest, contact@acme.example\n")


def test_p08_an_identity_the_author_wrote_with_an_apostrophe_is_not_added_again():
    address = "12 O'Connell Street, Dublin"
    html = (f"<html><body><p>Hi</p><p>Acme, {address}, contact@acme.example</p>"
            '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>')
    mail = _compose(html=html, postal_address=address)
    assert mail.html.count("O'Connell") == 1 and "O&#x27;Connell" not in mail.html
    assert "&middot;" not in mail.html, "no second identity footer"


# --- P31, P01: the confirmation link -----------------------------------------------------------

def test_p31_p01_a_confirm_link_holds_its_list_and_address_only_encrypted_and_reads_them_back():
    import base64

    from chalicelib.domain.tokens import (
        ConfirmClaim,
        confirm_token,
        confirm_token_list_hint,
        read_confirm_token,
    )

    token = confirm_token(SIGNER, "lst_1", "ann@example.com")
    assert read_confirm_token(SIGNER, token) == ConfirmClaim(list_id="lst_1", address="ann@example.com")
    assert confirm_token_list_hint(SIGNER, token) == "lst_1"
    opened = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    # Whole words: three random characters of ciphertext or base64 could spell "ann" by chance.
    assert b"ann@" not in opened and b"example" not in opened and "ann@example.com" not in token


# --- P01: who receives an SMS campaign, page by page (store: moto) -----------------------------

def test_p01_an_sms_page_texts_confirmed_numbers_and_a_number_unconfirmed_on_an_earlier_list_is_no_reach(aws):
    from chalicelib.domain.campaigns import CampaignContent, Channel
    from chalicelib.services.sending.fanout import _recipients
    from chalicelib.store.models import Subscriber
    from tests.support.lists import subscribe

    phone = "+40712345678"
    for list_id, name, confirmed in [("lst_a", "ann", True), ("lst_a", "bob", False), ("lst_a", "dan", False),
                                     ("lst_b", "ann", True), ("lst_b", "dan", True)]:
        subscribe("acc_1", list_id, f"{name}@example.com", phone=phone, phone_confirmed=confirmed)
    subscribe("acc_1", "lst_a", "cleo@example.com")  # no number
    content = CampaignContent(channel=Channel.SMS, list_ids=frozenset({"lst_a", "lst_b"}), sms_body="Sale")

    def texted(list_id: str) -> list[str]:
        entries = [entry for entry in Subscriber.query(list_id)]
        return sorted(contact.email for contact in _recipients(content, list_id, entries))

    assert texted("lst_a") == ["ann@example.com"]
    assert texted("lst_b") == ["dan@example.com"], "Ann was texted through lst_a, Dan was not"


# --- P04, P08: what a campaign may be saved with (store: moto) ---------------------------------

@pytest.mark.parametrize(("fields", "field"), [
    ({"channel": "sms", "sms_body": "Sale", "filter": {"shoe_size": "42"}}, "filter.shoe_size"),
    ({"channel": "sms", "sms_body": "Sale for {{ attributes.shoe_size }}"}, "sms_body"),
    ({"subject": "News", "html": "<p>{{ attributes.shoe_size }}</p>"}, "html")])
def test_p04_a_campaign_filters_and_personalises_only_by_attributes_its_lists_declare(account, fields, field):
    from chalicelib.services.campaigns import create_campaign
    from chalicelib.services.lists import create_list

    list_id = create_list(account["account_id"], "key", {"name": "News", "consent_text": "Yes, mail me.",
                                                          "attributes": ["plan"]}).list_id
    create_campaign(account["account_id"], "key", {"name": "Ok", "list_ids": [list_id], "channel": "sms",
                                                   "sms_body": "{{ attributes.plan }}",
                                                   "filter": {"plan": "gold"}})
    with pytest.raises(InvalidInput) as refused:
        create_campaign(account["account_id"], "key", {"name": "Spring", "list_ids": [list_id], **fields})
    assert refused.value.field == field


@pytest.mark.parametrize("fields", [
    {"channel": "sms", "sms_body": "{{ broken"},
    {"subject": "{{ broken", "html": "<p>Hello</p>"},
    {"subject": "News", "html": "<p>Hello</p>", "text": "{{ broken"}])
def test_p08_a_template_error_names_the_field_it_is_in(account, fields):
    from chalicelib.services.campaigns import create_campaign
    from chalicelib.services.lists import create_list

    body = {"name": "News", "consent_text": "Yes, mail me."}
    list_id = create_list(account["account_id"], "key", body).list_id
    with pytest.raises(InvalidInput) as refused:
        create_campaign(account["account_id"], "key", {"name": "Spring", "list_ids": [list_id], **fields})
    broken = [name for name, value in fields.items() if value == "{{ broken"]
    assert refused.value.field == broken[0]
