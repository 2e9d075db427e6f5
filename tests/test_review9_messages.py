"""Review 9 (attacker's view) of the transactional messages API: defects found, each shown by a
test that fails on the code as reviewed. See the review report for the broken code and a fix."""
from __future__ import annotations

import json

from tests.support.mail import parsed, recipients_of_sent, sent_raw
from tests.support.queues import run_queues, take


def _post(client, headers, **fields):
    body = {"to": "ann@example.com", "subject": "Your receipt", "text": "Thanks for your order.", **fields}
    return client.http.post("/v1/messages", headers=headers, body=json.dumps(body, ensure_ascii=False))


def test_p11_a_message_within_the_documented_limits_is_queued_or_refused_with_a_4xx(client, headers):
    """120,000 Cyrillic characters of HTML: inside the schema's 200,000 and, as UTF-8 (240 KB),
    inside the 256 KiB body limit. The outbox job serialises it with json.dumps (ASCII escapes:
    6 bytes a character) plus a text part derived from it: about 1.4 MB, over SQS's message
    limit. SQS refuses it and the caller gets a 500 (no field named, nothing sent)."""
    html = "<p>" + "\u0416" * 120_000 + "</p>"
    response = _post(client, headers, html=html, text=None)
    assert response.status_code < 500, (response.status_code, response.body[:200])
    if response.status_code == 202:
        assert run_queues(client, ("outbox",)) == []
        assert recipients_of_sent() == ["ann@example.com"]


def test_p11_an_idempotency_key_reused_for_another_message_is_not_a_silent_success(client, headers):
    """The same Idempotency-Key with a different request (a client that keys by user, or a bug):
    the API answers 202 "queued" with the first message's id, and the second mail is never sent
    (its claim is found taken: "duplicate outbox job skipped"). An idempotency key reused with a
    different payload must be refused (422/409, as the IETF Idempotency-Key draft and Stripe
    do), or the second message sent; never acknowledged and dropped."""
    keyed = {**headers, "Idempotency-Key": "user-42"}
    first = _post(client, keyed, subject="Reset your password", text="Your reset code is 1234.")
    assert first.status_code == 202, first.body
    second = _post(client, keyed, subject="Your receipt", text="Order 17: 3 items, 42.00 EUR.")
    if second.status_code in (409, 422):
        return
    assert second.status_code == 202, second.body
    run_queues(client, ("outbox",))
    subjects = sorted(str(parsed(raw)["Subject"]) for raw in sent_raw())
    assert subjects == ["Reset your password", "Your receipt"], (
        f"the API answered 202 'queued' ({json.loads(second.body)}) but only {subjects} went out")
    assert take("outbox") == []
