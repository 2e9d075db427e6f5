"""Suspension (P26): rolling rates per account, thresholds, the audit entry, the notice mailed once,
the operator's lift, and the health endpoint (aggregates only, P14)."""
from __future__ import annotations

import json
import uuid

import pytest

from chalicelib.cli import main as cli
from chalicelib.config import settings
from chalicelib.domain.health import sending_blocked_reason
from chalicelib.store import audit
from chalicelib.store.models import Account
from tests.support.api import bearer
from tests.support.events import ses_event, sns_body, sqs_event
from tests.support.lists import new_list, subscribe
from tests.support.queues import take

MIN_VOLUME = 20


@pytest.fixture
def small_volume(monkeypatch):
    """A minimum volume a test can reach quickly; the thresholds keep their defaults."""
    from chalicelib.config import settings

    monkeypatch.setenv("TIDINGS_HEALTH_MIN_VOLUME", str(MIN_VOLUME))
    settings.cache_clear()
    yield
    monkeypatch.undo()
    settings.cache_clear()


@pytest.fixture
def news(client, account):
    return new_list(client, bearer(account["api_key"]))


def feed(client, *documents):
    """Deliver SNS-wrapped events to the worker, ten to a batch as the queue would."""
    bodies = [sns_body(document) for document in documents]
    for start in range(0, len(bodies), 10):
        result = client.lambda_.invoke("feedback_worker", sqs_event(*bodies[start:start + 10]))
        assert result.payload == {"batchItemFailures": []}


def sends(client, account, list_id, count, prefix="p"):
    """Mail `count` people through the send worker, ten to a batch: the sender counts what it sent
    (SES is asked for no Send events)."""
    from chalicelib.config import settings
    from chalicelib.domain.outbox import EmailJob
    from chalicelib.domain.outgoing import OutgoingEmail

    bodies = [json.dumps(EmailJob(f"msg-{uuid.uuid4().hex}", account["account_id"], "campaign",
                                  OutgoingEmail(sender=settings().default_sender,
                                                recipient=f"{prefix}{index}@example.com", subject="News",
                                                text="Hello"), {"list": list_id}).to_dict())
              for index in range(count)]
    for start in range(0, len(bodies), 10):
        result = client.lambda_.invoke("send_worker", sqs_event(*bodies[start:start + 10]))
        assert result.payload == {"batchItemFailures": []}


def complaint(account, list_id, recipient="p0@example.com"):
    return ses_event("event-complaint.json", recipient,
                     {"account": account["account_id"], "list": list_id, "kind": "campaign"})


def hard_bounce(account, list_id, recipient):
    return ses_event("event-bounce.json", recipient,
                     {"account": account["account_id"], "list": list_id, "kind": "campaign"})


def status(account):
    return Account.get(account["account_id"]).status


def actions(account):
    return [entry.action for entry in audit.entries(account["account_id"])]


def suspension_notices():
    return [job for job in (json.loads(r["body"]) for r in take("outbox"))
            if job["kind"] == "account_suspended"]


def test_p26_crossing_the_complaint_threshold_suspends_audits_and_mails_the_contact_once(
        client, account, news, small_volume):
    sends(client, account, news, MIN_VOLUME)
    assert status(account) == "active"

    feed(client, complaint(account, news))

    stored = Account.get(account["account_id"])
    assert stored.status == "suspended" and stored.suspended_at is not None
    assert stored.suspension_reason.startswith("complaint rate 5.00% over 20 mails")
    assert actions(account).count("account.suspended") == 1
    entry = next(e for e in audit.entries(account["account_id"]) if e.action == "account.suspended")
    assert "@" not in (entry.target or "") and entry.actor == "feedback-worker"
    # More feedback, and the same complaint again, while suspended: no second notice or entry.
    feed(client, complaint(account, news, "p1@example.com"))
    sends(client, account, news, 3, "q")
    [notice] = suspension_notices()
    assert notice["email"]["recipient"] == "contact@acme.example"
    assert notice["email"]["reply_to"] == settings().operator_email, "it asks for a reply to an operator"
    assert "complaint rate 5.00%" in notice["email"]["text"]
    assert actions(account).count("account.suspended") == 1


