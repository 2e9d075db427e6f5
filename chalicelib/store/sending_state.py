"""What a sender checks before each batch, in one read: the campaign (still sending? its
content) and its account (still allowed to send? its profile) — one BatchGetItem over both
tables instead of two GetItems, because it is paid once per batch of a 100,000-recipient send."""
from __future__ import annotations

from chalicelib.clients import client
from chalicelib.store.models import Account, Campaign


def campaign_and_account(account_id: str, campaign_id: str) -> tuple[Campaign | None, Account | None]:
    """The campaign and its account as stored now (strongly consistent), None for a missing one."""
    campaigns, accounts = Campaign.Meta.table_name, Account.Meta.table_name
    request = {
        campaigns: {"Keys": [{"account_id": {"S": account_id}, "campaign_id": {"S": campaign_id}}],
                    "ConsistentRead": True},
        accounts: {"Keys": [{"account_id": {"S": account_id}}], "ConsistentRead": True},
    }
    found: dict[str, list[dict]] = {campaigns: [], accounts: []}
    dynamodb = client("dynamodb")
    while request:
        response = dynamodb.batch_get_item(RequestItems=request)
        for table, items in response.get("Responses", {}).items():
            found[table].extend(items)
        request = response.get("UnprocessedKeys") or {}
    campaign = Campaign.from_raw_data(found[campaigns][0]) if found[campaigns] else None
    account = Account.from_raw_data(found[accounts][0]) if found[accounts] else None
    return campaign, account
