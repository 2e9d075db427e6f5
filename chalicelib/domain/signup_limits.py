"""Abuse limits on public signups (list-bombing): which counters a signup consumes.

Counters are fixed windows kept in DynamoDB (Lambdas share no memory). Their keys hold keyed
hashes, never an IP or an address (P15). Two kinds, checked in two places so that neither tells
anything about an address (P05):
- request counters (per IP, per list) are checked by the route, which refuses with 429 when one
  is full; they say nothing about the address. A platform opt-out request mails an address too,
  so it spends the same per-IP budget (services/request_limits.py);
- address counters are checked by the signups worker, which silently drops the signup when one
  is full. They count per list and per account, never across the platform: someone who signs a
  stranger's address up to many lists fills only those lists' and that account's counters, so
  the address's owner can still subscribe anywhere else (issue #12). Per address: one
  confirmation mail per list per interval, `per_address_per_list_per_day` per list and
  `per_address_per_day` per account. The API's signups spend the same counters (a tenant is
  not the person, P11), refused with 429 there: the tenant may know its own lists (not P05).
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.suppression import account_subject, address_hash


@dataclass(frozen=True)
class SignupLimits:
    """Defaults an operator may tighten through the environment (see config.py)."""

    per_ip_per_hour: int = 30
    # Per account: confirmation mails one address may get from one account's lists in a day.
    per_address_per_day: int = 20
    per_address_per_list_per_day: int = 3
    mail_interval_minutes: int = 10
    per_list_per_day: int = 10_000


@dataclass(frozen=True)
class Counter:
    key: str
    limit: int
    window_seconds: int
    # The person it counts for, if any, as suppression.account_subject names them: their erasure
    # in that account finds and deletes it by that, as its key holds a keyed hash of theirs (P18).
    subject: str | None = None

    def window_key(self, at: datetime) -> str:
        """The counter's key for the window `at` falls in."""
        return f"{self.key}#{int(at.timestamp()) // self.window_seconds}"

    def window_end(self, at: datetime) -> int:
        """Epoch seconds when the window `at` falls in closes (the counter's TTL)."""
        return (int(at.timestamp()) // self.window_seconds + 1) * self.window_seconds


def keyed(secret: str, kind: str, value: str) -> str:
    """A keyed hash of an IP or address, so counters hold no contact data."""
    return hmac.new(secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def request_counters(limits: SignupLimits, secret: str, list_id: str | None,
                     ip: str | None) -> list[Counter]:
    """The counters the route checks: per list per day (when the request names a list, as a
    platform opt-out request does not), and per IP (an IPv6 address's /64) per hour."""
    counters = [Counter(f"list:{list_id}", limits.per_list_per_day, 86_400)] if list_id else []
    if ip:
        caller = keyed(secret, "ip", caller_network(ip))
        counters.append(Counter(f"ip:{caller}", limits.per_ip_per_hour, 3_600))
    return counters


# The least an IPv6 customer is given (RFC 6177): any of its 2^64 addresses is the same caller.
_IPV6_CALLER_PREFIX = 64


def caller_network(ip: str) -> str:
    """What the per-IP limit counts as one caller: an IPv4 address (also written IPv6-mapped), or
    the /64 an IPv6 address is in; counted per IPv6 address, a limit would be none at all."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, _IPV6_CALLER_PREFIX), strict=False))
    return str(address)


def address_counters(limits: SignupLimits, secret: str, account_id: str, list_id: str,
                     address: str) -> list[Counter]:
    """The counters the worker checks, all about one address in one account: per account per
    day, per list per day, and one mail per list per interval."""
    address_key = keyed(secret, "address", address)
    subject = account_subject(account_id, address_hash(address, secret))
    return [
        Counter(f"addr:{account_id}:{address_key}", limits.per_address_per_day, 86_400, subject),
        Counter(f"addr-list:{list_id}:{address_key}", limits.per_address_per_list_per_day, 86_400, subject),
        Counter(f"mail:{list_id}:{address_key}", 1, limits.mail_interval_minutes * 60, subject),
    ]
