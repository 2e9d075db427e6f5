"""The preference centre `/p/{token}` (P16-P18): GET shows what is held and changes nothing;
every change is a POST checked against the token and a fresh nonce, recorded as a privacy
request completed at once (P19)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from chalicelib.config import hash_key, signer
from chalicelib.domain.mail_links import PREFERENCES, LinkClaim, link_token
from chalicelib.domain.suppression import address_hash
from chalicelib.store.models import PrivacyRequest, Suppression
from tests.support.api import bearer
from tests.support.lists import new_list, stored, subscribe
from tests.support.preferences import nonce_of as _nonce
from tests.support.preferences import post_preferences as _post
from tests.support.privacy import PERSON, PROOF, add
from tests.support.tokens import altered


@pytest.fixture
def api(account) -> dict[str, str]:
    return bearer(account["api_key"])


@pytest.fixture
def lists(client, api) -> list[str]:
    news = new_list(client, api, "News", double_opt_in=False, attributes=("city",),
                    consent="Yes, send me the news.")
    offers = new_list(client, api, "Offers", double_opt_in=False)
    # Ann let News count her opens and clicks (P30), not Offers.
    add(client, api, news, name="Ann", attributes={"city": "Iasi"}, tracking_consent=PROOF)
    add(client, api, offers, name="Ann")
    return [news, offers]


@pytest.fixture
def token(account, lists) -> str:
    return link_token(signer(), PREFERENCES, LinkClaim(account["account_id"], lists[0], PERSON, "cmp_1"))


def _requests(account) -> list[PrivacyRequest]:
    return list(PrivacyRequest.query(account["account_id"]))


def test_p16_the_page_shows_entries_attributes_and_consent_and_changes_nothing(client, account, lists, token):
    page = client.http.get(f"/p/{token}")
    body = page.body.decode()
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    assert "News" in body and "Offers" in body and "Iasi" in body
    assert "Yes, send me the news." in body, "the consent text agreed to"
    assert _requests(account) == [], "a GET (mail scanner) records and changes nothing"
    assert stored(lists[0], PERSON).status == "confirmed"


def test_p16_download_is_a_post_recorded_as_a_portability_request(client, account, lists, token):
    response = _post(client, token, "export", nonce=_nonce(client, token))
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    export = json.loads(response.body)
    assert sorted(s["list_id"] for s in export["subscriptions"]) == sorted(lists)
    assert export["subscriptions"][0]["consent"]["given_at"]
    [request] = _requests(account)
    assert (request.type, request.status, request.actor) == ("portability", "completed", "preference-centre")


def test_p16_the_download_reads_back_the_export_it_has_just_written(
        client, account, lists, token, monkeypatch):
    """The page saves the export, then reads it back to answer with it, milliseconds later. An
    eventually consistent read may not see so recent a write yet: the person got "try again",
    and each try now counts against the hour's cap. The read must be strongly consistent."""
    from botocore.client import BaseClient

    from chalicelib.store.models import PrivacyExport

    original, exports = BaseClient._make_api_call, PrivacyExport.Meta.table_name

    def just_written_unseen(self, operation, params):  # what a replica a write has not reached says
        if operation == "GetItem" and params.get("TableName") == exports and not params.get("ConsistentRead"):
            return {}
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", just_written_unseen)
    response = _post(client, token, "export", nonce=_nonce(client, token))
    assert response.status_code == 200, response.body[:300]
    assert sorted(s["list_id"] for s in json.loads(response.body)["subscriptions"]) == sorted(lists)


def test_p16_the_page_and_the_download_show_the_opens_and_clicks_held(client, account, lists, token):
    from tests.support.campaigns import campaign_of
    from tests.support.tracking import opened_and_clicked

    opened_and_clicked(account["account_id"], lists[0], campaign_of(account["account_id"], lists[0]), PERSON)
    assert "which links you clicked, in 1 campaign(s)" in client.http.get(f"/p/{token}").body.decode()
    response = _post(client, token, "export", nonce=_nonce(client, token))
    tracking = json.loads(response.body)["tracking"]
    assert sorted((row["kind"], row["link"], row["count"]) for row in tracking) == [
        ("clicks", "https://shop.example/spring", 1), ("opens", None, 1)]


