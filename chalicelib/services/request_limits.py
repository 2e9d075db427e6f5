"""The per-IP (and per-list) limits on public requests that make the platform send mail.

Signups, resends and platform opt-out requests each mail an address the caller typed, so one IP
gets one hourly budget for all of them (domain/signup_limits.py). The refusal depends on the
caller's IP and the list only, never on the address, so it reveals nothing about it (P05).
"""
from __future__ import annotations

from chalicelib.config import hash_key, settings
from chalicelib.domain.clock import now
from chalicelib.domain.signup_limits import request_counters
from chalicelib.store.rate_limits import consume_or_refuse


def refuse_over_request_limits(ip: str | None, refusal: str, list_id: str | None = None) -> None:
    """Count the request against the per-IP limit, and the list's when it names one;
    TooManyRequests with `refusal` (a message id) and Retry-After when one is full."""
    counters = request_counters(settings().signup_limits, hash_key(), list_id, ip)
    consume_or_refuse(counters, now(), refusal)
