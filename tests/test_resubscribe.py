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
    assert stored(news, ANN).status == "unsubscribed" and stored(news, ANN).returning is not None
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


# --- until they confirm, their unsubscribe stands (P12, P22, P01) -------------------------------

def _as_it_ended(list_id: str) -> dict:
    """The stored entry, all but the signup back waiting beside it."""
    item = stored(list_id, ANN).serialize()
    item.pop("returning", None)
    return item


def _unsubscribes(client, headers) -> list[str]:
    rows = json.loads(client.http.get("/v1/account/unsubscribes", headers=headers).body)["unsubscribes"]
    return [row["email"] for row in rows]


def _left_as_ann(client, account: dict, headers) -> str:
    news = new_list(client, headers, "News")
    subscribe(account["account_id"], news, ANN, name="Ann")
    unsubscribe(LinkClaim(account["account_id"], news, ANN, None), Scope.LIST)
    return news


def test_p22_p12_anyones_signup_with_their_address_leaves_the_unsubscribe_and_their_data_standing(
        client, account, headers):
    news = _left_as_ann(client, account, headers)
    before = _as_it_ended(news)
    stranger = form_signup(client, news, email=ANN, name="Not Ann", company="Other")
    newcomer = form_signup(client, news, email="new@example.com", name="New")
    assert (stranger.status_code, stranger.body) == (newcomer.status_code, newcomer.body)  # P05
    deliver(take("outbox"))
    assert [str(mail["To"]) for mail in sent_mails()] == [ANN, "new@example.com"]
    assert _as_it_ended(news) == before
    assert _unsubscribes(client, headers) == [ANN]
    assert not _campaign_reaches(client, headers, news)


def test_p12_the_person_confirming_their_signup_back_comes_back_with_its_data(client, account, headers):
    news = _left_as_ann(client, account, headers)
    form_signup(client, news, email=ANN, name="Ann Again", company="Other")
    deliver(take("outbox"))
    assert client.http.post(confirm_path(sent_mails()[-1])).status_code == 200
    entry = stored(news, ANN)
    assert (entry.status, entry.name, entry.company) == ("confirmed", "Ann Again", "Other")
    assert entry.consent.confirmed_at and entry.consent.source == "form"
    assert (entry.ended_at, entry.expires_at, entry.purge_bucket, entry.returning) == (None, None, None, None)
    assert _unsubscribes(client, headers) == []
    assert _campaign_reaches(client, headers, news)


def test_p12_opening_the_confirm_link_of_a_signup_back_changes_nothing(client, account, headers):
    """Link scanners fetch every GET: only the person's POST confirms."""
    news = _left_as_ann(client, account, headers)
    before = _as_it_ended(news)
    form_signup(client, news, email=ANN, name="Ann Again")
    deliver(take("outbox"))
    assert client.http.get(confirm_path(sent_mails()[-1])).status_code == 200
    assert _as_it_ended(news) == before and stored(news, ANN).returning.name == "Ann Again"
    assert not Suppression.get(account["account_id"], address_hash(ANN, hash_key())).lifted_for


def test_p01_a_signup_back_never_confirmed_expires_and_leaves_the_entry_as_it_ended(client, account, headers):
    from chalicelib.services.privacy import export_person

    news = _left_as_ann(client, account, headers)
    before = _as_it_ended(news)
    form_signup(client, news, email=ANN, name="Ann Again")
    deliver(take("outbox"))
    with time_machine.travel(datetime.now(UTC) + timedelta(days=7, minutes=1)):
        assert client.http.post(confirm_path(sent_mails()[-1])).status_code == 400
        # Still stored until the ended entry's data goes (P29), so still exported (P16).
        returning = export_person(account["account_id"], ANN)["subscriptions"][0]["returning"]
        assert (returning["waiting"], returning["name"]) == (False, "Ann Again")
        client.http.post("/c/resend", headers={"Content-Type": "application/x-www-form-urlencoded"},
                         body=f"list_id={news}&email={ANN}")
        apply_queued_signups()
        assert take("outbox") == []
    assert _as_it_ended(news) == before
    assert _unsubscribes(client, headers) == [ANN]


