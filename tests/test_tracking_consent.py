"""Tracking needs its own consent where the list asks for it (P30): a separate unticked box with its
own versioned text, confirmed like the mailing consent; pixels and tracked links only for people
who gave it; withdrawn in the preference centre; reports say how many mails were trackable."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from markupsafe import escape

from chalicelib.config import settings, signer
from chalicelib.domain.lists import DEFAULT_TRACKING_TEXT
from chalicelib.domain.mail_links import PREFERENCES, LinkClaim, link_token
from chalicelib.store.models import MailingList, TrackingMarker
from tests.support.campaigns import create_campaign, report_body
from tests.support.lists import new_list, stored, subscribe
from tests.support.mail import confirm_path, sent_mails
from tests.support.privacy import PROOF
from tests.support.queues import apply_queued_signups, deliver, run_queues, run_tracking_worker, take
from tests.support.signups import SHOP, form_signup, js_signup

ANN, BOB = "ann@example.com", "bob@example.com"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "Accept": "image/avif,image/*"}


def _list(client: Any, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    list_id = new_list(client, headers, **fields)
    return json.loads(client.http.get(f"/v1/lists/{list_id}", headers=headers).body)


def _signed_up_and_confirmed(client: Any, list_id: str, address: str, **form: str) -> None:
    form_signup(client, list_id, email=address, **form)
    deliver(take("outbox"))
    (mail,) = [mail for mail in sent_mails() if str(mail["To"]) == address]
    assert client.http.post(confirm_path(mail)).status_code == 200


def _send(client: Any, headers: dict[str, str], list_id: str) -> str:
    campaign = create_campaign(client, headers, [list_id])
    sent = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers)
    assert sent.status_code == 202
    run_queues(client)
    return campaign["campaign_id"]


def _html_to(address: str) -> list[str]:
    return [mail.get_body(("html",)).get_content() for mail in sent_mails()
            if str(mail["To"]) == address and mail["List-Unsubscribe"]]


def _prefs(account: dict[str, Any], list_id: str, address: str) -> str:
    return link_token(signer(), PREFERENCES, LinkClaim(account["account_id"], list_id, address, None))


def _set_tracking(client: Any, token: str, list_id: str, choice: str) -> Any:
    """Press the list's tracking button as a browser does: with the page's nonce and the
    version of the tracking text it shows beside the button, if any."""
    page = client.http.get(f"/p/{token}").body.decode()
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    body = f"nonce={nonce}&list_id={list_id}&choice={choice}"
    shown = _tracking_form(page, list_id)
    version = re.search(r'name="tracking_version" value="(\d+)"', shown)
    if version:
        body += f"&tracking_version={version.group(1)}"
    return client.http.post(f"/p/{token}/tracking", headers=FORM, body=body)


def _tracking_form(page: str, list_id: str) -> str:
    """The preference page's tracking form of one list."""
    forms = re.findall(r'<form method="post" action="[^"]*/tracking">.*?</form>', page, re.DOTALL)
    (form,) = [form for form in forms if f'name="list_id" value="{list_id}"' in form]
    return form


def test_p30_a_new_list_asks_for_tracking_consent_with_its_own_versioned_text(client, headers):
    view = _list(client, headers)
    assert view["tracking_consent"] == "required"
    assert view["tracking_consent_text"] == DEFAULT_TRACKING_TEXT
    patched = json.loads(client.http.patch(f"/v1/lists/{view['list_id']}", headers=headers, body=json.dumps(
        {"tracking_consent_text": "Count my opens."})).body)
    assert [v["version"] for v in patched["tracking_consent_versions"]] == [1, 2]
    off = client.http.patch(f"/v1/lists/{view['list_id']}", headers=headers,
                            body=json.dumps({"tracking_consent": "not_required"}))
    assert json.loads(off.body)["tracking_consent"] == "not_required"
    bad = client.http.patch(f"/v1/lists/{view['list_id']}", headers=headers,
                            body=json.dumps({"tracking_consent": "maybe"}))
    assert bad.status_code == 400 and json.loads(bad.body)["error"]["field"] == "tracking_consent"
    # A list stored before the setting existed reads as not asking, as it behaved then.
    legacy = MailingList.get(view["list_id"])
    legacy.tracking_consent = None
    legacy.save()
    assert json.loads(client.http.get(f"/v1/lists/{view['list_id']}", headers=headers).body)[
        "tracking_consent"] == "not_required"


