"""Abuse limits on public signups: counters in DynamoDB, keyed hashes, all-or-nothing."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import time_machine

from chalicelib.domain.signup_limits import SignupLimits, address_counters, request_counters
from chalicelib.queue_batches import BatchFailed
from chalicelib.store.models import RateCounter
from chalicelib.store.rate_limits import ATTEMPTS, consume, consume_each, refund
from tests.support.api import FORM
from tests.support.events import sqs_event
from tests.support.faults import FailsOnce, conflict_transactions_on
from tests.support.lists import stored
from tests.support.privacy_scan import contact_forms
from tests.support.queues import take
from tests.support.signups import SHOP, form_signup, js_signup

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "test-secret"


def request(ip="198.51.100.7", list_id="lst_1", **limits):
    return request_counters(SignupLimits(**limits), SECRET, list_id, ip)


def address(address="ann@example.com", list_id="lst_1", account_id="acc_1", **limits):
    return address_counters(SignupLimits(**limits), SECRET, account_id, list_id, address)


def test_p15_counter_keys_hold_no_ip_or_address():
    forms = contact_forms(["ann@example.com"], ips=["198.51.100.7"])
    for counter in request() + address():
        assert forms.found_in(counter.key) == [], counter.key


def test_p15_a_public_signup_leaves_no_ip_or_address_in_any_table_but_its_entry_nor_in_the_logs(
        client, news_list, logs):
    from tests.support.privacy_scan import found_in_tables, scan_every_table

    form_signup(client, news_list["list_id"], email="Zoe.Quill@Example.com")
    forms = contact_forms(["Zoe.Quill@Example.com"], ips=["127.0.0.1"])
    tables = scan_every_table()
    assert any(row for row in tables["rate-counters"]), "the signup was counted"
    held = found_in_tables(tables, forms)
    assert set(held) <= {"subscribers"}, held  # the entry itself holds the address and consent IP
    assert forms.found_in(logs.text) == []


def test_one_confirmation_mail_per_address_per_list_per_interval(aws):
    assert consume(address(), AT) == []
    [hit] = consume(address(), AT + timedelta(minutes=5))
    assert hit.key.startswith("mail:")
    assert consume(address(list_id="lst_2"), AT + timedelta(minutes=5)) == [], "another list is separate"
    assert consume(address(), AT + timedelta(minutes=11)) == [], "a new interval allows a new mail"


def test_per_address_daily_limit_across_one_accounts_lists(aws):
    for n in range(3):
        assert consume(address(list_id=f"lst_{n}", per_address_per_day=3), AT) == []
    [hit] = consume(address(list_id="lst_9", per_address_per_day=3), AT)
    assert hit.key.startswith("addr:acc_1:")
    # Another account's lists count apart: the address's owner can still subscribe there.
    assert consume(address(list_id="lst_x", account_id="acc_2", per_address_per_day=3), AT) == []


def test_per_address_daily_limit_on_one_list(aws):
    for minutes in (0, 11, 22):
        assert consume(address(), AT + timedelta(minutes=minutes)) == []
    [hit] = consume(address(), AT + timedelta(minutes=33))
    assert hit.key.startswith("addr-list:")
    assert consume(address(list_id="lst_2"), AT + timedelta(minutes=33)) == []


def test_per_ip_limit_refuses_once_reached(aws):
    for _ in range(3):
        assert consume(request(per_ip_per_hour=3), AT) == []
    [hit] = consume(request(per_ip_per_hour=3), AT)
    assert hit.key.startswith("ip:")
    assert consume(request(per_ip_per_hour=3), AT + timedelta(hours=1)) == []


def test_per_ip_limit_counts_an_ipv6_network_as_one_caller(aws):
    """An IPv6 customer gets a whole /64 (2^64 addresses) and picks any of them per request:
    counted per address, the hourly limit would be no limit at all, for signups and for the
    platform opt-out, which has no other. A /64 is one caller; the next /64 is another; an
    IPv4 address written IPv6-mapped is that IPv4 address."""
    for n in range(3):
        assert consume(request(ip=f"2001:db8:1:2::{n + 1:x}", per_ip_per_hour=3), AT) == []
    [hit] = consume(request(ip="2001:db8:1:2:ffff:ffff:ffff:ffff", per_ip_per_hour=3), AT)
    assert hit.key.startswith("ip:")
    assert consume(request(ip="2001:db8:1:3::1", per_ip_per_hour=3), AT) == [], "another network"
    for _ in range(3):
        assert consume(request(ip="198.51.100.9", per_ip_per_hour=3), AT) == []
    [mapped] = consume(request(ip="::ffff:198.51.100.9", per_ip_per_hour=3), AT)
    assert mapped.key.startswith("ip:")


def test_per_list_daily_cap(aws):
    for n in range(2):
        assert consume(request(ip=f"203.0.113.{n}", per_list_per_day=2), AT) == []
    [hit] = consume(request(ip="203.0.113.9", per_list_per_day=2), AT)
    assert hit.key.startswith("list:")


def test_a_refused_attempt_consumes_nothing(aws):
    consume(address(), AT)
    consume(address(), AT)  # refused by the mail interval: nothing may be counted
    stored_counts = {c.counter_key.split("#")[0].split(":")[0]: int(c.count) for c in RateCounter.scan()}
    assert stored_counts == {"addr": 1, "addr-list": 1, "mail": 1}


def test_counters_expire_with_their_window(aws):
    consume(request() + address(), AT)
    for counter in RateCounter.scan():
        assert AT < counter.expires_at <= AT + timedelta(days=1)


# --- through the public routes ------------------------------------------------------------------

def test_p05_a_rate_limited_address_gets_the_same_answer_and_no_mail(client, news_list):
    first = form_signup(client, news_list["list_id"], email="ann@example.com")
    take("outbox")
    again = form_signup(client, news_list["list_id"], email="ann@example.com")
    assert (again.status_code, again.body) == (first.status_code, first.body)
    assert take("outbox") == []


def test_per_ip_limit_answers_429_on_the_form_and_the_js_endpoint(client, news_list, settings_env):
    settings_env(TIDINGS_LIMIT_SIGNUPS_PER_IP_PER_HOUR="2")
    list_id = news_list["list_id"]
    for n in range(2):
        assert form_signup(client, list_id, email=f"p{n}@example.com").status_code == 200
    refused = form_signup(client, list_id, email="p9@example.com")
    assert refused.status_code == 429
    assert b"try again later" in refused.body
    js = js_signup(client, list_id, {"email": "p8@example.com", "consent": True})
    assert js.status_code == 429
    assert json.loads(js.body)["error"]["code"] == "too_many_requests"
    assert js.headers["Access-Control-Allow-Origin"] == SHOP
    assert stored(list_id, "p9@example.com") is None


def test_per_list_daily_cap_is_configurable(client, news_list, settings_env):
    settings_env(TIDINGS_LIMIT_SIGNUPS_PER_LIST_PER_DAY="1")
    list_id = news_list["list_id"]
    assert form_signup(client, list_id, email="one@example.com").status_code == 200
    assert form_signup(client, list_id, email="two@example.com").status_code == 429


def test_honeypot_is_accepted_silently_and_counts_nothing(client, news_list):
    answer = form_signup(client, news_list["list_id"], email="bot@example.com", website_url="http://spam")
    assert answer.status_code == 200
    assert stored(news_list["list_id"], "bot@example.com") is None
    assert list(RateCounter.scan()) == []


def test_a_bombed_address_can_still_subscribe_elsewhere(client, account, verified_sender):
    """Issue #12: someone signs a stranger's address up to 11 lists; the owner's own signup to
    a 12th list (of the same account, or of another) still gets its confirmation mail."""
    from chalicelib.cli import create_account_with_key
    from tests.support.api import bearer
    from tests.support.lists import new_list
    from tests.support.mail import sent_mails
    from tests.support.queues import deliver

    headers = bearer(account["api_key"])
    bombed = [new_list(client, headers, f"List {n}") for n in range(11)]
    for list_id in bombed:
        form_signup(client, list_id, email="victim@example.com")
    own = new_list(client, headers, "The one I want")
    other = create_account_with_key("Other Ltd", {"sender_identity": "news@other.example"})
    elsewhere = new_list(client, bearer(other["api_key"]), "Elsewhere")
    deliver(take("outbox"))
    before = len(sent_mails())
    for list_id in (own, elsewhere):
        form_signup(client, list_id, email="victim@example.com")
    deliver(take("outbox"))
    assert len(sent_mails()) == before + 2
    assert stored(own, "victim@example.com").status == "pending"


# --- a redelivered job counts once --------------------------------------------------------------

def test_a_job_counts_once_however_often_it_is_delivered(aws):
    assert consume(address(), AT, job_id="m-1") == []
    assert consume(address(), AT + timedelta(minutes=1), job_id="m-1") == [], "the same job again"
    counts = {c.counter_key.split(":")[0]: int(c.count) for c in RateCounter.scan() if c.count}
    assert counts == {"addr": 1, "addr-list": 1, "mail": 1}
    [hit] = consume(address(), AT + timedelta(minutes=2), job_id="m-2")
    assert hit.key.startswith("mail:"), "another job is a second mail"


def _window_start() -> datetime:
    """The start of the next mail interval (the counters' windows are fixed, epoch-aligned)."""
    interval = SignupLimits().mail_interval_minutes * 60
    return datetime.fromtimestamp((int(datetime.now(UTC).timestamp()) // interval + 1) * interval, UTC)


def _queued_recipients() -> list[str]:
    return [json.loads(record["body"])["email"]["recipient"] for record in take("outbox")]


def _redeliver_after_a_failure(client, records) -> None:
    """Run the signups worker on `records` while queueing the mail fails once, then again."""
    with pytest.raises(BatchFailed):  # the record failed: SQS keeps it
        client.lambda_.invoke("signup_worker", sqs_event(*records))
    assert client.lambda_.invoke("signup_worker", sqs_event(*records)).payload == {"batchItemFailures": []}


def test_p01_a_signup_redelivered_after_its_mail_failed_to_queue_is_mailed_once(client, news_list,
                                                                               monkeypatch):
    """The first delivery counts the address's one mail per interval, then queueing the mail
    fails and SQS redelivers the job: the redelivery must still mail, and only once."""
    import chalicelib.services.signups as signups
    from tests.support.mail import sent_mails
    from tests.support.queues import deliver

    client.http.post(f"/f/{news_list['list_id']}", headers=FORM,
                     body=urlencode({"consent": "yes", "email": "ann@example.com"}))
    records = take("signups")
    monkeypatch.setattr(signups, "enqueue", FailsOnce(signups.enqueue))
    _redeliver_after_a_failure(client, records)
    client.lambda_.invoke("signup_worker", sqs_event(*records))  # and once more: SQS is at least once
    deliver(take("outbox"))
    assert [mail["To"] for mail in sent_mails()] == ["ann@example.com"]
    assert stored(news_list["list_id"], "ann@example.com").status == "pending"


def test_p05_a_second_signup_gets_no_mail_until_the_mail_interval_ends(client, news_list):
    list_id, start = news_list["list_id"], _window_start()
    with time_machine.travel(start, tick=False):
        form_signup(client, list_id, email="ann@example.com")
    assert _queued_recipients() == ["ann@example.com"]
    with time_machine.travel(start + timedelta(minutes=10, seconds=-1), tick=False):
        form_signup(client, list_id, email="ann@example.com")
    assert _queued_recipients() == [], "a second signup inside the interval mails nothing"
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        form_signup(client, list_id, email="ann@example.com")
    assert _queued_recipients() == ["ann@example.com"], "the next interval mails again"


def test_p11_signups_a_backlog_delivers_late_are_counted_when_they_mail(client, news_list):
    """P11 (never bulk). Counted at each job's own time, signups posted in three mail intervals
    and delivered together once a backlog drained each counted in its own ended interval, and
    the address got three mails at once. Counted when they would mail, one goes."""
    list_id, start, ann = news_list["list_id"], _window_start(), "ann@example.com"
    for interval in range(3):
        with time_machine.travel(start + timedelta(minutes=10 * interval), tick=False):
            client.http.post(f"/f/{list_id}", headers=FORM, body=urlencode({"consent": "yes", "email": ann}))
    records = take("signups")
    with time_machine.travel(start + timedelta(minutes=35), tick=False):
        done = client.lambda_.invoke("signup_worker", sqs_event(*records)).payload
    assert done == {"batchItemFailures": []} and _queued_recipients() == [ann]


def test_p01_a_resend_redelivered_after_its_mail_failed_to_queue_is_mailed(client, news_list, monkeypatch):
    import chalicelib.services.signups as signups

    list_id, start = news_list["list_id"], _window_start()
    with time_machine.travel(start, tick=False):
        form_signup(client, list_id, email="ann@example.com")
    take("outbox")
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        client.http.post("/c/resend", headers=FORM,
                         body=urlencode({"email": "ann@example.com", "list_id": list_id}))
        records = take("signups")
        monkeypatch.setattr(signups, "enqueue", FailsOnce(signups.enqueue))
        _redeliver_after_a_failure(client, records)
    assert _queued_recipients() == ["ann@example.com"]


# --- the API's signups mail the address too ------------------------------------------------------

def _api_add(client, headers, list_id: str, email: str = "ann@example.com"):
    return client.http.post(f"/v1/lists/{list_id}/subscribers", headers=headers,
                            body=json.dumps({"email": email}))


def _day_start() -> datetime:
    """Early in the next day window (the daily counters' windows are fixed, epoch-aligned)."""
    today = int(datetime.now(UTC).timestamp()) // 86_400
    return datetime.fromtimestamp((today + 1) * 86_400 + 3_600, UTC)


def _refused_naming_email(answer, retry_after: int) -> None:
    assert answer.status_code == 429, answer.body
    error = json.loads(answer.body)["error"]
    assert (error["code"], error["field"]) == ("too_many_requests", "email")
    assert answer.headers["Retry-After"] == str(retry_after)


def test_p11_a_tenant_re_posting_a_pending_address_mails_it_once_per_interval(client, account, news_list):
    """A confirmation mail answers the person's own signup (P11); the API is a tenant's, and
    re-posting a pending address replaced the signup and mailed a fresh link every time. Within
    the public form's mail interval a re-post is 429 naming `email`, with Retry-After, and
    changes nothing: the link already mailed still confirms. At the interval's end it mails."""
    from tests.support.api import bearer
    from tests.support.mail import confirm_path, sent_mails
    from tests.support.queues import deliver

    headers, list_id, start = bearer(account["api_key"]), news_list["list_id"], _window_start()
    with time_machine.travel(start, tick=False):
        assert _api_add(client, headers, list_id).status_code == 201
    first = take("outbox")
    assert len(first) == 1
    with time_machine.travel(start + timedelta(minutes=10, seconds=-1), tick=False):
        _refused_naming_email(_api_add(client, headers, list_id), 1)
        assert take("outbox") == [], "no second mail inside the interval"
        deliver(first)
        assert client.http.post(confirm_path(sent_mails()[-1])).status_code == 200, "its link still works"
    assert stored(list_id, "ann@example.com").status == "confirmed"


def test_p11_the_api_mails_a_pending_address_again_when_the_interval_ends(client, account, news_list):
    from tests.support.api import bearer

    headers, list_id, start = bearer(account["api_key"]), news_list["list_id"], _window_start()
    with time_machine.travel(start, tick=False):
        _api_add(client, headers, list_id)
    take("outbox")
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        assert _api_add(client, headers, list_id).status_code == 201
    assert _queued_recipients() == ["ann@example.com"]


def test_p11_the_api_mails_one_address_at_most_its_daily_number_on_one_list(client, account, news_list):
    """SignupLimits.per_address_per_list_per_day (3): the third mail goes, the fourth does not,
    whichever path (form or API) spent the first ones."""
    from tests.support.api import bearer

    headers, list_id, start = bearer(account["api_key"]), news_list["list_id"], _day_start()
    with time_machine.travel(start, tick=False):
        form_signup(client, list_id, email="ann@example.com")
    for n in (1, 2):
        with time_machine.travel(start + timedelta(minutes=11 * n), tick=False):
            assert _api_add(client, headers, list_id).status_code == 201
    assert len(take("outbox")) == 3
    with time_machine.travel(start + timedelta(minutes=33), tick=False):
        answer = _api_add(client, headers, list_id)
    _refused_naming_email(answer, 86_400 - 3_600 - 33 * 60)
    assert take("outbox") == []


def test_p11_p28_the_api_mails_one_address_at_most_its_daily_number_per_account_not_across_tenants(
        client, account, news_list, settings_env):
    """SignupLimits.per_address_per_day across one account's lists (2 here): the second list's
    mail goes, the third's does not, and nothing is written there; another account's cap is its
    own, so a tenant who spent it leaves the address reachable by everyone else."""
    from chalicelib.cli import create_account_with_key
    from tests.support.api import bearer
    from tests.support.lists import new_list

    settings_env(TIDINGS_LIMIT_SIGNUPS_PER_ADDRESS_PER_DAY="2")
    headers = bearer(account["api_key"])
    second, third = new_list(client, headers, "Offers"), new_list(client, headers, "Alerts")
    other = bearer(create_account_with_key("Other Ltd", {"sender_identity": "news@other.example"})["api_key"])
    elsewhere = new_list(client, other, "Elsewhere")
    for list_id in (news_list["list_id"], second):
        assert _api_add(client, headers, list_id).status_code == 201
    assert len(take("outbox")) == 2
    answer = _api_add(client, headers, third)
    assert answer.status_code == 429 and json.loads(answer.body)["error"]["field"] == "email"
    assert stored(third, "ann@example.com") is None and take("outbox") == []
    assert _api_add(client, other, elsewhere).status_code == 201
    assert _queued_recipients() == ["ann@example.com"]


def test_p11_re_posting_a_confirmed_address_stays_200_and_spends_no_mail(client, account, news_list):
    """A client that syncs its contacts re-posts people who already confirmed: no mail goes, so
    nothing is counted and the answer stays the same (200, unchanged), however often."""
    from tests.support.api import bearer
    from tests.support.lists import subscribe

    headers, list_id = bearer(account["api_key"]), news_list["list_id"]
    subscribe(account["account_id"], list_id, "ann@example.com")
    for _ in range(5):
        assert _api_add(client, headers, list_id).status_code == 200
    assert take("outbox") == [] and list(RateCounter.scan()) == []


# --- conflicts and refunds ------------------------------------------------------------------------

def _counts() -> dict[str, int]:
    """The address's counters' counts by kind (jobs' markers left out)."""
    kinds = {"addr", "addr-list", "mail"}
    return {kind: int(c.count) for c in RateCounter.scan() if (kind := c.counter_key.split(":")[0]) in kinds}


def test_p01_a_transaction_conflict_on_the_counters_is_tried_again(aws, monkeypatch):
    """Two signups of one address at once: DynamoDB cancels one transaction (TransactionConflict)
    and leaves the retry to its caller. It counted nothing, yet consume said "within the limits":
    a mail that was never counted. Tried again, it counts once, as does its refund."""
    conflicts = conflict_transactions_on(monkeypatch, RateCounter, times=2)
    assert consume(address(), AT) == []
    assert len(conflicts) == 2 and _counts() == {"addr": 1, "addr-list": 1, "mail": 1}
    conflicts = conflict_transactions_on(monkeypatch, RateCounter, times=2)
    refund(address(), AT)
    assert len(conflicts) == 2 and _counts() == {"addr": 0, "addr-list": 0, "mail": 0}


def test_p11_an_import_batch_whose_counters_conflict_is_tried_again(aws, monkeypatch):
    """consume_each (an import's rows): a TransactionConflict counted nothing, so the batch is
    tried again and each row counts once; without the retry its rows would pass uncounted (more
    mail than the limits allow) or be refused for nothing."""
    rows = {"row-1": address("ann@example.com"), "row-2": address("bob@example.com")}
    conflicts = conflict_transactions_on(monkeypatch, RateCounter, times=ATTEMPTS - 1)
    assert consume_each(rows, AT) == {"row-1", "row-2"}
    assert len(conflicts) == ATTEMPTS - 1
    assert sorted(_counts_by_key().values()) == [1] * 6, "each row's three counters, once"


def _counts_by_key() -> dict[str, int]:
    kinds = {"addr", "addr-list", "mail"}
    return {c.counter_key: int(c.count) for c in RateCounter.scan() if c.counter_key.split(":")[0] in kinds}


def test_p11_counters_held_by_other_transactions_throughout_are_a_429_not_a_5xx(
        client, account, news_list, monkeypatch):
    """The API's signup when every try conflicts: 429 naming `email`, Retry-After 1, nothing
    written; never a 500, never a mail that was not counted."""
    from tests.support.api import bearer

    conflict_transactions_on(monkeypatch, RateCounter, times=ATTEMPTS)
    answer = _api_add(client, bearer(account["api_key"]), news_list["list_id"])
    _refused_naming_email(answer, 1)
    assert stored(news_list["list_id"], "ann@example.com") is None and take("outbox") == []


def test_p01_a_refund_takes_back_a_job_once_and_never_below_nothing(aws):
    """A redelivered job's refund takes back its count once: another job's stays counted."""
    for job in ("m-1", "m-2"):
        consume(request(), AT, job_id=job)
    refund(request(), AT, job_id="m-1")
    refund(request(), AT, job_id="m-1")  # a redelivery
    assert {int(c.count) for c in RateCounter.scan() if c.counter_key.startswith(("ip:", "list:"))} == {1}
    refund(address(), AT)  # never counted: nothing is written below nothing
    assert _counts() == {}


def test_p11_a_job_redelivered_after_its_refund_counts_again_and_only_once(aws):
    """P11: the refund marked the job refunded and its marker of counting stayed, so the job's
    redelivery after a refund was taken as counted and mailed uncounted (the limit leaked). The
    marker stands while the count does: a refund deletes it, a redelivery counts again, once."""
    assert consume(address(), AT, job_id="m-1") == []
    refund(address(), AT, job_id="m-1")
    assert _counts() == {"addr": 0, "addr-list": 0, "mail": 0}
    assert consume(address(), AT, job_id="m-1") == [], "the redelivery counts again"
    assert consume(address(), AT, job_id="m-1") == [], "and is within the limits when delivered again"
    assert _counts() == {"addr": 1, "addr-list": 1, "mail": 1}, "counted once"
    [hit] = consume(address(), AT, job_id="m-2")
    assert hit.key.startswith("mail:"), "the count stands against another job"
    refund(address(), AT, job_id="m-1")
    refund(address(), AT, job_id="m-1")
    assert _counts() == {"addr": 0, "addr-list": 0, "mail": 0}, "given back once"


def test_p11_a_signup_redelivered_after_its_counts_went_back_is_counted_when_it_mails(
        client, account, news_list):
    """P11: the first delivery found the person confirmed, mailed nothing and gave its counts
    back; the entry is removed, and SQS delivers the job again: it mails, and must count."""
    from chalicelib.store.models import Subscriber
    from tests.support.lists import subscribe
    from tests.support.mail import sent_mails
    from tests.support.queues import deliver

    list_id, ann = news_list["list_id"], "ann@example.com"
    subscribe(account["account_id"], list_id, ann)
    client.http.post(f"/f/{list_id}", headers=FORM, body=urlencode({"consent": "yes", "email": ann}))
    records = take("signups")
    assert client.lambda_.invoke("signup_worker", sqs_event(*records)).payload == {"batchItemFailures": []}
    assert take("outbox") == [] and _counts() == {"addr": 0, "addr-list": 0, "mail": 0}
    Subscriber.get(list_id, ann).delete()  # removed meanwhile (the tenant, a purge)
    for _ in range(2):  # SQS delivers at least once
        client.lambda_.invoke("signup_worker", sqs_event(*records))
    deliver(take("outbox"))
    assert [mail["To"] for mail in sent_mails()] == [ann]
    assert _counts() == {"addr": 1, "addr-list": 1, "mail": 1}, "the mail is counted, once"


def test_p11_an_api_signup_whose_write_was_lost_gives_its_counts_back(client, account, news_list,
                                                                     monkeypatch):
    """The counters were spent, then the entry's write failed (a DynamoDB blip): nothing was
    written or mailed, yet the spent mail interval refused the caller's retry with 429 for ten
    minutes. The counts go back with the failure; the retry mails."""
    from chalicelib.store.models import Subscriber
    from tests.support.api import bearer
    from tests.support.faults import fail_first_write_to

    headers, list_id = bearer(account["api_key"]), news_list["list_id"]
    failed = fail_first_write_to(monkeypatch, Subscriber)
    assert _api_add(client, headers, list_id).status_code >= 500
    assert failed and _counts() == {"addr": 0, "addr-list": 0, "mail": 0}
    assert _api_add(client, headers, list_id).status_code == 201
    assert _queued_recipients() == ["ann@example.com"]


def test_p11_an_api_signup_whose_mail_failed_to_queue_is_a_503_and_gives_its_counts_back(
        client, account, news_list, monkeypatch):
    """The entry was written, then queueing its confirmation mail failed (an SQS blip): the
    person got no mail, yet the spent mail interval refused the caller's repost with 429 for ten
    minutes. A 503 in the JSON error shape says to post again; the counts went back, so the
    repost replaces the unmailed entry and mails it; nothing is lost."""
    import chalicelib.services.signups as signups
    from tests.support.api import bearer

    headers, list_id = bearer(account["api_key"]), news_list["list_id"]
    monkeypatch.setattr(signups, "enqueue", FailsOnce(signups.enqueue))
    answer = _api_add(client, headers, list_id)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert json.loads(answer.body)["error"]["code"] == "unavailable"
    assert stored(list_id, "ann@example.com").status == "pending", "the signup is kept"
    assert _counts() == {"addr": 0, "addr-list": 0, "mail": 0}
    assert _api_add(client, headers, list_id).status_code == 201
    assert _queued_recipients() == ["ann@example.com"]


def test_p05_a_form_signup_of_a_confirmed_person_gives_its_counts_back(client, account, news_list):
    """Already confirmed, the person is mailed nothing new, yet the signup spent their mail
    interval and daily counts: a stranger re-posting the form kept the person's own signup back,
    after they unsubscribed, from being mailed. Counted while it mails, given back when not."""
    from tests.support.lists import subscribe

    subscribe(account["account_id"], news_list["list_id"], "ann@example.com")
    for _ in range(4):
        form_signup(client, news_list["list_id"], email="ann@example.com")
    assert take("outbox") == [] and _counts() == {"addr": 0, "addr-list": 0, "mail": 0}


def _next_midnight() -> datetime:
    """The next day's start (UTC): a window boundary of every address counter, daily or per mail
    interval (their windows are fixed and epoch-aligned)."""
    return datetime.fromtimestamp((int(datetime.now(UTC).timestamp()) // 86_400 + 1) * 86_400, UTC)


def _window_counts(list_id: str, email: str, at: datetime) -> list[int]:
    """The counts of the address's counters on the list in the windows `at` falls in."""
    from chalicelib.services.signups import address_limits
    from chalicelib.store.lists import find_list

    counts = {c.counter_key: int(c.count) for c in RateCounter.scan() if c.count is not None}
    return [counts.get(c.window_key(at), 0) for c in address_limits(find_list(list_id), email)]


def test_p11_a_redelivered_signup_refunds_the_window_it_counted_in_not_the_redeliverys(
        client, account, news_list, settings_env, monkeypatch):
    """P11 (confirmation mails are never bulk: at most `per_address_per_day` an account a day).
    A stranger signs up a confirmed person at 23:59:59; the first delivery counts the address in
    that day, then the entry's write fails (a DynamoDB blip). The person's own signup to another
    list at 00:00:01 mails and counts in the new day. The job, redelivered at 00:00:02, mails
    nothing and gives its counts back: to the day it counted in. Given back to the redelivery's
    day, it took the other list's count there (one mail more than the daily limit) and left its
    own in the old day."""
    from chalicelib.store.models import Subscriber
    from tests.support.api import bearer
    from tests.support.faults import fail_first_write_to
    from tests.support.lists import new_list, subscribe

    settings_env(TIDINGS_LIMIT_SIGNUPS_PER_ADDRESS_PER_DAY="2")
    headers, list_id, ann = bearer(account["api_key"]), news_list["list_id"], "ann@example.com"
    others = [new_list(client, headers, f"Other {n}") for n in range(3)]
    subscribe(account["account_id"], list_id, ann)
    midnight = _next_midnight()
    with time_machine.travel(midnight - timedelta(seconds=1), tick=False):
        client.http.post(f"/f/{list_id}", headers=FORM, body=urlencode({"consent": "yes", "email": ann}))
        records = take("signups")
        failed = fail_first_write_to(monkeypatch, Subscriber)
        with pytest.raises(BatchFailed):
            client.lambda_.invoke("signup_worker", sqs_event(*records))
    assert failed and _window_counts(list_id, ann, midnight - timedelta(seconds=1)) == [1, 1, 1]
    with time_machine.travel(midnight + timedelta(seconds=1), tick=False):
        form_signup(client, others[0], email=ann)
    with time_machine.travel(midnight + timedelta(seconds=2), tick=False):
        redelivered = client.lambda_.invoke("signup_worker", sqs_event(*records)).payload
    assert redelivered == {"batchItemFailures": []}
    assert _window_counts(list_id, ann, midnight - timedelta(seconds=1)) == [0, 0, 0], "given back"
    with time_machine.travel(midnight + timedelta(seconds=3), tick=False):
        for other in others[1:]:  # the day's second mail, then one over the limit
            form_signup(client, other, email=ann)
    assert _queued_recipients() == [ann, ann], "two mails on the new day, as the limit allows"


def _counters_busy_from(monkeypatch, module, name: str) -> None:
    """Make every try of the counters' next transactions conflict (CountersBusy: other
    transactions held them throughout), from the first call of `module.name` on."""
    real = getattr(module, name)

    def busy_then_real(*args, **kwargs):
        conflict_transactions_on(monkeypatch, RateCounter, times=ATTEMPTS + 3)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, busy_then_real)



def _refund_logged_without_contact_data(logs) -> None:
    """The refund's failure is in the logs, by references only (P15)."""
    [line] = [json.loads(line) for line in logs.lines if "not given back" in line]
    assert line["error"] == "CountersBusy" and line["held_until"] > 0
    assert contact_forms(["ann@example.com"], ips=["127.0.0.1"]).found_in(logs.text) == []


def test_p11_an_api_signup_whose_write_was_lost_raises_its_own_error_when_its_refund_is_busy(
        client, account, news_list, monkeypatch, logs):
    """P11: the entry's write failed (a DynamoDB blip), then giving the counts back met counters
    other transactions held throughout. The write's error is what the caller meets, not the
    refund's; the counts stay spent until their windows end (the mail interval, the day)."""
    from pynamodb.exceptions import PutError

    from chalicelib.services.signups import api_signup
    from chalicelib.store import subscribers
    from chalicelib.store.lists import find_list
    from chalicelib.store.models import Subscriber
    from tests.support.faults import fail_first_write_to

    failed = fail_first_write_to(monkeypatch, Subscriber)
    _counters_busy_from(monkeypatch, subscribers, "write_signup")
    with pytest.raises(PutError):
        api_signup(find_list(news_list["list_id"]), {"email": "ann@example.com"}, None)
    assert failed and _counts() == {"addr": 1, "addr-list": 1, "mail": 1}, "held, as stated"
    _refund_logged_without_contact_data(logs)


def test_p11_an_api_signup_whose_mail_failed_to_queue_stays_a_503_when_its_refund_is_busy(
        client, account, news_list, monkeypatch, logs):
    """P11: queueing the confirmation mail failed (an SQS blip), then giving the counts back met
    busy counters: still the 503 that says to post again, never a 500."""
    import chalicelib.services.signups as signups
    from tests.support.api import bearer

    monkeypatch.setattr(signups, "enqueue", FailsOnce(signups.enqueue))
    _counters_busy_from(monkeypatch, signups, "enqueue")
    answer = _api_add(client, bearer(account["api_key"]), news_list["list_id"])
    assert answer.status_code == 503 and json.loads(answer.body)["error"]["code"] == "unavailable"
    _refund_logged_without_contact_data(logs)


def test_p05_a_form_signup_of_a_confirmed_person_is_handled_when_its_refund_is_busy(
        client, account, news_list, monkeypatch, logs):
    """P05, P11: the person is confirmed, so the job mails nothing and gives its counts back;
    the counters are busy throughout. The job is done (no redelivery that would run it all
    again); its counts stay spent until their windows end."""
    from chalicelib.store import returning
    from tests.support.lists import subscribe

    subscribe(account["account_id"], news_list["list_id"], "ann@example.com")
    client.http.post(f"/f/{news_list['list_id']}", headers=FORM,
                     body=urlencode({"consent": "yes", "email": "ann@example.com"}))
    _counters_busy_from(monkeypatch, returning, "write_return")
    done = client.lambda_.invoke("signup_worker", sqs_event(*take("signups"))).payload
    assert done == {"batchItemFailures": []} and take("outbox") == []
    _refund_logged_without_contact_data(logs)
