"""The cost model's bound on the issue's main lever (bench/cost.tracking_bound, issue 15): what
the tracking path costs now, and the least it could cost with no queue and no worker; the
environments and secret reads of warmed-up functions and of each function's declared secrets."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from bench.cost import MAILS, TRACKING_NOW, Usage, tracking_bound
from bench.functions import function_config
from bench.prices import AWS_CALL_LATENCY_MS, USD
from bench.traffic import Event, Kind

LIST_SIZE = 2_000


def _run(opens: int, clicks: int, bounces: int) -> SimpleNamespace:
    events = ([Event(at=1.0, recipient=n, kind=Kind.OPEN) for n in range(opens)]
              + [Event(at=1.0, recipient=n, kind=Kind.CLICK) for n in range(clicks)]
              + [Event(at=1.0, recipient=n, kind=Kind.BOUNCE) for n in range(bounces)])
    return SimpleNamespace(events=events, scenario=SimpleNamespace(list_size=LIST_SIZE))


def test_the_bound_keeps_the_front_without_its_sends_and_adds_a_read_a_write_and_a_wait_per_event() -> None:
    facts = {key: Usage(lambda_usd=0.001 * (n + 1)) for n, key in enumerate(TRACKING_NOW)}
    facts["usage:tracking_front"] = Usage(lambda_usd=0.001, sqs_requests=500)
    now, bound = tracking_bound(_run(opens=800, clicks=200, bounces=40), facts)

    assert now == pytest.approx(sum(usage.usd() for usage in facts.values()))
    front = function_config("tracking_front")
    events = 1_000 * MAILS / LIST_SIZE  # opens and clicks, not bounces
    per_event = (USD["dynamodb_write_request_unit"] + USD["dynamodb_read_request_unit"]
                 + AWS_CALL_LATENCY_MS / 1000 * front.gb * front.gb_second_usd)
    kept = 0.001 + facts["cold:tracking_front"].usd() + facts["secrets:tracking_front"].usd()
    assert bound == pytest.approx(kept + events * per_event)


# --- the tracking front's warm-up (bench/cost._added_environments) --------------------------------

def _warm_ups_measured() -> SimpleNamespace:
    from bench.metering import Meter

    return SimpleNamespace(warm_ups={"tracking_front": Meter()})


def test_requests_the_warm_environment_serves_add_no_cold_start_and_read_the_key_daily() -> None:
    from bench.cost import _added_environments
    from chalicelib.config import SECRET_MAX_AGE_SECONDS

    # An open every 10 minutes for two days: each finds the environment the warm-ups keep, and
    # the first one and the first after each day of its cache read the key again.
    sparse = [(600.0 * n + 7, 0.012) for n in range(288)]
    added = _added_environments(_warm_ups_measured(), "tracking_front", sparse)
    assert SECRET_MAX_AGE_SECONDS == 24 * 3600
    assert (added.invocations, added.cold_starts, added.cache_fills) == (288, 0, 2)


def test_the_first_open_after_a_quiet_hour_reads_the_key_in_the_warm_environment() -> None:
    from bench.cost import _added_environments

    # Later warm-ups read nothing (services/tracking.warm_up): the warm environment's key aged.
    added = _added_environments(_warm_ups_measured(), "tracking_front", [(10_000.0, 0.012)])
    assert (added.cold_starts, added.cache_fills) == (0, 1)


def test_requests_beside_a_busy_warm_environment_start_their_own() -> None:
    from bench.cost import _added_environments

    # Three at once: the warm environment takes one (and reads its aged key), two start cold and
    # read the key.
    burst = [(1_000.0, 0.012), (1_000.001, 0.012), (1_000.002, 0.012)]
    added = _added_environments(_warm_ups_measured(), "tracking_front", burst)
    assert (added.cold_starts, added.cache_fills) == (2, 3)


def test_without_a_warm_up_every_request_after_a_quiet_spell_starts_cold() -> None:
    from bench.cost import _added_environments

    sparse = [(600.0 * n, 0.012) for n in range(10)]
    added = _added_environments(SimpleNamespace(warm_ups={}), "feedback_worker", sparse)
    assert (added.cold_starts, added.cache_fills) == (10, 10)


# --- secret reads (bench/cost.secret_usage, issue 15) ----------------------------------------------

def test_each_function_reads_its_declared_secrets_and_refreshes_only_the_signing_keys() -> None:
    """From chalicelib/functions.py and config.SECRET_MAX_AGES: the hash key is never re-read."""
    assert [(function_config(name).secrets, function_config(name).refreshed_secrets)
            for name in ("api_handler", "tracking_front", "tracking_worker", "campaign_scheduler")] == [
        (2, 1), (1, 1), (1, 0), (0, 0)]


def test_a_new_environment_reads_every_secret_an_aged_cache_only_the_signing_keys() -> None:
    from bench.cost import secret_usage
    from bench.traffic import Environments

    # Two environments started (both secrets each) and refilled three aged caches (the keys only).
    envs = Environments(invocations=50, cold_starts=2, peak=2, cache_fills=5)
    assert secret_usage(function_config("api_handler"), envs).secret_reads == 2 * 2 + 3 * 1
    # A function reading the hash key alone reads it once an environment, however long it lives.
    assert secret_usage(function_config("tracking_worker"), envs).secret_reads == 2


def test_a_warm_idle_environment_reads_the_signing_keys_daily_and_the_hash_key_once_a_month() -> None:
    from bench.cost import MONTH_SECONDS, monthly_secret_reads
    from bench.metering import Meter, MeteredCall
    from chalicelib.config import SECRET_MAX_AGE_SECONDS
    from chalicelib.resources import HASH_KEY_SECRET, SIGNING_KEYS_SECRET

    read = [MeteredCall("secretsmanager.GetSecretValue", {"SecretId": f"tidings/{name}"})
            for name in (SIGNING_KEYS_SECRET, HASH_KEY_SECRET)]
    assert monthly_secret_reads(Meter(calls=read)) == MONTH_SECONDS / SECRET_MAX_AGE_SECONDS + 1
    assert monthly_secret_reads(Meter()) == 0


# --- the campaign send's calls (bench/cost._split) -------------------------------------------------

def test_each_suppression_read_files_its_purge_list_so_filings_scale_with_reads_not_invocations() -> None:
    """At SES's 14 a second a batch reads a few recipients at a time and files a purge list after
    each read (services/sending/due_suppressions.py): priced per invocation, the filings of the
    metered run (25 recipients a read) were under a third of the model's reads."""
    from bench.cost import _split
    from bench.metering import Meter, MeteredCall

    calls = [MeteredCall("dynamodb.BatchGetItem", {"RequestItems": {"tidings-suppressions": {},
                                                                    "tidings-subscribers": {}}}),
             MeteredCall("dynamodb.PutItem", {"TableName": "tidings-message-purge-lists"}),
             MeteredCall("dynamodb.PutItem", {"TableName": "tidings-messages"}),
             MeteredCall("sesv2.SendEmail", {}),
             MeteredCall("dynamodb.UpdateItem", {"TableName": "tidings-send-progress"})]
    split = _split([Meter(calls=calls)])
    assert [call.label for call in split.reads.calls] == ["dynamodb.BatchGetItem"]
    assert [call.params["TableName"] for call in split.filings.calls] == ["tidings-message-purge-lists"]
    assert [call.label for call in split.mail.calls] == ["dynamodb.PutItem", "sesv2.SendEmail"]
    assert [call.params["TableName"] for call in split.batch.calls] == ["tidings-send-progress"]


