"""Every Lambda function's deployed configuration and what it touches in AWS, declared once.

The deployment template is built from these declarations (infra/template.py: timeout, memory,
architecture, the queue trigger's batch, window and maximum concurrency (or the queue a scheduled
function drains), reserved concurrency, the queue's visibility timeout, and one IAM role per
function generated from `touches`). The local pump and scheduler and the tests invoke every
handler under the same declaration (chalicelib/local/invoke.py: the Lambda context counts down
from `timeout_seconds`), and the tests hold every AWS call a handler makes against the policy
generated from its `touches`.

Names are Chalice's function names; tables are the models' logical names (store/models.py),
queues and topics those of resources.py, so this module imports no layer below it.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from chalicelib.resources import (
    CAMPAIGN_SEND,
    FANOUT,
    FEEDBACK,
    HASH_KEY_SECRET,
    IMPORTS,
    INBOUND_MAIL,
    OUTBOX,
    SIGNING_KEYS_SECRET,
    SIGNUPS,
    SMS_INBOUND,
    TRACKING,
    QueueSpec,
)

# Every dependency ships a wheel for Graviton (iptocc's aarch64 wheel, markupsafe's pure fallback);
# arm64 costs 20% less per GB-second than x86_64. Chalice builds one zip for all functions, so
# every function has the same architecture (infra/package.py checks the stage agrees).
ARCHITECTURE = "arm64"
# Lambda's own log lines (START, END, REPORT: some 380 bytes an invocation) are most of what a
# tracking request logs, and CloudWatch bills every byte: at WARN (JSON log format) Lambda drops
# them. Durations, errors and timeouts stay in the functions' metrics and alarms, and the code's
# own INFO lines stay. A stack parameter (infra/template.py) lets an operator set INFO or DEBUG.
SYSTEM_LOG_LEVEL = "WARN"
APPLICATION_LOG_LEVEL = "INFO"
# What AWS asks of a queue that triggers a Lambda: a visibility timeout of at least six times the
# function's timeout (plus the batching window), so a retried batch is not redelivered mid-work.
VISIBILITY_TIMEOUT_FACTOR = 6
# Lambda's lowest allowed maximum concurrency of an SQS event source mapping.
MIN_MAXIMUM_CONCURRENCY = 2
# The SES rate (messages a second) the configuration defaults to (config.py) and a template is
# packaged for unless told otherwise (infra/package.py --ses-rate).
DEFAULT_SES_RATE = 14.0
# How long one campaign sender takes per mail at its declared memory: the SES call (~40 ms), the
# message record's put (~10 ms), composing and building the MIME (bench/sending.py measures it).
SECONDS_PER_CAMPAIGN_MAIL = 0.06


class Access(Enum):
    """How a function uses a table: READ (get, query) or WRITE (also put, update, delete)."""

    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class TableAccess:
    table: str  # the model's logical name
    access: Access


def reads(*tables: str) -> tuple[TableAccess, ...]:
    return tuple(TableAccess(table, Access.READ) for table in tables)


def writes(*tables: str) -> tuple[TableAccess, ...]:
    return tuple(TableAccess(table, Access.WRITE) for table in tables)


@dataclass(frozen=True)
class Touches:
    """The AWS resources a function's handlers use; its IAM policy is generated from this alone."""

    tables: tuple[TableAccess, ...] = ()
    # Queues it sends jobs to.
    enqueues: tuple[QueueSpec, ...] = ()
    # SES: send mail through the configuration set, as any identity of this account.
    sends_mail: bool = False
    # SES: read whether a sender identity is verified (P35).
    reads_sender_identities: bool = False
    # SES: create and delete the identities accounts add and remove (/v1/senders, P35).
    manages_sender_identities: bool = False
    # SES: delete the identities of an account being deleted (P22-P24).
    deletes_sender_identities: bool = False
    # SNS SMS: publish to phone numbers (granted on no SNS topic) and read the opted-out list
    # (on "*": AWS cannot scope it).
    sends_sms: bool = False
    # Secrets Manager secrets (resources.SECRETS) it reads at run time.
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueueTrigger:
    """An SQS event source: the queue the function consumes and how Lambda polls it."""

    queue: QueueSpec
    batch_size: int
    batching_window_seconds: int = 0
    # Lambda runs at most this many copies for this queue, so one busy queue cannot take the
    # account's concurrency from the others (sending above all).
    maximum_concurrency: int = 5


# A function that runs at least this often keeps its execution environment: under the 5 minutes
# an idle one is assumed to last (bench/prices.KEEP_WARM_SECONDS, the low end of what others
# measured; AWS publishes no figure).
KEEP_WARM_MINUTES = 4


