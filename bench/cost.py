"""The cost model (issue 15): what Tidings' own AWS usage costs per 1,000 campaign mails, line by
line, as a share of what SES charges for them (target: at most 3% in the sober scenario), and
what an idle deployment costs a month.

How each figure is made:
- Usage is measured: every handler runs against moto through the real code (bench/paths.py),
  each invocation metered for its AWS calls, DynamoDB request units (sized from the items,
  bench/request_units.py), CPU time and log bytes (bench/metering.py).
- Traffic is modelled (bench/traffic.py): each scenario (bench/scenarios.py) draws a campaign's
  opens, clicks, bounces and complaints over 48 hours; the SQS triggers' pollers and batching
  windows cut them into the batches that are then run through the real workers; execution
  environments and cold starts follow from when the invocations happen.
- Lambda time is the measured CPU time stretched to the declared memory's share of a vCPU, plus
  an assumed wait per AWS call, at the declared architecture's price (bench/functions.py,
  bench/prices.py). Cold starts are billed (INIT, since August 2025) at the measured cold import
  of the function's handler module, stretched the same way.
- What nothing here can measure is assumed, and printed as such.

`python -m bench.cost` prints it all; bench/__main__.py calls `main`.
"""
from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.functions import FunctionConfig, batches, batching, drain, function_config, sqs_functions
from bench.metering import Meter, MeteredCall
from bench.prices import (
    AWS_CALL_LATENCY_MS,
    ESM_IDLE_POLL_SECONDS,
    ESM_POLLERS,
    KEEP_WARM_SECONDS,
    PLATFORM_LOG_BYTES,
    PRICES_AS_OF,
    SES_CALL_LATENCY_MS,
    USD,
    VCPU_MEMORY_MB,
)
from bench.scenarios import SCENARIOS, Scenario
from bench.traffic import (
    HOUR,
    Batch,
    Environments,
    Event,
    Kind,
    campaign_events,
    environments,
)
from chalicelib.adapters.sqs import SQS_MAX_BATCH
from chalicelib.config import SECRET_MAX_AGE_SECONDS
from chalicelib.domain.retention import MESSAGE_RECORD_TTL, MESSAGE_RETENTION, TTL_LAG
from chalicelib.domain.sending import PAGE_SIZE
from chalicelib.functions import SYSTEM_LOG_LEVEL

MAILS = 1_000
# The functions whose cold starts the model prices.
COLD_STARTING = ("api_handler", "tracking_front", "tracking_worker", "feedback_worker", "fanout_worker",
                 "campaign_send_worker", "send_worker", "signup_worker")
TARGET_SHARE_OF_SES = 0.03
# The campaign whose sending is metered, after a small one that warms the code up.
REFERENCE_RECIPIENTS = 1_000
WARM_UP_RECIPIENTS = 5
FRONT_REQUESTS = 100
# A campaign sent (records kept) for SES's bounces and complaints to be about.
FEEDBACK_RECIPIENTS = 600
METERED_SIGNUPS = 10
METERED_UNSUBSCRIBES = 10
# A person who confirms does so this long after signing up (an assumption): the confirmation
# page and its POST run after the form's Lambda environment may have gone cold.
CONFIRM_AFTER_SECONDS = 600
# The second of the month's first signup: off the minute grid the warm-up schedules run on, as
# people's are. On it, every signup of an even interval would meet a warm-up at its very second
# and start a second environment (a warm-up holds its environment for about a millisecond).
SIGNUP_PHASE_SECONDS = 97
MONTH_SECONDS = 30 * 24 * HOUR
HOURS_PER_MONTH = 730


# --- usage and its price --------------------------------------------------------------------------

@dataclass
class Usage:
    """AWS usage before prices (SES's own sends excluded: they are the yardstick)."""

    write_units: float = 0.0
    read_units: float = 0.0
    sqs_requests: float = 0.0
    sns_publishes: float = 0.0
    api_requests: float = 0.0
    lambda_requests: float = 0.0
    lambda_usd: float = 0.0  # GB-seconds already priced: x86 and arm64 differ
    lambda_gb_seconds: float = 0.0
    log_bytes: float = 0.0
    metric_hours: float = 0.0
    stored_gb_months: float = 0.0
    secret_reads: float = 0.0

    def usd(self) -> float:
        return (self.write_units * USD["dynamodb_write_request_unit"]
                + self.read_units * USD["dynamodb_read_request_unit"]
                + self.sqs_requests * USD["sqs_request"]
                + self.sns_publishes * USD["sns_publish"]
                + self.api_requests * USD["api_gateway_rest_request"]
                + self.lambda_requests * USD["lambda_request"]
                + self.lambda_usd
                + self.log_bytes / 1024**3 * USD["logs_ingested_gb"]
                + self.metric_hours / HOURS_PER_MONTH * USD["custom_metric_month"]
                + self.secret_reads * USD["secrets_api_call"]
                + self.stored_gb_months * (USD["dynamodb_stored_gb_month"] + USD["dynamodb_pitr_gb_month"]))

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __mul__(self, factor: float) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) * factor for f in fields(self)})

    def describe(self) -> str:
        parts = [(self.write_units, "WRU"), (self.read_units, "RRU"), (self.sqs_requests, "SQS"),
                 (self.sns_publishes, "SNS"), (self.api_requests, "API"),
                 (self.lambda_requests, "invocations"),
                 (self.lambda_gb_seconds, "GB-s"), (self.log_bytes / 1024, "KiB logs"),
                 (self.metric_hours, "metric-hours"), (self.stored_gb_months * 1024, "MiB-months stored"),
                 (self.secret_reads, "secret reads")]
        return ", ".join(f"{value:,.{2 if value < 100 else 0}f} {unit}" for value, unit in parts if value)


def aws_usage(meters: Iterable[Meter]) -> Usage:
    """The DynamoDB, SQS, SNS usage the meters recorded."""
    usage = Usage()
    for meter in meters:
        usage.write_units += meter.write_units()
        usage.read_units += meter.read_units()
        usage.sqs_requests += meter.count("sqs")
        usage.sns_publishes += sum(1 for call in meter.calls if call.label == "sns.Publish")
    return usage


