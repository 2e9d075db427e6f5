"""Security headers on every page and JSON answer, and Retry-After on every 429 (issue #12, item 7)."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from chalicelib.web.security import PAGE_POLICY
from tests.support.api import FORM, bearer
from tests.support.lists import subscribe


def _html_rules(response, where: str) -> None:
    headers = {name.lower(): value for name, value in response.headers.items()}
    assert headers["content-type"].startswith("text/html"), where
    csp = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, where
    assert "script-src" not in csp and "default-src 'none'" in csp, where  # no script at all
    assert "'unsafe-inline'" not in csp.split("style-src")[0], where
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") == "no-referrer", where


def test_every_public_page_sends_the_security_headers(client, account, news_list):
    from chalicelib.config import signer
    from chalicelib.domain.mail_links import FORWARD, PREFERENCES, UNSUBSCRIBE, LinkClaim, link_token
    from chalicelib.domain.tokens import confirm_token

    list_id = news_list["list_id"]
    subscribe(account["account_id"], list_id, "ann@example.com")
    claim = LinkClaim(account["account_id"], list_id, "ann@example.com", "cmp_1")
    pages = {
        "/f": f"/f/{list_id}",
        "/c": f"/c/{confirm_token(signer(), list_id, 'ann@example.com')}",
        "/u": f"/u/{link_token(signer(), UNSUBSCRIBE, claim)}",
        "/p": f"/p/{link_token(signer(), PREFERENCES, claim)}",
        "/fwd": f"/fwd/{link_token(signer(), FORWARD, claim)}",
        "/optout": "/optout",
        "bad link": "/u/not-a-token",
        "missing form": "/f/lst_missing",
    }
    for where, path in pages.items():
        _html_rules(client.http.get(path), where)
    _html_rules(client.http.post(f"/f/{list_id}", headers=FORM, body=urlencode({"email": "x"})), "POST /f")


def test_json_answers_send_nosniff(client, account):
    for response in (client.http.get("/v1/account", headers=bearer(account["api_key"])),
                     client.http.get("/v1/account"),
                     client.http.get("/v1/openapi.json", headers=bearer(account["api_key"]))):
        assert response.headers.get("X-Content-Type-Options") == "nosniff"


def test_every_429_sends_retry_after(client, account, news_list, settings_env):
    settings_env(TIDINGS_LIMIT_SIGNUPS_PER_IP_PER_HOUR="1")
    list_id = news_list["list_id"]
    body = urlencode({"email": "ann@example.com", "consent": "yes"})
    assert client.http.post(f"/f/{list_id}", headers=FORM, body=body).status_code == 200
    page = client.http.post(f"/f/{list_id}", headers=FORM, body=body)
    assert page.status_code == 429
    assert 1 <= int(page.headers["Retry-After"]) <= 3600
    from tests.support.signups import SHOP

    js = client.http.post(f"/public/lists/{list_id}/subscribe",
                          headers={"Origin": SHOP, "Content-Type": "application/json"},
                          body=json.dumps({"email": "bob@example.com", "consent": True}))
    assert js.status_code == 429 and int(js.headers["Retry-After"]) >= 1


def test_a_429_without_its_own_retry_after_gets_one():
    from chalice import Response

    from chalicelib.web.security import add_security_headers

    answered = add_security_headers(Response(body="", status_code=429, headers={}))
    assert answered.headers["Retry-After"] == "60"


def test_the_page_policy_has_no_script_source():
    assert "script" not in PAGE_POLICY
