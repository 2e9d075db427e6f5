"""P05 by construction: a public signup makes the same AWS calls whatever the address's state,
so neither its answer nor its timing class tells them apart; the rest happens in the worker."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from bench.aws_calls import count_aws_calls
from chalicelib.domain.suppression import SuppressionReason
from chalicelib.queue_batches import BatchFailed
from chalicelib.store.suppressions import suppress
from tests.support.api import FORM
from tests.support.mail import confirm_path, sent_mails
from tests.support.queues import apply_queued_signups, deliver, take
from tests.support.signups import form_signup


def _calls_of_a_form_post(client, list_id: str, email: str):
    with count_aws_calls() as calls:
        response = client.http.post(f"/f/{list_id}", headers=FORM,
                                    body=urlencode({"email": email, "consent": "yes"}))
    apply_queued_signups()
    return response, calls.by_operation


def test_p05_every_address_state_costs_the_same_calls(client, account, news_list):
    list_id = news_list["list_id"]
    form_signup(client, list_id, email="pending@example.com")
    form_signup(client, list_id, email="done@example.com")
    deliver(take("outbox"))
    client.http.post(confirm_path(sent_mails()[-1]), headers=FORM)
    suppress(account["account_id"], "gone@example.com", SuppressionReason.UNSUBSCRIBED)

    seen = {}
    for email in ("new@example.com", "pending@example.com", "done@example.com", "gone@example.com"):
        response, calls = _calls_of_a_form_post(client, list_id, email)
        seen[email] = (response.status_code, response.body, calls)
    assert len({(status, body) for status, body, _ in seen.values()}) == 1
    assert len({json.dumps(calls, sort_keys=True) for _, _, calls in seen.values()}) == 1, {
        email: calls for email, (_, _, calls) in seen.items()}
    calls = next(iter(seen.values()))[2]
    assert sum(calls.values()) <= 3, calls  # the budget for a public signup
    assert "dynamodb.Scan" not in calls


def test_the_worker_mails_only_the_new_address(client, account, news_list):
    list_id = news_list["list_id"]
    suppress(account["account_id"], "gone@example.com", SuppressionReason.COMPLAINED)
    for email in ("new@example.com", "gone@example.com"):
        form_signup(client, list_id, email=email)
    deliver(take("outbox"))
    assert [mail["To"] for mail in sent_mails()] == ["new@example.com"]


def test_a_malformed_signup_job_is_left_for_redelivery(client):
    bad = {"messageId": "m-0", "body": "{}", "receiptHandle": "r", "eventSource": "aws:sqs",
           "attributes": {}, "messageAttributes": {}}
    with pytest.raises(BatchFailed):
        client.lambda_.invoke("signup_worker", {"Records": [bad]})


def test_p05_a_resend_request_costs_the_same_calls_for_every_address(client, news_list):
    list_id = news_list["list_id"]
    form_signup(client, list_id, email="pending@example.com")
    seen = {}
    for email in ("pending@example.com", "nobody@example.com"):
        with count_aws_calls() as calls:
            response = client.http.post("/c/resend", headers=FORM,
                                        body=urlencode({"email": email, "list_id": list_id}))
        seen[email] = (response.status_code, response.body, json.dumps(calls.by_operation, sort_keys=True))
    assert len(set(seen.values())) == 1, seen


def test_a_confirmation_reads_the_suppressions_once(client, account, news_list):
    """Issue 3's budget of 3 AWS calls per confirmation: the one suppression read both allows the
    signup and tells whether it lifts an earlier unsubscribe (P12)."""
    form_signup(client, news_list["list_id"], email="new@example.com")
    deliver(take("outbox"))
    with count_aws_calls() as calls:
        response = client.http.post(confirm_path(sent_mails()[-1]), headers=FORM)
    assert response.status_code in (200, 302, 303), response.body
    assert calls.by_operation.get("dynamodb.BatchGetItem") == 1, calls.by_operation
    assert sum(calls.by_operation.values()) <= 3, calls.by_operation
