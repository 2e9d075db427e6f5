"""How the API shows the objects more than one blueprint returns."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.domain.campaign_report import stalled
from chalicelib.services.campaigns import campaign_content

if TYPE_CHECKING:
    from chalicelib.store.models import Campaign


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def campaign_view(campaign: Campaign) -> dict[str, Any]:
    content = campaign_content(campaign)
    return {
        "campaign_id": campaign.campaign_id,
        "name": campaign.name,
        "status": campaign.status,
        "channel": content.channel.value,
        "list_ids": sorted(content.list_ids),
        "filter": content.attribute_filter,
        "subject": content.subject,
        "html": content.html,
        "text": content.text,
        "text_from_html": content.text_from_html,
        "sms_body": content.sms_body,
        "from_address": content.from_address,
        "from_name": content.from_name,
        "reply_to": content.reply_to,
        "advertisement": content.advertisement,
        "send_at": _iso(campaign.send_at),
        "created_at": _iso(campaign.created_at),
        "updated_at": _iso(campaign.updated_at),
        "started_at": _iso(campaign.started_at),
        "finished_at": _iso(campaign.finished_at),
        # Mails that could not be built or sent, and why (the campaign is then `failed`).
        "failure": ({"failed": int(campaign.failed), "reason": campaign.failure_reason}
                    if campaign.failed else None),
        "stalled": stalled(campaign.status, int(campaign.stalled_pages or 0), campaign.stalled_since),
    }