def test_p22_the_suspension_notice_warns_that_content_is_erased_after_30_days(client, account, news,
                                                                             small_volume):
    """P22: within the 30 days after a suspension the account can export its data; then it is
    erased - for a rate suspension (P26) as for an operator's. The P26 notice says "Your lists,
    subscribers and reports stay available while sending is suspended" and never mentions the
    30 days, the export or the erasure, so an account trusting it loses everything on day 30."""
    sends(client, account, news, MIN_VOLUME)
    feed(client, complaint(account, news))
    [notice] = suspension_notices()
    text = notice["email"]["text"]
    assert "30 days" in text and "GET /v1/account/export" in text, text


def test_p26_the_notice_is_sent_once_even_when_two_workers_decide_together(client, account, news,
                                                                            small_volume):
    from chalicelib.services import health as suspension

    sends(client, account, news, MIN_VOLUME)
    feed(client, complaint(account, news))
    stale = Account.get(account["account_id"])
    stale.status = "active"  # what a second worker read before the first one's update
    suspension._suspend(stale, stale.suspension_reason)

    jobs = suspension_notices()
    assert len(jobs) == 2 and jobs[0]["message_id"] == jobs[1]["message_id"]  # the send worker dedupes
    assert actions(account).count("account.suspended") == 1


def test_p26_crossing_the_bounce_threshold_suspends(client, account, news, small_volume):
    sends(client, account, news, MIN_VOLUME)
    feed(client, hard_bounce(account, news, "p0@example.com"))
    assert status(account) == "suspended"
    assert Account.get(account["account_id"]).suspension_reason.startswith("bounce rate 5.00%")


def test_p26_below_the_minimum_volume_there_is_no_suspension(client, account, news):
    # Default minimum volume (200): five complaints on five mails are not judged yet.
    sends(client, account, news, 5)
    feed(client, *[complaint(account, news, f"p{index}@example.com") for index in range(5)])
    assert status(account) == "active"
    assert suspension_notices() == []


def test_p26_a_suspended_account_is_blocked_from_sending(client, account, news, small_volume):
    assert sending_blocked_reason(Account.get(account["account_id"])) is None
    sends(client, account, news, MIN_VOLUME)
    feed(client, complaint(account, news))
    reason = sending_blocked_reason(Account.get(account["account_id"]))
    assert reason.startswith("sending is suspended: complaint rate 5.00%")


def test_p26_an_operator_lifts_the_suspension_and_the_account_is_judged_afresh(
        client, account, news, small_volume, capsys):
    sends(client, account, news, MIN_VOLUME)
    feed(client, complaint(account, news))
    assert status(account) == "suspended"

    assert cli(["account", "unsuspend", "--account-id", account["account_id"]]) == 0

    printed = capsys.readouterr().out  # after the workers' JSON log lines
    assert printed.rstrip().endswith('"status": "active"\n}')
    stored = Account.get(account["account_id"])
    assert stored.status == "active" and stored.suspended_at is None and stored.health_since
    assert "account.unsuspended" in actions(account)
    # The old complaint is not held against it: more feedback does not suspend it again at once.
    sends(client, account, news, 2 * MIN_VOLUME, "fresh")
    feed(client, hard_bounce(account, news, "fresh0@example.com"))  # reviewed: 2.5% bounces, no complaint
    assert status(account) == "active"
    assert cli(["account", "unsuspend", "--account-id", account["account_id"]]) == 2
    assert "not suspended" in capsys.readouterr().err


def test_p26_an_account_can_be_stricter_than_the_platform(client, account, news, small_volume):
    assert cli(["account", "health-limits", "--account-id", account["account_id"],
                "--max-bounce-rate", "0.01"]) == 0
    sends(client, account, news, 2 * MIN_VOLUME)
    feed(client, hard_bounce(account, news, "p0@example.com"))  # 2.5%: under 5%, over the own 1%
    assert status(account) == "suspended"
    assert "account.health_limits_changed" in actions(account)
    assert cli(["account", "health-limits", "--account-id", account["account_id"],
                "--max-bounce-rate", "5"]) == 2