def test_p17_editing_details_is_a_rectify_request_on_every_list(client, account, lists, token):
    response = _post(client, token, "edit", nonce=_nonce(client, token), name="Ann Person",
                     company="", phone="", website="", field_of_activity="", **{"attr.city": "Cluj"})
    assert response.status_code == 200
    assert [stored(list_id, PERSON).name for list_id in lists] == ["Ann Person", "Ann Person"]
    assert stored(lists[0], PERSON).attributes.as_dict() == {"city": "Cluj"}
    [request] = _requests(account)
    assert request.type == "rectify" and request.outcome.as_dict()["fields"] == ["attributes.city", "name"]
    unchanged = _post(client, token, "edit", nonce=_nonce(client, token), name="Ann Person")
    assert unchanged.status_code == 200
    assert len(_requests(account)) == 1, "nothing to change: nothing recorded"


def test_p12_unsubscribe_from_one_list_leaves_the_others(client, account, lists, token):
    response = _post(client, token, "unsubscribe", nonce=_nonce(client, token), list_id=lists[1])
    assert response.status_code == 200
    assert [stored(list_id, PERSON).status for list_id in lists] == ["confirmed", "unsubscribed"]
    [request] = _requests(account)
    assert request.type == "object" and request.outcome.as_dict() == {"entries_unsubscribed": 1,
                                                                      "list_id": lists[1]}
    assert _post(client, token, "unsubscribe", nonce=_nonce(client, token),
                 list_id="lst_other").status_code == 400


def test_p12_unsubscribe_from_every_list_also_suppresses(client, account, lists, token):
    assert _post(client, token, "unsubscribe", nonce=_nonce(client, token), list_id="all").status_code == 200
    assert [stored(list_id, PERSON).status for list_id in lists] == ["unsubscribed", "unsubscribed"]
    assert Suppression.get(account["account_id"], address_hash(PERSON, hash_key())).reason == "unsubscribed"


def _unsubscribes(campaign_id: str) -> int:
    from chalicelib.store.campaign_stats import UNSUBSCRIBES, campaign_counters

    return campaign_counters(campaign_id).get(UNSUBSCRIBES, 0)


def test_p13_leaving_the_mailed_list_from_the_page_counts_one_unsubscribe_for_its_campaign(
        client, account, lists, token):
    """The token's mail came from campaign cmp_1 on News: leaving News here is that campaign's
    unsubscribe, as the mail's /u/ link would count it; once, however often it is sent."""
    other = _post(client, token, "unsubscribe", nonce=_nonce(client, token), list_id=lists[1])
    assert other.status_code == 200
    assert _unsubscribes("cmp_1") == 0, "another list than the mailed one is not the campaign's"
    for _ in range(2):
        assert _post(client, token, "unsubscribe", nonce=_nonce(client, token),
                     list_id=lists[0]).status_code == 200
    assert _unsubscribes("cmp_1") == 1
    assert [r.outcome.as_dict()["entries_unsubscribed"] for r in _requests(account)].count(1) == 2


def test_p13_leaving_every_list_from_the_page_counts_one_unsubscribe_for_its_campaign(
        client, account, lists, token):
    assert _post(client, token, "unsubscribe", nonce=_nonce(client, token), list_id="all").status_code == 200
    assert _unsubscribes("cmp_1") == 1
    [request] = _requests(account)
    assert request.outcome.as_dict()["entries_unsubscribed"] == 2, "the mailed entry is one of those ended"
    plain = link_token(signer(), PREFERENCES, LinkClaim(account["account_id"], lists[0], "bob@example.com"))
    assert _post(client, plain, "unsubscribe", nonce=_nonce(client, plain), list_id="all").status_code == 200
    assert _unsubscribes("cmp_1") == 1


