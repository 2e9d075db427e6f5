"""Tests that bite (issue 14): each asserts the substance of a rule where a small, plausible bug once
went unnoticed. tests/mutation/handmade.toml holds those bugs; `make handmade-mutants` re-applies
each one and checks that a test named for its rule fails."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.api import bearer
from tests.support.lists import CONSENT, new_list, stored, subscribe
from tests.support.queues import deliver, take

ANN = "ann@example.com"
CSV = {"Content-Type": "text/csv"}


def _import(client: Any, headers: dict[str, str], list_id: str, text: str) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.workers.imports import import_record

    accepted = client.http.post(f"/v1/lists/{list_id}/imports", headers={**headers, **CSV},
                                body=text.encode("utf-8"))
    assert accepted.status_code == 202, accepted.body
    for record in take("imports"):
        import_record(SQSRecord(record))
    job = json.loads(accepted.body)
    done = client.http.get(f"/v1/lists/{list_id}/imports/{job['import_id']}", headers=headers)
    return json.loads(done.body)


# --- P02: an import keeps every part of the consent proof -----------------------------------------

def test_p02_an_import_stores_and_shows_each_rows_user_agent_and_consent_text_version(client, headers):
    list_id = new_list(client, headers)
    later = "Yes, send me news and offers."
    assert client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                             body=json.dumps({"consent_text": later})).status_code == 200
    done = _import(client, headers, list_id,
                   "email,consent_given_at,consent_source,consent_ip,consent_user_agent,consent_form_url,"
                   "consent_text_version\n"
                   "ann@example.com,2025-05-01T10:00:00Z,shop signup,198.51.100.4,Firefox/128,"
                   "https://acme.example/join,1\n"
                   "bob@example.com,2025-05-02T10:00:00Z,,,Safari/17,,\n")
    # Ann's proof is complete: confirmed. Bob's is not: recorded as far as it goes, and mailed.
    assert (done["counts"]["confirmed"], done["counts"]["pending"]) == (1, 1), done
    shown = client.http.get(f"/v1/lists/{list_id}/subscribers/{ANN}", headers=headers)
    ann = json.loads(shown.body)["consent"]
    assert ann["source"] == "import" and ann["ip"] == "198.51.100.4"
    assert ann["user_agent"] == "Firefox/128"
    assert ann["form_url"] == "https://acme.example/join"
    # The row names the version the person agreed to: the older text, not the list's current one.
    assert ann["consent_text_version"] == 1 and ann["consent_text"] == CONSENT
    bob = stored(list_id, "bob@example.com")
    assert bob.status == "pending" and bob.consent.user_agent == "Safari/17"
    # Bob's row names no version: his consent (2025) predates the later text, so he agreed to the first.
    assert int(bob.consent.consent_text_version) == 1, "a row without a version agreed to the text then"


def test_p02_an_imported_row_naming_a_version_the_list_never_had_is_refused(client, headers):
    list_id = new_list(client, headers)
    done = _import(client, headers, list_id,
                   "email,consent_given_at,consent_text_version\nann@example.com,2025-05-01T10:00:00Z,7\n")
    assert [(error["line"], error["field"]) for error in done["errors"]] == [(2, "consent_text_version")]
    assert stored(list_id, ANN) is None


# --- P08: the sender is identified ------------------------------------------------------------------

def test_p08_p35_at_send_time_the_campaigns_own_from_address_is_checked_not_the_profiles(
        client, account, headers):
    """The profile's identity (news@acme.example) is verified; the campaign's From is another
    identity that lapsed after the campaign was saved: the send is refused naming from_address."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    added = client.http.post("/v1/senders", headers=headers, body=json.dumps({"identity": "shop.example"}))
    assert added.status_code == 201, added.body
    body = {"name": "Spring", "list_ids": [list_id], "subject": "Hi", "html": "<p>Hi</p>",
            "from_address": "hello@shop.example"}
    saved = client.http.post("/v1/campaigns", headers=headers, body=json.dumps(body))
    assert saved.status_code == 201, saved.body
    identities = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].email_identities
    identities["shop.example"].verification_status = "FAILED"
    campaign_id = json.loads(saved.body)["campaign_id"]
    refused = client.http.post(f"/v1/campaigns/{campaign_id}/send", headers=headers)
    assert refused.status_code == 409, refused.body
    assert json.loads(refused.body)["error"]["field"] == "from_address"
    assert take("fanout") == []


