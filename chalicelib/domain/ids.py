"""Identifiers: random, prefixed by kind so a reader can tell a list id from a key id."""
from __future__ import annotations

import secrets


def new_id(kind: str) -> str:
    """`<kind>_<20 hex chars>`, e.g. `lst_3f9c...`."""
    return f"{kind}_{secrets.token_hex(10)}"
