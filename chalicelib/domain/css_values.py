"""CSS numbers as a mail client reads them (P06): a number with its unit, or a calc(), min(),
max() or clamp() of them worked out, so "calc(0px)" is as much a zero as "0" is to us.

Linear in the text: the template is the attacker's, so no pattern here backtracks (possessive
quantifiers) and nesting deeper than a designer would write is no number at all.
"""
from __future__ import annotations

import re

Quantity = tuple[float, str]

# A number and its unit: "0", "-.5em", "1e3px", "50%". Possessive: a run of digits is read once.
_NUMBER = re.compile(r"([+-]?+(?:\d++(?:\.\d*+)?+|\.\d++)(?:e[+-]?+\d++)?+)([a-z]++|%)?+")
# Pixels per unit; "%" and em-like units are of a 16 px font, viewport units of a 320 px phone.
PIXELS = {"px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4,
          "q": 96 / 101.6, "em": 16.0, "rem": 16.0, "ex": 8.0, "ch": 8.0, "%": 0.16,
          "vw": 3.2, "vh": 3.2, "vmin": 3.2, "vmax": 3.2}
_MATH = ("calc(", "min(", "max(", "clamp(")
# One token of a math function: a number, a function's opening, an operator, a comma or ")".
_TOKEN = re.compile(r"\s*+(?:(" + _NUMBER.pattern + r")|([a-z-]++\()|([-+*/(),]))")
_DEEPEST = 16


def quantity(text: str) -> Quantity | None:
    """`text` as (value, unit): lengths in px ("px"), plain numbers "", percentages "%", any other
    unit (deg, s) as written; None for what is not one number."""
    text = text.strip()
    if not text.startswith(_MATH):
        match = _NUMBER.fullmatch(text)
        return _unit(float(match.group(1)), match.group(2) or "") if match else None
    tokens = _tokens(text)
    if tokens is None:
        return None
    try:
        found, end = _sum(tokens, 0, 0)
    except (_NotANumber, IndexError, ZeroDivisionError, OverflowError):
        return None
    return found if end == len(tokens) else None


def pixels(text: str) -> float | None:
    """`text` as a length in px (a bare number is taken as px, as quirks mode does), else None."""
    found = quantity(text)
    if found is None:
        return None
    value, unit = found
    return value * PIXELS["%"] if unit == "%" else value if unit in ("px", "") else None


def words(text: str) -> list[str]:
    """The space-separated words of `text` outside parentheses: "rgb(0 0 0 / 0) url(a b)" is two."""
    return split(text, " \t\r\n\f")


def split(text: str, separators: str) -> list[str]:
    """The pieces of `text` between `separators` outside parentheses, empty ones left out."""
    pieces, depth, start = [], 0, 0
    for at, character in enumerate(text):
        if character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
        elif character in separators and depth == 0:
            pieces.append(text[start:at])
            start = at + 1
    pieces.append(text[start:])
    return [piece.strip() for piece in pieces if piece.strip()]


def _unit(value: float, unit: str) -> Quantity:
    return (value * PIXELS[unit], "px") if unit in PIXELS and unit != "%" else (value, unit)


class _NotANumber(Exception):
    pass


def _tokens(text: str) -> list[str | Quantity] | None:
    tokens: list[str | Quantity] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            return None if text[position:].strip() else tokens
        _, number, unit, function, operator = match.groups()
        tokens.append(_unit(float(number), unit or "") if number else function or operator)
        position = match.end()
    return tokens


# A recursive descent over the tokens: sum of products of terms; each returns what it read and
# where it stopped. `depth` bounds the nesting.
def _sum(tokens: list[str | Quantity], at: int, depth: int) -> tuple[Quantity, int]:
    found, at = _product(tokens, at, depth)
    while at < len(tokens) and tokens[at] in ("+", "-"):
        right, next_at = _product(tokens, at + 1, depth)
        found = _add(found, right, -1.0 if tokens[at] == "-" else 1.0)
        at = next_at
    return found, at


def _product(tokens: list[str | Quantity], at: int, depth: int) -> tuple[Quantity, int]:
    found, at = _term(tokens, at, depth)
    while at < len(tokens) and tokens[at] in ("*", "/"):
        right, next_at = _term(tokens, at + 1, depth)
        if tokens[at] == "/":
            if right[1]:
                raise _NotANumber
            found = (found[0] / right[0], found[1])
        elif found[1] and right[1]:
            raise _NotANumber
        else:
            found = (found[0] * right[0], found[1] or right[1])
        at = next_at
    return found, at


def _term(tokens: list[str | Quantity], at: int, depth: int) -> tuple[Quantity, int]:
    token = tokens[at]
    if isinstance(token, tuple):
        return token, at + 1
    if depth >= _DEEPEST or token not in ("(", *_MATH):
        raise _NotANumber
    values = []
    at += 1
    while True:
        found, at = _sum(tokens, at, depth + 1)
        values.append(found)
        if tokens[at] == ")":
            break
        if tokens[at] != ",":
            raise _NotANumber
        at += 1
    return _apply(token, values), at + 1


def _apply(function: str, values: list[Quantity]) -> Quantity:
    if len(values) != {"(": 1, "calc(": 1, "clamp(": 3}.get(function, len(values)):
        raise _NotANumber
    if len({unit for _, unit in values}) > 1:
        values = [_as_length(value) for value in values]
    if function == "clamp(":
        low, middle, high = values
        return max(low[0], min(middle[0], high[0])), middle[1]
    return min(values) if function == "min(" else max(values) if function == "max(" else values[0]


def _add(left: Quantity, right: Quantity, sign: float) -> Quantity:
    if left[1] != right[1]:
        left, right = _as_length(left), _as_length(right)
    return left[0] + sign * right[0], left[1]


def _as_length(found: Quantity) -> Quantity:
    """A percentage among lengths as px of a 16 px font; a plain zero as 0 px."""
    value, unit = found
    if unit == "%":
        return value * PIXELS["%"], "px"
    if unit == "px" or (unit == "" and value == 0):
        return value, "px"
    raise _NotANumber
