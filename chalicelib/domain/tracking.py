"""Tracking events (opens and clicks) and the campaign counters they add to (P13, P15).

The route builds a `TrackingEvent` (its id is fresh per request; a redelivered SQS message keeps
it, which is what makes the worker idempotent) and queues it. It carries the country, never the
IP; the viewer class, never the user agent. The address is there only for the worker's keyed hash
of it (`recipient_key`): counters hold no trace of it, markers only that hash.

Counter names (the sort key of a campaign-stats item):
  opens#total#{viewer}  opens#unique#{viewer}  opens#unique#any
  clicks#total#{viewer}#{link}  clicks#unique#{viewer}#{link}  clicks#unique#any#{link}
  countries#{viewer}#{CC}
A unique counter counts recipients: one added per first event of its kind (any viewer, or of that
viewer) per recipient and campaign (per link for clicks). `{link}` is the clicked link's label: the
link as the campaign's author wrote it, without query string or fragment, never as rendered for
the reader, whose own data it may carry (domain/link_labels.py, P14).

Markers (what was counted already): ONE per recipient, campaign and scope (opens, or clicks on
one link), holding the viewer classes its unique counters have counted and short ids of the
events it counted lately. A batch reads each of its markers once and writes each at most once,
with every event it gained, conditioned on its version (store/tracking.py). A marker is also the
recipient's tracking history of its scope (P16): the times of its first and latest counted
events, how many it counted, and for clicks the link's label. Its key, `{campaign}#{recipient
key}` and the scope, lets one Query find every marker of a person in a campaign (export, erasure).

That history is data about a sent message, kept no longer than the message record (P21): a
marker expires HISTORY_LIFETIME after its mail was sent (the token's time), two days short of
30, so DynamoDB's TTL (typically within two days, free) has usually deleted it by day 30;
readers treat it as gone from its expiry. TTL has no deadline, so the batch that creates a
marker first files its key for the daily purge (`new_marker_lists`: one list per account and
due day, keys only), which deletes on day 30 (`history_deadline`) what TTL left. An open or
click of an older mail still adds to the campaign's totals (aggregates stay, P14) but to no
marker and no unique count: nobody's history grows again.

Counters without transactions (issue 15): a marker write is a plain conditional put (one write
unit), and a batch adds to the counters with ONE delta item per campaign (store/campaign_stats.py),
written after its markers: a trickle of opens in batches of one or two events costs about one
write unit an event and one a batch, instead of twice every marker and counter in a transaction.
Exactly once still holds: each marker write names its batch (`by`, `by_at`) and carries what it
added to the counters (`by_counts`). A batch whose Lambda died after writing markers but before
its delta leaves markers whose delta is missing; the next batch that reads such a marker, once
SETTLE has passed (the dead batch can no longer write), adopts those counts into its own delta
(`plan_batch`'s `orphaned`). Before SETTLE, the batch may still be running: events of that marker
are deferred (SQS redelivers them later) rather than risk counting twice.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Set
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from chalicelib.domain.clock import parse_utc_time
from chalicelib.domain.country import is_viewer_country
from chalicelib.domain.engagement import Viewer
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.link_labels import link_label, origin_label
from chalicelib.domain.retention import MESSAGE_RECORD_TTL, MESSAGE_RETENTION, PURGE_LIST_EXTRA_LIFETIME

ANY = "any"
# What a click marker keeps of its link's label for the export (P16): long enough for any real
# page, short enough that a marker stays well under the 1 KB one write unit pays for.
MARKER_LINK_LENGTH = 200
# SQS keeps a message at most 14 days from its sending (the route sends it at the event's time):
# an event older than this is never delivered again, so its marker may forget it.
EVENT_ID_LIFETIME = timedelta(days=15)
# How long a batch can take between choosing its time (`by_at`, its delta's time) and writing its
# delta: far above the tracking function's timeout (tests check the declared one), so a marker
# whose batch's delta is missing after this long belongs to a batch that died.
SETTLE = timedelta(minutes=3)
# What a marker remembers at most within EVENT_ID_LIFETIME. A reader's few opens stay far below;
# the cap keeps a client fetching one token in a loop from growing a marker towards DynamoDB's
# 400 KB item limit, past which every batch holding that recipient would fail. Events over it
# are a loop, not reading: they are not counted.
MAX_REMEMBERED_EVENTS = 1000
_SHORT_ID = 12
# P21: per-person history goes within 30 days of sending; TTL's usual lag is the two days less.
HISTORY_LIFETIME = MESSAGE_RECORD_TTL
# What a marker's own expiry leaves to TTL before the daily purge deletes it: its mail's day 30.
_PURGE_AFTER_EXPIRY = MESSAGE_RETENTION - HISTORY_LIFETIME
# A packed marker key (`pack_marker_key`): the recipient key's 16 bytes, and a click scope's 8.
_RECIPIENT_BYTES, _LINK_BYTES = 16, 8


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
    # The clicked link's label (the click token's); None for an open.
    link: str | None = None
    # When the mail was sent (its token's time); None for events queued before it was carried.
    sent_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.event_id, "action": self.action.value, "at": self.at.isoformat(),
                "account": self.account_id, "list": self.list_id, "campaign": self.campaign_id,
                "address": self.address, "viewer": self.viewer.value, "country": self.country,
                "label": self.link, "sent": self.sent_at.isoformat() if self.sent_at else None}

    @property
    def history_until(self) -> datetime:
        """When the recipient's history of this mail must be gone (P21)."""
        return (self.sent_at or self.at) + HISTORY_LIFETIME


