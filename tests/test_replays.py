"""Public acts replayed record nothing new (P02, P07, P12, P13, P19, P27, P30).

The opt-out surfaces are not rate-capped (P07, P30: opting out must always work), so a replay
loop must not grow a table: a replay answers as the first success did and writes nothing; a
genuinely new act (a newer consent text, another list, a way back then out again) is recorded.
"""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.config import signer
from chalicelib.domain.mail_links import PREFERENCES, LinkClaim, link_token
from chalicelib.store import audit
from tests.support.api import FORM
from tests.support.lists import new_list, stored, subscribe
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


def _actions(account: dict[str, Any], prefix: str) -> list[str]:
    return [e.action for e in audit.entries(account["account_id"]) if e.action.startswith(prefix)]


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
            return held[key]
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
