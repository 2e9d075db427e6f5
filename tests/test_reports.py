"""Campaign reports (P13, P14): every figure, as aggregates; never contact data; tenants apart."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import time_machine

from chalicelib.cli import create_account_with_key
from chalicelib.config import signer
from chalicelib.domain.campaign_report import build_report
from chalicelib.domain.mail_links import FORWARD, UNSUBSCRIBE, link_token
from tests.support.api import FORM, bearer
from tests.support.campaigns import campaign_of, create_campaign, report, report_body
from tests.support.counters import add_sent
from tests.support.events import ses_event, sns_body, sqs_event
from tests.support.lists import new_list, subscribe
from tests.support.mail import sent_mails
from tests.support.queues import run_queues, run_tracking_worker, take
from tests.support.tables import scanned
from tests.support.tracking import IMAGE_ACCEPT, OPEN_AGENT, claim_for, click_path, open_path

SENT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
PHONE = "+40712345678"
READERS = ["ann@example.com", "bob@example.com", "cat@example.com"]


def _feedback(client: Any, sample: str, recipient: str, tags: dict[str, str], **detail: Any) -> None:
    event = sqs_event(sns_body(ses_event(sample, recipient, tags, **detail)))
    assert client.lambda_.invoke("feedback_worker", event).payload == {"batchItemFailures": []}


def _campaign_with_activity(client: Any, account: dict[str, Any]) -> tuple[str, str]:
    account_id = account["account_id"]
    list_id = new_list(client, bearer(account["api_key"]))
    with time_machine.travel(SENT, tick=False):  # they stood when the campaign mailed them (P13)
        for email in READERS:
            subscribe(account_id, list_id, email, name="Ann Reader", phone=PHONE, given_at=SENT,
                      ip="203.0.113.7", user_agent=OPEN_AGENT)
    campaign_id = campaign_of(account_id, list_id)
    tags = {"account": account_id, "list": list_id, "campaign": campaign_id, "kind": "campaign"}
    # The sender counts what it sent (SES is asked for no Send or Delivery events).
    add_sent(campaign_id, len(READERS), 0)
    _feedback(client, "event-bounce.json", READERS[2], tags)
    _feedback(client, "event-complaint.json", READERS[1], tags)
    ann = claim_for(account_id, list_id, READERS[0], campaign_id)
    with time_machine.travel(SENT, tick=False):
        paths = [open_path(ann), click_path(ann, "https://shop.example/spring?who=ann@example.com")]
        unsubscribe = link_token(signer(), UNSUBSCRIBE, ann)
        forward = link_token(signer(), FORWARD, ann)
    with time_machine.travel(SENT + timedelta(hours=1), tick=False):
        for path in paths:
            client.http.get(path, headers={"User-Agent": OPEN_AGENT, "Accept": IMAGE_ACCEPT,
                                           "CloudFront-Viewer-Country": "RO"})
        client.http.post(f"/fwd/{forward}", headers=FORM, body=urlencode({"email": "friend@example.org"}))
        client.http.post(f"/u/{unsubscribe}", headers=FORM, body="List-Unsubscribe=One-Click")
    run_tracking_worker(take("tracking"))
    return list_id, campaign_id


def test_p13_report_shows_every_figure(client, account, verified_sender, behind_cloudfront):
    _, campaign_id = _campaign_with_activity(client, account)
    body = report_body(client, account, campaign_id)
    assert body["sent"] == 3 and body["delivered"] == 2
    assert body["bounced"] == {"hard": 1, "soft": 0} and body["complaints"] == 1
    assert body["opens"]["unique"] == 1 and body["opens"]["human"] == {"total": 1, "unique": 1}
    assert body["clicks"]["links"] == [
        {"url": "https://shop.example/spring", "total": 1, "unique": 1, "human": 1, "machine": 0}]
    assert body["unsubscribes"] == 1 and body["forwards"] == 1
    assert body["countries"] == [{"country": "RO", "opens": 1, "human": 1, "machine": 0}]


def test_p13_repeated_ses_events_count_once_on_the_report(client, account):
    list_id = new_list(client, bearer(account["api_key"]))
    campaign_id = campaign_of(account["account_id"], list_id)
    tags = {"account": account["account_id"], "list": list_id, "campaign": campaign_id, "kind": "campaign"}
    add_sent(campaign_id, 2, 0)
    bounce = sns_body(ses_event("event-bounce.json", READERS[0], tags, ses_message_id="0100-same"))
    delivery = sns_body(ses_event("event-delivery.json", READERS[1], tags, ses_message_id="0100-other"))
    for _ in range(2):
        client.lambda_.invoke("feedback_worker", sqs_event(bounce, delivery))
    body = report_body(client, account, campaign_id)
    # A Delivery that still arrives adds nothing: delivered is derived, from one source only.
    assert body["bounced"]["hard"] == 1 and body["sent"] == 2 and body["delivered"] == 1


@pytest.mark.parametrize("bounces, hard, soft", [
    pytest.param(("Transient", "Permanent"), 1, 0, id="transient-then-permanent"),
    pytest.param(("Permanent", "Transient"), 1, 0, id="reordered-permanent-first"),
    pytest.param(("Transient", "Permanent", "Transient", "Permanent"), 1, 0, id="interleaved-repeats"),
    pytest.param(("Transient", "Transient"), 0, 1, id="transient-only"),
])
def test_p13_one_mail_that_bounced_twice_counts_once_in_its_final_state(client, account, bounces,
                                                                         hard, soft):
    # SES may send a transient and then (or, reordered, before) a permanent bounce of one mail;
    # each record arrives twice (SQS redelivers). Three mails sent, one bounced.
    list_id = new_list(client, bearer(account["api_key"]))
    campaign_id = campaign_of(account["account_id"], list_id)
    tags = {"account": account["account_id"], "list": list_id, "campaign": campaign_id, "kind": "campaign"}
    add_sent(campaign_id, 3, 0)
    for bounce_type in bounces:
        body = sns_body(ses_event("event-bounce.json", READERS[0], tags, bounceType=bounce_type,
                                  bounceSubType="General"))
        event = sqs_event(body, body)
        assert client.lambda_.invoke("feedback_worker", event).payload == {"batchItemFailures": []}
    body = report_body(client, account, campaign_id)
    assert (body["delivered"], body["bounced"]) == (2, {"hard": hard, "soft": soft})


def test_p14_no_address_phone_or_ip_appears_in_any_report(client, account, verified_sender, logs):
    from tests.support.privacy_scan import contact_forms

    _, campaign_id = _campaign_with_activity(client, account)
    text = report(client, account, campaign_id).body.decode()
    for secret in [*READERS, "friend@example.org", PHONE, "203.0.113.7", "127.0.0.1", "@"]:
        assert secret not in text
    # Every form (case, local part, hashes, the name, the phone written any way), in the report
    # and in everything logged while the readers were mailed, tracked and reported on.
    forms = contact_forms([*READERS, "friend@example.org"], phones=[PHONE], names=["Ann Reader"],
                          ips=["203.0.113.7"])
    assert forms.found_in(text) == []
    assert forms.found_in(logs.text) == []


# --- P14: a clicked link is named as the campaign's author wrote it, never as rendered ------------

def _sent(client: Any, account: dict[str, Any], headers: dict[str, str], html: str,
          readers: dict[str, str]) -> tuple[str, dict[str, list[str]]]:
    """A campaign of `html` sent at SENT to `readers` (address → name) of a new list: its id, and
    the paths of each reader's tracked links, in the order of their mail."""
    list_id = new_list(client, headers)
    for address, name in readers.items():
        subscribe(account["account_id"], list_id, address, name=name)
    campaign_id = create_campaign(client, headers, [list_id], html=html)["campaign_id"]
    with time_machine.travel(SENT):
        sent = client.http.post(f"/v1/campaigns/{campaign_id}/send", headers=headers, body="")
        assert sent.status_code == 202 and run_queues(client) == []
    links: dict[str, list[str]] = {}
    for mail in sent_mails():
        html_part = mail.get_body(preferencelist=("html",)).get_content()
        assert "\x1f" not in html_part, "no mark of the written links is left in the mail"
        found = re.findall(r'href="([^"]+/t/c/[^"]+)"', html_part)
        links[str(mail["To"])] = [urlsplit(url).path for url in found]
    return campaign_id, links


