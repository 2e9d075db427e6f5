"""`/v1/account/health`: the calling account's bounce and complaint rates against its thresholds
(P26) — aggregates only (P14)."""
from __future__ import annotations

from typing import Any

from chalicelib.web.routes import ApiBlueprint, ApiCall

api = ApiBlueprint(__name__)


@api.route("/v1/account/health", "GET",
           "Bounce and complaint rates over the current window, the thresholds that suspend sending, "
           "and the account's status")
def read_health(call: ApiCall) -> dict[str, Any]:
    from chalicelib.services.health import health_view
    return health_view(call.principal.account_id)