def event_from_dict(data: Any) -> TrackingEvent:
    """Parse a queued event; InvalidInput when it is not one (that record goes to the DLQ)."""
    if not isinstance(data, dict):
        # JSON that is not an object (a list, a string, null) is no event either.
        raise InvalidInput("malformed tracking event: not an object", field="event")
    try:
        sent = data.get("sent")
        event = TrackingEvent(event_id=data["id"], action=Action(data["action"]), at=_event_time(data["at"]),
                              account_id=data["account"], list_id=data["list"],
                              campaign_id=data["campaign"], address=data["address"],
                              viewer=Viewer(data["viewer"]), country=data["country"],
                              link=_queued_link(data), sent_at=_event_time(sent) if sent else None)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"malformed tracking event: {exc!r}", field="event") from None
    texts = (event.event_id, event.account_id, event.list_id, event.campaign_id, event.address)
    # The country becomes a counter's name and a report's row (P14): only what the route
    # queues (domain/country.viewer_country), never free text.
    if not all(isinstance(value, str) and value for value in texts) or not is_viewer_country(
            event.country) or (event.action is Action.CLICK and not isinstance(event.link, str)):
        raise InvalidInput("malformed tracking event", field="event")
    return event


# The latest time whose history has an end (P21), and the purge list filing it an end of its own
# (day 30, then PURGE_LIST_EXTRA_LIFETIME), that Python can hold.
LATEST_EVENT_TIME = datetime.max.replace(tzinfo=UTC) - MESSAGE_RETENTION - PURGE_LIST_EXTRA_LIFETIME


def _event_time(raw: Any) -> datetime:
    """A queued event's time, in UTC; ValueError for one that is not a time with a zone, or so
    late that the end of its history could not be worked out (one such event would otherwise
    fail its whole batch)."""
    if not isinstance(raw, str):
        raise ValueError("an event's time is text")
    try:
        when = parse_utc_time(raw, "at")
    except InvalidInput as exc:
        raise ValueError(exc.message) from None
    if when > LATEST_EVENT_TIME:
        raise ValueError("an event's time is out of range")
    return when


def _queued_link(data: Any) -> Any:
    """The event's link label. An event queued before labels holds the rendered target, whose
    path may be the reader's own: only its origin is kept."""
    if "label" in data:
        return data["label"]
    link = data.get("link")
    return origin_label(link) if isinstance(link, str) else link


def recipient_key(secret: str, campaign_id: str, address_hash: str) -> str:
    """A keyed hash of the recipient (of their address's keyed hash, domain/suppression.py),
    salted with the campaign: markers hold no contact data and cannot be joined across
    campaigns, and a campaign's purge lists, which hold the recipients' keyed hashes, lead to
    their markers when the account goes (store/account_data.py)."""
    message = f"{campaign_id}:{address_hash}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def _scope(event: TrackingEvent) -> str:
    return f"#{link_label(event.link or '')}" if event.action is Action.CLICK else ""


class MarkerKey(NamedTuple):
    """A marker's key: `recipient` (hash key, `marker_recipient`) and `scope` (range key: `opens`,
    or `clicks#{hash of the link's label}`)."""

    recipient: str
    scope: str


def marker_recipient(campaign_id: str, recipient: str) -> str:
    """The hash key of every marker of one recipient (keyed hash) in one campaign."""
    return f"{campaign_id}#{recipient}"


