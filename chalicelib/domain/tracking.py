"""Tracking events (opens and clicks) and the campaign counters they add to (P13, P15).

The route builds a `TrackingEvent` (its id is fresh per request; a redelivered SQS message keeps
it, which is what makes the worker idempotent) and queues it. It carries the country, never the
IP; the viewer class, never the user agent. The address is there only so the worker can keep the
subscriber's last open/click time (P16: the time of the latest campaign's first open or click, set
once per recipient and campaign); counters and markers use a keyed hash of it.

Counter names (the sort key of a campaign-stats item):
  opens#total#{viewer}  opens#unique#{viewer}  opens#unique#any
  clicks#total#{viewer}#{link}  clicks#unique#{viewer}#{link}  clicks#unique#any#{link}
  countries#{viewer}#{CC}
A unique counter counts recipients: one added per first event of its kind (any viewer, or of that
viewer) per recipient and campaign (per link for clicks). `{link}` is the target without its query
string or fragment (`link_label`): a query can carry the reader's own data, never fit for a report.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from chalicelib.domain.engagement import Viewer
from chalicelib.errors import InvalidInput

ANY = "any"
_MAX_LINK = 500


class Action(StrEnum):
    OPEN = "opens"
    CLICK = "clicks"


@dataclass(frozen=True)
class TrackingEvent:
    """One open or click, as the route queued it."""

    event_id: str
    action: Action
    at: datetime
    account_id: str
    list_id: str
    campaign_id: str
    address: str
    viewer: Viewer
    country: str
    link: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.event_id, "action": self.action.value, "at": self.at.isoformat(),
                "account": self.account_id, "list": self.list_id, "campaign": self.campaign_id,
                "address": self.address, "viewer": self.viewer.value, "country": self.country,
                "link": self.link}


def event_from_dict(data: Any) -> TrackingEvent:
    """Parse a queued event; InvalidInput when it is not one (that record goes to the DLQ)."""
    try:
        at = datetime.fromisoformat(data["at"])
        event = TrackingEvent(event_id=data["id"], action=Action(data["action"]), at=at,
                              account_id=data["account"], list_id=data["list"],
                              campaign_id=data["campaign"], address=data["address"],
                              viewer=Viewer(data["viewer"]), country=data["country"],
                              link=data.get("link"))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"malformed tracking event: {exc!r}", field="event") from None
    texts = (event.event_id, event.account_id, event.list_id, event.campaign_id, event.address,
             event.country)
    if not all(isinstance(value, str) and value for value in texts) or at.tzinfo is None or (
            event.action is Action.CLICK and not isinstance(event.link, str)):
        raise InvalidInput("malformed tracking event", field="event")
    return event


def link_label(url: str) -> str:
    """How a click target is counted and reported: scheme, host and path only."""
    bare = url.split("#", 1)[0].split("?", 1)[0]
    return bare[:_MAX_LINK]


def recipient_key(secret: str, campaign_id: str, address: str) -> str:
    """A keyed hash of the recipient, salted with the campaign: markers hold no contact data and
    cannot be joined across campaigns."""
    message = f"{campaign_id}:{address}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def _scope(event: TrackingEvent) -> str:
    return f"#{link_label(event.link or '')}" if event.action is Action.CLICK else ""


def unique_markers(event: TrackingEvent, recipient: str) -> dict[str, str]:
    """{counter it unlocks: marker key}: the first event of each key adds one to its counter."""
    scope = _scope(event)
    return {
        f"{event.action.value}#unique#{viewer}{scope}":
            f"{event.action.value}#{event.campaign_id}#{viewer}#{recipient}{scope}"
        for viewer in (ANY, event.viewer.value)
    }


def event_marker(event: TrackingEvent) -> str:
    return f"event#{event.event_id}"


def total_counters(event: TrackingEvent) -> list[str]:
    """The counters every event adds one to, first or not."""
    counters = [f"{event.action.value}#total#{event.viewer.value}{_scope(event)}"]
    if event.action is Action.OPEN:
        counters.append(f"countries#{event.viewer.value}#{event.country}")
    return counters


@dataclass
class WriteChunk:
    """What one DynamoDB transaction writes: the markers of some events and exactly the counter
    increments of those events, so a chunk is counted whole or not at all."""

    markers: dict[str, str]
    counters: dict[tuple[str, str], int]

    @property
    def items(self) -> int:
        return len(self.markers) + len(self.counters)


@dataclass(frozen=True)
class BatchPlan:
    chunks: list[WriteChunk]
    fresh: int
    replayed: int
    # Events that are their recipient's first of their kind in the campaign (first open; first
    # click on a link): only these move the subscriber's last open/click time (P16), so a
    # reader's repeated opens cost no write there.
    firsts: list[TrackingEvent]


def marker_keys(events: list[TrackingEvent], recipient_of: dict[str, str]) -> set[str]:
    """Every marker a batch must look up before deciding what to count."""
    keys: set[str] = set()
    for event in events:
        keys.add(event_marker(event))
        keys.update(unique_markers(event, recipient_of[event.event_id]).values())
    return keys


def plan_batch(events: list[TrackingEvent], existing: dict[str, str], recipient_of: dict[str, str],
               max_items: int = 100) -> BatchPlan:
    """Decide what a batch adds, given the markers already stored (key → event id that wrote it).

    An event already counted (its own marker exists, or a unique marker names it: SQS
    redelivered it) adds nothing. Otherwise it adds one to its total counters and to each unique
    counter whose marker nobody holds yet; it writes those markers, or, unlocking none, its own
    event marker. Events are aggregated: a counter appears once per chunk however many events
    add to it. Chunks hold at most `max_items` items (DynamoDB's transaction limit).
    """
    claimed = dict(existing)
    chunks = [WriteChunk({}, {})]
    seen_ids: set[str] = set()
    firsts: list[TrackingEvent] = []
    fresh = replayed = 0
    for event in sorted(events, key=lambda item: item.at):
        uniques = unique_markers(event, recipient_of[event.event_id])
        first_key = uniques[f"{event.action.value}#unique#{ANY}{_scope(event)}"]
        if (event.event_id in seen_ids or event_marker(event) in claimed
                or event.event_id in {claimed.get(key) for key in uniques.values()}):
            if event.event_id not in seen_ids and claimed.get(first_key) == event.event_id:
                # Counted before, but the Lambda may have died before the last-seen time.
                firsts.append(event)
            replayed += 1
            continue
        seen_ids.add(event.event_id)
        fresh += 1
        if first_key not in claimed:
            firsts.append(event)
        markers = {key: event.event_id for key in uniques.values() if key not in claimed}
        if not markers:
            markers = {event_marker(event): event.event_id}
        names = [*total_counters(event), *(name for name, key in uniques.items() if key in markers)]
        chunk = chunks[-1]
        new_counters = {(event.campaign_id, name) for name in names} - chunk.counters.keys()
        if chunk.items + len(markers) + len(new_counters) > max_items:
            chunk = WriteChunk({}, {})
            chunks.append(chunk)
        chunk.markers.update(markers)
        claimed.update(markers)
        for name in names:
            key = (event.campaign_id, name)
            chunk.counters[key] = chunk.counters.get(key, 0) + 1
    return BatchPlan([chunk for chunk in chunks if chunk.items], fresh, replayed, firsts)