def test_p30_the_form_shows_a_separate_unticked_optional_box_with_its_own_text(client, headers):
    view = _list(client, headers)
    page = client.http.get(f"/f/{view['list_id']}").body.decode()
    box = re.search(r'<input id="tid-tracking"[^>]*>', page).group(0)
    assert "checked" not in box and "required" not in box
    assert re.search(r'<input id="tid-consent"[^>]*required', page), "the mailing consent stays required"
    assert DEFAULT_TRACKING_TEXT in page and 'name="tracking_version" value="1"' in page
    snippet = json.loads(client.http.get(f"/v1/lists/{view['list_id']}/form-snippet", headers=headers).body)
    assert 'name="tracking"' in snippet["html"]
    client.http.patch(f"/v1/lists/{view['list_id']}", headers=headers,
                      body=json.dumps({"tracking_consent": "not_required"}))
    assert 'name="tracking"' not in client.http.get(f"/f/{view['list_id']}").body.decode()


def test_p30_only_people_who_gave_it_get_a_pixel_and_tracked_links_and_the_report_counts_them(
        client, account, headers):
    list_id = new_list(client, headers)
    _signed_up_and_confirmed(client, list_id, ANN, tracking="yes", tracking_version="1")
    _signed_up_and_confirmed(client, list_id, BOB)
    ann = stored(list_id, ANN).tracking
    assert ann.given_at and ann.confirmed_at and ann.consent_text_version == 1 and ann.source == "form"
    assert ann.ip == stored(list_id, ANN).consent.ip, "recorded like the mailing consent"
    assert stored(list_id, BOB).tracking is None
    campaign_id = _send(client, headers, list_id)
    (ann_html,), (bob_html,) = _html_to(ANN), _html_to(BOB)
    assert "/t/o/" in ann_html and "/t/c/" in ann_html
    assert "/t/o/" not in bob_html and "/t/c/" not in bob_html and "https://acme.example/sale" in bob_html
    report = report_body(client, account, campaign_id)
    assert report["sent"] == 2 and report["trackable"] == 1
    # The export shows the tracking consent with its text, as the mailing consent's (P02, P16).
    from chalicelib.services.privacy import export_person

    (entry,) = export_person(account["account_id"], ANN)["subscriptions"]
    assert entry["tracking_consent"]["consent_text"] == DEFAULT_TRACKING_TEXT


def test_p30_a_box_ticked_on_a_list_that_asks_none_records_nothing(client, headers):
    list_id = new_list(client, headers, tracking_consent="not_required")
    form_signup(client, list_id, email=ANN, tracking="yes")
    assert stored(list_id, ANN).tracking is None


def test_p30_the_js_endpoint_and_the_api_carry_tracking_consent(client, headers):
    list_id = new_list(client, headers, allowed_origins=[SHOP])
    assert js_signup(client, list_id, {"email": ANN, "consent": True, "tracking": True}).status_code == 202
    assert stored(list_id, ANN).tracking.given_at is not None
    single = new_list(client, headers, "Members", double_opt_in=False)
    created = client.http.post(f"/v1/lists/{single}/subscribers", headers=headers, body=json.dumps(
        {"email": BOB, "consent": PROOF, "tracking_consent": PROOF}))
    assert created.status_code == 201, created.body
    assert json.loads(created.body)["tracking_consent"]["confirmed_at"] is not None
    untracked = new_list(client, headers, "Quiet", tracking_consent="not_required")
    refused = client.http.post(f"/v1/lists/{untracked}/subscribers", headers=headers, body=json.dumps(
        {"email": BOB, "consent": PROOF, "tracking_consent": PROOF}))
    assert refused.status_code == 400 and json.loads(refused.body)["error"]["field"] == "tracking_consent"


