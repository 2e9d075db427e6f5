"""What CSS hides from a reader of a mail (P06): the declarations of an element, from its inline
style, its presentational attributes and the rules of the part's <style> blocks (css_rules.py),
judged for hiding all the element holds, and the colours its text is drawn in and on.

It errs on the side of hiding: every declaration counts on its own (a later one or !important may
undo it), as does every rule that may apply. At worst the platform's footer link is added where
the tenant's own already showed. Parsing is cached per CSS text, so a campaign's styles are read
once per Lambda, not per recipient.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache

from chalicelib.domain.css_colour import parse
from chalicelib.domain.css_transform import Face, drawn_by, functions
from chalicelib.domain.css_values import PIXELS, pixels, quantity, split, words

Declarations = tuple[tuple[str, str], ...]

# A CSS comment; an unclosed one runs to the end, as in a browser.
COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.DOTALL)
# A CSS escape: up to six hex digits and one optional white space, or any other character.
# "displ\61 y:none" is display:none to a mail client, so it must be to us.
_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})[ \t\n\r\f]?|\\(.)", re.DOTALL)
# Text smaller than this is no link a reader can see or click.
SMALLEST_FONT_PX = 6.0
# An offset this far negative puts the element off screen (the -9999px of image replacement);
# one this far positive, the other way: no mail is that wide.
_OFF_SCREEN_PX = -500.0
_FAR_OFF_PX = 2000.0
_OFFSETS = frozenset({"left", "top", "right", "bottom", "margin-left", "margin-top", "margin-right",
                      "text-indent", "margin", "inset", "inset-inline", "inset-block", "inset-inline-start",
                      "inset-block-start", "inset-inline-end", "inset-block-end", "margin-inline",
                      "margin-block", "margin-inline-start", "margin-block-start", "translate"})
_FAR_OFFSETS = frozenset({"left", "right", "bottom", "inset-inline-start", "inset-inline-end",
                          "inset-block-end"})
# What a box no taller or wider than a line of tiny text, clipping its overflow, leaves unseen.
_BOXES = frozenset({"height", "max-height", "width", "max-width", "line-height"})
_OVERFLOWS = frozenset({"overflow", "overflow-x", "overflow-y"})
_HIDING = frozenset({("display", "none"), ("visibility", "hidden"), ("visibility", "collapse"),
                     ("mso-hide", "all"), ("content-visibility", "hidden"),
                     ("pointer-events", "none")})  # shown, but no link a reader can click
# A transform that moves all the element draws far off screen: "translateX(-9999px)".
_TRANSLATIONS = frozenset({"translate", "translatex", "translatey", "translate3d"})
# Prefixed names that WebKit's mail apps (Apple Mail, iOS) still draw as the standard ones.
_UNPREFIXED = {"-webkit-transform": "transform", "-webkit-backface-visibility": "backface-visibility"}
_PAREN_SPACES = re.compile(r"\s*([(),])\s*")


def _code_point(match: re.Match[str]) -> str:
    if match.group(2) is not None:
        return match.group(2)
    point = int(match.group(1), 16)
    return chr(point) if 0 < point <= 0x10FFFF and not 0xD800 <= point <= 0xDFFF else "\ufffd"


def unescape(css: str) -> str:
    """`css` with its escapes read as the characters they stand for."""
    return _ESCAPE.sub(_code_point, css) if "\\" in css else css


@lru_cache(maxsize=1024)
def declarations(style: str) -> Declarations:
    """(property, value) of each declaration of `style`, lower case, without !important, the
    transform's names WebKit takes prefixed as the standard ones."""
    found = []
    for declaration in unescape(COMMENT.sub("", style)).lower().split(";"):
        name, _, value = declaration.partition(":")
        value = value.replace("!important", "").strip()
        # A zero of any notation ("0px", ".0em", "calc(0px)") is written "0" for the checks.
        number = quantity(value)
        name = name.strip()
        found.append((_UNPREFIXED.get(name, name), "0" if number is not None and number[0] == 0 else value))
    return tuple(found)


