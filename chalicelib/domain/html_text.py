"""A plain-text rendering of an HTML mail body, for the text/plain part of multipart/alternative.

Small on purpose (stdlib `html.parser`): paragraphs and line breaks survive, lists become
"- " lines, and every link keeps its URL in brackets after the link text, so a reader of the
plain part can still follow it. Jinja tags are ordinary text to the parser, so a template can be
converted before it is rendered.
"""
from __future__ import annotations

import re
from functools import lru_cache
from html.parser import HTMLParser
from typing import NamedTuple

from chalicelib.domain.css_rules import matched, style_rules
from chalicelib.domain.css_transform import Face, Linear, drawn_with
from chalicelib.domain.css_visibility import (
    INHERIT,
    SEE_THROUGH,
    SMALLEST_FONT_PX,
    FontSize,
    alike,
    background,
    declarations,
    font_size,
    hides_all,
    text_colour,
)

_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "main",
    "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
_HIDDEN = frozenset({"head", "script", "style", "template", "title"})
_LINKED_SCHEMES = ("http://", "https://", "mailto:", "{{")
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


# What a reader never sees of an HTML part, found by a regular expression (a parse per recipient
# would cost several times the rest of composing, issue 15): comments (an unclosed one runs to the
# end, as in a browser), the other "bogus comments" (`<!...>`, `<?...>`, `</` not before a tag
# name), and the elements whose content is never shown: the raw-text ones up to their first end
# tag, head and template (which may nest) up to their last. It errs on the side of removing too
# much, which at worst adds a footer the part already had.
_UNSEEN = re.compile(
    r"<!--.*?(?:--!?>|\Z)"
    r"|<(?:[!?]|/(?![a-z]))[^>]*(?:>|\Z)"
    r"|<(script|style|title)\b.*?(?:</\1\s*>|\Z)"
    r"|<(head|template)\b(?:.*</\2\s*>|.*)",
    re.IGNORECASE | re.DOTALL)


def visible_markup(html: str) -> str:
    """`html` without what a mail client never shows (comments, head, script, style, title,
    template): what to search for a link or text the reader must see."""
    return _UNSEEN.sub(" ", html)


def visible_tag(html: str, tag: re.Pattern[str], *, last: bool = False) -> re.Match[str] | None:
    """The first (or `last`) match of `tag` in `html` that a mail client reads as markup, not
    inside a comment or an unseen element: where an addition to the body shows."""
    # Both in order: one pass over the two, not every match against every unseen span.
    unseen = _UNSEEN.finditer(html)
    span = next(unseen, None)
    found = None
    for match in tag.finditer(html):
        while span is not None and span.end() <= match.start():
            span = next(unseen, None)
        if span is not None and span.start() <= match.start():
            continue
        if not last:
            return match
        found = match
    return found


def visible_end(html: str) -> int:
    """Where an addition at the end of `html` shows: before what is never shown and runs to the
    end (an unclosed comment would swallow it), else the end."""
    trailing = [match.start() for match in _UNSEEN.finditer(html) if match.end() == len(html)]
    return trailing[0] if trailing else len(html)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden_depth = 0
        self.links: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden_depth += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "hr":
            self.parts.append("\n\n----\n\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.parts)))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self.parts.append(alt)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden_depth = max(0, self.hidden_depth - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            self._append_url(href, "".join(self.parts[start:]))

    def handle_data(self, data: str) -> None:
        if not self.hidden_depth:
            self.parts.append(_SPACES.sub(" ", data))

    def _append_url(self, href: str | None, link_text: str) -> None:
        url = (href or "").strip()
        if not url.startswith(_LINKED_SCHEMES) or url == link_text.strip():
            return
        shown = url.removeprefix("mailto:")
        self.parts.append(f" ({shown})" if link_text.strip() else shown)


# Markup the parser reads without looking past it: a tag, closed before the next "<" but for one
# in a quoted value (`title="1 < 2"` is markup, as in a browser), or a declaration or processing
# instruction. Possessive, so no scan backtracks; a quote's state flips on each quote character
# whatever a scan's, so no two scans from different "<" share one: at most three are alive at
# any character, linear in all.
_CLOSED_MARKUP = re.compile(
    r"""<(?:/?[A-Za-z][^<>"']*+(?:(?:"[^"]*+"|'[^']*+')[^<>"']*+)*+|[!?][^<>]*+)>""")


def _parseable(html: str) -> str:
    """`html` as the parser reads it in linear time: a "<" that starts no closed markup is text
    (`&lt;`), and an unclosed comment hides the rest, as a browser does. The stdlib parser
    rescans from every "<" it cannot close to the end of the text (quadratic: 180 kB of `<a b="`
    took minutes); each scan here stops at the next "<"."""
    pieces: list[str] = []
    position = 0
    while (start := html.find("<", position)) >= 0:
        pieces.append(html[position:start])
        if html.startswith("<!--", start):
            end = html.find("-->", start + 4)
            if end < 0:
                return "".join(pieces)
            position = end + 3
            continue  # a comment shows nothing
        markup = _CLOSED_MARKUP.match(html, start)
        pieces.append(markup.group() if markup else "&lt;")
        position = markup.end() if markup else start + 1
    pieces.append(html[position:])
    return "".join(pieces)


def html_to_text(html: str) -> str:
    """The readable text of `html`, with link URLs kept."""
    collector = _TextCollector()
    collector.feed(_parseable(html))
    collector.close()
    lines = (line.strip() for line in "".join(collector.parts).split("\n"))
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


# Elements with no content and no end tag: never an ancestor.
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                   "source", "track", "wbr"})
# Elements whose content a mail client shows as no link, or not at all: text of a form field
# or a list box, raw text, the fallback of embedded content (a browser reads `<a>` in them as
# text or drops it; the stdlib parser does not).
_NO_LINKS = frozenset({"audio", "canvas", "datalist", "iframe", "noembed", "noframes", "object",
                       "plaintext", "select", "textarea", "video", "xmp"})
