"""CSS colours as a mail client reads them (P06): every notation of CSS Color 4 (hex of 3, 4, 6
or 8 digits, the named colours, rgb(), hsl() and hwb() with commas or spaces and "/ alpha",
lab(), lch(), oklab(), oklch(), color() and color-mix()) as one sRGB colour and its alpha, so
text in its background's colour, or in none, is told however either is written.

Linear in the text: one pass a nesting level, and nesting deeper than a designer would write is
no colour at all.
"""
from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

from chalicelib.domain.css_values import quantity, split, words

Matrix = tuple[tuple[float, float, float], ...]


@dataclass(frozen=True)
class Colour:
    """A colour as red, green and blue of 0-255 (None for a colour space not converted: its alpha
    still counts) and its alpha, 0 (see-through) to 1."""
    rgb: tuple[int, int, int] | None
    alpha: float


_TRANSPARENT = Colour((0, 0, 0), 0.0)
# The named colours of CSS, each with its hex digits.
_NAMED_COLOURS = (
    "aliceblue f0f8ff antiquewhite faebd7 aqua 00ffff aquamarine 7fffd4 azure f0ffff beige f5f5dc "
    "bisque ffe4c4 black 000000 blanchedalmond ffebcd blue 0000ff blueviolet 8a2be2 brown a52a2a "
    "burlywood deb887 cadetblue 5f9ea0 chartreuse 7fff00 chocolate d2691e coral ff7f50 cornflowerblue "
    "6495ed cornsilk fff8dc crimson dc143c cyan 00ffff darkblue 00008b darkcyan 008b8b darkgoldenrod "
    "b8860b darkgray a9a9a9 darkgreen 006400 darkgrey a9a9a9 darkkhaki bdb76b darkmagenta 8b008b "
    "darkolivegreen 556b2f darkorange ff8c00 darkorchid 9932cc darkred 8b0000 darksalmon e9967a "
    "darkseagreen 8fbc8f darkslateblue 483d8b darkslategray 2f4f4f darkslategrey 2f4f4f darkturquoise "
    "00ced1 darkviolet 9400d3 deeppink ff1493 deepskyblue 00bfff dimgray 696969 dimgrey 696969 "
    "dodgerblue 1e90ff firebrick b22222 floralwhite fffaf0 forestgreen 228b22 fuchsia ff00ff "
    "gainsboro dcdcdc ghostwhite f8f8ff gold ffd700 goldenrod daa520 gray 808080 green 008000 "
    "greenyellow adff2f grey 808080 honeydew f0fff0 hotpink ff69b4 indianred cd5c5c indigo 4b0082 "
    "ivory fffff0 khaki f0e68c lavender e6e6fa lavenderblush fff0f5 lawngreen 7cfc00 lemonchiffon "
    "fffacd lightblue add8e6 lightcoral f08080 lightcyan e0ffff lightgoldenrodyellow fafad2 lightgray "
    "d3d3d3 lightgreen 90ee90 lightgrey d3d3d3 lightpink ffb6c1 lightsalmon ffa07a lightseagreen "
    "20b2aa lightskyblue 87cefa lightslategray 778899 lightslategrey 778899 lightsteelblue b0c4de "
    "lightyellow ffffe0 lime 00ff00 limegreen 32cd32 linen faf0e6 magenta ff00ff maroon 800000 "
    "mediumaquamarine 66cdaa mediumblue 0000cd mediumorchid ba55d3 mediumpurple 9370db mediumseagreen "
    "3cb371 mediumslateblue 7b68ee mediumspringgreen 00fa9a mediumturquoise 48d1cc mediumvioletred "
    "c71585 midnightblue 191970 mintcream f5fffa mistyrose ffe4e1 moccasin ffe4b5 navajowhite ffdead "
    "navy 000080 oldlace fdf5e6 olive 808000 olivedrab 6b8e23 orange ffa500 orangered ff4500 orchid "
    "da70d6 palegoldenrod eee8aa palegreen 98fb98 paleturquoise afeeee palevioletred db7093 "
    "papayawhip ffefd5 peachpuff ffdab9 peru cd853f pink ffc0cb plum dda0dd powderblue b0e0e6 purple "
    "800080 rebeccapurple 663399 red ff0000 rosybrown bc8f8f royalblue 4169e1 saddlebrown 8b4513 "
    "salmon fa8072 sandybrown f4a460 seagreen 2e8b57 seashell fff5ee sienna a0522d silver c0c0c0 "
    "skyblue 87ceeb slateblue 6a5acd slategray 708090 slategrey 708090 snow fffafa springgreen 00ff7f "
    "steelblue 4682b4 tan d2b48c teal 008080 thistle d8bfd8 tomato ff6347 turquoise 40e0d0 violet "
    "ee82ee wheat f5deb3 white ffffff whitesmoke f5f5f5 yellow ffff00 yellowgreen 9acd32"
)
_NAMED = dict(zip(_NAMED_COLOURS.split()[::2], _NAMED_COLOURS.split()[1::2], strict=True))
_HEX_DIGITS = frozenset("0123456789abcdef")
_DEEPEST = 4
# Matrices of CSS Color 4 (its sample code): CIE XYZ (D65) to linear sRGB, XYZ D50 to D65
# (Bradford), linear Display P3 to XYZ D65.
_XYZ_TO_SRGB: Matrix = ((3.2409699419045226, -1.537383177570094, -0.4986107602930034),
                        (-0.9692436362808796, 1.8759675015077202, 0.04155505740717559),
                        (0.05563007969699366, -0.20397695888897652, 1.0569715142428786))
