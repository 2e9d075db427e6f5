"""Human or machine: was an open or click made by a person, or by software acting for the mailbox?

Mail-privacy proxies fetch every image when the mail arrives (Apple Mail Privacy Protection) or
cache it for the reader (Gmail, Yahoo), and security gateways open every link to scan it (Outlook
Safe Links, Mimecast, Proofpoint, Barracuda...). Counted as people, they inflate opens and
clicks, so they are counted apart (reports show both). Two signs, either enough:
- a user agent that names such software, or none at all (people's mail clients always send one);
- the fetch came within PREFETCH_WINDOW of the mail being composed for sending: no person opens
  and reads that fast, but a proxy or scanner does, on delivery. The reference time is the
  token's signing time (composition happens right before SES takes the message).
Pure: the route decides with these rules, in-process, before the IP is dropped.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum

PREFETCH_WINDOW = timedelta(seconds=60)

# Apple's Mail Privacy Protection fetches with exactly this agent, and nothing more.
_APPLE_PRIVACY_PROXY = "Mozilla/5.0"
_MACHINE_AGENT = re.compile(
    "|".join((
        r"GoogleImageProxy", r"YahooMailProxy", r"ggpht\.com",
        # Microsoft: Safe Links / Defender scanning and Office link previews.
        r"Microsoft Office Protocol Discovery", r"ms-office", r"BingPreview", r"SafeLinks",
        # Mail security gateways.
        r"Mimecast", r"Proofpoint", r"Barracuda", r"MessageLabs", r"Symantec", r"Forcepoint",
        r"IronPort", r"TrendMicro", r"Trend Micro", r"Sophos", r"FortiGuard", r"Zscaler",
        # Link unfurlers, crawlers and HTTP libraries.
        r"bot\b", r"crawler", r"spider", r"preview", r"facebookexternalhit", r"WhatsApp",
        r"HeadlessChrome", r"PhantomJS", r"curl/", r"Wget/", r"python-requests", r"python-urllib",
        r"aiohttp", r"Go-http-client", r"okhttp", r"Java/", r"libwww-perl", r"Apache-HttpClient",
    )),
    re.IGNORECASE,
)


class Viewer(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"


def classify(user_agent: str | None, at: datetime, sent_at: datetime) -> Viewer:
    """HUMAN or MACHINE for an open or click at `at` of a mail composed at `sent_at`."""
    agent = (user_agent or "").strip()
    if not agent or agent == _APPLE_PRIVACY_PROXY or _MACHINE_AGENT.search(agent):
        return Viewer.MACHINE
    if at - sent_at < PREFETCH_WINDOW:
        return Viewer.MACHINE
    return Viewer.HUMAN
