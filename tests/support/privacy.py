"""A person's data on lists, and the data-subject requests about it."""
from __future__ import annotations

import json
from typing import Any

PERSON_RAW = "  Ann.Person@Example.COM "
PERSON = "ann.person@example.com"
PHONE_RAW = "+40 712 345 678"
PHONE = "+40712345678"
PROOF = {"given_at": "2025-01-31T09:30:00Z", "ip": "203.0.113.7", "user_agent": "Firefox/128",
         "form_url": "https://shop.acme.example/join"}


def add(client: Any, api: dict[str, str], list_id: str, *, proof: bool = True, **fields: Any) -> dict:
    """Put someone on a list through the API (confirmed at once on a single opt-in list)."""
    body = {"email": PERSON_RAW, **fields}
    if proof:
        body["consent"] = PROOF
    response = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=api, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return json.loads(response.body)


def privacy(client: Any, api: dict[str, str], **body: Any) -> Any:
    return client.http.post("/v1/privacy/requests", headers=api, body=json.dumps(body))


def completed(client: Any, api: dict[str, str], **body: Any) -> dict[str, Any]:
    """POST a request that must succeed; its view."""
    response = privacy(client, api, **body)
    assert response.status_code == 201, response.body
    view = json.loads(response.body)
    assert view["status"] == "completed"
    return view


def export_of(client: Any, api: dict[str, str], request_id: str, export_format: str = "json") -> Any:
    return client.http.get(f"/v1/privacy/requests/{request_id}/export?format={export_format}", headers=api)
