"""Campaigns, created through the API or written straight to the store, and their reports."""
from __future__ import annotations

import json
from typing import Any

from tests.support.api import bearer

CAMPAIGN_HTML = ('<html><body><h1>Hello {{ name }}</h1><p>Read <a href="https://acme.example/sale">the '
                 "sale</a>.</p></body></html>")


def create_campaign(client: Any, headers: dict[str, str], list_ids: list[str],
                    **fields: Any) -> dict[str, Any]:
    body = {"name": "Spring", "list_ids": list_ids, "subject": "Hi {{ name }}", "html": CAMPAIGN_HTML,
            **fields}
    response = client.http.post("/v1/campaigns", headers=headers, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return json.loads(response.body)


def sent_campaign(client: Any, account: dict[str, Any], headers: dict[str, str],
                  *lists: tuple[str, ...]) -> tuple[str, list[str]]:
    """A campaign sent to new lists, one for each tuple of addresses (its confirmed subscribers):
    its id and the lists' ids, in that order. Its fan-out pages are queued, not run."""
    from tests.support.lists import new_list, subscribe

    list_ids = [new_list(client, headers) for _ in lists]
    for list_id, addresses in zip(list_ids, lists, strict=True):
        for address in addresses:
            subscribe(account["account_id"], list_id, address)
    campaign_id = create_campaign(client, headers, list_ids)["campaign_id"]
    sent = client.http.post(f"/v1/campaigns/{campaign_id}/send", headers=headers)
    assert sent.status_code == 202, sent.body
    return campaign_id, list_ids


def campaign_status(client: Any, headers: dict[str, str], campaign_id: str) -> str:
    response = client.http.get(f"/v1/campaigns/{campaign_id}", headers=headers)
    return json.loads(response.body)["status"]


def campaign_of(account_id: str, list_id: str) -> str:
    """A campaign of the account, written straight to the store; its id."""
    from chalicelib.store import campaigns

    campaign = campaigns.create_campaign(account_id, {
        "name": "Spring", "list_ids": {list_id}, "subject": "Spring sale",
        "html": "<p>Hello {{ name }}</p><a href=\"https://shop.example/spring?utm=x\">Shop</a>",
        "text": "Hello", "from_address": "news@acme.example", "status": "sent"})
    return campaign.campaign_id


def report(client: Any, account: dict[str, Any], campaign_id: str) -> Any:
    return client.http.get(f"/v1/campaigns/{campaign_id}/report", headers=bearer(account["api_key"]))


def report_body(client: Any, account: dict[str, Any], campaign_id: str) -> dict[str, Any]:
    response = report(client, account, campaign_id)
    assert response.status_code == 200, response.body
    return json.loads(response.body)