def lambda_usage(config: FunctionConfig, meters: Sequence[Meter], extra_billed_ms: float = 0.0) -> Usage:
    """Invocations of one function, one meter each: requests, billed GB-seconds, logs, plus the
    AWS usage the code made."""
    billed_ms = sum(invocation_ms(config, meter) for meter in meters) + extra_billed_ms
    gb_seconds = billed_ms / 1000 * config.gb
    usage = aws_usage(meters)
    usage.lambda_requests = len(meters)
    usage.lambda_gb_seconds = gb_seconds
    usage.lambda_usd = gb_seconds * config.gb_second_usd
    usage.log_bytes = sum(meter.log_bytes + config.platform_log_bytes for meter in meters)
    return usage


def invocation_ms(config: FunctionConfig, meter: Meter) -> int:
    """Billed milliseconds of one metered invocation."""
    return config.billed_ms(meter.own_ms(), meter.waited_ms())


def init_usage(config: FunctionConfig, cold_starts: float, cold: Any) -> Usage:
    """Billed time of `cold_starts` cold starts (bench.cold_start.ColdStart): the INIT phase
    (start-up and the entry's import), billed since August 2025, and what the first invocation
    loads lazily, billed as part of it; both CPU on one vCPU here, at the function's share."""
    billed = config.billed_ms(cold.init_ms, 0.0) + config.billed_ms(cold.first_call_ms, 0.0)
    gb_seconds = cold_starts * billed / 1000 * config.gb
    return Usage(lambda_gb_seconds=gb_seconds, lambda_usd=gb_seconds * config.gb_second_usd)


def secret_usage(config: FunctionConfig, envs: Environments) -> Usage:
    """The Secrets Manager reads of a function's environments: each of its secrets when an
    environment starts, its refreshed ones (the signing keys) whenever it refills its aged cache,
    and the wait for each read."""
    reads = envs.cold_starts * config.secrets + envs.refills * config.refreshed_secrets
    gb_seconds = config.billed_ms(0.0, reads * AWS_CALL_LATENCY_MS) / 1000 * config.gb if reads else 0.0
    return Usage(secret_reads=reads, lambda_gb_seconds=gb_seconds,
                 lambda_usd=gb_seconds * config.gb_second_usd)


@dataclass(frozen=True)
class LineItem:
    label: str
    usage: Usage  # for MAILS campaign mails
    note: str = ""


# --- measuring ----------------------------------------------------------------------------------

@dataclass
class ScenarioRun:
    scenario: Scenario
    events: list[Event]
    tracking_batches: list[Batch]
    tracking: list[Meter]
    feedback_batches: list[Batch]
    feedback: list[Meter]
    # The daily purge of the marker lists its tracking batches filed, a run with nothing due,
    # and how many lists (bench/paths.marker_purge).
    marker_purge: Meter
    marker_purge_idle: Meter
    marker_lists: int
    markers_left: int  # by TTL, for the purge to delete


@dataclass
class Measured:
    """Everything metered once, and each scenario's own runs."""

    campaign: Any  # bench.paths.CampaignRun
    front: list[Meter]
    signup: Any  # bench.paths.SignupRun
    signups_metered: int
    unsubscribe: Meter
    scheduler: Meter
    retention: Meter
    drain: Meter  # an idle run of the tracking worker's drain
    subscriber_bytes: int
    cold: dict[str, Any]  # function → bench.cold_start.ColdStart
    warm_ups: dict[str, Meter]  # function → a warm run of its scheduled warm-up
    scenarios: list[ScenarioRun] = field(default_factory=list)


@contextmanager
def ses_send_rate(rate: float) -> Iterator[None]:
    """The SES send rate the settings give, for the length of the block."""
    from chalicelib.config import settings

    previous = os.environ.get("TIDINGS_SES_MAX_SEND_RATE")
    os.environ["TIDINGS_SES_MAX_SEND_RATE"] = str(rate)
    settings.cache_clear()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("TIDINGS_SES_MAX_SEND_RATE", None)
        else:
            os.environ["TIDINGS_SES_MAX_SEND_RATE"] = previous
        settings.cache_clear()


def measure(scenarios: Sequence[Scenario] = SCENARIOS) -> Measured:
    """Run every path once (and each scenario's tracking and feedback) against one moto account."""
    from chalice.test import Client

    from app import app
    from bench import paths
    from bench.cold_start import cold_starts
    from bench.offline import quiet
    from bench.route_calls import _provisioned

    cold = cold_starts(list(COLD_STARTING))
    # An SES rate no batch waits for: what waiting costs is modelled (bench/sending_model.py).
    with quiet(), _provisioned(), ses_send_rate(1e6), paths.fast_moto_transactions(), \
            Client(app, stage_name="local") as http:
        paths.send_campaign(http, WARM_UP_RECIPIENTS)
        campaign = paths.send_campaign(http, REFERENCE_RECIPIENTS)
        reader = paths.audience(http, 1)
        _, front = paths.tracking_front(FRONT_REQUESTS, reader)
        scheduler, retention, drain = paths.idle_schedules()
        signup, signups_metered = paths.signups(http, reader, METERED_SIGNUPS)
        unsubscribe = paths.unsubscribes(http, paths.audience(http, METERED_UNSUBSCRIBES + 1),
                                         METERED_UNSUBSCRIBES)
        warm_ups = {function: paths.warm_up(function) for function in _warmed_up()}
        measured = Measured(campaign, front, signup, signups_metered, unsubscribe, scheduler, retention,
                            drain, _subscriber_bytes(), cold, warm_ups)
        bounced = paths.send_campaign(http, FEEDBACK_RECIPIENTS, purge=False)
        for scenario in scenarios:
            measured.scenarios.append(_scenario_run(http, scenario, bounced))
    return measured


