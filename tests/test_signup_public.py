"""Hosted form, JS signup with per-list CORS, and the public signup rules (P01, P02, P04, P05, P12)."""
from __future__ import annotations

import io
import json
import logging
import re
from urllib.parse import urlencode

import pytest

from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason
from chalicelib.store.suppressions import suppress
from tests.support.api import FORM, bearer
from tests.support.lists import CONSENT, stored
from tests.support.mail import confirm_path, sent_mails
from tests.support.queues import apply_queued_signups, deliver, take
from tests.support.signups import SHOP, form_signup, js_signup

ANN = "ann@example.com"



# --- the hosted form ----------------------------------------------------------------------------

def test_hosted_form_is_a_real_labelled_form_with_consent_honeypot_and_sender(client, news_list):
    response = client.http.get(f"/f/{news_list['list_id']}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.body.decode()
    assert '<form method="post"' in page
    for name in ("email", "name", "city"):
        assert f'<label for="tid-{name}">' in page and f'id="tid-{name}"' in page
    assert re.search(r'type="checkbox" name="consent" value="yes" required', page)
    assert f'<label for="tid-consent">{CONSENT}</label>' in page
    assert re.search(r'<div class="hp" aria-hidden="true">.*name="website_url"', page, re.S)
    assert ".hp { position: absolute; left: -10000px" in page
    assert "Acme Ltd" in page and "1 Main Street, 010101 Bucharest, Romania" in page
    assert "<script" not in page  # works without JavaScript


def test_hosted_form_escapes_the_list_settings(client, account, verified_sender):
    body = json.dumps({"name": "<script>alert(1)</script>", "consent_text": "I agree <img src=x>",
                       "privacy_policy_url": "https://acme.example/privacy?a=<b>&c=\"d\""})
    created = client.http.post("/v1/lists", headers=bearer(account["api_key"]), body=body)
    page = client.http.get(f"/f/{json.loads(created.body)['list_id']}").body.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<img src=x>" not in page
    assert 'href="https://acme.example/privacy?a=<b>' not in page


@pytest.mark.parametrize("list_id", ["lst_nope", "x" * 3000])
def test_unknown_list_form_is_a_404_page(client, aws, list_id):
    for response in (client.http.get(f"/f/{list_id}"),
                     client.http.post(f"/f/{list_id}", headers=FORM, body=f"email={ANN}&consent=yes")):
        assert response.status_code == 404
        assert response.headers["Content-Type"].startswith("text/html")
        assert b"does not exist" in response.body


# --- signup rules -------------------------------------------------------------------------------

def test_p01_form_signup_is_pending_with_a_queued_confirmation_mail(client, news_list):
    response = form_signup(client, news_list["list_id"], email="Ann@Example.com")
    assert response.status_code == 200
    assert b"check your inbox" in response.body
    entry = stored(news_list["list_id"], ANN)
    assert entry.status == "pending"
    assert entry.consent.confirmed_at is None
    assert entry.expires_at is not None
    jobs = [json.loads(r["body"]) for r in take("outbox")]
    assert len(jobs) == 1
    assert jobs[0]["kind"] == "confirmation"
    assert jobs[0]["email"]["recipient"] == ANN
    assert jobs[0]["tags"] == {"list": news_list["list_id"]}  # references only, no contact data


def test_p02_form_signup_stores_consent_proof(client, news_list):
    form_signup(client, news_list["list_id"], email=ANN, consent_version="1",
                headers={"User-Agent": "Firefox/128", "Referer": "https://shop.acme.example/join"})
    consent = stored(news_list["list_id"], ANN).consent
    assert consent.source == "form"
    assert consent.ip == "127.0.0.1"
    assert consent.user_agent == "Firefox/128"
    assert consent.form_url == "https://shop.acme.example/join"
    assert consent.consent_text_version == 1
    assert consent.given_at is not None


@pytest.mark.parametrize("referer", [
    "https://shop.acme.example/join?email=ann%40example.com&utm_source=mail#ann@example.com",
    "https://ann:secret@Shop.Acme.Example/join?phone=%2B40712345678",
])
def test_p04_p31_the_form_address_kept_is_the_referers_page_without_query_or_fragment(
        client, news_list, referer):
    """The proof keeps where the form was (P02), not what the page's address happened to carry:
    a query or fragment may hold an address or a number that has nothing to do with the consent."""
    list_id = news_list["list_id"]
    form_signup(client, list_id, email=ANN, headers={"Referer": referer})
    client.http.post(f"/public/lists/{list_id}/subscribe", body=json.dumps({"email": "bob@example.com",
                                                                            "consent": True}),
                     headers={"Content-Type": "application/json", "Origin": SHOP, "Referer": referer})
    apply_queued_signups()
    for address in (ANN, "bob@example.com"):
        assert stored(list_id, address).consent.form_url == "https://shop.acme.example/join", address


def test_p02_consent_version_is_the_one_the_form_showed(client, account, news_list):
    list_id = news_list["list_id"]
    page = client.http.get(f"/f/{list_id}").body.decode()
    shown = re.search(r'name="consent_version" value="(\d+)"', page).group(1)
    client.http.patch(f"/v1/lists/{list_id}", headers=bearer(account["api_key"]),
                      body=json.dumps({"consent_text": "A newer consent text."}))
    form_signup(client, list_id, email=ANN, consent_version=shown)
    form_signup(client, list_id, email="bob@example.com")
    assert stored(list_id, ANN).consent.consent_text_version == 1
    assert stored(list_id, "bob@example.com").consent.consent_text_version == 2


def test_p04_unknown_form_fields_are_dropped(client, news_list):
    form_signup(client, news_list["list_id"], email=ANN, name="Ann", city="Cluj",
                religion="secret-religion", password="hunter2")
    item = json.dumps(stored(news_list["list_id"], ANN).to_simple_dict(), default=str)
    assert "Cluj" in item and "Ann" in item
    assert "secret-religion" not in item and "hunter2" not in item and "religion" not in item



def test_p04_a_hosted_form_field_named_attributes_is_dropped_not_refused(client, news_list):
    """A site's form may carry a field named `attributes`: a flat form's fields are read from
    the top level, so it is one more unknown field, dropped; the declared `city` is kept."""
    list_id = news_list["list_id"]
    answer = client.http.post(f"/f/{list_id}", headers=FORM, body=urlencode(
        {"email": ANN, "consent": "yes", "attributes": "vip", "city": "Iasi"}))
    apply_queued_signups()
    assert answer.status_code == 200, answer.body[:300]
    entry = stored(list_id, ANN)
    assert entry.status == "pending" and entry.attributes.as_dict() == {"city": "Iasi"}
    assert "vip" not in json.dumps(entry.to_simple_dict(), default=str)


@pytest.mark.parametrize("attributes", ["vip", "Ia\u2028si\x00", ["city", "Cluj"], 5, None, True])
def test_p04_a_js_attributes_that_is_not_an_object_is_dropped_and_top_level_attributes_kept(
        client, news_list, attributes):
    list_id = news_list["list_id"]
    answer = js_signup(client, list_id, {"email": ANN, "consent": True, "attributes": attributes,
                                         "city": "Iasi"})
    assert answer.status_code == 202, answer.body
    assert stored(list_id, ANN).attributes.as_dict() == {"city": "Iasi"}


def test_p04_a_js_attributes_object_still_holds_the_attributes_and_drops_the_undeclared(client, news_list):
    list_id = news_list["list_id"]
    answer = js_signup(client, list_id, {"email": ANN, "consent": True, "city": "Top",
                                         "attributes": {"city": "Iasi", "religion": "secret"}})
    assert answer.status_code == 202, answer.body
    assert stored(list_id, ANN).attributes.as_dict() == {"city": "Iasi"}


def test_p04_the_api_still_refuses_an_attributes_that_is_not_an_object(client, account, news_list):
    """The API is the account's own, strict: a wrong shape is its error to fix (400 naming it)."""
    from tests.support.privacy import PROOF

    api = bearer(account["api_key"])
    answer = client.http.post(f"/v1/lists/{news_list['list_id']}/subscribers", headers=api,
                              body=json.dumps({"email": ANN, "consent": PROOF, "attributes": "vip"}))
    assert answer.status_code == 400 and json.loads(answer.body)["error"]["field"] == "attributes"
    assert stored(news_list["list_id"], ANN) is None


def test_p08_a_form_name_with_a_line_break_is_a_400_page_and_nothing_is_stored(client, news_list):
    response = form_signup(client, news_list["list_id"], email=ANN, name="Ann\u2028Bcc: x@example.com")
    assert response.status_code == 400, response.body
    assert "U+2028" in response.body.decode()
    assert stored(news_list["list_id"], ANN) is None and take("outbox") == []


@pytest.mark.parametrize("control", ["\u202a", "\u202e", "\u2066", "\u2069"])
def test_p08_a_form_name_with_a_directional_override_is_a_400_page_and_nothing_is_stored(
        client, news_list, control):
    """U+202E in a name mirrors the subject or greeting after it ("Hello Ann, ..."): refused like
    a line break, the page naming the character, nothing stored or mailed."""
    response = form_signup(client, news_list["list_id"], email=ANN, name=f"Ann{control}eciovni")
    assert response.status_code == 400, response.body
    assert f"U+{ord(control):04X}" in response.body.decode()
    assert stored(news_list["list_id"], ANN) is None and take("outbox") == []


def test_p08_an_api_attribute_with_a_directional_isolate_is_a_400_naming_it(client, account, news_list):
    from tests.support.privacy import PROOF

    api, list_path = bearer(account["api_key"]), f"/v1/lists/{news_list['list_id']}"
    client.http.patch(list_path, headers=api, body=json.dumps({"attributes": ["city"]}))
    answer = client.http.post(f"{list_path}/subscribers", headers=api, body=json.dumps(
        {"email": ANN, "consent": PROOF, "attributes": {"city": "Ia\u2067si"}}))
    assert answer.status_code == 400, answer.body
    error = json.loads(answer.body)["error"]
    assert error["field"] == "city" and "U+2067" in error["message"], error
    assert stored(news_list["list_id"], ANN) is None


@pytest.mark.parametrize("name", ["\u0622\u0646\u0627 \u200f(Ana)", "\u05d0\u05e0\u05d4", "Ann\u202fLee",
                                  "Ann\u206aLee"])
def test_p08_right_to_left_names_and_the_characters_beside_the_overrides_are_accepted(
        client, news_list, name):
    """Arabic and Hebrew names, a right-to-left mark (U+200F), and U+202F and U+206A, just past
    either range of overrides and isolates, are names like any other."""
    response = form_signup(client, news_list["list_id"], email=ANN, name=name)
    assert response.status_code in (200, 303), response.body
    assert stored(news_list["list_id"], ANN).name == name

def test_honeypot_filled_gets_the_same_thanks_and_nothing_is_stored(client, news_list):
    list_id = news_list["list_id"]
    human = form_signup(client, list_id, email="human@example.com")
    bot = form_signup(client, list_id, email=ANN, website_url="http://spam.example")
    assert (bot.status_code, bot.body) == (human.status_code, human.body)
    assert stored(list_id, ANN) is None
    assert len(take("outbox")) == 1  # only the human's mail


def test_redirect_after_signup(client, account, news_list):
    client.http.patch(f"/v1/lists/{news_list['list_id']}", headers=bearer(account["api_key"]),
                      body=json.dumps({"redirect_after_signup": "https://acme.example/thanks"}))
    response = form_signup(client, news_list["list_id"], email=ANN)
    assert response.status_code == 303
    assert response.headers["Location"] == "https://acme.example/thanks"


def _prepare_states(client, list_id):
    """One address of each kind: pending, confirmed, suppressed (account and platform-wide)."""
    form_signup(client, list_id, email="pending@example.com")
    form_signup(client, list_id, email="confirmed@example.com")
    deliver(take("outbox"))
    confirmed_mail = next(m for m in sent_mails() if m["To"] == "confirmed@example.com")
    assert client.http.post(confirm_path(confirmed_mail), headers=FORM).status_code == 200
    account_id = stored(list_id, "pending@example.com").account_id
    # Complained: a reason a person's own signup does not lift (one who only unsubscribed may
    # come back by double opt-in: tests/test_resubscribe.py).
    suppress(account_id, "suppressed@example.com", SuppressionReason.COMPLAINED)
    suppress(PLATFORM_SCOPE, "everywhere@example.com", SuppressionReason.PLATFORM_OPT_OUT)


STATES = ("new@example.com", "pending@example.com", "confirmed@example.com",
          "suppressed@example.com", "everywhere@example.com")


def test_p05_form_answers_identically_for_new_pending_confirmed_and_suppressed(client, news_list):
    list_id = news_list["list_id"]
    _prepare_states(client, list_id)
    answers = {email: form_signup(client, list_id, email=email) for email in STATES}
    shapes = {(r.status_code, r.headers["Content-Type"], r.body) for r in answers.values()}
    assert len(shapes) == 1, "the public answer must not depend on the address's state"


def test_p05_js_answers_identically_for_new_pending_confirmed_and_suppressed(client, news_list):
    list_id = news_list["list_id"]
    _prepare_states(client, list_id)
    answers = [js_signup(client, list_id, {"email": email, "consent": True}) for email in STATES]
    shapes = {(r.status_code, r.headers.get("Access-Control-Allow-Origin"), r.body) for r in answers}
    assert len(shapes) == 1
    assert answers[0].status_code == 202


def test_p05_p12_suppressed_and_confirmed_addresses_get_no_mail_and_no_change(client, news_list):
    list_id = news_list["list_id"]
    _prepare_states(client, list_id)
    confirmed_before = stored(list_id, "confirmed@example.com").to_simple_dict()
    for email in STATES[2:]:
        form_signup(client, list_id, email=email)
        js_signup(client, list_id, {"email": email, "consent": True})
    assert take("outbox") == []
    assert stored(list_id, "suppressed@example.com") is None
    assert stored(list_id, "everywhere@example.com") is None
    assert stored(list_id, "confirmed@example.com").to_simple_dict() == confirmed_before


def test_p12_suppressed_address_is_never_re_added_in_any_case(client, news_list):
    list_id = news_list["list_id"]
    suppress(stored_account(client, news_list), ANN, SuppressionReason.COMPLAINED)
    form_signup(client, list_id, email="ANN@example.com")
    js_signup(client, list_id, {"email": "Ann@EXAMPLE.com", "consent": True})
    assert stored(list_id, ANN) is None
    assert take("outbox") == []


def stored_account(client, news_list) -> str:
    form_signup(client, news_list["list_id"], email="probe@example.com")
    take("outbox")
    return stored(news_list["list_id"], "probe@example.com").account_id


def test_double_submit_sends_one_mail(client, news_list):
    for _ in range(2):
        form_signup(client, news_list["list_id"], email=ANN)
    records = take("outbox")
    assert len(records) == 1, "the mail interval drops the second confirmation mail"
    deliver(records + records)  # and a redelivered job is still sent once
    assert [m["To"] for m in sent_mails()] == [ANN]


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"email": "not-an-address"}, "email", "not a valid email address"),
    ({"email": ANN, "phone": "12345"}, "phone", "not a valid phone number"),
    ({"email": ""}, "email", "is required"),
])
def test_bad_form_input_is_a_400_page_naming_the_field(client, news_list, fields, field, words):
    response = form_signup(client, news_list["list_id"], **fields)
    assert response.status_code == 400
    page = response.body.decode()
    assert words in page
    assert re.search(rf'id="tid-{field}"[^>]*aria-invalid="true"', page, re.S) or field == "phone"
    assert take("outbox") == []


