"""The current time, in UTC. One function so tests can freeze it (time-machine)."""
from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