# --- the queue-less design with counters (bench/cost.tracking_fold_estimate) ----------------------

def test_a_stream_consumer_keeps_each_batch_its_cpu_its_delta_and_its_purge_list_nothing_per_event() -> None:
    from bench.cost import folded_batches, tracking_fold_estimate
    from bench.metering import Meter, MeteredCall

    def read(table: str, units: float) -> MeteredCall:
        return MeteredCall("dynamodb.BatchGetItem", {"RequestItems": {table: {}}}, read=units)

    calls = [MeteredCall("sqs.ReceiveMessage", {}), read("tidings-subscribers", 1.0),
             read("tidings-tracking-markers", 1.0), read("tidings-campaign-stats", 0.5),
             MeteredCall("dynamodb.PutItem", {"TableName": "tidings-message-purge-lists"}),
             MeteredCall("dynamodb.PutItem", {"TableName": "tidings-tracking-markers"}),
             MeteredCall("dynamodb.PutItem", {"TableName": "tidings-campaign-stats"}),
             MeteredCall("sqs.DeleteMessageBatch", {})]
    (folded,) = folded_batches([Meter(calls=calls, cpu_seconds=0.05, aws_cpu_seconds=0.01, log_bytes=7)])
    tables = [call.params.get("TableName") or next(iter(call.params["RequestItems"]))
              for call in folded.calls]
    assert tables == ["tidings-campaign-stats", "tidings-message-purge-lists", "tidings-campaign-stats"]
    assert (folded.own_ms(), folded.log_bytes, folded.read_units()) == (pytest.approx(40.0), 7, 0.5)

    facts = {key: Usage(lambda_usd=0.001 * (n + 1)) for n, key in enumerate(TRACKING_NOW)}
    facts["usage:tracking_front"] = Usage(lambda_usd=0.001, sqs_requests=500)
    facts["usage:tracking_fold"] = Usage(lambda_usd=0.0004)
    run = _run(opens=800, clicks=200, bounces=40)
    _, bound = tracking_bound(run, facts)
    assert tracking_fold_estimate(run, facts) == pytest.approx(
        bound + 0.0004 + facts["cold:tracking_worker"].usd() + facts["secrets:tracking_worker"].usd())