def test_p14_p26_health_endpoint_shows_aggregates_only(client, account, news):
    subscribe(account["account_id"], news, "ann@example.com")
    sends(client, account, news, 4)
    feed(client, hard_bounce(account, news, "ann@example.com"), complaint(account, news, "p1@example.com"))

    response = client.http.get("/v1/account/health", headers=bearer(account["api_key"]))

    assert response.status_code == 200
    body = json.loads(response.body)
    assert body["status"] == "active"
    assert body["volume"] == 4
    # Delivered is derived: sent minus bounced.
    assert body["counts"] == {"sent": 4, "delivered": 3, "hard_bounces": 1, "soft_bounces": 0,
                              "complaints": 1}
    assert body["rates"] == {"bounce": 0.25, "complaint": 0.25}
    assert body["thresholds"] == {"bounce": 0.05, "complaint": 0.001, "min_volume": 200}
    assert body["judged"] is False
    assert body["window"]["days"] == 30
    text = response.body.decode() if isinstance(response.body, bytes) else response.body
    assert "@" not in text and "example.com" not in text


def test_health_endpoint_needs_a_key(client):
    assert client.http.get("/v1/account/health").status_code == 401


# --- one mail's complaint counts once, however it is replayed (P26) -------------------------------

def replayed(document, copies):
    """`copies` of an SES event, each under a new SES message id (the id the event carries
    unverified), all about the same mail."""
    return [{**document, "mail": {**document["mail"], "messageId": f"0100replay{copy:04d}-000000"}}
            for copy in range(copies)]


@pytest.mark.parametrize(("sent", "verdict"), [(1001, "active"), (1000, "suspended")])
def test_p26_a_complaint_replayed_under_new_ses_message_ids_counts_once(client, account, news, sent, verdict):
    from chalicelib.domain.clock import now
    from chalicelib.store.models import AccountHealthDay
    from tests.support.counters import count_sent

    count_sent(account["account_id"], now().date(), sent)
    one_mail = ses_event("event-complaint.json", "p0@example.com",
                         {"account": account["account_id"], "list": news, "kind": "transactional"})

    feed(client, *replayed(one_mail, 4))

    day = AccountHealthDay.get(account["account_id"], now().date().isoformat())
    assert int(day.complaints) == 1
    # 1 in 1,001 is just under 0.1%; 1 in 1,000 reaches it (four counted would be 0.4% either way).
    assert status(account) == verdict


# --- SES's account-level suppression list is every tenant's, not this account's bounce (P26, P28) --

@pytest.mark.parametrize(("own_bounces", "verdict"), [(9, "active"), (10, "suspended")])
def test_p26_p28_bounces_off_the_ses_account_suppression_list_stay_out_of_the_bounce_rate(
        client, account, news, own_bounces, verdict):
    from chalicelib.domain.clock import now
    from chalicelib.store.models import AccountHealthDay
    from tests.support.counters import count_sent

    count_sent(account["account_id"], now().date(), 200)
    tags = {"account": account["account_id"], "list": news, "kind": "campaign"}
    own = [ses_event("event-bounce.json", f"gone{n}@example.com", tags, bounceType="Permanent",
                     bounceSubType="General") for n in range(own_bounces)]
    elsewhere = [ses_event("event-bounce.json", f"elsewhere{n}@example.com", tags, bounceType="Permanent",
                           bounceSubType="OnAccountSuppressionList") for n in range(10)]

    feed(client, *elsewhere, *own)

    day = AccountHealthDay.get(account["account_id"], now().date().isoformat())
    assert int(day.hard_bounces) == own_bounces
    # 9 in 200 is 4.5%, under 5%; 10 reach it. Counting the other ten would be 9.5% or 10%.
    assert status(account) == verdict


