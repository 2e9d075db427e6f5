"""`GET /v1/campaigns/{campaign_id}/report`: a campaign's aggregates (P13, P14).

Only counters: no address, phone or IP is read, so none can appear. Another account's campaign
is 404 (P28).
"""
from __future__ import annotations

from typing import Any

from chalicelib.web.routes import ApiBlueprint, ApiCall

api = ApiBlueprint(__name__)


@api.route("/v1/campaigns/{campaign_id}/report", "GET",
           "A campaign's report: its status, failures (`failed`, `failure_reason`) and, while it "
           "sends, fan-out pages stalled until their redrive (`stalled`: pages, since; null "
           "otherwise); delivery, opens and clicks (human and machine), unsubscribes, forwards "
           "and countries, as aggregates")
def get_report(call: ApiCall, campaign_id: str) -> dict[str, Any]:
    from chalicelib.services.campaigns import campaign_report
    return campaign_report(call.principal.account_id, campaign_id)
