"""Which rules of a mail's <style> blocks apply to an element (P06): read once per CSS text, looked
up by the element's tag, classes and id. It errs on the side of applying: a rule applies when the
last compound of its selector matches (combinators and most pseudo-classes are not followed),
specificity is not weighed, and @media rules apply as if always.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.domain.css_visibility import COMMENT, Declarations, declarations, unescape

# Pseudo-classes and -elements that do not apply to the mail as first shown.
_DYNAMIC = re.compile(r"::|:(?:hover|focus|active|target|before|after)", re.IGNORECASE)
# Each bracket's scan stops at the next opening one: an unclosed "[" or "(" is not rescanned to the
# end from every one before it (quadratic).
_SELECTOR_NOISE = re.compile(r":[\w-]+(?:\([^()]*\))?|\[[^\][]*\]")
_SELECTOR_PART = re.compile(r"[.#]?[\w-]+|\*")


@dataclass(frozen=True)
class _Rule:
    tag: str | None
    classes: frozenset[str]
    element_id: str | None
    found: Declarations


# A <style> block's rules by the key an element is looked up with, each with its place.
RuleSet = dict[tuple[str, str], tuple[tuple[int, "_Rule"], ...]]


@lru_cache(maxsize=64)
def style_rules(css: str) -> RuleSet:
    """The rules of a <style> block, by the key an element is looked up with: ("#", id),
    (".", a class) or ("", tag or "*"); each with its place, so they apply in order."""
    index: dict[tuple[str, str], list[tuple[int, _Rule]]] = {}
    selector: str | None = None
    start = place = 0
    # One pass over the braces: an @media prelude is replaced by its first rule's selector.
    for brace in re.finditer(r"[{}]", COMMENT.sub("", css)):
        chunk = brace.string[start:brace.start()]
        start = brace.end()
        if brace.group() == "{":
            selector = chunk
            continue
        if selector is not None:
            for rule in _rules(unescape(selector), declarations(chunk)):
                key = (("#", rule.element_id) if rule.element_id else (".", min(rule.classes))
                       if rule.classes else ("", rule.tag or "*"))
                index.setdefault(key, []).append((place, rule))
                place += 1
        selector = None
    return {key: tuple(rules) for key, rules in index.items()}


def _rules(selector: str, found: Declarations) -> list[_Rule]:
    rules = []
    for alternative in selector.lower().split(","):
        words = alternative.replace(">", " ").replace("+", " ").replace("~", " ").split()
        if not words or words[-1].startswith("@") or _DYNAMIC.search(words[-1]):
            continue
        parts = _SELECTOR_PART.findall(_SELECTOR_NOISE.sub("", words[-1]))
        tag = next((part for part in parts if part[0] not in ".#*"), None)
        element_id = next((part[1:] for part in parts if part[0] == "#"), None)
        classes = frozenset(part[1:] for part in parts if part[0] == ".")
        rules.append(_Rule(tag, classes, element_id, found))
    return rules


def matched(rule_sets: list[RuleSet], tag: str, classes: frozenset[str],
            element_id: str | None) -> tuple[Declarations, int]:
    """(the declarations of every rule in `rule_sets` that applies to the element, in order; the
    rules and declarations looked at, for the caller to bound: many rules under one class, or
    one long rule, looked at for every element would be quadratic)."""
    keys = [("", tag), ("", "*"), *((".", name) for name in classes)]
    if element_id:
        keys.append(("#", element_id))
    found: list[tuple[int, int, Declarations]] = []
    cost = 0
    for block, rules in enumerate(rule_sets):
        for key in keys:
            for place, rule in rules.get(key, ()):
                cost += 1 + len(rule.found)
                if ((rule.tag is None or rule.tag == tag) and rule.classes <= classes
                        and (rule.element_id is None or rule.element_id == element_id)):
                    found.append((block, place, rule.found))
    found.sort(key=lambda item: item[:2])
    return tuple(declaration for *_, rule_found in found for declaration in rule_found), cost
