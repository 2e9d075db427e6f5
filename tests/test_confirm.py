"""The confirmation mail and link: GET shows, POST confirms (P01), expiry, bad tokens, resend."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import time_machine

from chalicelib.config import settings, signer
from chalicelib.domain.suppression import SuppressionReason
from chalicelib.domain.tokens import confirm_token
from chalicelib.resources import SIGNING_KEYS_SECRET
from chalicelib.store.suppressions import suppress
from tests.support.api import FORM, bearer
from tests.support.lists import stored
from tests.support.mail import confirm_path, sent_mails
from tests.support.queues import apply_queued_signups, deliver, take
from tests.support.signups import form_signup
from tests.support.tokens import altered

AFTER_MAIL_INTERVAL = timedelta(minutes=settings().signup_limits.mail_interval_minutes + 1)

ANN = "ann@example.com"
BROWSER = {**FORM, "User-Agent": "Mozilla/5.0 (confirming)"}



def _signup_and_mail(client, list_id: str, email: str = ANN):
    form_signup(client, list_id, email=email)
    deliver(take("outbox"))
    return [m for m in sent_mails() if m["To"] == email][-1]


_CONFIRM_BUTTON = b'<form method="post" action="">'


def _offers_the_button(client, path: str) -> bool:
    page = client.http.get(path)
    assert page.status_code in (200, 400), page.body
    return page.status_code == 200 and _CONFIRM_BUTTON in page.body


def _refused_on_page_and_post(client, path: str) -> None:
    """P01: where confirming is refused, the page says so instead of offering a button that
    cannot work, in the same words."""
    page = client.http.get(path)
    assert page.status_code == 400 and _CONFIRM_BUTTON not in page.body
    refused = client.http.post(path, headers=BROWSER)
    assert (refused.status_code, refused.body) == (page.status_code, page.body)


def test_confirmation_mail_is_sent_through_ses_with_headers_both_parts_and_a_working_link(client, news_list):
    list_id = news_list["list_id"]
    mail = _signup_and_mail(client, list_id)

    assert mail["From"] == "news@acme.example"
    assert mail["To"] == ANN
    assert mail["Reply-To"] == "contact@acme.example"
    assert mail["Subject"] == "Please confirm your subscription to Acme News"
    assert mail["Message-ID"] and mail["Date"]
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    path = confirm_path(mail)
    assert path.startswith("/c/")
    for body in (text, html):
        assert f"http://127.0.0.1:8000{path}" in body
        assert "Acme News" in body
        assert "Acme Ltd" in body and "1 Main Street, 010101 Bucharest, Romania" in body

    page = client.http.get(path)
    assert page.status_code == 200
    assert re.search(r'<form method="post" action="">', page.body.decode())
    confirmed = client.http.post(path, headers=BROWSER)
    assert confirmed.status_code == 200
    assert b"is confirmed" in confirmed.body
    assert stored(list_id, ANN).status == "confirmed"


def test_confirmation_mail_from_the_platform_sender_when_the_account_has_none(client, aws):
    from chalicelib.cli import create_account_with_key

    other = create_account_with_key("No Sender Org", {})
    created = client.http.post("/v1/lists", headers=bearer(other["api_key"]),
                               body=json.dumps({"name": "Plain", "consent_text": "Yes.",
                                                "privacy_policy_url": "https://plain.example/privacy"}))
    mail = _signup_and_mail(client, json.loads(created.body)["list_id"])
    assert mail["From"] == "no-reply@tidings.example"


def test_get_never_confirms(client, news_list):
    list_id = news_list["list_id"]
    path = confirm_path(_signup_and_mail(client, list_id))
    for _ in range(3):  # a mail scanner, a preview pane, the person
        assert client.http.get(path).status_code == 200
    assert stored(list_id, ANN).status == "pending"
    assert stored(list_id, ANN).consent.confirmed_at is None


def test_p01_post_confirms_and_records_time_ip_and_user_agent(client, news_list):
    list_id = news_list["list_id"]
    path = confirm_path(_signup_and_mail(client, list_id))
    response = client.http.post(path, headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    entry = stored(list_id, ANN)
    assert entry.status == "confirmed"
    assert entry.list_status == f"{list_id}#confirmed"
    assert entry.expires_at is None  # confirmed entries never expire
    assert entry.consent.confirmed_at is not None
    assert entry.consent.confirm_ip == "127.0.0.1"
    assert entry.consent.confirm_user_agent == "Mozilla/5.0 (confirming)"


def test_confirming_twice_is_harmless(client, news_list):
    list_id = news_list["list_id"]
    path = confirm_path(_signup_and_mail(client, list_id))
    first = client.http.post(path, headers=BROWSER)
    confirmed_at = stored(list_id, ANN).consent.confirmed_at
    second = client.http.post(path, headers=BROWSER)
    assert (first.status_code, first.body) == (second.status_code, second.body)
    assert _offers_the_button(client, path)
    assert stored(list_id, ANN).consent.confirmed_at == confirmed_at


def test_redirect_after_confirm(client, account, news_list):
    list_id = news_list["list_id"]
    client.http.patch(f"/v1/lists/{list_id}", headers=bearer(account["api_key"]),
                      body=json.dumps({"redirect_after_confirm": "https://acme.example/welcome"}))
    response = client.http.post(confirm_path(_signup_and_mail(client, list_id)), headers=BROWSER)
    assert response.status_code == 303
    assert response.headers["Location"] == "https://acme.example/welcome"
    assert response.headers["Referrer-Policy"] == "no-referrer"  # the token must not leak
    assert stored(list_id, ANN).status == "confirmed"


def test_tampered_token_gets_a_clear_page_with_a_resend_form(client, news_list):
    list_id = news_list["list_id"]
    path = confirm_path(_signup_and_mail(client, list_id))
    for method in ("GET", "POST"):
        response = client.http.request(method, altered(path), headers=FORM)
        assert response.status_code == 400
        page = response.body.decode()
        assert "does not work" in page and "Traceback" not in page
        assert 'action="http://127.0.0.1:8000/c/resend"' in page
        # An altered token cannot be opened, not even for its list (P31): the form asks for it.
        assert list_id not in page and 'name="list_id" required' in page
    assert stored(list_id, ANN).status == "pending"


def test_garbage_token_page_asks_for_the_list_too(client, aws):
    response = client.http.get("/c/not-a-token")
    assert response.status_code == 400
    assert b'name="list_id" required' in response.body


def test_p01_expired_token_gets_a_clear_page(client, news_list):
    list_id = news_list["list_id"]
    path = confirm_path(_signup_and_mail(client, list_id))
    with time_machine.travel(datetime.now(UTC) + timedelta(days=7, minutes=1)):
        for method in ("GET", "POST"):
            response = client.http.request(method, path, headers=FORM)
            assert response.status_code == 400
            assert b"has expired" in response.body
    assert stored(list_id, ANN).status == "pending"


def test_p01_pending_signup_expires_after_7_days_and_signing_up_again_works(client, account, news_list):
    list_id = news_list["list_id"]
    api = bearer(account["api_key"])
    _signup_and_mail(client, list_id)
    later = datetime.now(UTC) + timedelta(days=7, minutes=1)
    with time_machine.travel(later):
        # Still in the table (moto, like DynamoDB, deletes late), but gone for every reader.
        assert stored(list_id, ANN) is not None
        assert client.http.get(f"/v1/lists/{list_id}/subscribers/{ANN}", headers=api).status_code == 404
        listing = json.loads(client.http.get(f"/v1/lists/{list_id}/subscribers", headers=api).body)
        assert listing["subscribers"] == []
        listing = json.loads(client.http.get(f"/v1/lists/{list_id}/subscribers?status=pending",
                                             headers=api).body)
        assert listing["subscribers"] == []

        mail = _signup_and_mail(client, list_id)
        assert len(sent_mails()) == 2
        assert client.http.post(confirm_path(mail), headers=BROWSER).status_code == 200
        assert stored(list_id, ANN).status == "confirmed"


def test_p01_a_still_valid_link_cannot_confirm_an_expired_signup(client, news_list, settings_env):
    list_id = news_list["list_id"]
    _signup_and_mail(client, list_id)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=7, minutes=1)):
        # A link resent on day 6 is still valid on day 8, but the signup itself is over.
        path = f"/c/{confirm_token(signer(), list_id, ANN)}"
        _refused_on_page_and_post(client, path)
        assert b"Sign up again" in client.http.get(path).body
        assert stored(list_id, ANN).status == "pending"


def test_p12_address_suppressed_after_signup_cannot_confirm(client, news_list):
    list_id = news_list["list_id"]
    path = confirm_path(_signup_and_mail(client, list_id))
    assert _offers_the_button(client, path)
    suppress(stored(list_id, ANN).account_id, ANN, SuppressionReason.COMPLAINED)
    _refused_on_page_and_post(client, path)
    assert stored(list_id, ANN).status == "pending"


def test_key_rotation_link_signed_with_the_old_secret_still_confirms(client, news_list, put_secret):
    list_id = news_list["list_id"]
    put_secret(SIGNING_KEYS_SECRET, '["old-secret"]')
    path = confirm_path(_signup_and_mail(client, list_id))
    put_secret(SIGNING_KEYS_SECRET, '["new-secret", "old-secret"]')
    assert client.http.post(path, headers=BROWSER).status_code == 200
    assert stored(list_id, ANN).status == "confirmed"


def test_resend_for_a_pending_signup_queues_a_new_mail(client, news_list):
    list_id = news_list["list_id"]
    _signup_and_mail(client, list_id)
    # A resend inside the mail interval is dropped (one confirmation mail per N minutes).
    client.http.post("/c/resend", headers=FORM, body=f"email={ANN}&list_id={list_id}")
    apply_queued_signups()
    assert take("outbox") == []
    with time_machine.travel(datetime.now(UTC) + AFTER_MAIL_INTERVAL):
        response = client.http.post("/c/resend", headers=FORM, body=f"email={ANN}&list_id={list_id}")
        assert response.status_code == 200
        apply_queued_signups()
        records = take("outbox")
        assert len(records) == 1
        deliver(records)
        assert client.http.post(confirm_path(sent_mails()[-1]), headers=BROWSER).status_code == 200


def test_p05_resend_answers_identically_and_mails_only_a_pending_signup(client, news_list):
    list_id = news_list["list_id"]
    client.http.post(confirm_path(_signup_and_mail(client, list_id, "done@example.com")),
                     headers=BROWSER)
    form_signup(client, list_id, email=ANN)
    take("outbox")
    with time_machine.travel(datetime.now(UTC) + AFTER_MAIL_INTERVAL):
        answers = [client.http.post("/c/resend", headers=FORM, body=f"email={email}&list_id={lid}")
                   for email, lid in ((ANN, list_id), ("nobody@example.com", list_id),
                                      ("done@example.com", list_id), (ANN, "lst_unknown"), (ANN, ""),
                                      (ANN, "x" * 3000))]
        assert len({(a.status_code, a.body) for a in answers}) == 1
        apply_queued_signups()
        assert len(take("outbox")) == 1  # only the pending signup got a new link


def test_resend_with_a_bad_email_is_a_400_page(client, news_list):
    response = client.http.post("/c/resend", headers=FORM,
                                body=f"email=nope&list_id={news_list['list_id']}")
    assert response.status_code == 400
    assert b"not a valid email address" in response.body


# --- P01: a list may forget unconfirmed signups sooner than 7 days -------------------------------

BOB = "bob@example.com"


def _shorten(client, headers, list_id: str, days) -> object:
    return client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                             body=json.dumps({"pending_signup_days": days}))


def test_p01_a_list_can_make_the_seven_days_of_an_unconfirmed_signup_shorter(client, headers, news_list):
    """POLICY.md: a number is a default an account may make stricter. A list of 2 days: its mail
    says so, a link works until just before day 2 and not just after, and the daily purge
    deletes the unconfirmed entry then, not on day 7."""
    from chalicelib.services.retention import run_purges

    list_id = news_list["list_id"]
    changed = _shorten(client, headers, list_id, 2)
    assert changed.status_code == 200, changed.body
    assert json.loads(changed.body)["pending_signup_days"] == 2
    start = datetime.now(UTC)
    ann_mail = _signup_and_mail(client, list_id, ANN)
    bob_mail = _signup_and_mail(client, list_id, BOB)
    assert "The link works for 2 days." in ann_mail.get_body(preferencelist=("plain",)).get_content()
    assert "The link works for 2 days." in ann_mail.get_body(preferencelist=("html",)).get_content()
    with time_machine.travel(start + timedelta(days=2, minutes=-1)):
        assert _offers_the_button(client, confirm_path(ann_mail))
        assert client.http.post(confirm_path(ann_mail), headers=BROWSER).status_code == 200
    assert stored(list_id, ANN).status == "confirmed"
    with time_machine.travel(start + timedelta(days=2, minutes=1)):
        _refused_on_page_and_post(client, confirm_path(bob_mail))
        refused = client.http.get(confirm_path(bob_mail))
        assert b"Sign up again" in refused.body
        assert b"forgotten after 2 days" in refused.body, "the page says the list's own days"
    assert stored(list_id, BOB).status == "pending"
    with time_machine.travel(start + timedelta(days=3)):
        assert run_purges().counts["pending_signups"] == 1
    assert stored(list_id, BOB) is None and stored(list_id, ANN).status == "confirmed"


def test_p01_the_lists_days_hold_for_api_signups_and_imports_too(client, headers, news_list):
    list_id = news_list["list_id"]
    assert _shorten(client, headers, list_id, 1).status_code == 200
    added = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=headers,
                             body=json.dumps({"email": ANN}))
    assert added.status_code == 201, added.body
    imported = client.http.post(f"/v1/lists/{list_id}/imports",
                                headers={**headers, "Content-Type": "text/csv"}, body=f"email\n{BOB}\n")
    assert imported.status_code == 202, imported.body
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.workers.imports import import_record

    for record in take("imports"):
        import_record(SQSRecord(record))
    for address in (ANN, BOB):
        entry = stored(list_id, address)
        assert entry.status == "pending"
        # expires_at is DynamoDB's TTL: whole seconds.
        assert abs(entry.expires_at - entry.created_at - timedelta(days=1)) < timedelta(seconds=1), address


def test_p01_pending_signup_days_outside_1_to_7_is_a_400_naming_it(client, headers, news_list, account):
    from chalicelib.cli import create_account_with_key

    list_id = news_list["list_id"]
    for bad in (0, 8, -1, 7.5, "2", True, 10**20, "2\u2028"):
        response = _shorten(client, headers, list_id, bad)
        assert response.status_code == 400, bad
        assert json.loads(response.body)["error"]["field"] == "pending_signup_days", bad
        created = client.http.post("/v1/lists", headers=headers, body=json.dumps(
            {"name": "News", "consent_text": "Yes", "pending_signup_days": bad}))
        assert created.status_code == 400, bad
    view = json.loads(client.http.get(f"/v1/lists/{list_id}", headers=headers).body)
    assert view["pending_signup_days"] == 7, "the default, unchanged by the refused values"
    for good in (1, 7):
        assert json.loads(_shorten(client, headers, list_id, good).body)["pending_signup_days"] == good
    assert json.loads(_shorten(client, headers, list_id, None).body)["pending_signup_days"] == 7
    stranger = create_account_with_key("Other Org", {})
    assert _shorten(client, bearer(stranger["api_key"]), list_id, 1).status_code == 404
# --- a link confirms the signup it was mailed for (P02, P30) --------------------------------------

POLICY = "https://acme.example/privacy"
STRANGER = {"User-Agent": "MalloryBot/6.6"}


def _mails_to(address: str) -> list:
    return [m for m in sent_mails() if str(m["To"]) == address]


def _tracking_list(client, headers) -> str:
    from tests.support.lists import new_list

    return new_list(client, headers, "News", privacy_policy_url=POLICY,
                    tracking={"opens": True, "clicks": True})


def _replaced_by_a_stranger(client, list_id: str, after: timedelta = AFTER_MAIL_INTERVAL) -> tuple[str, str]:
    """Ann signs up (no tracking box) and gets her link; `after` that, someone else submits the
    form with her address, the tracking box ticked, a name and another browser. (Ann's link's
    path, the path of the link mailed for the stranger's signup, or "" when none was.)"""
    form_signup(client, list_id, headers={"User-Agent": "AnnBrowser/1.0"}, email=ANN)
    deliver(take("outbox"))
    (first,) = _mails_to(ANN)
    with time_machine.travel(datetime.now(UTC) + after):
        form_signup(client, list_id, headers=STRANGER, email=ANN, name="Mallory was here", tracking="yes")
        deliver(take("outbox"))
    later = _mails_to(ANN)[1:]
    return confirm_path(first), confirm_path(later[-1]) if later else ""


def test_p30_an_old_confirm_link_does_not_confirm_tracking_consent_given_by_a_later_signup(client, headers):
    """The link mailed for Ann's signup must not confirm the signup a stranger wrote over it,
    with the tracking box ticked: Ann never ticked it (P30: tracking consent only by the person's
    own separate choice). The answer is the "no longer waiting" page with the resend form."""
    news = _tracking_list(client, headers)
    stale, _ = _replaced_by_a_stranger(client, news)
    with time_machine.travel(datetime.now(UTC) + 2 * AFTER_MAIL_INTERVAL):
        answer = client.http.post(stale, headers={**BROWSER, "User-Agent": "AnnBrowser/1.0"})
    assert answer.status_code == 400 and b"no longer waiting" in answer.body
    entry = stored(news, ANN)
    assert entry.status == "pending" and entry.consent.confirmed_at is None
    assert entry.tracking.confirmed_at is None, "Ann's click confirmed a tracking consent she never gave"


def test_p02_the_consent_proof_of_a_confirmed_entry_is_that_of_the_signup_its_link_was_mailed_for(
        client, headers):
    """The later signup gets its own mail; its link confirms it, with its own proof. Ann's older
    link, clicked after, changes nothing (confirming twice is harmless)."""
    news = _tracking_list(client, headers)
    stale, own = _replaced_by_a_stranger(client, news)
    assert own, "the later signup, which replaced the first, got a mail of its own"
    with time_machine.travel(datetime.now(UTC) + 2 * AFTER_MAIL_INTERVAL):
        assert client.http.post(stale, headers=BROWSER).status_code == 400
        assert client.http.post(own, headers=BROWSER).status_code == 200
        entry = stored(news, ANN)
        assert entry.status == "confirmed"
        assert (entry.consent.user_agent, entry.name) == ("MalloryBot/6.6", "Mallory was here")
        assert entry.tracking.confirmed_at is not None, "the box was ticked in the signup confirmed"
        assert client.http.post(stale, headers=BROWSER).status_code == 200
        assert stored(news, ANN).consent.confirmed_at == entry.consent.confirmed_at


def test_p02_p05_after_a_stale_link_a_resend_mails_a_link_that_confirms_the_signup_waiting(client, headers):
    news = _tracking_list(client, headers)
    stale, _ = _replaced_by_a_stranger(client, news)
    with time_machine.travel(datetime.now(UTC) + 3 * AFTER_MAIL_INTERVAL):
        assert client.http.post(stale, headers=BROWSER).status_code == 400
        answer = client.http.post("/c/resend", headers=FORM, body=f"email={ANN}&list_id={news}")
        assert answer.status_code == 200
        apply_queued_signups()
        deliver(take("outbox"))
        assert client.http.post(confirm_path(_mails_to(ANN)[-1]), headers=BROWSER).status_code == 200
    assert stored(news, ANN).status == "confirmed"


def test_p02_a_person_who_signs_up_twice_confirms_with_the_newest_link(client, news_list):
    """Inside the mail interval a second signup of one's own is dropped: no mail, nothing
    replaced. Past it, it replaces the first: its own mail comes, and its link confirms; the
    first link is stale."""
    list_id = news_list["list_id"]
    # The interval is a fixed window (domain/signup_limits): start just inside one.
    window = settings().signup_limits.mail_interval_minutes * 60
    start = datetime.fromtimestamp((int(datetime.now(UTC).timestamp()) // window) * window + 5, UTC)
    with time_machine.travel(start):
        first = confirm_path(_signup_and_mail(client, list_id))
    with time_machine.travel(start + timedelta(seconds=window - 60)):
        form_signup(client, list_id, email=ANN, city="Cluj")
        assert take("outbox") == [] and stored(list_id, ANN).attributes.as_dict() == {}
    with time_machine.travel(start + AFTER_MAIL_INTERVAL):
        second = confirm_path(_signup_and_mail(client, list_id))
        assert second != first and len(_mails_to(ANN)) == 2
        _refused_on_page_and_post(client, first)
        assert _offers_the_button(client, second)
        assert client.http.post(second, headers=BROWSER).status_code == 200
    assert stored(list_id, ANN).status == "confirmed"


def test_p02_p12_a_stale_link_does_not_confirm_a_signup_back_a_stranger_replaced(client, account, headers):
    """Ann unsubscribed; her signup back waits beside the ended entry, and a stranger's replaces
    it: her first link confirms nothing, the stranger's mail's link confirms theirs."""
    from chalicelib.domain.mail_links import LinkClaim
    from chalicelib.services.unsubscribe import Scope, unsubscribe
    from tests.support.lists import subscribe

    news = _tracking_list(client, headers)
    subscribe(account["account_id"], news, ANN)
    unsubscribe(LinkClaim(account["account_id"], news, ANN, None), Scope.LIST)
    stale, own = _replaced_by_a_stranger(client, news)
    assert stored(news, ANN).returning.name == "Mallory was here"
    with time_machine.travel(datetime.now(UTC) + 2 * AFTER_MAIL_INTERVAL):
        _refused_on_page_and_post(client, stale)
        assert stored(news, ANN).status == "unsubscribed"
        assert _offers_the_button(client, own)
        assert client.http.post(own, headers=BROWSER).status_code == 200
    assert (stored(news, ANN).status, stored(news, ANN).name) == ("confirmed", "Mallory was here")


def test_p02_a_link_of_another_signup_time_or_list_or_tenant_confirms_nothing(client, account, news_list):
    """A genuine token naming this list and address but another signup time (a microsecond
    either way) confirms nothing; the exact time does. Another tenant's list id: nothing."""
    list_id = news_list["list_id"]
    _signup_and_mail(client, list_id)
    given = stored(list_id, ANN).consent.given_at
    for other in (given - timedelta(microseconds=1), given + timedelta(microseconds=1)):
        path = f"/c/{confirm_token(signer(), list_id, ANN, other)}"
        _refused_on_page_and_post(client, path)
        assert stored(list_id, ANN).status == "pending"
    foreign = f"/c/{confirm_token(signer(), 'lst_of_another_tenant', ANN, given)}"
    _refused_on_page_and_post(client, foreign)
    assert stored(list_id, ANN).status == "pending"
    exact = f"/c/{confirm_token(signer(), list_id, ANN, given)}"
    assert client.http.post(exact, headers=BROWSER).status_code == 200
    assert stored(list_id, ANN).status == "confirmed"


def test_p01_a_link_made_before_links_named_their_signup_still_confirms_until_it_expires(client, news_list):
    """Links already in inboxes when links were bound to their signup carry no signup time:
    they confirm the signup waiting, as they did, for the 7 days they live."""
    list_id = news_list["list_id"]
    _signup_and_mail(client, list_id)
    unbound = f"/c/{confirm_token(signer(), list_id, ANN)}"
    assert client.http.post(unbound, headers=BROWSER).status_code == 200
    assert stored(list_id, ANN).status == "confirmed"


# --- links from before: erased, unsubscribed, another list -----------------------------------------

def test_p01_p18_an_old_confirm_link_does_nothing_after_the_person_is_erased(client, account, news_list):
    from chalicelib.services.privacy import erase_person

    list_id = news_list["list_id"]
    path = confirm_path(_signup_and_mail(client, list_id))
    erase_person(account["account_id"], ANN)
    _refused_on_page_and_post(client, path)
    assert stored(list_id, ANN) is None


def test_p01_an_old_confirm_link_does_not_bring_back_someone_who_unsubscribed(client, account, news_list):
    from chalicelib.domain.mail_links import LinkClaim
    from chalicelib.services.unsubscribe import Scope, unsubscribe

    list_id = news_list["list_id"]
    path = confirm_path(_signup_and_mail(client, list_id))
    assert client.http.post(path, headers=BROWSER).status_code == 200
    unsubscribe(LinkClaim(account["account_id"], list_id, ANN, None), Scope.LIST)
    _refused_on_page_and_post(client, path)
    assert stored(list_id, ANN).status == "unsubscribed"


def test_p01_a_confirm_link_of_one_list_confirms_nothing_on_another(client, headers, news_list):
    from tests.support.lists import new_list

    news, offers = news_list["list_id"], new_list(client, headers, "Offers")
    form_signup(client, offers, email=ANN)
    take("outbox")
    news_link = confirm_path(_signup_and_mail(client, news))
    assert client.http.post(news_link, headers=BROWSER).status_code == 200
    assert stored(offers, ANN).status == "pending"
    assert stored(news, ANN).status == "confirmed"
