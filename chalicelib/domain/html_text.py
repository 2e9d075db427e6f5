"""A plain-text rendering of an HTML mail body, for the text/plain part of multipart/alternative.

Small on purpose (stdlib `html.parser`): paragraphs and line breaks survive, lists become
"- " lines, and every link keeps its URL in brackets after the link text, so a reader of the
plain part can still follow it. Jinja tags are ordinary text to the parser, so a template can be
converted before it is rendered.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

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


# Markup the parser reads without looking past it: a tag whose quoted values hold no "<", a
# declaration or processing instruction, each closed before the next "<".
_CLOSED_MARKUP = re.compile(r"""<(?:/?[A-Za-z][^<>"']*(?:(?:"[^<"]*"|'[^<']*')[^<>"']*)*|[!?][^<>]*)>""")


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
# Text that shows nothing: whitespace, zero-width and invisible format characters.
_INVISIBLE = re.compile(r"[\s\u00ad\u034f\u180e\u200b-\u200f\u2028-\u202f\u205f-\u206f\ufeff]*")
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.DOTALL)
# A zero length or number ("0", "0px", ".0em", "0%"): a digit, then only zeros and a unit.
_ZERO = re.compile(r"[+-]?(?=\.?0)0*\.?0*(?:[a-z]+|%)?")


def _hides(attrs: list[tuple[str, str | None]]) -> bool:
    """True when the element's own attributes hide it and all it holds: `hidden`, or inline CSS
    that shows nothing (display:none, visibility:hidden, font-size:0, opacity:0, mso-hide:all, a
    zero (max-)height or width with overflow:hidden)."""
    if any(name == "hidden" for name, _ in attrs):
        return True
    # Every declaration of every style attribute, each on its own: a later one or !important may
    # undo it, and then the footer is added where it was not needed, never missing where it was.
    style = ";".join(value or "" for name, value in attrs if name == "style")
    declarations = set()
    for declaration in _CSS_COMMENT.sub("", style).lower().split(";"):
        name, _, value = declaration.partition(":")
        value = value.replace("!important", "").strip()
        declarations.add((name.strip(), "0" if _ZERO.fullmatch(value) else value))
    zero = {name for name, value in declarations if value == "0"}
    return (bool(declarations & {("display", "none"), ("visibility", "hidden"), ("visibility", "collapse"),
                                 ("mso-hide", "all")})
            or bool(zero & {"font-size", "opacity"})
            or (("overflow", "hidden") in declarations
                and bool(zero & {"height", "max-height", "width", "max-width"})))


class _LinkFinder(HTMLParser):
    """Whether an <a> to `url` shows the reader text: one pass, a stack of open elements."""

    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.url = url
        self.found = False
        self.stack: list[tuple[str, bool]] = []  # (tag, hides)
        self.open_count: dict[str, int] = {}  # how many of each tag the stack holds
        self.hiding = 0  # hiding elements on the stack
        self.link_depth: int | None = None  # where on the stack the candidate <a> is

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        if tag == "a" and self.open_count.get("a"):
            self.handle_endtag("a")  # an <a> closes an open one, as in a browser
        hides = _hides(attrs)
        href = (dict(attrs).get("href") or "").strip() if tag == "a" else None
        if href == self.url and not self.hiding and not hides:
            self.link_depth = len(self.stack)
        self.stack.append((tag, hides))
        self.open_count[tag] = self.open_count.get(tag, 0) + 1
        self.hiding += hides

    def handle_endtag(self, tag: str) -> None:
        # A stray end tag is ignored; else the stack pops down to its element. Each element is
        # pushed and popped once: linear, however hostile the nesting.
        if not self.open_count.get(tag):
            return
        while self.stack:
            popped, hides = self.stack.pop()
            self.open_count[popped] -= 1
            self.hiding -= hides
            if self.link_depth is not None and len(self.stack) <= self.link_depth:
                self.link_depth = None
            if popped == tag:
                return

    def handle_data(self, data: str) -> None:
        if self.link_depth is not None and not self.hiding and not _INVISIBLE.fullmatch(data):
            self.found = True


def shows_link(html: str, url: str) -> bool:
    """True when `html` shows the reader a link to `url`: an <a> whose href is `url`, with text
    that is not only whitespace or zero-width characters, under no element hidden by its `hidden`
    attribute or inline style. An image link does not count (a 1x1 image shows nothing). Class
    rules in a <style> can hide a link too; they are not evaluated (nor are CSS escapes, colour on
    a like background or off-screen positioning): what is judged is what the markup itself hides.
    `aria-hidden` hides nothing from sight."""
    finder = _LinkFinder(url)
    finder.feed(_parseable(visible_markup(html)))
    finder.close()
    return finder.found
