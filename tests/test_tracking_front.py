"""The open pixel and click redirect behind the tracking function URL (P13, P15): the same answers
as the Chalice routes, in the function URL's formats, and mail whose tracking links point at it."""
from __future__ import annotations

import base64
import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import time_machine

from bench.aws_calls import count_aws_calls
from chalicelib.config import read_settings, signer
from chalicelib.domain.accounts import AccountProfile
from chalicelib.domain.campaigns import CampaignContent, Channel, with_text_part
from chalicelib.domain.marketing_mail import ListSettings, compose_marketing_email
from chalicelib.domain.subscriptions import Contact
from chalicelib.web.tracking_responses import PIXEL
from tests.support.api import bearer
from tests.support.campaigns import create_campaign
from tests.support.lists import new_list, subscribe
from tests.support.mail import parsed, sent_raw
from tests.support.queues import run_queues, run_tracking_worker, take
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
    mailed_reader,
    open_path,
)

FUNCTION_URL = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/"
PUBLIC = "https://lists.acme.example"
# A public address: the offline registry places it in the US.
READER_IP = "8.8.8.8"
SAMPLE_EVENT = Path(__file__).resolve().parent.parent / "events" / "tracking_front.json"


@pytest.fixture
def mailed(client: Any, account: dict[str, Any]) -> dict[str, str]:
    return mailed_reader(client, account)


def _signed(path_of: Any, account: dict[str, Any], mailed: dict[str, str], *args: Any) -> str:
    claim = claim_for(account["account_id"], mailed["list_id"], READER, mailed["campaign_id"])
    with time_machine.travel(SENT, tick=False):
        return path_of(claim, *args)


