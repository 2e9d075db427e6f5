"""The current time, in UTC. One function so tests can freeze it (time-machine); and reading a
time that a request or an event gives."""
from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.errors import InvalidInput


def now() -> datetime:
    return datetime.now(UTC)


def parse_utc_time(raw: str, field: str) -> datetime:
    """An ISO 8601 time with a time zone (`Z` too), as UTC; InvalidInput naming `field` otherwise.

    A time near year 1 or 9999 with a far offset (`0001-01-01T00:00:00+23:59`) parses, but has no
    UTC form: refused here rather than failing where it is stored or compared."""
    try:
        parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"'{field}' must be an ISO 8601 time, e.g. 2030-01-31T09:30:00Z",
                           field=field) from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"'{field}' needs a time zone, e.g. a trailing Z", field=field)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"'{field}' is outside the years 1 to 9999 in UTC", field=field) from None
