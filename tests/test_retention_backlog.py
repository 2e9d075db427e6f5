"""The daily purge catches up on a backlog under its deployed timeout (P21-P25).

The retention worker runs as deployed (chalicelib/functions.py: its timeout; the scheduled event;
chalicelib/local/invoke.py: a Lambda context that counts down and FunctionTimedOut on overrun),
once a day, on a backlog larger than one run can clear. moto answers in microseconds, and a busy
test machine stretches the wall clock, so the context's clock here is a model, the same on every
machine: a latency per AWS call (the code's own time is small beside it): the model is AWS's ~10 ms a call
(bench/prices.py AWS_CALL_LATENCY_MS) and 1,000-key pages, both scaled by 20 (200 ms a call,
50-key pages) so that a test-sized backlog takes several 300-second runs.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bench.aws_calls import count_aws_calls
from chalicelib.cli import create_account_with_key
from chalicelib.config import settings
from chalicelib.domain.lists import ConsentText
from chalicelib.domain.subscriptions import ConsentEvidence, Contact, Source, Status
from chalicelib.functions import function_spec
from chalicelib.local.invoke import invoke_handler
from chalicelib.local.scheduler import scheduled_event
from chalicelib.services.retention import last_run
from chalicelib.store import account_lifecycle as lifecycle
from chalicelib.store import retention as retention_store
from chalicelib.store.health import suspend
from chalicelib.store.lists import create_list
from chalicelib.store.models import Account, MessagePurgeList, MessageRecord, Subscriber
from chalicelib.store.subscribers import write_signup
from tests.support.retention import day, on_day, sent_message
from tests.support.tables import items_of_account, items_of_accounts, saved_in_batches, stored_ids

SECONDS_PER_CALL = 0.2  # AWS's ~10 ms, scaled by 20
PAGE_SIZE = 50  # the purge's 1,000, scaled by 20
# Message records are looked up 100 at a time, and TTL has usually deleted them: here 2 at a
# time, all still held (TTL late), so that they take more than a whole run's ~1,475 calls.
RECORDS_CHECKED = 2
MESSAGES = 1600  # ~1 call each: a lookup and a delete a pair
PENDING_SIGNUPS = 300  # one call each
UNDATED_ENDED = 60  # ended before endings were dated (P29 backfill): two calls each
# Every step with a backlog makes progress on the first run; all are done by this run.
RUNS_TO_CATCH_UP = 3


def modelled_clock(calls: Any) -> Callable[[], float]:
    """SECONDS_PER_CALL for every AWS call made so far."""
    return lambda: calls.total * SECONDS_PER_CALL


def run_daily_purge(on: float) -> dict[str, Any]:
    """The retention worker as EventBridge runs it on day `on`, under its deployed timeout."""
    from app import app

    with on_day(on), count_aws_calls() as calls:
        event = scheduled_event(app, "retention_worker", day(on), settings().region)
        return invoke_handler(app, "retention_worker", event, settings().region, clock=modelled_clock(calls))


def _account_with_content(name: str, subscribers: int) -> str:
    owner = {"contact_email": f"owner@{name.lower()}.example"}
    account_id = create_account_with_key(name, owner)["account_id"]
    mailing_list = create_list(account_id, {"name": "News"}, [ConsentText(1, "Yes, send me news.", day(370))])
    consent = ConsentEvidence(given_at=day(370), source=Source.API, consent_text_version=1)
    with saved_in_batches(Subscriber):
        for n in range(subscribers):
            write_signup(account_id, mailing_list.list_id, Contact(email=f"reader{n}@example.com"), consent,
                         Status.CONFIRMED)
    return account_id


def _backlog() -> dict[str, str]:
    """Everything each purge step has to do on day 401, more than one run can do."""
    with on_day(0):
        to_warn = create_account_with_key("Quiet", {"contact_email": "owner@quiet.example"})["account_id"]
        to_delete = create_account_with_key("Gone", {"contact_email": "owner@gone.example"})["account_id"]
    with on_day(360):
        # Warned on day 360 for inactivity; still unused 30 days later: deleted (P24).
        assert lifecycle.mark_warned(Account.get(to_delete))
    with on_day(369), saved_in_batches(MessageRecord, MessagePurgeList):
        for n in range(MESSAGES):
            sent_message(f"msg_{n:03}", "acc_sender")  # erased 30 days after sending (P21)
    with on_day(370):
        suspended = _account_with_content("Suspended", subscribers=25)
        assert suspend(suspended, "complaint_rate") is not None  # content erased after 30 days (P22)
        leaving = _account_with_content("Leaving", subscribers=25)
        lifecycle.set_deletion_nonce(leaving, "nonce")
        assert lifecycle.schedule_deletion(leaving, "nonce") is not None  # deleted on day 400 (P23)
    with on_day(390), saved_in_batches(Subscriber):
        consent = ConsentEvidence(given_at=day(390), source=Source.API, consent_text_version=1)
        for n in range(PENDING_SIGNUPS):  # unconfirmed for 7 days (P01)
            write_signup("acc_sender", "lst_pending", Contact(email=f"pending{n}@example.com"), consent,
                         Status.PENDING)
    with on_day(300):
        # Ended before endings were dated, so not in the purge index: the backfill dates them.
        before = _account_with_content("Before", subscribers=UNDATED_ENDED)
        ended = [entry for entry in Subscriber.scan() if entry.account_id == before]
        with saved_in_batches(Subscriber):
            for entry in ended:
                entry.status, entry.list_status = "unsubscribed", f"{entry.list_id}#unsubscribed"
                entry.save()
    return {"to_warn": to_warn, "to_delete": to_delete, "suspended": suspended, "leaving": leaving,
            "before": before}


@pytest.mark.runs_long
def test_p21_p25_the_daily_purge_catches_up_on_a_backlog_within_its_deployed_timeout(aws, monkeypatch):
    monkeypatch.setattr(retention_store, "PAGE_SIZE", PAGE_SIZE)
    monkeypatch.setattr(retention_store, "RECORDS_CHECKED", RECORDS_CHECKED)
    accounts = _backlog()
    assert function_spec("retention_worker").timeout_seconds == 300

    found = items_of_accounts(list(accounts.values()))  # one scan of every table, not one an account
    held = {name: sum(found[account_id].values()) for name, account_id in accounts.items()}

    reports = [run_daily_purge(on=401)]
    first = reports[0]
    assert not first["complete"], "the backlog is larger than one run can clear"
    # Every step made progress on the first run, though not every one could finish.
    assert first["counts"]["messages"] > 0 and first["counts"]["pending_signups"] > 0
    assert first["counts"]["inactivity_warnings"] >= 1  # P24
    shrunk = ("suspended", "leaving", "to_delete")  # P22, P23, P24
    left = items_of_accounts([accounts[name] for name in shrunk])
    for name in shrunk:
        assert sum(left[accounts[name]].values()) < held[name], name
    reports += [run_daily_purge(on=402 + n) for n in range(RUNS_TO_CATCH_UP - 1)]

    assert reports[-1]["complete"], [report["unfinished"] for report in reports]
    total = {kind: sum(report["counts"][kind] for report in reports) for kind in first["counts"]}
    assert total["messages"] == MESSAGES and total["pending_signups"] == PENDING_SIGNUPS
    assert total["suspended_account_content"] == total["deleted_accounts"] == total["inactive_accounts"] == 1
    assert total["ended_entries"] == UNDATED_ENDED

    assert list(MessageRecord.scan()) == []
    assert "lst_pending" not in stored_ids(Subscriber)
    for deleted in (accounts["leaving"], accounts["to_delete"]):
        # Only the platform's own audit entry that says it was deleted (P25) names it still.
        assert items_of_account(deleted) == {"audit-log": 1}
        assert not any(True for _ in Account.query(deleted))
    assert Account.get(accounts["suspended"]).status == "content_erased"
    assert not {"lists", "subscribers"} & set(items_of_account(accounts["suspended"])), "its content"
    assert "subscribers" not in items_of_account(accounts["before"]), "P29, backfilled"
    assert Account.get(accounts["to_warn"]).inactivity_warned_at is not None
    with on_day(404):
        assert last_run().outcome == "complete"