def test_p30_withdrawn_in_the_preference_centre_it_stops_every_pixel_and_given_again_it_resumes(
        client, account, headers):
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)  # gave tracking consent
    first = _send(client, headers, list_id)
    (html,) = _html_to(ANN)
    pixel = "/t/o/" + html.split("/t/o/")[1].split('"')[0]
    client.http.get(pixel, headers=BROWSER)
    run_tracking_worker(take("tracking"))
    assert len(list(TrackingMarker.scan())) == 1

    token = _prefs(account, list_id, ANN)
    assert "Stop tracking my opens and clicks" in client.http.get(f"/p/{token}").body.decode()
    assert _set_tracking(client, token, list_id, "withdraw").status_code == 200
    assert stored(list_id, ANN).tracking.withdrawn_at is not None
    assert list(TrackingMarker.scan()) == [], "what was counted about her is deleted"
    # The mail she kept still fetches its pixel: nothing is counted any more.
    client.http.get(pixel, headers=BROWSER)
    run_tracking_worker(take("tracking"))
    assert list(TrackingMarker.scan()) == [] and report_body(client, account, first)["opens"]["total"] == 1
    _send(client, headers, list_id)
    assert "/t/o/" not in _html_to(ANN)[-1]

    assert "Let this list count my opens and clicks" in client.http.get(f"/p/{token}").body.decode()
    assert _set_tracking(client, token, list_id, "give").status_code == 200
    tracking = stored(list_id, ANN).tracking
    assert tracking.withdrawn_at is None and tracking.confirmed_at and tracking.source == "preferences"
    _send(client, headers, list_id)
    assert "/t/o/" in _html_to(ANN)[-1]


def test_p30_an_open_queued_before_withdrawal_does_not_rebuild_the_deleted_history(client, account, headers):
    """Withdrawing deletes every marker of the person; an open fetched just before it and drained
    after it (the drain runs every few minutes) happened while she consented: it counts in the
    campaign's totals, but writes no marker, her history (P30, P16), and no unique count. Bob,
    who did not withdraw, is counted as before in the same batch."""
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    subscribe(account["account_id"], list_id, BOB)
    campaign_id = _send(client, headers, list_id)
    for address in (ANN, BOB):
        (html,) = _html_to(address)
        pixel = "/t/o/" + html.split("/t/o/")[1].split('"')[0]
        client.http.get(pixel, headers=BROWSER)  # queued, not counted yet
    assert _set_tracking(client, _prefs(account, list_id, ANN), list_id, "withdraw").status_code == 200
    run_tracking_worker(take("tracking"))
    (marker,) = TrackingMarker.scan()
    assert marker.events, "Bob's open made his marker"
    opens = report_body(client, account, campaign_id)["opens"]
    assert opens["total"] == 2, opens
    assert opens["unique"] == 1, opens


def test_p30_withdrawing_tracking_in_the_preference_centre_needs_this_pages_nonce(client, account, headers):
    list_id = new_list(client, headers, tracking={"opens": True, "clicks": True})
    subscribe(account["account_id"], list_id, ANN)
    subscribe(account["account_id"], list_id, BOB)
    page = client.http.get(f"/p/{_prefs(account, list_id, BOB)}").body.decode()
    bobs_nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    stolen = client.http.post(f"/p/{_prefs(account, list_id, ANN)}/tracking", headers=FORM,
                              body=f"nonce={bobs_nonce}&list_id={list_id}&choice=withdraw")
    assert stolen.status_code == 400 and stored(list_id, ANN).tracking.withdrawn_at is None
    assert _set_tracking(client, _prefs(account, list_id, ANN), list_id, "withdraw").status_code == 200
    assert stored(list_id, ANN).tracking.withdrawn_at is not None
    assert stored(list_id, BOB).tracking.withdrawn_at is None


@pytest.mark.parametrize(("status", "choice"), [
    ("pending", "give"), ("unsubscribed", "give"), ("complained", "give"),
    ("unsubscribed", "withdraw"), ("complained", "withdraw")])
