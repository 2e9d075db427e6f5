"""Threshold rules tested just below and just above their numbers, with the default thresholds
(issue 14, item 3): P26 complaints 0.1% and bounces 5% from 200 mails, P07 60 days, P19 30 days and
the 5-day flag, P21 30 days, P22 30 days, P23 30 days, P24 a year and the 30-day warning."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from chalicelib.config import settings
from chalicelib.domain.health import HealthPolicy
from chalicelib.store.models import Account
from tests.support.api import FORM, bearer
from tests.support.lists import new_list
from tests.support.queues import take
from tests.support.retention import day, on_day

SECOND = timedelta(seconds=1)


# --- P26: suspension at the default thresholds ---------------------------------------------------

def test_p26_the_default_thresholds_are_the_policys_numbers():
    policy = settings().health
    assert policy == HealthPolicy()
    assert (policy.max_complaint_rate, policy.max_bounce_rate, policy.min_volume, policy.window_days) == (
        0.001, 0.05, 200, 30)


def _mailed(client, account, list_id: str, people: int, total: int) -> None:
    """`people` mails through the send worker (so their feedback matches a message record), and
    more mails counted the same day until `total` were sent."""
    from chalicelib.domain.clock import now
    from tests.support.counters import count_sent
    from tests.test_suspension import sends

    sends(client, account, list_id, people)
    count_sent(account["account_id"], now().date(), total - people)


def _status(account) -> str:
    return Account.get(account["account_id"]).status


@pytest.mark.parametrize(("total", "suspended"), [(1001, False), (1000, True), (199, False), (200, True)])
def test_p26_one_complaint_suspends_at_0_1_percent_not_just_below_and_not_under_200_mails(
        client, account, total, suspended):
    """1 in 1000 is 0.1%: suspended; 1 in 1001 is just below. Under 200 mails there is no verdict
    (1 in 199 is 0.5%); at 200 there is."""
    from tests.test_suspension import complaint, feed

    list_id = new_list(client, bearer(account["api_key"]))
    _mailed(client, account, list_id, 1, total)
    feed(client, complaint(account, list_id))
    assert (_status(account) == "suspended") is suspended


def test_p26_bounces_suspend_at_5_percent_and_not_just_below(client, account):
    """Of 1000 mails, 49 hard bounces (4.9%) leave the account active; the 50th (5%) suspends it."""
    from tests.test_suspension import feed, hard_bounce

    list_id = new_list(client, bearer(account["api_key"]))
    _mailed(client, account, list_id, 50, 1000)
    feed(client, *[hard_bounce(account, list_id, f"p{index}@example.com") for index in range(49)])
    assert _status(account) == "active"
    feed(client, hard_bounce(account, list_id, "p49@example.com"))
    assert _status(account) == "suspended"


# --- P07: unsubscribe links work 60 days and more --------------------------------------------------

@pytest.mark.parametrize("age", [timedelta(days=60) - SECOND, timedelta(days=60) + SECOND])
def test_p07_an_unsubscribe_link_still_works_on_either_side_of_day_60(client, account, age):
    import time_machine

    from chalicelib.config import signer
    from chalicelib.domain.mail_links import UNSUBSCRIBE, LinkClaim, link_token
    from tests.support.lists import status_of, subscribe

    list_id = new_list(client, bearer(account["api_key"]))
    subscribe(account["account_id"], list_id, "ann@example.com")
    sent_at = datetime.now(UTC)
    with time_machine.travel(sent_at, tick=False):
        token = link_token(signer(), UNSUBSCRIBE, LinkClaim(account["account_id"], list_id,
                                                            "ann@example.com", "cmp_1"))
    with time_machine.travel(sent_at + age, tick=False):
        response = client.http.post(f"/u/{token}", headers=FORM, body="List-Unsubscribe=One-Click")
    assert response.status_code == 200, response.body
    assert status_of(list_id, "ann@example.com") == "unsubscribed"


# --- P19: every request is due in 30 days, flagged 5 days before ----------------------------------

def test_p19_a_request_is_due_30_days_after_it_was_received():
    from chalicelib.domain.privacy import due_at

    received = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert due_at(received) == received + timedelta(days=30)


@pytest.mark.parametrize(("left", "soon", "overdue"), [
    (timedelta(days=5) + SECOND, False, False), (timedelta(days=5), True, False), (SECOND, True, False),
    (timedelta(0), False, True), (-SECOND, False, True)])
def test_p19_a_request_is_flagged_from_5_days_before_its_due_date(left, soon, overdue):
    from chalicelib.domain.privacy import deadline

    due = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    flags = deadline(due, False, due - left)
    assert (flags.overdue_soon, flags.overdue) == (soon, overdue)
    assert deadline(due, True, due - left) == deadline(due, True, due), "a completed request is not flagged"


# --- P21: message records go 30 days after sending -------------------------------------------------

def test_p21_a_message_record_is_kept_until_day_30_and_erased_just_after(aws):
    from chalicelib.services.retention import run_purges
    from tests.support.retention import sent_message
    from tests.support.tables import stored_message_ids

    with on_day(0):
        sent_message("msg_1", "acc_1")
    with on_day(30 - 1 / 86_400):
        assert run_purges().counts["messages"] == 0
        assert stored_message_ids() == {"msg_1"}
    with on_day(30 + 1 / 86_400):
        assert run_purges().counts["messages"] == 1
        assert stored_message_ids() == set()


# --- P24: a year of inactivity, warned 30 days before --------------------------------------------

AT = datetime(2027, 6, 1, 3, 0, tzinfo=UTC)


def _activity(inactive_days: int, warned_days_ago: float | None):
    from chalicelib.domain.retention import Activity

    warned = None if warned_days_ago is None else AT - timedelta(days=warned_days_ago)
    return Activity(last_active_day=(AT - timedelta(days=inactive_days)).date().isoformat(), warned_at=warned)


@pytest.mark.parametrize(("inactive_days", "warned"), [(334, False), (335, True)])
def test_p24_the_warning_goes_30_days_before_the_year_and_not_earlier(inactive_days, warned):
    from chalicelib.domain.retention import needs_inactivity_warning

    assert needs_inactivity_warning(_activity(inactive_days, None), AT) is warned
    assert needs_inactivity_warning(_activity(inactive_days, 1), AT) is False, "warned once"


@pytest.mark.parametrize(("inactive_days", "warned_days_ago", "deleted"), [
    (366, 30, True),            # a full year inactive, however late that day it was used; warned 30 days ago
    (365, 30, False),           # used on this day a year ago: maybe later in the day than now
    (366, 30 - 1 / 86_400, False),  # warned a second less than 30 days ago
    (400, 29, False),           # long inactive but warned late: the 30 days' notice still holds
    (400, None, False),         # never warned: never deleted
])
def test_p24_deletion_needs_a_year_inactive_and_a_warning_at_least_30_days_old(
        inactive_days, warned_days_ago, deleted):
    from chalicelib.domain.retention import inactive_for_deletion

    assert inactive_for_deletion(_activity(inactive_days, warned_days_ago), AT) is deleted


def _account_kept(account_id: str) -> bool:
    try:
        Account.get(account_id)
    except Account.DoesNotExist:
        return False
    return True


def test_p24_an_account_used_late_in_the_day_is_not_deleted_before_a_full_year(client, account):
    """P24: an account inactive for 1 year is deleted; P25: never before its period ends. The
    activity is kept as a UTC day and the cutoff compares days with `<=`, so an account last
    used at 23:50 is deleted by a run 364 days and ~12 hours later (the daily schedule runs at
    any hour). The cutoff must guarantee a full year (e.g. `last_active_day <` the cutoff day)."""
    from chalicelib.services.retention import run_purges

    last_use = datetime(2026, 1, 5, 23, 50, tzinfo=UTC)
    with time_machine.travel(last_use, tick=False):
        assert client.http.get("/v1/account", headers=bearer(account["api_key"])).status_code == 200
    with time_machine.travel(datetime(2026, 12, 6, 12, 0, tzinfo=UTC), tick=False):
        assert run_purges().counts["inactivity_warnings"] == 1
    at = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
    assert at - last_use < timedelta(days=365)
    with time_machine.travel(at, tick=False):
        run_purges()
        assert _account_kept(account["account_id"]), \
            f"deleted after {at - last_use} of inactivity, less than a year"


# --- P22 and P23: 30 days of grace -------------------------------------------------------------------

def test_p22_a_suspended_accounts_content_is_kept_30_days_and_erased_just_after(client, account):
    from chalicelib.services.retention import run_purges
    from chalicelib.store.models import MailingList

    account_id = account["account_id"]
    list_id = new_list(client, bearer(account["api_key"]))
    Account(account_id=account_id).update(actions=[
        Account.status.set("suspended"), Account.suspended_at.set(day(0))])
    with on_day(30 - 1 / 86_400):
        run_purges()
        assert MailingList.count(list_id) == 1
    with on_day(30 + 1 / 86_400):
        run_purges()
        assert MailingList.count(list_id) == 0
        assert _account_kept(account_id), "only the content goes (P22)"


def test_p23_a_confirmed_deletion_takes_effect_30_days_later_and_not_before(client, account):
    from chalicelib.services import account_lifecycle
    from chalicelib.services.retention import run_purges

    account_id = account["account_id"]
    with on_day(0):
        account_lifecycle.request_deletion(account_id, "test")
        [job] = [json.loads(record["body"]) for record in take("outbox")]
        token = re.search(r"/account/deletion/([\w.\-]+)", job["email"]["text"]).group(1)
        account_lifecycle.confirm_deletion(token)
    with on_day(30 - 1 / 86_400):
        run_purges()
        assert _account_kept(account_id)
    with on_day(30 + 1 / 86_400):
        run_purges()
        assert not _account_kept(account_id)
