"""Helpers of the tracking, unsubscribe, forward and report tests."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.config import signer

# In the past: moto hides SQS messages whose send time lies ahead of the real clock.
SENT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
LATER = SENT + timedelta(hours=2)
READER = "reader@example.com"
OPEN_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
# What a browser's <img> fetch asks for.
IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"
# Ways a click token is tampered with: each must be refused, never followed.
TAMPERED_TOKENS = [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature altered
    lambda token: "eyJ1IjoiaHR0cHM6Ly9ldmlsLmV4YW1wbGUvIn0",  # unsigned payload
    lambda token: token.replace(".", "", 1),  # truncated structure
]


def mailed_reader(client: Any, account: dict[str, Any]) -> dict[str, str]:
    """A confirmed READER of a new list, and a campaign sent to it: their ids."""
    from tests.feedback_support import confirmed, make_list

    list_id = make_list(client, account)
    confirmed(account["account_id"], list_id, READER)
    return {"list_id": list_id, "campaign_id": campaign_of(account["account_id"], list_id)}


def claim_for(account_id: str, list_id: str, address: str, campaign_id: str | None = "cmp_1") -> Any:
    from chalicelib.domain.mail_links import LinkClaim

    return LinkClaim(account_id, list_id, address, campaign_id)


def open_path(claim: Any) -> str:
    from chalicelib.domain.mail_links import OPEN, link_token

    return f"/t/o/{link_token(signer(), OPEN, claim)}"


def click_path(claim: Any, url: str) -> str:
    from chalicelib.domain.mail_links import click_token

    return f"/t/c/{click_token(signer(), claim, url)}"


def campaign_of(account_id: str, list_id: str) -> str:
    """A campaign of the account, written straight to the store; its id."""
    from chalicelib.store.campaigns import create_campaign

    campaign = create_campaign(account_id, {"name": "Spring", "list_ids": {list_id}, "subject": "Spring sale",
                                            "html": "<p>Hello {{ name }}</p><a href=\"https://shop.example/spring?utm=x\">Shop</a>",
                                            "text": "Hello", "from_address": "news@acme.example",
                                            "status": "sent"})
    return campaign.campaign_id


def opened_and_clicked(account_id: str, list_id: str, campaign_id: str, address: str,
                       link: str = "https://shop.example/spring?utm=x") -> None:
    """The address opened the campaign and clicked `link`, as the tracking worker counts it."""
    import uuid
    from datetime import UTC, datetime

    from chalicelib.domain.engagement import Viewer
    from chalicelib.domain.tracking import Action, TrackingEvent
    from chalicelib.services.tracking import count_events

    at = datetime.now(UTC)
    count_events([TrackingEvent(event_id=uuid.uuid4().hex, action=action, at=at, account_id=account_id,
                                list_id=list_id, campaign_id=campaign_id, address=address,
                                viewer=Viewer.HUMAN, country="RO", link=target)
                  for action, target in ((Action.OPEN, None), (Action.CLICK, link))])


def run_tracking_worker(records: list[dict[str, Any]]) -> dict[str, Any]:
    from chalicelib.workers.tracking import count_records

    return count_records(records)


def take_tracking_records() -> list[dict[str, Any]]:
    from chalicelib.resources import TRACKING
    from tests.signup_support import queue_records

    return queue_records(TRACKING)


def report(client: Any, account: dict[str, Any], campaign_id: str) -> Any:
    from tests.conftest import bearer

    return client.http.get(f"/v1/campaigns/{campaign_id}/report", headers=bearer(account["api_key"]))


def report_body(client: Any, account: dict[str, Any], campaign_id: str) -> dict[str, Any]:
    response = report(client, account, campaign_id)
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def every_item_text() -> str:
    """Every item of every table, as text (moto; for 'nothing stored' checks only)."""
    from chalicelib.clients import client

    dynamodb = client("dynamodb")
    dumps = []
    for table in dynamodb.list_tables()["TableNames"]:
        dumps.append(json.dumps(dynamodb.scan(TableName=table)["Items"]))
    return "\n".join(dumps)
