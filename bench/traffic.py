"""The traffic model (issue 15): what a campaign sets in motion after it is sent, and how Lambda
cuts it into invocations. Pure and seeded: no AWS, no app code.

- `campaign_events`: opens and clicks arriving over 48 hours on a decay curve (a fast and a slow
  exponential, cut at the horizon), machine fetches at delivery (mail privacy proxies, link
  scanners), bounces and complaints, for a campaign delivered at the SES rate.
- `sqs_batches`: how an SQS event source mapping's pollers cut a stream of messages into batches
  (its batch size and batching window; each message reaches one of the pollers at random), and
  the ReceiveMessage and DeleteMessageBatch requests they make for them.
- `drained_batches`: the runs of a function that drains its queue on a schedule instead
  (chalicelib/functions.QueueDrain): each run takes everything sent since the one before.
- `environments`: how many execution environments a function's invocations need, and so its
  cold starts, given how long an idle environment stays warm.

Every figure a scenario feeds in is an assumption, named where the scenario is declared
(bench/scenarios.py); the measured costs of each invocation come from the real code
(bench/cost.py).
"""
from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

HOUR = 3600.0
# SQS returns, and deletes, at most ten messages a call (the app's adapters/sqs.SQS_MAX_BATCH;
# this module imports no app code).
SQS_MESSAGES_A_CALL = 10


class Kind(StrEnum):
    OPEN = "open"
    CLICK = "click"
    BOUNCE = "bounce"
    COMPLAINT = "complaint"


@dataclass(frozen=True)
class Engagement:
    """How readers react to one campaign: every rate is per mail delivered."""

    # Share of mails delivered to a mail privacy proxy that fetches the pixel once at delivery
    # (a machine open: Apple Mail Privacy Protection, say), whether or not anyone reads the mail,
    # and hides the reader's own opens (the image is cached); their clicks still arrive.
    proxy_share: float
    # Share of mails a person reads (opens), and their open events each (the first included):
    # seen as opens only where no proxy hides them.
    unique_open_rate: float
    opens_per_opener: float
    # Share of mails a reader clicks in (readers only), and their clicks each.
    unique_click_rate: float
    clicks_per_clicker: float
    # Share of mails whose every link a security scanner fetches at delivery (machine clicks).
    scanner_share: float
    links: int
    # The decay curve of people's first opens: a share of them at a fast exponential rate, the
    # rest at a slow one, cut at `horizon_hours` (events are drawn within it).
    fast_share: float
    fast_mean_hours: float
    slow_mean_hours: float
    horizon_hours: float = 48.0
    bounce_rate: float = 0.0
    complaint_rate: float = 0.0

    @property
    def expected_events(self) -> float:
        """Opens and clicks per mail delivered, on average (a little less is drawn: repeated opens
        past the horizon are not)."""
        return (self.proxy_share + (1 - self.proxy_share) * self.unique_open_rate * self.opens_per_opener
                + self.unique_click_rate * self.clicks_per_clicker + self.scanner_share * self.links)


@dataclass(frozen=True, order=True)
class Event:
    """One thing that reaches Tidings after a mail went: `at` seconds after the campaign started."""

    at: float
    recipient: int
    kind: Kind
    machine: bool = False
    link: int = 0


def _decay(rng: random.Random, engagement: Engagement) -> float:
    """Seconds from delivery to a person's first open, on the decay curve, within the horizon."""
    horizon = engagement.horizon_hours * HOUR
    while True:
        fast = rng.random() < engagement.fast_share
        mean = engagement.fast_mean_hours if fast else engagement.slow_mean_hours
        delay = rng.expovariate(1 / (mean * HOUR))
        if delay <= horizon:
            return delay


def _extra(rng: random.Random, mean_total: float) -> int:
    """How many more events after the first, geometric with mean `mean_total - 1`."""
    mean = max(0.0, mean_total - 1)
    if mean == 0:
        return 0
    stop = 1 / (1 + mean)
    count = 0
    while rng.random() > stop:
        count += 1
    return count