def test_missing_consent_checkbox_is_a_400_page(client, news_list):
    response = client.http.post(f"/f/{news_list['list_id']}", headers=FORM,
                                body=f"email={ANN}&name=Ann")
    assert response.status_code == 400
    page = response.body.decode()
    assert "consent" in page and re.search(r'id="tid-consent"[^>]*aria-invalid="true"', page, re.S)
    assert 'value="Ann"' in page  # what the person typed is kept
    assert stored(news_list["list_id"], ANN) is None


@pytest.mark.parametrize("said", ["no", "false", "0", "off", "", " "])
def test_p01_a_consent_field_that_says_no_is_no_consent(client, news_list, said):
    response = client.http.post(f"/f/{news_list['list_id']}", headers=FORM,
                                body=urlencode({"email": ANN, "consent": said}))
    apply_queued_signups()
    assert response.status_code == 400 and stored(news_list["list_id"], ANN) is None
    assert take("outbox") == []


@pytest.mark.parametrize("said", ["yes", "on", "true", "1", "YES"])
def test_p01_a_ticked_checkbox_is_consent_whatever_value_it_sends(client, news_list, said):
    response = client.http.post(f"/f/{news_list['list_id']}", headers=FORM,
                                body=urlencode({"email": ANN, "consent": said}))
    apply_queued_signups()
    assert response.status_code == 200 and stored(news_list["list_id"], ANN).status == "pending"


