"""No 5xx from any public input (issue #12, item 6): odd Origins, too many form fields, deep
nesting, lone surrogates, and cursors carried from one listing to another. Each answer is a
clear 4xx naming what was wrong, never a 500."""
from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.cli import create_account_with_key
from tests.support.api import FORM, bearer
from tests.support.lists import new_list, subscribe
from tests.support.signups import SHOP

ODD_ORIGINS = ["http://a:b", "http://x:99999", "http://[::1", "http://[::1]:80/x", "null", "",
               "javascript:alert(1)", "http://" + "a" * 5000, "http://exa\u2028mple.com", "https://\ud800.x"]


def _no_5xx(response: Any, where: str) -> None:
    assert response.status_code < 500, (where, response.status_code, response.body[:300])


def _links(account_id: str, list_id: str) -> dict[str, str]:
    from chalicelib.config import signer
    from chalicelib.domain.mail_links import FORWARD, PREFERENCES, UNSUBSCRIBE, LinkClaim, link_token
    from chalicelib.domain.tokens import confirm_token

    claim = LinkClaim(account_id, list_id, "ann@example.com", "cmp_1")
    return {"c": confirm_token(signer(), list_id, "ann@example.com"),
            "u": link_token(signer(), UNSUBSCRIBE, claim), "p": link_token(signer(), PREFERENCES, claim),
            "fwd": link_token(signer(), FORWARD, claim)}


def test_odd_origins_are_refused_not_crashed(client, account, news_list):
    list_id = news_list["list_id"]
    for origin in ODD_ORIGINS:
        headers = {"Origin": origin, "Content-Type": "application/json"}
        for method in ("OPTIONS", "POST"):
            response = client.http.request(method, f"/public/lists/{list_id}/subscribe", headers=headers,
                                           body=json.dumps({"email": "ann@example.com", "consent": True}))
            _no_5xx(response, f"{method} Origin {origin!r}")
            assert response.status_code == 403, origin
    # The same strings as a list's allowed origins: 400 naming the field.
    for origin in ODD_ORIGINS:
        response = client.http.patch(f"/v1/lists/{list_id}", headers=bearer(account["api_key"]),
                                     body=json.dumps({"allowed_origins": [origin]}))
        _no_5xx(response, f"allowed_origins {origin!r}")
        assert response.status_code == 400, origin
        assert json.loads(response.body)["error"]["field"] in ("allowed_origins", "allowed_origins.0")


def test_an_ipv6_origin_keeps_its_brackets():
    from chalicelib.domain.lists import clean_origin

    assert clean_origin("http://[::1]:8080") == "http://[::1]:8080"


def test_every_public_form_refuses_too_many_fields(client, account, news_list):
    list_id = news_list["list_id"]
    subscribe(account["account_id"], list_id, "ann@example.com")
    links = _links(account["account_id"], list_id)
    body = urlencode([(f"f{n}", "x") for n in range(250)] + [("email", "ann@example.com")])
    paths = [f"/f/{list_id}", "/c/resend", "/optout", f"/fwd/{links['fwd']}", f"/u/{links['u']}",
             f"/c/{links['c']}", *(f"/p/{links['p']}/{action}" for action in ("edit", "erase", "export",
                                                                            "unsubscribe"))]
    for path in paths:
        response = client.http.post(path, headers=FORM, body=body)
        _no_5xx(response, path)


def test_deep_nesting_and_lone_surrogates_are_400_naming_the_field(client, account, news_list):
    headers = bearer(account["api_key"])
    deep = "[" * 1000 + "]" * 1000
    cases = {
        "deep list": f'{{"name": "x", "consent_text": "y", "attributes": {deep}}}',
        "deep object": '{"a":' * 40 + "1" + "}" * 40,
        "surrogate value": '{"name": "\\ud800", "consent_text": "Yes"}',
        "surrogate key": '{"\\udc00": 1}',
    }
    for where, body in cases.items():
        response = client.http.post("/v1/lists", headers=headers, body=body)
        _no_5xx(response, where)
        assert response.status_code == 400, (where, response.body)
        assert json.loads(response.body)["error"]["field"], where
    public = {"Origin": SHOP, "Content-Type": "application/json"}
    for where, body in cases.items():
        response = client.http.post(f"/public/lists/{news_list['list_id']}/subscribe", headers=public,
                                    body=body)
        _no_5xx(response, f"public {where}")
        assert response.status_code == 400, (where, response.body)


def _cursor(client: Any, headers: dict[str, str], path: str) -> str:
    response = client.http.get(f"{path}?limit=1", headers=headers)
    cursor = json.loads(response.body).get("next_cursor")
    assert cursor, (path, response.body)
    return cursor


def test_a_cursor_from_another_listing_or_account_is_400(client, account, verified_sender):
    headers = bearer(account["api_key"])
    for name in ("One", "Two"):
        new_list(client, headers, name)
    first_list = new_list(client, headers, "Three")
    for email in ("a@example.com", "b@example.com"):
        subscribe(account["account_id"], first_list, email)
    for _ in range(2):
        client.http.post("/v1/campaigns", headers=headers, body=json.dumps({
            "name": "c", "list_ids": [first_list], "subject": "s", "html": "<p>x</p>"}))
        client.http.post("/v1/privacy/requests", headers=headers,
                         body=json.dumps({"type": "exists", "email": "a@example.com"}))
    listings = ["/v1/lists", "/v1/campaigns", "/v1/audit", "/v1/privacy/requests",
                f"/v1/lists/{first_list}/subscribers"]
    cursors = {path: _cursor(client, headers, path) for path in listings}
    for (source, cursor), target in itertools.product(cursors.items(), listings):
        if source == target:
            continue
        response = client.http.get(f"{target}?cursor={cursor}", headers=headers)
        _no_5xx(response, f"{source} cursor on {target}")
        assert response.status_code == 400 and json.loads(response.body)["error"]["field"] == "cursor"
    other = create_account_with_key("Other Ltd", {})
    for path in ("/v1/lists", "/v1/campaigns", "/v1/audit", "/v1/privacy/requests"):
        response = client.http.get(f"{path}?cursor={cursors[path]}", headers=bearer(other["api_key"]))
        assert response.status_code == 400, path


@pytest.mark.parametrize("value", ["\u2028", "\x85", "\x00", "\ud800", "a" * 100_000])
def test_odd_text_in_public_form_fields_is_never_a_5xx(client, news_list, value):
    # A lone surrogate travels as the bytes ED A0 80, which are not UTF-8.
    body = urlencode({"email": f"ann{value}@example.com", "name": value, "consent": "yes"},
                     errors="surrogatepass")
    _no_5xx(client.http.post(f"/f/{news_list['list_id']}", headers=FORM, body=body), repr(value[:5]))
    _no_5xx(client.http.post("/optout", headers=FORM, body=body), repr(value[:5]))
