"""How reports name a clicked link (P14, P31): as the campaign's author wrote it, never as it
was rendered for one recipient.

A link's label is its href in the campaign's HTML template, merge tags as written
(`https://shop.example/account/{{ email }}`), without query string or fragment. Composing renders
the template with each link marked by its place among the written links, so every rendered link
(in a loop or a branch, however often) is known to come from its written link; the click token
carries the label (domain/mail_links.py), and the counters and markers name the link by it
(domain/tracking.py). A click token made before labels holds only the rendered target, whose
path may be the reader's own: such a click is labelled with the target's origin.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

MAX_LABEL = 500

# `\x1f{place}\x1f` just inside an href's opening quote: a control character, which no author
# writes and no merge tag can place there; composing removes every one from the mail.
_MARK = "\x1f"
_MARKS = re.compile(r"\x1f(\d+)\x1f")
# An <a> tag's href in a template. Its value runs to its closing quote, skipping merge tags
# whole, so a tag's own quotes (`{{ attributes["id"] }}`) do not end it; the alternatives never
# overlap, so a value without a closing quote fails fast. Neither the tag's attributes (but for
# their quoted values, which may hold one) nor a merge tag run past a "<": scanning to the end
# from every "<a" (or "{{") was quadratic, and cubic where both did (9 kB of '<a href="{{' in a
# raw block took 20 s). A scan's quote state changes on each quote character whatever it is, so
# two scans never share one: at most three are alive anywhere, linear in all.
_WRITTEN_HREF = re.compile(
    r"""(<a\b(?:[^<>"']|"[^"]*+"|'[^']*+')*?\bhref\s*=\s*)(["'])"""
    r"""((?:\{\{(?:(?!\}\})[^<])*\}\}|\{%(?:(?!%\})[^<])*%\}|\{(?![{%])|(?!\2)[^{])*)\2""",
    re.IGNORECASE | re.DOTALL)


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


@dataclass(frozen=True)
class WrittenLinks:
    """An HTML template with its links marked, and the label of each, by its place."""

    source: str
    labels: tuple[str, ...] = ()

    def label_of(self, href: str) -> tuple[str | None, str]:
        """(label of the written link a rendered `href` comes from, None when it comes from none,
        e.g. from a merge tag's value; the href without its mark)."""
        match = _MARKS.match(href)
        if match is None:
            return None, href
        place = int(match.group(1))
        return (self.labels[place] if place < len(self.labels) else None), href[match.end():]


@lru_cache(maxsize=16)
def mark_written_links(source: str) -> WrittenLinks:
    """`source` with every <a> tag's href marked by its place, and their labels. Cached: a
    campaign's template is marked once per Lambda, not once per recipient."""
    labels: list[str] = []

    def mark(match: re.Match[str]) -> str:
        labels.append(link_label(html.unescape(match.group(3))))
        quote = match.group(2)
        return f"{match.group(1)}{quote}{_MARK}{len(labels) - 1}{_MARK}{match.group(3)}{quote}"

    return WrittenLinks(_WRITTEN_HREF.sub(mark, source), tuple(labels))


def without_marks(text: str) -> str:
    """`text` (rendered from a marked template) with no mark left."""
    return _MARKS.sub("", text)
