"""An account's end of life: its export and unsubscribe list while suspended and its content
erased 30 days later (P22); deletion confirmed by mail, reactivated, deleted at +30 (P23);
`last_active_day` written at most once a day (P24)."""
from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from bench.aws_calls import count_aws_calls
from chalicelib.cli import create_account_with_key, main
from chalicelib.config import hash_key
from chalicelib.domain.campaigns import CampaignContent, Channel
from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason, address_hash
from chalicelib.services.retention import PLATFORM_AUDIT, run_purges
from chalicelib.store import audit
from chalicelib.store.campaign_stats import SHARDS, campaign_counters, counter_update
from chalicelib.store.campaigns import content_values, create_campaign
from chalicelib.store.health import suspend
from chalicelib.store.models import Account, MailingList, Subscriber, Suppression
from chalicelib.store.suppressions import suppress
from tests.support.api import bearer
from tests.support.lists import POLICY, new_list
from tests.support.mail import sent_mails
from tests.support.privacy import PERSON, add, completed
from tests.support.queues import deliver, take
from tests.support.retention import day, on_day
from tests.support.tables import items_of_account

BOB = "bob@example.com"
PROFILE = {"postal_address": "1 Main Street, Bucharest", "contact_email": "owner@acme.example",
           "sender_identity": "news@acme.example"}


def add_counter_on(campaign_id: str, shard: int) -> None:
    item, actions = counter_update(campaign_id, "sent", shard=shard)
    item.update(actions=actions)


def _new_account() -> tuple[str, dict[str, str]]:
    created = create_account_with_key("Acme Ltd", PROFILE)
    return created["account_id"], bearer(created["api_key"])


def _exists(account_id: str) -> bool:
    try:
        Account.get(account_id, consistent_read=True)
    except Account.DoesNotExist:
        return False
    return True


