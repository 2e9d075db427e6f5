"""Send counts stay exact across failures and dead-letter redrives (P13): a recipient counted as
failed and later mailed by a redrive moves from failed to sent once, a fan-out page whose batches
were never queued counts one failure a redrive takes back, two concurrent deliveries of one job
count once, and a redrive after the campaign ended mails nobody."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.campaigns import create_campaign, sent_campaign
from tests.support.events import sqs_event
from tests.support.lists import new_list
from tests.support.mail import recipients_of_sent
from tests.support.queues import fanned_out, run_queues, take


def _last_receive(record: dict[str, Any]) -> dict[str, Any]:
    event = sqs_event(record)
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"
    return event


def _deliver(client: Any, event: dict[str, Any]) -> list[Any]:
    """The batch worker's answer to `event`: the records it reports failed."""
    return client.lambda_.invoke("campaign_send_worker", event).payload["batchItemFailures"]


def _report(client: Any, headers: dict[str, str], campaign_id: str) -> dict[str, Any]:
    return json.loads(client.http.get(f"/v1/campaigns/{campaign_id}/report", headers=headers).body)


def _shown(client: Any, headers: dict[str, str], campaign_id: str) -> dict[str, Any]:
    """The campaign's own answer (GET /v1/campaigns/{id})."""
    return json.loads(client.http.get(f"/v1/campaigns/{campaign_id}", headers=headers).body)