def _scenario_run(http: Any, scenario: Scenario, sent: Any) -> ScenarioRun:
    """The scenario's campaign: its opens and clicks through the tracking worker and its bounces
    and complaints through the feedback worker (on the mails of the campaign `sent`, which SES
    would have sent them about), in the batches their triggers would make."""
    from bench import paths

    target = paths.audience(http, scenario.list_size)
    events = campaign_events(scenario.list_size, scenario.ses_rate, scenario.engagement)
    start = datetime.now(UTC) - timedelta(hours=scenario.engagement.horizon_hours + 2)
    tracked = [event for event in events if event.kind in (Kind.OPEN, Kind.CLICK)]
    fed_back = [event for event in events if event.kind in (Kind.BOUNCE, Kind.COMPLAINT)]
    tracking_batches = batches("tracking_worker", [event.at for event in tracked])
    feedback_batches = batches("feedback_worker", [event.at for event in fed_back])
    tracking_bodies = paths.tracking_bodies(tracked, target, start)
    feedback_bodies = paths.feedback_bodies(fed_back, sent.audience, start, sent.recipients)
    tracking = paths.run_batches("tracking_worker", [[tracking_bodies[i] for i in batch.messages]
                                                     for batch in tracking_batches])
    feedback = paths.run_batches("feedback_worker", [[feedback_bodies[i] for i in batch.messages]
                                                     for batch in feedback_batches])
    return ScenarioRun(scenario, events, tracking_batches, tracking, feedback_batches, feedback,
                       *paths.marker_purge())


def _subscriber_bytes() -> int:
    """Bytes one confirmed subscriber takes in its table and indexes (a benchmark subscriber),
    with the 100 bytes of overhead DynamoDB adds to an item in a table and in each index."""
    from bench.metering import MotoTables
    from bench.request_units import item_size
    from chalicelib.config import settings
    from chalicelib.store.models import Subscriber

    tables = MotoTables(settings().region)
    name = Subscriber.Meta.table_name
    stored = tables.any_item(name)
    key = tables.table_key(name)
    total = item_size(stored) + 100
    for index in tables.indexes(name):
        if index.holds(stored):
            total += item_size(index.projected(stored, key)) + 100
    return total


# --- the campaign's sending (bench/sending_model.py) ---------------------------------------------------

def _per_mail(call: Any) -> bool:
    """A call every mail makes (its message record's claim, its SES send)."""
    claim = call.label == "dynamodb.PutItem" and call.params.get("TableName", "").endswith("-messages")
    return claim or call.label == "sesv2.SendEmail"


def _per_recipient_read(call: Any) -> bool:
    """A batch's read of its recipients' suppressions as they come due: its units grow with the
    recipients it reads (services/sending/due_suppressions.py)."""
    return call.label == "dynamodb.BatchGetItem" and any(
        table.endswith("-suppressions") for table in call.params.get("RequestItems", {}))


def _per_read_filing(call: Any) -> bool:
    """The purge list a batch files right after each such read (the recipients it may now mail,
    P21): one a read, however many recipients it names."""
    table = call.params.get("TableName", "")
    return call.label == "dynamodb.PutItem" and table.endswith("-message-purge-lists")


@dataclass
class SendSplit:
    """The metered campaign-send invocations' calls and CPU: per mail, per recipient read (units
    that grow with the recipients read), per read (the purge list filed after it) and per batch."""

    mail: Meter
    reads: Meter
    filings: Meter
    batch: Meter


def _split(meters: Sequence[Meter]) -> SendSplit:
    split = SendSplit(Meter(), Meter(), Meter(), Meter())
    for meter in meters:
        for call in meter.calls:
            if _per_mail(call):
                split.mail.calls.append(call)
            elif _per_recipient_read(call):
                split.reads.calls.append(call)
            elif _per_read_filing(call):
                split.filings.calls.append(call)
            else:
                split.batch.calls.append(call)
    # The CPU is mostly each mail's (composing, MIME); the batch's reads and counting are calls.
    split.mail.cpu_seconds = sum(meter.cpu_seconds - meter.aws_cpu_seconds for meter in meters)
    split.batch.log_bytes = sum(meter.log_bytes for meter in meters)
    return split


def send_costs(run: Any, config: FunctionConfig) -> Any:
    """Seconds the real code keeps a campaign sender busy: per mail, per batch, per page job."""
    from bench.sending_model import SendCosts

    split = _split(run.send)
    per_mail = (split.mail.own_ms() / config.vcpu_share + split.mail.waited_ms()) / run.recipients / 1000
    per_batch = split.batch.waited_ms() / len(run.send) / 1000
    # A suppression read waits as one call, whatever the recipients it reads, and so does the
    # purge list filed after it.
    per_read = (split.reads.waited_ms() + split.filings.waited_ms()) / len(split.reads.calls) / 1000
    fanout = function_config("fanout_worker")
    per_page = sum(invocation_ms(fanout, meter) for meter in run.fanout) / len(run.fanout) / 1000
    return SendCosts(per_mail, per_batch, per_read, per_page, config.timeout_seconds)


def sending_usage(measured: Measured, scenario: Scenario) -> tuple[Usage, list[tuple[float, float]], str]:
    """The campaign workers per MAILS mails at the scenario's SES rate: the fan-out as metered;
    the senders' invocations, continuations and billed time from the sending model around the
    metered cost of each mail and each batch. Returns the usage, the campaign-send invocations
    (start, seconds) for the cold-start model, and a note."""
    from bench.sending_model import simulate

    run = measured.campaign
    fanout, send = function_config("fanout_worker"), function_config("campaign_send_worker")
    timeline = simulate(scenario.list_size, scenario.ses_rate, send_costs(run, send))
    split = _split(run.send)
    invocations = timeline.invocations / scenario.list_size  # per mail
    usage = lambda_usage(fanout, run.fanout) * (1 / run.recipients)
    usage += aws_usage([split.mail]) * (1 / run.recipients)
    usage += aws_usage([split.batch]) * (invocations / len(run.send))
    # The metered run read each recipient's suppressions once; the model says how many reads a
    # campaign at this rate makes (a batch out of time hands back recipients it had read), and
    # each read files its purge list.
    usage += aws_usage([split.reads]) * (timeline.recipients_read / scenario.list_size / run.recipients)
    usage += aws_usage([split.filings]) * (timeline.suppression_reads / scenario.list_size
                                           / len(split.filings.calls))
    usage.lambda_requests += invocations
    gb_seconds = timeline.billed_seconds * send.gb / scenario.list_size
    usage.lambda_gb_seconds += gb_seconds
    usage.lambda_usd += gb_seconds * send.gb_second_usd
    usage.log_bytes += (split.batch.log_bytes / len(run.send) + send.platform_log_bytes) * invocations
    # The trigger receives and deletes each invocation's message; a continuation is sent again.
    usage.sqs_requests += 2 * (len(run.fanout) / run.recipients + invocations)
    usage.sqs_requests += timeline.handed_back / scenario.list_size
    note = (f"{run.recipients:,} mails metered; the sending model at {scenario.ses_rate:g}/s: "
            f"{scenario.list_size:,} mails in {timeline.last_send:,.0f} s (the rate alone "
            f"{timeline.seconds_at_rate:,.0f} s), {timeline.invocations:,} sender invocations of which "
            f"{timeline.handed_back:,} continuations, at most {timeline.peak_senders} at once; "
            f"{timeline.waited_seconds:,.1f} s billed waiting for send times")
    return usage * MAILS, timeline.starts, note