def test_p30_tracking_is_set_in_the_preference_centre_only_on_a_confirmed_entry(
        client, account, headers, status, choice):
    """The page offers to give tracking consent only beside a confirmed entry, and to withdraw it
    only beside a live one: a POST for an ended one, or giving on a pending one (a form left open,
    or whoever holds the link), is a 400 naming list_id, and writes nothing: no proof, no
    withdrawal, no audit entry."""
    from chalicelib.store.audit import entries as audit_entries

    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN, status=status, tracking=choice == "withdraw")
    before = stored(list_id, ANN).tracking
    token = _prefs(account, list_id, ANN)
    nonce = re.search(r'name="nonce" value="([^"]+)"', client.http.get(f"/p/{token}").body.decode()).group(1)
    answer = client.http.post(f"/p/{token}/tracking", headers=FORM,
                              body=f"nonce={nonce}&list_id={list_id}&choice={choice}&tracking_version=1")
    assert answer.status_code == 400 and "confirmed" in answer.body.decode()
    after = stored(list_id, ANN).tracking
    assert (after.as_dict() if after else None) == (before.as_dict() if before else None)
    assert not [e for e in audit_entries(account["account_id"]) if e.action.startswith("subscriber.tracking")]


def test_p30_a_pending_signup_that_ticked_the_box_can_withdraw_it_and_confirming_later_grants_no_tracking(
        client, account, headers):
    """Ann ticked the tracking box at signup and, before confirming, withdraws it on the preference
    page of a list she is already on (its mails carry the link): the page offers her the withdrawal
    beside the pending entry, and her confirmation later confirms her subscription, not the
    consent she took back. Giving it there stays for confirmed entries only."""
    news, offers = new_list(client, headers, "News"), new_list(client, headers, "Offers")
    subscribe(account["account_id"], news, ANN)
    form_signup(client, offers, email=ANN, tracking="yes", tracking_version="1")
    assert stored(offers, ANN).status == "pending" and stored(offers, ANN).tracking.given_at
    token = _prefs(account, news, ANN)
    offered = _tracking_form(client.http.get(f"/p/{token}").body.decode(), offers)
    assert 'value="withdraw"' in offered and "Once you confirm" in offered
    assert _set_tracking(client, token, offers, "withdraw").status_code == 200
    assert stored(offers, ANN).tracking.withdrawn_at is not None

    _says_tracking(_confirmation_parts(ANN), DEFAULT_TRACKING_TEXT)  # mailed before she withdrew
    _resend(client, offers, ANN)
    _says_nothing_of_tracking(_confirmation_parts(ANN))  # a new link no longer says it
    mail = next(m for m in sent_mails() if str(m["To"]) == ANN)  # the first, that said it
    assert client.http.post(confirm_path(mail)).status_code == 200
    entry = stored(offers, ANN)
    assert entry.status == "confirmed"
    assert entry.tracking.withdrawn_at is not None and entry.tracking.confirmed_at is None
    _send(client, headers, offers)
    assert "/t/o/" not in _html_to(ANN)[-1]


def test_p05_p30_a_pending_entry_without_tracking_consent_is_offered_no_tracking_button(
        client, account, headers):
    news, offers = new_list(client, headers, "News"), new_list(client, headers, "Offers")
    subscribe(account["account_id"], news, ANN)
    form_signup(client, offers, email=ANN)  # no box ticked
    page = client.http.get(f"/p/{_prefs(account, news, ANN)}").body.decode()
    forms = re.findall(r'<form method="post" action="[^"]*/tracking">.*?</form>', page, re.DOTALL)
    assert [form for form in forms if f'value="{offers}"' in form] == []


def test_p02_p30_tracking_consent_given_in_the_preference_centre_is_to_the_text_its_page_showed(
        client, account, headers):
    """Giving tracking consent on the preference page is agreeing to a text: the page shows the
    list's tracking text beside the button, and the proof keeps the version that page showed
    (the text may change while it is open), with the time, IP and browser (P02), as the signup
    box's proof does. A press naming no text the list has records nothing."""
    list_id = new_list(client, headers, tracking_consent_text=BOX_V1)
    subscribe(account["account_id"], list_id, ANN, tracking=False)
    token = _prefs(account, list_id, ANN)
    page = client.http.get(f"/p/{token}").body.decode()
    assert str(escape(BOX_V1)) in _tracking_form(page, list_id), "the button says what it agrees to"
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    unnamed = client.http.post(f"/p/{token}/tracking", headers=FORM,
                               body=f"nonce={nonce}&list_id={list_id}&choice=give&tracking_version=9")
    assert unnamed.status_code == 400
    assert stored(list_id, ANN).tracking is None

    # Her page shows version 1; the list changes the text before she presses.
    browser = {"User-Agent": BROWSER["User-Agent"]}
    shown = _tracking_form(page, list_id)
    client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                      body=json.dumps({"tracking_consent_text": BOX_V2}))
    version = re.search(r'name="tracking_version" value="(\d+)"', shown).group(1)
    given = client.http.post(f"/p/{token}/tracking", headers={**FORM, **browser},
                             body=f"nonce={nonce}&list_id={list_id}&choice=give&tracking_version={version}")
    assert given.status_code == 200, given.body
    proof = stored(list_id, ANN).tracking
    assert (proof.consent_text_version, proof.source) == (1, "preferences")
    assert proof.ip == "127.0.0.1" and proof.user_agent == BROWSER["User-Agent"]
    assert proof.given_at is not None and proof.confirmed_at is not None
    export = json.loads(client.http.post(f"/p/{token}/export", headers=FORM,
                                         body=f"nonce={nonce}").body)
    (entry,) = export["subscriptions"]
    assert entry["tracking_consent"]["consent_text"] == BOX_V1