def _clipped(name: str, value: str) -> bool:
    """True for a clip or clip-path that leaves nothing: a rect of no area, an inset of half or
    more, a circle or ellipse of no radius, a polygon of no area (its points on one line across
    or down)."""
    value = _PAREN_SPACES.sub(r"\1", value)
    if name == "clip" and value.startswith("rect("):
        sides = [pixels(side) for side in re.split(r"[ ,]+", value[5:].rstrip(")"))]
        if len(sides) == 4 and None not in sides:
            top, right, bottom, left = sides
            return bool(bottom <= top or right <= left)  # type: ignore[operator]
    if name == "clip-path":
        if value.startswith("inset("):
            return any(side.endswith("%") and (pixels(side) or 0) >= 50 * PIXELS["%"]
                       for side in value[6:].rstrip(")").split())
        if value.startswith("polygon(") and value.endswith(")"):
            points = [[pixels(at) for at in words(point)] for point in split(value[8:-1], ",")
                      if point not in ("nonzero", "evenodd")]
            if points and all(len(point) == 2 and None not in point for point in points):
                return len({x for x, _ in points}) == 1 or len({y for _, y in points}) == 1
        return value.startswith(("circle(0", "ellipse(0"))
    return False


def hides_all(found: Declarations) -> bool:
    """True when `found` hides the element and all it holds, or makes it no link: display:none,
    visibility:hidden, mso-hide:all, content-visibility:hidden, pointer-events:none, text under
    6 px (font-size, font, a scale or zoom), an opacity or text fill under a tenth, a box under
    6 px with its overflow hidden, an offset or translation far off screen, a clip to nothing, a
    transform or turn that draws it too thin (css_transform), each declaration on its own. The
    transforms of an element and its ancestors together are judged as the tree is walked
    (css_transform.Face in html_text)."""
    overflow_hidden = any(name in _OVERFLOWS and value.split()[0] in ("hidden", "clip")
                          for name, value in found if value)
    backface_hidden = ("backface-visibility", "hidden") in found
    for name, value in found:
        if (name, value) in _HIDING or _hides(name, value) or _drawn_thin(name, value, backface_hidden):
            return True
        if overflow_hidden and name in _BOXES and (size := _box(name, value)) is not None \
                and size < SMALLEST_FONT_PX:
            return True
    return False


def _hides(name: str, value: str) -> bool:
    """True when one declaration hides the element, whatever the others say."""
    if name in ("font-size", "font"):
        size = pixels(value) if name == "font-size" else _font_size(value)
        return size is not None and size < SMALLEST_FONT_PX
    if name in ("opacity", "zoom", "scale"):
        # An opacity under 0 is 0; a scale under 0 is a mirror image, as large.
        shares = [share if name == "opacity" else abs(share)
                  for share in map(_share, words(value)) if share is not None]
        return any(share < (_FAINTEST if name == "opacity" else SMALLEST_FONT_PX / 16) for share in shares)
    if name == "-webkit-text-fill-color":  # WebKit draws text in it, whatever its `color`
        fill = parse(value)
        return fill is not None and fill.alpha < _FAINTEST
    if name in _OFFSETS or name == "transform":
        return _off_screen(name, value)
    if name == "filter":
        return any(_hides("opacity", word[8:-1]) for word in words(value) if word.startswith("opacity("))
    return name in ("clip", "clip-path") and _clipped(name, value)


def _drawn_thin(name: str, value: str, backface_hidden: bool) -> bool:
    """True for a transform, rotate or scale that draws the face too thin ("scaleY(0)", "rotate: x
    90deg") or shows its back when `backface_hidden`: a stylesheet's !important one outdoes a later
    inline one, which is why each counts on its own."""
    drawn = drawn_by(name, value)
    return drawn is not None and Face().within(drawn).hidden(backface_hidden)


def _share(word: str) -> float | None:
    """A number or percentage as a fraction of one: "0.5" and "50%" are both half."""
    found = quantity(word)
    if found is None or found[1] not in ("", "%"):
        return None
    return found[0] / 100 if found[1] == "%" else found[0]


def _box(name: str, value: str) -> float | None:
    """A box's height or width in px; a line-height of a bare number is of a 16 px font."""
    found = quantity(value)
    if name == "line-height" and found is not None and found[1] == "":
        return found[0] * 16
    return pixels(value)


def _font_size(value: str) -> float | None:
    """The size of the `font` shorthand ("bold 0/0 serif", "12px/1.5 Arial"): its first length;
    a bare number is a weight, but for 0."""
    for word in words(value):
        size = word.split("/")[0]
        found = quantity(size)
        if found is not None and (found[1] in ("px", "%") or found[0] == 0):
            return pixels(size)
    return None


