"""A way back (P12): a person who unsubscribed may re-subscribe by signing up and confirming
themselves; their own confirmed consent lifts their suppression for that list, audited. Imports,
the API and complaints or bounces still cannot re-add anyone."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from chalicelib.config import hash_key, settings, signer
from chalicelib.domain.mail_links import FORWARD, LinkClaim, link_token
from chalicelib.domain.suppression import SuppressionReason, address_hash
from chalicelib.services.unsubscribe import Scope, unsubscribe
from chalicelib.store import audit
from chalicelib.store.models import Suppression
from chalicelib.store.suppressions import suppress
from tests.support.campaigns import create_campaign
from tests.support.lists import new_list, stored, subscribe
from tests.support.mail import confirm_path, recipients_of_sent, sent_mails
from tests.support.queues import apply_queued_signups, deliver, run_queues, take
from tests.support.signups import form_signup

ANN = "ann@example.com"
CSV = {"Content-Type": "text/csv"}


def _left(account: dict, list_id: str, scope: Scope = Scope.LIST) -> None:
    subscribe(account["account_id"], list_id, ANN)
    unsubscribe(LinkClaim(account["account_id"], list_id, ANN, None), scope)
    assert stored(list_id, ANN).status == "unsubscribed"


def _signs_up_and_confirms(client, list_id: str) -> None:
    form_signup(client, list_id, email=ANN)
    deliver(take("outbox"))
    mail = [m for m in sent_mails() if str(m["To"]) == ANN][-1]
    assert client.http.post(confirm_path(mail)).status_code == 200


def _campaign_reaches(client, headers, list_id: str) -> bool:
    before = recipients_of_sent().count(ANN)
    campaign = create_campaign(client, headers, [list_id])
    client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers)
    run_queues(client)
    return recipients_of_sent().count(ANN) > before


def test_p12_a_person_who_unsubscribed_comes_back_by_signing_up_and_confirming(client, account, headers):
    news, offers = new_list(client, headers, "News"), new_list(client, headers, "Offers")
    subscribe(account["account_id"], offers, ANN)
    _left(account, news, Scope.ALL)
    assert not _campaign_reaches(client, headers, news)
    _signs_up_and_confirms(client, news)
    assert stored(news, ANN).status == "confirmed"
    suppression = Suppression.get(account["account_id"], address_hash(ANN, hash_key()))
    assert suppression.reason == "unsubscribed" and suppression.lifted_for == {news}
    entries = audit.entries(account["account_id"])
    assert ("subscriber.resubscribed", news) in {(e.action, e.target) for e in entries}
    assert _campaign_reaches(client, headers, news)
    # The lift is for the list they came back to: the one they left with it stays silent.
    assert stored(offers, ANN).status == "unsubscribed"
    assert not _campaign_reaches(client, headers, offers)


def test_p12_a_person_on_the_way_back_may_ask_for_a_new_confirmation_link(client, account, headers):
    """Their signup went ahead because only an unsubscribe stood in its way; a resend is the same
    signup's mail, so the same rule lets it go (not the plain suppression read, which the lift
    at confirmation has not changed yet)."""
    news = new_list(client, headers, "News")
    _left(account, news)
    form_signup(client, news, email=ANN)
    deliver(take("outbox"))
    assert stored(news, ANN).status == "pending"
    later = datetime.now(UTC) + timedelta(minutes=settings().signup_limits.mail_interval_minutes + 1)
    with time_machine.travel(later):
        answer = client.http.post("/c/resend", headers={"Content-Type": "application/x-www-form-urlencoded"},
                                  body=f"list_id={news}&email={ANN}")
        assert answer.status_code == 200
        apply_queued_signups()
        resent = take("outbox")
        assert len(resent) == 1
        deliver(resent)
        assert client.http.post(confirm_path(sent_mails()[-1])).status_code == 200
    assert stored(news, ANN).status == "confirmed"


def test_p12_p14_a_person_back_on_the_list_can_forward_the_campaigns_they_get(client, account, headers):
    """Campaigns reach them again, so their forward link works as anyone's (not the plain
    suppression read, which their way back does not change)."""
    news = new_list(client, headers, "News")
    _left(account, news)
    _signs_up_and_confirms(client, news)
    campaign = create_campaign(client, headers, [news])
    client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers)
    run_queues(client)
    claim = LinkClaim(account["account_id"], news, ANN, campaign["campaign_id"])
    assert client.http.get(f"/fwd/{link_token(signer(), FORWARD, claim)}").status_code == 200


def test_p12_unsubscribing_again_restores_the_suppression_for_that_list(client, account, headers):
    news = new_list(client, headers, "News")
    _left(account, news)
    _signs_up_and_confirms(client, news)
    unsubscribe(LinkClaim(account["account_id"], news, ANN, None), Scope.LIST)
    assert not Suppression.get(account["account_id"], address_hash(ANN, hash_key())).lifted_for
    assert not _campaign_reaches(client, headers, news)


@pytest.mark.parametrize("reason", [SuppressionReason.COMPLAINED, SuppressionReason.BOUNCED])
def test_p12_a_complaint_or_bounce_after_the_way_back_holds_again(client, account, headers, reason):
    news = new_list(client, headers, "News")
    _left(account, news)
    _signs_up_and_confirms(client, news)
    suppress(account["account_id"], ANN, reason)
    assert not _campaign_reaches(client, headers, news)


@pytest.mark.parametrize("reason", [SuppressionReason.COMPLAINED, SuppressionReason.BOUNCED,
                                    SuppressionReason.ERASED])
def test_p12_only_unsubscribing_can_be_undone_by_the_person(client, account, headers, reason):
    news = new_list(client, headers, "News")
    suppress(account["account_id"], ANN, reason)
    form_signup(client, news, email=ANN)
    assert stored(news, ANN) is None and take("outbox") == []


def test_p12_imports_and_the_api_still_cannot_re_add_someone_who_unsubscribed(client, account, headers):
    news, other = new_list(client, headers, "News"), new_list(client, headers, "Other", double_opt_in=False)
    _left(account, news)
    proof = {"given_at": "2025-01-31T09:30:00Z", "ip": "203.0.113.7"}
    for list_id in (news, other):
        refused = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=headers,
                                   body=json.dumps({"email": ANN, "consent": proof}))
        assert refused.status_code == 409, list_id
        job = json.loads(client.http.post(f"/v1/lists/{list_id}/imports", headers={**headers, **CSV},
                                          body=f"email,consent_given_at\n{ANN},2025-01-01T00:00:00Z\n").body)
        from tests.test_imports import run_import_worker

        run_import_worker()
        counts = json.loads(client.http.get(f"/v1/lists/{list_id}/imports/{job['import_id']}",
                                            headers=headers).body)["counts"]
        assert counts["suppressed"] == 1, list_id
    assert stored(news, ANN).status == "unsubscribed" and stored(other, ANN) is None