_D50_TO_D65: Matrix = ((0.9554734527042182, -0.023098536874261423, 0.0632593086610217),
                       (-0.028369706963208136, 1.0099954580058226, 0.021041398966943008),
                       (0.012314001688319899, -0.020507696433477912, 1.3303659366080753))
_P3_TO_XYZ: Matrix = ((0.4865709486482162, 0.26566769316909306, 0.1982172852343625),
                      (0.2289745640697488, 0.6917385218365064, 0.079286914093745),
                      (0.0, 0.04511338185890264, 1.043944368900976))
_D50_WHITE = (0.3457 / 0.3585, 1.0, (1.0 - 0.3457 - 0.3585) / 0.3585)


def parse(text: str) -> Colour | None:
    """The colour `text` names, or None for what is none (inherit, currentcolor, a system colour,
    a typo: the declaration is dropped and the parent's shows)."""
    return _parse(text.strip().lower(), 0)


def _parse(text: str, depth: int) -> Colour | None:
    if text == "transparent":
        return _TRANSPARENT
    if text in _NAMED:
        return _hex(_NAMED[text])
    if text.startswith("#"):
        return _hex(text[1:])
    name, paren, rest = text.partition("(")
    if not paren or not rest.endswith(")") or depth >= _DEEPEST:
        return None
    inner = rest[:-1].strip()
    if name == "color-mix":
        return _mix(inner, depth + 1)
    origin = None
    if inner.startswith("from "):  # a relative colour: "rgb(from red r g b / 0)"
        origin_text = (words(inner[5:]) or [""])[0]
        origin = _parse(origin_text, depth + 1)
        inner = inner[5:].strip()[len(origin_text):].strip()
        if origin is None:
            return None
    if name == "color":
        space, _, inner = inner.partition(" ")
        read = _SPACES.get(space)
    else:
        read = _FUNCTIONS.get(name.removesuffix("a") if name in ("rgba", "hsla") else name)
    arguments = _arguments(inner, origin) if read is not None else None
    if arguments is None:
        return None
    channels, alpha = arguments
    # A relative colour's channel named, not numbered ("r"), is not worked out: its alpha is.
    numbers = [channel for channel in channels if channel is not None]
    rgb = read(numbers) if len(numbers) == 3 else None
    return None if alpha is None else Colour(rgb, alpha)


def _hex(digits: str) -> Colour | None:
    if len(digits) not in (3, 4, 6, 8) or not _HEX_DIGITS.issuperset(digits):
        return None
    if len(digits) < 6:
        digits = "".join(digit * 2 for digit in digits)
    red, green, blue = (int(digits[at:at + 2], 16) for at in (0, 2, 4))
    return Colour((red, green, blue), int(digits[6:] or "ff", 16) / 255)


Number = tuple[float, str]
Channel = Number | None


def _arguments(inner: str, origin: Colour | None) -> tuple[list[Channel], float | None] | None:
    """The three channels of a colour function (None for one of a relative colour that is not a
    number) and its alpha (None when it cannot be read), or None for no colour."""
    halves = split(inner, "/")
    legacy = split(inner, ",") if origin is None else []
    if len(halves) == 2:
        tokens, alpha_text = words(halves[0]), halves[1]
    elif len(halves) == 1 and len(legacy) in (3, 4):
        tokens, alpha_text = legacy[:3], legacy[3] if len(legacy) == 4 else None
    else:
        tokens, alpha_text = words(inner), None
    if len(tokens) != 3:
        return None
    channels = [(0.0, "") if token == "none" else quantity(token) for token in tokens]
    if origin is None and None in channels:
        return None
    return channels, _alpha(alpha_text, origin)