def _click(client: Any, path: str) -> str:
    """Follow a tracked link as a reader's browser does, an hour after SENT; where it leads."""
    with time_machine.travel(SENT + timedelta(hours=1), tick=False):
        response = client.http.get(path, headers={"User-Agent": OPEN_AGENT, "Accept": "text/html"})
    assert response.status_code == 302, response.body
    return response.headers["Location"]


def _stats_text() -> str:
    from chalicelib.store.models import CampaignStat

    return json.dumps(list(scanned(CampaignStat)))


def _row(url: str, readers: int) -> dict[str, Any]:
    """A report's row of a link that `readers` people clicked once each."""
    return {"url": url, "total": readers, "unique": readers, "human": readers, "machine": 0}


ANN_AND_BOB = {"ann@example.com": "Ann", "bob@example.com": "Bob"}


def test_p14_a_personalised_path_is_reported_as_written_once_for_every_reader(client, account, headers):
    html = '<p>Hi</p><a href="https://shop.example/account/{{ email }}">Your account</a>'
    campaign_id, links = _sent(client, account, headers, html, ANN_AND_BOB)
    for address, (path,) in links.items():
        assert _click(client, path) == f"https://shop.example/account/{address}", "their own page"
    run_tracking_worker(take("tracking"))
    report_text = report(client, account, campaign_id).body.decode()
    assert json.loads(report_text)["clicks"]["links"] == [_row("https://shop.example/account/{{ email }}", 2)]
    for secret in ("ann@", "bob@", "@example.com"):
        assert secret not in report_text and secret not in _stats_text()


