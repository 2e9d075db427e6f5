"""Public acts replayed record nothing new (P02, P07, P12, P13, P19, P27, P30).

The opt-out surfaces are not rate-capped (P07, P30: opting out must always work), so a replay
loop must not grow a table: a replay answers as the first success did and writes nothing; a
genuinely new act (a newer consent text, another list, a way back then out again) is recorded.
"""
from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.config import signer
from chalicelib.domain.mail_links import PREFERENCES, UNSUBSCRIBE, LinkClaim, link_token
from chalicelib.store import audit
from chalicelib.store.models import PrivacyRequest
from tests.support.api import FORM
from tests.support.campaigns import campaign_of, report_body
from tests.support.lists import new_list, stored, subscribe
from tests.support.mail import confirm_path, sent_mails
from tests.support.queues import deliver, run_queues, take
from tests.support.signups import form_signup
from tests.support.tables import changed_tables, snapshot

ANN = "ann@example.com"
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}
BOX_V2 = "Acme may count my opens & clicks (v2)."


def _prefs(account: dict[str, Any], list_id: str, campaign_id: str | None = None) -> str:
    return link_token(signer(), PREFERENCES, LinkClaim(account["account_id"], list_id, ANN, campaign_id))


def _page(client: Any, token: str) -> str:
    return client.http.get(f"/p/{token}").body.decode()


def _nonce(page: str) -> str:
    return re.search(r'name="nonce" value="([^"]+)"', page).group(1)


def _shown_version(page: str, list_id: str) -> str | None:
    forms = re.findall(r'<form method="post" action="[^"]*/tracking">.*?</form>', page, re.DOTALL)
    for form in forms:
        if f'name="list_id" value="{list_id}"' in form:
            found = re.search(r'name="tracking_version" value="(\d+)"', form)
            return found.group(1) if found else None
    return None


def _tracking(client: Any, token: str, list_id: str, choice: str, version: str | None = None) -> Any:
    page = _page(client, token)
    fields = {"nonce": _nonce(page), "list_id": list_id, "choice": choice}
    if choice == "give":
        fields["tracking_version"] = version or _shown_version(page, list_id) or "1"
    return client.http.post(f"/p/{token}/tracking", headers={**FORM, **BROWSER}, body=urlencode(fields))


def _leave(client: Any, token: str, list_id: str) -> Any:
    fields = {"nonce": _nonce(_page(client, token)), "list_id": list_id}
    return client.http.post(f"/p/{token}/unsubscribe", headers=FORM, body=urlencode(fields))


def _actions(account: dict[str, Any], prefix: str) -> list[str]:
    return [e.action for e in audit.entries(account["account_id"]) if e.action.startswith(prefix)]


def _requests(account: dict[str, Any]) -> int:
    return sum(1 for _ in PrivacyRequest.query(account["account_id"]))


def _replayed(act: Any) -> None:
    """Replay an act that already succeeded: the same answer, and no table changes."""
    first = act()
    before = snapshot()
    again = act()
    assert (again.status_code, again.body) == (first.status_code, first.body)
    assert changed_tables(before, snapshot()) == set()


@pytest.fixture
def stale_entries(monkeypatch):
    """The next act reads the person's entries as they were now: a replay racing the first act
    (both read before either wrote) must lose to the conditional write, not to its read."""
    from chalicelib.store import person_subscribers

    def freeze() -> None:
        real = person_subscribers.entries_of
        held: dict[Any, list[Any]] = {}

        def as_read_before(person: Any) -> list[Any]:
            key = (person.account_id, tuple(sorted(person.emails)))
            if key not in held:
                held[key] = real(person)
            return copy.deepcopy(held[key])  # as read then: a write updates the item it is given
        monkeypatch.setattr(person_subscribers, "entries_of", as_read_before)
    return freeze


# --- tracking consent (P02, P27, P30) -----------------------------------------------------------

def test_p02_p27_p30_giving_tracking_consent_again_to_the_same_text_records_nothing_new(
        client, account, headers):
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN, tracking=False)
    token = _prefs(account, list_id)
    first = _tracking(client, token, list_id, "give")
    assert first.status_code == 200, first.body
    proof = stored(list_id, ANN).tracking.as_dict()
    before = snapshot()
    again = _tracking(client, token, list_id, "give")
    assert (again.status_code, again.body) == (first.status_code, first.body)
    assert changed_tables(before, snapshot()) == set()
    assert stored(list_id, ANN).tracking.as_dict() == proof, "the first proof stays as it was"
    assert _actions(account, "subscriber.tracking") == ["subscriber.tracking_given"]


