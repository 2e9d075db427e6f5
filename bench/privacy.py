"""Privacy benchmarks (issue 5): erasing one person, and the retention purge of 10,000 records.

Erasure: a person on 10 lists with 1,000 records of mail sent to them, each a campaign mail
from its own campaign's batch: a record to find and delete, and a purge list naming her keyed
hash that the erasure takes her off (P18), one list a mail (the sober case: mail to one person
never shares a list). AWS calls by operation and wall time. moto answers in-process at its own
speed, so what fills the API request's 29 s in AWS is shown apart: how many calls wait one after
another (the purge-list updates go MAX_IN_FLIGHT at a time, store/concurrent_writes.py), and so
how long the request waits at AWS's latency; and the erasure's own CPU time (botocore's
included, moto's answers not), stretched to the API function's memory (bench/prices.py), with
every table's client already built, as in a warm Lambda.

Purge: 10,000 message records expired a day ago; the daily purge deletes them. AWS calls per
record (target at most 1/25: BatchWriteItem deletes 25 items per call) and the number of Scans,
which must be 0. `python -m bench.privacy` prints both.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.client import BaseClient

from bench.aws_calls import AwsCalls, count_aws_calls, describe
from bench.prices import AWS_CALL_LATENCY_MS, VCPU_MEMORY_MB
from chalicelib.config import hash_key

PERSON = "ann.person@example.com"
LISTS = 10
EVENTS = 1_000
EXPIRED = 10_000
_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@contextmanager
def _frozen(at: datetime) -> Iterator[None]:
    import time_machine

    with time_machine.travel(at, tick=False):
        yield


@dataclass
class CallThreads:
    """The AWS calls made by the store's write pool and by the request's own thread (a call waits
    for those before it in its thread only), and the CPU seconds moto spent answering them, in
    any thread: in AWS that work is not the Lambda's."""

    pooled: int = 0
    own_thread: int = 0
    moto_cpu_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def called(self, pooled: bool) -> None:
        with self._lock:
            self.pooled += pooled
            self.own_thread += not pooled

    def answered(self, cpu_seconds: float) -> None:
        with self._lock:
            self.moto_cpu_seconds += cpu_seconds