# --- the line items -------------------------------------------------------------------------------

def line_items(measured: Measured, run: ScenarioRun) -> tuple[list[LineItem], dict[str, Any]]:
    """The variable cost of MAILS mails in one scenario, line by line."""
    from app import app  # noqa: F401  (function configs read the app's triggers)

    scenario = run.scenario
    mails = scenario.list_size
    per = MAILS / mails
    items: list[LineItem] = []
    facts: dict[str, Any] = {}
    invocations: dict[str, list[tuple[float, float]]] = {}

    usage, invocations["campaign_send_worker"], note = sending_usage(measured, scenario)
    per_page = send_costs(measured.campaign, function_config("campaign_send_worker")).per_page
    invocations["fanout_worker"] = [(page * per_page, per_page)
                                    for page in range(math.ceil(scenario.list_size / PAGE_SIZE))]
    items.append(LineItem("campaign send (fan-out, batches)", usage, note))

    campaign = measured.campaign
    purge = aws_usage([campaign.purge]) + aws_usage([campaign.idle_purge]) * -1
    markers = aws_usage([run.marker_purge]) + aws_usage([run.marker_purge_idle]) * -1
    items.append(LineItem("record and marker purge (P21, 30 days on)",
                          purge * (MAILS / campaign.recipients) + markers * per,
                          f"{campaign.ttl_deleted:,} records and markers deleted by TTL (free), "
                          f"{campaign.purged.get('messages', 0):,} records by the daily purge; "
                          f"{run.marker_lists:,} lists of the markers the campaign's tracking batches "
                          f"made, {run.markers_left:,} markers by the purge"))

    feedback_config = function_config("feedback_worker")
    feedback = lambda_usage(feedback_config, run.feedback)
    feedback.sns_publishes += sum(len(batch.messages) for batch in run.feedback_batches)
    feedback.sqs_requests += _trigger_requests("feedback_worker", run.feedback_batches)
    invocations["feedback_worker"] = _timed(run.feedback_batches, run.feedback, feedback_config)
    items.append(LineItem("SES feedback (bounces, complaints)", feedback * per,
                          f"{len(_of(run.events, Kind.BOUNCE, Kind.COMPLAINT))} events in "
                          f"{len(run.feedback_batches)} batches"))

    tracked = _of(run.events, Kind.OPEN, Kind.CLICK)
    front_config = function_config("tracking_front")
    front = lambda_usage(front_config, measured.front) * (len(tracked) / len(measured.front))
    front_ms = sum(invocation_ms(front_config, meter) for meter in measured.front) / len(measured.front)
    invocations["tracking_front"] = [(event.at, front_ms / 1000) for event in tracked]
    facts["usage:tracking_front"] = front * per
    items.append(LineItem("tracking front (function URL, a request an event)", front * per,
                          f"{len(tracked):,} opens and clicks; {front_ms:.0f} ms billed a request"))

    worker_config = function_config("tracking_worker")
    worker = lambda_usage(worker_config, run.tracking)
    worker.sqs_requests += _trigger_requests("tracking_worker", run.tracking_batches)
    invocations["tracking_worker"] = _timed(run.tracking_batches, run.tracking, worker_config)
    sizes = sorted(len(batch.messages) for batch in run.tracking_batches)
    facts["tracking_batches"] = sizes
    facts["tracking_wru_per_event"] = sum(meter.write_units() for meter in run.tracking) / len(tracked)
    facts["usage:tracking_worker"] = worker * per
    facts["usage:tracking_fold"] = lambda_usage(worker_config, folded_batches(run.tracking)) * per
    items.append(LineItem("tracking worker (markers, counters)", worker * per,
                          f"{len(sizes):,} batches ({batching('tracking_worker')}): "
                          f"median {sizes[len(sizes) // 2]}, mean {sum(sizes) / len(sizes):.1f} events; "
                          f"{facts['tracking_wru_per_event']:.2f} WRU an event"))

    cold, secrets = Usage(), Usage()
    cold_notes, secret_notes = [], []
    for function, timed in sorted(invocations.items()):
        envs = _added_environments(measured, function, timed)
        facts[f"environments:{function}"] = envs
        config = function_config(function)
        facts[f"cold:{function}"] = init_usage(config, envs.cold_starts, measured.cold[function]) * per
        facts[f"secrets:{function}"] = secret_usage(config, envs) * per
        cold += facts[f"cold:{function}"]
        secrets += facts[f"secrets:{function}"]
        start = measured.cold[function]
        cold_notes.append(f"{function} {envs.cold_starts} ({start.init_ms:.0f} + {start.first_call_ms:.0f})")
        secret_notes.append(f"{function} {envs.cold_starts} x {config.secrets} + {envs.refills} x "
                            f"{config.refreshed_secrets}")
    items.append(LineItem("cold starts of the above (INIT billed)", cold,
                          "cold starts a campaign (CPU ms each: init + first call): "
                          + ", ".join(cold_notes)))
    items.append(LineItem("secret reads of the above (Secrets Manager)", secrets,
                          "new environments x secrets + aged caches x signing keys a campaign (every "
                          "secret at an environment's first call, the signing keys again every "
                          f"{SECRET_MAX_AGE_SECONDS // 3600} hours): " + ", ".join(secret_notes)))

    items.append(_signups_item(measured, scenario))
    items.append(_unsubscribes_item(measured, scenario))
    items.append(_metrics_item(measured, run, invocations))
    subscriber_months = MAILS / scenario.campaigns_per_month
    storage = Usage(stored_gb_months=subscriber_months * measured.subscriber_bytes / 1024**3)
    items.append(LineItem("subscriber storage (table, indexes, PITR)", storage,
                          f"{measured.subscriber_bytes} bytes a subscriber; {subscriber_months:,.0f} "
                          "subscriber-months per 1,000 mails"))
    return items, facts


