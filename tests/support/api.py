"""The headers the API's callers send."""
from __future__ import annotations

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def bearer(secret: str) -> dict[str, str]:
    """JSON request headers authenticated with an API key."""
    return {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
