"""How reports name a clicked link (P14, P31): as the campaign's author wrote it, never as it
was rendered for one recipient.

A link's label is its href in the campaign's HTML template, merge tags as written
(`https://shop.example/account/{{ email }}`), without query string or fragment. The click token
carries the label (domain/mail_links.py), and the counters and markers name the link by it
(domain/tracking.py). A click token without one (made before labels) holds only the rendered
target, whose path may be the reader's own: such a click is labelled with the target's origin.
"""
from __future__ import annotations

from urllib.parse import urlsplit

MAX_LABEL = 500


def link_label(url: str) -> str:
    """How a link is counted and reported: without its query string or fragment, which may
    carry the reader's own data."""
    bare = url.split("#", 1)[0].split("?", 1)[0]
    return bare[:MAX_LABEL]


def origin_label(url: str) -> str:
    """The label of a click whose written link is unknown (a token made before labels): the
    target's scheme and host only, as its path may be the reader's own."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket: no host to show
        return url.split("://", 1)[0] + "://"
    return f"{parts.scheme}://{parts.hostname or ''}"[:MAX_LABEL]