def _trigger_requests(function: str, batches: Sequence[Batch]) -> float:
    """The ReceiveMessage and DeleteMessageBatch requests a trigger's pollers make for its batches
    (none for a drain: its run makes them, and they are in its meters)."""
    return 0 if drain(function) else sum(batch.receives + batch.deletes for batch in batches)


def _kept_warm(function: str) -> float:
    """How long an idle environment of the function stays warm: for ever when it drains a queue
    more often than an idle environment is reclaimed (its idle runs keep it, and are in the fixed
    cost)."""
    drained = drain(function)
    return math.inf if drained and drained.period_seconds < KEEP_WARM_SECONDS else KEEP_WARM_SECONDS


def _warmed_up() -> list[str]:
    """The functions a schedule warms up (functions.FunctionSpec.warm_every_minutes)."""
    from chalicelib.functions import FUNCTIONS

    return [spec.name for spec in FUNCTIONS if spec.warm_every_minutes is not None]


def _warm_up_runs(measured: Measured, function: str, start: float, end: float) -> list[tuple[float, float]]:
    """(start, seconds) of the function's scheduled warm-ups from before `start` to a period after
    `end`; none for a function without. They begin a cache's age before `start`: the warm
    environment read its secret long ago (later warm-ups read none), so a campaign's first request
    finds the signing keys' cache aged."""
    from chalicelib.functions import function_spec

    minutes = function_spec(function).warm_every_minutes
    if minutes is None:
        return []
    period = minutes * 60.0
    seconds = invocation_ms(function_config(function), measured.warm_ups[function]) / 1000
    first = math.floor((start - SECRET_MAX_AGE_SECONDS) / period) * period - period
    return [(first + n * period, seconds) for n in range(math.ceil((end - first) / period) + 2)]


def _added_environments(measured: Measured, function: str, timed: list[tuple[float, float]]) -> Environments:
    """The cold starts and cache fills a campaign's invocations of the function need: for a
    function with a warm-up, beyond what its warm-ups need anyway (those are in the fixed cost);
    the warm environment serves an invocation unless another holds it."""
    if not timed:
        return Environments(0, 0, 0)
    warm_ups = _warm_up_runs(measured, function, min(start for start, _ in timed),
                             max(start + seconds for start, seconds in timed))
    both = environments(timed, _kept_warm(function), SECRET_MAX_AGE_SECONDS, warm_ups)
    if not warm_ups:
        return both
    alone = environments([], _kept_warm(function), SECRET_MAX_AGE_SECONDS, warm_ups)
    return Environments(len(timed), both.cold_starts - alone.cold_starts, both.peak,
                        both.cache_fills - alone.cache_fills)


def _of(events: Sequence[Event], *kinds: Kind) -> list[Event]:
    return [event for event in events if event.kind in kinds]


def _timed(batches: Sequence[Batch], meters: Sequence[Meter],
           config: FunctionConfig) -> list[tuple[float, float]]:
    return [(batch.invoked_at, invocation_ms(config, meter) / 1000)
            for batch, meter in zip(batches, meters, strict=True)]


def _signups_item(measured: Measured, scenario: Scenario) -> LineItem:
    """Signups and confirmations per MAILS mails: a month's signups spread over the month."""
    signup, n = measured.signup, measured.signups_metered
    per_signup = (lambda_usage(function_config("api_handler"), [signup.form]) * (1 / n)
                  + lambda_usage(function_config("signup_worker"), [signup.worker]) * (1 / n)
                  + lambda_usage(function_config("send_worker"), [signup.confirmation_mail]) * (1 / n))
    per_signup.api_requests += 1
    per_confirmation = (lambda_usage(function_config("api_handler"), [signup.page, signup.confirm]) * (1 / n))
    per_confirmation.api_requests += 2
    expiry = aws_usage([signup.expiry]) + aws_usage([signup.idle_expiry]) * -1
    # Form, worker and mail invocations are single metered blocks above: count them an invocation each.
    per_signup.lambda_requests = 3
    per_confirmation.lambda_requests = 2
    # SQS: the form's SendMessage (metered), the trigger's receive and delete, the outbox's too.
    per_signup.sqs_requests += 4
    signups = scenario.list_size * scenario.signups_per_month
    confirmed = signups * (1 - scenario.unconfirmed_share)
    monthly = per_signup * signups + per_confirmation * confirmed + expiry * (1 / n) * (signups - confirmed)
    # Cold starts: signups arrive evenly over the month; each confirms CONFIRM_AFTER_SECONDS later.
    interval = MONTH_SECONDS / max(signups, 1)
    api, worker, mail = [], [], []
    for k in range(int(signups)):
        at = SIGNUP_PHASE_SECONDS + k * interval
        api.append((at, 0.05))
        worker.append((at + 1, 0.05))
        mail.append((at + 2, 0.1))
        if k < confirmed:
            api += [(at + CONFIRM_AFTER_SECONDS, 0.05), (at + CONFIRM_AFTER_SECONDS + 5, 0.05)]
    # Beside a warm-up's environment (functions.FunctionSpec.warm_every_minutes) where it has one.
    envs = {name: _added_environments(measured, name, timed)
            for name, timed in (("api_handler", api), ("signup_worker", worker), ("send_worker", mail))}
    cold_starts = {name: found.cold_starts for name, found in envs.items()}
    for name, found in envs.items():
        monthly += init_usage(function_config(name), found.cold_starts, measured.cold[name])
        monthly += secret_usage(function_config(name), found)
    mails_per_month = scenario.mails_per_month
    ses_extra = signups * USD["ses_email"] / mails_per_month * MAILS
    note = (f"{signups:,.0f} signups a month, {confirmed:,.0f} confirmed; cold starts a month: "
            + ", ".join(f"{name} {count}" for name, count in cold_starts.items())
            + " (each reads its function's secrets)"
            + f"; their confirmation mails add ${ses_extra:.5f} to the SES bill (SES's price, not overhead)")
    return LineItem("signups and confirmations (amortised)", monthly * (MAILS / mails_per_month), note)


def _unsubscribes_item(measured: Measured, scenario: Scenario) -> LineItem:
    usage = lambda_usage(function_config("api_handler"), [measured.unsubscribe]) * (1 / METERED_UNSUBSCRIBES)
    usage.lambda_requests = 1
    usage.api_requests = 1
    count = MAILS * scenario.unsubscribe_rate
    return LineItem("unsubscribes (one-click POST)", usage * count, f"{count:g} per 1,000 mails")


