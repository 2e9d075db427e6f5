"""Erasure (P18): the person leaves every table; only keyed hashes stay in the suppression list."""
from __future__ import annotations

import json
import zlib
from typing import Any

import pytest

from bench.aws_calls import count_aws_calls
from chalicelib.cli import create_account_with_key
from chalicelib.config import hash_key
from chalicelib.domain.privacy import phone_hash
from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason, address_hash
from chalicelib.services.privacy import erase_person, export_person
from chalicelib.store.models import ALL_MODELS, MessageRecord, PrivacyExport, RateCounter, Suppression
from chalicelib.store.person_data import COVERAGE, NoPersonalData
from chalicelib.store.suppressions import is_suppressed, suppress
from chalicelib.store.tracking import markers_of
from tests.support.api import bearer
from tests.support.campaigns import campaign_of
from tests.support.lists import confirm_with_tracking, new_list, stored
from tests.support.privacy import PERSON, PERSON_RAW, PHONE, PHONE_RAW, PROOF, add, completed, privacy
from tests.support.privacy_scan import contact_forms, found_in_tables
from tests.support.privacy_scan import scan_every_table as every_table
from tests.support.queues import deliver, take
from tests.support.signups import form_signup
from tests.support.tables import scanned
from tests.support.tracking import opened_and_clicked

BOB = "bob@example.com"
# Every form the person's contact data can take, compared case-insensitively.
NEEDLES = (PERSON, PERSON_RAW.strip(), PHONE, PHONE_RAW, PHONE.lstrip("+"), "712345678", "712 345 678")


@pytest.fixture
def api(account, verified_sender) -> dict[str, str]:
    return bearer(account["api_key"])


def test_every_model_has_an_eraser_or_says_it_holds_no_personal_data():
    missing = [model.__name__ for model in ALL_MODELS if model not in COVERAGE]
    assert missing == [], f"register these tables in store/person_data.py COVERAGE: {missing}"
    assert set(COVERAGE) <= set(ALL_MODELS)
    assert all(coverage.reason for coverage in COVERAGE.values() if isinstance(coverage, NoPersonalData))


