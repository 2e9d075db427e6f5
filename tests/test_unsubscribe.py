"""Unsubscribe (P06, P07, P12): the page, the POST, RFC 8058's one-click POST and the mailto path."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import time_machine

from chalicelib.config import signer
from chalicelib.domain.mail_links import UNSUBSCRIBE, link_token
from tests.support.api import FORM, bearer
from tests.support.campaigns import report_body
from tests.support.events import sns_body, sqs_event
from tests.support.lists import new_list, status_of, subscribe
from tests.support.tokens import altered
from tests.support.tracking import READER, claim_for, mailed_reader

SENT = datetime.now(UTC).replace(microsecond=0) - timedelta(days=400)
# Exactly what Gmail sends (RFC 8058 section 3.2): a form body, no cookies, no credentials.
ONE_CLICK = {"headers": {"Content-Type": "application/x-www-form-urlencoded"},
             "body": "List-Unsubscribe=One-Click"}


@pytest.fixture
def mailed(client: Any, account: dict[str, Any]) -> dict[str, str]:
    with time_machine.travel(SENT, tick=False):  # the reader stood when the campaign mailed them (P13)
        mailed = mailed_reader(client, account)
        claim = claim_for(account["account_id"], mailed["list_id"], READER, mailed["campaign_id"])
        token = link_token(signer(), UNSUBSCRIBE, claim)
    return {**mailed, "path": f"/u/{token}", "token": token}


def _at(days: int) -> Any:
    return time_machine.travel(SENT + timedelta(days=days), tick=False)


def _suppressed(account_id: str, address: str = READER) -> bool:
    from chalicelib.store.suppressions import is_suppressed

    return is_suppressed(account_id, address)


def test_p07_get_shows_the_choice_and_changes_nothing(client, account, mailed):
    with _at(1):
        response = client.http.get(mailed["path"])
    assert response.status_code == 200
    page = response.body.decode()
    assert "Acme News" in page and 'value="all"' in page and 'method="post"' in page
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert status_of(mailed["list_id"], READER) == "confirmed"
    assert not _suppressed(account["account_id"])


def test_p07_post_unsubscribes_at_once_suppresses_and_counts(client, account, mailed):
    with _at(1):
        response = client.http.post(mailed["path"], headers=FORM, body=urlencode({"scope": "list"}))
    assert response.status_code == 200 and "unsubscribed" in response.body.decode()
    assert status_of(mailed["list_id"], READER) == "unsubscribed"
    assert _suppressed(account["account_id"])
    assert report_body(client, account, mailed["campaign_id"])["unsubscribes"] == 1


def test_p06_one_click_post_as_gmail_sends_it_is_200_without_page_or_redirect(client, account, mailed):
    with _at(1):
        response = client.http.post(mailed["path"], **ONE_CLICK)
    assert response.status_code == 200
    assert "Location" not in response.headers and response.body in (b"", "")
    assert status_of(mailed["list_id"], READER) == "unsubscribed"
    assert _suppressed(account["account_id"])


def test_p07_one_click_post_as_multipart_form_data_unsubscribes_at_once_without_redirect(
        client, account, mailed):
    """RFC 8058 section 3.1: the one-click POST SHOULD be multipart/form-data."""
    body = ("--b0undary\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n"
            "One-Click\r\n--b0undary--\r\n")
    multipart = {"Content-Type": "multipart/form-data; boundary=b0undary"}
    with _at(1):
        response = client.http.post(mailed["path"], headers=multipart, body=body)
    assert response.status_code == 200 and "Location" not in response.headers
    assert status_of(mailed["list_id"], READER) == "unsubscribed"
    assert _suppressed(account["account_id"])


def test_p07_unsubscribe_is_idempotent(client, account, mailed):
    with _at(1):
        client.http.post(mailed["path"], **ONE_CLICK)
        again = client.http.post(mailed["path"], headers=FORM, body="scope=list")
        once_more = client.http.post(mailed["path"], **ONE_CLICK)
    assert again.status_code == once_more.status_code == 200
    assert report_body(client, account, mailed["campaign_id"])["unsubscribes"] == 1


@pytest.mark.parametrize("days", [60, 364])
def test_p07_unsubscribe_link_valid_60_days(client, account, mailed, days):
    with _at(days):
        assert client.http.post(mailed["path"], **ONE_CLICK).status_code == 200
    assert status_of(mailed["list_id"], READER) == "unsubscribed"


def test_p07_expired_link_gets_a_clear_page(client, account, mailed):
    with _at(366):
        response = client.http.post(mailed["path"], **ONE_CLICK)
    assert response.status_code == 400
    assert "expired" in response.body.decode() and response.headers["Content-Type"].startswith("text/html")
    assert status_of(mailed["list_id"], READER) == "confirmed"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_p07_tampered_token_gets_a_400_page_never_a_stack_trace(client, account, mailed, method):
    token = mailed["token"]
    with _at(1):
        response = client.http.request(method, f"/u/{altered(token)}", **ONE_CLICK)
    page = response.body.decode()
    assert response.status_code == 400 and "Traceback" not in page and "<h1>" in page
    assert status_of(mailed["list_id"], READER) == "confirmed"


def test_p12_all_lists_of_the_sender(client, account, mailed):
    other = new_list(client, bearer(account["api_key"]), "Acme Offers")
    subscribe(account["account_id"], other, READER)
    with _at(1):
        client.http.post(mailed["path"], headers=FORM, body=urlencode({"scope": "all"}))
    assert status_of(mailed["list_id"], READER) == status_of(other, READER) == "unsubscribed"


def test_p12_unsubscribed_address_cannot_be_re_added(client, account, mailed):
    other = new_list(client, bearer(account["api_key"]), "Acme Offers")
    with _at(1):
        client.http.post(mailed["path"], **ONE_CLICK)
    for list_id in (mailed["list_id"], other):
        response = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=bearer(account["api_key"]),
                                    body=json.dumps({"email": READER}))
        assert response.status_code == 409, response.body


def test_p06_links_composed_in_a_mail_unsubscribe(client, account, mailed):
    from chalicelib.domain.accounts import AccountProfile
    from chalicelib.domain.campaigns import CampaignContent, Channel
    from chalicelib.domain.marketing_mail import ListSettings, compose_marketing_email
    from chalicelib.domain.subscriptions import Contact

    content = CampaignContent(channel=Channel.EMAIL, list_ids=frozenset({mailed["list_id"]}), subject="Hi",
                              html="<p>Hi</p>", text="Hi", from_address="news@acme.example")
    mail = compose_marketing_email(
        signer=signer(), account_id=account["account_id"], campaign_id=mailed["campaign_id"], content=content,
        recipient=Contact(email=READER),
        mailing_list=ListSettings(mailed["list_id"], "Acme News", True, True),
        sender=AccountProfile(name="Acme Ltd", postal_address="1 Main Street", contact_email="c@acme.example",
                              sender_identity="news@acme.example"),
        public_base_url="https://mail.acme.example")
    url = mail.headers["List-Unsubscribe"].split(">")[0].lstrip("<")
    assert client.http.post(urlsplit(url).path, **ONE_CLICK).status_code == 200
    assert status_of(mailed["list_id"], READER) == "unsubscribed"


# --- mailto: SES receiving → SNS → SQS → inbound-mail worker --------------------------------------

def _received(subject: str) -> dict[str, Any]:
    """An SES receiving notification as AWS documents it (SNS action), for this subject."""
    return {
        "notificationType": "Received",
        "mail": {"timestamp": "2026-03-07T10:00:00.000Z", "source": READER, "messageId": "o3vrnil0e2ic28trm",
                 "destination": ["unsubscribe@acme.example"], "headersTruncated": False,
                 "headers": [{"name": "Subject", "value": subject}],
                 "commonHeaders": {"returnPath": READER, "from": [READER], "to": ["unsubscribe@acme.example"],
                                   "date": "Sat, 7 Mar 2026 10:00:00 +0000", "subject": subject}},
        "receipt": {"timestamp": "2026-03-07T10:00:00.000Z", "processingTimeMillis": 222,
                    "recipients": ["unsubscribe@acme.example"], "spamVerdict": {"status": "PASS"},
                    "virusVerdict": {"status": "PASS"}, "spfVerdict": {"status": "PASS"},
                    "dkimVerdict": {"status": "PASS"}, "dmarcVerdict": {"status": "PASS"},
                    "action": {"type": "SNS", "encoding": "UTF8",
                               "topicArn": "arn:aws:sns:eu-west-1:123456789012:tidings-inbound-mail"}},
    }


def test_p07_mailto_unsubscribe_through_ses_receiving(client, account, mailed):
    event = sqs_event(sns_body(_received(f"unsubscribe-{mailed['token']}")),
                      sns_body(_received("Re: your newsletter")), "not json")
    with _at(2):
        result = client.lambda_.invoke("inbound_mail_worker", event)
    assert result.payload == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    assert status_of(mailed["list_id"], READER) == "unsubscribed"
    assert _suppressed(account["account_id"])


@pytest.mark.parametrize("body", ["not json", "[" * 100_000 + "]" * 100_000,
                                  sns_body("[" * 100_000 + "]" * 100_000)])
def test_a_record_too_deeply_nested_for_the_parser_is_malformed_inbound_mail(body):
    """Nested past what Python's parser recurses into, it raised RecursionError: the record
    failed as a bug would, not as the malformed record it is."""
    from chalicelib.domain.inbound_mail import MalformedInbound, unsubscribe_tokens

    with pytest.raises(MalformedInbound):
        unsubscribe_tokens(body)


@pytest.mark.parametrize("subject", ["Re: unsubscribe-{head}{tail}", "unsubscribe-{head}\r\n {tail}",
                                     "unsubscribe-{head}\u2028{tail}", "unsubscribe-{head}{tail} please",
                                     "Fwd: unsubscribe-{head}{tail}\r\n thanks"])
def test_p07_mailto_unsubscribe_whatever_the_reader_wrote_around_the_token(client, account, mailed, subject):
    """The subject's whitespace goes before the token is read (a client may fold a long subject,
    even inside the token, or split it into encoded words); a word typed after the token then
    glued onto it, so the token no longer read and the unsubscribe was dropped."""
    token = mailed["token"]
    event = sqs_event(sns_body(_received(subject.format(head=token[:40], tail=token[40:]))))
    with _at(2):
        result = client.lambda_.invoke("inbound_mail_worker", event)
    assert result.payload == {"batchItemFailures": []}
    assert status_of(mailed["list_id"], READER) == "unsubscribed"


def test_p07_mailto_with_a_forged_token_changes_nothing(client, account, mailed):
    forged = mailed["token"][:-4] + "AAAA"
    with _at(2):
        event = sqs_event(sns_body(_received(f"unsubscribe-{forged}")))
        result = client.lambda_.invoke("inbound_mail_worker", event)
    assert result.payload == {"batchItemFailures": []}
    assert status_of(mailed["list_id"], READER) == "confirmed"


@pytest.mark.parametrize(("sns_type", "logged"), [
    ("SubscriptionConfirmation", "SubscriptionConfirmation"),
    ("UnsubscribeConfirmation", "UnsubscribeConfirmation"),
    # A type that is no SNS type may be anything: its name is not logged (P14).
    ("victim@example.org", "(another type)"),
    (["SubscriptionConfirmation"], "(another type)"),
])
def test_p07_an_sns_message_that_is_no_notification_is_acknowledged_not_dead_lettered(
        client, account, mailed, app_logs, sns_type, logged):
    """SNS puts its own messages about the subscription on the queue too: well formed, and no
    mail. Failed as not SES receiving's, each went round its receives into the dead-letter queue
    and sounded its alarm; like the feedback worker, the inbound one acknowledges it, logged."""
    envelope = {"Type": sns_type, "MessageId": "m", "Message": "You have chosen to subscribe to the topic",
                "TopicArn": "arn:aws:sns:eu-west-1:123456789012:tidings-inbound-mail",
                "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"}
    with _at(2):
        result = client.lambda_.invoke("inbound_mail_worker",
                                       sqs_event(json.dumps(envelope),
                                                 sns_body(_received(f"unsubscribe-{mailed['token']}"))))
    assert result.payload == {"batchItemFailures": []}
    assert status_of(mailed["list_id"], READER) == "unsubscribed"
    assert logged in app_logs.getvalue() and "@" not in app_logs.getvalue()


def test_p23_p25_a_link_of_an_account_deleted_for_good_writes_nothing_back(client, account, mailed):
    """An unsubscribe link works a year (P07); the account that sent it may be deleted for good
    before then (P23). Its one-click POST, its page's POST and its mailto then answer as done
    (no mail can come from that account any more) and write nothing: a suppression written back
    would be data of the deleted account that no purge would ever come for again (P25)."""
    from chalicelib.store.retention import purge_account
    from tests.support.tables import every_item_text

    assert purge_account(account["account_id"], content_only=False, more_time=lambda: True)[1]
    assert account["account_id"] not in every_item_text()
    with _at(10):
        one_click = client.http.post(mailed["path"], **ONE_CLICK)
        page = client.http.post(mailed["path"], headers=FORM, body=urlencode({"scope": "all"}))
        mailto = client.lambda_.invoke("inbound_mail_worker",
                                       sqs_event(sns_body(_received(f"unsubscribe-{mailed['token']}"))))
        shown = client.http.get(mailed["path"])
    assert (one_click.status_code, page.status_code) == (200, 200), page.body[:300]
    assert shown.status_code == 200 and b"no more mail" in shown.body, shown.body[:300]
    assert mailto.payload == {"batchItemFailures": []}
    assert account["account_id"] not in every_item_text()


def test_p13_a_mailto_unsubscribe_redelivered_after_a_failed_count_still_counts_once(
        client, account, mailed, monkeypatch):
    """The campaign's unsubscribe counter fails to be written once (throttled); SQS redelivers the
    mail, and again: the report counts the unsubscribe exactly once."""
    from chalicelib.queue_batches import BatchFailed
    from chalicelib.store.models import CampaignStat
    from tests.support.faults import fail_first_write_to

    event = sqs_event(sns_body(_received(f"unsubscribe-{mailed['token']}")))
    failed = fail_first_write_to(monkeypatch, CampaignStat)
    with _at(2):
        with pytest.raises(BatchFailed):  # the record failed: SQS keeps it
            client.lambda_.invoke("inbound_mail_worker", event)
        assert failed
        for _ in range(2):
            assert client.lambda_.invoke("inbound_mail_worker", event).payload == {"batchItemFailures": []}
    assert status_of(mailed["list_id"], READER) == "unsubscribed"
    assert report_body(client, account, mailed["campaign_id"])["unsubscribes"] == 1


def test_p13_a_one_click_unsubscribe_retried_after_a_failed_count_still_counts_once(
        client, account, mailed, monkeypatch):
    """The link and one-click paths share the mailto's code: a retry after a failed count counts once."""
    from chalicelib.store.models import CampaignStat
    from tests.support.faults import fail_first_write_to

    fail_first_write_to(monkeypatch, CampaignStat)
    with _at(1):
        assert client.http.post(mailed["path"], **ONE_CLICK).status_code == 500
        assert client.http.post(mailed["path"], **ONE_CLICK).status_code == 200
        assert client.http.post(mailed["path"], headers=FORM, body="scope=list").status_code == 200
    assert status_of(mailed["list_id"], READER) == "unsubscribed"
    assert report_body(client, account, mailed["campaign_id"])["unsubscribes"] == 1