def _metrics_item(measured: Measured, run: ScenarioRun,
                  invocations: dict[str, list[tuple[float, float]]]) -> LineItem:
    """Custom metrics are billed by the hour they are sent in: the hours of each campaign in
    which each metric the workers emit was sent."""
    hours: dict[str, set[int]] = defaultdict(set)
    emitted = [(batch.invoked_at, meter)
               for batch, meter in zip(run.tracking_batches, run.tracking, strict=True)]
    emitted += [(batch.invoked_at, meter)
                for batch, meter in zip(run.feedback_batches, run.feedback, strict=True)]
    for at, meter in emitted:
        for name in meter.metrics:
            hours[name].add(int(at // HOUR))
    sending_hours = {int(at // HOUR) for at, _ in invocations.get("campaign_send_worker", [(0.0, 0.0)])}
    for meter in measured.campaign.send:
        for name in meter.metrics:
            hours[name] |= sending_hours
    metric_hours = sum(len(seen) for seen in hours.values())
    per = MAILS / run.scenario.list_size
    return LineItem("custom metrics (the hours they are sent in)", Usage(metric_hours=metric_hours * per),
                    f"{len(hours)} metrics over {metric_hours} metric-hours a campaign")


# --- the fixed cost of a deployment --------------------------------------------------------------------

def fixed_monthly(measured: Measured) -> list[LineItem]:
    """What a deployment costs a month with nothing sent: its schedules, its queues' pollers, its
    alarms and secrets."""
    minutes = int(MONTH_SECONDS / 60)
    scheduler = lambda_usage(function_config("campaign_scheduler"), [measured.scheduler]) * minutes
    # Its one environment stays warm (a run a minute) and reads each secret again when it has aged.
    idle_reads = measured.scheduler.count("secretsmanager")
    scheduler.secret_reads = monthly_secret_reads(measured.scheduler)
    retention = lambda_usage(function_config("retention_worker"), [measured.retention]) * 30
    tracking_period = drain("tracking_worker")
    assert tracking_period is not None
    drains = int(MONTH_SECONDS / tracking_period.period_seconds)
    tracking_drain = lambda_usage(function_config("tracking_worker"), [measured.drain]) * drains
    tracking_drain.secret_reads = monthly_secret_reads(measured.drain)  # kept warm, as the scheduler
    triggers = sqs_functions()
    polls = len(triggers) * ESM_POLLERS * MONTH_SECONDS / ESM_IDLE_POLL_SECONDS
    alarms, secrets = _template_counts()
    idle_metrics = measured.scheduler.metrics | measured.retention.metrics | measured.drain.metrics
    for meter in measured.warm_ups.values():
        idle_metrics |= meter.metrics
    return [
        LineItem("every-minute campaign scheduler", scheduler,
                 f"{minutes:,} runs; an idle run reads {idle_reads} secrets"),
        LineItem("daily purge with nothing due", retention, "30 runs"),
        LineItem(f"tracking drain every {tracking_period.period_seconds / 60:g} min, queue empty",
                 tracking_drain,
                 f"{drains:,} runs; an idle run makes {measured.drain.count('sqs')} SQS call and reads "
                 f"{measured.drain.count('secretsmanager')} secrets"),
        *(_warm_up_item(measured, function) for function in _warmed_up()),
        LineItem("SQS triggers polling empty queues", Usage(sqs_requests=polls),
                 f"{len(triggers)} triggers x {ESM_POLLERS} pollers, a receive every "
                 f"{ESM_IDLE_POLL_SECONDS} s"),
        LineItem("CloudWatch alarms", Usage(lambda_usd=alarms * USD["alarm_month"]),
                 f"{alarms} in the template"),
        LineItem("Secrets Manager secrets", Usage(lambda_usd=secrets * USD["secret_month"]),
                 f"{secrets} read at run time"),
        LineItem("custom metrics sent while idle", Usage(metric_hours=len(idle_metrics) * HOURS_PER_MONTH),
                 ", ".join(sorted(idle_metrics)) or "none"),
    ]


def monthly_secret_reads(meter: Meter) -> float:
    """The secret reads a month of one environment, warm all month, whose runs read the secrets the
    metered run read (with nothing cached): each once, and again each time its cache age runs out
    (config.SECRET_MAX_AGES: the signing keys daily, the hash key never)."""
    from chalicelib.config import SECRET_MAX_AGES

    return sum(math.ceil(MONTH_SECONDS / SECRET_MAX_AGES[call.params["SecretId"].rsplit("/", 1)[-1]])
               for call in meter.calls if call.label == "secretsmanager.GetSecretValue")


def _warm_up_item(measured: Measured, function: str) -> LineItem:
    """A function's scheduled warm-ups a month: their runs (the first in an environment reads its
    secrets; the model keeps one environment all month)."""
    from chalicelib.functions import function_spec

    config, minutes = function_config(function), function_spec(function).warm_every_minutes
    assert minutes is not None
    runs = int(MONTH_SECONDS / (minutes * 60))
    usage = lambda_usage(config, [measured.warm_ups[function]]) * runs
    usage += secret_usage(config, Environments(runs, 1, 1, 1))
    return LineItem(f"{function} warm-up every {minutes} min", usage,
                    f"{runs:,} runs; an environment's first reads {config.secrets} secret(s), the rest "
                    f"make {len(measured.warm_ups[function].calls)} AWS calls: a request reads "
                    "the key again once its cache has aged")


def _template_counts() -> tuple[int, int]:
    """(alarms in the deployment template built from the app (infra/template.py), Secrets
    Manager secrets the functions read (resources.SECRETS, created once by the operator))."""
    from chalicelib.config import read_settings
    from chalicelib.resources import SECRETS
    from infra.package import app_functions
    from infra.template import build_merge_template

    functions, handlers = app_functions()
    template = build_merge_template(read_settings({"TIDINGS_PREFIX": "tidings", "TIDINGS_STAGE": "prod"}),
                                    functions, handlers)
    alarms = sum(1 for resource in template["Resources"].values()
                 if resource.get("Type") == "AWS::CloudWatch::Alarm")
    return alarms, len(SECRETS)


# --- printing -----------------------------------------------------------------------------------------

def _money(usd: float) -> str:
    return f"${usd:.5f}" if usd < 1 else f"${usd:,.2f}"


def print_scenario(measured: Measured, run: ScenarioRun) -> float:
    """Print one scenario's line items; returns its total as a share of SES."""
    scenario = run.scenario
    items, facts = line_items(measured, run)
    ses = MAILS * USD["ses_email"]
    print(f"\n-- {scenario.name} scenario: variable cost per {MAILS:,} campaign mails")
    for line in scenario.assumptions():
        print(f"   assumed: {line}")
    total = 0.0
    for item in items:
        usd = item.usage.usd()
        total += usd
        print(f"   {item.label:<48} {_money(usd):>10} {100 * usd / ses:5.2f}%  ({item.usage.describe()})")
        if item.note:
            print(f"   {'':<48} {'':>10}         {item.note}")
    share = total / ses
    distance = 100 * (share - TARGET_SHARE_OF_SES)
    verdict = "met" if share <= TARGET_SHARE_OF_SES else f"NOT met (by {distance:.2f} points)"
    print(f"   total {_money(total)} = {100 * share:.2f}% of SES's ${ses:.2f} -> target "
          f"<= {TARGET_SHARE_OF_SES:.0%}"
          f"{' (sober scenario)' if scenario.name == 'sober' else ''}: {verdict}")
    print_floor(measured, run)
    print_tracking_bound(run, facts, total)
    return share


def print_floor(measured: Measured, run: ScenarioRun) -> None:
    """What no tuning of this design goes below in the scenario: the calls each tracking event and
    each mail cannot do without, priced; the rest of the total is what batching, cold starts,
    signups and storage add on top."""
    ses = MAILS * USD["ses_email"]
    front = function_config("tracking_front")
    front_ms = sum(invocation_ms(front, meter) for meter in measured.front) / len(measured.front)
    # The front's invocation and its SendMessage, the drain's ReceiveMessage and DeleteMessageBatch
    # (ten events each), the marker's put.
    per_event = (USD["lambda_request"] + front_ms / 1000 * front.gb * front.gb_second_usd
                 + (1 + 2 / SQS_MAX_BATCH) * USD["sqs_request"] + USD["dynamodb_write_request_unit"])
    sender = function_config("campaign_send_worker")
    # The message record that claims the mail, and the sender's wait for SES's answer.
    per_mail = (USD["dynamodb_write_request_unit"]
                + SES_CALL_LATENCY_MS / 1000 * sender.gb * sender.gb_second_usd)
    events = len(_of(run.events, Kind.OPEN, Kind.CLICK)) / run.scenario.list_size
    floor = MAILS * (per_mail + events * per_event)
    print(f"   floor of this design: {events:.3f} tracking events a mail at ${per_event * 1e6:.2f} a million "
          "(the front's invocation, its SendMessage, a tenth of the drain's ReceiveMessage and "
          "DeleteMessageBatch, one marker put), "
          f"and each mail's ${per_mail * 1e6:.2f} a million (its message record, the wait for SES): "
          f"{100 * floor / ses:.2f}% of SES before any batch, cold start, secret read, signup or storage")


# What the tracking path costs now: the front and the worker, their cold starts and secret reads.
TRACKING_NOW = ("usage:tracking_front", "usage:tracking_worker", "cold:tracking_front",
                "cold:tracking_worker", "secrets:tracking_front", "secrets:tracking_worker")


def tracking_bound(run: ScenarioRun, facts: dict[str, Any]) -> tuple[float, float]:
    """(now, bound): what the tracking path costs per MAILS mails, and the least the issue's main
    lever could make it cost: no queue and no worker, the front checking the person's entry and
    list with one eventually consistent read (two items under 4 KB: 1 RRU) and recording the
    event with one write (1 WRU), reports counting those records. Not built. A bound in that
    design's favour: the front's larger cold start, its hash-key read and the reports' reads are
    left out."""
    front = function_config("tracking_front")
    events = len(_of(run.events, Kind.OPEN, Kind.CLICK)) * MAILS / run.scenario.list_size
    now = sum(facts[key].usd() for key in TRACKING_NOW)
    # Its SendMessage becomes a read and a write: one call more to wait for.
    extra_wait = AWS_CALL_LATENCY_MS / 1000 * front.gb * front.gb_second_usd
    per_event = USD["dynamodb_write_request_unit"] + USD["dynamodb_read_request_unit"] + extra_wait
    kept = sum(facts[key].usd() for key in ("usage:tracking_front", "cold:tracking_front",
                                            "secrets:tracking_front"))
    sends = facts["usage:tracking_front"].sqs_requests * USD["sqs_request"]
    return now, kept - sends + events * per_event


# What a consumer of the markers' stream would still write per batch: its delta (and the check
# that it is not there yet), and the purge list of the markers its batch created.
_FOLD_TABLES = ("-campaign-stats", "-message-purge-lists")


def folded_batches(meters: Sequence[Meter]) -> list[Meter]:
    """The tracking worker's metered batches as a consumer of the markers' DynamoDB stream would
    run them: the same invocations and CPU, only the delta's and the purge list's calls (the
    stream's reads are free; the front has read the entry and list and written the marker)."""
    def kept(call: MeteredCall) -> bool:
        tables = call.params.get("TableName") or ",".join(call.params.get("RequestItems", {}))
        return tables.endswith(_FOLD_TABLES)

    return [Meter(calls=[call for call in meter.calls if kept(call)], cpu_seconds=meter.cpu_seconds,
                  aws_cpu_seconds=meter.aws_cpu_seconds, log_bytes=meter.log_bytes) for meter in meters]


def tracking_fold_estimate(run: ScenarioRun, facts: dict[str, Any]) -> float:
    """What the bound's design costs once its reports have counters: the bound's front, and a
    consumer of the markers' stream folding each batch of marker changes into one delta per
    campaign (the worker's batches, invocations and CPU, its delta and purge-list writes, its
    cold start and secret reads). Not built: an estimate from measured parts, not a bound."""
    _, bound = tracking_bound(run, facts)
    return bound + sum(facts[key].usd() for key in ("usage:tracking_fold", "cold:tracking_worker",
                                                    "secrets:tracking_worker"))


def _verdict(share: float) -> str:
    return ("met" if share <= TARGET_SHARE_OF_SES
            else f"still NOT met (by {100 * (share - TARGET_SHARE_OF_SES):.2f} points)")


def print_tracking_bound(run: ScenarioRun, facts: dict[str, Any], total: float) -> None:
    ses = MAILS * USD["ses_email"]
    now, bound = tracking_bound(run, facts)
    share = (total - now + bound) / ses
    print(f"   without the tracking queue and worker (not built; a bound in that design's favour: the front "
          f"reads the entry and list at 1 RRU and writes the event at 1 WRU, nothing else): tracking "
          f"{100 * bound / ses:.2f}% instead of {100 * now / ses:.2f}%, total {100 * share:.2f}% -> "
          f"target {_verdict(share)}")
    folded = tracking_fold_estimate(run, facts)
    share = (total - now + folded) / ses
    print(f"   that design with counters for its reports (not built; an estimate from measured parts: the "
          f"front above writes each event to its marker, a consumer of the markers' DynamoDB stream "
          f"folds each of the worker's batches into one delta a campaign and files the new markers for "
          f"the purge, with the worker's invocations, CPU, cold start and secret reads): tracking "
          f"{100 * folded / ses:.2f}%, total {100 * share:.2f}% -> target {_verdict(share)}")


def print_assumptions() -> None:
    print(f"prices {PRICES_AS_OF} (bench/prices.py). Assumed, not measured:")
    print(f"   an AWS call keeps a Lambda waiting {AWS_CALL_LATENCY_MS:.0f} ms (DynamoDB, SQS, SNS), "
          f"an SES send "
          f"{SES_CALL_LATENCY_MS:.0f} ms")
    print(f"   Lambda runs code at memory/{VCPU_MEMORY_MB} MB of a vCPU, one vCPU being one core of this "
          f"machine; INIT at the same share")
    print(f"   an idle environment stays warm {KEEP_WARM_SECONDS // 60} minutes; SQS triggers start with "
          f"{ESM_POLLERS} pollers, each message reaching one of them at random; Lambda's START/END/REPORT "
          f"lines take {PLATFORM_LOG_BYTES} bytes an invocation; at the deployed system log level "
          f"({SYSTEM_LOG_LEVEL}) {function_config('tracking_front').platform_log_bytes} bytes are logged")
    print(f"   each environment reads every secret its function may read (GetSecretValue) at its first call; "
          f"the signing keys again once their cache is {SECRET_MAX_AGE_SECONDS // 3600} hours old, the hash "
          "key never again (it never changes; its cache outlives the environment)")
    drained = [name for name in _FUNCTIONS if drain(name)]
    print(f"   {', '.join(drained)} drains its queue on its schedule whether or not anything waits, more "
          "often than an idle environment is reclaimed, so its environment stays warm: a campaign adds the "
          "runs that find events (their receives and deletes metered with them), one cold start (its "
          f"secrets read once), and a read of the signing keys every {SECRET_MAX_AGE_SECONDS // 3600} hours "
          "while events come where its function "
          "may read them; the idle runs are in the fixed cost")
    for function in _warmed_up():
        print(f"   {function} is warmed up on a schedule (an environment's first warm-up loads what its "
              "first request needs, and the tracking front's reads its key; later ones only keep it): a "
              "campaign or a signup adds the cold starts of the environments its work starts beside the "
              "warm one, and the signing keys' reads of its work once their cache has aged; the warm-ups "
              "are in the fixed cost, and their environment is assumed to live all month (each time AWS "
              "replaces it: a cold start and a secret read more, not counted)")
    print(f"   DynamoDB's TTL deletes an expired item (free) within {TTL_LAG.days} days: message records "
          f"and tracking markers expire {MESSAGE_RECORD_TTL.days} days after sending, so the purge on day "
          f"{MESSAGE_RETENTION.days} finds them gone (it reads each listed key, eventually consistent: "
          "half a read unit each, and deletes what is left)")
    configs = Counter((c.memory_mb, c.architecture, c.timeout_seconds)
                      for c in (function_config(name) for name in _FUNCTIONS))
    print("   deployed functions (memory, architecture, timeout): "
          + "; ".join(f"{count} at {memory} MB {arch} {timeout} s"
                      for (memory, arch, timeout), count in configs.items()))


_FUNCTIONS = ("api_handler", "tracking_front", "tracking_worker", "feedback_worker", "fanout_worker",
              "campaign_send_worker", "send_worker", "signup_worker", "campaign_scheduler",
              "retention_worker")


def print_fixed(measured: Measured) -> None:
    items = fixed_monthly(measured)
    print("\n-- fixed cost a month of an idle deployment (nothing sent)")
    total = 0.0
    for item in items:
        usd = item.usage.usd()
        total += usd
        print(f"   {item.label:<48} {_money(usd):>10}  ({item.note})")
    per_mail = TARGET_SHARE_OF_SES * USD["ses_email"]
    volume = total / per_mail
    print(f"   total {_money(total)} a month: under {TARGET_SHARE_OF_SES:.0%} of SES from "
          f"{math.ceil(volume / 1000) * 1000:,} mails a month "
          f"(SES bill then ${volume * USD['ses_email']:,.2f})")
    for scenario in SCENARIOS:
        bill = scenario.mails_per_month * USD["ses_email"]
        print(f"   the {scenario.name} sender ({scenario.mails_per_month:,} mails a month, SES ${bill:.2f}): "
              f"fixed cost {100 * total / bill:.0f}% of its SES bill")


def print_measured(measured: Measured) -> None:
    campaign = measured.campaign
    print(f"measured once: a campaign to {campaign.recipients:,} ({len(campaign.fanout)} fan-out and "
          f"{len(campaign.send)} campaign-send invocations), {len(measured.front)} tracking-front requests, "
          f"{measured.signups_metered} signups, {METERED_UNSUBSCRIBES} unsubscribes, the idle schedules "
          "(the tracking drain's among them); each function's cold start measured apart "
          "(bench/cold_start.py)")


def main() -> None:
    """Measure and print every scenario and the fixed cost."""
    measured = measure()
    print_assumptions()
    print_measured(measured)
    for run in measured.scenarios:
        print_scenario(measured, run)
    print_fixed(measured)


if __name__ == "__main__":
    from bench.offline import go_offline

    go_offline()
    main()
