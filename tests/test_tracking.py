"""Open pixel, click redirect, country, human or machine, and the tracking worker (P13, P15)."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine

from bench.aws_calls import count_aws_calls
from chalicelib.domain.country import UNKNOWN, viewer_country
from chalicelib.domain.engagement import PREFETCH_WINDOW, Viewer, classify
from tests.support.campaigns import campaign_of, report, report_body
from tests.support.lists import subscribe
from tests.support.queues import run_tracking_worker, take
from tests.support.tables import every_item_text
from tests.support.tracking import (
    IMAGE_ACCEPT,
    LATER,
    OPEN_AGENT,
    READER,
    SENT,
    TAMPERED_TOKENS,
    claim_for,
    click_path,
    click_path_before_labels,
    mailed_reader,
    open_path,
)

BASE_URL = "https://lists.acme.example"


@pytest.fixture
def mailed(client: Any, account: dict[str, Any]) -> dict[str, str]:
    return mailed_reader(client, account)


def _claim(account: dict[str, Any], mailed: dict[str, str], address: str = READER) -> Any:
    return claim_for(account["account_id"], mailed["list_id"], address, mailed["campaign_id"])


def _signed(path_of: Any, *args: Any) -> str:
    with time_machine.travel(SENT, tick=False):
        return path_of(*args)


def _get(client: Any, path: str, agent: str = OPEN_AGENT, **headers: str) -> Any:
    with time_machine.travel(LATER, tick=False):
        return client.http.get(path, headers={"User-Agent": agent, "Accept": IMAGE_ACCEPT, **headers})


# --- the routes ---------------------------------------------------------------------------------

def test_p13_pixel_is_a_43_byte_gif_that_is_never_cached(client, account, mailed):
    response = _get(client, _signed(open_path, _claim(account, mailed)))
    assert response.status_code == 200
    assert response.body[:6] == b"GIF89a" and len(response.body) == 43
    assert response.headers["Content-Type"] == "image/gif"
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize("accept", [None, "image/webp,image/png"])
def test_p13_pixel_fetch_without_a_gif_accept_is_counted_and_answered_204(client, account, mailed, accept):
    path = _signed(open_path, _claim(account, mailed))
    with time_machine.travel(LATER, tick=False):
        headers = {"User-Agent": OPEN_AGENT} | ({"Accept": accept} if accept else {})
        response = client.http.get(path, headers=headers)
    assert response.status_code == 204 and "no-store" in response.headers["Cache-Control"]
    assert len(take("tracking")) == 1


def test_pixel_makes_exactly_one_aws_call_an_sqs_send(client, account, mailed):
    path = _signed(open_path, _claim(account, mailed))
    _get(client, path)  # a warm container: the queue URL is looked up once per container
    with count_aws_calls() as calls:
        assert _get(client, path).status_code == 200
    assert calls.by_operation == {"sqs.SendMessage": 1}


def test_p13_click_redirects_to_the_signed_target_and_queues_one_event(client, account, mailed):
    path = _signed(click_path, _claim(account, mailed), "https://shop.example/spring?utm=mail")
    _get(client, path)
    take("tracking")
    with count_aws_calls() as calls:
        response = _get(client, path)
    assert response.status_code == 302
    assert response.headers["Location"] == "https://shop.example/spring?utm=mail"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert calls.by_operation == {"sqs.SendMessage": 1}
    (record,) = take("tracking")
    assert json.loads(record["body"])["action"] == "clicks"


@pytest.mark.parametrize("mangle", TAMPERED_TOKENS)
def test_p13_tampered_or_unsigned_click_is_400_and_never_a_redirect(client, account, mailed, mangle):
    token = _signed(click_path, _claim(account, mailed), "https://shop.example/").rsplit("/", 1)[1]
    response = _get(client, f"/t/c/{mangle(token)}")
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert take("tracking") == []


def test_p13_an_open_token_is_not_a_click_token(client, account, mailed):
    token = _signed(open_path, _claim(account, mailed)).rsplit("/", 1)[1]
    response = _get(client, f"/t/c/{token}")
    assert response.status_code == 400 and "Location" not in response.headers


def test_p13_tampered_pixel_token_is_400_and_counts_nothing(client, account, mailed):
    path = _signed(open_path, _claim(account, mailed))
    assert _get(client, path + "x").status_code == 400
    assert take("tracking") == []


@pytest.mark.parametrize("href", ["HTTPS://shop.example/sale", "HtTp://shop.example/sale"])
def test_p13_a_link_written_with_an_upper_case_scheme_is_tracked_and_its_click_still_redirects(
        client, account, mailed, href):
    """A scheme is case-insensitive: composing tracks `HTTPS://...`, so the click route must follow
    it, not answer 400 with the click lost."""
    response = _get(client, _composed_click_path(account, mailed, href))
    assert response.status_code == 302, response.body[:200]
    assert response.headers["Location"] == href
    (record,) = take("tracking")
    assert json.loads(record["body"])["label"] == href


@pytest.mark.parametrize(("href", "followed"), [
    # An editor wrapping a long link: the browser drops the line break and follows the rest.
    ("https://shop.example/sale?utm_source=news\n&amp;utm_medium=mail",
     "https://shop.example/sale?utm_source=news&utm_medium=mail"),
    ("https://shop.example/sale&#10;Set-Cookie: a=b", "https://shop.example/saleSet-Cookie:%20a=b"),
    ("https://shop.example/\treduceri-toamnă?q=ș&amp;r=50%25",
     "https://shop.example/reduceri-toamn%C4%83?q=%C8%99&r=50%25"),
])
def test_p13_a_click_on_a_link_with_a_line_break_or_non_ascii_goes_where_a_browser_would(
        client, account, mailed, href, followed):
    """A browser follows an href without its tabs and line breaks, and percent-encodes what a URL
    cannot hold as is. The click route does the same: its Location header carries no line break
    (a 500, with the reader's click going nowhere) and only ASCII (what a header can carry)."""
    response = _get(client, _composed_click_path(account, mailed, href))
    assert response.status_code == 302, response.body[:200]
    assert response.headers["Location"] == followed
    assert len(take("tracking")) == 1


def _composed_click_path(account: dict[str, Any], mailed: dict[str, str], href: str) -> str:
    """The click link composing makes of `<a href="{href}">` (as written in the campaign's HTML)."""
    from chalicelib.config import signer
    from chalicelib.domain.accounts import AccountProfile
    from chalicelib.domain.campaigns import CampaignContent, Channel, with_text_part
    from chalicelib.domain.marketing_mail import ListSettings, compose_marketing_email
    from chalicelib.domain.subscriptions import Contact

    content = with_text_part(CampaignContent(
        channel=Channel.EMAIL, list_ids=frozenset({mailed["list_id"]}), subject="News",
        html=f'<p><a href="{href}">Sale</a></p>', from_address="news@acme.example"), None)
    sender = AccountProfile(name="Acme Ltd", postal_address="1 Main Street, Bucharest",
                            contact_email="contact@acme.example", sender_identity="news@acme.example")
    with time_machine.travel(SENT, tick=False):
        mail = compose_marketing_email(
            signer=signer(), account_id=account["account_id"], campaign_id=mailed["campaign_id"],
            content=content, recipient=Contact(email=READER), sender=sender, public_base_url=BASE_URL,
            mailing_list=ListSettings(mailed["list_id"], "News", track_opens=False, track_clicks=True))
    (path,) = re.findall(rf'href="{re.escape(BASE_URL)}(/t/c/[^"]+)"', mail.html or "")
    return path


@pytest.mark.parametrize(("url", "web"), [
    ("HTTPS://x.example", True), ("http://x.example", True), ("hTTp://x", True),
    ("HTTPS://", False), ("JAVASCRIPT:alert(1)", False), (" https://x.example", False),
    ("\u2028https://x.example", False), ("https:/x.example", False), ("ftp://x.example", False),
    ("data:text/html,https://x.example", False),
])
def test_p13_the_click_route_follows_exactly_the_links_composing_tracks(url, web):
    """One rule for both: what composing rewrites to the click route (marketing_mail) is what the
    route redirects to (mail_links._target); anything else is a 400, never a redirect."""
    from chalicelib.config import signer
    from chalicelib.domain.mail_links import click_token, is_web_link, read_click_token
    from chalicelib.domain.tokens import TokenInvalid

    assert is_web_link(url) is web
    token = click_token(signer(), _claim_of_nobody(), url)
    if web:
        assert read_click_token(signer(), token)[1] == url
    else:
        with pytest.raises(TokenInvalid):
            read_click_token(signer(), token)


def _claim_of_nobody() -> Any:
    return claim_for("acc_1", "lst_1", READER, "cmp_1")


# --- country (P13) and no IP kept (P15) ---------------------------------------------------------

def test_p13_country_from_the_cloudfront_header(client, account, mailed, behind_cloudfront):
    _get(client, _signed(open_path, _claim(account, mailed)), **{"CloudFront-Viewer-Country": "RO"})
    (record,) = take("tracking")
    assert json.loads(record["body"])["country"] == "RO"


@pytest.mark.parametrize("declared", ["", "0", "true", "yes", " 1"])
def test_p13_a_cloudfront_country_header_is_not_believed_where_no_cloudfront_is_declared(
        client, account, mailed, settings_env, declared):
    """Anyone may write CloudFront-Viewer-Country: without TIDINGS_TRACKING_BEHIND_CLOUDFRONT=1
    exactly, the country comes from the source IP (here the test client's private one)."""
    settings_env(TIDINGS_TRACKING_BEHIND_CLOUDFRONT=declared)
    _get(client, _signed(open_path, _claim(account, mailed)), **{"CloudFront-Viewer-Country": "KP"})
    (record,) = take("tracking")
    assert json.loads(record["body"])["country"] == UNKNOWN


def test_p13_country_unknown_without_header_and_for_a_private_ip(client, account, mailed):
    _get(client, _signed(open_path, _claim(account, mailed)))  # the test client's IP is 127.0.0.1
    (record,) = take("tracking")
    assert json.loads(record["body"])["country"] == UNKNOWN


@pytest.mark.parametrize(("country", "accepted"), [
    ("RO", True), (UNKNOWN, True), ("ro", False), (" RO", False), ("RO\n", False), ("XX", False),
    ("ROU", False), ("R", False), ("", False), ("UNKNOWN", False), ("R\u2028", False),
    ("ann@example.com", False), (None, False), (40, False), (["RO"], False),
])
def test_p14_a_queued_event_whose_country_is_not_one_the_route_gives_is_refused_not_reported(
        country, accepted):
    """A queued event's country becomes a counter's name and a report's row: only what
    viewer_country gives (a code it accepts, or "unknown") is read; a malformed or forged record
    is refused like any unreadable event (the worker sends it to the DLQ), never reported."""
    from chalicelib.domain.errors import InvalidInput
    from chalicelib.domain.tracking import event_from_dict

    queued = {"id": "e1", "action": "opens", "at": "2026-01-01T00:00:00+00:00", "account": "acc_1",
              "list": "lst_1", "campaign": "cmp_1", "address": READER, "viewer": "human",
              "country": country, "label": None, "sent": None}
    if accepted:
        assert event_from_dict(queued).country == country
    else:
        with pytest.raises(InvalidInput):
            event_from_dict(queued)


def test_p13_country_rules():
    assert viewer_country("de", "8.8.8.8") == "DE"  # the header wins
    assert viewer_country(None, "8.8.8.8") == "US"  # the offline registry data
    assert viewer_country(None, "2001:4860:4860::8888") == "US"
    assert viewer_country("XX", None) == UNKNOWN
    assert viewer_country("not a code", "not an ip") == UNKNOWN
    assert viewer_country(None, "10.0.0.1") == UNKNOWN
    assert viewer_country(None, None) == UNKNOWN


def test_p15_no_ip_is_queued_or_stored_anywhere(client, account, mailed):
    _get(client, _signed(open_path, _claim(account, mailed)))
    _get(client, _signed(click_path, _claim(account, mailed), "https://shop.example/"))
    records = take("tracking")
    assert records and all("127.0.0.1" not in record["body"] for record in records)
    assert all("user_agent" not in json.loads(record["body"]) for record in records)
    assert run_tracking_worker(records) == {"batchItemFailures": []}
    assert "127.0.0.1" not in every_item_text()


# --- human or machine ---------------------------------------------------------------------------

@pytest.mark.parametrize("agent", [
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "Mozilla/5.0",  # Apple Mail Privacy Protection
    "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
    "Mozilla/5.0 (compatible; BingPreview/1.0b)",
    "Mimecast URL Protect",
    "python-requests/2.32",
    "",
    None,
])
def test_p13_proxies_and_scanners_are_machines(agent):
    assert classify(agent, LATER, SENT) is Viewer.MACHINE


def test_p13_a_fetch_right_after_sending_is_a_machine_and_later_a_person():
    assert classify(OPEN_AGENT, SENT + PREFETCH_WINDOW - timedelta(seconds=1), SENT) is Viewer.MACHINE
    assert classify(OPEN_AGENT, SENT + PREFETCH_WINDOW, SENT) is Viewer.HUMAN
    assert classify("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15",
                    LATER, SENT) is Viewer.HUMAN


def test_p13_report_counts_people_and_machines_apart(client, account, mailed):
    claim = _claim(account, mailed)
    path = _signed(open_path, claim)
    with time_machine.travel(SENT + timedelta(seconds=2), tick=False):
        client.http.get(path, headers={"User-Agent": OPEN_AGENT, "Accept": IMAGE_ACCEPT})  # prefetch
    _get(client, path, agent="Mozilla/5.0")  # Apple's privacy proxy
    _get(client, path)  # the reader
    _get(client, path)  # the reader again
    run_tracking_worker(take("tracking"))
    opens = report_body(client, account, mailed["campaign_id"])["opens"]
    assert opens == {"total": 4, "unique": 1, "human": {"total": 2, "unique": 1},
                     "machine": {"total": 2, "unique": 1}}


# --- the worker -----------------------------------------------------------------------------------

def _events(client: Any, account: dict[str, Any], mailed: dict[str, str],
            readers: int) -> list[dict[str, Any]]:
    for n in range(readers):
        address = f"reader{n}@example.com"
        subscribe(account["account_id"], mailed["list_id"], address)
        path = _signed(open_path, _claim(account, mailed, address))
        _get(client, path, **{"CloudFront-Viewer-Country": "RO"})
    return take("tracking")


def test_p13_worker_writes_each_marker_once_and_the_batchs_counters_in_one_delta(client, account, mailed,
                                                                               behind_cloudfront):
    records = _events(client, account, mailed, readers=10)
    with count_aws_calls() as calls:
        assert run_tracking_worker(records) == {"batchItemFailures": []}
    # Ten opens add to 4 counters (total, unique any, unique human, country): one delta item
    # holds them; the 10 readers' markers keep their history too (nothing else), a put each, and
    # one purge list files the 10 new markers for their mail's day 30 (P21).
    # Three reads: the readers' entries and their list (may they still be tracked? P18, P29,
    # P30), then their markers (none yet, so no delta of an earlier write to look up).
    # DynamoDB only: whether the worker's own key cache is cold here depends on which tests ran
    # before in this process (a cold one reads the hash key once, as in Lambda).
    dynamodb = {name: n for name, n in calls.by_operation.items() if name.startswith("dynamodb.")}
    assert dynamodb == {"dynamodb.PutItem": 10 + 1 + 1, "dynamodb.BatchGetItem": 3}
    assert calls.by_operation.get("secretsmanager.GetSecretValue", 0) <= 1
    body = report_body(client, account, mailed["campaign_id"])
    assert body["opens"]["unique"] == 10 and body["opens"]["human"]["total"] == 10
    assert body["countries"] == [{"country": "RO", "opens": 10, "human": 10, "machine": 0}]


def test_p13_replayed_events_are_counted_once(client, account, mailed):
    records = _events(client, account, mailed, readers=3)
    _get(client, _signed(open_path, _claim(account, mailed, "reader0@example.com")))  # a second open
    records += take("tracking")
    run_tracking_worker(records)
    before = report_body(client, account, mailed["campaign_id"])
    assert before["opens"]["total"] == 4 and before["opens"]["unique"] == 3
    # SQS redelivers all of them, in another grouping, some twice in one batch.
    assert run_tracking_worker(records[::-1] + records[:2]) == {"batchItemFailures": []}
    assert report_body(client, account, mailed["campaign_id"]) == before


def _raw_subscriber(list_id: str, address: str) -> dict[str, Any]:
    from chalicelib.clients import client as aws_client
    from chalicelib.store.models import Subscriber

    return aws_client("dynamodb").get_item(TableName=Subscriber.Meta.table_name, ConsistentRead=True,
                                           Key={"list_id": {"S": list_id}, "address": {"S": address}})["Item"]


def test_p16_counting_first_and_repeated_events_writes_no_subscriber_item(client, account, mailed):
    before = _raw_subscriber(mailed["list_id"], READER)
    _get(client, _signed(open_path, _claim(account, mailed)))
    _get(client, _signed(click_path, _claim(account, mailed), "https://shop.example/"))
    first = take("tracking")
    _get(client, _signed(open_path, _claim(account, mailed)))
    again = take("tracking")
    from chalicelib.config import hash_key

    hash_key()  # read the secret now, whether or not an earlier test did (it is cached)
    for records in (first, again):
        with count_aws_calls() as calls:
            assert run_tracking_worker(records) == {"batchItemFailures": []}
        # Markers and the delta only: no UpdateItem of an entry, no write but puts.
        assert set(calls.by_operation) == {"dynamodb.BatchGetItem", "dynamodb.PutItem"}
    assert _raw_subscriber(mailed["list_id"], READER) == before
    assert report_body(client, account, mailed["campaign_id"])["opens"]["total"] == 2


def test_p16_the_export_shows_opens_and_clicks_per_campaign_with_first_and_last_times(
        client, account, mailed):
    from chalicelib.services.privacy import export_person

    second = campaign_of(account["account_id"], mailed["list_id"])
    spring = "https://shop.example/spring"
    _get(client, _signed(open_path, _claim(account, mailed)))
    _get(client, _signed(click_path, _claim(account, mailed), f"{spring}?u=reader%40example.com"))
    with time_machine.travel(LATER + timedelta(minutes=30), tick=False):
        client.http.get(_signed(open_path, _claim(account, mailed)),
                        headers={"User-Agent": OPEN_AGENT, "Accept": IMAGE_ACCEPT})
    _get(client, _signed(open_path, claim_for(account["account_id"], mailed["list_id"], READER, second)))
    _get(client, _signed(open_path, _claim(account, mailed, "other@example.com")))
    run_tracking_worker(take("tracking"))

    rows = export_person(account["account_id"], READER)["tracking"]
    at, later = LATER.isoformat(), (LATER + timedelta(minutes=30)).isoformat()
    goes = (SENT + timedelta(days=28)).isoformat()  # the history goes within 30 days of the mail (P21)
    expected = [
        {"campaign_id": mailed["campaign_id"], "kind": "clicks", "link": spring, "first_at": at,
         "last_at": at, "count": 1, "expires_at": goes},
        {"campaign_id": mailed["campaign_id"], "kind": "opens", "link": None, "first_at": at,
         "last_at": later, "count": 2, "expires_at": goes},
        {"campaign_id": second, "kind": "opens", "link": None, "first_at": at, "last_at": at, "count": 1,
         "expires_at": goes},
    ]
    assert sorted(rows, key=lambda row: (row["campaign_id"], row["kind"])) == sorted(
        expected, key=lambda row: (row["campaign_id"], row["kind"]))
    assert "reader%40example.com" not in json.dumps(rows), "never the query string"
    assert export_person(account["account_id"], "nobody@example.com")["tracking"] == []


def test_p13_unreadable_record_fails_alone(client, account, mailed):
    records = _events(client, account, mailed, readers=1)
    bad = {"messageId": "bad-1", "body": "{\"id\": 1}"}
    assert run_tracking_worker([*records, bad]) == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
    assert report_body(client, account, mailed["campaign_id"])["opens"]["total"] == 1


def test_p13_clicks_are_counted_per_link_without_the_query(client, account, mailed):
    claim = _claim(account, mailed)
    _get(client, _signed(click_path, claim, "https://shop.example/spring?u=reader%40example.com"))
    _get(client, _signed(click_path, claim, "https://shop.example/spring?u=other"))
    _get(client, _signed(click_path, claim, "https://shop.example/autumn"))
    run_tracking_worker(take("tracking"))
    clicks = report_body(client, account, mailed["campaign_id"])["clicks"]
    assert clicks["links"] == [
        {"url": "https://shop.example/spring", "total": 2, "unique": 1, "human": 2, "machine": 0},
        {"url": "https://shop.example/autumn", "total": 1, "unique": 1, "human": 1, "machine": 0},
    ]


def test_p14_a_click_link_sent_before_labels_still_leads_home_and_counts_under_its_origin(
        client, account, mailed):
    target = f"https://shop.example/account/{READER}?page=1"
    response = _get(client, _signed(click_path_before_labels, _claim(account, mailed), target))
    assert (response.status_code, response.headers["Location"]) == (302, target)
    run_tracking_worker(take("tracking"))
    report_text = report(client, account, mailed["campaign_id"]).body.decode()
    assert json.loads(report_text)["clicks"]["links"] == [
        {"url": "https://shop.example", "total": 1, "unique": 1, "human": 1, "machine": 0}]
    assert READER not in report_text


def test_p15_ses_is_never_asked_to_track_opens_or_clicks():
    # An event destination with open or click makes SES add its own pixel and rewrite links in
    # every mail of the configuration set, lists with tracking off included.
    from chalicelib.resources import FEEDBACK_EVENT_TYPES

    assert not {"open", "click"} & set(FEEDBACK_EVENT_TYPES)


@pytest.mark.parametrize("opens, clicks", [(False, False), (False, True), (True, False)])
def test_p15_a_list_that_switched_tracking_off_counts_and_keeps_no_more_of_it(client, account, mailed,
                                                                               opens, clicks):
    # The mails already sent still carry the pixel and tracked links: the link still leads home,
    # but what the list no longer tracks is neither counted nor kept in the reader's history.
    from chalicelib.store.models import TrackingMarker
    from tests.support.api import bearer

    response = client.http.patch(f"/v1/lists/{mailed['list_id']}", headers=bearer(account["api_key"]),
                                 body=json.dumps({"tracking": {"opens": opens, "clicks": clicks}}))
    assert response.status_code == 200, response.body
    _get(client, _signed(open_path, _claim(account, mailed)))
    clicked = _get(client, _signed(click_path, _claim(account, mailed), "https://shop.example/spring"))
    assert clicked.status_code == 302 and clicked.headers["Location"] == "https://shop.example/spring"
    with count_aws_calls() as calls:
        assert run_tracking_worker(take("tracking")) == {"batchItemFailures": []}
    # The same reads as ever: the entries and their lists (one BatchGetItem each), then markers.
    assert calls.by_operation["dynamodb.BatchGetItem"] == (2 if not (opens or clicks) else 3)
    scopes = sorted(marker.scope.split("#", 1)[0] for marker in TrackingMarker.scan())
    body = report_body(client, account, mailed["campaign_id"])
    assert (body["opens"]["total"], body["clicks"]["total"]) == (int(opens), int(clicks))
    assert scopes == [kind for kind, tracked in (("clicks", clicks), ("opens", opens)) if tracked]


def test_p15_a_list_that_switches_tracking_on_again_counts_from_then(client, account, mailed):
    from tests.support.api import bearer

    path = f"/v1/lists/{mailed['list_id']}"
    for tracking in (False, True):
        client.http.patch(path, headers=bearer(account["api_key"]),
                          body=json.dumps({"tracking": {"opens": tracking, "clicks": tracking}}))
        _get(client, _signed(open_path, _claim(account, mailed)))
        run_tracking_worker(take("tracking"))
    assert report_body(client, account, mailed["campaign_id"])["opens"]["total"] == 1
