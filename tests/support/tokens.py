"""Link tokens altered the way an attacker or a mangling mail client would."""
from __future__ import annotations


def altered(token: str, at: int = -2) -> str:
    """`token` with the character at `at` changed: always a different string, whatever the token."""
    index = at % len(token)
    return token[:index] + ("B" if token[index] == "A" else "A") + token[index + 1:]