def test_p01_a_signup_back_waits_only_the_lists_own_days(client, account, headers):
    news = _left_as_ann(client, account, headers)
    patched = client.http.patch(f"/v1/lists/{news}", headers=headers,
                                body=json.dumps({"pending_signup_days": 3}))
    assert patched.status_code == 200, patched.body
    form_signup(client, news, email=ANN, name="Ann Again")
    deliver(take("outbox"))
    with time_machine.travel(datetime.now(UTC) + timedelta(days=3, minutes=1)):
        assert client.http.post(confirm_path(sent_mails()[-1])).status_code == 400
    assert stored(news, ANN).status == "unsubscribed"


def test_p12_a_second_signup_back_replaces_the_first(client, account, headers):
    news = _left_as_ann(client, account, headers)
    form_signup(client, news, email=ANN, name="First")
    later = datetime.now(UTC) + timedelta(minutes=settings().signup_limits.mail_interval_minutes + 1)
    with time_machine.travel(later):
        form_signup(client, news, email=ANN, name="Second")
        assert (stored(news, ANN).name, stored(news, ANN).returning.name) == ("Ann", "Second")
        deliver(take("outbox"))
        assert client.http.post(confirm_path(sent_mails()[-1])).status_code == 200
    assert (stored(news, ANN).status, stored(news, ANN).name) == ("confirmed", "Second")


def test_p16_the_export_shows_a_signup_back_waiting_for_confirmation(client, account, headers):
    from chalicelib.services.privacy import export_person

    news = _left_as_ann(client, account, headers)
    form_signup(client, news, email=ANN, name="Ann Again")
    [row] = export_person(account["account_id"], ANN)["subscriptions"]
    assert (row["status"], row["name"]) == ("unsubscribed", "Ann")
    assert row["returning"]["name"] == "Ann Again" and row["returning"]["consent"]["source"] == "form"
    assert row["returning"]["waiting"] is True
    assert row["returning"]["consent"]["confirmed_at"] is None and row["returning"]["expires_at"]


def test_p01_p12_a_signup_back_waits_seven_days_and_only_while_the_unsubscribed_entry_stands():
    from chalicelib.domain.subscriptions import Status, return_is_waiting

    at = datetime(2025, 3, 1, tzinfo=UTC)
    expires, entry_goes = at + timedelta(days=7), at + timedelta(days=20)
    assert return_is_waiting(Status.UNSUBSCRIBED, entry_goes, expires, at)
    assert return_is_waiting(Status.UNSUBSCRIBED, None, expires, at)  # an ending not dated yet
    assert not return_is_waiting(Status.UNSUBSCRIBED, entry_goes, expires, expires)
    assert not return_is_waiting(Status.UNSUBSCRIBED, at, expires, at)  # its data is due for deletion
    assert not return_is_waiting(Status.UNSUBSCRIBED, entry_goes, None, at)
    for other in (Status.BOUNCED, Status.COMPLAINED, Status.CONFIRMED, Status.PENDING):
        assert not return_is_waiting(other, entry_goes, expires, at), other


def test_p18_erasure_takes_a_signup_back_with_the_entry(client, account, headers):
    from chalicelib.services.privacy import erase_person

    news = _left_as_ann(client, account, headers)
    form_signup(client, news, email=ANN, name="Ann Again")
    assert stored(news, ANN).returning is not None
    erase_person(account["account_id"], ANN)
    assert stored(news, ANN) is None


def test_p29_the_ended_entries_purge_takes_a_signup_back_with_the_entry(client, account, headers):
    from chalicelib.store.retention import purge_ended_entries

    news = _left_as_ann(client, account, headers)
    form_signup(client, news, email=ANN, name="Ann Again")
    assert stored(news, ANN).returning is not None
    purge_ended_entries(stored(news, ANN).expires_at, lambda: True)
    assert stored(news, ANN) is None


# --- the way back after a one-list unsubscribe in the preference centre ---------------------------

def _left_one_list_in_the_preference_centre(client, account: dict, headers) -> tuple[str, str]:
    """Ann, on News and Offers, unsubscribes from News only in the preference centre: a
    suppression for News alone (`<hash>#<list>`). (news, offers)"""
    from chalicelib.domain.mail_links import PREFERENCES
    from tests.support.preferences import nonce_of, post_preferences

    news, offers = new_list(client, headers, "News"), new_list(client, headers, "Offers")
    subscribe(account["account_id"], news, ANN)
    subscribe(account["account_id"], offers, ANN)
    token = link_token(signer(), PREFERENCES, LinkClaim(account["account_id"], news, ANN, "cmp_1"))
    left = post_preferences(client, token, "unsubscribe", nonce=nonce_of(client, token), list_id=news)
    assert left.status_code == 200, left.body
    assert stored(news, ANN).status == "unsubscribed" and stored(offers, ANN).status == "confirmed"
    return news, offers