# Text that shows nothing: whitespace, zero-width and invisible format characters.
_INVISIBLE = re.compile(r"[\s\u00ad\u034f\u180e\u200b-\u200f\u2028-\u202f\u205f-\u206f\ufeff]*")
# A <style> block's text, wherever it is (head, body, a comment: at worst it hides more). An
# unclosed one runs to the end, so no two scans overlap.
_STYLE_BLOCK = re.compile(r"<style\b[^<>]*+>(.*?)(?:</style\s*>|\Z)", re.IGNORECASE | re.DOTALL)
# What an element inherits when nothing says otherwise: black text on white; a link's own text
# is in the client's link colour, which no background is.
_PAGE = ("#000000", "#ffffff")
_LINK_COLOUR = "link"
# ... in a 16 px font, made smaller (by a sixth, as browsers do) inside these.
_PAGE_FONT_PX = 16.0
_SMALLER: FontSize = (1 / 1.2, True)
_SMALLER_TAGS = frozenset({"small", "sub", "sup"})
# The attributes that style an element (an href, which differs for every recipient, does not).
_STYLING = frozenset({"bgcolor", "class", "color", "hidden", "id", "style"})


# Rules and declarations one judgement may look at (a designed mail's few hundred rules, for a
# few thousand elements, look at far fewer): past it, the link counts as unseen.
_MAX_RULE_COST = 200_000


class _Look(NamedTuple):
    """How an element's attributes style it, as _look reads them."""

    hides: bool  # all it holds
    drawn: str | None  # the colour it draws text in (text_colour)
    painted: str | None  # its background
    cost: int  # of matching the rules of the <style> blocks
    size: FontSize | None
    turned: Linear | None  # the transform it is drawn with (css_transform.drawn_with)
    backface_hidden: bool


@lru_cache(maxsize=4096)
def _look(tag: str, attrs: tuple[tuple[str, str], ...], css: tuple[str, ...]) -> _Look:
    """How the attributes that style an element, and the rules of the <style> blocks `css`, style
    it. Cached: a campaign's elements look the same for every recipient."""
    values = dict(attrs)
    own: list[tuple[str, str]] = []
    if values.get("bgcolor"):
        own.append(("background-color", values["bgcolor"]))
    if tag == "font" and values.get("color"):
        own.append(("color", values["color"]))
    cost = 0
    if css:
        classes = frozenset(values.get("class", "").lower().split())
        by_rules, cost = matched([style_rules(block) for block in css], tag, classes,
                                 values.get("id", "").lower() or None)
        own.extend(by_rules)
    for name, value in attrs:
        if name == "style":
            own.extend(declarations(value))
    found = tuple(own)
    size = font_size(found) or (_SMALLER if tag in _SMALLER_TAGS else None)
    return _Look("hidden" in values or hides_all(found), text_colour(found), background(found), cost, size,
                 drawn_with(found), ("backface-visibility", "hidden") in found)


