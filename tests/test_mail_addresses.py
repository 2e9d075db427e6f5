"""Addresses as SES and mail servers take them: 7-bit only (SES has no SMTPUTF8), so an
internationalised domain travels in its ASCII form (A-labels) in the headers and the SES
destination, a local part beyond ASCII is refused where an address is taken to be mailed, and the
Message-ID is well formed whatever the sender's display name."""
from __future__ import annotations

import email
import json
import re
from email import policy
from email.headerregistry import Address

import pytest

from chalicelib.domain.addresses import ascii_address, normalise_email
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.mime import build_mime
from chalicelib.domain.outgoing import OutgoingEmail
from chalicelib.store.suppressions import is_suppressed
from tests.support.events import ses_event, sns_body, sqs_event
from tests.support.mail import parsed, recorded_calls, sent_raw
from tests.support.queues import run_queues

UNICODE = "ann@bücher.example"
ASCII = "ann@xn--bcher-kva.example"


def _head(mail: OutgoingEmail) -> list[str]:
    return build_mime(mail).split(b"\r\n\r\n")[0].decode("ascii").split("\r\n")


@pytest.mark.parametrize("sender", ["news@acme.example", "Acme News <news@acme.example>",
                                    str(Address('Acme "News" <a@b>, Inc.', addr_spec="news@acme.example"))])
def test_p08_the_message_id_is_well_formed_whatever_the_senders_display_name(sender):
    mail = OutgoingEmail(sender=sender, recipient="bo@example.com", subject="Hi", text="x")
    # As written: a parser would forgive a stray `>` that a mail server's filter counts against it.
    (line,) = [line for line in _head(mail) if line.startswith("Message-ID:")]
    assert re.fullmatch(r"Message-ID: <[^<>@\s]+@acme\.example>", line), line


def test_p10_a_recipient_at_an_internationalised_domain_is_addressed_in_ascii():
    mail = OutgoingEmail(sender=str(Address("Ștefan, Inc.", addr_spec="news@bücher.example")),
                         recipient=UNICODE, subject="Hi", text="x", reply_to="help@bücher.example")
    head = _head(mail)
    assert f"To: {ASCII}" in head
    assert next(line for line in head if line.startswith("Message-ID:")).endswith("@xn--bcher-kva.example>")
    parsed = email.message_from_bytes(build_mime(mail), policy=policy.default)
    (sender,) = parsed["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Ștefan, Inc.", "news@xn--bcher-kva.example")
    assert parsed["Reply-To"].addresses[0].addr_spec == "help@xn--bcher-kva.example"


def test_p10_an_ascii_address_is_left_as_it_is():
    assert ascii_address("ann@example.com") == "ann@example.com"
    assert ascii_address(UNICODE) == ASCII and ascii_address("bücher.example") == "xn--bcher-kva.example"


def test_p11_p12_transactional_mail_to_an_idn_address_goes_in_ascii_and_its_bounce_suppresses_it(
        client, account, headers, monkeypatch):
    sends = recorded_calls(monkeypatch, "sesv2", "send_email")
    response = client.http.post("/v1/messages", headers=headers, body=json.dumps(
        {"to": UNICODE, "subject": "Your receipt", "text": "Thanks."}))
    assert response.status_code == 202, response.body
    assert run_queues(client, ("outbox",)) == []
    assert sends[-1]["Destination"] == {"ToAddresses": [ASCII]}
    assert str(parsed(sent_raw()[-1])["To"]) == ASCII
    tags = {tag["Name"]: tag["Value"] for tag in sends[-1]["EmailTags"]}
    # SES names the recipient as it was sent: in ASCII. It is the same person.
    result = client.lambda_.invoke("feedback_worker", sqs_event(sns_body(ses_event(
        "event-bounce.json", ASCII, tags, sent=False, bounceType="Permanent", bounceSubType="General"))))
    assert result.payload == {"batchItemFailures": []}
    assert is_suppressed(account["account_id"], UNICODE)


@pytest.mark.parametrize("address", ["josé@example.com", "анна@example.com", "ann\u00e9@bücher.example"])
def test_p11_an_address_ses_cannot_send_to_is_refused_where_it_would_be_mailed(client, headers, address):
    response = client.http.post("/v1/messages", headers=headers, body=json.dumps(
        {"to": address, "subject": "Hi", "text": "x"}))
    assert response.status_code == 400
    error = json.loads(response.body)["error"]
    assert error["field"] == "to" and "before the @" in error["message"]
    with pytest.raises(InvalidInput):
        normalise_email(address, mailable=True)
    assert normalise_email(address) == address, "a lookup of a known address still takes it"


def test_p01_a_subscriber_whose_address_ses_cannot_send_to_is_refused_naming_email(client, headers):
    from tests.support.lists import new_list

    list_id = new_list(client, headers, double_opt_in=False)
    refused = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=headers,
                               body=json.dumps({"email": "josé@example.com"}))
    assert refused.status_code == 400 and json.loads(refused.body)["error"]["field"] == "email"
    taken = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=headers,
                             body=json.dumps({"email": UNICODE}))
    assert taken.status_code in (200, 201), taken.body
