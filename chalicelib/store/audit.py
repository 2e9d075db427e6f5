"""The audit log (P27): who did what, when. Callers pass references, never contact data."""
from __future__ import annotations

import secrets

from chalicelib.domain.clock import now
from chalicelib.domain.errors import InvalidInput
from chalicelib.store.models import AuditEntry
from chalicelib.store.paging import decode_cursor, encode_cursor

# The audit log of the platform itself: purges belong to no account, and what it records about
# an account (its cancellation, its deletion) outlives the account's own log. Ids, never contact data.
PLATFORM_AUDIT = "platform"


def record(account_id: str, actor: str, action: str, target: str | None = None) -> AuditEntry:
    """Append an entry; `entry_id` sorts by time, the random tail keeps it unique."""
    at = now()
    entry = AuditEntry(
        account_id=account_id,
        entry_id=f"{at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{secrets.token_hex(4)}",
        at=at,
        actor=actor,
        action=action,
        target=target,
    )
    entry.save()
    return entry


def entries(account_id: str, limit: int = 100) -> list[AuditEntry]:
    """Newest first."""
    return list(AuditEntry.query(account_id, scan_index_forward=False, limit=limit))


def entries_page(account_id: str, limit: int, cursor: str | None) -> tuple[list[AuditEntry], str | None]:
    """One page of the account's entries, newest first, and the cursor of the next page."""
    start = decode_cursor(cursor, f"audit:{account_id}")
    if start is not None and (start.get("account_id") or {}).get("S") != account_id:
        raise InvalidInput("'cursor' belongs to another listing", field="cursor")
    result = AuditEntry.query(account_id, scan_index_forward=False, limit=limit, last_evaluated_key=start)
    items = list(result)
    return items, encode_cursor(result.last_evaluated_key, f"audit:{account_id}")


# Milestones sort before every time-ordered entry id, so they never show as the newest entry.
_MILESTONE = "0#"


def record_milestone(account_id: str, actor: str, action: str) -> None:
    """Record that a one-off task `action` is done, under a fixed key `reached` reads."""
    AuditEntry(account_id=account_id, entry_id=f"{_MILESTONE}{action}", at=now(), actor=actor,
               action=action).save()


def reached(account_id: str, action: str) -> bool:
    """Whether `record_milestone` recorded `action` (one read)."""
    try:
        AuditEntry.get(account_id, f"{_MILESTONE}{action}")
    except AuditEntry.DoesNotExist:
        return False
    return True