def _event(path: str, method: str = "GET", **headers: str) -> dict[str, Any]:
    """A function URL request as Lambda delivers it (payload format 2.0), from the sample event."""
    event = json.loads(SAMPLE_EVENT.read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["sourceIp"] = READER_IP
    event["requestContext"]["http"]["userAgent"] = OPEN_AGENT
    event["headers"] |= {"user-agent": OPEN_AGENT, "accept": IMAGE_ACCEPT, "x-forwarded-for": READER_IP}
    event["headers"] |= {name.replace("_", "-").lower(): value for name, value in headers.items()}
    return event


def _invoke(client: Any, path: str, method: str = "GET", **headers: str) -> dict[str, Any]:
    with time_machine.travel(LATER, tick=False):
        return client.lambda_.invoke("tracking_front", _event(path, method, **headers)).payload


def _body(response: dict[str, Any]) -> bytes:
    body = response["body"]
    return base64.b64decode(body) if response["isBase64Encoded"] else body.encode()


# --- opens and clicks ---------------------------------------------------------------------------

def test_p13_function_url_pixel_queues_one_event_in_one_aws_call_and_is_the_gif(client, account, mailed):
    path = _signed(open_path, account, mailed)
    _invoke(client, path)  # a warm container: the queue URL is looked up once per container
    take("tracking")
    with count_aws_calls() as calls:
        response = _invoke(client, path)
    assert calls.by_operation == {"sqs.SendMessage": 1}
    assert response["statusCode"] == 200 and response["isBase64Encoded"] is True
    assert _body(response) == PIXEL and PIXEL[:6] == b"GIF89a" and len(PIXEL) == 43
    assert response["headers"]["Content-Type"] == "image/gif"
    assert "no-store" in response["headers"]["Cache-Control"]
    (record,) = take("tracking")
    assert json.loads(record["body"])["action"] == "opens"


def test_p13_function_url_click_redirects_to_the_signed_target(client, account, mailed):
    path = _signed(click_path, account, mailed, "https://shop.example/spring?utm=mail")
    with count_aws_calls() as calls:
        response = _invoke(client, path)
    assert response["statusCode"] == 302
    assert response["headers"]["Location"] == "https://shop.example/spring?utm=mail"
    assert response["headers"]["Referrer-Policy"] == "no-referrer"
    assert calls.by_operation["sqs.SendMessage"] == 1
    (record,) = take("tracking")
    assert json.loads(record["body"])["action"] == "clicks"


@pytest.mark.parametrize("mangle", TAMPERED_TOKENS)
def test_p13_function_url_tampered_click_is_400_and_never_a_redirect(client, account, mailed, mangle):
    token = _signed(click_path, account, mailed, "https://shop.example/").rsplit("/", 1)[1]
    response = _invoke(client, f"/t/c/{mangle(token)}")
    assert response["statusCode"] == 400
    assert "Location" not in response["headers"]
    # The page a person sees for a broken link, as the Chalice route answers it.
    assert response["headers"]["Content-Type"].startswith("text/html")
    assert "This link does not work" in response["body"]
    assert take("tracking") == []


def test_p13_function_url_tampered_pixel_is_400_and_counts_nothing(client, account, mailed):
    assert _invoke(client, _signed(open_path, account, mailed) + "x")["statusCode"] == 400
    assert take("tracking") == []


def test_p13_function_url_country_from_the_cloudfront_header(client, account, mailed, behind_cloudfront):
    _invoke(client, _signed(open_path, account, mailed), CloudFront_Viewer_Country="RO")
    (record,) = take("tracking")
    assert json.loads(record["body"])["country"] == "RO"


def test_p13_a_forged_cloudfront_country_header_sent_straight_to_the_tracking_front_is_not_believed(
        client, account, mailed):
    """The function URL is public (AuthType NONE), and CloudFront is in front of it only where the
    deployment declares it (TrackingBehindCloudFront): elsewhere anyone with a pixel link could
    write any country into the report. The country comes from the source IP, as X-Forwarded-For
    is never believed either."""
    _invoke(client, _signed(open_path, account, mailed), CloudFront_Viewer_Country="KP",
            X_Forwarded_For="193.231.20.1")
    _invoke(client, _signed(click_path, account, mailed, "https://shop.example/"),
            CloudFront_Viewer_Country="KP")
    records = take("tracking")
    assert [json.loads(record["body"])["country"] for record in records] == ["US", "US"]  # READER_IP


def test_p15_function_url_source_ip_gives_the_country_and_is_never_queued_or_stored(client, account, mailed):
    _invoke(client, _signed(open_path, account, mailed))
    _invoke(client, _signed(click_path, account, mailed, "https://shop.example/"))
    records = take("tracking")
    assert len(records) == 2
    assert all(json.loads(record["body"])["country"] == "US" for record in records)
    assert all(READER_IP not in record["body"] for record in records)
    assert all("user_agent" not in json.loads(record["body"]) for record in records)
    assert run_tracking_worker(records) == {"batchItemFailures": []}
    assert READER_IP not in every_item_text()


def test_the_handler_lambda_imports_answers_a_function_url_request(client, account, mailed):
    # `chalice package` points a blueprint's function at its module (aws/chalice#1566), so Lambda
    # imports that module's attribute, not app.py's.
    from chalice.local import LambdaContext

    from app import app

    (front,) = [function for function in app.pure_lambda_functions if function.name == "tracking_front"]
    module, _, name = front.handler_string.rpartition(".")
    handler = getattr(importlib.import_module(module), name)
    with time_machine.travel(LATER, tick=False):
        response = handler(_event(_signed(open_path, account, mailed)), LambdaContext("tracking_front", 256))
    assert response["statusCode"] == 200 and base64.b64decode(response["body"]) == PIXEL
    assert len(take("tracking")) == 1


# --- the same answers as the Chalice routes -----------------------------------------------------

@pytest.mark.parametrize(("kind", "accept", "tampered"), [
    ("open", IMAGE_ACCEPT, False),
    ("open", "image/webp,image/png", False),  # counted, answered 204
    ("click", IMAGE_ACCEPT, False),
    ("click", IMAGE_ACCEPT, True),
])
def test_function_url_answers_exactly_as_the_chalice_route(client, account, mailed, kind, accept, tampered):
    if kind == "open":
        path = _signed(open_path, account, mailed)
    else:
        path = _signed(click_path, account, mailed, "https://shop.example/")
    path += "x" if tampered else ""
    with time_machine.travel(LATER, tick=False):
        route = client.http.get(path, headers={"User-Agent": OPEN_AGENT, "Accept": accept})
    front = _invoke(client, path, Accept=accept)
    assert front["statusCode"] == route.status_code
    assert front["headers"] == route.headers
    assert _body(front) == route.body


def test_function_url_answers_405_to_any_method_but_get_as_the_chalice_route(client, account, mailed):
    path = _signed(open_path, account, mailed)
    route = client.http.post(path, headers={"Accept": "*/*"}, body="")
    for method in ("POST", "HEAD", "PUT", "DELETE"):
        front = _invoke(client, path, method)
        assert front["statusCode"] == route.status_code == 405
        assert front["headers"]["Allow"] == route.headers["Allow"] == "GET"
        assert json.loads(front["body"])["Code"] == "MethodNotAllowedError"
    assert take("tracking") == []


def test_function_url_answers_500_when_queueing_fails_as_the_route(client, account, mailed, monkeypatch):
    from chalicelib.web import tracking_responses

    def unavailable(*args: Any) -> None:
        raise RuntimeError("SQS is unavailable")

    monkeypatch.setattr(tracking_responses, "track", unavailable)
    path = _signed(open_path, account, mailed)
    route = client.http.get(path, headers={"Accept": "*/*"})
    front = _invoke(client, path)
    assert front["statusCode"] == route.status_code == 500
    assert json.loads(front["body"]) == json.loads(route.body)


@pytest.mark.parametrize("path", ["/", "/t/o/", "/t/x/abc", "/t/o/abc/def", "/u/abc", "/v1/lists", "/t/o"])
def test_function_url_answers_404_to_any_other_path(client, path):
    response = _invoke(client, path)
    assert response["statusCode"] == 404
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"])["error"]["field"] == "path"
    assert take("tracking") == []


# --- the scheduled warm-up (functions.FunctionSpec.warm_every_minutes) -----------------------------

def _scheduled_event() -> dict[str, Any]:
    return json.loads((Path(__file__).parent.parent / "events" / "tracking_worker.json").read_text())


def test_the_warm_up_reads_the_key_and_the_queue_address_so_the_next_open_makes_one_call(client, account,
                                                                                          mailed):
    from aws_lambda_powertools.utilities.parameters import clear_caches

    from chalicelib.adapters.sqs import forget_queue_urls
    from chalicelib.services import tracking

    path = _signed(open_path, account, mailed)
    clear_caches()
    forget_queue_urls()
    tracking.warm_up.cache_clear()  # a new environment
    with count_aws_calls() as calls:
        result = client.lambda_.invoke("tracking_front", _scheduled_event()).payload
    assert result == {"warmed": True}
    assert calls.by_operation == {"secretsmanager.GetSecretValue": 1, "sqs.GetQueueUrl": 1}
    assert take("tracking") == [], "a warm-up is no open"
    with count_aws_calls() as calls:
        response = _invoke(client, path)
    assert response["statusCode"] == 200 and calls.by_operation == {"sqs.SendMessage": 1}


def test_later_warm_ups_read_nothing_and_a_request_reads_the_aged_key(client, account, mailed):
    from aws_lambda_powertools.utilities.parameters import clear_caches

    from chalicelib.services import tracking

    path = _signed(open_path, account, mailed)
    tracking.warm_up.cache_clear()  # a new environment
    client.lambda_.invoke("tracking_front", _scheduled_event())
    clear_caches()  # the key's cache has aged
    with count_aws_calls() as calls:
        client.lambda_.invoke("tracking_front", _scheduled_event())
    assert calls.by_operation == {}, "a quiet front reads no secret"
    with count_aws_calls() as calls:
        assert _invoke(client, path)["statusCode"] == 200
    assert calls.by_operation == {"secretsmanager.GetSecretValue": 1, "sqs.SendMessage": 1}


def test_a_function_url_request_never_passes_for_the_warm_up(client, account, mailed):
    # Lambda wraps every function URL request in its requestContext; even with the scheduled
    # event's fields beside it, it is answered as a request.
    request = {**_scheduled_event(), **_event(_signed(open_path, account, mailed))}
    response = client.lambda_.invoke("tracking_front", request).payload
    assert response["statusCode"] == 200 and _body(response) == PIXEL
    assert len(take("tracking")) == 1


# --- where mail points its tracking links -------------------------------------------------------

def test_tracking_base_url_defaults_to_the_public_base_url_and_drops_the_trailing_slash():
    assert read_settings({"TIDINGS_PUBLIC_BASE_URL": PUBLIC}).tracking_base_url == PUBLIC
    assert read_settings({"TIDINGS_PUBLIC_BASE_URL": PUBLIC, "TIDINGS_TRACKING_BASE_URL": ""}
                         ).tracking_base_url == PUBLIC
    settings = read_settings({"TIDINGS_PUBLIC_BASE_URL": PUBLIC, "TIDINGS_TRACKING_BASE_URL": FUNCTION_URL})
    assert settings.tracking_base_url == FUNCTION_URL.rstrip("/")
    assert settings.public_base_url == PUBLIC


def _compose(tracking: bool) -> str:
    content = with_text_part(CampaignContent(
        channel=Channel.EMAIL, list_ids=frozenset({"lst_1"}), subject="News",
        html='<html><body><p><a href="https://shop.example/sale">Sale</a></p></body></html>',
        from_address="news@acme.example"), None)
    sender = AccountProfile(name="Acme Ltd", postal_address="1 Main Street, Bucharest",
                            contact_email="contact@acme.example", sender_identity="news@acme.example")
    mail = compose_marketing_email(
        signer=signer(), account_id="acc_1", campaign_id="cmp_1", content=content,
        recipient=Contact(email="ann@example.com"),
        mailing_list=ListSettings("lst_1", "Acme News", track_opens=tracking, track_clicks=tracking),
        sender=sender, public_base_url=PUBLIC, tracking_base_url=FUNCTION_URL)
    return mail.html or ""


def test_p13_pixel_and_click_links_use_the_tracking_base_and_every_other_link_the_public_one():
    html = _compose(tracking=True)
    base = FUNCTION_URL.rstrip("/")
    assert re.search(rf'<img src="{re.escape(base)}/t/o/[^"/]+"', html)
    assert re.search(rf'href="{re.escape(base)}/t/c/[^"/]+"', html)
    links = re.findall(r'(?:href|src)="(https?://[^"]+)"', html)
    assert all(link.startswith((f"{base}/t/", f"{PUBLIC}/")) for link in links), links
    assert any(link.startswith(f"{PUBLIC}/u/") for link in links), "unsubscribe stays on the public pages"


def test_p15_a_list_with_tracking_off_gets_no_link_to_the_tracking_base():
    html = _compose(tracking=False)
    assert FUNCTION_URL.rstrip("/") not in html
    assert 'href="https://shop.example/sale"' in html


def test_p13_campaign_mail_points_its_pixel_at_the_function_url_and_the_pixel_is_counted(
        client, account, verified_sender, settings_env):
    settings_env(TIDINGS_PUBLIC_BASE_URL=PUBLIC, TIDINGS_TRACKING_BASE_URL=FUNCTION_URL)
    headers = bearer(account["api_key"])
    list_id = new_list(client, bearer(account["api_key"]))
    subscribe(account["account_id"], list_id, "ann@example.com")
    campaign = create_campaign(client, headers, [list_id])
    assert client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers,
                            body="").status_code == 202
    assert run_queues(client) == []
    html = parsed(sent_raw()[0]).get_body(("html",)).get_content()
    pixel = re.search(rf'<img src="{re.escape(FUNCTION_URL)}(t/o/[^"/]+)"', html)
    assert pixel, html
    assert f'href="{FUNCTION_URL}t/c/' in html
    assert f"{PUBLIC}/u/" in html and f"{FUNCTION_URL}u/" not in html
    take("tracking")
    response = client.lambda_.invoke("tracking_front", _event("/" + pixel.group(1))).payload
    assert response["statusCode"] == 200
    (record,) = take("tracking")
    assert json.loads(record["body"])["campaign"] == campaign["campaign_id"]