@pytest.mark.parametrize("action", ["export", "edit", "erase"])
def test_p19_privacy_requests_from_the_page_are_capped_per_person_and_kind_per_hour(
        client, account, lists, token, action):
    """A link lives a year and one page's nonce an hour: without a cap, whoever holds the link
    could fill the account's privacy requests, audit log and exports. Past a few of one kind in
    an hour the page answers 429 with Retry-After and records nothing; the other kinds, the
    unsubscribe buttons and other people's links keep working, and the next hour it works again."""
    from chalicelib.domain.privacy import PAGE_REQUESTS_PER_HOUR

    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1, minutes=1)
    with time_machine.travel(start, tick=False):
        nonce = _nonce(client, token)
        for turn in range(PAGE_REQUESTS_PER_HOUR):
            answer = _post(client, token, action, nonce=nonce, name=f"Ann {turn}")
            assert answer.status_code == 200, (turn, answer.status_code)
        recorded = len(_requests(account))
        refused = _post(client, token, action, nonce=nonce, name="Ann again")
        assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 3600
        assert "try again" in refused.body.decode()
        assert len(_requests(account)) == recorded, "a refused request records nothing"
        other = "export" if action != "export" else "edit"
        assert _post(client, token, other, nonce=nonce, name="Ann B").status_code == 200
        subscribe(account["account_id"], lists[0], "bob@example.com")  # an edit needs an entry to correct
        bob = link_token(signer(), PREFERENCES, LinkClaim(account["account_id"], lists[0], "bob@example.com"))
        assert _post(client, bob, action, nonce=_nonce(client, bob), name="Bob").status_code == 200
        assert _post(client, token, "unsubscribe", nonce=nonce, list_id="all").status_code == 200
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        assert _post(client, token, action, nonce=_nonce(client, token), name="Ann C").status_code == 200


def test_p17_p19_mistyped_edits_use_up_none_of_the_hourly_cap(client, account, lists, token):
    """An edit the page refuses as invalid (400) is no request: it must not count towards the
    cap, or a person who mistypes their number a few times could not correct it for an hour."""
    from chalicelib.domain.privacy import PAGE_REQUESTS_PER_HOUR

    nonce = _nonce(client, token)
    for turn in range(PAGE_REQUESTS_PER_HOUR + 1):
        answer = _post(client, token, "edit", nonce=nonce, phone=f"not a number {turn}")
        assert answer.status_code == 400, (turn, answer.status_code)
    assert _post(client, token, "edit", nonce=nonce, name="Ann Corrected").status_code == 200
    assert [r.type for r in _requests(account)] == ["rectify"]


def test_p18_erase_from_the_page(client, account, lists, token):
    assert _post(client, token, "erase", nonce=_nonce(client, token)).status_code == 200
    assert all(stored(list_id, PERSON) is None for list_id in lists)
    assert Suppression.get(account["account_id"], address_hash(PERSON, hash_key())).reason == "erased"
    assert [r.type for r in _requests(account)] == ["erase"]
    assert "holds no list entries" in client.http.get(f"/p/{token}").body.decode()


@pytest.mark.parametrize("gone", ["erased", "purged"])
def test_p17_p18_p29_an_edit_from_the_link_of_a_person_no_longer_held_is_a_4xx_and_records_nothing(
        client, account, lists, token, gone):
    """Her link outlives her entries: erased (P18), or ended and purged (P29). An edit sent from
    a page opened before then has nothing to correct: it must say so, not answer "Your details are
    updated" and record a rectify request that changed nothing."""
    from chalicelib.store.person_subscribers import delete_entries

    nonce = _nonce(client, token)
    if gone == "erased":
        assert _post(client, token, "erase", nonce=nonce).status_code == 200
    else:
        delete_entries([stored(list_id, PERSON) for list_id in lists])
    before = [r.request_id for r in _requests(account)]
    answer = _post(client, token, "edit", nonce=nonce, name="Ann B", company="Acme")
    assert answer.status_code == 409 and "holds no list entries" in answer.body.decode()
    assert [r.request_id for r in _requests(account)] == before, "no request about nothing"
    assert all(stored(list_id, PERSON) is None for list_id in lists), "nothing recreated"


def test_p17_p18_an_entry_erased_while_an_edit_is_written_is_a_4xx_not_a_500(
        client, account, lists, token, monkeypatch):
    """An erasure or the P29 purge deletes her entry between the edit's read and its write: the
    conditional write fails. The page says nothing is held (no 500, no "updated"), and the
    entry is not written back."""
    from chalicelib.store import person_subscribers

    write = person_subscribers.update_fields

    def erased_first(entry, changes):
        stored(entry.list_id, entry.address).delete()
        return write(entry, changes)

    monkeypatch.setattr(person_subscribers, "update_fields", erased_first)
    answer = _post(client, token, "edit", nonce=_nonce(client, token), name="Ann B")
    assert answer.status_code == 409 and "holds no list entries" in answer.body.decode()
    assert all(stored(list_id, PERSON) is None for list_id in lists)


# --- a phone typed on a form is nobody's until confirmed (P01 for SMS) ------------------------------