def test_p02_p30_consent_given_at_signup_and_given_again_to_the_same_text_records_nothing(
        client, account, headers):
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)  # ticked and confirmed version 1
    proof = stored(list_id, ANN).tracking.as_dict()
    before = snapshot()
    assert _tracking(client, _prefs(account, list_id), list_id, "give", "1").status_code == 200
    assert changed_tables(before, snapshot()) == set()
    assert stored(list_id, ANN).tracking.as_dict() == proof


def test_p02_p30_tracking_consent_to_a_newer_text_is_recorded(client, account, headers):
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)  # version 1
    client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                      body=json.dumps({"tracking_consent_text": BOX_V2}))
    assert _tracking(client, _prefs(account, list_id), list_id, "give", "2").status_code == 200
    assert stored(list_id, ANN).tracking.consent_text_version == 2
    assert _actions(account, "subscriber.tracking") == ["subscriber.tracking_given"]


def test_p27_p30_withdrawing_tracking_consent_twice_records_once(client, account, headers):
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    token = _prefs(account, list_id)
    _replayed(lambda: _tracking(client, token, list_id, "withdraw"))
    assert _actions(account, "subscriber.tracking") == ["subscriber.tracking_withdrawn"]
    # Given again, then withdrawn again: two new acts, each recorded.
    assert _tracking(client, token, list_id, "give").status_code == 200
    assert _tracking(client, token, list_id, "withdraw").status_code == 200
    assert len(_actions(account, "subscriber.tracking")) == 3


def test_p30_two_racing_presses_of_the_tracking_button_record_once(client, account, headers, stale_entries):
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN, tracking=False)
    token = _prefs(account, list_id)
    stale_entries()
    assert _tracking(client, token, list_id, "give").status_code == 200
    proof = stored(list_id, ANN).tracking.as_dict()
    assert _tracking(client, token, list_id, "give").status_code == 200  # read before the first wrote
    assert stored(list_id, ANN).tracking.as_dict() == proof
    assert _actions(account, "subscriber.tracking") == ["subscriber.tracking_given"]


def test_p30_two_racing_withdrawals_record_once(client, account, headers, stale_entries):
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    token = _prefs(account, list_id)
    stale_entries()
    assert _tracking(client, token, list_id, "withdraw").status_code == 200
    withdrawn = stored(list_id, ANN).tracking.withdrawn_at
    assert _tracking(client, token, list_id, "withdraw").status_code == 200
    assert stored(list_id, ANN).tracking.withdrawn_at == withdrawn
    assert _actions(account, "subscriber.tracking") == ["subscriber.tracking_withdrawn"]


# --- leaving one list in the preference centre (P07, P12, P13, P19) ------------------------------

def test_p07_p19_leaving_a_list_in_the_preference_centre_replayed_records_one_request(
        client, account, headers):
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    campaign_id = campaign_of(account["account_id"], list_id)
    token = _prefs(account, list_id, campaign_id)
    _replayed(lambda: _leave(client, token, list_id))
    assert stored(list_id, ANN).status == "unsubscribed"
    assert _requests(account) == 1 and _actions(account, "privacy.object") == ["privacy.object"]
    assert report_body(client, account, campaign_id)["unsubscribes"] == 1


def test_p12_p19_leaving_another_list_is_a_new_request(client, account, headers):
    news, offers = new_list(client, headers, "News"), new_list(client, headers, "Offers")
    subscribe(account["account_id"], news, ANN)
    subscribe(account["account_id"], offers, ANN)
    token = _prefs(account, news)
    assert _leave(client, token, news).status_code == 200
    assert _leave(client, token, offers).status_code == 200
    assert (stored(news, ANN).status, stored(offers, ANN).status) == ("unsubscribed", "unsubscribed")
    assert _requests(account) == 2 and len(_actions(account, "privacy.object")) == 2


def test_p12_p19_leaving_again_after_coming_back_is_a_new_request(client, account, headers):
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    token = _prefs(account, list_id)
    assert _leave(client, token, list_id).status_code == 200
    form_signup(client, list_id, email=ANN)  # their own way back (P12)
    deliver(take("outbox"))
    mail = [m for m in sent_mails() if str(m["To"]) == ANN][-1]
    assert client.http.post(confirm_path(mail)).status_code == 200
    assert stored(list_id, ANN).status == "confirmed"
    _replayed(lambda: _leave(client, token, list_id))
    assert stored(list_id, ANN).status == "unsubscribed"
    assert _requests(account) == 2 and len(_actions(account, "privacy.object")) == 2