def campaign_events(mails: int, rate: float, engagement: Engagement, seed: int = 15) -> list[Event]:
    """Every open, click, bounce and complaint of a campaign of `mails` sent at `rate` a second,
    by time. Mail n is delivered n / rate seconds after the start; nothing is drawn past the
    horizon after its delivery."""
    rng = random.Random(seed)
    e = engagement
    horizon = e.horizon_hours * HOUR
    # Readers click, and complain, at these rates, so that the rates per mail are as stated.
    click_given_read = min(1.0, e.unique_click_rate / max(e.unique_open_rate, 1e-9))
    complaint_given_read = min(1.0, e.complaint_rate / max(e.unique_open_rate, 1e-9))
    events: list[Event] = []
    for recipient in range(mails):
        delivered = recipient / rate
        if rng.random() < e.bounce_rate:
            # SES reports most bounces within a minute of the attempt.
            events.append(Event(delivered + rng.expovariate(1 / 30), recipient, Kind.BOUNCE))
            continue
        if rng.random() < e.scanner_share:
            for link in range(e.links):
                events.append(Event(delivered + rng.uniform(1, 120), recipient, Kind.CLICK, True, link))
        proxied = rng.random() < e.proxy_share
        if proxied:
            events.append(Event(delivered + rng.uniform(1, 60), recipient, Kind.OPEN, True))
        if rng.random() >= e.unique_open_rate:
            continue
        first = delivered + _decay(rng, e)
        if not proxied:
            events.append(Event(first, recipient, Kind.OPEN))
            for _ in range(_extra(rng, e.opens_per_opener)):
                later = first + _decay(rng, e)
                if later - delivered <= horizon:
                    events.append(Event(later, recipient, Kind.OPEN))
        if rng.random() < click_given_read:
            click = first + rng.uniform(5, 300)
            events.append(Event(click, recipient, Kind.CLICK, False, rng.randrange(e.links)))
            for _ in range(_extra(rng, e.clicks_per_clicker)):
                events.append(Event(click + rng.uniform(5, 600), recipient, Kind.CLICK, False,
                                    rng.randrange(e.links)))
        if rng.random() < complaint_given_read:
            events.append(Event(first + rng.uniform(5, 600), recipient, Kind.COMPLAINT))
    events.sort()
    return events


# --- SQS event source mappings --------------------------------------------------------------------

@dataclass(frozen=True)
class Trigger:
    """An SQS event source mapping as Lambda runs it: `pollers` long-poll the queue (Lambda starts
    with five), each message reaches one of them, and a poller invokes the function when its batch
    is full or `window_seconds` after the batch's first message (at once when 0)."""

    batch_size: int
    window_seconds: float
    pollers: int = 5
    # Messages reaching a poller closer together than this come back in one ReceiveMessage (ten
    # at most): a long poll returns as soon as a message is there.
    receive_gap_seconds: float = 0.05


@dataclass
class Batch:
    """One invocation: the indexes of the messages it carries, when it starts, and the
    ReceiveMessage calls that fetched them."""

    invoked_at: float
    messages: list[int] = field(default_factory=list)
    receives: int = 0

    @property
    def deletes(self) -> int:
        """DeleteMessageBatch calls (ten messages each) once the batch succeeds."""
        return math.ceil(len(self.messages) / SQS_MESSAGES_A_CALL)