def test_p15_p30_a_list_that_asks_none_tracks_its_people_until_one_refuses(client, account, headers):
    list_id = new_list(client, headers, tracking_consent="not_required")
    subscribe(account["account_id"], list_id, ANN, tracking=False)
    _send(client, headers, list_id)
    assert "/t/o/" in _html_to(ANN)[-1]
    assert _set_tracking(client, _prefs(account, list_id, ANN), list_id, "withdraw").status_code == 200
    _send(client, headers, list_id)
    assert "/t/o/" not in _html_to(ANN)[-1]


# --- what a mail carries is decided when it is sent, not when its page was planned (P15, P30) ------

def _fanned_out(client: Any, headers: dict[str, str], list_id: str) -> str:
    """A campaign to the list, its page planned and its batch queued, not yet sent (a big
    campaign's batch waits hours for its send time)."""
    campaign = create_campaign(client, headers, [list_id])
    sent = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers)
    assert sent.status_code == 202
    run_queues(client, ("fanout",))
    return campaign["campaign_id"]


@pytest.mark.parametrize("asks", ["required", "not_required"])
def test_p30_tracking_consent_withdrawn_while_a_campaign_is_being_sent_keeps_the_pixel_out(
        client, account, headers, asks):
    """Ann withdraws in the preference centre after the fan-out: her mail carries no pixel and no
    tracked link, and the report does not count it trackable; Bob's is unchanged."""
    list_id = new_list(client, headers, tracking_consent=asks)
    subscribe(account["account_id"], list_id, ANN)  # gave tracking consent
    subscribe(account["account_id"], list_id, BOB)
    campaign_id = _fanned_out(client, headers, list_id)
    assert _set_tracking(client, _prefs(account, list_id, ANN), list_id, "withdraw").status_code == 200
    run_queues(client)
    (ann_html,), (bob_html,) = _html_to(ANN), _html_to(BOB)
    assert "/t/o/" not in ann_html and "/t/c/" not in ann_html and "https://acme.example/sale" in ann_html
    assert "/t/o/" in bob_html and "/t/c/" in bob_html
    report = report_body(client, account, campaign_id)
    assert report["sent"] == 2 and report["trackable"] == 1


def test_p15_a_list_that_switched_tracking_off_while_a_campaign_is_being_sent_gets_no_pixel(
        client, account, headers):
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    campaign_id = _fanned_out(client, headers, list_id)
    patched = client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                                body=json.dumps({"tracking": {"opens": False, "clicks": False}}))
    assert patched.status_code == 200, patched.body
    run_queues(client)
    (html,) = _html_to(ANN)
    assert "/t/o/" not in html and "/t/c/" not in html and "https://acme.example/sale" in html
    assert report_body(client, account, campaign_id)["trackable"] == 0


def test_p15_a_list_that_switched_only_clicks_off_while_a_campaign_is_being_sent_keeps_the_pixel(
        client, account, headers):
    """Each switch as it stands when the mail goes: opens still counted, links left as written."""
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    _fanned_out(client, headers, list_id)
    patched = client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                                body=json.dumps({"tracking": {"opens": True, "clicks": False}}))
    assert patched.status_code == 200, patched.body
    run_queues(client)
    (html,) = _html_to(ANN)
    assert "/t/o/" in html and "/t/c/" not in html and "https://acme.example/sale" in html