@pytest.mark.parametrize("shown", ["contact@acme.example", "1 Main Street, 010101 Bucharest, Romania"])
def test_p08_a_template_showing_only_part_of_the_identity_still_gets_the_whole_footer(shown):
    from tests.support.mail import composed

    text, html = composed(f"<p>Hello</p><footer>Acme Ltd, {shown}</footer>")
    for part in (text, html):
        assert "1 Main Street, 010101 Bucharest, Romania" in part
        assert "contact@acme.example" in part
    assert '<a href="mailto:contact@acme.example">' in html, "the footer was added"


# --- P12: imports honour every suppression ----------------------------------------------------------

@pytest.mark.parametrize("scope", ["platform", "list"])
def test_p12_an_import_skips_a_platform_opt_out_and_a_list_unsubscribe_and_mails_neither(
        client, account, headers, scope):
    from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason
    from chalicelib.store.suppressions import suppress
    from tests.support.mail import sent_mails

    list_id = new_list(client, headers)
    if scope == "platform":
        suppress(PLATFORM_SCOPE, ANN, SuppressionReason.PLATFORM_OPT_OUT)
    else:
        suppress(account["account_id"], ANN, SuppressionReason.UNSUBSCRIBED, list_id=list_id)
    done = _import(client, headers, list_id, "email\nAnn@Example.com\nbob@example.com\n")
    assert done["counts"]["suppressed"] == 1 and done["counts"]["pending"] == 1, done
    assert stored(list_id, ANN) is None
    deliver(take("outbox"))
    assert [mail["To"] for mail in sent_mails()] == ["bob@example.com"]


# --- P13: delivered is what neither bounced hard nor soft --------------------------------------------

def test_p13_delivered_counts_neither_hard_nor_soft_bounces():
    from chalicelib.domain.campaign_report import build_report

    report = build_report("cmp_1", {"sent": 100, "bounces#hard": 3, "bounces#soft": 2, "complaints": 1})
    assert report["campaign_id"] == "cmp_1" and report["sent"] == 100
    assert report["delivered"] == 95
    assert report["bounced"] == {"hard": 3, "soft": 2} and report["complaints"] == 1
    assert build_report("cmp_1", {"sent": 1, "bounces#soft": 5})["delivered"] == 0, "never below zero"


# --- P14: sharing a campaign logs no reader data --------------------------------------------------

def test_p14_the_forward_and_web_view_routes_log_no_reader_data(client, account, verified_sender, logs):
    import re
    from urllib.parse import urlencode

    from chalicelib.config import signer
    from chalicelib.domain.mail_links import FORWARD, link_token
    from tests.support.api import FORM
    from tests.support.privacy_scan import contact_forms
    from tests.support.tracking import READER, claim_for, mailed_reader

    mailed = mailed_reader(client, account)
    token = link_token(signer(), FORWARD, claim_for(account["account_id"], mailed["list_id"], READER,
                                                    mailed["campaign_id"]))
    assert client.http.get(f"/fwd/{token}").status_code == 200
    shared = client.http.post(f"/fwd/{token}", headers=FORM, body=urlencode({"email": "friend@example.org"}))
    assert shared.status_code == 200
    view = re.search(r'href="http://127\.0\.0\.1:8000(/v/[^"]+)"', shared.body.decode())
    assert view and client.http.get(view.group(1)).status_code == 200
    assert mailed["campaign_id"] in logs.text, "the share was logged (so the capture works)"
    forms = contact_forms([READER, "friend@example.org"], names=["Reader"])
    assert forms.found_in(logs.text) == []
    assert token not in logs.text, "the reader's link is a credential"