@contextmanager
def _calls_by_thread() -> Iterator[CallThreads]:
    from moto.core.botocore_stubber import BotocoreStubber

    from chalicelib.store.concurrent_writes import THREAD_PREFIX

    threads, calling, answering = CallThreads(), BaseClient._make_api_call, BotocoreStubber.__call__

    def call(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        threads.called(threading.current_thread().name.startswith(THREAD_PREFIX))
        return calling(client, operation_name, api_params)

    def answer(stubber: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return answering(stubber, *args, **kwargs)
        finally:
            threads.answered(time.thread_time() - started)

    BaseClient._make_api_call = call  # type: ignore[method-assign]
    BotocoreStubber.__call__ = answer  # type: ignore[method-assign]
    try:
        yield threads
    finally:
        BaseClient._make_api_call = calling  # type: ignore[method-assign]
        BotocoreStubber.__call__ = answering  # type: ignore[method-assign]


def _messages(account_id: str, count: int, sent_at: datetime, recipient_hash: str) -> None:
    """`count` sent message records as campaign batches of 100 leave them: a purge list each
    batch, then the records (setup, not measured)."""
    from chalicelib.domain.retention import MESSAGE_RETENTION
    from chalicelib.store import messages
    from chalicelib.store.models import MessageRecord

    ids = [f"msg_{account_id}_{n:06}" for n in range(count)]
    with _frozen(sent_at):
        for start in range(0, count, 100):
            messages.list_for_purge(account_id, dict.fromkeys(ids[start:start + 100], recipient_hash))
    with MessageRecord.batch_write() as batch:
        for message_id in ids:
            batch.save(MessageRecord(recipient_hash=recipient_hash, message_id=message_id,
                                     account_id=account_id, kind="campaign", campaign_id="cmp_1",
                                     sent_at=sent_at, expires_at=sent_at + MESSAGE_RETENTION))


def _campaign_mails(account_id: str, count: int, recipient_hash: str) -> None:
    """`count` campaign mails to one person, each from its own campaign's batch: a purge list
    each, naming her keyed hash, and a record naming its list, as sending leaves them (setup)."""
    from chalicelib.domain.message_ids import campaign_message_id
    from chalicelib.domain.retention import MESSAGE_RETENTION
    from chalicelib.store import messages
    from chalicelib.store.models import MessageRecord

    sent_at = datetime.now(UTC)
    campaigns = [f"cmp_{n:06}" for n in range(count)]
    lists = {campaign_id: messages.list_campaign_for_purge(account_id, campaign_id, [recipient_hash])
             for campaign_id in campaigns}
    with MessageRecord.batch_write() as batch:
        for campaign_id in campaigns:
            batch.save(MessageRecord(recipient_hash=recipient_hash,
                                     message_id=campaign_message_id(campaign_id, recipient_hash),
                                     account_id=account_id, kind="campaign", campaign_id=campaign_id,
                                     sent_at=sent_at, expires_at=sent_at + MESSAGE_RETENTION,
                                     purge_list=lists[campaign_id]))


def erasure() -> tuple[AwsCalls, float, dict, CallThreads, float]:
    """Erase a person on 10 lists with 1,000 message records: calls, seconds, outcome, the calls
    by thread, and the CPU seconds the process spent on it, moto's answers left out."""
    from chalicelib.cli import create_account_with_key
    from chalicelib.domain.subscriptions import ConsentEvidence, Contact, Source, Status
    from chalicelib.domain.suppression import address_hash
    from chalicelib.services.privacy import erase_person
    from chalicelib.store.lists import create_list
    from chalicelib.store.subscribers import write_signup

    account_id = create_account_with_key("Acme Ltd", {})["account_id"]
    consent = ConsentEvidence(given_at=_START, source=Source.API, consent_text_version=1)
    for n in range(LISTS):
        list_id = create_list(account_id, {"name": f"List {n}"}, []).list_id
        write_signup(account_id, list_id, Contact(email=PERSON, phone="+40712345678"), consent,
                     Status.CONFIRMED)
    _campaign_mails(account_id, EVENTS, address_hash(PERSON, hash_key()))
    # Someone else's first: every table's client is built then, as a warm Lambda holds them.
    erase_person(account_id, "someone.else@example.com")
    started, cpu = time.perf_counter(), time.process_time()
    with _calls_by_thread() as threads, count_aws_calls() as calls:
        outcome = erase_person(account_id, PERSON)
    own_cpu = time.process_time() - cpu - threads.moto_cpu_seconds
    return calls, time.perf_counter() - started, outcome, threads, own_cpu


def purge() -> tuple[AwsCalls, AwsCalls, float, int]:
    """The daily purge over 10,000 expired message records: its calls, the calls of the same
    run with nothing to delete (the fixed cost of querying every due bucket), seconds, and
    records deleted."""
    from chalicelib.domain.retention import MESSAGE_RETENTION
    from chalicelib.services.retention import run_purges

    run_at = _START + MESSAGE_RETENTION + timedelta(days=1)
    with _frozen(run_at), count_aws_calls() as empty:
        run_purges()
    with _frozen(_START):
        _messages("acc_bench", EXPIRED, _START, "h" * 64)
    with _frozen(run_at):
        started = time.perf_counter()
        with count_aws_calls() as calls:
            report = run_purges()
        seconds = time.perf_counter() - started
    return calls, empty, seconds, report.counts["messages"]


def print_privacy() -> None:
    from bench.route_calls import _provisioned
    from chalicelib.functions import function_spec
    from chalicelib.store.concurrent_writes import MAX_IN_FLIGHT

    with _provisioned():
        calls, seconds, outcome, threads, own_cpu = erasure()
    print(f"erase a person on {LISTS} lists with {EVENTS} message records: {describe(calls)}, "
          f"{seconds:.2f} s; removed {outcome['removed']}")
    waits = threads.own_thread + math.ceil(threads.pooled / MAX_IN_FLIGHT)
    print(f"  {waits} calls' waits one after another: {threads.own_thread} by the request's thread, "
          f"{threads.pooled} purge-list updates {MAX_IN_FLIGHT} at a time; at "
          f"{AWS_CALL_LATENCY_MS:.0f} ms a call (AWS's latency) {waits * AWS_CALL_LATENCY_MS / 1000:.2f} s "
          f"of the request's 29 s waiting for AWS")
    memory_mb = function_spec("api_handler").memory_mb
    lambda_cpu = own_cpu * VCPU_MEMORY_MB / memory_mb
    print(f"  its own CPU (botocore's included, moto's not): {own_cpu * 1000:.0f} ms on one core here, "
          f"about {lambda_cpu:.1f} s on the API function's {memory_mb} MB ({memory_mb / VCPU_MEMORY_MB:.2f} "
          f"of a vCPU; no pool shortens it); with the waits, about "
          f"{lambda_cpu + waits * AWS_CALL_LATENCY_MS / 1000:.1f} s of the 29 s")
    with _provisioned():
        calls, empty, seconds, deleted = purge()
    scans = calls.by_operation["dynamodb.Scan"] + empty.by_operation["dynamodb.Scan"]
    marginal = calls.total - empty.total
    print(f"purge {deleted} expired message records: {describe(calls)}, {seconds:.2f} s")
    print(f"  the same run with nothing due: {describe(empty)} (one Query per due day and shard)")
    print(f"  {calls.total / deleted:.4f} calls per record in all (1/{deleted / calls.total:.1f}); "
          f"{marginal / deleted:.4f} per record beyond the fixed queries (1/{deleted / marginal:.1f}); "
          f"target 1/25 = 0.0400")
    print(f"  dynamodb.Scan = {scans}")
    assert scans == 0, "the purge must never Scan"


if __name__ == "__main__":
    from bench.offline import go_offline

    go_offline()
    print_privacy()
