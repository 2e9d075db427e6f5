"""The scheduled warm-up of a function that has one (functions.FunctionSpec.warm_every_minutes):
EventBridge invokes it every few minutes so that its environment stays loaded (issue 15), and its
handler answers the schedule's event without doing any of its work."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

WARMED = {"warmed": True}


def is_warm_up(event: Mapping[str, Any]) -> bool:
    """The Scheduled Event of the warm-up rule (infra/template.py). A request (function URL or API
    Gateway) always comes wrapped in its requestContext and an SQS batch in its Records, so
    neither can pass for it."""
    return ("requestContext" not in event and "Records" not in event and event.get("source") == "aws.events"
            and event.get("detail-type") == "Scheduled Event")
