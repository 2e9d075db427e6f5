"""`GET /v1/campaigns/{campaign_id}/report`: a campaign's aggregates (P13, P14).

Only counters: no address, phone or IP is read, so none can appear. Another account's campaign
is 404 (P28).
"""
from __future__ import annotations

from typing import Any

from chalicelib.domain.campaign_report import build_report
from chalicelib.store.campaign_stats import campaign_counters
from chalicelib.store.campaigns import get_campaign
from chalicelib.web.routes import ApiBlueprint, ApiCall

api = ApiBlueprint(__name__)


@api.route("/v1/campaigns/{campaign_id}/report", "GET",
           "A campaign's report: delivery, opens and clicks (human and machine), unsubscribes, "
           "forwards and countries, as aggregates")
def get_report(call: ApiCall, campaign_id: str) -> dict[str, Any]:
    campaign = get_campaign(call.principal.account_id, campaign_id)
    return {**build_report(campaign.campaign_id, campaign_counters(campaign.campaign_id)),
            "status": campaign.status}