def _two_list_campaign(client: Any, account: dict[str, Any],
                       headers: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """A campaign to Ann (one list) and Bob (another), fanned out: its id and its batch jobs by
    list id."""
    campaign_id, (ann_list, bob_list) = sent_campaign(client, account, headers, ("ann@example.com",),
                                                      ("bob@example.com",))
    jobs = fanned_out(client)
    return campaign_id, {"ann": jobs[ann_list], "bob": jobs[bob_list]}


def _page_not_queued(client: Any, account: dict[str, Any], headers: dict[str, str],
                     monkeypatch: Any) -> tuple[str, dict[str, Any]]:
    """A campaign to Ann (one list) whose fan-out page was planned, then could not queue its
    batch until its last receive: dead-lettered. Its id and the page's job."""
    from chalicelib.services.sending import fanout
    from tests.support.faults import FailsOnce

    campaign_id, _ = sent_campaign(client, account, headers, ("ann@example.com",))
    (page,) = take("fanout")
    with monkeypatch.context() as faults:
        faults.setattr(fanout, "enqueue_many", FailsOnce(fanout.enqueue_many))
        assert client.lambda_.invoke("fanout_worker", _last_receive(page)).payload["batchItemFailures"]
    return campaign_id, page


def _ends_sent_to_ann_alone(client: Any, headers: dict[str, str], campaign_id: str) -> None:
    """Nothing is left queued, Ann is mailed once, and the report adds up: 1 sent, 0 failed, `sent`."""
    assert run_queues(client) == []
    assert recipients_of_sent() == ["ann@example.com"]
    report = _report(client, headers, campaign_id)
    assert (report["sent"], report["failed"], report["status"]) == (1, 0, "sent")


def test_p13_a_recipient_counted_failed_then_mailed_by_a_redrive_moves_from_failed_to_sent_once(
        client, account, headers, monkeypatch):
    """Ann's opt-outs cannot be read until her batch's last receive: she counts as failed, holds
    no claim, and the job is dead-lettered while Bob's batch still waits. Redriven (twice, as an
    operator may) with the read working again, Ann is mailed: her failure is taken back, once, so
    the report shows two sent and none failed."""
    from chalicelib.store.models import Suppression
    from tests.support.faults import unreadable_table

    campaign_id, jobs = _two_list_campaign(client, account, headers)
    with monkeypatch.context() as faults:
        unreadable_table(faults, Suppression)
        given_up = client.lambda_.invoke("campaign_send_worker", _last_receive(jobs["ann"])).payload
        assert given_up["batchItemFailures"], "dead-lettered"
    assert _report(client, headers, campaign_id)["failed"] == 1
    for _ in range(2):
        redriven = client.lambda_.invoke("campaign_send_worker", sqs_event(jobs["ann"])).payload
        assert redriven == {"batchItemFailures": []}
    assert recipients_of_sent() == ["ann@example.com"]
    bob = client.lambda_.invoke("campaign_send_worker", sqs_event(jobs["bob"])).payload
    assert bob == {"batchItemFailures": []}
    report = _report(client, headers, campaign_id)
    assert (report["sent"], report["failed"], report["status"]) == (2, 0, "sent")


def test_p13_a_redrive_that_fails_again_keeps_the_failure_counted_and_takes_it_back_once_sent(
        client, account, headers, monkeypatch):
    """The redrive that took Ann's unsent record fails transiently (SES unavailable): its claim is
    released by putting the unsent record back, not deleting it, so the next redrive that mails
    her still takes her failure back."""
    from botocore.exceptions import ClientError

    from chalicelib.services.sending import batches
    from chalicelib.store.models import Suppression
    from tests.support.faults import unreadable_table

    campaign_id, jobs = _two_list_campaign(client, account, headers)
    with monkeypatch.context() as faults:
        unreadable_table(faults, Suppression)
        client.lambda_.invoke("campaign_send_worker", _last_receive(jobs["ann"]))

    def unavailable(*args: Any, **kwargs: Any) -> str:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try later"}}, "SendEmail")

    with monkeypatch.context() as faults:
        faults.setattr(batches, "send_raw_email", unavailable)
        assert _deliver(client, sqs_event(jobs["ann"]))
    assert _deliver(client, sqs_event(jobs["ann"])) == []
    client.lambda_.invoke("campaign_send_worker", sqs_event(jobs["bob"]))
    assert recipients_of_sent() == ["ann@example.com", "bob@example.com"]
    report = _report(client, headers, campaign_id)
    assert (report["sent"], report["failed"], report["status"]) == (2, 0, "sent")


def test_p13_a_fan_out_page_planned_but_not_queued_counts_one_failure_that_its_redrive_takes_back(
        client, account, headers, monkeypatch):
    """The page was planned, then queueing its batches failed until its last receive: the
    campaign counts one failure for it and the job is dead-lettered. Redriven with SQS working,
    the page queues its batches and Ann is mailed: the failure is taken back, once."""
    campaign_id, page = _page_not_queued(client, account, headers, monkeypatch)
    assert take("campaign-send") == []
    assert _report(client, headers, campaign_id)["failed"] == 1
    for _ in range(2):
        assert client.lambda_.invoke("fanout_worker", sqs_event(page)).payload == {"batchItemFailures": []}
    _ends_sent_to_ann_alone(client, headers, campaign_id)


def test_p13_a_campaign_with_a_page_planned_but_not_queued_shows_it_stalled_until_the_redrive(
        client, account, headers, monkeypatch):
    """The owner is told why the campaign still sends: while a page planned but not queued by
    its last receive waits in the dead-letter queue, the campaign and its report show `stalled`
    (pages, since when; the same on both). The redrive that queues it clears it; a later stall
    of the other list's page shows its own time, not the first's; and once that is redriven the
    campaign ends `sent`, counts whole."""
    from datetime import UTC, datetime, timedelta

    import time_machine

    from chalicelib.services.sending import fanout
    from tests.support.faults import FailsOnce

    campaign_id, _ = sent_campaign(client, account, headers, ("ann@example.com",), ("bob@example.com",))
    pages = [record for _, record in sorted((json.loads(record["body"])["list_id"], record)
                                            for record in take("fanout"))]
    assert _shown(client, headers, campaign_id)["stalled"] is None
    assert _report(client, headers, campaign_id)["stalled"] is None
    # Two past hours: the send times reserved then are due now.
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for page, at in zip(pages, (hour - timedelta(hours=2), hour - timedelta(hours=1)), strict=True):
        with monkeypatch.context() as faults, time_machine.travel(at, tick=False):
            faults.setattr(fanout, "enqueue_many", FailsOnce(fanout.enqueue_many))
            assert client.lambda_.invoke("fanout_worker", _last_receive(page)).payload["batchItemFailures"]
        shown = _shown(client, headers, campaign_id)
        assert (shown["status"], shown["stalled"]) == ("sending", {"pages": 1, "since": at.isoformat()})
        assert _report(client, headers, campaign_id)["stalled"] == shown["stalled"]
        assert client.lambda_.invoke("fanout_worker", sqs_event(page)).payload == {"batchItemFailures": []}
        assert _shown(client, headers, campaign_id)["stalled"] is None
        assert _report(client, headers, campaign_id)["stalled"] is None
    assert run_queues(client) == []
    assert sorted(recipients_of_sent()) == ["ann@example.com", "bob@example.com"]
    report = _report(client, headers, campaign_id)
    assert (report["sent"], report["failed"], report["status"]) == (2, 0, "sent")


def _stall_with_retry(client: Any, monkeypatch: Any, page: dict[str, Any],
                      failing: str = "enqueue_many") -> list[int]:
    """Deliver `page` on its last receive with the fan-out's call `failing` failing once (by
    default queueing its batches): it is dead-lettered. The delays of the fan-out jobs it queued
    (or tried to: its next page's, its copies'); each is on the fan-out queue at once (the test
    does not wait out the delay)."""
    from chalicelib.services.sending import fanout
    from tests.support.faults import FailsOnce

    delays: list[int] = []

    def undelayed(queue: Any, job: dict[str, Any], delay_seconds: int = 0) -> str:
        delays.append(delay_seconds)
        return real(queue, job)

    with monkeypatch.context() as faults:
        faults.setattr(fanout, failing, FailsOnce(getattr(fanout, failing)))
        real = fanout.enqueue
        faults.setattr(fanout, "enqueue", undelayed)
        assert client.lambda_.invoke("fanout_worker", _last_receive(page)).payload["batchItemFailures"]
    return delays


def test_p13_a_page_planned_but_not_queued_is_retried_once_later_and_the_redrive_after_sends_nothing(
        client, account, headers, monkeypatch):
    """No operator needed for a passing fault: the page that stalled on its last receive queues a
    copy of itself 15 minutes on (and is dead-lettered all the same, for the alarm). The copy
    queues its batches, Ann is mailed, the failure is taken back and the campaign ends `sent`,
    counts whole (1 sent, 0 failed). The operator's later redrive of the dead-lettered page mails
    nobody twice and changes no count."""
    from chalicelib.services.sending.fanout import STALL_RETRY_SECONDS

    campaign_id, _ = sent_campaign(client, account, headers, ("ann@example.com",))
    (page,) = take("fanout")
    assert _stall_with_retry(client, monkeypatch, page) == [STALL_RETRY_SECONDS] == [900]
    assert _shown(client, headers, campaign_id)["stalled"]["pages"] == 1
    assert run_queues(client) == []
    assert recipients_of_sent() == ["ann@example.com"]
    assert _shown(client, headers, campaign_id)["stalled"] is None
    assert client.lambda_.invoke("fanout_worker", sqs_event(page)).payload == {"batchItemFailures": []}
    _ends_sent_to_ann_alone(client, headers, campaign_id)


def test_p13_a_stalled_page_is_retried_once_only_then_waits_for_the_redrive(
        client, account, headers, monkeypatch):
    """A fault that outlasts the retry: the copy stalls on its last receive too, and queues no
    further copy (no endless loop of copies); the failure stays counted once and the campaign
    shows stalled until the operator's redrive, which mails Ann and ends it `sent`."""
    campaign_id, _ = sent_campaign(client, account, headers, ("ann@example.com",))
    (page,) = take("fanout")
    assert len(_stall_with_retry(client, monkeypatch, page)) == 1
    (copy,) = take("fanout")
    assert _stall_with_retry(client, monkeypatch, copy) == []
    assert take("fanout") == []
    shown = _shown(client, headers, campaign_id)
    assert (shown["status"], shown["stalled"]["pages"], shown["failure"]["failed"]) == ("sending", 1, 1)
    assert client.lambda_.invoke("fanout_worker", sqs_event(page)).payload == {"batchItemFailures": []}
    _ends_sent_to_ann_alone(client, headers, campaign_id)


def test_p13_a_page_queued_whose_note_fails_on_its_last_receive_counts_no_failure(
        client, account, headers, monkeypatch):
    """Every batch of the page went out to the queue; only the note saying so failed, on the
    last receive. Nothing is counted failed, nothing shows stalled and no copy is queued for a
    retry (the job is dead-lettered, for the alarm): Ann's batch mails her and the campaign ends
    `sent`, 1 sent and 0 failed. The operator's redrive of the page mails nobody twice and
    changes no count. (A page whose batches were not all queued still counts its failure:
    test_p13_a_fan_out_page_planned_but_not_queued_counts_one_failure_that_its_redrive_takes_back.)"""
    campaign_id, _ = sent_campaign(client, account, headers, ("ann@example.com",))
    (page,) = take("fanout")
    assert _stall_with_retry(client, monkeypatch, page, failing="mark_queued") == [], "no retry copy"
    shown = _shown(client, headers, campaign_id)
    assert (shown["status"], shown["failure"], shown["stalled"]) == ("sending", None, None)
    assert _report(client, headers, campaign_id)["failed"] == 0
    _ends_sent_to_ann_alone(client, headers, campaign_id)
    assert client.lambda_.invoke("fanout_worker", sqs_event(page)).payload == {"batchItemFailures": []}
    _ends_sent_to_ann_alone(client, headers, campaign_id)


def test_p13_an_empty_last_page_whose_note_fails_on_its_last_receive_still_ends_its_campaign(
        client, account, headers, monkeypatch):
    """A list's last page can be empty (Bob, on it when the page before was read, removed since):
    it has no batch whose finish would end the campaign, so it ends it itself. When noting it
    queued fails on its last receive, Ann's mail already counted, the campaign still ends `sent`,
    1 sent and 0 failed, instead of staying `sending` until an operator's redrive."""
    from chalicelib.services.sending import fanout

    monkeypatch.setattr(fanout, "page_size", 1)
    campaign_id, (list_id,) = sent_campaign(client, account, headers, ("ann@example.com", "bob@example.com"))
    (ann_page,) = take("fanout")
    assert client.lambda_.invoke("fanout_worker", sqs_event(ann_page)).payload == {"batchItemFailures": []}
    removed = client.http.delete(f"/v1/lists/{list_id}/subscribers/bob@example.com", headers=headers)
    assert removed.status_code == 204, removed.body
    assert run_queues(client, ("campaign-send",)) == []
    assert _report(client, headers, campaign_id)["status"] == "sending", "its list's end is not read yet"
    (empty_page,) = take("fanout")
    assert _stall_with_retry(client, monkeypatch, empty_page, failing="mark_queued") == []
    _ends_sent_to_ann_alone(client, headers, campaign_id)


def test_p13_a_page_whose_next_page_was_not_queued_by_its_last_receive_still_stalls(
        client, account, headers, monkeypatch):
    """The boundary of "all queued": Ann's batch went out, but queueing the next page's job (Bob's
    page) failed on the last receive. The list's rest is not reached, so the page stalls as one
    whose batches were not queued: one failure, shown stalled, a copy queued for its retry. The
    copy queues the chain again; Bob is mailed and the campaign ends `sent`, 2 sent, 0 failed."""
    from chalicelib.services.sending import fanout
    from chalicelib.services.sending.fanout import STALL_RETRY_SECONDS

    monkeypatch.setattr(fanout, "page_size", 1)
    campaign_id, _ = sent_campaign(client, account, headers, ("ann@example.com", "bob@example.com"))
    (page,) = take("fanout")
    assert _stall_with_retry(client, monkeypatch, page, failing="enqueue") == [0, STALL_RETRY_SECONDS]
    shown = _shown(client, headers, campaign_id)
    assert (shown["stalled"]["pages"], shown["failure"]["failed"]) == (1, 1)
    assert run_queues(client) == []
    assert sorted(recipients_of_sent()) == ["ann@example.com", "bob@example.com"]
    report = _report(client, headers, campaign_id)
    assert (report["sent"], report["failed"], report["status"], report["stalled"]) == (2, 0, "sent", None)


def test_p13_two_concurrent_deliveries_of_one_batch_count_each_mail_once(client, account, headers,
                                                                          monkeypatch):
    """SQS is at-least-once: a second delivery of Ann and Bob's batch runs while the first is
    still sending Ann. The second finds Ann claimed and its sender not counted, counts her (as a
    mail that may not have gone: it cannot tell the first is alive) and so takes the first's
    count over: the first, counting later, counts only what is still its own. Each mail counts
    once; none is mailed twice."""
    from chalicelib.services.sending import batches

    campaign_id, _ = sent_campaign(client, account, headers, ("ann@example.com", "bob@example.com"))
    (job,) = fanned_out(client).values()
    real_send, overlapped = batches.send_raw_email, []

    def send_then_overlap(*args: Any, **kwargs: Any) -> str:
        sent = real_send(*args, **kwargs)
        if not overlapped:  # the second delivery runs while the first waits on SES's answer
            overlapped.append(None)
            overlapped[0] = _deliver(client, sqs_event(job))
        return sent

    monkeypatch.setattr(batches, "send_raw_email", send_then_overlap)
    first = _deliver(client, sqs_event(job))
    assert overlapped == [[]]
    assert sorted(recipients_of_sent()) == ["ann@example.com", "bob@example.com"]
    report = _report(client, headers, campaign_id)
    assert report["sent"] + report["failed"] == 2, (report, first)


def test_p13_a_sender_whose_count_was_taken_over_still_counts_the_claims_still_its_own(
        client, account, headers):
    """A second delivery took the first's count over, counting Ann (the first's latest claim it
    saw) as a mail that may not have gone; the first then claimed and sent Bob. Its own count
    finds its receipt taken and counts Bob, still its own, as sent: none lost, none twice."""
    from chalicelib.domain.sending import CAMPAIGN_KIND, campaign_message_id
    from chalicelib.services.sending.counting import SentCount
    from chalicelib.services.sending.step import Message
    from chalicelib.store import messages
    from chalicelib.store.campaign_stats import campaign_counters
    from chalicelib.store.campaigns import failure_update
    from chalicelib.store.models import Campaign

    account_id = account["account_id"]
    campaign_id = create_campaign(client, headers, [new_list(client, headers)])["campaign_id"]
    first, second = SentCount("job"), SentCount("job")

    def mail(recipient_hash: str) -> Message:
        return Message(recipient_hash, campaign_message_id(campaign_id, recipient_hash), account_id,
                       CAMPAIGN_KIND, build=lambda: b"", deliver=lambda raw: None, campaign_id=campaign_id,
                       count_batch=first.batch_id,
                       failure_update=lambda reason: failure_update(account_id, campaign_id, 1, reason))

    ann, bob = mail("aa" * 16), mail("bb" * 16)
    for sent in (ann, bob):
        assert messages.claim(sent.recipient_hash, sent.message_id, account_id, CAMPAIGN_KIND,
                              campaign_id=campaign_id, count_batch=first.batch_id)
        first.sent((account_id, CAMPAIGN_KIND, campaign_id), (sent.recipient_hash, sent.message_id))
        if sent is ann:  # the second delivery overlaps here: it sees Ann's claim only
            assert second.duplicate(ann)
            second.count()
    first.count()
    failed = Campaign.get(account_id, campaign_id).failed
    assert (campaign_counters(campaign_id)["sent"], failed) == (1, 1)


@pytest.mark.parametrize("ending", ["cancelled", "completed"])
def test_p13_a_batch_redriven_after_its_campaign_ended_mails_nobody_and_takes_nothing_back(
        client, account, headers, monkeypatch, ending):
    """Decided: once a campaign has ended (cancelled, or completed `failed` by its last batch),
    its report is final. Ann's batch, dead-lettered with her counted failed (unsent), redriven
    after that mails nobody and leaves the counts as they are."""
    from chalicelib.store.models import Suppression
    from tests.support.faults import unreadable_table

    campaign_id, jobs = _two_list_campaign(client, account, headers)
    with monkeypatch.context() as faults:
        unreadable_table(faults, Suppression)
        assert _deliver(client, _last_receive(jobs["ann"]))
    if ending == "cancelled":
        cancelled = client.http.patch(f"/v1/campaigns/{campaign_id}", headers=headers,
                                      body=json.dumps({"status": "cancelled"}))
        assert cancelled.status_code == 200, cancelled.body
    else:
        assert _deliver(client, sqs_event(jobs["bob"])) == []
    before = _report(client, headers, campaign_id)
    assert before["status"] == ("cancelled" if ending == "cancelled" else "failed")
    assert _deliver(client, sqs_event(jobs["ann"])) == []
    assert "ann@example.com" not in recipients_of_sent()
    after = _report(client, headers, campaign_id)
    assert (after["status"], after["sent"], after["failed"]) == (before["status"], before["sent"], 1)


def test_p13_a_fan_out_page_redriven_after_its_campaign_was_cancelled_queues_nobody(
        client, account, headers, monkeypatch):
    """The page planned but not queued by its last receive, its campaign cancelled since: it no
    longer shows stalled, and its redrive queues no batch, mails nobody, and its failure stands."""
    campaign_id, page = _page_not_queued(client, account, headers, monkeypatch)
    assert _shown(client, headers, campaign_id)["stalled"]["pages"] == 1
    client.http.patch(f"/v1/campaigns/{campaign_id}", headers=headers,
                      body=json.dumps({"status": "cancelled"}))
    assert _shown(client, headers, campaign_id)["stalled"] is None, "an ended campaign waits for nothing"
    assert _report(client, headers, campaign_id)["stalled"] is None
    assert client.lambda_.invoke("fanout_worker", sqs_event(page)).payload == {"batchItemFailures": []}
    assert take("campaign-send") == [] and recipients_of_sent() == []
    report = _report(client, headers, campaign_id)
    assert (report["status"], report["sent"], report["failed"]) == ("cancelled", 0, 1)
