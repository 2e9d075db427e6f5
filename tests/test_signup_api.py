"""`/v1/lists/{list_id}/subscribers`: REST signups with consent proof, listing, read, patch, delete."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.cli import create_account_with_key
from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason
from chalicelib.store import audit
from chalicelib.store.models import Subscriber
from chalicelib.store.suppressions import suppress
from tests.support.api import bearer
from tests.support.lists import CONSENT, stored
from tests.support.mail import confirm_path, sent_mails
from tests.support.queues import apply_queued_signups, deliver, take

ANN = "ann@example.com"
PROOF = {"given_at": "2025-01-31T09:30:00Z", "ip": "203.0.113.7", "user_agent": "Firefox/128",
         "form_url": "https://shop.acme.example/join", "consent_text_version": 1}



@pytest.fixture
def api(account) -> dict[str, str]:
    return bearer(account["api_key"])


def _post(client, api, list_id: str, body: dict[str, Any]):
    return client.http.post(f"/v1/lists/{list_id}/subscribers", headers=api, body=json.dumps(body))


def _single_opt_in(client, api, list_id: str) -> None:
    response = client.http.patch(f"/v1/lists/{list_id}", headers=api,
                                 body=json.dumps({"double_opt_in": False}))
    assert response.status_code == 200


def test_p01_api_signup_is_double_opt_in_by_default_even_with_proof(client, api, news_list):
    response = _post(client, api, news_list["list_id"], {"email": "Ann@Example.com", "consent": PROOF})
    assert response.status_code == 201
    view = json.loads(response.body)
    assert view["status"] == "pending"
    assert view["email"] == ANN
    assert view["consent"]["source"] == "api"
    records = take("outbox")
    assert len(records) == 1
    deliver(records)
    assert sent_mails()[0]["To"] == ANN
    # The link names the signup the API wrote, proof time and all (P02): it confirms it.
    assert client.http.post(confirm_path(sent_mails()[0])).status_code == 200
    assert stored(news_list["list_id"], ANN).status == "confirmed"


def test_p01_list_without_double_opt_in_still_needs_proof_to_confirm_at_once(client, api, news_list):
    list_id = news_list["list_id"]
    _single_opt_in(client, api, list_id)
    without_proof = _post(client, api, list_id, {"email": "bob@example.com"})
    assert json.loads(without_proof.body)["status"] == "pending"
    assert len(take("outbox")) == 1

    with_proof = _post(client, api, list_id, {"email": ANN, "consent": PROOF})
    assert with_proof.status_code == 201
    view = json.loads(with_proof.body)
    assert view["status"] == "confirmed"
    assert view["expires_at"] is None
    assert view["consent"]["confirmed_at"] is not None
    assert take("outbox") == []  # no confirmation mail for a confirmed entry


def test_p02_consent_proof_is_stored_and_shown_with_the_text_of_its_version(client, api, news_list):
    list_id = news_list["list_id"]
    _post(client, api, list_id, {"email": ANN, "name": "Ann", "attributes": {"city": "Cluj"},
                                 "consent": PROOF})
    client.http.patch(f"/v1/lists/{list_id}", headers=api,
                      body=json.dumps({"consent_text": "A later, different consent text."}))
    view = json.loads(client.http.get(f"/v1/lists/{list_id}/subscribers/{ANN}", headers=api).body)
    assert view["consent"] == {
        "given_at": "2025-01-31T09:30:00+00:00",
        "source": "api",
        "ip": "203.0.113.7",
        "user_agent": "Firefox/128",
        "form_url": "https://shop.acme.example/join",
        "consent_text_version": 1,
        "consent_text": CONSENT,
        "original_source": None,
        "confirmed_at": None,
        "confirm_ip": None,
        "confirm_user_agent": None,
    }
    assert view["name"] == "Ann" and view["attributes"] == {"city": "Cluj"}


def test_p02_hosted_form_proof_is_shown_by_the_api(client, api, news_list):
    list_id = news_list["list_id"]
    client.http.post(f"/f/{list_id}", headers={"Content-Type": "application/x-www-form-urlencoded",
                                               "User-Agent": "Safari/17"},
                     body=f"email={ANN}&consent=yes")
    apply_queued_signups()
    consent = json.loads(client.http.get(f"/v1/lists/{list_id}/subscribers/{ANN}", headers=api).body)[
        "consent"]
    assert consent["source"] == "form" and consent["ip"] == "127.0.0.1"
    assert consent["user_agent"] == "Safari/17" and consent["consent_text"] == CONSENT


@pytest.mark.parametrize("scope", ["account", PLATFORM_SCOPE])
def test_p12_suppressed_address_is_refused_with_409(client, api, account, news_list, scope):
    suppress(account["account_id"] if scope == "account" else scope, ANN, SuppressionReason.UNSUBSCRIBED)
    response = _post(client, api, news_list["list_id"], {"email": "ANN@example.com", "consent": PROOF})
    assert response.status_code == 409
    error = json.loads(response.body)["error"]
    assert error["field"] == "email" and "suppressed" in error["message"]
    assert stored(news_list["list_id"], ANN) is None
    assert take("outbox") == []


def test_p12_unsubscribed_entry_cannot_be_re_added(client, api, news_list):
    list_id = news_list["list_id"]
    _single_opt_in(client, api, list_id)
    _post(client, api, list_id, {"email": ANN, "consent": PROOF})
    Subscriber(list_id=list_id, address=ANN).update(actions=[Subscriber.status.set("unsubscribed")])
    response = _post(client, api, list_id, {"email": ANN, "consent": PROOF})
    assert response.status_code == 409
    assert "unsubscribed" in json.loads(response.body)["error"]["message"]
    assert stored(list_id, ANN).status == "unsubscribed"


def test_already_confirmed_address_is_returned_unchanged_with_200(client, api, news_list):
    list_id = news_list["list_id"]
    _single_opt_in(client, api, list_id)
    first = json.loads(_post(client, api, list_id, {"email": ANN, "name": "Ann", "consent": PROOF}).body)
    again = _post(client, api, list_id, {"email": ANN, "name": "Changed", "consent": PROOF})
    assert again.status_code == 200
    assert json.loads(again.body) == first


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "not-an-address"}, "email"),
    ({}, "email"),
    ({"email": ANN, "phone": "12"}, "phone"),
    ({"email": ANN, "attributes": {"shoe_size": "44"}}, "attributes.shoe_size"),
    ({"email": ANN, "hobby": "x"}, "hobby"),
    ({"email": ANN, "consent": {"ip": "1.2.3.4"}}, "consent.given_at"),
    ({"email": ANN, "consent": {"given_at": "yesterday"}}, "consent.given_at"),
    ({"email": ANN, "consent": {"given_at": "2025-01-31T09:30:00"}}, "consent.given_at"),
    ({"email": ANN, "consent": {"given_at": "2999-01-01T00:00:00Z"}}, "consent.given_at"),
    ({"email": ANN, "consent": {"given_at": "2025-01-31T09:30:00Z", "ip": "999.1.1.1"}}, "consent.ip"),
    ({"email": ANN, "consent": {"given_at": "2025-01-31T09:30:00Z", "consent_text_version": 7}},
     "consent.consent_text_version"),
])
def test_bad_api_input_is_a_400_naming_the_field(client, api, news_list, body, field):
    response = _post(client, api, news_list["list_id"], body)
    assert response.status_code == 400, response.body
    assert json.loads(response.body)["error"]["field"] == field
    assert stored(news_list["list_id"], ANN) is None


def test_listing_filters_by_status_and_pages_with_a_cursor(client, api, news_list):
    list_id = news_list["list_id"]
    for n in range(3):
        _post(client, api, list_id, {"email": f"pending{n}@example.com"})
    _single_opt_in(client, api, list_id)
    for n in range(2):
        _post(client, api, list_id, {"email": f"confirmed{n}@example.com", "consent": PROOF})

    def collect(query: str) -> list[str]:
        emails, cursor = [], None
        while True:
            url = f"/v1/lists/{list_id}/subscribers?{query}&limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = json.loads(client.http.get(url, headers=api).body)
            assert len(page["subscribers"]) <= 2
            emails += [s["email"] for s in page["subscribers"]]
            cursor = page["next_cursor"]
            if not cursor:
                return emails

    assert collect("status=pending") == [f"pending{n}@example.com" for n in range(3)]
    assert collect("status=confirmed") == ["confirmed0@example.com", "confirmed1@example.com"]
    assert len(collect("x=1")) == 5


@pytest.mark.parametrize("listing", ["/v1/lists/{list_id}/subscribers?limit=1",
                                     "/v1/lists/{list_id}/subscribers?status=pending&limit=1",
                                     "/v1/account/export?limit=1", "/v1/account/unsubscribes?limit=1"])
def test_p31_a_listings_cursor_carries_no_address_in_any_readable_form(client, api, news_list, listing):
    """A cursor travels in a URL's query string (proxies, access logs, browser histories): the
    key it resumes after is the last entry's address, which it must not show in any decoding."""
    from chalicelib.domain.subscriptions import Status
    from chalicelib.store.subscribers import ending_actions
    from tests.support.decoding import leaks

    list_id = news_list["list_id"]
    for address in (ANN, "bob@example.com"):
        _post(client, api, list_id, {"email": address})
        if "unsubscribes" in listing:
            Subscriber(list_id=list_id, address=address).update(
                actions=ending_actions(list_id, address, Status.UNSUBSCRIBED))
    page = json.loads(client.http.get(listing.format(list_id=list_id), headers=api).body)
    cursor = page["next_cursor"]
    assert cursor, page
    assert leaks(cursor, (ANN, "bob@example.com", "example.com")) == []
    follow = client.http.get(f"{listing.format(list_id=list_id)}&cursor={cursor}", headers=api)
    assert follow.status_code == 200, follow.body