def test_p13_p19_two_racing_presses_of_leave_this_list_record_and_count_once(
        client, account, headers, stale_entries):
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    campaign_id = campaign_of(account["account_id"], list_id)
    token = _prefs(account, list_id, campaign_id)
    stale_entries()
    assert _leave(client, token, list_id).status_code == 200
    assert _leave(client, token, list_id).status_code == 200  # read the entry before the first ended it
    assert _requests(account) == 1 and _actions(account, "privacy.object") == ["privacy.object"]
    assert report_body(client, account, campaign_id)["unsubscribes"] == 1


def test_p19_racing_presses_of_leave_this_list_record_once_whichever_wrote_the_suppression(
        client, account, headers, stale_entries, monkeypatch):
    """Two presses that both read the entry confirmed: one may write the list's suppression and
    the other end the entry. The entry's end decides which records the act, so not both do."""
    from chalicelib.services import preferences

    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    token = _prefs(account, list_id)
    stale_entries()
    assert _leave(client, token, list_id).status_code == 200  # ended the entry
    # The other press: its suppression write won (it came first), its entry end then found it ended.
    monkeypatch.setattr(preferences, "suppress", lambda *args, **kwargs: True)
    assert _leave(client, token, list_id).status_code == 200
    assert _requests(account) == 1 and _actions(account, "privacy.object") == ["privacy.object"]


def test_p13_leaving_in_the_preference_centre_after_the_mails_link_counts_the_campaign_once(
        client, account, headers):
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    campaign_id = campaign_of(account["account_id"], list_id)
    claim = LinkClaim(account["account_id"], list_id, ANN, campaign_id)
    assert client.http.post(f"/u/{link_token(signer(), UNSUBSCRIBE, claim)}",
                            headers=FORM, body="List-Unsubscribe=One-Click").status_code == 200
    token = _prefs(account, list_id, campaign_id)
    _replayed(lambda: _leave(client, token, list_id))
    assert report_body(client, account, campaign_id)["unsubscribes"] == 1
    # The first press still added the list's own suppression (P12): one request, no more.
    assert _requests(account) == 1


def test_p12_p19_leaving_every_list_in_the_preference_centre_replayed_records_one_request(
        client, account, headers):
    news, offers = new_list(client, headers, "News"), new_list(client, headers, "Offers")
    subscribe(account["account_id"], news, ANN)
    subscribe(account["account_id"], offers, ANN)
    campaign_id = campaign_of(account["account_id"], news)
    token = _prefs(account, news, campaign_id)
    _replayed(lambda: _leave(client, token, "all"))
    assert (stored(news, ANN).status, stored(offers, ANN).status) == ("unsubscribed", "unsubscribed")
    assert _requests(account) == 1 and _actions(account, "privacy.object") == ["privacy.object"]
    assert report_body(client, account, campaign_id)["unsubscribes"] == 1


def test_p12_p19_two_racing_presses_of_leave_every_list_record_once(client, account, headers, stale_entries):
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    token = _prefs(account, list_id)
    stale_entries()
    assert _leave(client, token, "all").status_code == 200
    assert _leave(client, token, "all").status_code == 200  # read the entry before the first ended it
    assert _requests(account) == 1 and _actions(account, "privacy.object") == ["privacy.object"]


def test_p19_racing_presses_of_leave_every_list_record_once_whichever_wrote_the_suppression(
        client, account, headers, stale_entries, monkeypatch):
    from chalicelib.services import privacy

    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    token = _prefs(account, list_id)
    stale_entries()
    assert _leave(client, token, "all").status_code == 200  # ended the entry
    # The other press: its suppression write won (it came first), its entry end then found it ended.
    monkeypatch.setattr(privacy, "suppress_hash", lambda *args, **kwargs: True)
    assert _leave(client, token, "all").status_code == 200
    assert _requests(account) == 1 and _actions(account, "privacy.object") == ["privacy.object"]


# --- the mail's unsubscribe link, the platform-wide opt-out, SMS STOP (P07, P12, P13) ------------

@pytest.mark.parametrize("how", [
    {"method": "GET"},
    {"method": "POST", "headers": FORM, "body": "scope=list"},
    {"method": "POST", "headers": FORM, "body": "scope=all"},
    {"method": "POST", "headers": FORM, "body": "List-Unsubscribe=One-Click"},
])
def test_p07_p13_the_mails_unsubscribe_link_replayed_writes_nothing_more(client, account, headers, how):
    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    campaign_id = campaign_of(account["account_id"], list_id)
    claim = LinkClaim(account["account_id"], list_id, ANN, campaign_id)
    path = f"/u/{link_token(signer(), UNSUBSCRIBE, claim)}"
    request = {key: value for key, value in how.items() if key != "method"}
    _replayed(lambda: client.http.request(how["method"], path, **request))
    expected = 0 if how["method"] == "GET" else 1
    assert report_body(client, account, campaign_id)["unsubscribes"] == expected