def _alpha(text: str | None, origin: Colour | None) -> float | None:
    if text is None or (origin is not None and text == "alpha"):
        return 1.0 if origin is None else origin.alpha
    found = (0.0, "") if text == "none" else quantity(text)
    if found is None or found[1] not in ("", "%"):
        return None
    return min(max(found[0] / (100 if found[1] == "%" else 1), 0.0), 1.0)


def _mix(inner: str, depth: int) -> Colour | None:
    """color-mix(in <space>, <colour> [<percentage>], <colour> [<percentage>]), mixed in sRGB
    whatever the space (near enough to tell text from its background), alpha exactly."""
    parts = split(inner, ",")
    if len(parts) != 3 or not parts[0].startswith("in "):
        return None
    mixed: list[tuple[Colour, float | None]] = []
    for part in parts[1:]:
        pieces = words(part)
        shares = [share[0] / 100 for share in map(quantity, pieces) if share and share[1] == "%"]
        colours = [piece for piece in pieces if quantity(piece) is None]
        colour = _parse(colours[0], depth) if len(colours) == 1 and len(shares) <= 1 else None
        if colour is None or len(colours) + len(shares) != len(pieces):
            return None
        mixed.append((colour, shares[0] if shares else None))
    (first, p1), (second, p2) = mixed
    p1 = 1 - p2 if p1 is None and p2 is not None else 0.5 if p1 is None else p1
    p2 = 1 - p1 if p2 is None else p2
    total = p1 + p2
    if not 0 <= p1 <= 1 or not 0 <= p2 <= 1 or total <= 0:
        return None
    weight1, weight2 = first.alpha * p1 / total, second.alpha * p2 / total
    alpha = (weight1 + weight2) * min(total, 1.0)
    rgb = None
    if first.rgb is not None and second.rgb is not None:
        rgb = _rgb(tuple(  # premultiplied, as CSS mixes
            (a * weight1 + b * weight2) / (weight1 + weight2 or 1) / 255
            for a, b in zip(first.rgb, second.rgb, strict=True)))
    return Colour(rgb, alpha)


def _rgb(channels: tuple[float, ...]) -> tuple[int, int, int]:
    """sRGB channels of 0-1 (out of gamut clipped) as 0-255."""
    red, green, blue = (round(min(max(channel, 0.0), 1.0) * 255) for channel in channels)
    return red, green, blue


def _encoded(linear: tuple[float, ...]) -> tuple[int, int, int]:
    return _rgb(tuple(12.92 * c if abs(c) <= 0.0031308
                      else math.copysign(1.055 * abs(c) ** (1 / 2.4) - 0.055, c) for c in linear))


def _linear(encoded: float) -> float:
    size = abs(encoded)
    return encoded / 12.92 if size <= 0.04045 else math.copysign(((size + 0.055) / 1.055) ** 2.4, encoded)


