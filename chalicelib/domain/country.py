"""The country a mail was viewed from (P13), without keeping the IP (P15).

First the `CloudFront-Viewer-Country` header (the caller passes it only where the deployment
declares CloudFront in front, services/tracking.py: elsewhere anyone may write it),
then the registries' IP→country data that the `iptocc` package ships inside its wheel (no
network, no file to download at run time), else UNKNOWN. Callers pass the IP in and drop it:
only the two-letter code leaves this function.
"""
from __future__ import annotations

import re

UNKNOWN = "unknown"
_CODE = re.compile(r"^[A-Z]{2}$")
# Codes CloudFront and the registries use for "no real country".
_NOT_A_COUNTRY = frozenset({"XX", "ZZ", "EU", "AP"})


def viewer_country(header: str | None, ip: str | None) -> str:
    """An ISO 3166-1 alpha-2 code, or UNKNOWN."""
    from_header = _code(header)
    if from_header:
        return from_header
    if ip:
        return _code(_registry_country(ip)) or UNKNOWN
    return UNKNOWN


def is_viewer_country(value: object) -> bool:
    """True for what `viewer_country` gives: a code it accepts as written, or UNKNOWN."""
    return isinstance(value, str) and (value == UNKNOWN or _code(value) == value)


def _code(value: str | None) -> str | None:
    code = (value or "").strip().upper()
    return code if _CODE.match(code) and code not in _NOT_A_COUNTRY else None


def _registry_country(ip: str) -> str | None:
    from iptocc import country_code  # lazily: only requests without the CloudFront header need it

    return country_code(ip.strip())  # None for a private, unassigned or malformed address
