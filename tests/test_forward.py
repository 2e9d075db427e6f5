"""Forward to a friend (P14): one message, counted; the friend's address is kept nowhere."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.config import signer
from chalicelib.domain.mail_links import FORWARD, link_token
from tests.support.api import FORM
from tests.support.campaigns import report_body
from tests.support.mail import sent_mails
from tests.support.queues import deliver, take
from tests.support.tables import every_item_text
from tests.support.tracking import READER, claim_for, mailed_reader

FRIEND = "friend@example.org"


@pytest.fixture
def mailed(client: Any, account: dict[str, Any], verified_sender: None) -> dict[str, str]:
    mailed = mailed_reader(client, account)
    claim = claim_for(account["account_id"], mailed["list_id"], READER, mailed["campaign_id"])
    token = link_token(signer(), FORWARD, claim)
    return {**mailed, "path": f"/fwd/{token}"}


def _forward(client: Any, path: str, email: str = FRIEND) -> Any:
    return client.http.post(path, headers=FORM, body=urlencode({"email": email}))


def test_p14_get_shows_the_form_and_sends_nothing(client, account, mailed):
    response = client.http.get(mailed["path"])
    assert response.status_code == 200 and 'name="email"' in response.body.decode()
    assert take("outbox") == []


def test_p14_forward_sends_one_message_to_the_friend_and_counts_it(client, account, mailed):
    response = _forward(client, mailed["path"])
    assert response.status_code == 200
    (job,) = take("outbox")
    email = json.loads(job["body"])["email"]
    assert email["recipient"] == FRIEND
    assert "Hello" in email["html"]
    # Not tracked, and none of the reader's own links: the friend cannot unsubscribe the reader.
    assert "/t/o/" not in email["html"] and "/t/c/" not in email["html"]
    assert READER not in json.dumps(email)
    deliver([job])
    assert [mail["To"] for mail in sent_mails()] == [FRIEND]
    assert report_body(client, account, mailed["campaign_id"])["forwards"] == 1


def test_p14_friend_address_is_not_stored_or_added_to_any_list(client, account, mailed):
    _forward(client, mailed["path"])
    deliver(take("outbox"))
    assert FRIEND not in every_item_text()
    assert "friend" not in every_item_text()


def test_p14_forwards_per_reader_are_limited(client, account, mailed):
    from chalicelib.services.forwarding import FORWARDS_PER_DAY

    for n in range(FORWARDS_PER_DAY):
        assert _forward(client, mailed["path"], f"friend{n}@example.org").status_code == 200
    refused = _forward(client, mailed["path"], "one-more@example.org")
    assert refused.status_code == 429 and "<h1>" in refused.body.decode()
    assert report_body(client, account, mailed["campaign_id"])["forwards"] == FORWARDS_PER_DAY


def test_p14_bad_friend_address_shows_the_form_again(client, account, mailed):
    response = _forward(client, mailed["path"], "not an address")
    assert response.status_code == 400 and 'role="alert"' in response.body.decode()
    assert take("outbox") == []


def test_p12_suppressed_friend_gets_nothing_and_the_answer_does_not_tell(client, account, mailed):
    from chalicelib.domain.suppression import SuppressionReason
    from chalicelib.store.suppressions import suppress

    suppress(account["account_id"], FRIEND, SuppressionReason.UNSUBSCRIBED)
    response = _forward(client, mailed["path"])
    assert response.status_code == 200
    assert take("outbox") == []


def test_p14_tampered_forward_link_is_a_400_page(client, account, mailed):
    response = client.http.get(mailed["path"][:-2] + "zz")
    assert response.status_code == 400 and response.headers["Content-Type"].startswith("text/html")


def test_p14_mail_outside_a_campaign_cannot_be_forwarded(client, account, mailed):
    token = link_token(signer(), FORWARD, claim_for(account["account_id"], mailed["list_id"], READER, None))
    assert client.http.get(f"/fwd/{token}").status_code == 400