def _times(matrix: Matrix, vector: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(sum(m * v for m, v in zip(row, vector, strict=True)) for row in matrix)


def _scaled(channel: Number, percent: float) -> float:
    """A channel's number, a percentage as `percent` of it per 1%."""
    value, unit = channel
    return value * percent if unit == "%" else value


def _degrees(channel: Number) -> float:
    value, unit = channel
    return value * {"rad": 180 / math.pi, "grad": 0.9, "turn": 360.0}.get(unit, 1.0)


def _from_rgb(channels: list[Number]) -> tuple[int, int, int]:
    return _rgb(tuple(_scaled(channel, 2.55) / 255 for channel in channels))


def _from_hsl(channels: list[Number]) -> tuple[int, int, int]:
    hue, saturation, lightness = channels
    return _rgb(colorsys.hls_to_rgb(_degrees(hue) / 360 % 1, min(max(_scaled(lightness, 1) / 100, 0), 1),
                                    min(max(_scaled(saturation, 1) / 100, 0), 1)))


def _from_hwb(channels: list[Number]) -> tuple[int, int, int]:
    hue, white, black = channels
    whiteness, blackness = (max(_scaled(part, 1) / 100, 0.0) for part in (white, black))
    if whiteness + blackness >= 1:
        grey = whiteness / (whiteness + blackness)
        return _rgb((grey, grey, grey))
    pure = colorsys.hls_to_rgb(_degrees(hue) / 360 % 1, 0.5, 1.0)
    return _rgb(tuple(c * (1 - whiteness - blackness) + whiteness for c in pure))


def _from_lab(channels: list[Number]) -> tuple[int, int, int]:
    lightness, a, b = _scaled(channels[0], 1), _scaled(channels[1], 1.25), _scaled(channels[2], 1.25)
    return _lab_to_rgb(lightness, a, b)


def _from_lch(channels: list[Number]) -> tuple[int, int, int]:
    chroma, hue = _scaled(channels[1], 1.5), math.radians(_degrees(channels[2]))
    return _lab_to_rgb(_scaled(channels[0], 1), chroma * math.cos(hue), chroma * math.sin(hue))


def _lab_to_rgb(lightness: float, a: float, b: float) -> tuple[int, int, int]:
    kappa, epsilon = 24389 / 27, 216 / 24389
    fy = (lightness + 16) / 116
    fx, fz = fy + a / 500, fy - b / 200
    xyz = (fx ** 3 if fx ** 3 > epsilon else (116 * fx - 16) / kappa,
           fy ** 3 if lightness > kappa * epsilon else lightness / kappa,
           fz ** 3 if fz ** 3 > epsilon else (116 * fz - 16) / kappa)
    d50 = tuple(part * white for part, white in zip(xyz, _D50_WHITE, strict=True))
    return _encoded(_times(_XYZ_TO_SRGB, _times(_D50_TO_D65, d50)))


def _from_oklab(channels: list[Number]) -> tuple[int, int, int]:
    return _oklab_to_rgb(_scaled(channels[0], 0.01), _scaled(channels[1], 0.004), _scaled(channels[2], 0.004))


def _from_oklch(channels: list[Number]) -> tuple[int, int, int]:
    chroma, hue = _scaled(channels[1], 0.004), math.radians(_degrees(channels[2]))
    return _oklab_to_rgb(_scaled(channels[0], 0.01), chroma * math.cos(hue), chroma * math.sin(hue))


def _oklab_to_rgb(lightness: float, a: float, b: float) -> tuple[int, int, int]:
    long = (lightness + 0.3963377774 * a + 0.2158037573 * b) ** 3
    middle = (lightness - 0.1055613458 * a - 0.0638541728 * b) ** 3
    short = (lightness - 0.0894841775 * a - 1.2914855480 * b) ** 3
    return _encoded((4.0767416621 * long - 3.3077115913 * middle + 0.2309699292 * short,
                     -1.2684380046 * long + 2.6097574011 * middle - 0.3413193965 * short,
                     -0.0041960863 * long - 0.7034186147 * middle + 1.7076147010 * short))


def _from_srgb(channels: list[Number]) -> tuple[int, int, int]:
    return _rgb(tuple(_scaled(channel, 0.01) for channel in channels))


def _from_srgb_linear(channels: list[Number]) -> tuple[int, int, int]:
    return _encoded(tuple(_scaled(channel, 0.01) for channel in channels))


def _from_display_p3(channels: list[Number]) -> tuple[int, int, int]:
    linear = tuple(_linear(_scaled(channel, 0.01)) for channel in channels)
    return _encoded(_times(_XYZ_TO_SRGB, _times(_P3_TO_XYZ, linear)))


def _from_xyz(channels: list[Number]) -> tuple[int, int, int]:
    return _encoded(_times(_XYZ_TO_SRGB, tuple(_scaled(channel, 0.01) for channel in channels)))


def _from_xyz_d50(channels: list[Number]) -> tuple[int, int, int]:
    d50 = tuple(_scaled(channel, 0.01) for channel in channels)
    return _encoded(_times(_XYZ_TO_SRGB, _times(_D50_TO_D65, d50)))


def _unconverted(channels: list[Number]) -> None:
    return None


_FUNCTIONS = {"rgb": _from_rgb, "hsl": _from_hsl, "hwb": _from_hwb, "lab": _from_lab, "lch": _from_lch,
              "oklab": _from_oklab, "oklch": _from_oklch}
# The spaces of color(); the rarer wide-gamut ones are not converted (their alpha still counts).
_SPACES = {"srgb": _from_srgb, "srgb-linear": _from_srgb_linear, "display-p3": _from_display_p3,
           "xyz": _from_xyz, "xyz-d65": _from_xyz, "xyz-d50": _from_xyz_d50, "a98-rgb": _unconverted,
           "prophoto-rgb": _unconverted, "rec2020": _unconverted}
