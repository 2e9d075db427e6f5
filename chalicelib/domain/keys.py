"""API keys: the secret is random and shown once; only its SHA-256 is stored (P27)."""
from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum


class Scope(StrEnum):
    """What a key may do: `full` reads and writes, `read` only reads."""

    FULL = "full"
    READ = "read"


def new_secret(key_id: str) -> str:
    """A new secret: the key id (for support) and 32 random bytes (the part that matters).

    SHA-256 suffices for a 256-bit random secret; slow password hashes protect guessable ones.
    """
    return f"tid_{key_id}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
