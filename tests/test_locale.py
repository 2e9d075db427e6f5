"""Forms that say who and why, in the list's language (P32): the privacy policy and the controller
on the form and in the confirmation mail; English and Romanian through gettext catalogs, which
must be complete and current."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from chalicelib.locale.build import TRANSLATIONS, catalogs, message_ids
from chalicelib.templates import LANGUAGES
from tests.support.lists import new_list, stored
from tests.support.mail import confirm_path, sent_mails
from tests.support.queues import deliver, take
from tests.support.signups import form_signup

LOCALE = Path(__file__).resolve().parent.parent / "chalicelib" / "locale"
POLICY = "https://acme.example/privacy"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_p32_every_message_is_translated_into_every_language():
    assert set(TRANSLATIONS) == set(LANGUAGES) - {"en"}
    ids = message_ids()
    assert len(ids) > 30
    for language, translated in TRANSLATIONS.items():
        missing = [message for message in ids if not translated.get(message)]
        assert missing == [], f"untranslated into {language}: run `make locale` after adding them"
        stale = sorted(set(translated) - set(ids))
        assert stale == [], f"translations of strings the code no longer has ({language})"
        placeholders = {m: (set(re.findall(r"%\(\w+\)s", m)), set(re.findall(r"%\(\w+\)s", translated[m])))
                        for m in ids}
        assert all(ours == theirs for ours, theirs in placeholders.values()), "a placeholder was lost"


def test_p32_the_committed_catalogs_are_the_ones_the_code_compiles_to():
    for language, (po, mo) in catalogs().items():
        folder = LOCALE / language / "LC_MESSAGES"
        assert (folder / "messages.po").read_bytes() == po, "stale .po: run `make locale`"
        assert (folder / "messages.mo").read_bytes() == mo, "stale .mo: run `make locale`"


def test_p32_the_form_and_the_confirmation_mail_link_the_privacy_policy_and_name_the_controller(
        client, headers):
    list_id = new_list(client, headers, privacy_policy_url=POLICY)
    page = client.http.get(f"/f/{list_id}").body.decode()
    assert f'href="{POLICY}"' in page and "Acme Ltd decides what happens to your data" in page
    form_signup(client, list_id, email="ann@example.com")
    deliver(take("outbox"))
    (mail,) = sent_mails()
    for part in ("plain", "html"):
        body = mail.get_body((part,)).get_content()
        assert POLICY in body and "Acme Ltd decides what happens to your data" in body, part
    snippet = json.loads(client.http.get(f"/v1/lists/{list_id}/form-snippet", headers=headers).body)["html"]
    assert POLICY in snippet


def test_p32_a_list_without_a_privacy_policy_serves_no_form_and_takes_no_signup(client, headers):
    """A list may be created without `privacy_policy_url` (set up first, published later), but
    until it links one its hosted form, snippet, JS endpoint, API double opt-in signups and
    imports are a 409 naming the field: nothing of theirs is queued, stored or mailed."""
    from tests.support.signups import SHOP

    list_id = new_list(client, headers, privacy_policy_url=None, allowed_origins=[SHOP])
    ann = "ann@example.com"

    def refused(response) -> None:
        assert response.status_code == 409, response.body[:300]
        assert "privacy_policy_url" in response.body.decode()

    page = client.http.get(f"/f/{list_id}")
    refused(page)
    assert "<form" not in page.body.decode()
    refused(client.http.post(f"/f/{list_id}", headers=FORM, body=f"email={ann}&consent=yes"))
    js = client.http.post(f"/public/lists/{list_id}/subscribe",
                          body=json.dumps({"email": ann, "consent": True}),
                          headers={"Content-Type": "application/json", "Origin": SHOP})
    refused(js)
    assert json.loads(js.body)["error"]["field"] == "privacy_policy_url"
    assert js.headers["Access-Control-Allow-Origin"] == SHOP, "the page's script can read why"
    snippet = client.http.get(f"/v1/lists/{list_id}/form-snippet", headers=headers)
    refused(snippet)
    assert json.loads(snippet.body)["error"]["field"] == "privacy_policy_url"
    api = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=headers,
                           body=json.dumps({"email": ann}))
    refused(api)
    refused(client.http.post(f"/v1/lists/{list_id}/imports", headers={**headers, "Content-Type": "text/csv"},
                             body=f"email\n{ann}\n"))
    assert take("signups") == [] and take("imports") == [] and take("outbox") == []
    assert stored(list_id, ann) is None

    linked = client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                               body=json.dumps({"privacy_policy_url": POLICY}))
    assert linked.status_code == 200, linked.body
    page = client.http.get(f"/f/{list_id}").body.decode()
    assert f'href="{POLICY}"' in page and "Acme Ltd decides what happens to your data" in page
    unlinked = client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                                 body=json.dumps({"privacy_policy_url": None}))
    assert unlinked.status_code == 200 and json.loads(unlinked.body)["privacy_policy_url"] is None
    refused(client.http.get(f"/f/{list_id}"))


def test_p32_a_single_opt_in_signup_with_proof_needs_no_policy_it_mails_nothing(client, headers):
    list_id = new_list(client, headers, privacy_policy_url=None, double_opt_in=False)
    proof = {"given_at": datetime.now(UTC).isoformat(), "ip": "192.0.2.1"}
    added = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=headers,
                             body=json.dumps({"email": "ann@example.com", "consent": proof}))
    assert added.status_code == 201, added.body
    assert stored(list_id, "ann@example.com").status == "confirmed" and take("outbox") == []


def test_p32_hostile_privacy_policy_urls_are_a_400_naming_the_field(client, headers):
    list_id = new_list(client, headers)
    for bad in ("", "   ", "/privacy", "javascript:alert(1)", "https://acme.example/pri\u2028vacy",
                "https://acme.example/\x00", "https://acme.example/" + "p" * 2000):
        response = client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                                     body=json.dumps({"privacy_policy_url": bad}))
        if bad == "":  # empty clears it, as null does
            assert response.status_code == 200, response.body
            continue
        assert response.status_code == 400, (bad, response.body)
        assert json.loads(response.body)["error"]["field"] == "privacy_policy_url", bad
    from chalicelib.cli import create_account_with_key
    from tests.support.api import bearer

    stranger = bearer(create_account_with_key("Other Org", {})["api_key"])
    theirs = client.http.patch(f"/v1/lists/{list_id}", headers=stranger,
                               body=json.dumps({"privacy_policy_url": "https://evil.example/p"}))
    assert theirs.status_code == 404


def test_p32_a_confirmation_mail_without_a_policy_link_still_names_the_controller():
    """A signup queued before its list lost its link (or a resend for one) still says who the
    controller is, by name, and the footer gives their postal address."""
    from chalicelib.domain.accounts import AccountProfile
    from chalicelib.domain.confirmation_mail import confirmation_email

    sender = AccountProfile(name="Acme Ltd", postal_address="1 Main Street, 010101 Bucharest, Romania",
                            contact_email="contact@acme.example", sender_identity="news@acme.example")
    for language, sentence in (("en", "Acme Ltd decides what happens to your data (the controller)."),
                               ("ro", "Acme Ltd decide ce se întâmplă cu datele tale (operatorul).")):
        mail = confirmation_email("ann@example.com", "News", sender, "tok", public_base_url="https://t.example",
                                  default_sender="no-reply@t.example", language=language)
        for body in (mail.text, mail.html):
            assert sentence in body and "1 Main Street, 010101 Bucharest, Romania" in body, language


def test_p32_a_romanian_list_speaks_romanian_on_its_pages_and_in_its_mail(client, headers):
    list_id = new_list(client, headers, "Știri", language="ro", privacy_policy_url=POLICY)
    page = client.http.get(f"/f/{list_id}").body.decode()
    assert '<html lang="ro">' in page and "Abonează-te la Știri" in page
    assert "Adresa de email" in page and "politica de confidențialitate" in page
    refused = client.http.post(f"/f/{list_id}", headers=FORM, body="email=ann%40example.com")
    assert refused.status_code == 400 and "bifează căsuța" in refused.body.decode()
    received = form_signup(client, list_id, email="ann@example.com")
    assert "Verifică-ți căsuța de email" in received.body.decode()
    deliver(take("outbox"))
    (mail,) = sent_mails()
    assert str(mail["Subject"]) == "Te rugăm să confirmi abonarea la Știri"
    assert "Pentru a confirma" in mail.get_body(("plain",)).get_content()
    path = confirm_path(mail)
    assert "Da, confirm abonarea" in client.http.get(path).body.decode()
    assert "abonarea la Știri este confirmată" in client.http.post(path).body.decode()
    assert stored(list_id, "ann@example.com").status == "confirmed"


def test_p32_a_list_takes_only_a_known_language_and_an_absolute_privacy_policy_url(client, headers):
    list_id = new_list(client, headers, privacy_policy_url=None)
    for body, field in (({"language": "fr"}, "language"), ({"privacy_policy_url": "privacy.html"},
                                                            "privacy_policy_url")):
        response = client.http.patch(f"/v1/lists/{list_id}", headers=headers, body=json.dumps(body))
        assert response.status_code == 400 and json.loads(response.body)["error"]["field"] == field
    view = json.loads(client.http.get(f"/v1/lists/{list_id}", headers=headers).body)
    assert view["language"] == "en" and view["privacy_policy_url"] is None


def test_p32_the_preference_centre_of_a_romanian_list_is_in_romanian(client, account, headers):
    from chalicelib.config import signer
    from chalicelib.domain.mail_links import PREFERENCES, LinkClaim, link_token
    from tests.support.lists import subscribe

    list_id = new_list(client, headers, "Știri", language="ro")
    subscribe(account["account_id"], list_id, "ann@example.com")
    claim = LinkClaim(account["account_id"], list_id, "ann@example.com", None)
    token = link_token(signer(), PREFERENCES, claim)
    page = client.http.get(f"/p/{token}").body.decode()
    assert '<html lang="ro">' in page and "Ce păstrează Acme Ltd despre tine" in page
    assert "Stare: confirmat" in page and "Șterge-mi datele" in page
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    done = client.http.post(f"/p/{token}/unsubscribe", headers=FORM, body=f"nonce={nonce}&list_id={list_id}")
    assert "Te-ai dezabonat" in done.body.decode() and "Înapoi la preferințele tale" in done.body.decode()


def test_p32_the_footer_and_label_the_platform_adds_to_a_campaign_are_in_the_lists_language(
        client, account, headers):
    from tests.support.campaigns import create_campaign
    from tests.support.lists import subscribe
    from tests.support.queues import run_queues

    list_id = new_list(client, headers, "Știri", language="ro")
    subscribe(account["account_id"], list_id, "ann@example.com")
    campaign = create_campaign(client, headers, [list_id], advertisement=True)
    client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers)
    run_queues(client)
    (mail,) = sent_mails()
    text, html = mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()
    assert text.startswith("Publicitate") and "Primești acest email pentru că te-ai abonat la Știri." in text
    assert "Dezabonare:" in text and "Preferințe:" in text
    assert ">Publicitate<" in html and ">Actualizează-ți preferințele<" in html


# --- pages and mails that belong to no list, or to an account (P32) --------------------------------

def _english_left(text: str, language: str = "ro") -> list[str]:
    """Catalog strings (of a few words or more) whose English shows in `text` rendered in `language`."""
    from chalicelib.templates import gettext_for

    translate = gettext_for(language)
    return [m for m in message_ids() if len(m.split()) >= 3 and "%(" not in m and m in text
            and translate(m) != m]


def test_p32_no_english_escapes_the_romanian_pages_and_mails_tidings_adds():
    from chalicelib.domain.account_lifecycle import deletion_email, inactivity_email
    from chalicelib.domain.email_change import email_change_email, email_changed_notice
    from chalicelib.domain.health import operator_action_notice, suspension_notice
    from chalicelib.domain.optout import optout_email
    from chalicelib.domain.phone_consent import code_text
    from chalicelib.domain.tokens import Signer
    from chalicelib.templates import render_page

    signer = Signer(["k" * 32])
    pages = [render_page("link_problem", "ro", title="t", explanation="", list_id=None, resend_action="/r",
                         error=None),
             render_page("forward", "ro", link=None, subject="", sender=None),
             render_page("forward", "ro", link="https://x.example/v/t", subject="s", sender=None),
             render_page("optout_form", "ro", action="/optout", email="", error=None),
             render_page("action_confirm", "ro", title="t", paragraphs=[], button="b")]
    base = {"public_base_url": "https://x.example", "default_sender": "no-reply@x.example", "language": "ro"}
    mails = [optout_email(signer, "ann@example.com", base["public_base_url"], base["default_sender"], "ro"),
             email_change_email("Acme", "new@example.com", "tok", **base),
             email_changed_notice("old@example.com", "Acme", "new@example.com",
                                  datetime(2026, 2, 1, tzinfo=UTC), default_sender=base["default_sender"],
                                  language="ro"),
             deletion_email("owner@example.com", "Acme", "tok", **base),
             inactivity_email("owner@example.com", "Acme", **base),
             suspension_notice("owner@example.com", "no-reply@x.example", "Acme", "rate", "ro"),
             operator_action_notice("owner@example.com", "no-reply@x.example", "Acme", "suspended", "spam",
                                    language="ro"),
             operator_action_notice("owner@example.com", "no-reply@x.example", "Acme", "cancelled", "spam",
                                    "2026-02-01", language="ro")]
    for page in pages:
        assert '<html lang="ro">' in page and _english_left(page) == [], page
    for mail in mails:
        text = f"{mail.subject}\n{mail.text}\n{mail.html or ''}"
        assert _english_left(text) == [] and "Hello," not in text and "Bună ziua," in text, mail.subject
    assert "Hello," in optout_email(signer, "ann@example.com", "https://x.example", "n@x.example", "en").text
    assert code_text("Acme", "Știri", "123456", "ro").startswith("123456 este codul tau")


def test_p32_accept_language_picks_the_language_of_pages_without_a_list():
    from chalicelib.templates import pick_language

    assert pick_language("ro-RO,ro;q=0.9,en;q=0.8") == "ro"
    assert pick_language("en-GB,en;q=0.9,ro;q=0.8") == "en"
    assert pick_language("fr-FR, ro;q=0.5") == "ro"
    assert pick_language("en;q=0.2, ro;q=0.9") == "ro"
    for hostile in (None, "", "fr", "ro;q=0", "ro;q=abc", "ro;q=2", "\u2028ro", ",,,;;;" * 1000,
                    "de" + ",ro" * 5000):
        assert pick_language(hostile) in ("en", "ro")
    assert pick_language("ro;q=0") == "en" and pick_language("fr") == "en"


def test_p32_the_optout_pages_and_mail_speak_the_browsers_language(client):
    romanian = {**FORM, "Accept-Language": "ro-RO,ro;q=0.9,en;q=0.5"}
    page = client.http.get("/optout", headers={"Accept-Language": "ro"}).body.decode()
    assert '<html lang="ro">' in page and "Oprește toate mesajele trimise prin această platformă" in page
    refused = client.http.post("/optout", headers=romanian, body="email=not-an-address")
    assert refused.status_code == 400 and "nu este o adresă de email validă" in refused.body.decode()
    asked = client.http.post("/optout", headers=romanian, body="email=ann%40example.com")
    assert "Verifică-ți căsuța de email" in asked.body.decode()
    deliver(take("outbox"))
    (mail,) = sent_mails()
    assert str(mail["Subject"]) == "Confirmă: oprește toate mesajele trimise prin această platformă"
    path = re.search(r"https?://[^/\s]+(/optout/\S+)", mail.get_body(("plain",)).get_content()).group(1)
    assert "Oprește toate mesajele către adresa ta" in client.http.get(path, headers=romanian).body.decode()
    english = client.http.get(path).body.decode()
    assert '<html lang="en">' in english and "Stop all mail to your address" in english


def test_p32_link_problems_resend_and_form_errors_speak_the_lists_language(client, headers):
    list_id = new_list(client, headers, "Știri", language="ro")
    bad = client.http.get("/c/not-a-token").body.decode()
    assert '<html lang="en">' in bad and "This confirmation link does not work" in bad
    romanian = client.http.get("/c/x", headers={"Accept-Language": "ro"}).body.decode()
    assert "Acest link de confirmare" in romanian
    resent = client.http.post("/c/resend", headers=FORM, body=f"list_id={list_id}&email=nope")
    assert resent.status_code == 400 and "nu este o adresă de email validă" in resent.body.decode()
    assert "Trimite-mi un link nou" in resent.body.decode()
    ok = client.http.post("/c/resend", headers=FORM, body=f"list_id={list_id}&email=ann%40example.com")
    assert "Dacă o abonare pentru această adresă" in ok.body.decode()
    long_name = "x" * 5000
    refused = client.http.post(f"/f/{list_id}", headers=FORM,
                               body=f"email=ann%40example.com&consent=1&name={long_name}")
    assert refused.status_code == 400 and "„name” are mai mult de" in refused.body.decode()
    gone = client.http.get("/f/lst_nope", headers={"Accept-Language": "ro"}).body.decode()
    assert "Acest formular de abonare nu există" in gone


def test_p32_the_json_signup_answers_in_the_lists_language(client, headers):
    list_id = new_list(client, headers, "Știri", language="ro")
    client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                      body=json.dumps({"allowed_origins": ["https://acme.example"]}))
    js = {"Content-Type": "application/json", "Origin": "https://acme.example"}
    refused = client.http.post(f"/public/lists/{list_id}/subscribe", headers=js,
                               body=json.dumps({"email": "ann@example.com"}))
    assert refused.status_code == 400
    assert json.loads(refused.body)["error"] == {"code": "invalid_input", "field": "consent",
                                                 "message": "bifează căsuța pentru a-ți da consimțământul"}
    received = client.http.post(f"/public/lists/{list_id}/subscribe", headers=js,
                                body=json.dumps({"email": "ann@example.com", "consent": True}))
    assert received.status_code == 202 and "Verifică-ți căsuța" in json.loads(received.body)["message"]


def test_p32_an_account_gets_its_mail_in_its_own_language(client, headers):
    for body in ({"language": "fr"}, {"language": ["ro"]}):
        response = client.http.patch("/v1/account", headers=headers, body=json.dumps(body))
        assert response.status_code == 400 and json.loads(response.body)["error"]["field"] == "language"
    assert json.loads(client.http.get("/v1/account", headers=headers).body)["language"] == "en"
    patched = client.http.patch("/v1/account", headers=headers, body=json.dumps({"language": "ro"}))
    view = json.loads(patched.body)
    assert view["language"] == "ro"
    client.http.post("/v1/account/email-change", headers=headers,
                     body=json.dumps({"new_email": "new@acme.example"}))
    deliver(take("outbox"))
    (mail,) = sent_mails()
    assert str(mail["Subject"]).startswith("Confirmă noul email de contact al")
    text = mail.get_body(("plain",)).get_content()
    path = re.search(r"https?://[^/\s]+(/account/email-change/\S+)", text).group(1)
    page = client.http.get(path).body.decode()
    assert '<html lang="ro">' in page and "Confirm această adresă" in page