# --- P15: opens and clicks are switched separately -------------------------------------------------

@pytest.mark.parametrize(("opens", "clicks"), [(True, False), (False, True)])
def test_p15_a_list_tracking_only_opens_or_only_clicks_gets_exactly_that(client, account, headers,
                                                                        opens, clicks):
    from tests.support.campaigns import create_campaign
    from tests.support.mail import parsed, sent_raw
    from tests.support.queues import run_queues

    list_id = new_list(client, headers)
    patched = client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                                body=json.dumps({"tracking": {"opens": opens, "clicks": clicks}}))
    assert patched.status_code == 200, patched.body
    subscribe(account["account_id"], list_id, ANN)
    campaign = create_campaign(client, headers, [list_id])
    started = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers)
    assert started.status_code == 202, started.body
    run_queues(client)
    html = parsed(sent_raw()[0]).get_body(("html",)).get_content()
    assert ("/t/o/" in html) is opens
    assert ("/t/c/" in html) is clicks
    assert ('href="https://acme.example/sale"' in html) is not clicks


# --- P16: the CSV export holds the consent proof ----------------------------------------------------

def test_p16_the_portability_csv_holds_the_consent_text_and_its_version(client, headers):
    import csv
    import io

    from tests.support.privacy import PERSON, add, completed, export_of

    list_id = new_list(client, headers, double_opt_in=False)
    add(client, headers, list_id)
    later = "Yes, and offers too."
    client.http.patch(f"/v1/lists/{list_id}", headers=headers, body=json.dumps({"consent_text": later}))
    view = completed(client, headers, type="portability", email=PERSON)
    response = export_of(client, headers, view["request_id"], "csv")
    body = response.body.decode() if isinstance(response.body, bytes) else response.body
    [row] = list(csv.DictReader(io.StringIO(body)))
    assert row["consent_text_version"] == "1" and row["consent_text"] == CONSENT
    assert row["consent_source"] == "api" and row["consent_given_at"].startswith("2025-01-31T09:30")


# --- P20: "exists" looks in every table with personal data -----------------------------------------

def test_p20_exists_answers_yes_for_a_person_known_only_from_a_message_sent_to_them(client, headers):
    from tests.support.privacy import completed

    sent = client.http.post("/v1/messages", headers=headers,
                            body=json.dumps({"to": ANN, "subject": "Your receipt", "text": "Thanks"}))
    assert sent.status_code == 202, sent.body
    deliver(take("outbox"))
    assert completed(client, headers, type="exists", email=ANN)["outcome"] == {"held": True}
    assert completed(client, headers, type="exists", email="bob@example.com")["outcome"] == {"held": False}


# --- P25: a purge never touches data still within its period -----------------------------------------

def test_p25_a_signup_renewed_after_the_purge_read_the_index_is_kept(aws, monkeypatch):
    """The purge finds due signups through an index, which DynamoDB updates eventually: the item it
    read may have been renewed since. The conditional delete keeps the renewed signup."""
    from chalicelib.domain.subscriptions import ConsentEvidence, Contact, Source, Status
    from chalicelib.store import retention as retention_store
    from chalicelib.store.models import Subscriber
    from chalicelib.store.subscribers import write_signup
    from tests.support.retention import day, on_day

    def signup(at: float) -> None:
        consent = ConsentEvidence(given_at=day(at), source=Source.API, consent_text_version=1)
        assert write_signup("acc_1", "lst_1", Contact(email=ANN), consent, Status.PENDING) is not None

    with on_day(0):
        signup(0)
    with on_day(8):
        stale = [entry for bucket in retention_store.due_buckets(day(8))
                 for entry in retention_store._expired(Subscriber, bucket, day(8))]
        assert [entry.address for entry in stale] == [ANN], "the index lists the expired signup"
        signup(8)  # renewed: a new consent with new 7 days
        monkeypatch.setattr(retention_store, "_expired",
                            lambda model, bucket, at: iter(stale) if model is Subscriber else iter(()))
        progress = retention_store.purge_expired_signups(day(8), lambda: True)
        assert progress.count == 0
        assert Subscriber.get("lst_1", ANN).status == Status.PENDING.value


