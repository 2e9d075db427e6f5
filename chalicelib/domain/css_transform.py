"""How CSS transforms draw an element's face (P06): the functions of `transform`, and the `rotate`
and `scale` properties, as 3x3 linear maps composed in order, so turns and squashes that only add
up ("rotateX(45deg) rotateX(45deg)", a turned child in a turned parent) are judged together.

A face is hidden when it is drawn under 6/16 of its size at its thinnest (the least singular value
of the map onto the screen: 16 px text drawn under 6 px), or shows its back with
`backface-visibility: hidden`.

Drawn orthographically: a translation moves a face without changing its shape, and `perspective`
(the property, the function) is left out. It only scales a face by its depth, which needs the
element's size and place we do not know; without it, a face an edge-on turn leaves a sliver of is
judged hidden (the side of hiding). A face pushed back at all (translateZ) is judged hidden by
css_visibility, as perspective may shrink it to nothing.

Numbers that overflow a float leave their function out, and each map is scaled down to at most
_LARGEST, so no product overflows or turns NaN: at worst a huge face is judged smaller than it is.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple, TypeVar

from chalicelib.domain.css_values import quantity, split, words

Row = tuple[float, float, float]
Linear = tuple[Row, Row, Row]
Plane = tuple[tuple[float, float], tuple[float, float]]  # a map's part onto the screen (x, y)

_IDENTITY: Linear = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
_NOTHING: Linear = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
# 16 px text drawn under 6 px is no link a reader can read (css_visibility.SMALLEST_FONT_PX).
_THINNEST = 6 / 16
_LARGEST = 1e100
_RADIANS = {"deg": math.pi / 180, "grad": math.pi / 200, "rad": 1.0, "turn": 2 * math.pi}
_AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}
# Which argument scales x, y and z (None: not scaled), by function and count of arguments.
_SCALE_ARGUMENTS = {("scale", 1): (0, 0, None), ("scale", 2): (0, 1, None), ("scalex", 1): (0, None, None),
                    ("scaley", 1): (None, 0, None), ("scalez", 1): (None, None, 0), ("scale3d", 3): (0, 1, 2)}
_Rows = TypeVar("_Rows", Linear, Plane)


def functions(value: str) -> list[tuple[str, list[str]]] | None:
    """The functions of a transform list as (name, arguments): "rotateX(1deg)scale(2)" is two, as
    no space is needed between them; None for a list with anything else ("none", a stray word or
    parenthesis). One pass over the text."""
    found, depth, start = [], 0, 0
    for at, character in enumerate(value):
        if character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
            if depth < 0:
                return None
            if depth == 0:
                name, _, arguments = value[start:at].partition("(")
                found.append((name.strip(), split(arguments, ", ")))
                start = at + 1
    return found if depth == 0 and not value[start:].strip() else None


def transformation(value: str) -> Linear | None:
    """The `transform` property's map: its functions composed left to right (a function not read
    counts as none, the side of hiding); None for none."""
    listed = functions(value)
    if not listed:
        return None
    composed = _IDENTITY
    for name, arguments in listed:
        composed = _compose(composed, _function(name, arguments))
    return composed


def rotation(value: str) -> Linear | None:
    """The `rotate` property's map: "x 90deg", "90deg 1 0 0" (either order), "45deg" (about z)."""
    parts = words(value)
    angles = [at for at, part in enumerate(parts) if (found := quantity(part)) and found[1] in _RADIANS]
    if len(angles) != 1:
        return None
    axis = parts[:angles[0]] + parts[angles[0] + 1:]
    vector = _AXES["z"] if not axis else _AXES.get(axis[0]) if len(axis) == 1 else _numbers(axis, 3)
    angle = _radians(parts[angles[0]])
    return None if vector is None or angle is None else _turn(vector, angle)


def scaling(value: str) -> Linear | None:
    """The `scale` property's map: "0.5", "1 0" (x, y), "1 1 2" (x, y, z)."""
    factors = [_factor(part) for part in words(value)]
    if not 1 <= len(factors) <= 3 or None in factors:
        return None
    x, y, z = (factors + [factors[0], 1.0][len(factors) - 1:])[:3]  # "s" is "s s 1", "x y" is "x y 1"
    return _scaled(x, y, z)  # type: ignore[arg-type]


