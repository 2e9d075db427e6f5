"""Abuse limits on public signups (list-bombing): which counters a signup consumes.

Counters are fixed windows kept in DynamoDB (Lambdas share no memory). Their keys hold keyed
hashes, never an IP or an address (P15). A limit either refuses the request (429: it reveals
nothing about the address) or silently drops the mail (the response must not differ, P05).
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class WhenExceeded(StrEnum):
    REFUSE = "refuse"  # answer 429
    DROP = "drop"  # answer as usual, store nothing, send nothing


@dataclass(frozen=True)
class SignupLimits:
    """Defaults an operator may tighten through the environment (see config.py)."""

    per_ip_per_hour: int = 30
    per_address_per_day: int = 10
    mail_interval_minutes: int = 10
    per_list_per_day: int = 10_000


@dataclass(frozen=True)
class Counter:
    key: str
    limit: int
    window_seconds: int
    when_exceeded: WhenExceeded

    def window_key(self, at: datetime) -> str:
        """The counter's key for the window `at` falls in."""
        return f"{self.key}#{int(at.timestamp()) // self.window_seconds}"

    def window_end(self, at: datetime) -> int:
        """Epoch seconds when the window `at` falls in closes (the counter's TTL)."""
        return (int(at.timestamp()) // self.window_seconds + 1) * self.window_seconds


def keyed(secret: str, kind: str, value: str) -> str:
    """A keyed hash of an IP or address, so counters hold no contact data."""
    return hmac.new(secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def signup_counters(
    limits: SignupLimits, secret: str, list_id: str, address: str, ip: str | None
) -> list[Counter]:
    """Every counter one public signup consumes, the refusing ones first."""
    counters = [Counter(f"list:{list_id}", limits.per_list_per_day, 86_400, WhenExceeded.REFUSE)]
    if ip:
        ip_key = keyed(secret, "ip", ip)
        counters.append(Counter(f"ip:{ip_key}", limits.per_ip_per_hour, 3_600, WhenExceeded.REFUSE))
    address_key = keyed(secret, "address", address)
    counters.append(Counter(f"addr:{address_key}", limits.per_address_per_day, 86_400, WhenExceeded.DROP))
    counters.append(
        Counter(f"mail:{list_id}:{address_key}", 1, limits.mail_interval_minutes * 60, WhenExceeded.DROP)
    )
    return counters
