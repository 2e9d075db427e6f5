"""`/v1/privacy/requests`: every request type is recorded with its due date and answered at once
(P16, P17, P19, P20)."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
import time_machine

from chalicelib.cli import create_account_with_key
from chalicelib.domain.privacy import RequestType, Subject, SubjectKind
from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason
from chalicelib.store.models import Subscriber
from chalicelib.store.privacy_requests import create_request
from chalicelib.store.suppressions import is_suppressed, suppress
from tests.support.api import bearer
from tests.support.lists import new_list
from tests.support.privacy import PERSON, PERSON_RAW, PHONE, PHONE_RAW, add, completed, export_of, privacy
from tests.support.queues import deliver, take


@pytest.fixture
def api(account, verified_sender) -> dict[str, str]:
    return bearer(account["api_key"])


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_p19_request_is_recorded_with_a_30_day_due_date_and_completed_at_once(client, api):
    view = completed(client, api, type="exists", email=PERSON)
    assert _time(view["due_at"]) - _time(view["received_at"]) == timedelta(days=30)
    assert view["completed_at"] and not view["overdue"] and not view["overdue_soon"]
    again = json.loads(client.http.get(f"/v1/privacy/requests/{view['request_id']}", headers=api).body)
    assert again == view
    assert PERSON not in json.dumps(view), "the request record holds only a keyed hash"


def test_p20_exists_answers_yes_for_a_person_on_a_list_and_no_otherwise(client, api):
    add(client, api, new_list(client, api, "News", double_opt_in=False), phone=PHONE_RAW)
    assert completed(client, api, type="exists", email=PERSON_RAW)["outcome"] == {"held": True}
    assert completed(client, api, type="exists", phone=PHONE)["outcome"] == {"held": True}
    assert completed(client, api, type="exists", email="nobody@example.com")["outcome"] == {"held": False}


def test_p16_access_export_holds_every_table_with_the_consent_text_agreed_to(client, api, account):
    first = new_list(client, api, "News", double_opt_in=False, attributes=("city",),
                     consent="Old consent text v1")
    add(client, api, first, phone=PHONE_RAW, name="Ann", attributes={"city": "Iasi"})
    # The consent text changes after Ann agreed: her proof must still show the text she saw.
    client.http.patch(f"/v1/lists/{first}", headers=api, body=json.dumps({"consent_text": "New text v2"}))
    second = new_list(client, api, "Offers")
    add(client, api, second, proof=False)
    deliver(take("outbox"))  # the double opt-in mail: a message record for Ann
    suppress(PLATFORM_SCOPE, PERSON, SuppressionReason.PLATFORM_OPT_OUT)

    view = completed(client, api, type="access", email=PERSON)
    assert view["outcome"]["sections"] == {"subscriptions": 2, "messages": 1, "tracking": 0,
                                           "suppressions": 1}
    response = export_of(client, api, view["request_id"])
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    export = json.loads(response.body)
    by_list = {entry["list_id"]: entry for entry in export["subscriptions"]}
    news = by_list[first]
    assert news["email"] == PERSON and news["phone"] == PHONE and news["attributes"] == {"city": "Iasi"}
    assert news["consent"]["consent_text_version"] == 1
    assert news["consent"]["consent_text"] == "Old consent text v1"
    assert news["consent"]["ip"] == "203.0.113.7" and news["status"] == "confirmed"
    assert by_list[second]["status"] == "pending"
    [message] = export["messages"]
    assert message["kind"] == "confirmation" and message["list_id"] == second
    [suppression] = export["suppressions"]
    assert (suppression["identifier"], suppression["scope"], suppression["reason"]) == (
        "email", "platform", "platform_opt_out")


def test_p16_portability_offers_a_csv_of_list_memberships(client, api):
    for name in ("News", "Offers"):
        list_id = new_list(client, api, name, double_opt_in=False, attributes=("city",))
        add(client, api, list_id, phone=PHONE_RAW, name="=HYPERLINK(\"http://evil.example\")",
            attributes={"city": "Cluj"})
    view = completed(client, api, type="portability", email=PERSON)
    response = export_of(client, api, view["request_id"], "csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.body.decode() if isinstance(response.body, bytes)
                                           else response.body)))
    assert sorted(row["list_name"] for row in rows) == ["News", "Offers"]
    assert {row["phone"] for row in rows} == {PHONE}, "a phone number stays machine-readable"
    assert {row["attributes.city"] for row in rows} == {"Cluj"}
    assert all(row["name"].startswith("'=") for row in rows), "a formula is not run by a spreadsheet"
    assert export_of(client, api, view["request_id"], "xml").status_code == 400


def test_p16_exports_are_audited_and_gone_after_7_days(client, api, account):
    from chalicelib.store.audit import entries

    add(client, api, new_list(client, api, "News", double_opt_in=False))
    view = completed(client, api, type="access", email=PERSON)
    assert export_of(client, api, view["request_id"]).status_code == 200
    downloads = [e for e in entries(account["account_id"]) if e.action == "privacy.export_downloaded"]
    assert [e.target for e in downloads] == [view["request_id"]]
    with time_machine.travel(_time(view["received_at"]) + timedelta(days=7, minutes=1)):
        gone = export_of(client, api, view["request_id"])
    assert gone.status_code == 410
    assert json.loads(gone.body)["error"]["code"] == "export_expired"
    exists = completed(client, api, type="exists", email=PERSON)
    assert export_of(client, api, exists["request_id"]).status_code == 409, "no export for exists"


def test_p17_rectify_applies_the_changes_on_every_list(client, api):
    with_city = [new_list(client, api, name, double_opt_in=False, attributes=("city",))
                 for name in ("News", "Offers")]
    without = new_list(client, api, "Alerts", double_opt_in=False)
    for list_id in with_city:
        add(client, api, list_id, name="Ann", attributes={"city": "Iasi"})
    add(client, api, without, name="Ann")
    view = completed(client, api, type="rectify", email=PERSON,
                     changes={"name": "Ann Person", "phone": PHONE_RAW, "attributes": {"city": "Cluj"}})
    assert view["outcome"] == {"entries_updated": 3, "fields": ["attributes.city", "name", "phone"]}
    for list_id in [*with_city, without]:
        entry = Subscriber.get(list_id, PERSON)
        assert (entry.name, entry.phone) == ("Ann Person", PHONE)
        expected = {"city": "Cluj"} if list_id != without else {}
        assert entry.attributes.as_dict() == expected


def test_p17_restrict_keeps_the_data_and_flags_every_entry(client, api):
    lists = [new_list(client, api, name, double_opt_in=False) for name in ("News", "Offers")]
    for list_id in lists:
        add(client, api, list_id, name="Ann")
    view = completed(client, api, type="restrict", email=PERSON)
    assert view["outcome"] == {"entries_restricted": 2}
    for list_id in lists:
        entry = Subscriber.get(list_id, PERSON)
        assert entry.restricted is True and entry.status == "confirmed" and entry.name == "Ann"


def _suppression_of(account_id: str) -> tuple[str, set[str]] | None:
    """The reason and reasons of Ann's account-wide suppression, None when there is none."""
    from chalicelib.config import hash_key
    from chalicelib.domain.suppression import address_hash
    from chalicelib.store.models import Suppression

    found = list(Suppression.batch_get([(account_id, address_hash(PERSON, hash_key()))]))
    return (found[0].reason, set(found[0].reasons or ())) if found else None