VICTIM, MALLORY, VICTIM_PHONE = "victim@example.com", "mallory@example.com", "+40712345678"


def _signed_up_with_victims_phone(client, account, list_id: str) -> str:
    """Mallory's preference link, after she signed up with her own address and Victim's number
    (a form takes any number, unconfirmed) and confirmed her address."""
    from chalicelib.domain.tokens import confirm_token
    from tests.support.signups import form_signup

    assert form_signup(client, list_id, email=MALLORY, phone=VICTIM_PHONE).status_code == 200
    assert client.http.post(f"/c/{confirm_token(signer(), list_id, MALLORY)}").status_code == 200
    return link_token(signer(), PREFERENCES, LinkClaim(account["account_id"], list_id, MALLORY, "cmp_1"))


@pytest.mark.parametrize("action, fields", [("erase", {}), ("unsubscribe", {"list_id": "all"})])
def test_p18_erasing_or_objecting_from_the_page_spares_a_phone_the_person_never_confirmed(
        client, account, news_list, action, fields):
    """Victim confirmed her number for SMS. Mallory's erasure or objection acts on Mallory: her
    entry goes (with the number on it), but Victim's number is not suppressed in the account
    and Victim's SMS records under its keyed hash stay."""
    from chalicelib.domain.privacy import phone_hash
    from chalicelib.store.messages import claim
    from chalicelib.store.models import MessageRecord
    from chalicelib.store.suppressions import suppressed_hashes
    from tests.support.lists import subscribe

    list_id, account_id = news_list["list_id"], account["account_id"]
    subscribe(account_id, list_id, VICTIM, phone=VICTIM_PHONE)
    victims_phone = phone_hash(VICTIM_PHONE, hash_key())
    claim(victims_phone, "sms_to_victim", account_id, "sms", campaign_id="cmp_1", list_id=list_id)
    mallory = _signed_up_with_victims_phone(client, account, list_id)

    assert _post(client, mallory, action, nonce=_nonce(client, mallory), **fields).status_code == 200
    assert suppressed_hashes(account_id, [address_hash(MALLORY, hash_key())]), "Mallory herself is"
    assert suppressed_hashes(account_id, [victims_phone], list_id) == set(), "Victim still gets SMS"
    assert [r.message_id for r in MessageRecord.query(victims_phone)] == ["sms_to_victim"]
    assert stored(list_id, VICTIM).status == "confirmed"
    if action == "erase":
        assert stored(list_id, MALLORY) is None, "her own entry goes whole, the number on it too"


def test_p16_the_page_shows_the_suppression_of_a_confirmed_phone_only(client, account, news_list):
    """Victim replied STOP to an SMS: the account suppressed her number. Victim's own export
    shows it; Mallory's, whose entry only carries the number unconfirmed, does not."""
    from chalicelib.domain.privacy import phone_hash
    from chalicelib.domain.suppression import SuppressionReason
    from chalicelib.store.suppressions import suppress_hash
    from tests.support.lists import subscribe

    list_id, account_id = news_list["list_id"], account["account_id"]
    subscribe(account_id, list_id, VICTIM, phone=VICTIM_PHONE)
    suppress_hash(account_id, phone_hash(VICTIM_PHONE, hash_key()), SuppressionReason.UNSUBSCRIBED)
    victim = link_token(signer(), PREFERENCES, LinkClaim(account_id, list_id, VICTIM, "cmp_1"))
    mallory = _signed_up_with_victims_phone(client, account, list_id)

    def phone_rows(token: str) -> list[dict]:
        export = json.loads(_post(client, token, "export", nonce=_nonce(client, token)).body)
        return [row for row in export["suppressions"] if row["identifier"] == "phone"]

    assert [row["reason"] for row in phone_rows(victim)] == ["unsubscribed"]
    assert phone_rows(mallory) == []


def test_a_post_needs_a_fresh_nonce_of_this_link(client, account, lists, token):
    other = link_token(signer(), PREFERENCES, LinkClaim(account["account_id"], lists[1], "bob@example.com"))
    assert _post(client, token, "erase").status_code == 400, "a bare POST (scanner) is refused"
    assert _post(client, token, "erase", nonce=_nonce(client, other)).status_code == 400, "another link's"
    old = _nonce(client, token)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2), tick=False):
        assert _post(client, token, "erase", nonce=old).status_code == 400, "a page left open too long"
    assert stored(lists[0], PERSON) is not None and _requests(account) == []


