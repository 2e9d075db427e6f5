"""A campaign's report (P13, P14), from its counters: aggregates only, never contact data.

Counters are named as domain/tracking.py and store/campaign_stats.py write them; unknown names
are ignored, so a counter added later never breaks an old report.

"sent" is counted by the sender as it sends; "delivered" is derived as sent minus bounced (hard
and soft: SES reports a soft bounce only once it gave up), because SES is not asked for Delivery
events (one more event a mail, Tidings' largest own AWS cost). Nothing stores a delivered counter.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.domain.campaigns import CampaignStatus
from chalicelib.domain.engagement import Viewer

# Mails sent (the sender's count) and outcomes counted from SES feedback
# (store/campaign_stats.FEEDBACK_COUNTERS).
_DELIVERY = {"sent": "sent", "bounces#hard": "hard", "bounces#soft": "soft", "complaints": "complaints"}
_VIEWERS = tuple(viewer.value for viewer in Viewer)


def build_report(campaign_id: str, counters: Mapping[str, int]) -> dict[str, Any]:
    """The report of a campaign whose counters (name → value, summed over shards) are given."""
    get = counters.get
    delivery = {label: int(get(name, 0)) for name, label in _DELIVERY.items()}
    return {
        "campaign_id": campaign_id,
        "sent": delivery["sent"],
        "delivered": max(0, delivery["sent"] - delivery["hard"] - delivery["soft"]),
        # Sent with a pixel or tracked links (P30): the people who let opens and clicks be counted.
        "trackable": int(get("trackable", 0)),
        "bounced": {"hard": delivery["hard"], "soft": delivery["soft"]},
        "complaints": delivery["complaints"],
        "opens": _engagement(counters, "opens", ""),
        "clicks": {**_engagement(counters, "clicks", None), "links": _links(counters)},
        "unsubscribes": int(get("unsubscribes", 0)),
        "forwards": int(get("forwards", 0)),
        "countries": _countries(counters),
    }


def stalled(status: str, pages: int, since: datetime | None) -> dict[str, Any] | None:
    """While a campaign sends: its fan-out pages planned but not queued by their last attempt,
    and since when (None otherwise), on the campaign's answer and its report alike. Each is tried
    once more 15 minutes on (services/sending/fanout._retry_stalled), then waits in the
    dead-letter queue for the operator's redrive (its alarm told them); the campaign stays
    `sending` until then, or until its owner cancels it."""
    if status != CampaignStatus.SENDING.value or pages <= 0:
        return None
    return {"pages": pages, "since": since.isoformat() if since else None}


def _engagement(counters: Mapping[str, int], action: str, scope: str | None) -> dict[str, Any]:
    """Totals and unique counts by viewer; `scope` "" reads the campaign-wide counters, None sums
    over every link (clicks have no campaign-wide unique count: one per link)."""
    def total(kind: str, viewer: str) -> int:
        if scope is not None:
            return int(counters.get(f"{action}#{kind}#{viewer}{scope}", 0))
        prefix = f"{action}#{kind}#{viewer}#"
        return sum(int(value) for name, value in counters.items() if name.startswith(prefix))

    result: dict[str, Any] = {
        "total": sum(total("total", viewer) for viewer in _VIEWERS),
        "human": {"total": total("total", "human"), "unique": total("unique", "human")},
        "machine": {"total": total("total", "machine"), "unique": total("unique", "machine")},
    }
    if scope is not None:
        result["unique"] = total("unique", "any")
    return result


def _links(counters: Mapping[str, int]) -> list[dict[str, Any]]:
    links: dict[str, dict[str, int]] = {}
    for name, value in counters.items():
        parts = name.split("#", 3)
        if len(parts) == 4 and parts[0] == "clicks":
            _, kind, viewer, link = parts
            entry = links.setdefault(link, {"total": 0, "unique": 0, "human": 0, "machine": 0})
            if kind == "total":
                entry["total"] += int(value)
                entry[viewer] = entry.get(viewer, 0) + int(value)
            elif kind == "unique" and viewer == "any":
                entry["unique"] += int(value)
    ranked = sorted(links.items(), key=lambda item: -item[1]["total"])
    return [{"url": link, **entry} for link, entry in ranked]


def _countries(counters: Mapping[str, int]) -> list[dict[str, Any]]:
    by_country: dict[str, dict[str, int]] = {}
    for name, value in counters.items():
        parts = name.split("#")
        if len(parts) == 3 and parts[0] == "countries":
            entry = by_country.setdefault(parts[2], {"human": 0, "machine": 0})
            entry[parts[1]] = entry.get(parts[1], 0) + int(value)
    return [{"country": country, "opens": entry["human"] + entry["machine"], **entry}
            for country, entry in sorted(by_country.items(), key=lambda item: -sum(item[1].values()))]