@pytest.mark.parametrize("body", [
    b"email=ann%40example.com&name=Jos%E9&consent=yes",  # windows-1252, %-escaped
    b"email=ann%40example.com&name=Jos\xe9&consent=yes",  # windows-1252, raw
    b"email=ann%40example.com&na%E9me=x&consent=yes",    # in a field's name
])
def test_p04_a_form_that_is_not_utf8_is_a_400_and_stores_nothing(client, news_list, body):
    response = client.http.post(f"/f/{news_list['list_id']}", headers=FORM, body=body)
    apply_queued_signups()
    assert response.status_code == 400 and "not UTF-8" in response.body.decode()
    assert stored(news_list["list_id"], ANN) is None
    # The same name in UTF-8 is stored as typed.
    ok = client.http.post(f"/f/{news_list['list_id']}", headers=FORM,
                          body="email=ann%40example.com&name=Jos%C3%A9&consent=yes")
    apply_queued_signups()
    assert ok.status_code == 200 and stored(news_list["list_id"], ANN).name == "Jos\u00e9"


@pytest.mark.parametrize("version", ["\u00b2", "\u0663", "9" * 5000, "-1", "1.5"])
def test_p02_a_consent_version_that_is_no_known_version_takes_the_current_text(client, news_list, version):
    list_id = news_list["list_id"]
    form = client.http.post(f"/f/{list_id}", headers=FORM, body=urlencode(
        {"email": ANN, "consent": "yes", "consent_version": version}))
    js = js_signup(client, list_id, {"email": "bob@example.com", "consent": True, "consent_version": version})
    apply_queued_signups()
    assert (form.status_code, js.status_code) == (200, 202)
    assert stored(list_id, ANN).consent.consent_text_version == 1