def _list_suppression(account: dict, list_id: str) -> Suppression:
    return Suppression.get(account["account_id"], f"{address_hash(ANN, hash_key())}#{list_id}")


def test_p12_parity_a_person_back_after_a_one_list_unsubscribe_in_the_preference_centre_gets_mail(
        client, account, headers):
    """Their own confirmed double opt-in is the way back from a list's own suppression as from
    an account-wide one: the confirmation that says "You are subscribed" lifts it for that list,
    audited; a campaign then reaches them (no silent success)."""
    news, offers = _left_one_list_in_the_preference_centre(client, account, headers)
    assert not _campaign_reaches(client, headers, news)
    _signs_up_and_confirms(client, news)
    assert stored(news, ANN).status == "confirmed"
    assert _list_suppression(account, news).lifted_for == {news}
    entries = audit.entries(account["account_id"])
    assert ("subscriber.resubscribed", news) in {(e.action, e.target) for e in entries}
    assert _campaign_reaches(client, headers, news)
    assert _campaign_reaches(client, headers, offers), "the list they never left goes on as before"


def test_p12_p29_the_way_back_from_a_one_list_unsubscribe_works_after_the_ended_entry_is_purged(
        client, account, headers):
    from chalicelib.store.retention import purge_ended_entries

    news, _ = _left_one_list_in_the_preference_centre(client, account, headers)
    purge_ended_entries(stored(news, ANN).expires_at, lambda: True)
    assert stored(news, ANN) is None
    _signs_up_and_confirms(client, news)
    assert _campaign_reaches(client, headers, news)


def test_p12_unsubscribing_again_in_the_preference_centre_restores_that_lists_suppression(
        client, account, headers):
    from chalicelib.domain.mail_links import PREFERENCES
    from tests.support.preferences import nonce_of, post_preferences

    news, offers = _left_one_list_in_the_preference_centre(client, account, headers)
    _signs_up_and_confirms(client, news)
    token = link_token(signer(), PREFERENCES, LinkClaim(account["account_id"], news, ANN, "cmp_2"))
    again = post_preferences(client, token, "unsubscribe", nonce=nonce_of(client, token), list_id=news)
    assert again.status_code == 200, again.body
    assert not _list_suppression(account, news).lifted_for
    assert not _campaign_reaches(client, headers, news)
    assert _campaign_reaches(client, headers, offers)


@pytest.mark.parametrize("reason", [SuppressionReason.COMPLAINED, SuppressionReason.BOUNCED])
def test_p12_a_complaint_or_bounce_after_the_way_back_from_one_list_holds_again(
        client, account, headers, reason):
    news, _ = _left_one_list_in_the_preference_centre(client, account, headers)
    _signs_up_and_confirms(client, news)
    suppress(account["account_id"], ANN, reason)
    assert not _campaign_reaches(client, headers, news)


def test_p12_p28_another_accounts_suppression_of_the_list_key_neither_blocks_nor_lifts(
        client, account, headers):
    """A suppression another tenant holds under the same key shape is not this account's: a new
    signup is CLEAR (nothing to lift, no audit of a way back), and the other tenant's stays."""
    from chalicelib.store.suppressions import OwnSignup, own_signup

    news = new_list(client, headers, "News")
    suppress("acc_other", ANN, SuppressionReason.UNSUBSCRIBED, list_id=news)
    assert own_signup(account["account_id"], ANN, news) is OwnSignup.CLEAR
    _signs_up_and_confirms(client, news)
    assert _campaign_reaches(client, headers, news)
    assert not Suppression.get("acc_other", f"{address_hash(ANN, hash_key())}#{news}").lifted_for
    entries = audit.entries(account["account_id"])
    assert "subscriber.resubscribed" not in {e.action for e in entries}


# --- an objection to every list closes the way back, as the mail's link for all lists does ------