@dataclass(frozen=True)
class QueueDrain:
    """A queue a scheduled function empties itself, with no event source mapping: each run
    receives batches of up to `batch_size` until the queue is empty or its time runs short.

    For a trickle: a trigger's five pollers split a few messages a minute into batches of one or
    two, each an invocation, a cold start after every quiet spell and a write of its own; a run
    every few minutes takes them all at once and stays warm."""

    queue: QueueSpec
    batch_size: int
    every_minutes: int = 1


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function as deployed."""

    name: str
    timeout_seconds: int
    touches: Touches
    memory_mb: int = 256
    architecture: str = ARCHITECTURE
    trigger: QueueTrigger | None = None
    drain: QueueDrain | None = None
    # Concurrency kept for (and capped at) this function: the public tracking front must not
    # take the account's whole concurrency in a pixel flood. None: the account's shared pool.
    reserved_concurrency: int | None = None
    # Invoked by a schedule this often to keep an environment loaded (chalicelib/warm_up.py): for
    # work that comes a few times an hour, each piece would otherwise wait for a cold start and
    # pay for it. The tracking front's also reads what its first request needs (a reader's click
    # waits for no cold start, and the front reads its secret at most daily while requests come
    # instead of at each cold start). None: no warm-up.
    warm_every_minutes: int | None = None
    # When the tracking front's reserve is a template parameter, its name.
    description: str = field(default="", compare=False)

    @property
    def _source(self) -> QueueTrigger | QueueDrain | None:
        return self.trigger or self.drain

    @property
    def consumes(self) -> QueueSpec | None:
        """The queue it takes its work from: its trigger's, or the one it drains."""
        return self._source.queue if self._source else None

    @property
    def batch_size(self) -> int:
        """The most messages it handles at once (one invocation's, or one drained batch's)."""
        if self._source is None:
            raise ValueError(f"{self.name} consumes no queue")
        return self._source.batch_size

    @property
    def queue_visibility_timeout_seconds(self) -> int:
        """The visibility timeout its queue needs: 6 x timeout + batching window (a drain holds
        its messages no longer than its run)."""
        if self.consumes is None:
            raise ValueError(f"{self.name} consumes no queue")
        window = self.trigger.batching_window_seconds if self.trigger else 0
        return VISIBILITY_TIMEOUT_FACTOR * self.timeout_seconds + window


def campaign_send_trigger(ses_rate: float) -> QueueTrigger:
    """The campaign sender's trigger for an SES rate. Each batch sends at its reserved send times
    and hands back what must wait (services/sending/batches.py), so no sender sleeps for the rate:
    the rate sets how many senders are needed to keep up with it (one sends about
    1/SECONDS_PER_CAMPAIGN_MAIL mails a second; half as many again in hand, for batches coming
    back from a wait) and how many batches one invocation takes (more than one only when one
    sender is faster than the rate, so a batch never waits behind another in one invocation)."""
    senders = math.ceil(1.5 * ses_rate * SECONDS_PER_CAMPAIGN_MAIL)
    batches = math.floor(1 / (ses_rate * SECONDS_PER_CAMPAIGN_MAIL))
    return QueueTrigger(CAMPAIGN_SEND, batch_size=max(1, min(10, batches)),
                        maximum_concurrency=max(MIN_MAXIMUM_CONCURRENCY, senders))


_BOTH_SECRETS = (SIGNING_KEYS_SECRET, HASH_KEY_SECRET)
_HASH_ONLY = (HASH_KEY_SECRET,)

# Every table that holds an account's own items (store/account_data.ACCOUNT_TABLES): what an
# account purge deletes (tests/test_functions.py keeps the two in step).
ACCOUNT_DATA_TABLES = ("subscribers", "lists", "campaign-stats", "send-progress", "tracking-markers",
                       "campaigns", "messages", "message-purge-lists", "import-chunks", "imports",
                       "privacy-exports", "privacy-requests", "suppressions", "account-health", "audit-log",
                       "api-keys", "sender-identities", "accounts")

