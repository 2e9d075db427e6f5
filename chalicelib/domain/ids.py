"""Identifiers: random, prefixed by kind so a reader can tell a list id from a key id."""
from __future__ import annotations

import re
import secrets

_HEX_PART = re.compile(r"[0-9a-f]{20}")


def new_id(kind: str) -> str:
    """`<kind>_<20 hex chars>`, e.g. `lst_3f9c...`."""
    return f"{kind}_{secrets.token_hex(10)}"


def is_id(value: str, kind: str) -> bool:
    """Whether `value` has the shape `new_id(kind)` gives (not whether such an item exists)."""
    prefix, _, rest = value.partition("_")
    return prefix == kind and _HEX_PART.fullmatch(rest) is not None