def _objects_in_the_preference_centre(client, account: dict, headers, list_id: str) -> None:
    from chalicelib.domain.mail_links import PREFERENCES
    from tests.support.preferences import nonce_of, post_preferences

    token = link_token(signer(), PREFERENCES, LinkClaim(account["account_id"], list_id, ANN, None))
    answer = post_preferences(client, token, "unsubscribe", nonce=nonce_of(client, token), list_id="all")
    assert answer.status_code == 200, answer.body


def _objects_through_the_api(client, account: dict, headers, list_id: str) -> None:
    from tests.support.privacy import completed

    completed(client, headers, type="object", email=ANN)


@pytest.mark.parametrize("objects", [_objects_in_the_preference_centre, _objects_through_the_api])
def test_p12_p17_an_objection_to_every_list_closes_the_way_back_they_had_taken(
        client, account, headers, objects):
    """Today nothing puts them back on the list without their own confirmation, which lifts
    again anyway; but a lift left open would let the list's mail through the moment any confirmed
    entry of theirs stood there again: it closes, as the mail's link for every list closes it."""
    from chalicelib.store.suppressions import is_suppressed_for_list

    news = new_list(client, headers, "News")
    _left(account, news, Scope.ALL)
    _signs_up_and_confirms(client, news)
    assert not is_suppressed_for_list(account["account_id"], ANN, news)
    objects(client, account, headers, news)
    assert stored(news, ANN).status == "unsubscribed"
    assert not Suppression.get(account["account_id"], address_hash(ANN, hash_key())).lifted_for
    assert is_suppressed_for_list(account["account_id"], ANN, news)


def test_p12_p19_an_objection_that_only_closes_a_way_back_is_recorded_once(client, account, headers):
    """No entry left to end and the address already suppressed: closing their lift is the one
    change, recorded by the first press only (a replay records nothing, P19, P27)."""
    from chalicelib.domain.privacy import Subject, SubjectKind
    from chalicelib.services.privacy import object_once
    from chalicelib.store.models import PrivacyRequest
    from chalicelib.store.suppressions import lift_for_list

    news = new_list(client, headers, "News")
    suppress(account["account_id"], ANN, SuppressionReason.UNSUBSCRIBED)
    assert lift_for_list(account["account_id"], ANN, news)
    subject = Subject(SubjectKind.EMAIL, ANN)
    for _ in range(2):
        assert object_once(account["account_id"], "preferences", subject) == 0
    assert not Suppression.get(account["account_id"], address_hash(ANN, hash_key())).lifted_for
    assert sum(1 for _ in PrivacyRequest.query(account["account_id"])) == 1
    assert [e.action for e in audit.entries(account["account_id"])].count("privacy.object") == 1


@pytest.mark.parametrize("leave", ["one-click", "page, this list", "page, every list"])
def test_p13_p12_an_old_mails_link_pressed_after_coming_back_ends_the_new_entry_uncounted(
        client, account, headers, leave):
    """Ann left from campaign cmp_1's mail (counted once), came back by signing up again, then
    pressed that old mail's link. It still ends her new entry (P07), but the new entry never got
    cmp_1: its report must not count her unsubscribe a second time (P13)."""
    from chalicelib.domain.mail_links import PREFERENCES, UNSUBSCRIBE
    from chalicelib.store.campaign_stats import UNSUBSCRIBES, campaign_counters
    from tests.support.api import FORM
    from tests.support.preferences import nonce_of, post_preferences

    news = new_list(client, headers, "News")
    subscribe(account["account_id"], news, ANN)
    claim = LinkClaim(account["account_id"], news, ANN, "cmp_1")
    left, preferences = link_token(signer(), UNSUBSCRIBE, claim), link_token(signer(), PREFERENCES, claim)

    def press() -> None:
        if leave == "one-click":
            answer = client.http.post(f"/u/{left}", headers=FORM, body="List-Unsubscribe=One-Click")
        else:
            answer = post_preferences(client, preferences, "unsubscribe", nonce=nonce_of(client, preferences),
                                      list_id="all" if leave == "page, every list" else news)
        assert answer.status_code == 200

    press()
    assert campaign_counters("cmp_1")[UNSUBSCRIBES] == 1
    with time_machine.travel(datetime.now(UTC) + timedelta(days=3), tick=False):
        _signs_up_and_confirms(client, news)
        assert stored(news, ANN).status == "confirmed"
        press()
    assert stored(news, ANN).status == "unsubscribed"
    assert campaign_counters("cmp_1")[UNSUBSCRIBES] == 1