def test_a_js_signup_with_an_integer_of_5000_digits_is_a_400(client, news_list):
    body = '{"email": "ann@example.com", "consent": true, "consent_version": ' + "9" * 5000 + "}"
    response = client.http.post(f"/public/lists/{news_list['list_id']}/subscribe",
                                headers={"Origin": SHOP, "Content-Type": "application/json"}, body=body)
    assert response.status_code == 400 and json.loads(response.body)["error"]["field"] == "body"


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "nope", "consent": True}, "email"),
    ({"email": ANN, "phone": "+40 12", "consent": True}, "phone"),
    ({"email": ANN}, "consent"),
    ({"email": ANN, "consent": "yes"}, "consent"),
    ({"email": ANN, "name": ["Ann"], "consent": True}, "name"),
])
def test_bad_js_input_is_a_400_json_naming_the_field_with_cors(client, news_list, body, field):
    response = js_signup(client, news_list["list_id"], body)
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["field"] == field
    assert response.headers["Access-Control-Allow-Origin"] == SHOP


# --- CORS ---------------------------------------------------------------------------------------

def test_cors_allowed_origin_is_echoed(client, news_list):
    response = js_signup(client, news_list["list_id"], {"email": ANN, "consent": True, "city": "Iasi"})
    assert response.status_code == 202
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert response.headers["Vary"] == "Origin"
    consent = stored(news_list["list_id"], ANN).consent
    assert consent.source == "js" and consent.form_url == SHOP