# --- the confirmation mail says that confirming also gives the tracking consent -------------------
# Anyone may type an address into a form and tick the tracking box; the mail's link confirms both
# (services/signups.confirm_signup), so the mail must show the person what else they confirm.

TICKED = "This signup also ticked the separate box for tracking, so confirming gives that consent too."
WITHDRAW = "You can withdraw your consent to tracking at any time in the preference centre"
TICKED_RO = ("La această abonare a fost bifată și căsuța separată pentru urmărire, așa că, dacă confirmi, "
             "îți dai și acest consimțământ.")
WITHDRAW_RO = "Îți poți retrage oricând consimțământul pentru urmărire din centrul de preferințe"
BOX_V1 = "Acme may see when I open its news & which links I click (v1)."
BOX_V2 = "Acme may count my opens & clicks (v2)."


def _confirmation_parts(address: str) -> tuple[str, str]:
    """(text, HTML) of the newest mail to `address`, after delivering what the outbox holds."""
    deliver(take("outbox"))
    mail = [m for m in sent_mails() if str(m["To"]) == address][-1]
    return mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()


def _says_tracking(parts: tuple[str, str], box: str, ticked: str = TICKED, withdraw: str = WITHDRAW) -> None:
    text, html = parts
    assert ticked in text and withdraw in text and box in text
    assert ticked in html and withdraw in html and str(escape(box)) in html
    # Said before the link, so it is read before confirming.
    assert text.index(ticked) < text.index("/c/") and html.index(ticked) < html.index("/c/")


def _says_nothing_of_tracking(parts: tuple[str, str]) -> None:
    for body in parts:
        assert "tracking" not in body.lower() and "(v1)" not in body and "(v2)" not in body


def test_p30_a_confirmation_mail_says_confirming_gives_tracking_consent_with_the_box_text_it_showed(
        client, headers):
    list_id = new_list(client, headers, tracking_consent_text=BOX_V1)
    client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                      body=json.dumps({"tracking_consent_text": BOX_V2}))
    # The form was open before the text changed: its box showed version 1.
    form_signup(client, list_id, email=ANN, tracking="yes", tracking_version="1")
    form_signup(client, list_id, email=BOB)
    ann = _confirmation_parts(ANN)
    _says_tracking(ann, BOX_V1)
    assert BOX_V2 not in ann[0] and str(escape(BOX_V2)) not in ann[1]
    _says_nothing_of_tracking(_confirmation_parts(BOB))
    # What the mail said is what its link does.
    (mail,) = [m for m in sent_mails() if str(m["To"]) == ANN]
    assert client.http.post(confirm_path(mail)).status_code == 200
    assert stored(list_id, ANN).tracking.confirmed_at is not None


def test_p30_a_confirmation_mail_of_an_api_signup_or_an_import_with_tracking_consent_says_it_too(
        client, headers):
    list_id = new_list(client, headers, tracking_consent_text=BOX_V1)
    for address, body in ((ANN, {"tracking_consent": PROOF}), (BOB, {})):
        created = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=headers,
                                   body=json.dumps({"email": address, **body}))
        assert created.status_code == 201, created.body
    _says_tracking(_confirmation_parts(ANN), BOX_V1)
    _says_nothing_of_tracking(_confirmation_parts(BOB))

    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.workers.imports import import_record

    imports = new_list(client, headers, "Imported", tracking_consent_text=BOX_V1)
    csv = ("email,consent_given_at,tracking_consent_given_at,tracking_consent_text_version\n"
           f"{ANN},2025-05-01T10:00:00Z,2025-05-01T10:00:00Z,1\n{BOB},2025-05-01T10:00:00Z,,\n")
    posted = client.http.post(f"/v1/lists/{imports}/imports", headers={**headers, "Content-Type": "text/csv"},
                              body=csv.encode())
    assert posted.status_code == 202, posted.body
    for record in take("imports"):
        import_record(SQSRecord(record))
    assert stored(imports, ANN).status == "pending" and stored(imports, ANN).tracking.given_at
    _says_tracking(_confirmation_parts(ANN), BOX_V1)
    _says_nothing_of_tracking(_confirmation_parts(BOB))