def _off_screen(name: str, value: str) -> bool:
    """True for offsets (any of a shorthand's) or a translation that put the element far off
    screen."""
    if name == "transform":
        listed = functions(value) or []
        if any(_pushed_back(function, arguments) for function, arguments in listed):
            return True
        lengths = [length for function, arguments in listed for length in _moved(function, arguments)]
    else:
        lengths = [pixels(word) for word in words(value)]
    far = _FAR_OFF_PX if name in _FAR_OFFSETS else float("inf")
    return any(length is not None and not _OFF_SCREEN_PX < length < far for length in lengths)


def _moved(function: str, arguments: list[str]) -> list[float | None]:
    """How far a transform function moves the element along each axis, in px: a translation's
    lengths, a matrix's last two entries, a matrix3d's x and y over its w (css_transform judges
    a w not above 0)."""
    if function in _TRANSLATIONS:
        return [pixels(part) for part in arguments]
    if function == "matrix" and len(arguments) == 6:
        return [pixels(part) for part in arguments[4:]]
    w = quantity(arguments[15]) if function == "matrix3d" and len(arguments) == 16 else None
    if w is None or w[1] or not 0 < w[0] < math.inf:
        return []
    return [None if (moved := pixels(part)) is None else moved / w[0] for part in arguments[12:14]]


def _pushed_back(function: str, arguments: list[str]) -> bool:
    """True for a translateZ or translate3d that moves the element away from the reader: in any
    perspective (the function's, or an ancestor's `perspective`, not followed) that draws it
    smaller, under 6/16 of its size once pushed back over twice the perspective's length."""
    depth = (arguments[0] if function == "translatez" and len(arguments) == 1
             else arguments[2] if function == "translate3d" and len(arguments) == 3 else None)
    moved = None if depth is None else pixels(depth)
    return moved is not None and moved < 0


# A font size `font_size` reads: (px, False), or (a factor of the parent's, True).
FontSize = tuple[float, bool]
_RELATIVE_SIZES = {"smaller": 1 / 1.2, "larger": 1.2}


def font_size(found: Declarations) -> FontSize | None:
    """The last font-size of `found`: em, % and smaller or larger as a factor of the parent's,
    any other length in px; None without one, or one not read."""
    for name, value in reversed(found):
        if name == "font-size":
            if value in _RELATIVE_SIZES:
                return _RELATIVE_SIZES[value], True
            size = pixels(value)
            if size is None:
                return None
            relative = value.endswith(("em", "%")) and not value.endswith("rem")
            return (size / 16, True) if relative else (size, False)
    return None


# A colour of less than a tenth of its alpha draws nothing a reader would find.
_FAINTEST = 0.1


def colour(value: str) -> str | None:
    """A CSS colour in any notation as #rrggbb (one in a colour space not converted as written),
    None for one that draws nothing (transparent, an alpha under a tenth) and for none at all
    (inherit, currentcolor, a typo: the parent's shows through)."""
    found = parse(value)
    if found is None or found.alpha < _FAINTEST:
        return None
    return "#{:02x}{:02x}{:02x}".format(*found.rgb) if found.rgb else value.strip().lower()


# Text within this much (of 255) of its background on every channel is not told from it.
_NEAREST = 12


def alike(first: str, second: str) -> bool:
    """True when colours from `colour` are one to a reader's eye: equal, or #rrggbb that differ
    by no more than a few steps a channel (#fafafa text on #ffffff)."""
    if first == second:
        return True
    if not (first.startswith("#") and second.startswith("#") and len(first) == len(second) == 7):
        return False
    return all(abs(int(first[at:at + 2], 16) - int(second[at:at + 2], 16)) <= _NEAREST for at in (1, 3, 5))


# What `text_colour` gives for a `color` that takes the parent's.
INHERIT = "inherit"
# ... and for one that draws nothing (transparent, no alpha): text in it shows on no background.
SEE_THROUGH = "see-through"


def text_colour(found: Declarations) -> str | None:
    """The colour `found` draws text in (its last `color`), INHERIT for inherit and the like,
    SEE_THROUGH for transparent text, None without one."""
    for name, value in reversed(found):
        if name == "color":
            drawn = parse(value)
            if drawn is not None and drawn.alpha < _FAINTEST:
                return SEE_THROUGH
            return colour(value) or INHERIT
    return None


def background(found: Declarations) -> str | None:
    """The last background colour `found` paints, or None (the parent's shows through)."""
    painted = None
    for name, value in found:
        if name == "background-color":
            painted = colour(value) or painted
        elif name == "background":
            # The shorthand's colour is the word that reads as one (an image or position is not).
            painted = next((c for c in map(colour, words(value)) if c), painted)
    return painted