def test_p14_a_personalised_query_and_fragment_go_no_further_than_the_redirect(client, account, headers):
    html = '<a href="https://shop.example/spring?who={{ email }}&amp;n={{ name }}#hi-{{ name }}">Spring</a>'
    campaign_id, links = _sent(client, account, headers, html, {"ann@example.com": "Zelda"})
    (path,) = links["ann@example.com"]
    assert _click(client, path) == "https://shop.example/spring?who=ann@example.com&n=Zelda#hi-Zelda"
    records = take("tracking")
    # The queued click carries the link's label, so not the name, which nothing else queues.
    assert [json.loads(record["body"])["label"] for record in records] == ["https://shop.example/spring"]
    assert not [record for record in records if "Zelda" in record["body"]]
    run_tracking_worker(records)
    assert report_body(client, account, campaign_id)["clicks"]["links"] == [
        _row("https://shop.example/spring", 1)]
    assert "Zelda" not in _stats_text() and "ann@" not in _stats_text()


def test_p14_two_written_links_of_one_host_stay_two_rows(client, account, headers):
    html = ('<a href="https://shop.example/account/{{ email }}">Account</a>'
            '<a href="https://shop.example/orders/{{ email }}?page=1">Orders</a>')
    campaign_id, links = _sent(client, account, headers, html, ANN_AND_BOB)
    for path in [*links["ann@example.com"], links["bob@example.com"][0]]:
        _click(client, path)
    run_tracking_worker(take("tracking"))
    assert report_body(client, account, campaign_id)["clicks"]["links"] == [
        _row("https://shop.example/account/{{ email }}", 2),
        _row("https://shop.example/orders/{{ email }}", 1)]


def test_p28_another_tenants_campaign_report_is_404(client, account):
    list_id = new_list(client, bearer(account["api_key"]))
    campaign_id = campaign_of(account["account_id"], list_id)
    other = create_account_with_key("Other Ltd", {"postal_address": "2 Side Street",
                                                  "contact_email": "c@other.example",
                                                  "sender_identity": "news@other.example"})
    response = report(client, other, campaign_id)
    assert response.status_code == 404
    assert json.loads(response.body)["error"]["code"] == "not_found"
    assert report(client, account, "cmp_missing").status_code == 404


def test_p13_an_untouched_campaign_reports_zeros():
    body = build_report("cmp_1", {})
    assert body["sent"] == body["opens"]["total"] == body["clicks"]["total"] == 0
    assert body["clicks"]["links"] == [] and body["countries"] == []


def test_p13_report_adds_up_counters_it_knows_and_ignores_others():
    body = build_report("cmp_1", {"opens#total#human": 3, "opens#total#machine": 2, "opens#unique#any": 2,
                                  "opens#unique#human": 2, "clicks#total#machine#https://a.example/": 4,
                                  "clicks#unique#any#https://a.example/": 1, "some#new#counter": 9})
    assert body["opens"]["total"] == 5 and body["opens"]["unique"] == 2
    assert body["clicks"]["total"] == 4 and body["clicks"]["machine"] == {"total": 4, "unique": 0}
