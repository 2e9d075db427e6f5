"""`/v1/audit`: the account's audit log (P27): who did what, when — references, never contact data."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.services.audit import entries_page
from chalicelib.web.requests import page_size
from chalicelib.web.routes import ApiBlueprint, ApiCall

if TYPE_CHECKING:
    from chalicelib.store.models import AuditEntry

api = ApiBlueprint(__name__)


def entry_view(entry: AuditEntry) -> dict[str, Any]:
    return {"entry_id": entry.entry_id, "at": entry.at.isoformat(), "actor": entry.actor,
            "action": entry.action, "target": entry.target}


@api.route("/v1/audit", "GET", "The account's audit log, newest first, a page at a time",
           query=("limit", "cursor"))
def get_audit(call: ApiCall) -> dict[str, Any]:
    items, cursor = entries_page(call.principal.account_id, page_size(call.query.get("limit")),
                                 call.query.get("cursor"))
    return {"entries": [entry_view(entry) for entry in items], "next_cursor": cursor}