# --- What a blocked account may still write (P22, P26, P33) -------------------------------------
# A suspended, cancelled or content-erased account reads, exports and deletes its data and answers
# people's requests; it creates and changes no content, so nothing it writes outlives the erasure
# of its content 30 days after the suspension (P22). Every write route is in one of the tables.
_REFUSED = {
    ("POST", "/v1/lists"): {"name": "Later", "consent_text": "Yes, mail me"},
    ("PATCH", "/v1/lists/{list_id}"): {"name": "Renamed"},
    # With consent proof on a single opt-in list: confirmed at once, no confirmation mail.
    ("POST", "/v1/lists/{list_id}/subscribers"): {"email": "new@example.com",
                                                  "consent": {"given_at": "2025-01-01T00:00:00Z"}},
    ("POST", "/v1/lists/{list_id}/imports"): "email\nnew@example.com\n",
    ("POST", "/v1/campaigns"): {"name": "Later", "list_ids": ["{list_id}"], "subject": "Hi",
                                "html": "<p>Hello</p>"},
    ("PATCH", "/v1/campaigns/{campaign_id}"): {"subject": "Changed"},
    ("POST", "/v1/campaigns/{campaign_id}/send"): None,
    ("POST", "/v1/campaigns/{campaign_id}/test"): {"addresses": ["test@acme.example"]},
    ("POST", "/v1/messages"): {"to": "new@example.com", "subject": "Hi", "text": "Hello"},
    ("POST", "/v1/senders"): {"identity": "other@acme.example"},
}
# Allowed, and why: each removes data, answers a person's rights, or keeps the account reachable
# and its keys safe; none adds content.
_ALLOWED = {
    ("PATCH", "/v1/lists/{list_id}/subscribers/{email}"): "rectification, restriction (P17)",
    ("DELETE", "/v1/lists/{list_id}/subscribers/{email}"): "removes data",
    ("DELETE", "/v1/lists/{list_id}"): "removes data",
    ("DELETE", "/v1/campaigns/{campaign_id}"): "removes data",
    ("DELETE", "/v1/senders/{identity}"): "removes an identity",
    ("POST", "/v1/privacy/requests"): "people's rights (P16-P20)",
    ("POST", "/v1/keys"): "key rotation (P27); a read-only key for the export",
    ("DELETE", "/v1/keys/{key_id}"): "key revocation (P27)",
    ("PATCH", "/v1/account"): "the profile the suspension notices go to",
    ("POST", "/v1/account/email-change"): "the contact email, confirmed by mail (P27)",
    ("POST", "/v1/account/deletion"): "deletion (P23)",
    ("POST", "/v1/account/reactivate"): "undoing a deletion request (P23)",
}


def test_p22_p26_every_write_route_is_either_refused_or_allowed_to_a_blocked_account():
    from chalicelib.web.routes import OPERATIONS

    writes = {(op.method, op.path) for op in OPERATIONS if op.method != "GET"}
    assert not set(_REFUSED) & set(_ALLOWED)
    assert writes == set(_REFUSED) | set(_ALLOWED), (
        f"decide whether a blocked account may use {sorted(writes - set(_REFUSED) - set(_ALLOWED))}")


def _blocked_account(client, account, how):
    """The account's list (single opt-in, one subscriber) and draft campaign, then the account
    blocked `how`; the ids the routes take."""
    from chalicelib.services.health import suspend_by_operator
    from tests.support.campaigns import create_campaign

    api = bearer(account["api_key"])
    list_id = new_list(client, api, double_opt_in=False)
    subscribe(account["account_id"], list_id, "ann@example.com")
    campaign_id = create_campaign(client, api, [list_id])["campaign_id"]
    if how == "cancelled":
        Account(account_id=account["account_id"]).update(actions=[Account.status.set("cancelled")])
    else:
        suspend_by_operator(account["account_id"], "spam complaints")
    if how == "content_erased":  # the status only: routes on erased content would be 404s
        Account(account_id=account["account_id"]).update(actions=[Account.status.set("content_erased")])
    return {"list_id": list_id, "campaign_id": campaign_id}


def _content(account, ids):
    from chalicelib.store.models import Campaign, MailingList, Subscriber

    return (MailingList.count(), Campaign.count(), Subscriber.count(), MailingList.get(ids["list_id"]).name,
            Campaign.get(account["account_id"], ids["campaign_id"]).subject)


