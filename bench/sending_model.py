"""How long a campaign takes to send at an SES rate, on how many concurrent Lambdas, and what they
are billed for waiting: a model of the campaign-send trigger around the measured cost of each mail.

Today's send worker waits for rate tokens inside the Lambda (store/send_rate.SendRateLimiter
sleeps, up to MAX_RATE_WAIT_SECONDS a wait, until the invocation's time runs short and the rest is
re-queued): every concurrent invocation is billed for the whole time the campaign takes at the
rate, sending or sleeping. The trigger's pollers (ESM_POLLERS, assumed) each take a batch of jobs,
so that many invocations run at once while jobs wait in the queue.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bench.functions import FunctionConfig, trigger
from bench.prices import ESM_POLLERS


@dataclass(frozen=True)
class SendTimeline:
    seconds: float  # from the first send to the last
    concurrency: int
    waiting_gb_seconds: float  # billed while no mail was being sent
    extra_invocations: float  # invocations beyond one a trigger batch of jobs (continuations)
    extra_sqs_requests: float
    invocations: list[tuple[float, float]] = field(default_factory=list)  # (start, seconds)


def send_timeline(recipients: int, rate: float, config: FunctionConfig, run: Any) -> SendTimeline:
    """The campaign-send invocations of a campaign to `recipients` at `rate` mails a second,
    given the metered run of a campaign (bench/paths.CampaignRun) for the time each mail keeps a
    Lambda busy."""
    from bench.cost import invocation_ms
    from chalicelib.domain.sending import BATCH_SIZE

    busy_ms_per_mail = sum(invocation_ms(config, meter) for meter in run.send) / run.recipients
    jobs = math.ceil(recipients / BATCH_SIZE)
    per_invocation = trigger("campaign_send_worker").batch_size
    concurrency = max(1, min(ESM_POLLERS, math.ceil(jobs / per_invocation)))
    # Each invocation sends one mail after another: at most this many a second.
    own_rate = 1000 / busy_ms_per_mail
    seconds = recipients / min(rate, concurrency * own_rate)
    billed = concurrency * seconds
    busy = recipients * busy_ms_per_mail / 1000
    waiting = max(0.0, billed - busy)
    # An invocation stops starting mails 1.5 s before its timeout and re-queues the rest.
    lasts = config.timeout_seconds - 1.5
    invocations_needed = concurrency * math.ceil(seconds / lasts)
    extra = max(0.0, invocations_needed - jobs / per_invocation)
    timeline = [(n * lasts, min(lasts, seconds - n * lasts))
                for n in range(math.ceil(seconds / lasts)) for _ in range(concurrency)]
    # A continuation: a SendMessage of the rest, and the trigger's receive and delete.
    return SendTimeline(seconds, concurrency, waiting * config.gb, extra, 3 * extra, timeline)
