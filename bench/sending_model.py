"""How a campaign goes out at an SES rate: the fan-out's page jobs, the campaign sender's
invocations at their reserved send times, the continuations they hand back, how many senders run
at once, and what Lambda bills for it. A discrete-event model of services/sending/ (fan-out.py,
batches.py) around the time the real code takes, measured (bench/paths.py's metered campaign).

What it follows from the code: a page job reads PAGE_SIZE subscribers, reserves their send times
in the campaign lane (the burst of an idle bucket at once, then one every 1/rate seconds) and
queues their batch jobs of BATCH_SIZE, each delayed until its first send time (whole seconds),
then the next page job; a batch sends each mail at or after its time, waits
MAX_SEND_WAIT_SECONDS at most, else hands the rest back delayed by whole seconds (SQS's
DelaySeconds), and hands back with no delay when its Lambda has less than SAFETY_SECONDS left.
Before a mail it has not read, it reads the suppressions of those due within LOOKAHEAD_SECONDS
(at least that one, at most READ_CHUNK: services/sending/due_suppressions.py). The trigger runs
at most its maximum concurrency of senders, each taking its batch size of jobs. Assumed: a
message is picked up as soon as it is visible and a sender is free (Lambda's pollers add their
own latency, not modelled).
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from chalicelib.domain.sending import BATCH_SIZE, MAX_SEND_WAIT_SECONDS, PAGE_SIZE, sending_lanes
from chalicelib.functions import campaign_send_trigger
from chalicelib.services.sending.due_suppressions import LOOKAHEAD_SECONDS, READ_CHUNK
from chalicelib.services.sending.step import SAFETY_SECONDS


@dataclass(frozen=True)
class SendCosts:
    """What the real code takes, measured: seconds a Lambda is busy per mail (claim, build, SES
    call), per batch invocation besides its mails (reads, reservation, counting, hand-back), per
    suppression read, and per page job of the fan-out."""

    per_mail: float
    per_batch: float
    per_read: float
    per_page: float
    timeout: float = 60.0
    # A sender hands its rest back this long before its timeout (services/sending/step.py).
    safety: float = SAFETY_SECONDS


@dataclass
class SendTimeline:
    recipients: int
    rate: float
    fanout_seconds: float = 0.0  # until the last page job is done
    last_send: float = 0.0  # the last mail, from the send-now request
    invocations: int = 0  # campaign-send invocations, continuations included
    handed_back: int = 0  # continuations queued again
    recipients_read: int = 0  # recipients whose suppressions a batch read (again if not sent)
    suppression_reads: int = 0  # the reads (BatchGetItem calls)
    billed_seconds: float = 0.0  # campaign-send Lambdas, busy or waiting
    waited_seconds: float = 0.0  # of which sleeping for a send time (at most 5 ms each)
    peak_senders: int = 0
    starts: list[tuple[float, float]] = field(default_factory=list)  # (start, seconds) per invocation

    @property
    def seconds_at_rate(self) -> float:
        return self.recipients / self.rate


def simulate(recipients: int, ses_rate: float, costs: SendCosts) -> SendTimeline:
    """The sending of a campaign to `recipients` at `ses_rate` (the campaign lane's share of it)."""
    lane, _ = sending_lanes(ses_rate)
    burst = max(1, math.floor(lane))
    trigger = campaign_send_trigger(ses_rate)
    timeline = SendTimeline(recipients, ses_rate)
    # Jobs become visible as the fan-out queues them, one page after another, each delayed until
    # its first reserved send time.
    visible: list[tuple[float, int, int, float | None]] = []  # (time, id, mails left, first slot)
    pages = math.ceil(recipients / PAGE_SIZE)
    left, job_id, at = recipients, 0, 0.0
    full_at = 0.0  # the campaign lane's bucket
    for _ in range(pages):
        at += costs.per_page
        page = min(PAGE_SIZE, left)
        base = max(full_at, at)
        full_at = base + page / lane
        first = base + (1 - burst) / lane
        for offset in range(0, page, BATCH_SIZE):
            size = min(BATCH_SIZE, page - offset)
            slot = first + offset / lane
            heapq.heappush(visible, (at + max(0, math.ceil(slot - at)), job_id, size, slot))
            job_id += 1
        left -= page
    timeline.fanout_seconds = at
    senders: list[float] = [0.0] * trigger.maximum_concurrency  # when each is free again
    while visible:
        free = min(range(len(senders)), key=senders.__getitem__)
        start = max(senders[free], visible[0][0])
        taken = []
        while visible and visible[0][0] <= start and len(taken) < trigger.batch_size:
            taken.append(heapq.heappop(visible))
        now = start + costs.per_batch
        for _, ident, mails, first in taken:
            read_to = 0
            if first is None:
                base = max(full_at, now)
                full_at = base + mails / lane
                first = base + (1 - burst) / lane
            sent = 0
            while sent < mails:
                if now - start > costs.timeout - costs.safety:
                    heapq.heappush(visible, (now, ident, mails - sent, first + sent / lane))
                    timeline.handed_back += 1
                    break
                wait = first + sent / lane - now
                if wait > MAX_SEND_WAIT_SECONDS:
                    heapq.heappush(visible, (now + math.ceil(wait), ident, mails - sent, first + sent / lane))
                    timeline.handed_back += 1
                    break
                if wait > 0:
                    timeline.waited_seconds += wait
                    now += wait
                if sent >= read_to:
                    last = min(mails, sent + READ_CHUNK)
                    read_to = sent + 1
                    while read_to < last and first + read_to / lane <= now + LOOKAHEAD_SECONDS:
                        read_to += 1
                    timeline.recipients_read += read_to - sent
                    timeline.suppression_reads += 1
                    now += costs.per_read
                now += costs.per_mail
                sent += 1
            timeline.last_send = max(timeline.last_send, now) if sent else timeline.last_send
        senders[free] = now
        timeline.invocations += 1
        timeline.billed_seconds += now - start
        timeline.starts.append((start, now - start))
    timeline.peak_senders = _peak(timeline.starts)
    return timeline


def _peak(starts: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in starts] + [(start + seconds, -1) for start, seconds in starts])
    running = peak = 0
    for _, change in edges:
        running += change
        peak = max(peak, running)
    return peak