@pytest.mark.parametrize("fields", [
    {"name": "Ann\u2028Bcc: x"}, {"name": "A\x00nn"}, {"phone": "call me"}, {"attr.city": "Ia\u2029si"},
    {"name": "n" * 5000}, {"company": "Acme\x85Ltd"}])
def test_p17_hostile_edits_in_the_preference_centre_are_a_4xx_and_change_nothing(
        client, account, lists, token, fields):
    answer = _post(client, token, "edit", nonce=_nonce(client, token), **fields)
    assert 400 <= answer.status_code < 500, (fields, answer.status_code)
    entry = stored(lists[0], PERSON)
    assert entry.name == "Ann" and entry.attributes.as_dict() == {"city": "Iasi"} and entry.company is None
    assert _requests(account) == []


def test_a_tampered_token_gets_a_page_not_data(client, account, lists, token):
    for path in (f"/p/{altered(token)}", f"/p/{token}x"):
        response = client.http.get(path)
        assert response.status_code == 400 and "does not work" in response.body.decode()
    assert _post(client, altered(token), "erase", nonce=_nonce(client, token)).status_code == 400
    assert stored(lists[0], PERSON) is not None


def test_p23_p25_a_link_of_an_account_deleted_for_good_writes_nothing_back(client, account, lists, token):
    """A preference link outlives an account deleted for good (P23); its forms (the nonce of a
    page opened before the deletion) must then record no request, audit entry, export or
    suppression for it: data of the deleted account that no purge would come for again (P25)."""
    from chalicelib.store.retention import purge_account
    from tests.support.tables import every_item_text

    nonce = _nonce(client, token)
    assert purge_account(account["account_id"], content_only=False, more_time=lambda: True)[1]
    assert account["account_id"] not in every_item_text()
    for action, fields in [("export", {}), ("edit", {"name": "Ann B"}), ("unsubscribe", {"list_id": "all"}),
                           ("unsubscribe", {"list_id": lists[0]}), ("erase", {})]:
        answer = _post(client, token, action, nonce=nonce, **fields)
        assert answer.status_code == 404, (action, answer.status_code)
    assert account["account_id"] not in every_item_text()


@pytest.mark.parametrize("fields, said", [
    ({"website": "javascript:alert(1)"}, "trebuie să fie o adresă web care începe cu http://"),
    ({"name": "n" * 300}, "are mai mult de 200 caractere"),
    ({"attr.oras": "o" * 600}, "are mai mult de 500 caractere")])
def test_p17_a_refused_edit_is_explained_in_the_language_of_the_list(client, account, api, fields, said):
    """A Romanian list's preference centre says why an edit was refused in Romanian (the page's
    language, P32), its placeholders filled in: not the English text the API shows."""
    list_id = new_list(client, api, "Știri", double_opt_in=False, language="ro", attributes=("oras",))
    add(client, api, list_id, name="Ana")
    ana = link_token(signer(), PREFERENCES, LinkClaim(account["account_id"], list_id, PERSON))
    answer = _post(client, ana, "edit", nonce=_nonce(client, ana), **fields)
    assert answer.status_code == 400 and said in answer.body.decode()
    assert stored(list_id, PERSON).name == "Ana"


def test_p17_a_number_sent_as_typed_with_spaces_is_the_one_held_not_a_change(client, account, lists, token):
    """Her number is held as +40712345678; the same number sent again as +40 712 345 678 changes
    nothing: the page says so, records no second rectify request and uses none of the cap."""
    from tests.support.privacy import PHONE, PHONE_RAW

    first = _post(client, token, "edit", nonce=_nonce(client, token), phone=PHONE_RAW)
    assert "are updated" in first.body.decode()
    assert stored(lists[0], PERSON).phone == PHONE
    again = _post(client, token, "edit", nonce=_nonce(client, token), phone=PHONE_RAW)
    assert again.status_code == 200 and "Nothing to change" in again.body.decode()
    assert [r.type for r in _requests(account)] == ["rectify"]


def test_p04_p17_a_website_that_is_not_http_is_refused_in_the_preference_centre(client, lists, token):
    response = _post(client, token, "edit", nonce=_nonce(client, token), website="javascript:alert(1)")
    assert response.status_code == 400 and "website" in response.body.decode()
    assert stored(lists[0], PERSON).website is None