@pytest.mark.parametrize("origin", [
    "https://evil.example", "null", "https://shop.acme.example.evil.io", None,
])
def test_cors_other_origins_are_refused_with_403(client, news_list, origin):
    response = js_signup(client, news_list["list_id"], {"email": ANN, "consent": True}, origin=origin)
    assert response.status_code == 403
    assert json.loads(response.body)["error"]["field"] == "Origin"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert stored(news_list["list_id"], ANN) is None


def test_cors_preflight_for_an_allowed_origin(client, news_list):
    response = client.http.options(
        f"/public/lists/{news_list['list_id']}/subscribe",
        headers={"Origin": SHOP, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"].lower() == "content-type"


def test_cors_preflight_for_another_origin_is_refused(client, news_list):
    response = client.http.options(f"/public/lists/{news_list['list_id']}/subscribe",
                                    headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


def test_js_signup_to_an_unknown_list_is_404(client, aws):
    response = js_signup(client, "lst_nope", {"email": ANN, "consent": True})
    assert response.status_code == 404


# --- the embeddable snippet ---------------------------------------------------------------------

def test_form_snippet_posts_to_the_hosted_form(client, account, news_list):
    list_id = news_list["list_id"]
    response = client.http.get(f"/v1/lists/{list_id}/form-snippet", headers=bearer(account["api_key"]))
    assert response.status_code == 200
    snippet = json.loads(response.body)
    assert f'action="http://127.0.0.1:8000/f/{list_id}"' in snippet["html"]
    assert CONSENT in snippet["html"] and 'name="website_url"' in snippet["html"]
    # On a windows-1252 page a browser would post the page's charset, which the form refuses.
    assert 'accept-charset="UTF-8"' in snippet["html"]
    assert snippet["js_endpoint"].endswith(f"/public/lists/{list_id}/subscribe")


def test_p28_form_snippet_of_another_tenants_list_is_404(client, news_list):
    from chalicelib.cli import create_account_with_key

    other = create_account_with_key("Other Org", {})
    response = client.http.get(f"/v1/lists/{news_list['list_id']}/form-snippet",
                               headers=bearer(other["api_key"]))
    assert response.status_code == 404


# --- no contact data in logs --------------------------------------------------------------------

@pytest.fixture
def log_lines():
    """Every line the Powertools logger writes, formatted as in CloudWatch (extras included)."""
    from chalicelib.observability import logger

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.name).addHandler(handler)
    yield buffer
    logging.getLogger(logger.name).removeHandler(handler)


def test_no_contact_data_in_log_lines(client, news_list, log_lines):
    list_id = news_list["list_id"]
    form_signup(client, list_id, email=ANN, phone="+40 712 345 678", name="Ann Example")
    js_signup(client, list_id, {"email": "bob@example.com", "consent": True})
    form_signup(client, list_id, email="bot@example.com", website_url="x")
    deliver(take("outbox"))
    mail = next(m for m in sent_mails() if m["To"] == ANN)
    client.http.post(confirm_path(mail), headers=FORM)
    logged = log_lines.getvalue()
    # The logger was captured, extra fields included.
    assert "signup handled" in logged and "email sent" in logged and list_id in logged
    for secret in ("ann@", "bob@", "bot@", "example.com", "+40712345678", "Ann Example", "127.0.0.1"):
        assert secret not in logged, secret


# --- P05 parity across every state an address can be in, on every public signup route ------------

_EVERY_STATE = ("new", "pending", "confirmed", "unsubscribed", "complained", "erased", "optedout")
_VOLATILE = {"date", "x-amzn-requestid", "x-amz-apigw-id", "x-amzn-trace-id"}


def _in_state(state: str) -> str:
    return f"{state}@example.com"


def _prepare_every_state(client, account, list_id: str) -> None:
    from chalicelib.domain.mail_links import LinkClaim
    from chalicelib.services.privacy import erase_person
    from chalicelib.services.unsubscribe import Scope, unsubscribe
    from tests.support.lists import subscribe

    form_signup(client, list_id, email=_in_state("pending"))
    for state in ("confirmed", "unsubscribed", "complained", "erased"):
        subscribe(account["account_id"], list_id, _in_state(state))
    unsubscribe(LinkClaim(account["account_id"], list_id, _in_state("unsubscribed"), None), Scope.LIST)
    suppress(account["account_id"], _in_state("complained"), SuppressionReason.COMPLAINED)
    erase_person(account["account_id"], _in_state("erased"))
    suppress(PLATFORM_SCOPE, _in_state("optedout"), SuppressionReason.PLATFORM_OPT_OUT)
    take("outbox")


def _shape(response) -> tuple:
    headers = tuple(sorted((k.lower(), v) for k, v in response.headers.items() if k.lower() not in _VOLATILE))
    return response.status_code, headers, response.body


def test_parity_p05_form_js_and_resend_answer_alike_for_every_state(client, account, news_list):
    """New, pending, confirmed, unsubscribed, complained, erased and platform-opted-out addresses:
    the same status, headers and body from the hosted form, the JS endpoint and the resend form.
    Only the new address and the one that merely unsubscribed (its own way back, P12) are mailed;
    nothing pending is written for the complained, erased or opted-out ones."""
    list_id = news_list["list_id"]
    _prepare_every_state(client, account, list_id)
    for route in ("form", "js", "resend"):
        seen = {}
        for state in _EVERY_STATE:
            if route == "form":
                response = client.http.post(f"/f/{list_id}", headers=FORM,
                                            body=urlencode({"email": _in_state(state), "consent": "yes"}))
            elif route == "js":
                response = client.http.post(f"/public/lists/{list_id}/subscribe",
                                            headers={"Content-Type": "application/json", "Origin": SHOP},
                                            body=json.dumps({"email": _in_state(state), "consent": True}))
            else:
                response = client.http.post("/c/resend", headers=FORM,
                                            body=urlencode({"list_id": list_id, "email": _in_state(state)}))
            seen[state] = _shape(response)
        assert len(set(seen.values())) == 1, (route, {s: v[:2] for s, v in seen.items()})
    apply_queued_signups()
    deliver(take("outbox"))
    assert sorted({str(m["To"]) for m in sent_mails()}) == [_in_state("new"), _in_state("unsubscribed")]
    for state in ("complained", "erased", "optedout"):
        entry = stored(list_id, _in_state(state))
        assert entry is None or entry.status != "pending", state


def test_p04_js_extra_fields_nested_huge_and_unicode_named_are_dropped(client, news_list):
    list_id = news_list["list_id"]
    body = {"email": ANN, "consent": True, "city": "Cluj",
            "ţară": "RO", "x" * 300: "y", "nested": {"a": {"b": {"c": [1, 2, {"d": "e"}]}}},
            "big": "z" * 50_000, "attributes_extra": ["a"] * 100}
    answer = js_signup(client, list_id, body)
    assert answer.status_code == 202, answer.body
    entry = stored(list_id, ANN)
    assert entry.attributes.as_dict() == {"city": "Cluj"}
    held = json.dumps(entry.to_simple_dict(), default=str, ensure_ascii=False)
    assert "ţară" not in held and "nested" not in held and "zzzz" not in held


def test_p04_hostile_input_on_signup_routes_is_a_4xx_naming_the_field_and_stores_nothing(client, news_list):
    list_id = news_list["list_id"]
    js = {"Content-Type": "application/json", "Origin": SHOP}
    cases = [
        (f"/f/{list_id}", FORM, urlencode({"email": ANN, "consent": "yes", "name": "Ann\u2028Evil"}), "name"),
        (f"/f/{list_id}", FORM, urlencode({"email": ANN, "consent": "yes", "name": "Ann\x1b[31m"}), "name"),
        (f"/f/{list_id}", FORM, urlencode({"email": "ann\u0085@example.com", "consent": "yes"}), "email"),
        (f"/f/{list_id}", FORM, "a=" + "x" * 2_000_000, None),
        (f"/f/{list_id}", {"Content-Type": "application/json"}, json.dumps({"email": ANN}), None),
        (f"/public/lists/{list_id}/subscribe", js, "[" * 5000 + "]" * 5000, "body"),
        (f"/public/lists/{list_id}/subscribe", js, json.dumps({"email": ANN, "consent": True,
                                                               "city": {"deep": [[[["x"]]]]}}), "city"),
        (f"/public/lists/{list_id}/subscribe", {**js, "Content-Type": "application/x-www-form-urlencoded"},
         urlencode({"email": ANN, "consent": "true"}), "Content-Type"),
        ("/c/resend", FORM, urlencode({"list_id": "x" * 5000, "email": ANN}), None),
        ("/c/resend", FORM, urlencode({"list_id": list_id, "email": "a\u2029@example.com"}), None),
    ]
    for path, headers, body, field in cases:
        answer = client.http.post(path, headers=headers, body=body)
        assert 400 <= answer.status_code < 500 or (path == "/c/resend" and answer.status_code == 200), \
            (path, body[:60], answer.status_code, answer.body[:200])
        if field and answer.headers.get("Content-Type", "").startswith("application/json"):
            assert json.loads(answer.body)["error"]["field"] == field, (body[:60], answer.body[:200])
    apply_queued_signups()
    assert stored(list_id, ANN) is None


@pytest.mark.parametrize("website", ["JaVaScRiPt:alert(1)", "data:text/html,x"])
def test_p04_a_public_website_that_is_not_http_is_a_400_naming_it_and_stores_nothing(client, news_list,
                                                                                     website):
    form = form_signup(client, news_list["list_id"], email=ANN, website=website)
    assert form.status_code == 400 and "website" in form.body.decode()
    js = js_signup(client, news_list["list_id"], {"email": ANN, "website": website, "consent": True})
    assert js.status_code == 400 and json.loads(js.body)["error"]["field"] == "website"
    assert stored(news_list["list_id"], ANN) is None and take("outbox") == []