def drawn_with(found: Iterable[tuple[str, str]]) -> Linear | None:
    """The map an element's declarations draw it with: its rotate, scale and transform composed in
    that order, as a client applies them; None for none. A property declared with values that
    draw differently draws nothing (the side of hiding): which one a client draws turns on
    !important and the selectors' specificity, not weighed here, so a "transform: none" after
    it does not undo a turn that adds up with its ancestors'."""
    declared: dict[str, set[Linear]] = {}
    for name, value in found:
        if name in _READERS:
            declared.setdefault(name, set()).add(_READERS[name](value) or _IDENTITY)
    composed = None
    for name in _READERS:  # in the order a client applies them
        drawn = declared.get(name, {_IDENTITY})
        if drawn != {_IDENTITY}:
            one = drawn.pop() if len(drawn) == 1 else _NOTHING
            composed = one if composed is None else _compose(composed, one)
    return composed


_READERS = {"rotate": rotation, "scale": scaling, "transform": transformation}


def drawn_by(name: str, value: str) -> Linear | None:
    """The map one `rotate`, `scale` or `transform` declaration draws with; None for any other
    property, or for none."""
    return _READERS[name](value) if name in _READERS else None


class Face(NamedTuple):
    """How an element's face is drawn: its own map composed with all its ancestors'."""

    kept: Linear = _IDENTITY  # all in one 3D space (transform-style: preserve-3d)
    flat: Plane = ((1.0, 0.0), (0.0, 1.0))  # each drawn flat in its parent's plane (the default)

    def within(self, child: Linear) -> Face:
        """The face of a child drawn with `child` inside this one."""
        (a, b), (c, d) = self.flat
        (e, f, _), (g, h, _), _ = child
        flat = _bounded(((a * e + b * g, a * f + b * h), (c * e + d * g, c * f + d * h)))
        return Face(_compose(self.kept, child), flat)

    def hidden(self, backface_hidden: bool = False) -> bool:
        """True when the face is drawn too thin to read, either way its ancestors' turns apply,
        or turned to show its back when that is hidden."""
        kept = (self.kept[0][:2], self.kept[1][:2])
        return min(_thinnest(kept), _thinnest(self.flat)) < _THINNEST \
            or (backface_hidden and _back_facing(self.kept))


def _thinnest(plane: Plane) -> float:
    """How thin the map draws a unit square at its thinnest: its least singular value, |det| over
    the greatest (overflow-safe: entries are bounded, hypot does not overflow)."""
    (a, b), (c, d) = plane
    greatest = (math.hypot(a + d, c - b) + math.hypot(a - d, c + b)) / 2
    return abs(a * d - b * c) / greatest if greatest else 0.0


def _compose(first: Linear, then: Linear) -> Linear:
    """`first` · `then`: `then` applied to a point first, as CSS lists them left to right."""
    columns = list(zip(*then, strict=True))
    return _bounded(tuple(tuple(sum(x * y for x, y in zip(row, column, strict=True)) for column in columns)
                          for row in first))  # type: ignore[arg-type]


def _back_facing(matrix: Linear) -> bool:
    """True when the face's normal points away from the reader: the screen part's determinant
    and the whole's differ in sign (a mirror, scaleX(-1), shows its front)."""
    (a, b, _), (c, d, _), _ = matrix
    whole = sum(matrix[0][at] * (matrix[1][(at + 1) % 3] * matrix[2][(at + 2) % 3]
                                 - matrix[1][(at + 2) % 3] * matrix[2][(at + 1) % 3]) for at in range(3))
    return (a * d - b * c) * whole < 0