FUNCTIONS: tuple[FunctionSpec, ...] = (
    # The REST API and the public pages: every account's data, through the routes. It queues
    # work (never sends mail itself, but texts phone codes and test SMS, a test filed for the
    # 30-day purge like a campaign's), and reads the platform's own counters only to enforce
    # the signup and forwarding limits. An erasure deletes the person's feedback receipts (P18).
    FunctionSpec("api_handler", 29, Touches(
        tables=writes("accounts", "api-keys", "audit-log", "campaign-stats", "campaigns", "imports",
                      "import-chunks", "lists", "feedback-receipts", "messages", "message-purge-lists",
                      "privacy-exports", "privacy-requests", "rate-counters", "send-progress", "subscribers",
                      "suppressions", "tracking-markers", "account-health", "sender-identities",
                      "idempotency-keys"),
        enqueues=(OUTBOX, SIGNUPS, IMPORTS, TRACKING, FANOUT),
        reads_sender_identities=True, manages_sender_identities=True, sends_sms=True,
        secrets=_BOTH_SECRETS),
        # A small list's signups come hours apart: without its warm-up nearly every signup form,
        # confirmation page and unsubscribe waited for a cold start (seconds at this memory) and
        # paid for it (issue 15).
        warm_every_minutes=KEEP_WARM_MINUTES),
    # The public open pixel and click redirect (a function URL): it reads the link's signed
    # token and queues the event, nothing else. Its reserve caps a pixel flood (template
    # parameter TrackingReservedConcurrency, this the default). Opens trickle in for days, a
    # few an hour on a small list: without its warm-up nearly every one was a cold start and a
    # secret read (issue 15).
    FunctionSpec("tracking_front", 10, Touches(enqueues=(TRACKING,), secrets=(SIGNING_KEYS_SECRET,)),
                 memory_mb=256, reserved_concurrency=50, warm_every_minutes=KEEP_WARM_MINUTES),
    # A confirmation mail comes from the account's identity while it may send as it (P35).
    FunctionSpec("signup_worker", 30, Touches(
        tables=reads("accounts", "lists", "sender-identities")
        + writes("subscribers", "suppressions", "rate-counters", "audit-log"),
        enqueues=(OUTBOX,), reads_sender_identities=True, secrets=_BOTH_SECRETS),
        trigger=QueueTrigger(SIGNUPS, 10), warm_every_minutes=KEEP_WARM_MINUTES),
    # A chunk is at most 500 rows; a minute leaves room for a slow DynamoDB.
    FunctionSpec("import_worker", 60, Touches(
        tables=reads("lists", "accounts", "sender-identities")
        + writes("imports", "import-chunks", "subscribers", "suppressions", "audit-log", "rate-counters"),
        enqueues=(OUTBOX,), reads_sender_identities=True, secrets=_BOTH_SECRETS),
        trigger=QueueTrigger(IMPORTS, 1)),
    # A job without an SES token goes back to its queue, delayed (services/sending/outbox.py).
    # An account's mail is checked again as it goes: may the account still send (P26), does it
    # still own the identity the mail is From, verified by SES (P35), does a confirmation's
    # signup still wait for it (P17, P18) and its account still take signups (P23)?
    FunctionSpec("send_worker", 30, Touches(
        tables=reads("accounts", "suppressions", "sender-identities", "subscribers")
        + writes("messages", "message-purge-lists", "send-rate", "campaign-stats", "account-health",
                 "sent-count-receipts"),
        enqueues=(OUTBOX,), sends_mail=True, reads_sender_identities=True, secrets=_HASH_ONLY),
        # Warmed up like signup_worker: a confirmation or transactional mail waits for no cold start.
        trigger=QueueTrigger(OUTBOX, 10), warm_every_minutes=KEEP_WARM_MINUTES),
    # Starts due campaigns: checks the sender (P35) and queues the first fan-out page. The pages
    # and batches that follow send the mail and SMS and read the secrets, not the scheduler.
    FunctionSpec("campaign_scheduler", 30, Touches(
        tables=reads("accounts", "lists", "sender-identities")
        + writes("campaigns", "send-progress", "audit-log"),
        enqueues=(FANOUT,), reads_sender_identities=True)),
    # An email page reserves its recipients' send times (store/send_rate.py).
    FunctionSpec("fanout_worker", 60, Touches(
        tables=reads("lists", "subscribers", "suppressions")
        + writes("send-progress", "campaigns", "send-rate"),
        enqueues=(FANOUT, CAMPAIGN_SEND), secrets=_HASH_ONLY),
        trigger=QueueTrigger(FANOUT, 1)),
    # Batches of up to 100 recipients at their reserved send times; it hands back what is left
    # when its time runs short or the rest must wait (services/sending/batches.py). Its trigger
    # follows the SES rate (campaign_send_trigger; function_spec's `ses_rate`).
    FunctionSpec("campaign_send_worker", 60, Touches(
        tables=reads("accounts", "suppressions", "lists", "subscribers", "sender-identities")
        + writes("campaigns", "campaign-stats", "messages", "message-purge-lists", "send-progress",
                 "send-rate", "account-health", "audit-log", "sent-count-receipts"),
        enqueues=(CAMPAIGN_SEND,), sends_mail=True, sends_sms=True, reads_sender_identities=True,
        secrets=_BOTH_SECRETS),
        trigger=campaign_send_trigger(DEFAULT_SES_RATE)),
    FunctionSpec("feedback_worker", 30, Touches(
        tables=reads("messages")
        + writes("accounts", "account-health", "audit-log", "campaign-stats", "feedback-receipts",
                 "rate-counters", "subscribers", "suppressions"),
        enqueues=(OUTBOX,), secrets=_HASH_ONLY),
        trigger=QueueTrigger(FEEDBACK, 10)),
    # Big batches (P13): a batch writes a marker per reader and one delta of counters per
    # campaign, and files the markers it creates in a purge list (P21). Opens trickle in over two
    # days, so it drains its queue every KEEP_WARM_MINUTES (reports lag by up to that) rather
    # than letting a trigger's pollers cut one or two events a batch: each run with events costs
    # its receives, deletes and delta, so fewer runs cost less (issue 15), and its environment
    # stays warm. A run that ends with events left leaves them to
    # the next; its timeout lets a backlog drain half of each period and stays under
    # domain/tracking.SETTLE (tests/test_tracking_markers.py).
    FunctionSpec("tracking_worker", 120, Touches(
        tables=reads("subscribers", "lists")
        + writes("campaign-stats", "tracking-markers", "message-purge-lists"),
        secrets=_HASH_ONLY),
        drain=QueueDrain(TRACKING, 1000, every_minutes=KEEP_WARM_MINUTES)),
    FunctionSpec("inbound_mail_worker", 30, Touches(
        tables=reads("lists", "accounts")
        + writes("subscribers", "suppressions", "campaign-stats", "audit-log"),
        secrets=_BOTH_SECRETS),
        trigger=QueueTrigger(INBOUND_MAIL, 10, 0, 2)),
    # It answers keyword replies (STOP confirmed, HELP naming the accounts that texted the
    # number), within a number's answers a day (rate-counters).
    FunctionSpec("sms_inbound_worker", 30, Touches(
        tables=reads("messages", "accounts")
        + writes("suppressions", "subscribers", "audit-log", "rate-counters"),
        sends_sms=True, secrets=_HASH_ONLY),
        trigger=QueueTrigger(SMS_INBOUND, 10, 0, 2)),
    # The daily purge: every step gets its share of five minutes each run (services/retention.py)
    # and deletes an account's items in every table that holds them, and its SES identities.
    FunctionSpec("retention_worker", 300, Touches(
        tables=writes(*ACCOUNT_DATA_TABLES, "rate-counters"), enqueues=(OUTBOX,),
        deletes_sender_identities=True)),
)
"""One entry per Chalice function (tests/test_functions.py checks it matches app.py)."""