def _receipt(client, api) -> int:
    message = {"to": PERSON_RAW, "subject": "Your receipt", "text": "Thanks for your order."}
    return client.http.post("/v1/messages", headers=api, body=json.dumps(message)).status_code


def test_p17_unrestrict_lets_campaigns_and_transactional_mail_reach_the_person_again(client, api, account):
    """A restriction is often temporary (Art. 18: while the accuracy of data is contested):
    lifted, her confirmed entries get campaigns again and transactional mail is accepted again,
    and the lifting is recorded and audited like every request (P19, P27)."""
    from chalicelib.store.audit import entries
    from tests.support.campaigns import create_campaign
    from tests.support.mail import recipients_of_sent
    from tests.support.queues import run_queues

    lists = [new_list(client, api, name, double_opt_in=False) for name in ("News", "Offers")]
    for list_id in lists:
        add(client, api, list_id)
    restricted = completed(client, api, type="restrict", email=PERSON)
    assert _receipt(client, api) == 409
    view = completed(client, api, type="unrestrict", email=PERSON_RAW)
    assert view["outcome"] == {"entries_unrestricted": 2, "identifiers_unrestricted": 1}
    assert [Subscriber.get(list_id, PERSON).restricted for list_id in lists] == [False, False]
    assert _suppression_of(account["account_id"]) is None, "restricted was its only reason"

    assert _receipt(client, api) == 202
    campaign = create_campaign(client, api, lists[:1])
    sent = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=api, body="")
    assert sent.status_code == 202, sent.body
    assert run_queues(client) == []
    assert recipients_of_sent() == [PERSON, PERSON], "the receipt and the campaign"

    listed = json.loads(client.http.get("/v1/privacy/requests", headers=api).body)["requests"]
    assert [(r["type"], r["status"]) for r in listed] == [("unrestrict", "completed"),
                                                          ("restrict", "completed")]
    audited = [(e.action, e.target) for e in entries(account["account_id"])
               if e.action.startswith("privacy.")]
    assert ("privacy.unrestrict", view["request_id"]) in audited
    assert ("privacy.restrict", restricted["request_id"]) in audited
    assert PERSON not in json.dumps([*audited, listed])