# --- P27: sensitive actions are audited --------------------------------------------------------------

def test_p27_the_account_export_is_audited_on_every_page(client, account):
    from chalicelib.store.audit import entries

    headers = bearer(account["api_key"])
    response = client.http.get("/v1/account/export", headers=headers)
    assert response.status_code == 200, response.body
    actions = [entry.action for entry in entries(account["account_id"])]
    assert actions.count("account.exported") == 1


# --- P12, P14: a reader's forward link ends with the reader --------------------------------------

@pytest.fixture
def forward_claim(client, account, verified_sender):
    from tests.support.tracking import READER, claim_for, mailed_reader

    mailed = mailed_reader(client, account)
    return claim_for(account["account_id"], mailed["list_id"], READER, mailed["campaign_id"])


def _forward_refused(claim) -> Any:
    from chalicelib.config import signer
    from chalicelib.domain.mail_links import FORWARD, link_token
    from chalicelib.services.forwarding import LinkEnded, reader_link

    with pytest.raises(LinkEnded) as ended:
        reader_link(link_token(signer(), FORWARD, claim))
    assert ended.value.field == "token" and ended.value.status == 410
    return ended.value


def test_p12_p14_a_forward_link_ends_when_its_reader_is_suppressed_even_while_still_confirmed(
        forward_claim):
    from chalicelib.config import signer
    from chalicelib.domain.mail_links import FORWARD, link_token
    from chalicelib.domain.suppression import SuppressionReason
    from chalicelib.services.forwarding import reader_link
    from chalicelib.store.suppressions import suppress

    assert reader_link(link_token(signer(), FORWARD, forward_claim)) == forward_claim
    suppress(forward_claim.account_id, forward_claim.address, SuppressionReason.UNSUBSCRIBED,
             list_id=forward_claim.list_id)
    assert stored(forward_claim.list_id, forward_claim.address).status == "confirmed"
    _forward_refused(forward_claim)


def test_p12_p14_a_forward_link_ends_on_a_platform_opt_out(forward_claim):
    from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason
    from chalicelib.store.suppressions import suppress

    suppress(PLATFORM_SCOPE, forward_claim.address, SuppressionReason.PLATFORM_OPT_OUT)
    _forward_refused(forward_claim)


def test_p14_p28_a_forward_link_ends_when_the_entry_is_not_confirmed_or_not_of_the_links_account(
        forward_claim):
    from dataclasses import replace

    from chalicelib.cli import create_account_with_key
    from chalicelib.store.models import Subscriber

    other = create_account_with_key("Other Ltd", {})
    _forward_refused(replace(forward_claim, account_id=other["account_id"]))
    Subscriber(list_id=forward_claim.list_id, address=forward_claim.address).update(
        actions=[Subscriber.status.set("unsubscribed")])
    _forward_refused(forward_claim)


# --- P08/P35 save checks: the lists' attributes and the derived text ----------------------------

def test_p08_a_campaign_on_two_lists_may_use_the_attributes_either_list_declares(client, headers):
    from tests.support.campaigns import create_campaign

    first = new_list(client, headers, "A", attributes=("city",))
    second = new_list(client, headers, "B", attributes=("plan",))
    lists = sorted([first, second])
    created = create_campaign(client, headers, lists, filter={"city": "Cluj", "plan": "gold"},
                              html="<p>{{ attributes.city }} {{ attributes.plan }}</p>")
    assert created["filter"] == {"city": "Cluj", "plan": "gold"}


def test_p08_an_error_in_the_text_derived_from_the_html_names_the_html(client, headers):
    list_id = new_list(client, headers)
    body = {"name": "x", "list_ids": [list_id], "subject": "Hi", "html": "<p>&#123;&#123; oops</p>"}
    refused = client.http.post("/v1/campaigns", headers=headers, body=json.dumps(body))
    assert refused.status_code == 400, refused.body
    assert json.loads(refused.body)["error"]["field"] == "html"