def function_spec(name: str, ses_rate: float | None = None) -> FunctionSpec:
    """The declaration of the function `name` (with `ses_rate`, the campaign sender's trigger for
    that rate instead of the default's); KeyError names the declared ones."""
    for spec in FUNCTIONS:
        if spec.name == name:
            if ses_rate is not None and spec.trigger is not None and spec.trigger.queue == CAMPAIGN_SEND:
                return replace(spec, trigger=campaign_send_trigger(ses_rate))
            return spec
    raise KeyError(f"no FunctionSpec for {name!r} in chalicelib/functions.py "
                   f"(declared: {', '.join(spec.name for spec in FUNCTIONS)})")


def consumer_of(queue: QueueSpec) -> FunctionSpec:
    """The function that takes `queue`'s messages, by trigger or drain (each declared queue has
    exactly one)."""
    found = [spec for spec in FUNCTIONS if spec.consumes == queue]
    if len(found) != 1:
        raise ValueError(f"queue {queue.logical_name!r} has {len(found)} consumers; it needs one")
    return found[0]


def queue_drain(name: str) -> QueueDrain:
    """The queue the function `name` drains on its schedule, and how."""
    drain = function_spec(name).drain
    if drain is None:
        raise ValueError(f"{name} drains no queue in chalicelib/functions.py")
    return drain


def sqs_handler_options(name: str, queue_prefix_name: Callable[[str], str],
                        ses_rate: float | None = None) -> dict[str, Any]:
    """`@worker.on_sqs_message(**...)` for the function `name`: its queue (named by
    `queue_prefix_name`, i.e. Settings.resource_name), batch size, window and concurrency (for
    `ses_rate`, the campaign sender's)."""
    spec = function_spec(name, ses_rate)
    if spec.trigger is None:
        raise ValueError(f"{name} has no queue trigger in chalicelib/functions.py")
    return {
        "name": spec.name,
        "queue": queue_prefix_name(spec.trigger.queue.logical_name),
        "batch_size": spec.trigger.batch_size,
        "maximum_batching_window_in_seconds": spec.trigger.batching_window_seconds,
        "maximum_concurrency": spec.trigger.maximum_concurrency,
    }