def _deletion_link(client, api) -> str:
    assert client.http.post("/v1/account/deletion", headers=api).status_code == 202
    deliver(take("outbox"))
    mail = sent_mails()[-1]
    assert mail["To"] == PROFILE["contact_email"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    return urlsplit(re.search(r"https?://\S+/account/deletion/\S+", text).group(0)).path


def test_p23_deletion_is_confirmed_by_mail_reactivated_then_deleted_30_days_after(client):
    with on_day(0):
        account_id, api = _new_account()
        list_id = new_list(client, api, "News", double_opt_in=False)
        add(client, api, list_id)
        suppress(account_id, BOB, SuppressionReason.UNSUBSCRIBED)
        suppress(PLATFORM_SCOPE, BOB, SuppressionReason.PLATFORM_OPT_OUT)
        campaign = create_campaign(account_id, {"name": "Spring", **content_values(CampaignContent(
            channel=Channel.EMAIL, list_ids=frozenset({list_id}), subject="Hi", html="<p>Hi</p>"))})
        for shard in range(SHARDS):  # counters live under keys without the account id
            add_counter_on(campaign.campaign_id, shard)
        link = _deletion_link(client, api)
        page = client.http.get(link)
        assert page.status_code == 200 and "<button" in page.body.decode()
        assert Account.get(account_id).deletion_state is None, "a GET (mail scanner) changes nothing"
        assert client.http.post(link).status_code == 200
        assert Account.get(account_id).deletion_due_at == day(30)
        assert client.http.post(link).status_code == 400, "a link confirms once"
    with on_day(10):
        assert client.http.post("/v1/account/reactivate", headers=api).status_code == 200
        assert Account.get(account_id).deletion_state is None
        assert client.http.post("/v1/account/reactivate", headers=api).status_code == 409
    with on_day(30.5):
        assert run_purges().counts["deleted_accounts"] == 0, "reactivated: not deleted"
    with on_day(31):
        assert client.http.post(_deletion_link(client, api)).status_code == 200
    with on_day(60.9):
        assert run_purges().counts["deleted_accounts"] == 0, "still within its 30 days (P25)"
        assert Account.get(account_id).deletion_due_at == day(61)
    with on_day(61.1):
        assert client.http.post("/v1/account/reactivate", headers=api).status_code == 409, "too late"
        with count_aws_calls() as calls:
            assert run_purges().counts["deleted_accounts"] == 1
        assert calls.by_operation["dynamodb.Scan"] == 0
        left = items_of_account(account_id)
        platform_entries = [e for e in audit.entries(PLATFORM_AUDIT) if account_id in (e.target or "")]
        assert left == {"audit-log": len(platform_entries)}, "only the platform's record of the deletion"
        assert campaign_counters(campaign.campaign_id) == {}, "sharded campaign counters go too"
        assert all("@" not in (e.target or "") for e in platform_entries)
        assert Suppression.get(PLATFORM_SCOPE, address_hash(BOB, hash_key())), "platform-wide opt-outs stay"
        assert client.http.get("/v1/account", headers=api).status_code == 401
        assert run_purges().counts["deleted_accounts"] == 0, "idempotent"


def test_p23_p25_an_account_purge_takes_its_api_keys_first(client):
    """P23, P25: a key that still worked while the account's data was being purged could write
    data the purge had passed (a list, a subscriber); the keys go before anything else."""
    from chalicelib.store.retention import purge_account

    account_id, api = _new_account()
    list_id = new_list(client, api)
    assert client.http.get("/v1/lists", headers=api).status_code == 200

    # Stopped by its time share after the first page of the first table.
    removed, complete = purge_account(account_id, content_only=False, more_time=lambda: False)

    assert not complete and _exists(account_id), "mid-purge: the account's data is still there"
    assert removed == {"api-keys": 1}
    assert client.http.get("/v1/lists", headers=api).status_code == 401
    assert client.http.post("/v1/lists", headers=api, body=json.dumps({"name": "Back"})).status_code == 401
    assert [m.list_id for m in MailingList.by_account.query(account_id)] == [list_id]


def test_p23_an_operator_cancellation_does_not_postpone_a_confirmed_deletion(client):
    """P23: once confirmed, the account is deleted for good 30 days later. Cancelling it from the
    CLI on day 25 overwrites its due date with day 55, so the data of an account that asked to be
    deleted is kept 25 days longer than it was promised (P25: nothing kept past its period)."""
    with on_day(0):
        account_id, api = _new_account()
        assert client.http.post(_deletion_link(client, api)).status_code == 200
    with on_day(25):
        assert main(["account", "cancel", "--account-id", account_id, "--reason", "phishing"]) == 0
        assert Account.get(account_id).deletion_due_at == day(30)
    with on_day(30.1):
        run_purges()
        assert not _exists(account_id), "the confirmed deletion was postponed by the cancellation"


def test_p22_an_old_deletion_link_does_not_postpone_an_operator_cancellation(client):
    """P22: a cancelled account's content goes once it has been cancelled for 30 days; P33: the
    account cannot undo the operator's decision. A deletion link mailed before the cancellation
    still confirms afterwards (the nonce is not voided) and moves the deletion date later (and
    its page promises that `POST /v1/account/reactivate` can cancel it, which it cannot)."""
    with on_day(0):
        account_id, api = _new_account()
        link = _deletion_link(client, api)
        assert main(["account", "cancel", "--account-id", account_id, "--reason", "phishing"]) == 0
        due = Account.get(account_id).deletion_due_at
    with on_day(1.9):
        assert client.http.post(link).status_code == 400
        assert Account.get(account_id).deletion_due_at == due, "the cancellation's date was moved"
    with on_day(30.5):
        run_purges()
        assert not _exists(account_id), "cancelled 30.5 days ago and not deleted"


def test_p33_the_platform_log_does_not_record_an_operator_cancellation_as_requested(client):
    """P33: the operator's cancellation is in the audit log. When the account is deleted its own
    log (with `account.cancelled_by_operator` and the reason) goes with it, and the only trace
    left, in the platform's log, is `account.deleted.requested`: it says the account asked for
    the deletion, which it never did."""
    with on_day(0):
        account_id, _ = _new_account()
        assert main(["account", "cancel", "--account-id", account_id, "--reason", "phishing"]) == 0
    with on_day(30.5):
        run_purges()
        assert not _exists(account_id)
        traces = [e for e in audit.entries(PLATFORM_AUDIT) if account_id in (e.target or "")]
        actions = [e.action for e in traces]
        assert "account.deleted.cancelled" in actions and "account.deleted.requested" not in actions, actions
        assert "account.cancelled_by_operator" in actions
        assert all("@" not in (e.target or "") and "phishing" not in (e.target or "") for e in traces)


def test_p23_deletion_needs_a_contact_email(client):
    created = create_account_with_key("No Contact", {})
    response = client.http.post("/v1/account/deletion", headers=bearer(created["api_key"]))
    assert response.status_code == 409 and json.loads(response.body)["error"]["field"] == "contact_email"


def test_p22_a_suspended_account_exports_and_lists_unsubscribes_then_its_content_goes(client):
    with on_day(0):
        account_id, api = _new_account()
        news, offers = (new_list(client, api, name, double_opt_in=False) for name in ("News", "Offers"))
        for list_id in (news, offers):
            add(client, api, list_id)
            add(client, api, list_id, email=BOB)
        completed(client, api, type="object", email=BOB)  # Bob leaves both lists
    with on_day(1):
        assert suspend(account_id, "complaint_rate") is not None
    with on_day(20):
        export = json.loads(client.http.get("/v1/account/export", headers=api).body)
        assert [m["list_id"] for m in export["lists"]] == sorted([news, offers])
        assert sorted(s["email"] for s in export["subscribers"]) == sorted([PERSON, PERSON, BOB, BOB])
        assert all(s["consent"]["given_at"] for s in export["subscribers"])
        gone = json.loads(client.http.get("/v1/account/unsubscribes", headers=api).body)["unsubscribes"]
        assert sorted((u["list_id"], u["email"]) for u in gone) == sorted([(news, BOB), (offers, BOB)])
    with on_day(30.9):
        assert run_purges().counts["suspended_account_content"] == 0
    with on_day(31.1):
        assert run_purges().counts["suspended_account_content"] == 1
        assert list(MailingList.by_account.query(account_id)) == []
        assert list(Subscriber.query(news)) == [] and list(Subscriber.query(offers)) == []
        assert Account.get(account_id).status == "content_erased"
        assert Suppression.get(account_id, address_hash(BOB, hash_key())), \
            "suppressions protect people meanwhile"
        assert "account.content_erased" in {e.action for e in audit.entries(account_id)}
        assert client.http.get("/v1/account", headers=api).status_code == 200
        assert run_purges().counts["suspended_account_content"] == 0, "idempotent"


def test_p29_p01_the_account_export_and_unsubscribes_leave_out_entries_past_their_deletion_date(client):
    """The daily purge deletes an ended entry some hours after its P29 date, and TTL within two
    days: until then it is still stored, but past that date its address is no longer the
    account's to take (nor an unconfirmed signup's past its P01 days), as every other read of a
    list's entries already says."""
    with on_day(0):
        _, api = _new_account()
        news = new_list(client, api, "News", double_opt_in=False)
        offers = new_list(client, api, "Offers")
        add(client, api, news, email=BOB)
        completed(client, api, type="object", email=BOB)  # Bob leaves News: his address goes at +30
        response = client.http.post(f"/v1/lists/{offers}/subscribers", headers=api,
                                    body=json.dumps({"email": "pending@example.com"}))
        assert response.status_code == 201, response.body  # never confirmed: it goes at +7
    with on_day(29):
        export = json.loads(client.http.get("/v1/account/export", headers=api).body)
        assert [s["email"] for s in export["subscribers"]] == [BOB]
        gone = json.loads(client.http.get("/v1/account/unsubscribes", headers=api).body)["unsubscribes"]
        assert [u["email"] for u in gone] == [BOB], "within its 30 days, the account's (P22)"
    with on_day(30.5):  # before the day's purge ran
        assert Subscriber.get(news, BOB).status == "unsubscribed", "still stored"
        export = json.loads(client.http.get("/v1/account/export", headers=api).body)
        assert export["subscribers"] == []
        gone = json.loads(client.http.get("/v1/account/unsubscribes", headers=api).body)["unsubscribes"]
        assert gone == []


def test_p22_the_unsubscribes_say_when_each_person_left_even_after_their_entry_was_corrected(client):
    """`unsubscribed_at` was the entry's last change: a rectification of the ended entry (P17)
    moved it to the day of the correction."""
    with on_day(0):
        _, api = _new_account()
        news = new_list(client, api, "News", double_opt_in=False)
        add(client, api, news, email=BOB)
        completed(client, api, type="object", email=BOB)
    with on_day(5):
        completed(client, api, type="rectify", email=BOB, changes={"name": "Bob Example"})
        assert Subscriber.get(news, BOB).name == "Bob Example"
        gone = json.loads(client.http.get("/v1/account/unsubscribes", headers=api).body)["unsubscribes"]
        assert [u["unsubscribed_at"] for u in gone] == [day(0).isoformat()]


def test_p22_an_account_still_suspended_after_its_content_was_erased_creates_no_new_content(client):
    """The purge erases a suspended account's content once (`content_erased`) and never looks
    again: what the account could write afterwards would be kept for as long as the suspension
    lasts. So it writes nothing new; it still reads its (now empty) data."""
    with on_day(0):
        account_id, api = _new_account()
        assert suspend(account_id, "complaint_rate") is not None
    with on_day(31):
        assert run_purges().counts["suspended_account_content"] == 1
        assert Account.get(account_id).status == "content_erased"
    with on_day(32):
        response = client.http.post("/v1/lists", headers=api, body=json.dumps(
            {"name": "Still here", "consent_text": "Yes, mail me", "double_opt_in": False}))
        assert response.status_code == 403, response.body
        assert json.loads(response.body)["error"]["field"] == "account"
        assert list(MailingList.by_account.query(account_id)) == []
        export = client.http.get("/v1/account/export", headers=api)
        assert export.status_code == 200 and json.loads(export.body)["lists"] == []


def test_p25_content_erasure_rereads_the_suspension_before_erasing(client, monkeypatch):
    """P25: a purge never touches data still within its period; P22 erases content only of an
    account *still* suspended for 30 days. The content purge erases every account of the index
    page it read, without re-reading it (the deletion purges do, with a consistent read): an
    account whose suspension the operator lifts while the purge is busy with another one (or
    that a lagging index still lists) loses its lists and subscribers while active - and, since
    the mark then fails, without any audit entry."""
    from chalicelib.services import retention
    from chalicelib.services.health import unsuspend

    with on_day(0):
        first = create_account_with_key("First Ltd", {})["account_id"]
        second, api = _new_account()
        list_id = new_list(client, api, "News", double_opt_in=False)
        add(client, api, list_id)
        suspend(first, "complaint rate")
    with on_day(0.5):
        suspend(second, "complaint rate")
    real_purge = retention.purge_account

    def purge_while_operator_lifts(account_id, content_only, more_time):
        if account_id == first:
            unsuspend(second)  # meanwhile, from the CLI
        return real_purge(account_id, content_only=content_only, more_time=more_time)

    monkeypatch.setattr(retention, "purge_account", purge_while_operator_lifts)
    with on_day(31):
        assert run_purges().counts["suspended_account_content"] == 1
        assert Account.get(second).status == "active"
        assert MailingList.count(list_id) == 1, "an active account's content was erased"
        assert "account.content_erased" in {e.action for e in audit.entries(first)}


def test_p22_export_pages_through_every_list(client):
    _, api = _new_account()
    lists = [new_list(client, api, name, double_opt_in=False) for name in ("A", "B")]
    for list_id in lists:
        for email in (PERSON, BOB, "cy@example.com"):
            add(client, api, list_id, email=email)
    seen, cursor, pages = [], None, 0
    while True:
        url = "/v1/account/export?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = json.loads(client.http.get(url, headers=api).body)
        assert ("account" in page) == (pages == 0), "profile, lists and campaigns on the first page"
        seen += [(s["list_id"], s["email"]) for s in page["subscribers"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 6 == len(set(seen))


def _export_pages(client, api, query: str = "", most: int = 20) -> list[dict]:
    """Every page of the account's export, following its cursors; each page a 200."""
    pages, cursor = [], None
    for _ in range(most):
        params = "&".join(part for part in (query, f"cursor={cursor}" if cursor else "") if part)
        response = client.http.get("/v1/account/export" + (f"?{params}" if params else ""), headers=api)
        assert response.status_code == 200, response.body[:300]
        pages.append(json.loads(response.body))
        cursor = pages[-1]["next_cursor"]
        if not cursor:
            return pages
    raise AssertionError(f"the export did not end within {most} pages")


def test_p22_an_account_with_big_campaigns_exports_every_one_page_by_page(client):
    # The first page held every campaign with its html and text: 50 newsletters of 100 KB made it
    # bigger than the 6 MB a Lambda may answer, so the export P22 promises was a 502. Here 7 of
    # 80,000 Romanian letters each (html and text 320 KB stored, 1.1 MB as JSON).
    account_id, api = _new_account()
    list_id = new_list(client, api, "A", double_opt_in=False)
    add(client, api, list_id, email=PERSON)
    body = "\u0219" * 80_000
    made = {create_campaign(account_id, {"name": f"C{n}", **content_values(CampaignContent(
        channel=Channel.EMAIL, list_ids=frozenset({list_id}), subject="Hi", html=f"<p>{body}</p>",
        text=body))}).campaign_id for n in range(7)}
    pages = _export_pages(client, api, most=10)
    campaigns = [c for page in pages for c in page.get("campaigns", [])]
    assert all(c["html"] == f"<p>{body}</p>" for c in campaigns)
    subscribers = [s["email"] for page in pages for s in page["subscribers"]]
    assert sorted(c["campaign_id"] for c in campaigns) == sorted(made) and subscribers == [PERSON]


def test_p22_an_export_of_lists_with_long_consent_histories_comes_page_by_page(client):
    # The first page held every list with every consent text it has had (P02): 12 lists of 15
    # versions of a 5,000-letter Russian text made it bigger than the 6 MB a Lambda may answer.
    from datetime import UTC, datetime

    from chalicelib.domain.lists import ConsentText
    from chalicelib.store.lists import create_list as create_list_item

    account_id, api = _new_account()
    text = "\u0431" * 4_990
    versions = [ConsentText(version=n, text=f"{n:>10}{text}", created_at=datetime.now(UTC))
                for n in range(1, 16)]
    made = sorted(create_list_item(account_id, {"name": f"L{n}", "privacy_policy_url": POLICY,
                                                "double_opt_in": False}, versions).list_id
                  for n in range(12))
    campaign = create_campaign(account_id, {"name": "Spring", **content_values(CampaignContent(
        channel=Channel.EMAIL, list_ids=frozenset({made[0]}), subject="Hi", html="<p>Hi</p>"))})
    add(client, api, made[0], email=PERSON)
    pages = _export_pages(client, api)
    lists = [(m["list_id"], len(m["consent_versions"])) for page in pages for m in page.get("lists", [])]
    campaigns = [c["campaign_id"] for page in pages for c in page.get("campaigns", [])]
    subscribers = [s["email"] for page in pages for s in page["subscribers"]]
    assert lists == [(list_id, 15) for list_id in made]
    assert campaigns == [campaign.campaign_id] and subscribers == [PERSON]


def test_p22_p30_the_export_holds_every_tracking_consent_text_page_by_page(client):
    # The export's lists left out the tracking-consent texts (P30), versioned like the consent
    # texts and as much proof of what people agreed to: 12 lists of 15 versions of a 5,000-letter
    # Russian text still come within what a Lambda may answer, page by page.
    from datetime import UTC, datetime

    from chalicelib.domain.lists import ConsentText
    from chalicelib.store.lists import create_list as create_list_item

    account_id, api = _new_account()
    at = datetime.now(UTC)
    consent = [ConsentText(version=1, text="Yes, send me news.", created_at=at)]
    tracking = [ConsentText(version=n, text=f"{n:>10}" + "\u0431" * 4_990, created_at=at)
                for n in range(1, 16)]
    made = sorted(create_list_item(account_id, {"name": f"L{n}", "privacy_policy_url": POLICY,
                                                "double_opt_in": False, "tracking_consent": "required"},
                                   consent, tracking).list_id
                  for n in range(12))
    lists = [(m["list_id"], m["tracking_consent"],
              [(v["version"], v["text"]) for v in m["tracking_consent_versions"]])
             for page in _export_pages(client, api) for m in page.get("lists", [])]
    assert lists == [(list_id, "required", [(v.version, v.text) for v in tracking]) for list_id in made]


def test_p22_an_export_of_entries_each_with_a_long_consent_text_comes_page_by_page(client):
    # Each entry holds the consent texts its person agreed to (P02): with 5,000-letter Russian
    # texts, a page of 100 entries made the export bigger than the 6 MB a Lambda may answer.
    from tests.support.lists import subscribe

    account_id, api = _new_account()
    text = "\u0431" * 5_000
    lists = [new_list(client, api, name, consent=text, tracking_consent_text=text) for name in ("A", "B")]
    made = sorted((list_id, f"p{n:02}@example.com") for list_id in lists for n in range(60))
    for list_id, email in made:
        subscribe(account_id, list_id, email)
    entries = [s for page in _export_pages(client, api, "limit=100") for s in page["subscribers"]]
    assert all(s["consent"]["consent_text"] == text for s in entries)
    seen = [(s["list_id"], s["email"]) for s in entries]
    assert seen == made


def test_p24_api_use_marks_the_account_active_once_a_day(client):
    with on_day(0):
        account_id, api = _new_account()
    with on_day(3):
        with count_aws_calls() as first:
            client.http.get("/v1/account", headers=api)
        with count_aws_calls() as second:
            client.http.get("/v1/account", headers=api)
    assert first.by_operation["dynamodb.UpdateItem"] == 2, "the account and the key, once"
    assert second.by_operation["dynamodb.UpdateItem"] == 0, "free for the rest of the day"
    assert Account.get(account_id).last_active_day == day(3).date().isoformat()


def _in_ses() -> set[str]:
    from chalicelib.clients import client as aws_client

    listed = aws_client("sesv2").list_email_identities()["EmailIdentities"]
    return {item["IdentityName"] for item in listed}


def _purge(on: float) -> None:
    """The daily purge as its schedule runs it, under the retention worker's own policy."""
    from app import app
    from chalicelib.config import settings
    from chalicelib.local.invoke import invoke_handler
    from chalicelib.local.scheduler import scheduled_event

    event = scheduled_event(app, "retention_worker", day(on), settings().region)
    invoke_handler(app, "retention_worker", event, settings().region)


@pytest.mark.parametrize(("ended", "due"), [("cancelled", 30.5), ("inactive", 390.5)])
def test_p35_p23_an_account_purge_waits_for_a_sender_give_up_that_may_still_be_running(
        client, monkeypatch, ended, due):
    """A delete of one of the account's senders has begun (killed, or still running) when the
    purge deletes the account: purging its claim then would let nothing finish that delete if it
    was killed, and leave SES's identity (someone's mailbox) with no claim for good. The account
    waits for the next run, which finishes the give-up and deletes the account."""
    from chalicelib.adapters import ses
    from chalicelib.services.senders import delete_sender
    from chalicelib.store import account_lifecycle as lifecycle

    class Killed(BaseException):
        pass

    def killed(identity: str) -> None:
        monkeypatch.undo()
        raise Killed

    with on_day(0):
        account_id, api = _new_account()
        assert client.http.post("/v1/senders", headers=api,
                                body=json.dumps({"identity": "shop.example"})).status_code == 201
        if ended == "cancelled":
            assert main(["account", "cancel", "--account-id", account_id, "--reason", "phishing"]) == 0
    if ended == "inactive":
        with on_day(due - 30.5):
            assert lifecycle.mark_warned(Account.get(account_id))
    with on_day(due):
        monkeypatch.setattr(ses, "delete_identity", killed)
        with pytest.raises(Killed):
            delete_sender(account_id, "key", "shop.example")
        _purge(due)
        assert _exists(account_id), "purged while a give-up of its sender may still be running"
    with on_day(due + 1):
        _purge(due + 1)
        assert not _exists(account_id)
        assert not {"shop.example", "news@acme.example", "acme.example"} & _in_ses()


def test_p22_p23_a_deleted_accounts_ses_identities_go_with_it(client):
    """SES holds an account's sender identities (an address one is someone's mailbox): the daily
    purge that deletes the account deletes them in SES too, under the retention worker's own
    policy, audited by count only; another account's stay, and a second run finds nothing. No
    item names its domains afterwards (P35: a domain's guard goes with its last claim)."""
    from chalicelib.clients import client as aws_client
    from chalicelib.store.models import SenderIdentity

    with on_day(0):
        account_id, api = _new_account()
        for identity in ("acme.example", "ceo@elsewhere.example"):
            assert client.http.post("/v1/senders", headers=api,
                                    body=json.dumps({"identity": identity})).status_code == 201
        create_account_with_key("Other Ltd", {"sender_identity": "hello@other.example"})
        aws_client("sesv2").delete_email_identity(EmailIdentity="ceo@elsewhere.example")  # gone: fine
        assert main(["account", "cancel", "--account-id", account_id, "--reason", "phishing"]) == 0
    with on_day(29.9):
        _purge(29.9)
        assert {"news@acme.example", "acme.example"} <= _in_ses(), "within its 30 days (P25)"
    with on_day(30.5):
        _purge(30.5)
        assert not _exists(account_id)
        assert not {"news@acme.example", "acme.example", "ceo@elsewhere.example"} & _in_ses()
        assert "hello@other.example" in _in_ses()
        [trace] = [e.target for e in audit.entries(PLATFORM_AUDIT)
                   if e.action == "account.deleted.cancelled" and account_id in (e.target or "")]
        assert "ses-identities=3" in trace and "@" not in trace and "acme" not in trace
        assert sorted((item.domain, item.identity) for item in SenderIdentity.scan()) == [
            ("other.example", "#claims"), ("other.example", "hello@other.example")]
        _purge(30.6)
        assert "hello@other.example" in _in_ses()