def _as_text(value: Any) -> str:
    """A scanned item as lower-case text, compressed binary payloads opened."""
    if isinstance(value, dict):
        if set(value) == {"B"}:
            raw = value["B"]
            try:
                return zlib.decompress(raw).decode("utf-8").lower()
            except zlib.error:
                return raw.decode("utf-8", errors="replace").lower()
        return " ".join(_as_text(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(_as_text(v) for v in value)
    return str(value).lower()


def scan_every_table() -> dict[str, list[str]]:
    """Each table's items as text (a test may Scan; the app never does)."""
    return {model.Meta.logical_name: [_as_text(item) for item in scanned(model)] for model in ALL_MODELS}


def _found(tables: dict[str, list[str]], needles: tuple[str, ...]) -> dict[str, list[str]]:
    return {name: [n for n in needles if any(n.lower() in item for item in items)]
            for name, items in tables.items() if any(n.lower() in item for n in needles for item in items)}


def _confirms_her_number(list_id: str) -> None:
    """The person typed the code texted to her number (P01 for SMS): the number is proven hers."""
    from chalicelib.store.models import Subscriber
    from chalicelib.store.subscribers import confirm_phone

    confirm_phone(Subscriber.get(list_id, PERSON), None, None)


def _provision_everything(client, api, account) -> list[str]:
    """The person in every table that can hold them, and Bob beside them on each list."""
    lists = [new_list(client, api, name, attributes=("city",))
             for name in ("News", "Offers", "Alerts")]
    # A public signup: a pending entry, the rate counters and a confirmation mail.
    form_signup(client, lists[0], email=PERSON_RAW, phone=PHONE_RAW, city="Iasi")
    for list_id in lists[1:]:
        add(client, api, list_id, proof=False, phone=PHONE_RAW, name="Ann", attributes={"city": "Iasi"})
    for list_id in lists:
        add(client, api, list_id, proof=False, email=BOB)
    deliver(take("outbox"))  # message records for every confirmation mail
    for address in (PERSON, BOB):  # they confirm one list and let it count opens and clicks (P30)
        confirm_with_tracking(lists[1], address)
    _confirms_her_number(lists[1])
    campaign_id = campaign_of(account["account_id"], lists[1])
    for address in (PERSON, BOB):  # tracking markers: an open and a click each
        opened_and_clicked(account["account_id"], lists[1], campaign_id, address)
    suppress(PLATFORM_SCOPE, PERSON, SuppressionReason.PLATFORM_OPT_OUT)
    client.http.delete(f"/v1/lists/{lists[2]}/subscribers/{BOB}", headers=api)  # an audit entry
    access = completed(client, api, type="access", email=PERSON)  # a request and an export
    client.http.get(f"/v1/privacy/requests/{access['request_id']}/export", headers=api)
    return lists


def test_p18_erasure_leaves_no_trace_but_the_keyed_hash(client, api, account, logs):
    lists = _provision_everything(client, api, account)
    before = scan_every_table()
    holding = _found(before, NEEDLES)
    assert {"subscribers", "privacy-exports"} <= set(holding), holding
    assert [m for m in MessageRecord.scan() if m.account_id == account["account_id"]
            and m.recipient_hash == address_hash(PERSON, hash_key())], "message records can be found by hash"
    assert any(c.counter_key.startswith("addr:") for c in RateCounter.scan())
    assert PrivacyExport.count(account["account_id"]) == 1
    assert len(markers_of(account["account_id"], [PERSON])) == 2, "found by keyed hash"

    view = completed(client, api, type="erase", email=PERSON_RAW.upper())
    removed = view["outcome"]["removed"]
    assert removed["subscribers"] == 3 and removed["messages"] == 3 and removed["privacy-exports"] == 1
    assert removed["tracking-markers"] == 2

    after = scan_every_table()
    assert _found(after, NEEDLES) == {}, "the person's contact data is still stored"
    # Every form: case, local part, unkeyed hashes, encodings, the name, the consent IP.
    forms = contact_forms([PERSON_RAW], phones=[PHONE], names=["Ann"], ips=[PROOF["ip"]])
    assert found_in_tables(every_table(), forms) == {}
    assert forms.found_in(logs.text) == [], "contact data was logged"
    assert _found(after, (BOB,)) == {"subscribers": [BOB]}, "erasure touched someone else"
    # Markers hold a keyed hash, not the address: the scan above cannot see them (P18).
    assert markers_of(account["account_id"], [PERSON]) == []
    assert len(markers_of(account["account_id"], [BOB])) == 2
    # Only keyed hashes stay: the account now refuses the address and the phone (P12, P18).
    for hashed in (address_hash(PERSON, hash_key()), phone_hash(PHONE, hash_key())):
        assert Suppression.get(account["account_id"], hashed).reason == "erased"
    assert Suppression.get(PLATFORM_SCOPE, address_hash(PERSON, hash_key())).reason == "platform_opt_out"
    assert completed(client, api, type="exists", email=PERSON)["outcome"] == {"held": False}
    # An erased person who opens a mail they kept is not tracked again (P18); others still are.
    campaign_id = campaign_of(account["account_id"], lists[1])
    for address in (PERSON, BOB):
        opened_and_clicked(account["account_id"], lists[1], campaign_id, address)
    assert markers_of(account["account_id"], [PERSON]) == []
    assert completed(client, api, type="exists", email=PERSON)["outcome"] == {"held": False}
    assert len(markers_of(account["account_id"], [BOB])) == 4, "an open and a click in each campaign"

    form_signup(client, lists[0], email=PERSON, city="Iasi")
    assert stored(lists[0], PERSON) is None, "a later signup is silently refused"
    assert take("outbox") == []


def test_p18_erasure_by_phone_finds_the_person_on_every_list(client, api, account):
    lists = [new_list(client, api, name, double_opt_in=False) for name in ("News", "Offers")]
    for list_id in lists:
        add(client, api, list_id, phone=PHONE_RAW)
    _confirms_her_number(lists[0])  # on one list: the number and the address are one person
    view = completed(client, api, type="erase", phone=PHONE_RAW)
    assert view["outcome"]["removed"]["subscribers"] == 2
    assert all(stored(list_id, PERSON) is None for list_id in lists)
    assert completed(client, api, type="exists", email=PERSON)["outcome"] == {"held": False}
    assert Suppression.get(account["account_id"], address_hash(PERSON, hash_key())).reason == "erased"


def test_p18_a_request_by_phone_reaches_no_address_on_an_entry_that_never_confirmed_the_number(
        client, api, account):
    """A form takes any address with any number. Mallory signs Victim's address up with her own
    number (pending, nothing confirmed), then asks the account, as the number's holder, for its
    data and its erasure: she gets none of Victim's data, Victim keeps her entries and may still
    sign up, and only Mallory's number leaves the entry she made (it is hers)."""
    from tests.support.lists import subscribe

    victim, mallory = "victim@example.com", PHONE
    news, offers = new_list(client, api, "News"), new_list(client, api, "Offers")
    subscribe(account["account_id"], news, victim, name="Victim", city="Cluj")
    assert form_signup(client, offers, email=victim, phone=PHONE_RAW, name="Victim").status_code == 200

    access = completed(client, api, type="access", phone=mallory)
    export = client.http.get(f"/v1/privacy/requests/{access['request_id']}/export", headers=api).body.decode()
    assert victim not in export and "Victim" not in export and "Cluj" not in export, export
    rows = json.loads(export)["subscriptions"]
    assert [(row["list_id"], row["phone"]) for row in rows] == [(offers, mallory)], "her number, on Offers"

    completed(client, api, type="erase", phone=mallory)
    assert stored(news, victim).status == "confirmed" and stored(news, victim).name == "Victim"
    pending = stored(offers, victim)
    assert pending.status == "pending" and pending.phone is None and pending.phone_consent is None
    assert not is_suppressed(account["account_id"], victim)
    assert Suppression.get(account["account_id"], phone_hash(mallory, hash_key())).reason == "erased"
    assert completed(client, api, type="exists", phone=mallory)["outcome"] == {"held": False}


def test_erase_and_export_person_are_callable_with_an_address_or_a_phone(client, api, account):
    list_id = new_list(client, api, "News", double_opt_in=False)
    add(client, api, list_id, phone=PHONE_RAW)
    assert [s["list_id"] for s in export_person(account["account_id"], PHONE)["subscriptions"]] == [list_id]
    outcome = erase_person(account["account_id"], PERSON_RAW)
    # Her number was never confirmed: only the address is known to be hers, so only it is suppressed.
    assert outcome["removed"]["subscribers"] == 1 and outcome["identifiers_suppressed"] == 1
    assert export_person(account["account_id"], PERSON)["subscriptions"] == []
    assert erase_person(account["account_id"], PERSON)["removed"]["subscribers"] == 0, "idempotent"
    assert json.dumps(outcome).count("@") == 0


def test_p28_erasure_in_one_account_leaves_the_same_person_in_another(client, api, account):
    other = bearer(create_account_with_key("Other Org", {})["api_key"])
    ours = new_list(client, api, "News", double_opt_in=False)
    theirs = new_list(client, other, "Theirs", double_opt_in=False)
    add(client, api, ours, phone=PHONE_RAW)
    add(client, other, theirs, phone=PHONE_RAW)
    completed(client, api, type="erase", email=PERSON)
    assert stored(ours, PERSON) is None
    assert stored(theirs, PERSON) is not None
    assert completed(client, other, type="exists", phone=PHONE)["outcome"] == {"held": True}


def test_p18_erasure_by_email_leaves_her_confirmed_number_on_another_entry(client, api, account):
    """Ann proved +40712345678 hers on News; someone typed it on Bob's Offers entry. A request by
    her email reaches that copy as a request by the number does: the export shows only the list
    and the number there, and erasure takes the number off Bob's entry, the rest of it his."""
    news = new_list(client, api, "News", double_opt_in=False)
    offers = new_list(client, api, "Offers", double_opt_in=False)
    add(client, api, news, phone=PHONE_RAW)
    _confirms_her_number(news)
    add(client, api, offers, email=BOB, phone=PHONE_RAW, name="Bob")
    by_phone = export_person(account["account_id"], PHONE)["subscriptions"]
    by_email = export_person(account["account_id"], PERSON)["subscriptions"]
    assert by_email == by_phone and [row["list_id"] for row in by_email] == [news, offers]
    assert by_email[1] == {"list_id": offers, "list_name": "Offers", "phone": PHONE,
                           "phone_confirmed_at": None}

    erase_person(account["account_id"], PERSON)
    bob = stored(offers, BOB)
    assert bob.phone is None and bob.phone_consent is None, "her number is still on Bob's entry"
    assert (bob.status, bob.name, bob.email) == ("confirmed", "Bob", BOB), "Bob's own data stays"


def test_p18_a_confirmation_mail_queued_before_the_erasure_is_neither_sent_nor_recorded(
        client, api, account):
    """The signup's confirmation mail is still on the outbox queue when the person is erased: it
    must not go, and no message record or purge list may name her keyed hash afterwards. Bob's,
    queued beside it, still goes."""
    from chalicelib.store.models import MessagePurgeList
    from tests.support.mail import recipients_of_sent

    list_id = new_list(client, api, "News")
    for address in (PERSON, BOB):
        form_signup(client, list_id, email=address)
    queued = take("outbox")
    assert len(queued) == 2
    completed(client, api, type="erase", email=PERSON)

    deliver(queued)
    assert recipients_of_sent() == [BOB]
    hashed = address_hash(PERSON, hash_key())
    assert list(MessageRecord.query(hashed)) == []
    assert [p for p in MessagePurgeList.scan() if hashed in json.dumps((p.messages or {}).as_dict()
                                                                       if p.messages else {})] == []


# --- keyed hashes kept outside the suppression list (P18) ----------------------------------------

RECEIPT = {"to": PERSON_RAW, "subject": "Your receipt", "text": "Thanks for order 17."}


def _as_hex_text(value: Any) -> str:
    """A scanned item as lower-case text with map keys, binary values as hex: purge lists pack
    keyed hashes as raw bytes, and composite keys join them with other ids."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return " ".join(f"{name} {_as_hex_text(item)}" for name, item in value.items())
    if isinstance(value, list):
        return " ".join(_as_hex_text(item) for item in value)
    return str(value).lower()


def _keyed_forms(account_id: str) -> dict[str, str]:
    """Every keyed form of the person's address and number that the key holder could recompute
    from them: the suppression hashes, the abuse counters' keys, each campaign's tracking-marker
    key, and the fingerprint of the transactional mail she was sent."""
    from chalicelib.domain.signup_limits import keyed
    from chalicelib.domain.tracking import recipient_key
    from chalicelib.domain.transactional import request_fingerprint
    from chalicelib.store.models import Campaign

    key = hash_key()
    hashed = address_hash(PERSON, key)
    forms = {"address hash": hashed, "phone hash": phone_hash(PHONE, key),
             "counter key of the address": keyed(key, "address", PERSON),
             "counter key of the phone": keyed(key, "phone", PHONE),
             "idempotency fingerprint": request_fingerprint(key, RECEIPT, PERSON)}
    forms.update({f"marker key in {c.campaign_id}": recipient_key(key, c.campaign_id, hashed)
                  for c in Campaign.query(account_id)})
    return forms


def _holding(forms: dict[str, str]) -> dict[str, list[str]]:
    """By table, the names of the forms its items hold (a test may Scan; the app never does)."""
    found: dict[str, list[str]] = {}
    for model in ALL_MODELS:
        items = [_as_hex_text(item) for item in scanned(model)]
        hits = sorted(name for name, form in forms.items() if any(form.lower() in item for item in items))
        if hits:
            found[model.Meta.logical_name] = hits
    return found


def _feedback_on(client, account_id: str, message_id: str, sample: str, sent: bool = True,
                 **detail: Any) -> None:
    """SES's event about her mail; `sent` False replays it without writing its record again."""
    from tests.support.events import ses_event, sns_body, sqs_event

    event = ses_event(sample, PERSON, {"account": account_id, "kind": "transactional",
                                       "message": message_id}, sent=sent, **detail)
    result = client.lambda_.invoke("feedback_worker", sqs_event(sns_body(event)))
    assert result.payload == {"batchItemFailures": []}


def _transactional_to_her(client, api) -> str:
    sent = client.http.post("/v1/messages", body=json.dumps(RECEIPT), headers=api)
    assert sent.status_code == 202, sent.body
    deliver(take("outbox"))
    return json.loads(sent.body)["message_id"]


def test_p18_erasure_deletes_her_feedback_receipts_and_a_replay_recreates_nothing(client, api, account):
    """A receipt's key holds her keyed hash: it goes with the message record it counted. Once
    erased, a replayed complaint finds no record, so it counts nowhere, writes no receipt and
    re-creates no entry: at most the suppression, which stays anyway (services/unmatched_feedback)."""
    from chalicelib.store.models import FeedbackReceipt

    account_id = account["account_id"]
    list_id = new_list(client, api, "News", double_opt_in=False)
    add(client, api, list_id)
    message_id = _transactional_to_her(client, api)
    _feedback_on(client, account_id, message_id, "event-bounce.json",
                 bounceType="Transient", bounceSubType="MailboxFull")
    _feedback_on(client, account_id, message_id, "event-complaint.json")
    hashed = address_hash(PERSON, hash_key())
    assert len([r for r in FeedbackReceipt.scan() if hashed in r.receipt_key]) == 2

    view = completed(client, api, type="erase", email=PERSON)
    assert view["outcome"]["removed"]["feedback-receipts"] == 2
    assert [r.receipt_key for r in FeedbackReceipt.scan() if hashed in r.receipt_key] == []
    erased = _holding({"address hash": hashed})

    _feedback_on(client, account_id, message_id, "event-complaint.json", sent=False)
    assert _holding({"address hash": hashed}) == erased, "a replay stored her hash again"
    assert stored(list_id, PERSON) is None
    assert Suppression.get(account_id, hashed).erased


def test_p18_erasure_deletes_the_counters_keyed_by_her_hashes(client, api, account):
    """A signup's abuse counters and a transient bounce's counter are keyed by her keyed hashes:
    they go with her (found through an index on the person's hash, no scan); Bob's stay."""
    from chalicelib.domain.signup_limits import keyed
    from chalicelib.store.models import RateCounter

    account_id = account["account_id"]
    list_id = new_list(client, api, "News")
    for address in (PERSON, BOB):
        form_signup(client, list_id, email=address)
    message_id = _transactional_to_her(client, api)
    _feedback_on(client, account_id, message_id, "event-bounce.json",
                 bounceType="Transient", bounceSubType="MailboxFull")
    key = hash_key()
    hers = (keyed(key, "address", PERSON), address_hash(PERSON, key))

    def counters_of(needles: tuple[str, ...]) -> list[str]:
        return sorted(c.counter_key.partition(":")[0] for c in RateCounter.scan()
                      if any(needle in c.counter_key for needle in needles))

    assert counters_of(hers) == ["addr", "addr-list", "mail", "soft-bounce"]
    completed(client, api, type="erase", email=PERSON)
    assert counters_of(hers) == []
    assert counters_of((keyed(key, "address", BOB),)) == ["addr", "addr-list", "mail"]


def test_p11_p18_erasure_deletes_the_counters_an_api_signup_spent_on_her_confirmation_mail(client, api):
    """The API's signups count her confirmation mails in the public form's counters (keyed by
    her keyed hash, and named by her subject): her erasure takes them too; Bob's stay."""
    from chalicelib.domain.signup_limits import keyed

    lists = [new_list(client, api, name) for name in ("News", "Offers")]
    for list_id in lists:
        add(client, api, list_id, proof=False)
        add(client, api, list_id, proof=False, email=BOB)
    key = hash_key()

    def counters_of(address: str) -> list[str]:
        return sorted(c.counter_key.partition(":")[0] for c in RateCounter.scan()
                      if keyed(key, "address", address) in c.counter_key)

    assert counters_of(PERSON) == ["addr", "addr-list", "addr-list", "mail", "mail"]
    completed(client, api, type="erase", email=PERSON)
    assert counters_of(PERSON) == []
    assert counters_of(BOB) == ["addr", "addr-list", "addr-list", "mail", "mail"]


def test_p18_erasure_deletes_the_idempotency_key_of_a_mail_to_her(client, api, account):
    """A held Idempotency-Key keeps a keyed hash of its request, her address in it: whoever holds
    the key and knows the mail could confirm it went to her. It goes with her; a retry of the
    request after the erasure is refused as suppressed, not taken as new (P11)."""
    from chalicelib.store.models import IdempotencyKey

    keyed = {**api, "Idempotency-Key": "order-17"}
    to_bob = {**RECEIPT, "to": BOB}
    for body, headers in ((RECEIPT, keyed), (to_bob, {**api, "Idempotency-Key": "order-18"})):
        assert client.http.post("/v1/messages", body=json.dumps(body), headers=headers).status_code == 202
    assert len(list(IdempotencyKey.scan())) == 2

    completed(client, api, type="erase", email=PERSON)
    assert len(list(IdempotencyKey.scan())) == 1, "hers is held still, or Bob's went too"
    retry = client.http.post("/v1/messages", body=json.dumps(RECEIPT), headers=keyed)
    assert retry.status_code == 409 and len(list(IdempotencyKey.scan())) == 1


def test_p18_erasure_in_one_account_keeps_her_counters_and_keys_in_another(client, api, account):
    """Her keyed hash is the same in every account: one account's erasure of her deletes that
    account's counters and Idempotency-Keys, never those another account holds for her (its
    caps and its retries' protection stay)."""
    from chalicelib.domain.signup_limits import keyed
    from chalicelib.services.senders import add_sender
    from chalicelib.store.models import IdempotencyKey

    other = create_account_with_key("Other Ltd", {
        "postal_address": "2 Side Street, 010101 Bucharest, Romania",
        "contact_email": "contact@other.example", "sender_identity": "news@other.example"})
    add_sender(other["account_id"], "test", "other.example")
    other_api = bearer(other["api_key"])
    for headers, list_name in ((api, "News"), (other_api, "Other news")):
        form_signup(client, new_list(client, headers, list_name), email=PERSON)
        held = client.http.post("/v1/messages", body=json.dumps(RECEIPT),
                                headers={**headers, "Idempotency-Key": "order-17"})
        assert held.status_code == 202, held.body
    hers = keyed(hash_key(), "address", PERSON)
    assert len([c for c in RateCounter.scan() if hers in c.counter_key]) == 6
    assert len(list(IdempotencyKey.scan())) == 2

    completed(client, api, type="erase", email=PERSON)
    assert len([c for c in RateCounter.scan() if hers in c.counter_key]) == 3, "the other account's went too"
    assert len(list(IdempotencyKey.scan())) == 1, "the other account's key went too"


# Kept after erasure on purpose: the suppressions (P12, P18), and the record of each request
# about her, whose subject is her keyed hash: it proves the request, the erasure included, was
# answered in time (P19), and answers no question about her (`exists` says nothing is held).
KEPT_AFTER_ERASURE = {"suppressions": ["address hash", "phone hash"], "privacy-requests": ["address hash"]}


def _provision_keyed_hashes(client, api, account) -> dict[str, str]:
    """The person in every table that can hold a keyed hash of hers, each form checked stored:
    a feedback receipt of each kind, an idempotent transactional mail, the signup's and the
    bounce's counters, purge lists, markers. Her keyed forms, by name."""
    account_id = account["account_id"]
    # Before she opts out of the platform there, which then refuses transactional mail (P12);
    # sent with the confirmation mails.
    sent = client.http.post("/v1/messages", body=json.dumps(RECEIPT),
                            headers={**api, "Idempotency-Key": "order-17"})
    assert sent.status_code == 202, sent.body
    message_id = json.loads(sent.body)["message_id"]
    _provision_everything(client, api, account)
    _feedback_on(client, account_id, message_id, "event-bounce.json",
                 bounceType="Transient", bounceSubType="MailboxFull")
    _feedback_on(client, account_id, message_id, "event-complaint.json")
    forms = _keyed_forms(account_id)
    before = _holding(forms)
    for table in ("feedback-receipts", "idempotency-keys", "rate-counters", "message-purge-lists",
                  "messages", "tracking-markers", "privacy-requests"):
        assert table in before, (table, before)
    # Her number was never texted here: only the erasure's suppression holds its forms.
    unsent = {"phone hash", "counter key of the phone"}
    assert set().union(*before.values()) == set(forms) - unsent, "every other form was stored"
    return forms


def test_p18_after_erasure_no_table_but_the_suppressions_holds_her_keyed_hashes(client, api, account):
    """Keyed hashes are contact data to whoever holds the key: after erasure none of hers is
    stored outside the suppression list (and the requests' own records), composite keys, map
    keys and packed bytes included."""
    forms = _provision_keyed_hashes(client, api, account)
    completed(client, api, type="erase", email=PERSON)
    assert _holding(forms) == KEPT_AFTER_ERASURE


def test_p18_erasure_takes_her_keyed_hash_off_the_purge_lists_of_her_mails(client, api, account):
    """A send files its records on a purge list for day 30 (P21): a campaign batch's list holds
    its recipients' keyed hashes, another list its message ids with theirs. Her records name
    their lists, so the erasure takes her off them; Bob, on the same lists, stays."""
    from chalicelib.store.messages import listed
    from chalicelib.store.models import MessagePurgeList
    from tests.support.campaigns import create_campaign
    from tests.support.lists import subscribe
    from tests.support.queues import run_queues

    list_id = new_list(client, api, "News")
    for address in (PERSON, BOB):
        subscribe(account["account_id"], list_id, address)
    campaign = create_campaign(client, api, [list_id])
    client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=api, body="")
    run_queues(client)
    _transactional_to_her(client, api)
    hers, bobs = address_hash(PERSON, hash_key()), address_hash(BOB, hash_key())

    def listed_hashes() -> list[str]:
        return sorted(hashed for purge_list in MessagePurgeList.scan()
                      for hashed in listed(purge_list).values())

    assert listed_hashes() == sorted([hers, hers, bobs]), "her campaign mail and transactional mail, his"
    completed(client, api, type="erase", email=PERSON)
    assert listed_hashes() == [bobs]


def test_p18_erasure_takes_her_marker_keys_off_the_tracking_purge_lists(client, api, account):
    """A tracking batch files the markers it creates on a purge list (P21): their keys hold her
    campaign-salted keyed hash. Her markers name their list, so the erasure takes her keys off
    it, a rewrite of a marker keeping the name; Bob's stay."""
    from chalicelib.domain.tracking import recipient_key
    from chalicelib.store.models import MessagePurgeList
    from chalicelib.store.tracking import markers_filed

    account_id = account["account_id"]
    list_id = new_list(client, api, "News")
    for address in (PERSON, BOB):
        form_signup(client, list_id, email=address)
        confirm_with_tracking(list_id, address)
    campaign_id = campaign_of(account_id, list_id)
    for _ in range(2):  # the second rewrites the markers the first created
        for address in (PERSON, BOB):
            opened_and_clicked(account_id, list_id, campaign_id, address)
    key = hash_key()
    hers, bobs = (recipient_key(key, campaign_id, address_hash(address, key)) for address in (PERSON, BOB))

    def filed() -> list[str]:
        return sorted(marker.recipient.partition("#")[2] for purge_list in MessagePurgeList.scan()
                      for marker in markers_filed(purge_list))

    assert filed() == [*sorted([hers, hers, bobs, bobs])], "an open and a click each"
    completed(client, api, type="erase", email=PERSON)
    assert filed() == [bobs, bobs]


def test_p18_p28_erasure_in_one_account_keeps_the_platform_wide_cap_on_codes_texted_to_her_number(
        client, api, account):
    """The number's daily cap on texted codes counts across every account: one account's erasure
    of the person must not reset it (it guards the number's holder against SMS bombing through
    other accounts' forms); the entry's own code counter goes with the entry."""
    from chalicelib.domain.clock import now
    from chalicelib.domain.phone_consent import entry_code_counter, number_code_counter
    from chalicelib.store.models import RateCounter
    from chalicelib.store.rate_limits import consume

    list_id = new_list(client, api, "News", double_opt_in=False)
    add(client, api, list_id, phone=PHONE_RAW)
    _confirms_her_number(list_id)
    consume([number_code_counter(hash_key(), PHONE),
             entry_code_counter(hash_key(), account["account_id"], list_id, PERSON)], now())

    completed(client, api, type="erase", phone=PHONE)
    assert sorted(c.counter_key.partition(":")[0] for c in RateCounter.scan()
                  if c.counter_key.startswith("code-")) == ["code-phone"]


def test_p18_p21_a_purge_list_purged_before_the_erasure_writes_is_not_brought_back(aws):
    """The daily purge may delete a list before the erasure takes the person off it: the write
    must not create a bare item (no expiry, no account) that no purge would ever find again."""
    from chalicelib.domain.clock import now
    from chalicelib.store import messages
    from chalicelib.store.models import MessagePurgeList

    hashed, bobs = address_hash(PERSON, hash_key()), address_hash(BOB, hash_key())
    message_list = messages.list_for_purge("acc_1", {"tx_1": hashed})
    campaign_list = messages.list_campaign_for_purge("acc_1", "cmp_1", [hashed, bobs])
    marker_list = messages.file_purge_list("acc_1", ["markers", "01", "02"], now(),
                                           markers={b"\x01", b"\x02"})
    for item in list(MessagePurgeList.scan()):
        item.delete()  # purged before its erasure's write
    assert messages.unlist(_records_of_her(hashed, message_list, campaign_list)) == 0
    assert messages.unlist_packed({marker_list: {b"\x01"}}) == 0
    assert list(MessagePurgeList.scan()) == []


def _records_of_her(hashed: str, message_list: str | None, campaign_list: str | None) -> list[MessageRecord]:
    """Her transactional mail's record on its own list, her campaign mail's on its batch's."""
    from chalicelib.domain.message_ids import campaign_message_id

    return [MessageRecord(recipient_hash=hashed, message_id="tx_1", purge_list=message_list),
            MessageRecord(recipient_hash=hashed, message_id=campaign_message_id("cmp_1", hashed),
                          campaign_id="cmp_1", purge_list=campaign_list)]


def test_p18_an_erasure_takes_only_its_own_keys_off_a_purge_list_without_reading_it(aws):
    """Two people of one campaign batch erased at once must both leave its list: an erasure that
    read the list and wrote back the rest would restore the other's hash. Each update takes only
    its own elements off, and nothing reads the list first; one update a list, however many of
    her records it names (P18)."""
    from chalicelib.domain.clock import now
    from chalicelib.domain.message_ids import campaign_message_id
    from chalicelib.store import messages
    from chalicelib.store.models import MessagePurgeList

    hers, bobs, anns = (address_hash(who, hash_key()) for who in (PERSON, BOB, "ann@example.com"))
    campaign_list = messages.list_campaign_for_purge("acc_1", "cmp_1", [hers, bobs, anns])
    message_list = messages.list_for_purge("acc_1", {"tx_1": hers, "tx_2": hers, "tx_3": bobs})
    marker_list = messages.file_purge_list("acc_1", ["markers", "01", "02", "03"], now(),
                                           markers={b"\x01", b"\x02", b"\x03"})
    bobs_record = MessageRecord(recipient_hash=bobs, message_id=campaign_message_id("cmp_1", bobs),
                                campaign_id="cmp_1", purge_list=campaign_list)
    assert messages.unlist([bobs_record]) == 1
    assert messages.unlist_packed({marker_list: {b"\x02"}}) == 1
    hers_also = MessageRecord(recipient_hash=hers, message_id="tx_2", purge_list=message_list)
    with count_aws_calls() as calls:
        assert messages.unlist([*_records_of_her(hers, message_list, campaign_list), hers_also]) == 2
        assert messages.unlist_packed({marker_list: {b"\x01"}}) == 1
    assert dict(calls.by_operation) == {"dynamodb.UpdateItem": 3}
    lists = {item.campaign_id: item for item in MessagePurgeList.scan() if not item.markers}
    assert set(lists["cmp_1"].recipients) == {bytes.fromhex(anns)}
    assert lists[None].messages.as_dict() == {"tx_3": bobs}
    assert {marker for item in MessagePurgeList.scan() for marker in item.markers or ()} == {b"\x03"}


def _her_campaign_mails(account_id: str, count: int) -> list[str]:
    """`count` campaign mails to her, each from its own campaign's batch, as sending leaves them:
    a purge list each naming her keyed hash, and a record naming its list. The lists' keys."""
    from chalicelib.domain.clock import now
    from chalicelib.domain.message_ids import campaign_message_id
    from chalicelib.domain.retention import MESSAGE_RETENTION
    from chalicelib.store import messages

    hashed, sent_at = address_hash(PERSON, hash_key()), now()
    lists = []
    for n in range(count):
        campaign_id = f"cmp_{n:03}"
        lists.append(messages.list_campaign_for_purge(account_id, campaign_id, [hashed]))
        MessageRecord(recipient_hash=hashed, message_id=campaign_message_id(campaign_id, hashed),
                      account_id=account_id, kind="campaign", campaign_id=campaign_id, sent_at=sent_at,
                      expires_at=sent_at + MESSAGE_RETENTION, purge_list=lists[-1]).save()
    return lists


def _lists_naming_her() -> int:
    from chalicelib.store.messages import listed
    from chalicelib.store.models import MessagePurgeList

    hers = address_hash(PERSON, hash_key())
    return sum(hers in listed(purge_list).values() for purge_list in MessagePurgeList.scan())


def test_p18_erasure_takes_her_off_her_purge_lists_a_few_updates_at_a_time(client, api, account,
                                                                           monkeypatch):
    """One update a purge list, and a list a campaign batch that mailed her: one after another,
    a few thousand mails would take an erasure near API Gateway's 29 s. The updates go
    MAX_IN_FLIGHT at once, never more, each as the API function (its permissions hold)."""
    import threading

    from chalicelib.local.invoke import current_function
    from chalicelib.store import messages
    from chalicelib.store.concurrent_writes import MAX_IN_FLIGHT

    _her_campaign_mails(account["account_id"], 2 * MAX_IN_FLIGHT + 3)
    caller, lock = threading.get_ident(), threading.Lock()
    # The first MAX_IN_FLIGHT updates made beside the request's thread wait for each other: they
    # meet only when all are in flight at once (one after another, none is made beside it).
    together = threading.Barrier(MAX_IN_FLIGHT, timeout=10)
    seen = {"in_flight": 0, "most": 0, "beside": 0, "as": set()}
    rewrite = messages._rewrite

    def watched(list_key: str, actions: list) -> bool:
        with lock:
            seen["in_flight"] += 1
            seen["most"] = max(seen["most"], seen["in_flight"])
            seen["as"].add(current_function())
            beside = threading.get_ident() != caller
            seen["beside"] += beside
            meets = beside and seen["beside"] <= MAX_IN_FLIGHT
        try:
            if meets:
                together.wait()
            return rewrite(list_key, actions)
        finally:
            with lock:
                seen["in_flight"] -= 1

    monkeypatch.setattr(messages, "_rewrite", watched)
    view = completed(client, api, type="erase", email=PERSON)
    assert (seen["most"], seen["as"]) == (MAX_IN_FLIGHT, {"api_handler"})
    assert view["outcome"]["removed"]["message-purge-lists"] == 2 * MAX_IN_FLIGHT + 3
    assert _lists_naming_her() == 0


def test_p18_p19_an_erasure_whose_purge_list_update_fails_is_not_completed_and_can_be_made_again(
        client, api, account, monkeypatch):
    """A failed update is not taken for done, however many others succeed beside it: the request
    stays received (not completed), her records stay to find her lists by, and the erasure made
    again takes her off every list."""
    from botocore.exceptions import ClientError
    from pynamodb.exceptions import UpdateError

    from chalicelib.store import messages

    lists = _her_campaign_mails(account["account_id"], 12)
    rewrite, failed = messages._rewrite, []

    def failing_once(list_key: str, actions: list) -> bool:
        if list_key == sorted(lists)[5] and not failed:
            failed.append(list_key)
            raise UpdateError("DynamoDB is unavailable", cause=ClientError(
                {"Error": {"Code": "InternalServerError", "Message": "unavailable"}}, "UpdateItem"))
        return rewrite(list_key, actions)

    monkeypatch.setattr(messages, "_rewrite", failing_once)
    assert privacy(client, api, type="erase", email=PERSON).status_code == 500
    requests = json.loads(client.http.get("/v1/privacy/requests", headers=api).body)["requests"]
    assert [(r["type"], r["status"], r["completed_at"]) for r in requests] == [("erase", "received", None)]
    assert _lists_naming_her() >= 1
    assert len(list(MessageRecord.scan())) == 12

    completed(client, api, type="erase", email=PERSON)
    assert (_lists_naming_her(), list(MessageRecord.scan())) == (0, [])


def test_p18_erasure_reads_her_records_and_markers_once(client, api, account):
    """Her message records (a Query per keyed hash) and tracking markers (a Query per campaign
    and email) are read once per erasure, however many erasers need them: receipts and purge
    lists are found through them, and both tables lose them. Decoding a thousand records three
    times was most of an erasure's CPU within the API's 29 s."""
    from tests.support.campaigns import create_campaign

    account_id = account["account_id"]
    list_id = new_list(client, api, "News", double_opt_in=False)
    add(client, api, list_id, phone=PHONE_RAW)  # her entry: two keyed hashes, her email's and number's
    _confirms_her_number(list_id)
    create_campaign(client, api, [list_id])
    _her_campaign_mails(account_id, 3)
    with count_aws_calls() as calls:
        outcome = erase_person(account_id, PERSON)
    assert (outcome["removed"]["messages"], outcome["removed"]["message-purge-lists"]) == (3, 3)
    # 13 Queries: her records 2 (one per keyed hash) and her markers 2 (the campaigns, then one per
    # campaign and email), each once; the rest find her entries, counters, keys and exports. Read
    # per eraser, as before, it took 19.
    assert dict(calls.by_operation) == {"dynamodb.Query": 13, "dynamodb.BatchGetItem": 1,
                                        "dynamodb.UpdateItem": 5, "dynamodb.BatchWriteItem": 2}


def test_p18_an_erasure_cut_short_keeps_its_progress_and_made_again_leaves_nothing_of_her(
        client, api, account, monkeypatch):
    """An erasure may be cut short midway (the API's 29 s): the records whose purge lists no
    longer name her are already gone, so the erasure made again has fewer to take off; no list
    ever names her for a record that is gone, and her receipts, found through the records, went
    before any record did. Made again, it leaves nothing of her but the suppression."""
    import threading

    from chalicelib.domain.clock import now
    from chalicelib.domain.message_ids import campaign_message_id
    from chalicelib.store import messages
    from chalicelib.store.feedback import RECEIPT_LIFETIME, receipt_key
    from chalicelib.store.models import FeedbackReceipt, MessagePurgeList

    monkeypatch.setattr(messages, "LISTS_A_STEP", 4)
    account_id, hers = account["account_id"], address_hash(PERSON, hash_key())
    _her_campaign_mails(account_id, 12)
    for n in range(12):  # a complaint counted for each mail
        FeedbackReceipt(receipt_key=receipt_key(campaign_message_id(f"cmp_{n:03}", hers), "complaints", hers),
                        expires_at=now() + RECEIPT_LIFETIME).save()
    rewrite, lock, updates, cut = messages._rewrite, threading.Lock(), [], threading.Event()

    def cut_short_at_the_sixth(list_key: str, actions: list) -> bool:
        with lock:
            updates.append(list_key)
            if len(updates) == 6 and not cut.is_set():
                cut.set()
                raise TimeoutError("the request's time ran out")
        return rewrite(list_key, actions)

    monkeypatch.setattr(messages, "_rewrite", cut_short_at_the_sixth)
    with pytest.raises(TimeoutError):
        erase_person(account_id, PERSON)
    left = {record.purge_list for record in MessageRecord.scan()}
    naming_her = {messages.purge_list_key(purge_list) for purge_list in MessagePurgeList.scan()
                  if hers in messages.listed(purge_list).values()}
    assert len(left) == 8, "the first step's 4 lists are off, and their records gone"
    assert naming_her <= left, "a list still names her only for a record still held"
    assert FeedbackReceipt.count() == 0, "her receipts went before any record"

    updates.clear()
    completed(client, api, type="erase", email=PERSON)
    assert len(updates) == 8, "made again, it updates only the lists of the records left"
    assert (_lists_naming_her(), list(MessageRecord.scan()), FeedbackReceipt.count()) == (0, [], 0)
    assert _holding(_keyed_forms(account_id)) == {"suppressions": ["address hash"],
                                                   "privacy-requests": ["address hash"]}
    assert found_in_tables(every_table(), contact_forms([PERSON])) == {}


def test_p18_p12_an_erasure_cut_short_has_already_suppressed_her_email_and_her_number(
        client, api, account, monkeypatch):
    """Her suppression is written before anything of hers is deleted: an erasure cut short after
    her entries went (the only place her number was found by, when she asked by email) still
    keeps both her address and her number from being mailed or re-added until it is made again,
    and flags them erased, so her own signup cannot lift them meanwhile."""
    from chalicelib.store import person_data

    account_id = account["account_id"]
    list_id = new_list(client, api, "News", double_opt_in=False)
    add(client, api, list_id, phone=PHONE_RAW)
    _confirms_her_number(list_id)
    real_delete_all = person_data.delete_all

    def records_undeletable(model: type, items: Any) -> int:
        if model is MessageRecord:
            raise RuntimeError("the Lambda's time ran out")
        return real_delete_all(model, items)

    monkeypatch.setattr(person_data, "delete_all", records_undeletable)
    assert privacy(client, api, type="erase", email=PERSON).status_code == 500
    assert stored(list_id, PERSON) is None, "cut after her entries went"
    for hashed in (address_hash(PERSON, hash_key()), phone_hash(PHONE, hash_key())):
        suppression = Suppression.get(account_id, hashed)
        assert suppression.erased and SuppressionReason.ERASED.value in suppression.reasons
