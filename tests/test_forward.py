"""Forward to a friend (P14) as a shareable web view: counted, nothing mailed, no address asked
for or kept; a reader's forward link ends with the reader, every link while the account may not
send (issue #12, item 2)."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.config import signer
from chalicelib.domain.mail_links import FORWARD, link_token
from tests.support.api import FORM, bearer
from tests.support.campaigns import report_body
from tests.support.queues import take
from tests.support.tables import every_item_text
from tests.support.tokens import altered
from tests.support.tracking import READER, claim_for, mailed_reader

FRIEND = "friend@example.org"


@pytest.fixture
def mailed(client: Any, account: dict[str, Any], verified_sender: None) -> dict[str, str]:
    mailed = mailed_reader(client, account)
    claim = claim_for(account["account_id"], mailed["list_id"], READER, mailed["campaign_id"])
    token = link_token(signer(), FORWARD, claim)
    return {**mailed, "path": f"/fwd/{token}"}


def _share(client: Any, path: str, **fields: str) -> Any:
    return client.http.post(path, headers=FORM, body=urlencode(fields))


def _link(response: Any) -> str:
    found = re.search(r'href="(http://[^"]+/v/[^"]+)"', response.body.decode())
    assert found, response.body
    return found.group(1).split("http://127.0.0.1:8000", 1)[1]


def test_p14_get_shows_the_button_and_changes_nothing(client, account, mailed):
    response = client.http.get(mailed["path"])
    assert response.status_code == 200 and "Get a link to share" in response.body.decode()
    assert 'name="email"' not in response.body.decode()
    assert report_body(client, account, mailed["campaign_id"])["forwards"] == 0


def test_p14_sharing_counts_and_gives_a_web_view_without_the_reader(client, account, mailed):
    response = _share(client, mailed["path"])
    assert response.status_code == 200
    assert take("outbox") == [], "nothing is mailed"
    assert report_body(client, account, mailed["campaign_id"])["forwards"] == 1
    view = client.http.get(_link(response))
    assert view.status_code == 200 and "Hello" in view.body.decode()
    body = view.body.decode()
    assert READER not in body and "/t/o/" not in body and "/t/c/" not in body and "/u/" not in body
    csp = view.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox") and "script" not in csp


def test_p14_a_friend_address_sent_anyway_is_neither_mailed_nor_stored(client, account, mailed):
    assert _share(client, mailed["path"], email=FRIEND).status_code == 200
    assert take("outbox") == []
    assert FRIEND not in every_item_text()


def test_p14_shares_per_reader_are_limited(client, account, mailed):
    from chalicelib.services.forwarding import FORWARDS_PER_DAY

    for _ in range(FORWARDS_PER_DAY):
        assert _share(client, mailed["path"]).status_code == 200
    refused = _share(client, mailed["path"])
    assert refused.status_code == 429 and "<h1>" in refused.body.decode()
    assert int(refused.headers["Retry-After"]) > 0
    assert report_body(client, account, mailed["campaign_id"])["forwards"] == FORWARDS_PER_DAY


def test_p26_no_reader_can_raise_the_senders_complaint_or_bounce_figures(client, account, mailed):
    """The issue's probe: five forwards to complaint addresses suspended an account. Now a
    forward mails nobody, so the account's figures cannot move."""
    from chalicelib.services.health import health_view

    before = health_view(account["account_id"])["counts"]
    for n in range(5):
        _share(client, mailed["path"], email=f"complaint{n}@simulator.amazonses.com")
    assert take("outbox") == []
    assert health_view(account["account_id"])["counts"] == before


def test_p12_p18_unsubscribe_and_erasure_end_the_readers_forward_link(client, account, mailed):
    from chalicelib.services.unsubscribe import Scope, unsubscribe

    claim = claim_for(account["account_id"], mailed["list_id"], READER, mailed["campaign_id"])
    unsubscribe(claim, Scope.LIST)
    assert client.http.get(mailed["path"]).status_code == 410
    assert _share(client, mailed["path"]).status_code == 410


def test_p18_erasure_ends_the_readers_forward_link(client, account, mailed):
    import json

    erased = client.http.post("/v1/privacy/requests", headers=bearer(account["api_key"]),
                              body=json.dumps({"type": "erase", "email": READER}))
    assert erased.status_code in (200, 201), erased.body
    assert client.http.get(mailed["path"]).status_code == 410


def test_p26_suspension_ends_forward_links_and_shared_views(client, account, mailed):
    from chalicelib.store.models import Account

    view = _link(_share(client, mailed["path"]))
    Account(account_id=account["account_id"]).update(actions=[Account.status.set("suspended")])
    assert client.http.get(mailed["path"]).status_code == 410
    assert _share(client, mailed["path"]).status_code == 410
    assert client.http.get(view).status_code == 410


def test_p14_tampered_links_are_a_400_page(client, account, mailed):
    response = client.http.get(altered(mailed["path"]))
    assert response.status_code == 400 and response.headers["Content-Type"].startswith("text/html")
    assert client.http.get("/v/not-a-token").status_code == 400


def test_p14_mail_outside_a_campaign_cannot_be_forwarded(client, account, mailed):
    token = link_token(signer(), FORWARD, claim_for(account["account_id"], mailed["list_id"], READER, None))
    assert client.http.get(f"/fwd/{token}").status_code == 400
