"""The whole retention timeline with a frozen clock, day 0 to day 400 (P01, P21-P25, P29).

The purge runs every day, as EventBridge runs it; what exists is asserted on the days a rule
turns. Five accounts: one used every two months, one never used again, one suspended on day 50,
one that asks for deletion, reactivates, asks again, and one used once after its warning.

The purge reads one day back instead of its deployed LOOKBACK_DAYS (14): that lookback is for
missed runs (tests/test_bites_retention.py), and with a run every day it only repeats ~130 empty
queries a run. Reading fewer buckets can only find less, never sooner: every "gone on day N"
here holds as deployed too, and "not before" is decided by each item's expiry, not the lookback.
"""
from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from chalicelib.cli import create_account_with_key
from chalicelib.config import hash_key
from chalicelib.domain import retention as retention_rules
from chalicelib.domain.account_lifecycle import INACTIVITY_MAIL_KIND
from chalicelib.domain.suppression import address_hash
from chalicelib.services.retention import run_purges
from chalicelib.store.health import suspend
from chalicelib.store.models import Account, MailingList, Suppression
from tests.support.api import bearer
from tests.support.campaigns import campaign_of
from tests.support.lists import new_list, stored, subscribe
from tests.support.mail import sent_mails
from tests.support.privacy import PERSON, add
from tests.support.queues import deliver, take
from tests.support.retention import day, on_day, sent_message
from tests.support.tables import stored_message_ids
from tests.support.tracking import opened_and_clicked

LEAVER = "leaver@example.com"
READER = "reader@example.com"
PROFILE = {"postal_address": "1 Main Street", "contact_email": "owner@acme.example",
           "sender_identity": "news@acme.example"}


def _account(name: str) -> tuple[str, dict[str, str]]:
    # Each account its own From (P35: an identity belongs to one account).
    domain = "".join(character for character in name.lower() if character.isalnum())
    created = create_account_with_key(name, {**PROFILE, "sender_identity": f"news@{domain}.example"})
    return created["account_id"], bearer(created["api_key"])


def _exists(account_id: str) -> bool:
    try:
        Account.get(account_id)
    except Account.DoesNotExist:
        return False
    return True


def _confirm_deletion(client, api) -> None:
    assert client.http.post("/v1/account/deletion", headers=api).status_code == 202
    deliver(take("outbox"))
    text = sent_mails()[-1].get_body(preferencelist=("plain",)).get_content()
    link = urlsplit(re.search(r"https?://\S+/account/deletion/\S+", text).group(0)).path
    assert client.http.post(link).status_code == 200


def _unsubscribe(account_id: str, list_id: str, address: str) -> None:
    from chalicelib.domain.mail_links import LinkClaim
    from chalicelib.services.unsubscribe import Scope, unsubscribe

    assert unsubscribe(LinkClaim(account_id, list_id, address, None), Scope.LIST)


def _export(account_id: str, address: str) -> dict:
    from chalicelib.services.privacy import export_person

    return export_person(account_id, address)


@pytest.mark.runs_long
def test_p01_p21_p22_p23_p24_p25_p29_the_retention_timeline_day_0_to_400(client, monkeypatch):
    # One day back: an item due late in the day is found by the next day's run.
    monkeypatch.setattr(retention_rules, "LOOKBACK_DAYS", 1)
    warnings: dict[str, int] = {}
    with on_day(0):
        used, used_api = _account("Used")
        idle, _ = _account("Idle")
        suspended, suspended_api = _account("Suspended")
        leaving, leaving_api = _account("Leaving")
        returning, returning_api = _account("Returning")
        news = new_list(client, used_api, "News")
        add(client, used_api, news, proof=False)  # double opt-in: pending until confirmed
        take("outbox")  # its confirmation mail is not what this test follows
        sent_message("msg_1", used)
        new_list(client, suspended_api, "Suspended news", double_opt_in=False)
        subscribe(used, news, LEAVER)
        subscribe(used, news, READER)
        spring = campaign_of(used, news)

    for n in range(401):
        with on_day(n + 0.05):  # the daily run, shortly after the accounts' own time of day
            if n % 60 == 0:
                assert client.http.get("/v1/account", headers=used_api).status_code == 200
            if n == 50:
                suspend(suspended, "complaint_rate")
            if n == 100:
                _confirm_deletion(client, leaving_api)
            if n == 110:
                assert client.http.post("/v1/account/reactivate", headers=leaving_api).status_code == 200
            if n == 120:
                _confirm_deletion(client, leaving_api)
            if n == 340:
                assert client.http.get("/v1/account", headers=returning_api).status_code == 200
            if n == 200:
                _unsubscribe(used, news, LEAVER)
            if n == 1:  # the reader opens and clicks the campaign mailed on day 0
                opened_and_clicked(used, news, spring, READER, sent_at=day(0))
            report = run_purges()
            assert report.complete
            # P21: the reader's open and click history goes within 30 days of the mail: it
            # expires on day 28, and DynamoDB's TTL deletes it within about two days; until
            # then it is held, so exported (P16, P20).
            if n in (1, 27, 28):
                assert _export(used, READER)["tracking"], n
            for job in take("outbox"):
                body = json.loads(job["body"])
                if body["kind"] == INACTIVITY_MAIL_KIND:
                    warnings[body["account_id"]] = n

        # P01: the unconfirmed signup is gone on day 7, not before.
        if n in (6, 7):
            assert (stored(news, PERSON) is not None) == (n == 6), n
        # P21: the message record is gone on day 30, not before.
        if n in (29, 30):
            assert ("msg_1" in stored_message_ids()) == (n == 29), n
        # P22: suspended on day 50, its content is erased on day 80.
        if n in (79, 80):
            assert bool(list(MailingList.by_account.query(suspended))) == (n == 79), n
        # P23: the reactivated request (day 100) never deletes; the second one (day 120) does, on day 150.
        if n in (130, 149, 150):
            assert _exists(leaving) == (n != 150), n
        # P29: unsubscribed on day 200, the entry and its data go on day 230; the export says so.
        if n in (201, 229, 230):
            held = _export(used, LEAVER)["subscriptions"]
            assert (stored(news, LEAVER) is not None) == (n != 230) == bool(held), n
            if held:
                assert held[0]["expires_at"] == day(230.05).isoformat()
            assert Suppression.get(used, address_hash(LEAVER, hash_key())).reason == "unsubscribed"
        # P24: unused from day 0, warned on day 335, deleted on day 366: activity is kept as a
        # day, and only from then on has a full year passed whatever time of day 0 it was used.
        if n in (334, 335):
            assert (idle in warnings) == (n == 335), n
        if n in (365, 366):
            assert _exists(idle) == _exists(suspended) == (n == 365), n

    assert warnings == {idle: 335, returning: 335, suspended: 335}, "one warning each, on time"
    assert _exists(used) and _exists(returning), "used within the year: kept"
    # The suspended account lost its content on day 80; unused for a year, the rest went on day 366.
    assert not _exists(idle) and not _exists(leaving) and not _exists(suspended)