def test_a_cursor_older_than_a_day_is_400_and_one_signed_before_encryption_still_pages(
        client, api, news_list):
    import time_machine
    from itsdangerous import URLSafeSerializer

    from chalicelib.config import signing_keys

    list_id = news_list["list_id"]
    for address in (ANN, "bob@example.com"):
        _post(client, api, list_id, {"email": address})
    url = f"/v1/lists/{list_id}/subscribers?limit=1"
    cursor = json.loads(client.http.get(url, headers=api).body)["next_cursor"]
    with time_machine.travel(datetime.now(UTC) + timedelta(days=1, minutes=1)):
        expired = client.http.get(f"{url}&cursor={cursor}", headers=api)
    assert expired.status_code == 400 and json.loads(expired.body)["error"]["field"] == "cursor"
    signed = URLSafeSerializer(list(signing_keys()), salt=f"page-cursor:subscribers:{list_id}:None").dumps(
        {"list_id": {"S": list_id}, "address": {"S": ANN}})
    page = json.loads(client.http.get(f"{url}&cursor={signed}", headers=api).body)
    assert [s["email"] for s in page["subscribers"]] == ["bob@example.com"]


@pytest.mark.parametrize("query", ["", "status=confirmed&"])
def test_p02_a_page_of_entries_each_with_a_long_consent_text_fits_one_answer(client, api, account, query):
    # Every entry shows the consent texts its person agreed to (P02). A list of 5,000-letter
    # Russian texts (each 35 KB as JSON in Lambda's JSON) made a page of 100 entries bigger than
    # the 6 MB a Lambda may answer, so the listing was a 502.
    from tests.support.lists import new_list, subscribe

    text = "\u0431" * 5_000
    list_id = new_list(client, api, consent=text, tracking_consent_text=text)
    made = [f"p{n:03}@example.com" for n in range(100)]
    for email in made:
        subscribe(account["account_id"], list_id, email)
    emails, cursor = [], None
    for _ in range(100):
        url = f"/v1/lists/{list_id}/subscribers?{query}limit=100" + (f"&cursor={cursor}" if cursor else "")
        response = client.http.get(url, headers=api)
        assert response.status_code == 200, response.body[:300]
        page = json.loads(response.body)
        assert page["subscribers"] and all(s["consent"]["consent_text"] == text for s in page["subscribers"])
        emails += [s["email"] for s in page["subscribers"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert emails == made


@pytest.mark.parametrize(("query", "field"), [("status=happy", "status"), ("limit=0", "limit"),
                                              ("cursor=forged", "cursor")])
def test_listing_bad_query_is_400(client, api, news_list, query, field):
    response = client.http.get(f"/v1/lists/{news_list['list_id']}/subscribers?{query}", headers=api)
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["field"] == field


def test_a_cursor_from_another_listing_is_refused(client, api, news_list):
    list_id = news_list["list_id"]
    for n in range(2):
        _post(client, api, list_id, {"email": f"p{n}@example.com"})
    cursor = json.loads(client.http.get(f"/v1/lists/{list_id}/subscribers?limit=1",
                                        headers=api).body)["next_cursor"]
    response = client.http.get(f"/v1/lists/{list_id}/subscribers?status=pending&cursor={cursor}",
                               headers=api)
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["field"] == "cursor"


def test_read_an_address_with_plus_and_percent_encoding(client, api, news_list):
    list_id = news_list["list_id"]
    _post(client, api, list_id, {"email": "ann+news@example.com"})
    response = client.http.get(f"/v1/lists/{list_id}/subscribers/ann%2Bnews%40example.com", headers=api)
    assert response.status_code == 200
    assert json.loads(response.body)["email"] == "ann+news@example.com"
    missing = client.http.get(f"/v1/lists/{list_id}/subscribers/bob%40example.com", headers=api)
    assert missing.status_code == 404
    bad = client.http.get(f"/v1/lists/{list_id}/subscribers/nope", headers=api)
    assert bad.status_code == 400 and json.loads(bad.body)["error"]["field"] == "email"


def test_p17_patch_corrects_contact_data(client, api, news_list):
    list_id = news_list["list_id"]
    _post(client, api, list_id, {"email": ANN, "name": "Ann", "company": "Old Co"})
    response = client.http.patch(f"/v1/lists/{list_id}/subscribers/{ANN}", headers=api, body=json.dumps(
        {"name": "Ann Example", "company": None, "phone": "+40 712 345 678", "attributes": {"city": "Iasi"}}))
    assert response.status_code == 200
    view = json.loads(response.body)
    assert (view["name"], view["company"], view["phone"]) == ("Ann Example", None, "+40712345678")
    assert view["attributes"] == {"city": "Iasi"}
    again = json.loads(client.http.get(f"/v1/lists/{list_id}/subscribers/{ANN}", headers=api).body)
    assert again["name"] == "Ann Example" and again["company"] is None


def test_p17_a_patch_of_one_attribute_keeps_the_others_as_a_rectification_does(client, api):
    """A PATCH leaves a contact field it does not name as it is; it replaced the whole attributes
    map, so correcting one attribute erased every other one (a rectify request, given the same
    changes, merges them). An empty value clears the attribute it names."""
    from tests.support.lists import new_list

    list_id = new_list(client, api, "Members", attributes=("city", "plan"))
    _post(client, api, list_id, {"email": ANN, "attributes": {"city": "Cluj", "plan": "gold"}})
    path = f"/v1/lists/{list_id}/subscribers/{ANN}"
    response = client.http.patch(path, headers=api, body=json.dumps({"attributes": {"city": "Iasi"}}))
    assert response.status_code == 200, response.body
    assert json.loads(response.body)["attributes"] == {"city": "Iasi", "plan": "gold"}
    response = client.http.patch(path, headers=api, body=json.dumps({"name": "Ann", "attributes": {}}))
    assert json.loads(response.body)["attributes"] == {"city": "Iasi", "plan": "gold"}
    response = client.http.patch(path, headers=api, body=json.dumps({"attributes": {"plan": ""}}))
    assert json.loads(client.http.get(path, headers=api).body)["attributes"] == {"city": "Iasi"}


@pytest.mark.parametrize(("body", "field"), [
    ({"phone": "12"}, "phone"), ({"email": "new@example.com"}, "email"),
    ({"attributes": {"shoe_size": "44"}}, "attributes.shoe_size"), ({}, "body"),
])
def test_bad_patch_is_400(client, api, news_list, body, field):
    list_id = news_list["list_id"]
    _post(client, api, list_id, {"email": ANN})
    response = client.http.patch(f"/v1/lists/{list_id}/subscribers/{ANN}", headers=api,
                                 body=json.dumps(body))
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["field"] == field


def test_delete_removes_the_entry_and_audits_without_the_address(client, api, account, news_list):
    list_id = news_list["list_id"]
    _post(client, api, list_id, {"email": ANN})
    response = client.http.delete(f"/v1/lists/{list_id}/subscribers/{ANN}", headers=api)
    assert response.status_code == 204
    assert stored(list_id, ANN) is None
    assert client.http.get(f"/v1/lists/{list_id}/subscribers/{ANN}", headers=api).status_code == 404
    assert client.http.delete(f"/v1/lists/{list_id}/subscribers/{ANN}", headers=api).status_code == 404
    entries = audit.entries(account["account_id"])
    assert entries[0].action == "subscriber.deleted"
    assert all("ann" not in json.dumps(e.to_simple_dict(), default=str) for e in entries)


def test_read_only_key_may_list_but_not_add(client, api, news_list):
    created = client.http.post("/v1/keys", headers=api, body=json.dumps({"name": "ro", "scope": "read"}))
    read_only = bearer(json.loads(created.body)["secret"])
    list_id = news_list["list_id"]
    assert client.http.get(f"/v1/lists/{list_id}/subscribers", headers=read_only).status_code == 200
    assert _post(client, read_only, list_id, {"email": ANN}).status_code == 403


def test_p28_another_tenants_list_is_404_on_every_subscriber_route(client, api, news_list):
    list_id = news_list["list_id"]
    _post(client, api, list_id, {"email": ANN, "name": "Ann"})
    theirs = bearer(create_account_with_key("Other Org", {})["api_key"])
    calls = [("POST", f"/v1/lists/{list_id}/subscribers", json.dumps({"email": "x@example.com"})),
             ("GET", f"/v1/lists/{list_id}/subscribers", b""),
             ("GET", f"/v1/lists/{list_id}/subscribers/{ANN}", b""),
             ("PATCH", f"/v1/lists/{list_id}/subscribers/{ANN}", json.dumps({"name": "Hijack"})),
             ("DELETE", f"/v1/lists/{list_id}/subscribers/{ANN}", b"")]
    for method, path, body in calls:
        response = client.http.request(method, path, headers=theirs, body=body)
        assert response.status_code == 404, (method, path)
        assert b"Ann" not in response.body and b"ann@" not in response.body
    assert stored(list_id, ANN).name == "Ann"
    assert stored(list_id, "x@example.com") is None


@pytest.mark.parametrize("website", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
                                     "//evil.example"])
def test_p04_an_api_website_that_is_not_http_is_a_400_naming_it_on_signup_and_patch(client, api, news_list,
                                                                                     website):
    list_id = news_list["list_id"]
    refused = _post(client, api, list_id, {"email": ANN, "website": website})
    assert refused.status_code == 400 and json.loads(refused.body)["error"]["field"] == "website"
    assert stored(list_id, ANN) is None
    _post(client, api, list_id, {"email": ANN, "website": "https://ann.example"})
    patched = client.http.patch(f"/v1/lists/{list_id}/subscribers/{ANN}", headers=api,
                                body=json.dumps({"website": website}))
    assert patched.status_code == 400 and json.loads(patched.body)["error"]["field"] == "website"
    assert stored(list_id, ANN).website == "https://ann.example"


# --- P02: the proof records the consent text in force when the person agreed ---------------------

_V1_AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
_V2_AT = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def _two_text_list(client, api) -> str:
    """A single opt-in list whose consent and tracking texts have a version 1 written at _V1_AT and
    a version 2 written at _V2_AT."""
    from tests.support.lists import date_consent_texts, new_list

    list_id = new_list(client, api, double_opt_in=False, tracking_consent_text="Count my opens.",
                       texts_since=_V1_AT)
    changed = client.http.patch(f"/v1/lists/{list_id}", headers=api, body=json.dumps(
        {"consent_text": "A later consent text.", "tracking_consent_text": "Count my opens and clicks."}))
    assert changed.status_code == 200, changed.body
    date_consent_texts(list_id, _V2_AT, version=2)
    return list_id


@pytest.mark.parametrize(("given_at", "version"), [
    (_V1_AT, 1), (_V2_AT - _SECOND, 1), (_V2_AT, 2), (_V2_AT + _SECOND, 2)])
def test_p02_api_proof_without_a_version_records_the_text_in_force_at_given_at(client, api, given_at,
                                                                               version):
    list_id = _two_text_list(client, api)
    proof = {"given_at": given_at.isoformat(), "ip": "203.0.113.7"}
    response = _post(client, api, list_id, {"email": ANN, "consent": proof, "tracking_consent": proof})
    assert response.status_code == 201, response.body
    assert json.loads(response.body)["status"] == "confirmed"
    entry = stored(list_id, ANN)
    assert entry.consent.consent_text_version == version
    assert entry.tracking.consent_text_version == version


def test_p02_api_proof_given_before_the_lists_first_text_proves_nothing_so_it_is_double_opt_in(
        client, api):
    list_id = _two_text_list(client, api)
    proof = {"given_at": (_V1_AT - _SECOND).isoformat(), "ip": "203.0.113.7"}
    response = _post(client, api, list_id, {"email": ANN, "consent": proof})
    assert response.status_code == 201, response.body
    assert json.loads(response.body)["status"] == "pending"  # P03: the person confirms by mail
    assert len(take("outbox")) == 1


@pytest.mark.parametrize("scope", ["consent", "tracking_consent"])
@pytest.mark.parametrize(("given_at", "valid"), [
    (_V2_AT - _SECOND, False), (_V2_AT, True), (_V2_AT + _SECOND, True)])
def test_p02_api_proof_may_not_name_a_version_written_after_given_at(client, api, scope, given_at, valid):
    list_id = _two_text_list(client, api)
    named = {"given_at": given_at.isoformat(), "ip": "203.0.113.7", "consent_text_version": 2}
    body = {"email": ANN, "consent": {"given_at": _V2_AT.isoformat(), "ip": "203.0.113.7"}, scope: named}
    response = _post(client, api, list_id, body)
    if valid:
        assert response.status_code == 201, response.body
    else:
        assert response.status_code == 400, response.body
        assert json.loads(response.body)["error"]["field"] == f"{scope}.consent_text_version"
        assert stored(list_id, ANN) is None


def test_p02_api_tracking_proof_given_before_the_lists_first_tracking_text_is_400(client, api):
    list_id = _two_text_list(client, api)
    body = {"email": ANN, "consent": {"given_at": _V2_AT.isoformat(), "ip": "203.0.113.7"},
            "tracking_consent": {"given_at": (_V1_AT - _SECOND).isoformat()}}
    response = _post(client, api, list_id, body)
    assert response.status_code == 400, response.body
    assert json.loads(response.body)["error"]["field"] == "tracking_consent.given_at"


@pytest.mark.parametrize(("name", "shown"), [
    ("z" * 100_000, "z" * 64 + "\u2026"),
    ("city\u2028" * 20_000, "city\\u2028" * 12 + "city\u2026"),
    ("shoe\x07size", "shoe\\x07size"),
], ids=["huge", "line-separators", "control-character"])
def test_an_undeclared_attribute_is_a_small_400_naming_it_escaped(client, api, news_list, name, shown):
    """An undeclared attribute's name was echoed whole, in the message and as the field: a 100 K
    name made a huge error, and control characters or line separators went back raw (the same
    rule as an import's unknown column: errors.shown_name)."""
    response = _post(client, api, news_list["list_id"], {"email": ANN, "attributes": {name: "x"}})
    assert response.status_code == 400, response.body[:300]
    assert len(response.body) < 2_000
    error = json.loads(response.body)["error"]
    assert error["field"] == f"attributes.{shown}" and f"'{shown}'" in error["message"]
    assert stored(news_list["list_id"], ANN) is None