class _Open(NamedTuple):
    """An open element, as _LinkFinder's stack holds it."""

    tag: str
    hides: bool  # all it holds
    drawn: str  # the colour its text is drawn in
    under: str  # the colour its text is drawn on
    folded: bool  # a closed <details>: shows its first <summary> child only
    font_px: float
    face: Face = Face()  # its transforms with its ancestors'
    summarised: bool = False  # a folded <details> whose summary has begun: a later one is folded


_ROOT = _Open("", False, *_PAGE, False, _PAGE_FONT_PX)


class _LinkFinder(HTMLParser):
    """Whether an <a> to `url` shows the reader text: one pass, a stack of open elements."""

    def __init__(self, url: str, css: tuple[str, ...]) -> None:
        super().__init__(convert_charrefs=True)
        self.url = url
        self.css = css  # the text of each <style> block
        self.found = False
        self.stack: list[_Open] = []
        self.open_count: dict[str, int] = {}  # how many of each tag the stack holds
        self.hiding = 0  # hiding elements on the stack
        self.link_depth: int | None = None  # where on the stack the candidate <a> is
        self.rule_cost = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        if tag == "a" and self.open_count.get("a"):
            self.handle_endtag("a")  # an <a> closes an open one, as in a browser
        styling = tuple((name, value or "") for name, value in attrs if name in _STYLING)
        hides, drawn, painted, cost, size, turned, backface_hidden = _look(tag, styling, self.css)
        parent = self.stack[-1] if self.stack else _ROOT
        # Turns and squashes add up down the tree: a parent's rotateX(45deg) around a child's.
        face = parent.face if turned is None else parent.face.within(turned)
        hides = hides or ((turned is not None or backface_hidden) and face.hidden(backface_hidden))
        # Font sizes relative to the parent's multiply: 40% of 40% is text of 2.6 px.
        font_px = parent.font_px if size is None else size[0] * (parent.font_px if size[1] else 1.0)
        hides = hides or font_px < SMALLEST_FONT_PX
        hides = hides or tag in _NO_LINKS or (parent.folded and (tag != "summary" or parent.summarised))
        if parent.folded and tag == "summary":
            self.stack[-1] = parent._replace(summarised=True)
        self.rule_cost += cost
        if self.rule_cost > _MAX_RULE_COST:
            self.css = ()  # judged unseen already: the rest is not worth the time
        href = (dict(attrs).get("href") or "").strip() if tag == "a" else None
        if href == self.url and not self.hiding and not hides:
            self.link_depth = len(self.stack)
        if drawn is None or drawn == INHERIT:
            drawn = _LINK_COLOUR if tag == "a" and drawn is None else parent.drawn
        folded = tag == "details" and "open" not in dict(attrs)
        self.stack.append(_Open(tag, hides, drawn, painted or parent.under, folded, font_px, face))
        self.open_count[tag] = self.open_count.get(tag, 0) + 1
        self.hiding += hides

    def handle_endtag(self, tag: str) -> None:
        # A stray end tag is ignored; else the stack pops down to its element. Each element is
        # pushed and popped once: linear, however hostile the nesting.
        if not self.open_count.get(tag):
            return
        while self.stack:
            popped = self.stack.pop()
            self.open_count[popped.tag] -= 1
            self.hiding -= popped.hides
            if self.link_depth is not None and len(self.stack) <= self.link_depth:
                self.link_depth = None
            if popped.tag == tag:
                return

    def handle_data(self, data: str) -> None:
        if self.link_depth is not None and not self.hiding and not _INVISIBLE.fullmatch(data):
            shown = self.stack[-1]
            # Text in (near) its background's colour, or in none, or folded in <details>, shows nothing.
            if shown.drawn != SEE_THROUGH and not alike(shown.drawn, shown.under) and not shown.folded:
                self.found = True


def shows_link(html: str, url: str) -> bool:
    """True when `html` shows the reader a link to `url`: an <a> whose href is `url`, with text
    that is not only whitespace or zero-width characters, not drawn in its background's colour,
    under no element hidden by its `hidden` attribute, its inline style or a <style> rule
    (domain/css_visibility.py), nor folded in a closed <details>. An image link does not count
    (a 1x1 image shows nothing). `aria-hidden` hides nothing from sight."""
    finder = _LinkFinder(url, tuple(block.group(1) for block in _STYLE_BLOCK.finditer(html)))
    finder.feed(_parseable(visible_markup(html)))
    finder.close()
    return finder.found and finder.rule_cost <= _MAX_RULE_COST