def _function(name: str, arguments: list[str]) -> Linear:
    """One transform function's map; none for one not read or that only moves the face."""
    count = len(arguments)
    if name in ("rotatex", "rotatey", "rotatez", "rotate") and count == 1:
        angle = _radians(arguments[0])
        return _IDENTITY if angle is None else _turn(_AXES[name[-1] if name != "rotate" else "z"], angle)
    if name == "rotate3d" and count == 4:
        axis, angle = _numbers(arguments[:3], 3), _radians(arguments[3])
        return _IDENTITY if axis is None or angle is None else _turn(axis, angle)
    if name.startswith("scale"):
        factors = [_factor(argument) for argument in arguments]
        shape = _SCALE_ARGUMENTS.get((name, count))
        if shape is None or None in factors:
            return _IDENTITY
        x, y, z = (1.0 if at is None else factors[at] for at in shape)
        return _scaled(x, y, z)  # type: ignore[arg-type]
    if name.startswith("skew") and 1 <= count <= (2 if name == "skew" else 1):
        angles = [_radians(argument) for argument in arguments]
        if None in angles:
            return _IDENTITY
        across = math.tan(angles[0]) if name in ("skew", "skewx") else 0.0  # type: ignore[arg-type]
        down = math.tan(angles[-1]) if name == "skewy" or count == 2 else 0.0  # type: ignore[arg-type]
        return _bounded(((1.0, across, 0.0), (down, 1.0, 0.0), (0.0, 0.0, 1.0)))
    if name == "matrix" and count == 6 and (entries := _numbers(arguments, 6)) is not None:
        a, b, c, d = entries[:4]
        return _bounded(((a, c, 0.0), (b, d, 0.0), (0.0, 0.0, 1.0)))
    if name == "matrix3d" and count == 16 and (entries := _numbers(arguments, 16)) is not None:
        # Column by column; the face around its origin is the linear part over w there, and a
        # w not above 0 puts it at or behind the reader's eye: nothing drawn.
        w, largest = entries[15], max(abs(entries[column * 4 + row]) for column in range(3)
                                      for row in range(3))
        if w <= 0 or not largest:
            return _NOTHING
        # Each entry over the largest, times largest / w: no quotient overflows.
        size = min(largest / w, _LARGEST)
        return tuple(tuple(entries[column * 4 + row] / largest * size for column in range(3))
                     for row in range(3))  # type: ignore[return-value]
    return _IDENTITY


def _turn(axis: tuple[float, ...], angle: float) -> Linear:
    """A turn by `angle` (radians) about `axis` (Rodrigues' formula); about no axis, none."""
    largest = max(map(abs, axis))
    if not largest:
        return _IDENTITY
    # Scaled first, so that the axis's length does not overflow.
    x, y, z = (part / largest for part in axis)
    length = math.sqrt(x * x + y * y + z * z)
    x, y, z = x / length, y / length, z / length
    cos, sin = math.cos(angle), math.sin(angle)
    rest = 1 - cos
    return ((rest * x * x + cos, rest * x * y - sin * z, rest * x * z + sin * y),
            (rest * x * y + sin * z, rest * y * y + cos, rest * y * z - sin * x),
            (rest * x * z - sin * y, rest * y * z + sin * x, rest * z * z + cos))


def _scaled(x: float, y: float, z: float) -> Linear:
    return _bounded(((x, 0.0, 0.0), (0.0, y, 0.0), (0.0, 0.0, z)))


def _bounded(matrix: _Rows) -> _Rows:
    """`matrix` scaled down, if need be, to entries of at most _LARGEST (from finite ones)."""
    largest = max(abs(entry) for row in matrix for entry in row)
    if largest <= _LARGEST:
        return matrix
    return tuple(tuple(entry / largest * _LARGEST for entry in row) for row in matrix)  # type: ignore[return-value]


def _radians(text: str) -> float | None:
    """An angle in radians, reduced to one turn ("1e308turn" does not overflow); a bare 0 is one."""
    found = quantity(text)
    if found is None or not math.isfinite(found[0]) or (found[1] not in _RADIANS and found != (0.0, "")):
        return None
    value, unit = found
    if not unit:
        return 0.0
    return math.fmod(value, 2 * math.pi / _RADIANS[unit]) * _RADIANS[unit]


def _factor(text: str) -> float | None:
    """A finite number or percentage as a factor: "0.5" and "50%" are both half."""
    found = quantity(text)
    if found is None or found[1] not in ("", "%") or not math.isfinite(found[0]):
        return None
    return found[0] / 100 if found[1] == "%" else found[0]


def _numbers(texts: list[str], count: int) -> tuple[float, ...] | None:
    """`count` finite plain numbers, or None."""
    found = [quantity(text) for text in texts]
    if len(found) != count or any(number is None or number[1] or not math.isfinite(number[0])
                                  for number in found):
        return None
    return tuple(number[0] for number in found)  # type: ignore[index]
