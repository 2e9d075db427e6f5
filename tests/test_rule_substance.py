"""Tests that bite (issue 14): each asserts the substance of a rule where a small, plausible bug once
went unnoticed. tests/mutation/handmade.toml holds those bugs; `make handmade-mutants` re-applies
each one and checks that a test named for its rule fails."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.lists import CONSENT, new_list, stored, subscribe
from tests.support.queues import take

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
                   "email,consent_given_at,consent_ip,consent_user_agent,consent_form_url,consent_text_version\n"
                   "ann@example.com,2025-05-01T10:00:00Z,198.51.100.4,Firefox/128,https://acme.example/join,1\n"
                   "bob@example.com,2025-05-02T10:00:00Z,,Safari/17,,\n")
    assert done["counts"]["confirmed"] == 2, done
    shown = client.http.get(f"/v1/lists/{list_id}/subscribers/{ANN}", headers=headers)
    ann = json.loads(shown.body)["consent"]
    assert ann["source"] == "import" and ann["ip"] == "198.51.100.4"
    assert ann["user_agent"] == "Firefox/128"
    assert ann["form_url"] == "https://acme.example/join"
    # The row names the version the person agreed to: the older text, not the list's current one.
    assert ann["consent_text_version"] == 1 and ann["consent_text"] == CONSENT
    bob = stored(list_id, "bob@example.com").consent
    assert bob.user_agent == "Safari/17"
    assert int(bob.consent_text_version) == 2, "a row without a version agreed to the current text"


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


def _footer_mail(html: str) -> tuple[str, str]:
    import email
    from email.policy import default as default_policy

    from chalicelib.config import signer
    from chalicelib.domain.accounts import AccountProfile
    from chalicelib.domain.campaigns import CampaignContent, Channel, with_text_part
    from chalicelib.domain.marketing_mail import ListSettings, compose_marketing_email
    from chalicelib.domain.mime import build_mime
    from chalicelib.domain.subscriptions import Contact

    sender = AccountProfile(name="Acme Ltd", postal_address="1 Main Street, 010101 Bucharest, Romania",
                            contact_email="contact@acme.example", sender_identity="news@acme.example")
    content = with_text_part(CampaignContent(
        channel=Channel.EMAIL, list_ids=frozenset({"lst_1"}), subject="News", html=html,
        from_address="news@acme.example", from_name="Acme"), None)
    mail = compose_marketing_email(
        signer=signer(), account_id="acc_1", campaign_id="cmp_1", content=content,
        recipient=Contact(email=ANN, name="Ann"), sender=sender, public_base_url="https://t.example",
        mailing_list=ListSettings(list_id="lst_1", name="News", track_opens=False, track_clicks=False))
    message = email.message_from_bytes(build_mime(mail), policy=default_policy)
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


@pytest.mark.parametrize("shown", ["contact@acme.example", "1 Main Street, 010101 Bucharest, Romania"])
def test_p08_a_template_showing_only_part_of_the_identity_still_gets_the_whole_footer(aws, shown):
    text, html = _footer_mail(f"<p>Hello</p><footer>Acme Ltd, {shown}</footer>")
    for part in (text, html):
        assert "1 Main Street, 010101 Bucharest, Romania" in part
        assert "contact@acme.example" in part
    assert '<a href="mailto:contact@acme.example">' in html, "the footer was added"