def _resend(client: Any, list_id: str, *addresses: str) -> None:
    later = datetime.now(UTC) + timedelta(minutes=settings().signup_limits.mail_interval_minutes + 1)
    with time_machine.travel(later):
        for address in addresses:
            answer = client.http.post("/c/resend", headers=FORM, body=f"list_id={list_id}&email={address}")
            assert answer.status_code == 200
        apply_queued_signups()


def test_p30_a_resent_confirmation_mail_says_it_too(client, headers):
    list_id = new_list(client, headers, tracking_consent_text=BOX_V1)
    form_signup(client, list_id, email=ANN, tracking="yes", tracking_version="1")
    form_signup(client, list_id, email=BOB)
    deliver(take("outbox"))
    _resend(client, list_id, ANN, BOB)
    assert len([m for m in sent_mails() if str(m["To"]) == ANN]) == 1, "not delivered yet"
    _says_tracking(_confirmation_parts(ANN), BOX_V1)
    assert len([m for m in sent_mails() if str(m["To"]) == ANN]) == 2
    _says_nothing_of_tracking(_confirmation_parts(BOB))


def test_p30_a_signup_back_after_unsubscribing_says_it_in_its_mail_and_its_resend(client, account, headers):
    from chalicelib.domain.mail_links import LinkClaim as Claim
    from chalicelib.services.unsubscribe import Scope, unsubscribe

    list_id = new_list(client, headers, tracking_consent_text=BOX_V1)
    for address in (ANN, BOB):
        subscribe(account["account_id"], list_id, address)
        unsubscribe(Claim(account["account_id"], list_id, address, None), Scope.LIST)
    form_signup(client, list_id, email=ANN, tracking="yes", tracking_version="1")
    form_signup(client, list_id, email=BOB)
    assert stored(list_id, ANN).returning.tracking.given_at is not None
    assert stored(list_id, BOB).returning is not None and stored(list_id, BOB).returning.tracking is None
    _says_tracking(_confirmation_parts(ANN), BOX_V1)
    _says_nothing_of_tracking(_confirmation_parts(BOB))
    _resend(client, list_id, ANN, BOB)
    _says_tracking(_confirmation_parts(ANN), BOX_V1)
    _says_nothing_of_tracking(_confirmation_parts(BOB))
    assert len([m for m in sent_mails() if str(m["To"]) == ANN]) == 2


def test_p30_a_romanian_list_says_it_in_romanian(client, headers):
    box = "Acme poate vedea când îi deschid mesajele și pe ce linkuri dau clic (v1)."
    list_id = new_list(client, headers, "Știri", language="ro", tracking_consent_text=box)
    form_signup(client, list_id, email=ANN, tracking="yes", tracking_version="1")
    form_signup(client, list_id, email=BOB)
    ann = _confirmation_parts(ANN)
    _says_tracking(ann, box, ticked=TICKED_RO, withdraw=WITHDRAW_RO)
    assert TICKED not in ann[0] + ann[1] and WITHDRAW not in ann[0] + ann[1]
    for body in _confirmation_parts(BOB):
        assert "urmărire" not in body and "(v1)" not in body


@pytest.mark.parametrize("choice", [None, "", "Give", "\uff47\uff49\uff56\uff45", "give\u2028", "yes"])
def test_p30_a_tracking_press_naming_no_choice_the_page_offers_is_a_400_and_withdraws_nothing(
        client, account, headers, choice):
    """The page's buttons send `choice=give` or `choice=withdraw`. Anything else (missing, a
    look-alike, another word) is no choice: withdrawing on it would stop her tracking and delete
    what was counted about her on a request she never made. A 400 naming `choice`, nothing changed."""
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)  # gave tracking consent
    token = _prefs(account, list_id, ANN)
    page = client.http.get(f"/p/{token}").body.decode()
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    body = f"nonce={nonce}&list_id={list_id}" + ("" if choice is None else f"&choice={choice}")
    answer = client.http.post(f"/p/{token}/tracking", headers=FORM, body=body.encode())
    assert answer.status_code == 400 and "opens and clicks" in answer.body.decode()
    tracking = stored(list_id, ANN).tracking
    assert tracking.given_at and tracking.withdrawn_at is None