def marker_key(event: TrackingEvent, recipient: str) -> MarkerKey:
    """The key of the one marker of the recipient's opens, or clicks on the event's link, in its
    campaign. The link enters the scope as a short hash: a label may be 500 characters long."""
    scope = event.action.value
    if event.action is Action.CLICK:
        scope += "#" + hashlib.sha256(link_label(event.link or "").encode()).hexdigest()[:16]
    return MarkerKey(marker_recipient(event.campaign_id, recipient), scope)


def scope_action(scope: str) -> Action:
    """Whether a marker's scope is opens or clicks."""
    return Action(scope.split("#", 1)[0])


def marker_link(event: TrackingEvent) -> str | None:
    """What a marker keeps of the event's link: its label, cut to MARKER_LINK_LENGTH (None for
    an open). Never the query string, which may carry the reader's own data."""
    return link_label(event.link or "")[:MARKER_LINK_LENGTH] if event.action is Action.CLICK else None


def short_event_id(event_id: str) -> str:
    """What a marker remembers of an event: 12 hex characters (48 bits) of a hash of its id.

    Each remembered event costs about 19 bytes, so a reader's marker stays well under 1 KB, the
    size one write unit pays for (a marker is rewritten whole on each of its batches). 48 bits
    keep one recipient's events apart: a collision among n events of a marker is about
    n²/2⁴⁹, nil for the few a marker holds. A hash, not a cut, so ids of any shape work."""
    return hashlib.sha256(event_id.encode()).hexdigest()[:_SHORT_ID]


def total_counters(event: TrackingEvent) -> list[str]:
    """The counters every event adds one to, first or not."""
    counters = [f"{event.action.value}#total#{event.viewer.value}{_scope(event)}"]
    if event.action is Action.OPEN:
        counters.append(f"countries#{event.viewer.value}#{event.country}")
    return counters


def _unique_counter(event: TrackingEvent, viewer: str) -> str:
    return f"{event.action.value}#unique#{viewer}{_scope(event)}"


@dataclass(frozen=True)
class Marker:
    """What one recipient's opens (or clicks on one link) in one campaign have counted. The
    marker's existence means the unique `any` counter has its one; `viewers` are the viewer
    classes whose unique counters have theirs."""

    version: int
    viewers: frozenset[str]
    # short_event_id → the event's time (epoch seconds), for events younger than
    # EVENT_ID_LIFETIME: a redelivered event found here adds nothing.
    events: Mapping[str, int]
    # The recipient's history of the scope (P16), kept after `events` forgets: the times of the
    # first and latest events counted (by event time, whatever order they arrive in), how many
    # were counted, and the link (marker_link; None for opens).
    first_at: datetime
    last_at: datetime
    counted: int
    link: str | None = None
    # When the marker, the recipient's history, goes (P21): HISTORY_LIFETIME after sending.
    expires_at: datetime | None = None
    # The batch that wrote the marker last, the time it wrote it (its delta's), and what that write
    # added to the campaign's counters: enough to adopt the counts if its delta never came.
    by: str | None = None
    by_at: datetime | None = None
    by_counts: Mapping[str, int] = field(default_factory=dict)
    # The key of the purge list its creation filed it on (a store key, kept on every rewrite):
    # the recipient's erasure takes the marker's key off that list (P18).
    purge_list: str | None = None


@dataclass(frozen=True)
class DeltaRef:
    """The delta item one batch wrote (or should have) for one campaign."""

    campaign_id: str
    at: datetime
    batch_id: str


def delta_ref(key: MarkerKey, marker: Marker, now: datetime) -> DeltaRef | None:
    """The delta the marker's last write belongs to, when it needs checking: a write that added
    something, recent enough that SQS may still redeliver its events (older ones are taken as
    counted)."""
    if marker.by is None or marker.by_at is None or not marker.by_counts:
        return None
    if marker.by_at < now - EVENT_ID_LIFETIME:
        return None
    return DeltaRef(key.recipient.split("#", 1)[0], marker.by_at, marker.by)


@dataclass(frozen=True)
class MarkerWrite:
    """A marker's new state, to be written only if the marker is still as it was read: absent
    (`read_version` None) or at `read_version`. `event_ids`: the batch's events of this marker,
    which fail (and come back) if the write does."""

    key: MarkerKey
    read_version: int | None
    marker: Marker
    campaign_id: str
    event_ids: tuple[str, ...]
    account_id: str


def history_deadline(expires_at: datetime) -> datetime:
    """When a marker expiring at `expires_at` must be gone (P21): its mail's day 30, when the daily
    purge deletes it if TTL has not."""
    return expires_at + _PURGE_AFTER_EXPIRY


