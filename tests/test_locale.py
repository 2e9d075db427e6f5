"""Forms that say who and why, in the list's language (P32): the privacy policy and the controller
on the form and in the confirmation mail; English and Romanian through gettext catalogs, which
must be complete and current."""
from __future__ import annotations

import json
import re
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
    list_id = new_list(client, headers)
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