def sqs_batches(times: list[float], trigger: Trigger, seed: int = 15) -> list[Batch]:
    """The batches a trigger makes of messages sent at `times` (seconds, any order)."""
    rng = random.Random(seed)
    by_poller: list[list[int]] = [[] for _ in range(trigger.pollers)]
    for index in sorted(range(len(times)), key=lambda i: times[i]):
        by_poller[rng.randrange(trigger.pollers)].append(index)
    batches: list[Batch] = []
    for indexes in by_poller:
        current: Batch | None = None
        opened = last = -math.inf
        in_receive = 0
        for index in indexes:
            at = times[index]
            if current is not None and (len(current.messages) >= trigger.batch_size
                                        or at > opened + trigger.window_seconds):
                batches.append(current)
                current = None
            if current is None:
                opened, in_receive = at, 0
                current = Batch(invoked_at=at + trigger.window_seconds)
            if (in_receive == 0 or in_receive >= SQS_MESSAGES_A_CALL
                    or at - last > trigger.receive_gap_seconds):
                current.receives += 1
                in_receive = 0
            current.messages.append(index)
            in_receive += 1
            last = at
            if len(current.messages) >= trigger.batch_size:
                current.invoked_at = at
        if current is not None:
            batches.append(current)
    batches.sort(key=lambda batch: batch.invoked_at)
    return batches


@dataclass(frozen=True)
class Drain:
    """A queue drained by a scheduled function: a run every `period_seconds`, taking every message
    waiting, `batch_size` at most a batch."""

    batch_size: int
    period_seconds: float


def drained_batches(times: list[float], drain: Drain) -> list[Batch]:
    """The runs with something to take, one Batch each (a run takes its batches in one
    invocation), for messages sent at `times`: a message waits for the first run after it."""
    by_run: dict[int, list[int]] = {}
    for index in sorted(range(len(times)), key=lambda i: times[i]):
        by_run.setdefault(math.floor(times[index] / drain.period_seconds) + 1, []).append(index)
    # Its receives are the run's own calls: ten messages each, until one brings fewer (an empty
    # one only when the last brought exactly ten).
    return [Batch(invoked_at=run * drain.period_seconds, messages=indexes,
                  receives=len(indexes) // SQS_MESSAGES_A_CALL + 1)
            for run, indexes in sorted(by_run.items())]


# --- execution environments -----------------------------------------------------------------------

@dataclass(frozen=True)
class Environments:
    """What a function's invocations needed: cold starts, the most environments at once, and how
    often an environment filled its cache of secrets (at its first invocation, and again at the
    first invocation after the cache's age ran out)."""

    invocations: int
    cold_starts: int
    peak: int
    cache_fills: int = 0

    @property
    def refills(self) -> int:
        """The fills of an aged cache: all but each new environment's first."""
        return self.cache_fills - self.cold_starts


def environments(invocations: list[tuple[float, float]], keep_warm_seconds: float,
                 cache_seconds: float = math.inf,
                 warm_ups: Sequence[tuple[float, float]] = ()) -> Environments:
    """Environments for invocations given as (start, seconds busy), reusing an idle one that has
    been idle at most `keep_warm_seconds`, else starting a new one (a cold start); each keeps what
    it read for `cache_seconds`. `warm_ups` (a schedule's, services/tracking.warm_up) keep
    environments warm and fill a new one's cache, but leave an aged cache to the next invocation."""
    free_at: list[float] = []  # when each live environment finished its last invocation
    filled_at: list[float] = []  # when each one last filled its cache
    cold = peak = fills = 0
    runs = sorted([(start, seconds, False) for start, seconds in invocations]
                  + [(start, seconds, True) for start, seconds in warm_ups])
    for start, seconds, warm_up in runs:
        # Environments idle for longer than the keep-warm time are gone.
        live = [n for n, done in enumerate(free_at) if start <= done + keep_warm_seconds]
        free_at, filled_at = [free_at[n] for n in live], [filled_at[n] for n in live]
        warm = [n for n, done in enumerate(free_at) if done <= start]
        if warm:
            chosen = max(warm, key=lambda n: free_at[n])  # the most recently used
            if not warm_up and start >= filled_at[chosen] + cache_seconds:
                filled_at[chosen] = start
                fills += 1
        else:
            cold += 1
            fills += 1
            free_at.append(start)
            filled_at.append(start)
            chosen = len(free_at) - 1
        free_at[chosen] = start + seconds
        peak = max(peak, sum(1 for done in free_at if done > start))
    return Environments(len(invocations), cold, peak, fills)