@dataclass(frozen=True)
class MarkerList:
    """Markers a batch creates, filed for the daily purge: one account's, due the same UTC day.
    `due` is the earliest deadline among them: by then the others, due later that day, have
    expired too (their expiry is two days before their deadline), so one run takes them all."""

    account_id: str
    due: datetime
    keys: tuple[MarkerKey, ...]


def new_marker_lists(writes: list[MarkerWrite]) -> list[MarkerList]:
    """The purge lists of the markers these writes create (those with no earlier version; one
    rewritten keeps the list its creation filed): one per account and deadline day. An account
    owns its lists (its purge deletes them, P22), so a batch of one account, the usual one, files
    one; a marker without an expiry (none is planned so) is left to TTL."""
    groups: dict[tuple[str, str], list[tuple[datetime, MarkerKey]]] = {}
    for write in writes:
        if write.read_version is not None or write.marker.expires_at is None:
            continue
        deadline = history_deadline(write.marker.expires_at)
        groups.setdefault((write.account_id, deadline.date().isoformat()), []).append((deadline, write.key))
    return [MarkerList(account_id, min(deadline for deadline, _ in filed),
                       tuple(sorted(key for _, key in filed)))
            for (account_id, _), filed in sorted(groups.items())]


def pack_marker_key(key: MarkerKey) -> bytes:
    """A marker's key as a purge list holds it: the campaign id, `#`, the recipient key's 16 bytes
    and, for clicks, the link hash's 8 (about half the text: a list of a big batch is written in
    fewer write units). Nothing else: no contact data (P18, P31)."""
    campaign_id, _, recipient = key.recipient.partition("#")
    action, _, link = key.scope.partition("#")
    raw_recipient, raw_link = bytes.fromhex(recipient), bytes.fromhex(link)
    link_bytes = 0 if Action(action) is Action.OPEN else _LINK_BYTES
    if len(raw_recipient) != _RECIPIENT_BYTES or len(raw_link) != link_bytes:
        raise ValueError("not a marker key")
    return campaign_id.encode() + b"#" + raw_recipient + raw_link


def unpack_marker_key(packed: bytes) -> MarkerKey:
    """The marker key `pack_marker_key` packed. A campaign id holds no `#`, so the first one
    ends it (the bytes after it may hold any)."""
    campaign_id, _, rest = packed.partition(b"#")
    if len(rest) not in (_RECIPIENT_BYTES, _RECIPIENT_BYTES + _LINK_BYTES):
        raise ValueError("not a packed marker key")
    link = rest[_RECIPIENT_BYTES:]
    scope = Action.OPEN.value if not link else f"{Action.CLICK.value}#{link.hex()}"
    return MarkerKey(marker_recipient(campaign_id.decode(), rest[:_RECIPIENT_BYTES].hex()), scope)


@dataclass(frozen=True)
class BatchPlan:
    writes: list[MarkerWrite]
    fresh: int
    replayed: int
    # Events over a marker's MAX_REMEMBERED_EVENTS: not counted.
    flooded: int
    # Events whose marker's last batch may still be writing its delta: not counted now (retry).
    deferred: tuple[str, ...] = ()
    # Markers whose dead batch's counts this batch takes over.
    adopted: int = 0
    # Events of mails older than HISTORY_LIFETIME (P21), or of people whose history was deleted
    # since (P30, `unrecorded`): in the totals only, never in a marker.
    late: int = 0
    # What those add: {campaign: {counter: amount}}.
    late_counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def counters(self, written: list[MarkerWrite] | None = None) -> dict[str, dict[str, int]]:
        """{campaign: {counter: amount}} of the writes made (all of them by default) and of the
        late events: the deltas."""
        totals = {campaign: dict(counts) for campaign, counts in self.late_counts.items()}
        for write in self.writes if written is None else written:
            campaign = totals.setdefault(write.campaign_id, {})
            for name, amount in write.marker.by_counts.items():
                campaign[name] = campaign.get(name, 0) + amount
        return totals


@dataclass(frozen=True)
class _Step:
    """One fresh event: the counters it adds and its marker's state once it is counted."""

    event: TrackingEvent
    counters: list[str]
    marker: Marker


def marker_keys(events: list[TrackingEvent], recipient_of: dict[str, str]) -> set[MarkerKey]:
    """Every marker a batch must look up before deciding what to count: one per recipient,
    campaign and scope (opens, or clicks on one link)."""
    return {marker_key(event, recipient_of[event.event_id]) for event in events}