@pytest.mark.parametrize("how", ["suspended", "cancelled", "content_erased"])
@pytest.mark.parametrize("route", sorted(_REFUSED), ids=" ".join)
def test_p22_p26_a_blocked_account_creates_and_changes_no_content(client, account, route, how):
    ids = _blocked_account(client, account, how)
    take("outbox")
    method, path = route
    body = _REFUSED[route]
    headers = bearer(account["api_key"])
    if isinstance(body, str):
        headers = {**headers, "Content-Type": "text/csv"}
    else:
        body = json.dumps(body).replace("{list_id}", ids["list_id"]) if body is not None else None
    before = _content(account, ids)
    response = client.http.request(method, path.format(**ids), headers=headers, body=body or b"")
    assert response.status_code == 403, response.body
    error = json.loads(response.body)["error"]
    assert error["field"] == "account" and ("suspended" in error["message"] or how in error["message"])
    after = _content(account, ids)
    assert after == before and take("outbox") == [] and take("imports") == []


def test_p22_p26_a_suspended_account_still_cancels_deletes_and_answers_requests(client, account):
    ids = _blocked_account(client, account, "suspended")
    api = bearer(account["api_key"])
    ann = f"/v1/lists/{ids['list_id']}/subscribers/ann%40example.com"
    assert client.http.patch(ann, headers=api, body=json.dumps({"name": "Ann E."})).status_code == 200
    assert client.http.patch(f"/v1/campaigns/{ids['campaign_id']}", headers=api,
                             body=json.dumps({"status": "cancelled"})).status_code == 200
    assert client.http.post("/v1/privacy/requests", headers=api, body=json.dumps(
        {"type": "erase", "email": "ann@example.com"})).status_code == 201
    assert client.http.post("/v1/keys", headers=api, body=json.dumps(
        {"name": "export", "scope": "read"})).status_code == 201
    assert client.http.delete(f"/v1/campaigns/{ids['campaign_id']}", headers=api).status_code == 204
    assert client.http.delete(f"/v1/lists/{ids['list_id']}", headers=api).status_code == 204


@pytest.mark.parametrize("how", ["suspended", "cancelled"])
def test_p26_p22_a_blocked_accounts_form_takes_no_signups_and_writes_none(client, account, news_list, how):
    """A suspended or cancelled account mails no confirmation (P26) and writes no new content
    (P22). Its form page and the resend form say the list takes no signups now, without the
    operator's reason, instead of promising a mail. A signup posted anyway (a page loaded before,
    the JS endpoint, or one queued just before the suspension) writes no entry and mails
    nothing. Lifted, the form works again."""
    from urllib.parse import urlencode

    from chalicelib.services.health import suspend_by_operator
    from chalicelib.store.models import Subscriber
    from tests.support.signups import form_signup, js_signup

    list_id = news_list["list_id"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    queued_before = client.http.post(f"/f/{list_id}", headers=form,
                                     body=urlencode({"email": "dan@example.com", "consent": "yes"}))
    assert queued_before.status_code == 200
    if how == "cancelled":
        Account(account_id=account["account_id"]).update(actions=[Account.status.set("cancelled")])
    else:
        suspend_by_operator(account["account_id"], "spam complaints")
    take("outbox")  # the suspension notice to the account
    page = client.http.get(f"/f/{list_id}")
    assert page.status_code == 409 and b"not taking signups" in page.body
    assert b"spam complaints" not in page.body and b"<form" not in page.body
    resend = client.http.post("/c/resend", headers=form, body=urlencode({"list_id": list_id,
                                                                         "email": "dan@example.com"}))
    assert resend.status_code == 409 and b"not taking signups" in resend.body
    form_signup(client, list_id, email="ann@example.com")
    js_signup(client, list_id, {"email": "bob@example.com", "consent": True})
    assert Subscriber.count(list_id) == 0 and take("outbox") == []
    Account(account_id=account["account_id"]).update(actions=[Account.status.set("active")])
    assert client.http.get(f"/f/{list_id}").status_code == 200
    assert form_signup(client, list_id, email="ann@example.com").status_code == 200
    assert len(take("outbox")) == 1, "the confirmation mail"
