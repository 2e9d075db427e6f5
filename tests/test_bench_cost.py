"""The cost model's bound on the issue's main lever (bench/cost.tracking_bound, issue 15): what
the tracking path costs now, and the least it could cost with no queue and no worker."""
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
