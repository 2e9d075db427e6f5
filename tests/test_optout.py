"""`/optout`: anyone can stop mail from every account on the platform, confirmed by mail (P12)."""
from __future__ import annotations

import json
import re
from urllib.parse import urlencode, urlsplit

from chalicelib.cli import create_account_with_key
from chalicelib.config import hash_key, signer
from chalicelib.domain.optout import optout_token
from chalicelib.domain.suppression import PLATFORM_SCOPE, address_hash
from chalicelib.store.models import Suppression
from chalicelib.store.suppressions import is_suppressed
from tests.support.api import FORM, bearer
from tests.support.lists import stored
from tests.support.mail import sent_mails
from tests.support.queues import deliver, take
from tests.support.signups import form_signup
from tests.support.tokens import altered

ANN = "ann@example.com"


def _ask(client, email: str):
    return client.http.post("/optout", headers=FORM, body=urlencode({"email": email}))


def _link_path(mail) -> str:
    text = mail.get_body(preferencelist=("plain",)).get_content()
    return urlsplit(re.search(r"https?://\S+/optout/\S+", text).group(0)).path


def test_p12_optout_page_shows_a_form_for_an_address(client):
    response = client.http.get("/optout")
    assert response.status_code == 200
    assert 'name="email"' in response.body.decode() and 'method="post"' in response.body.decode()


def test_p12_asking_answers_the_same_for_everybody_and_mails_once_a_day(client, account, app_logs):
    known = _ask(client, "Ann@Example.com").body
    assert _ask(client, "stranger@example.org").body == known, "no enumeration"
    _ask(client, ANN)
    jobs = [json.loads(r["body"]) for r in take("outbox")]
    assert len(jobs) == 3 and len({job["message_id"] for job in jobs}) == 2, "deterministic ids"
    deliver([{"messageId": str(n), "body": json.dumps(job), "receiptHandle": "r", "eventSource": "aws:sqs"}
             for n, job in enumerate(jobs)])
    assert sorted(mail["To"] for mail in sent_mails()) == [ANN, "stranger@example.org"]
    assert not is_suppressed(account["account_id"], ANN), "asking alone changes nothing"
    assert app_logs.getvalue() and ANN not in app_logs.getvalue(), "no address in the logs"


def test_p12_the_link_shows_a_button_and_only_the_post_suppresses_for_every_account(client, account,
                                                                                  verified_sender, news_list):
    other = create_account_with_key("Other Org", {})
    _ask(client, ANN)
    deliver(take("outbox"))
    path = _link_path(sent_mails()[0])

    page = client.http.get(path)
    assert page.status_code == 200 and "<button" in page.body.decode()
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert not is_suppressed(account["account_id"], ANN), "a GET (mail scanner) changes nothing"

    assert client.http.post(path).status_code == 200
    assert Suppression.get(PLATFORM_SCOPE, address_hash(ANN, hash_key())).reason == "platform_opt_out"
    assert is_suppressed(account["account_id"], ANN) and is_suppressed(other["account_id"], ANN)
    assert client.http.post(path).status_code == 200, "confirming twice is harmless"

    form_signup(client, news_list["list_id"], email=ANN)
    assert stored(news_list["list_id"], ANN) is None, "a public signup is silently refused"
    api_signup = client.http.post(f"/v1/lists/{news_list['list_id']}/subscribers",
                                  headers=bearer(account["api_key"]), body=json.dumps({"email": ANN}))
    assert api_signup.status_code == 409


def test_a_bad_address_gets_the_form_back_with_the_error_escaped(client):
    response = _ask(client, '"><script>alert(1)</script>')
    body = response.body.decode()
    assert response.status_code == 400 and 'role="alert"' in body
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert take("outbox") == []


def test_tampered_or_foreign_tokens_are_refused_with_a_page(client, account):
    token = optout_token(signer(), ANN)
    for path in (f"/optout/{altered(token)}", "/optout/garbage"):
        for method in (client.http.get, client.http.post):
            response = method(path)
            assert response.status_code == 400
            assert response.headers["Content-Type"].startswith("text/html")
    from chalicelib.domain.tokens import confirm_token

    assert client.http.post(f"/optout/{confirm_token(signer(), 'lst_x', ANN)}").status_code == 400, \
        "a confirm token is not an opt-out token"
    assert not is_suppressed(account["account_id"], ANN)


def test_p12_asking_is_limited_per_ip_like_signups_and_the_refusal_names_no_address(client, news_list,
                                                                                  settings_env):
    """Each ask mails an address someone typed: one IP gets the same hourly budget as for signups
    and resends (one budget for all three), then a 429 that is the same for every address."""
    settings_env(TIDINGS_LIMIT_SIGNUPS_PER_IP_PER_HOUR="2")
    assert [_ask(client, f"p{n}@example.org").status_code for n in range(2)] == [200, 200]
    assert len(take("outbox")) == 2, "up to the limit, every ask is mailed"
    over = [_ask(client, email) for email in (ANN, "stranger@example.org")]
    assert [response.status_code for response in over] == [429, 429]
    assert over[0].body == over[1].body and over[0].headers["Retry-After"]
    assert take("outbox") == [], "past the limit, nothing is mailed"
    assert form_signup(client, news_list["list_id"], email="p3@example.org").status_code == 429