def plan_batch(events: list[TrackingEvent], stored: Mapping[MarkerKey, Marker], recipient_of: dict[str, str],
               now: datetime, batch_id: str = "", orphaned: Set[MarkerKey] = frozenset(),
               unsettled: Set[MarkerKey] = frozenset(), unrecorded: Set[str] = frozenset()) -> BatchPlan:
    """Decide what a batch (`batch_id`, at `now`) adds, given its markers as read (key → Marker;
    absent ones missing), the markers whose last batch died without its delta (`orphaned`: their
    counts are adopted) and those whose last batch may still be writing it (`unsettled`: their
    events are deferred).

    An event of a mail sent HISTORY_LIFETIME ago or more adds to its total counters only: no
    marker keeps it (P21), so SQS redelivering it could count it twice; rare, and in totals only.
    So does an event whose id is in `unrecorded` (one from before the person withdrew tracking
    consent, which deleted their history: it may be counted, not remembered, P30).
    An event whose short id its marker holds was counted before (SQS redelivered it) and adds
    nothing. Otherwise it adds one to its total counters, to the unique `any` counter when its
    marker does not exist yet, and to its viewer's unique counter when the marker has not
    counted that viewer. Each marker is written once, with every event it gained and what they
    (and an adopted write) add to the counters.
    """
    seen: set[str] = set()
    groups: dict[MarkerKey, list[TrackingEvent]] = {}
    late: dict[str, dict[str, int]] = {}
    replayed = late_events = 0
    for event in sorted(events, key=lambda item: item.at):
        if event.event_id in seen:  # SQS delivered the message twice in one batch
            replayed += 1
            continue
        seen.add(event.event_id)
        if event.history_until <= now or event.event_id in unrecorded:
            counts = late.setdefault(event.campaign_id, {})
            for name in total_counters(event):
                counts[name] = counts.get(name, 0) + 1
            late_events += 1
            continue
        groups.setdefault(marker_key(event, recipient_of[event.event_id]), []).append(event)
    writes: list[MarkerWrite] = []
    deferred: list[str] = []
    fresh = flooded = adopted = 0
    for key, group in groups.items():
        ids = tuple(event.event_id for event in group)
        if key in unsettled:
            deferred.extend(ids)
            continue
        read = stored.get(key)
        steps, group_replayed = _count(group, read, now)
        replayed += group_replayed
        flooded += len(group) - len(steps) - group_replayed
        fresh += len(steps)
        counts: dict[str, int] = dict(read.by_counts) if read is not None and key in orphaned else {}
        adopted += bool(counts)
        if not steps and not counts:
            continue
        for step in steps:
            for name in step.counters:
                counts[name] = counts.get(name, 0) + 1
        if steps:
            marker = steps[-1].marker
        elif read is not None:
            marker = _pruned(read, now)
        else:
            continue
        marker = replace(marker, version=(read.version if read else 0) + 1, by=batch_id, by_at=now,
                         by_counts=counts)
        read_version = None if read is None else read.version
        writes.append(MarkerWrite(key, read_version, marker, group[0].campaign_id, ids, group[0].account_id))
    return BatchPlan(writes, fresh + late_events, replayed, flooded, tuple(deferred), adopted, late_events,
                     late)


def _pruned(read: Marker, now: datetime) -> Marker:
    """The marker as read, without the event ids SQS can no longer redeliver."""
    cutoff = (now - EVENT_ID_LIFETIME).timestamp()
    return replace(read, events={short: at for short, at in read.events.items() if at >= cutoff})


def _count(events: list[TrackingEvent], read: Marker | None, now: datetime) -> tuple[list[_Step], int]:
    """(fresh events' steps, replayed events) of one marker's events, by time."""
    marker = None if read is None else _pruned(read, now)
    steps: list[_Step] = []
    replayed = 0
    for event in events:
        short = short_event_id(event.event_id)
        if read is not None and short in read.events:
            replayed += 1
            continue
        if marker is not None and len(marker.events) >= MAX_REMEMBERED_EVENTS:
            continue
        counters = total_counters(event)
        if marker is None:
            counters.append(_unique_counter(event, ANY))
            marker = Marker(version=0, viewers=frozenset(), events={}, first_at=event.at,
                            last_at=event.at, counted=0, link=marker_link(event),
                            expires_at=event.history_until)
        if event.viewer.value not in marker.viewers:
            counters.append(_unique_counter(event, event.viewer.value))
        marker = replace(marker, viewers=marker.viewers | {event.viewer.value},
                         events={**marker.events, short: int(event.at.timestamp())},
                         first_at=min(marker.first_at, event.at), last_at=max(marker.last_at, event.at),
                         counted=marker.counted + 1)
        steps.append(_Step(event, counters, marker))
    return steps, replayed
