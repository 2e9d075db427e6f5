"""The public signup form and JS endpoint, with the signups worker applying what they queue."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from tests.support.api import FORM
from tests.support.queues import apply_queued_signups

SHOP = "https://shop.acme.example"


def form_signup(client: Any, list_id: str, headers: dict[str, str] | None = None,
                **fields: str) -> Any:
    """Post the hosted form, then let the signups worker apply what it queued."""
    data = {"consent": "yes", **fields}
    response = client.http.post(f"/f/{list_id}", headers={**FORM, **(headers or {})},
                                body=urlencode(data))
    apply_queued_signups()
    return response


def js_signup(client: Any, list_id: str, body: dict[str, Any], origin: str | None = SHOP) -> Any:
    """Post to the JS endpoint, then let the signups worker apply what it queued."""
    headers = {"Content-Type": "application/json"}
    if origin:
        headers["Origin"] = origin
    response = client.http.post(f"/public/lists/{list_id}/subscribe", headers=headers,
                                body=json.dumps(body))
    apply_queued_signups()
    return response