@pytest.mark.parametrize("first", ["restrict", "object"])
def test_p17_p12_unrestrict_keeps_an_unsubscribed_person_suppressed(client, api, account, first):
    """Restricted and unsubscribed (in either order): the lifting takes only `restricted` off
    her suppression; she stays suppressed as unsubscribed, so no list takes her back (P12)."""
    lists = [new_list(client, api, name, double_opt_in=False) for name in ("News", "Offers")]
    add(client, api, lists[0])
    completed(client, api, type=first, email=PERSON)
    completed(client, api, type="object" if first == "restrict" else "restrict", email=PERSON)
    assert _suppression_of(account["account_id"]) == (
        "restricted" if first == "restrict" else "unsubscribed", {"restricted", "unsubscribed"})

    view = completed(client, api, type="unrestrict", email=PERSON)
    assert view["outcome"] == {"entries_unrestricted": 1, "identifiers_unrestricted": 1}
    assert _suppression_of(account["account_id"]) == ("unsubscribed", {"unsubscribed"})
    assert is_suppressed(account["account_id"], PERSON)
    entry = Subscriber.get(lists[0], PERSON)
    assert (entry.status, entry.restricted) == ("unsubscribed", False)
    readd = client.http.post(f"/v1/lists/{lists[1]}/subscribers", headers=api,
                             body=json.dumps({"email": PERSON}))
    assert readd.status_code == 409, readd.body


def test_p17_p28_another_tenants_key_cannot_lift_a_restriction(client, api, account):
    """The other tenant's request is about its own account only: it finds nothing restricted
    there and changes nothing here."""
    list_id = new_list(client, api, "News", double_opt_in=False)
    add(client, api, list_id)
    completed(client, api, type="restrict", email=PERSON)
    other = bearer(create_account_with_key("Other Org", {})["api_key"])

    view = completed(client, other, type="unrestrict", email=PERSON)
    assert view["outcome"] == {"entries_unrestricted": 0, "identifiers_unrestricted": 0}
    assert Subscriber.get(list_id, PERSON).restricted is True
    assert _suppression_of(account["account_id"]) == ("restricted", {"restricted"})
    assert _receipt(client, api) == 409
    assert [r["type"] for r in json.loads(client.http.get("/v1/privacy/requests", headers=api).body)[
        "requests"]] == ["restrict"]


def test_p17_unrestrict_with_nothing_restricted_is_a_completed_request_with_counts_of_0(client, api, account):
    """As for the other types (a restrict or rectify finding no entry), a lifting with nothing to
    lift is recorded and answered 201 with counts of 0: not an error. An unsubscribed person's
    suppression is left as it was."""
    list_id = new_list(client, api, "News", double_opt_in=False)
    add(client, api, list_id)
    nothing = {"entries_unrestricted": 0, "identifiers_unrestricted": 0}
    assert completed(client, api, type="unrestrict", email=PERSON)["outcome"] == nothing
    assert completed(client, api, type="unrestrict", email="nobody@example.com")["outcome"] == nothing
    completed(client, api, type="object", email=PERSON)
    assert completed(client, api, type="unrestrict", email=PERSON)["outcome"] == nothing
    assert _suppression_of(account["account_id"]) == ("unsubscribed", {"unsubscribed"})
    assert Subscriber.get(list_id, PERSON).status == "unsubscribed"


def test_p17_lifting_a_restriction_keeps_every_other_reason():
    from chalicelib.domain.suppression import reason_after_lifting

    restricted = SuppressionReason.RESTRICTED
    assert reason_after_lifting("restricted", {"restricted"}, restricted) is None
    both = {"restricted", "complained", "bounced"}
    assert reason_after_lifting("restricted", both, restricted) == "bounced"
    assert reason_after_lifting("erased", {"erased", "restricted"}, restricted) == "erased"
    assert reason_after_lifting("unsubscribed", both | {"unsubscribed"}, restricted) == "unsubscribed"
    # An old suppression whose first reason predates `reasons`.
    assert reason_after_lifting("unsubscribed", {"restricted"}, restricted) == "unsubscribed"