def test_p12_the_platform_wide_opt_out_replayed_writes_nothing_more(client, account):
    from chalicelib.domain.optout import optout_token

    path = f"/optout/{optout_token(signer(), ANN)}"
    _replayed(lambda: client.http.post(path))
    assert client.http.get(path).status_code == 200


def test_p12_an_sms_stop_replayed_writes_nothing_more(client, aws, account, headers):
    from chalicelib.services.sms_inbound import apply_inbound_sms

    list_id = new_list(client, headers, "Texts", consent="Yes, text me offers.")
    subscribe(account["account_id"], list_id, ANN, phone="+40712345678")
    campaign = client.http.post("/v1/campaigns", headers=headers, body=json.dumps({
        "name": "Flash sale", "channel": "sms", "list_ids": [list_id], "sms_body": "20% off today."}))
    client.http.post(f"/v1/campaigns/{json.loads(campaign.body)['campaign_id']}/send", headers=headers)
    run_queues(client)
    stop = json.dumps({"originationNumber": "+40712345678", "destinationNumber": "+12125550101",
                       "messageBody": "STOP"})
    assert apply_inbound_sms(stop) == 1, "the account that texted the number suppresses it"
    before = snapshot()
    assert apply_inbound_sms(stop) == 1
    assert changed_tables(before, snapshot()) == set()


def test_p12_p19_leaving_everything_again_after_coming_back_closes_the_way_back(client, account, headers):
    """They left every list, came back to one by their own signup (a lift of the account's
    suppression for it), then left every list again: recorded, and the lift closes, as the
    mail's own leave-everything link closes it; else the account's suppression stays lifted for
    that list after their objection (P12)."""
    from chalicelib.config import hash_key
    from chalicelib.domain.suppression import address_hash
    from chalicelib.store.models import Suppression

    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    token = _prefs(account, list_id)
    assert _leave(client, token, "all").status_code == 200
    form_signup(client, list_id, email=ANN)  # their own way back (P12)
    deliver(take("outbox"))
    mail = [m for m in sent_mails() if str(m["To"]) == ANN][-1]
    assert client.http.post(confirm_path(mail)).status_code == 200
    suppression = Suppression.get(account["account_id"], address_hash(ANN, hash_key()))
    assert suppression.lifted_for == {list_id}
    _replayed(lambda: _leave(client, token, "all"))
    assert stored(list_id, ANN).status == "unsubscribed"
    assert _requests(account) == 2 and len(_actions(account, "privacy.object")) == 2
    suppression = Suppression.get(account["account_id"], address_hash(ANN, hash_key()))
    assert not suppression.lifted_for


def test_p12_p19_leaving_a_list_whose_suppression_a_racing_press_wrote_first_is_recorded(
        client, account, headers):
    """Two presses of "leave this list": one writes the list's suppression first, the other ends
    the entry. The one that ended it records the request, however the suppression went."""
    from chalicelib.domain.suppression import SuppressionReason
    from chalicelib.store.suppressions import suppress

    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    token = _prefs(account, list_id)
    suppress(account["account_id"], ANN, SuppressionReason.UNSUBSCRIBED, list_id=list_id)  # the other press
    assert _leave(client, token, list_id).status_code == 200
    assert stored(list_id, ANN).status == "unsubscribed"
    assert _requests(account) == 1 and _actions(account, "privacy.object") == ["privacy.object"]


def test_p12_p19_leaving_everything_whose_suppression_a_racing_press_wrote_first_is_recorded(
        client, account, headers):
    """As for one list: the press of "leave everything" that ended the entry records the request,
    though a racing press wrote the account's suppression first."""
    from chalicelib.domain.suppression import SuppressionReason
    from chalicelib.store.suppressions import suppress

    list_id = new_list(client, headers)
    subscribe(account["account_id"], list_id, ANN)
    token = _prefs(account, list_id)
    suppress(account["account_id"], ANN, SuppressionReason.UNSUBSCRIBED)  # the other press
    assert _leave(client, token, "all").status_code == 200
    assert stored(list_id, ANN).status == "unsubscribed"
    assert _requests(account) == 1 and _actions(account, "privacy.object") == ["privacy.object"]