def test_p17_object_unsubscribes_from_every_list_and_suppresses(client, api, account):
    lists = [new_list(client, api, name, double_opt_in=False) for name in ("News", "Offers")]
    for list_id in lists:
        add(client, api, list_id)
    view = completed(client, api, type="object", email=PERSON)
    assert view["outcome"]["entries_unsubscribed"] == 2
    assert {Subscriber.get(list_id, PERSON).status for list_id in lists} == {"unsubscribed"}
    assert is_suppressed(account["account_id"], PERSON)
    readd = client.http.post(f"/v1/lists/{lists[0]}/subscribers", headers=api,
                             body=json.dumps({"email": PERSON}))
    assert readd.status_code == 409


def test_p19_listing_flags_overdue_soon_and_overdue_and_pages(client, api, account):
    subject = Subject(SubjectKind.EMAIL, PERSON)
    now = datetime.now().astimezone()
    with time_machine.travel(now - timedelta(days=26)):
        soon = create_request(account["account_id"], RequestType.ACCESS, subject, "key")
    with time_machine.travel(now - timedelta(days=31)):
        late = create_request(account["account_id"], RequestType.ERASE, subject, "key")
    done = completed(client, api, type="exists", email=PERSON)

    seen, cursor = [], None
    while True:
        query = f"?limit=1&cursor={cursor}" if cursor else "?limit=1"
        page = json.loads(client.http.get(f"/v1/privacy/requests{query}", headers=api).body)
        seen.extend(page["requests"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    flags = {r["request_id"]: (r["overdue_soon"], r["overdue"]) for r in seen}
    assert [r["request_id"] for r in seen] == [done["request_id"], soon.request_id, late.request_id]
    assert flags == {done["request_id"]: (False, False), soon.request_id: (True, False),
                     late.request_id: (False, True)}


def test_p28_another_tenants_request_is_not_found(client, api):
    add(client, api, new_list(client, api, "News", double_opt_in=False))
    view = completed(client, api, type="access", email=PERSON)
    other = bearer(create_account_with_key("Other Org", {})["api_key"])
    assert client.http.get(f"/v1/privacy/requests/{view['request_id']}", headers=other).status_code == 404
    assert export_of(client, other, view["request_id"]).status_code == 404
    listed = json.loads(client.http.get("/v1/privacy/requests", headers=other).body)
    assert listed["requests"] == []
    assert completed(client, other, type="exists", email=PERSON)["outcome"] == {"held": False}


@pytest.mark.parametrize(("body", "field"), [
    ({"type": "forget", "email": PERSON}, "type"),
    ({"email": PERSON}, "type"),
    ({"type": "access"}, "email"),
    ({"type": "access", "email": PERSON, "phone": PHONE}, "phone"),
    ({"type": "access", "phone": "12345"}, "phone"),
    ({"type": "access", "email": "not-an-address"}, "email"),
    ({"type": "rectify", "email": PERSON}, "changes"),
    ({"type": "access", "email": PERSON, "changes": {"name": "X"}}, "changes"),
    ({"type": "access", "email": PERSON, "nickname": "Annie"}, "nickname"),
    ({"type": "unrestrict"}, "email"),
    ({"type": "unrestrict", "email": PERSON, "changes": {"name": "X"}}, "changes"),
    ({"type": "rectify", "email": PERSON, "changes": {"email": "x@example.com"}}, "changes.email"),
    ({"type": "rectify", "email": PERSON, "changes": {"attributes": {"shoe": "42"}}},
     "changes.attributes.shoe"),
    ({"type": "rectify", "email": PERSON, "changes": {"phone": "12"}}, "changes.phone"),
])
def test_bad_requests_are_refused_naming_the_field_and_record_nothing(client, api, body, field):
    add(client, api, new_list(client, api, "News", attributes=("city",), double_opt_in=False))
    response = privacy(client, api, **body)
    assert response.status_code == 400, response.body
    assert json.loads(response.body)["error"]["field"] == field
    assert json.loads(client.http.get("/v1/privacy/requests", headers=api).body)["requests"] == []


def test_p16_export_holds_the_ip_and_user_agent_of_the_phone_confirmation(client, api, account):
    from chalicelib.services.privacy import export_person
    from chalicelib.store.subscribers import confirm_phone

    list_id = new_list(client, api, "News", double_opt_in=False)
    add(client, api, list_id, phone=PHONE_RAW)
    confirm_phone(Subscriber.get(list_id, PERSON), "198.51.100.23", "PhoneConfirmUA/9")
    (row,) = export_person(account["account_id"], PERSON)["subscriptions"]
    assert (row["phone_confirm_ip"], row["phone_confirm_user_agent"]) == ("198.51.100.23", "PhoneConfirmUA/9")
    assert row["phone_confirmed_at"] is not None


def _message_sent_on_day_0(account_id: str) -> None:
    from chalicelib.config import hash_key
    from chalicelib.domain.suppression import address_hash
    from tests.support.retention import on_day, sent_message

    with on_day(0):
        sent_message("msg_1", account_id, address_hash(PERSON, hash_key()))


def test_p16_p20_a_message_record_still_held_on_day_29_is_exported(client, api, account):
    """Its TTL (day 28) is set two days early: until TTL or the day-30 purge deletes it, it is held."""
    from chalicelib.services.privacy import export_person
    from chalicelib.services.retention import run_purges
    from tests.support.retention import on_day

    _message_sent_on_day_0(account["account_id"])
    with on_day(29):
        held = export_person(account["account_id"], PERSON)["messages"]
        assert [m["message_id"] for m in held] == ["msg_1"]
    with on_day(30.01):
        run_purges()
        assert export_person(account["account_id"], PERSON)["messages"] == [], "the purge deleted it"


def _export_goes_at_its_deadline(client, api, made_on: float, deadline: float) -> None:
    """An access export made on day `made_on` can be downloaded until day `deadline` and is gone
    (deleted by the daily purge, not only unreadable) just after it."""
    from chalicelib.services.retention import run_purges
    from chalicelib.store.models import PrivacyExport
    from tests.support.retention import day, on_day

    with on_day(made_on):
        view = completed(client, api, type="access", email=PERSON)
    assert _time(view["outcome"]["export_expires_at"]) == day(deadline)
    with on_day(deadline - 0.001):
        assert export_of(client, api, view["request_id"]).status_code == 200
    with on_day(deadline + 0.001):
        assert run_purges().counts["privacy_exports"] == 1
        assert export_of(client, api, view["request_id"]).status_code == 410
    assert list(PrivacyExport.scan()) == []


def test_p21_an_export_made_on_a_message_records_day_29_goes_on_its_day_30(client, api, account):
    """The export copies the message record: kept its 7 days, the copy would outlive the record's
    30 days (P21) by six days."""
    _message_sent_on_day_0(account["account_id"])
    _export_goes_at_its_deadline(client, api, made_on=29, deadline=30)


def test_p29_an_export_of_an_ended_entry_goes_when_the_entrys_data_does(client, api):
    """Ann objected on day 0: her ended entry's data goes on day 30 (P29), and so must an export
    of it made on day 25, not on day 32."""
    from tests.support.retention import on_day

    with on_day(0):
        add(client, api, new_list(client, api, "News", double_opt_in=False))
        completed(client, api, type="object", email=PERSON)
    _export_goes_at_its_deadline(client, api, made_on=25, deadline=30)


def test_p16_an_export_of_data_with_no_nearer_deadline_is_kept_its_7_days(client, api):
    from tests.support.retention import on_day

    with on_day(0):
        add(client, api, new_list(client, api, "News", double_opt_in=False))
    _export_goes_at_its_deadline(client, api, made_on=1, deadline=8)


def test_p01_p21_p29_an_exports_expiry_is_the_earliest_deadline_still_ahead_of_what_it_copies():
    from chalicelib.domain.privacy import export_expiry
    from tests.support.retention import day

    def iso(n: float) -> str:
        return day(n).isoformat()

    sections = {"subscriptions": [{"expires_at": None}, {"expires_at": iso(12)}],
                "messages": [{"sent_at": iso(-25), "expires_at": iso(3)}],
                "tracking": [{"expires_at": iso(0)}]}
    # The tracking history of a mail sent on day -28 goes on day 2 (its TTL, day 0, is two days early).
    assert export_expiry(day(1), sections) == day(2)
    assert export_expiry(day(1), {**sections, "tracking": []}) == day(5), "the message's day 30"
    assert export_expiry(day(1), {"subscriptions": sections["subscriptions"]}) == day(8), "its 7 days"
    # Already past (the purge has yet to run): downloadable still, for its 7 days at most.
    assert export_expiry(day(6), {**sections, "tracking": []}) == day(12)


def test_p20_exists_answers_held_for_a_message_record_on_day_29(client, api, account):
    from chalicelib.services.retention import run_purges
    from tests.support.retention import on_day

    _message_sent_on_day_0(account["account_id"])
    with on_day(29):
        assert completed(client, api, type="exists", email=PERSON)["outcome"] == {"held": True}
    with on_day(30.01):
        run_purges()
        assert completed(client, api, type="exists", email=PERSON)["outcome"] == {"held": False}


def test_p17_a_confirmation_mail_queued_before_the_restriction_is_not_sent(client, api):
    """Kept but not mailed: a confirmation still on the outbox queue when the person's processing
    is restricted stays unsent; Bob's, queued beside it, goes."""
    from tests.support.mail import recipients_of_sent

    list_id = new_list(client, api, "News")
    for address in (PERSON, "bob@example.com"):
        add(client, api, list_id, proof=False, email=address)
    queued = take("outbox")
    assert len(queued) == 2
    completed(client, api, type="restrict", email=PERSON)

    deliver(queued)
    assert recipients_of_sent() == ["bob@example.com"]
    assert Subscriber.get(list_id, PERSON).restricted is True


@pytest.mark.parametrize("how", ["rectify", "patch"])
def test_p17_p18_a_number_replaced_is_no_longer_held_in_its_confirmation(client, api, account, how):
    """Ann confirmed +40712345678 by code, then corrects her number. The old number and its
    confirmation (time, IP, user agent) must go with it: kept in the entry's phone confirmation,
    they were held where neither her export (P16), a request by that number (P20) nor its
    erasure (P18) could see them."""
    from tests.support.lists import subscribe
    from tests.support.privacy_scan import contact_forms, found_in_tables, scan_every_table

    list_id = new_list(client, api, "News", double_opt_in=False)
    subscribe(account["account_id"], list_id, PERSON, phone=PHONE, ip="198.51.100.9")
    new_number = "+40722000111"
    if how == "rectify":
        completed(client, api, type="rectify", email=PERSON, changes={"phone": new_number})
    else:
        response = client.http.patch(f"/v1/lists/{list_id}/subscribers/{PERSON}", headers=api,
                                     body=json.dumps({"phone": new_number}))
        assert response.status_code == 200, response.body

    entry = Subscriber.get(list_id, PERSON)
    assert entry.phone == new_number and entry.phone_consent is None, "confirm the new number anew"
    assert found_in_tables(scan_every_table(), contact_forms(phones=[PHONE])) == {}
    assert completed(client, api, type="exists", phone=PHONE)["outcome"] == {"held": False}


def test_p17_a_restricted_signup_gets_no_mail_from_a_resend_or_a_new_signup_and_stays_restricted(
        client, api):
    """Ann's signup waits for confirmation when her processing is restricted: kept but not
    mailed. Neither the resend form, nor a new signup of her address on the form or through the
    API (anyone can type it), may mail her or replace her restricted entry with one that is not."""
    from urllib.parse import urlencode

    from tests.support.api import FORM
    from tests.support.queues import apply_queued_signups
    from tests.support.retention import on_day
    from tests.support.signups import form_signup

    with on_day(0):
        list_id = new_list(client, api, "News")
        form_signup(client, list_id, email=PERSON)
        assert len(take("outbox")) == 1
        completed(client, api, type="restrict", email=PERSON)
    # Hours apart: the per-address limit on confirmation mails is not what holds them back.
    with on_day(0.1):
        client.http.post("/c/resend", headers=FORM, body=urlencode({"list_id": list_id, "email": PERSON}))
        apply_queued_signups()
        assert take("outbox") == [], "the resend mailed a restricted person"
    with on_day(0.2):
        form_signup(client, list_id, email=PERSON)
        assert take("outbox") == [], "a new signup mailed a restricted person"
        added = privacy_add(client, api, list_id)
        assert added.status_code == 409 and json.loads(added.body)["error"]["field"] == "email"
        assert take("outbox") == []
        assert Subscriber.get(list_id, PERSON).restricted is True


def privacy_add(client, api, list_id: str):
    return client.http.post(f"/v1/lists/{list_id}/subscribers", headers=api,
                            body=json.dumps({"email": PERSON}))


def test_p17_an_unsubscribed_restricted_entry_takes_no_signup_back_and_mails_nothing(client, api):
    """A signup back to the entry a restricted person unsubscribed would mail its confirmation."""
    from chalicelib.domain.subscriptions import Status
    from chalicelib.store.subscribers import ending_actions
    from tests.support.signups import form_signup

    list_id = new_list(client, api, "News", double_opt_in=False)
    add(client, api, list_id)
    completed(client, api, type="restrict", email=PERSON)
    Subscriber(list_id=list_id, address=PERSON).update(
        actions=ending_actions(list_id, PERSON, Status.UNSUBSCRIBED))
    form_signup(client, list_id, email=PERSON)
    assert take("outbox") == []
    entry = Subscriber.get(list_id, PERSON)
    assert entry.restricted is True and entry.returning is None


def test_p17_a_restricted_person_is_not_put_on_another_list_by_the_api_or_an_import(client, api):
    """The restriction is the person's, not one entry's: added afterwards to another list, by the
    API or an import, she would be unrestricted there and get its campaigns. Neither adds her,
    and no mail goes to her."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.workers.imports import import_record

    news, offers, events = (new_list(client, api, name, double_opt_in=False)
                            for name in ("News", "Offers", "Events"))
    add(client, api, news)
    completed(client, api, type="restrict", email=PERSON)
    added = client.http.post(f"/v1/lists/{offers}/subscribers", headers=api,
                             body=json.dumps({"email": PERSON_RAW}))
    assert added.status_code == 409 and json.loads(added.body)["error"]["field"] == "email"
    assert "restricted" in json.loads(added.body)["error"]["message"]
    imported = client.http.post(f"/v1/lists/{events}/imports", headers={**api, "Content-Type": "text/csv"},
                                body=f"email\n{PERSON}\nbob@example.com\n".encode())
    assert imported.status_code == 202, imported.body
    for record in take("imports"):
        import_record(SQSRecord(record))
    assert Subscriber.count(offers) == 0
    assert [entry.address for entry in Subscriber.query(events)] == ["bob@example.com"]
    assert {json.loads(job["body"])["email"]["recipient"] for job in take("outbox")} == {"bob@example.com"}


def test_p17_transactional_and_test_mail_to_a_restricted_person_are_refused(client, api):
    """Kept but not mailed holds for every mail of the account: `POST /v1/messages` to her is a 409
    naming `to`, and one queued before the restriction is not sent, nor counted as sent."""
    from chalicelib.store.models import AccountHealthDay, MessageRecord
    from tests.support.campaigns import create_campaign
    from tests.support.mail import sent_raw
    from tests.support.queues import run_queues

    list_id = new_list(client, api, "News", double_opt_in=False)
    add(client, api, list_id)
    message = {"to": PERSON_RAW, "subject": "Your receipt", "text": "Thanks for your order."}
    queued = client.http.post("/v1/messages", headers=api, body=json.dumps(message))
    assert queued.status_code == 202, queued.body
    completed(client, api, type="restrict", email=PERSON)

    refused = client.http.post("/v1/messages", headers=api, body=json.dumps(message))
    assert refused.status_code == 409 and json.loads(refused.body)["error"]["field"] == "to"
    assert "restricted" in json.loads(refused.body)["error"]["message"]
    campaign = create_campaign(client, api, [list_id])
    tested = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/test", headers=api,
                              body=json.dumps({"addresses": [PERSON]}))
    assert tested.status_code == 409 and json.loads(tested.body)["error"]["field"] == "addresses"
    assert run_queues(client, ("outbox",)) == []
    assert sent_raw() == []
    assert list(MessageRecord.scan()) == [], "recorded as sent"
    assert sum(day.sent for day in AccountHealthDay.scan()) == 0, "counted as sent"


def test_p20_exists_answers_held_while_an_export_of_the_person_is_still_stored(client, api):
    """Ann's export (a copy of her data, kept 7 days to be downloaded) is still stored after the
    account deleted her entry: data about her is held, so the answer is yes until it goes."""
    list_id = new_list(client, api, "News", double_opt_in=False)
    add(client, api, list_id, name="Ann")
    completed(client, api, type="access", email=PERSON)
    assert client.http.delete(f"/v1/lists/{list_id}/subscribers/{PERSON}", headers=api).status_code == 204
    assert completed(client, api, type="exists", email=PERSON)["outcome"] == {"held": True}
    completed(client, api, type="erase", email=PERSON)
    assert completed(client, api, type="exists", email=PERSON)["outcome"] == {"held": False}


def test_p18_p20_an_export_made_just_before_the_erasure_goes_with_it(client, api, monkeypatch):
    """Ann's access request stores an export (a copy of her data); her erasure comes right after.
    An eventually consistent read of the account's exports may not see so recent a write yet:
    the copy survived the erasure for its 7 days, and 'exists' answered from the same read. The
    exports are found strongly consistent."""
    from botocore.client import BaseClient

    from chalicelib.store.models import PrivacyExport

    list_id = new_list(client, api, "News", double_opt_in=False)
    add(client, api, list_id, name="Ann")
    original, exports = BaseClient._make_api_call, PrivacyExport.Meta.table_name

    def just_written_unseen(self, operation, params):  # what a replica a write has not reached says
        if operation == "Query" and params.get("TableName") == exports and not params.get("ConsistentRead"):
            return {"Items": [], "Count": 0, "ScannedCount": 0}
        return original(self, operation, params)

    completed(client, api, type="access", email=PERSON)
    monkeypatch.setattr(BaseClient, "_make_api_call", just_written_unseen)
    completed(client, api, type="erase", email=PERSON)
    monkeypatch.undo()
    assert list(PrivacyExport.scan()) == [], "her export outlived her erasure"


def test_p16_p18_p20_a_request_by_phone_reaches_the_number_typed_on_a_signup_back(client, api, account):
    """Ann unsubscribed, then signed up again typing a number: until she confirms, it waits in the
    entry's `returning` map. A request by that number must find it there (it is held), show only
    the list and the number (nobody proved the number and the address one person), and erasure
    must take the number off the signup back, leaving the entry and the rest of the signup hers.
    A request by her address sees the signup back as before."""
    from chalicelib.config import hash_key
    from chalicelib.domain.mail_links import LinkClaim
    from chalicelib.domain.privacy import phone_hash
    from chalicelib.domain.suppression import address_hash
    from chalicelib.services.privacy import export_person
    from chalicelib.services.unsubscribe import Scope, unsubscribe
    from chalicelib.store.models import Suppression
    from tests.support.lists import stored, subscribe
    from tests.support.signups import form_signup

    news = new_list(client, api, "News")
    subscribe(account["account_id"], news, PERSON, name="Ann", city="Cluj")
    unsubscribe(LinkClaim(account["account_id"], news, PERSON, None), Scope.LIST)
    assert form_signup(client, news, email=PERSON, phone=PHONE_RAW, name="Ann Again").status_code == 200
    entry = stored(news, PERSON)
    assert (entry.status, entry.phone, entry.returning.phone) == ("unsubscribed", None, PHONE)
    [by_email] = export_person(account["account_id"], PERSON)["subscriptions"]
    assert (by_email["email"], by_email["returning"]["phone"], by_email["returning"]["name"]) == (
        PERSON, PHONE, "Ann Again")

    assert completed(client, api, type="exists", phone=PHONE)["outcome"] == {"held": True}
    access = completed(client, api, type="access", phone=PHONE)
    export = export_of(client, api, access["request_id"]).body.decode()
    assert PERSON not in export and "Ann" not in export and "Cluj" not in export, export
    rows = json.loads(export)["subscriptions"]
    assert rows == [{"list_id": news, "list_name": "News", "phone": None, "phone_confirmed_at": None,
                     "returning": {"phone": PHONE, "waiting": True}}], rows

    completed(client, api, type="erase", phone=PHONE)
    entry = stored(news, PERSON)
    assert entry.returning is not None and entry.returning.phone is None, "the number is still held"
    assert (entry.status, entry.name, entry.returning.name) == ("unsubscribed", "Ann", "Ann Again")
    assert Suppression.get(account["account_id"], phone_hash(PHONE, hash_key())).reason == "erased"
    assert Suppression.get(account["account_id"], address_hash(PERSON, hash_key())).reason == "unsubscribed"
    assert completed(client, api, type="exists", phone=PHONE)["outcome"] == {"held": False}
    assert completed(client, api, type="exists", email=PERSON)["outcome"] == {"held": True}


def test_p18_a_number_typed_on_a_signup_back_proves_nothing_by_the_entrys_own_confirmed_number(
        client, api, account):
    """Ann confirmed her own number on News, unsubscribed, and a signup back to her entry was posted
    with another number. That entry's confirmation is of her number, not this one: a request by
    the typed number reaches only it, never her address, her entry or her own number."""
    from chalicelib.config import hash_key
    from chalicelib.domain.mail_links import LinkClaim
    from chalicelib.domain.suppression import address_hash
    from chalicelib.services.unsubscribe import Scope, unsubscribe
    from chalicelib.store.models import Suppression
    from tests.support.lists import stored, subscribe
    from tests.support.signups import form_signup

    hers, typed = "+40722000111", PHONE
    news = new_list(client, api, "News")
    subscribe(account["account_id"], news, PERSON, phone=hers)
    unsubscribe(LinkClaim(account["account_id"], news, PERSON, None), Scope.LIST)
    assert form_signup(client, news, email=PERSON, phone=PHONE_RAW).status_code == 200
    assert (stored(news, PERSON).phone, stored(news, PERSON).returning.phone) == (hers, typed)

    access = completed(client, api, type="access", phone=typed)
    export = export_of(client, api, access["request_id"]).body.decode()
    assert PERSON not in export and hers not in export, export
    completed(client, api, type="erase", phone=typed)
    entry = stored(news, PERSON)
    assert (entry.status, entry.phone, entry.returning.phone) == ("unsubscribed", hers, None)
    assert entry.phone_consent is not None, "her own number's confirmation stays"
    assert Suppression.get(account["account_id"], address_hash(PERSON, hash_key())).reason == "unsubscribed"
