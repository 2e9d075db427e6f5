"""Account-written templates (subject, HTML, text, SMS body), rendered in Jinja2's sandbox.

The HTML part autoescapes, so a subscriber's name can never inject markup; the subject, text and
SMS parts are plain text and do not. `validate_template` runs when a campaign is saved: it
compiles the template and renders it for a sample subscriber, so a syntax error, an unknown
variable or a sandbox escape is a 400 naming the field, never a failure half-way through a send.
Unknown top-level names are errors (StrictUndefined); an attribute a subscriber lacks renders empty.

Variables: email, name, company, phone, website, field_of_activity, attributes.<name>, list_name,
account_name, unsubscribe_url, preferences_url, forward_url.
"""
from __future__ import annotations

import functools
import operator
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from types import TracebackType
from typing import Any

from chalicelib.domain.errors import InvalidInput, shown_name
from chalicelib.domain.header_text import without_bidi_controls
from chalicelib.domain.subscriptions import Contact

# Template fields rendered as HTML (autoescaped); subject, text and sms_body are plain text.
HTML_FIELDS = frozenset({"html"})


@dataclass(frozen=True)
class TemplateLimits:
    """What one render of one template may use. Anyone with a key can save a template, and a
    Lambda (or the local stack's single process) renders it for every recipient: each limit is
    checked while rendering, at save (the sample render) and at send alike."""

    # Characters one render may output (SES takes messages of up to 40 MB; a campaign part
    # larger than this is a mistake, not a newsletter).
    output_chars: int = 1_000_000
    # Characters (or items) one value may have: the result of any operator, filter or call.
    value_chars: int = 100_000
    # Loop iterations and calls (filters, functions, macros) one render may make, all together.
    steps: int = 20_000
    # Bits one integer may have (about 1,200 decimal digits): big-number arithmetic is slow.
    int_bits: int = 4_096
    # Wall-clock time one render may take.
    seconds: float = 1.0


LIMITS = TemplateLimits()

SAMPLE_CONTACT = Contact(email="ann@example.com", name="Ann Example", company="Example Ltd",
                         phone="+40712345678", website="https://example.com",
                         field_of_activity="Retail")


class AttributeValues:
    """`attributes.<name>` in a template. A name the subscriber lacks renders as "" when
    sending; `known` (used at validation) makes an undeclared name an error instead."""

    __slots__ = ("_known", "_values")

    def __init__(self, values: Mapping[str, str], known: frozenset[str] | None = None) -> None:
        self._values = dict(values)
        self._known = known

    def __getattr__(self, name: str) -> str:
        return self[name]

    def __getitem__(self, name: str) -> str:
        if self._known is not None and name not in self._known:
            from jinja2.exceptions import UndefinedError

            # A name in a template may be as long as the template, and unprintable.
            raise UndefinedError(f"'{shown_name(str(name))}' is not an attribute of the campaign's lists")
        return self._values.get(name, "")

    def __str__(self) -> str:
        return ""


class TemplateLimitExceeded(InvalidInput):
    """A render went over one of TemplateLimits; the message names the limit."""

    code = "template_limit"


class _Budget:
    """What is left of one render's limits (one per render, in a context variable)."""

    __slots__ = ("deadline", "limits", "output", "steps")

    def __init__(self, limits: TemplateLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds
        self.steps = 0
        self.output = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.limits.steps:
            raise TemplateLimitExceeded(f"the template makes more than {self.limits.steps} loop "
                                        "iterations and calls (limit 'steps')")
        # Every step: one step (a value's size checked, a text built) can take milliseconds.
        self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitExceeded(f"the template takes longer than {self.limits.seconds:g} s "
                                        "to render (limit 'seconds')")

    def emit(self, length: int) -> None:
        self.output += length
        if self.output > self.limits.output_chars:
            raise TemplateLimitExceeded(f"the template's output is longer than "
                                        f"{self.limits.output_chars} characters (limit 'output_chars')")
        self.check_time()


_BUDGET: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    # A render outside render_bounded (Template.render called directly) keeps the value limits but
    # has no running budget: a fresh one each time, so nothing accumulates across renders. Every
    # render Tidings does goes through render_bounded.
    return budget if budget is not None else _Budget(LIMITS)


def _too_long(what: str) -> TemplateLimitExceeded:
    return TemplateLimitExceeded(f"{what} would be longer than {LIMITS.value_chars} characters "
                                 "(limit 'value_chars')")


def _check_size(value: Any) -> Any:
    """`value`, unless it is text or a collection over the value limit (or an int over the bits)."""
    if _weight(value) > LIMITS.value_chars:
        raise _too_long("a value")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > LIMITS.int_bits:
        raise _too_many_bits()
    return value


_SIZED = (str, bytes, list, tuple, dict, set, frozenset, range)


def _weight(value: Any, limit: int | None = None) -> int:
    """Characters and items `value` holds, nested collections included (a list of one text
    repeated 1,000 times weighs 1,000 texts, not 1,000 items); counting stops once past `limit`."""
    if isinstance(value, str | bytes | range):
        return len(value)
    if not isinstance(value, _SIZED):
        return 0
    limit = LIMITS.value_chars if limit is None else limit
    total = len(value)
    items = value.items() if isinstance(value, dict) else value
    for item in items:
        if total > limit:
            break
        total += _weight(item, limit - total)
    return total


def _text_bound(value: Any) -> int:
    """At most how many characters `str(value)` (or its repr) has: a collection's repr quotes and
    escapes its texts (up to 10 characters each)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    if isinstance(value, float):
        return 330  # '%f' of 1e308
    return 10 * _weight(value) + 2 if isinstance(value, _SIZED) else 50


def _too_many_bits() -> TemplateLimitExceeded:
    return TemplateLimitExceeded(f"a number would have more than {LIMITS.int_bits} bits (limit 'int_bits')")


def _refuse_over(total: int, what: str) -> None:
    if total > LIMITS.value_chars:
        raise _too_long(what)


def _check_binop(op: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be over a limit, before it is computed."""
    both_ints = isinstance(left, int) and isinstance(right, int)
    if op == "**" and both_ints and right > 0 and left.bit_length() * right > LIMITS.int_bits:
        raise _too_many_bits()
    if op == "*" and both_ints and left.bit_length() + right.bit_length() > LIMITS.int_bits:
        raise _too_many_bits()
    if op == "*" and not both_ints:
        count, sequence = (right, left) if isinstance(left, _SIZED) else (left, right)
        if isinstance(sequence, _SIZED) and isinstance(count, int) and count > 0:
            _refuse_over(_weight(sequence) * count, "a repeated value")
    if op == "+" and isinstance(left, _SIZED) and isinstance(right, _SIZED):
        _refuse_over(_weight(left) + _weight(right), "a concatenated value")
    if op == "%" and isinstance(left, str):
        _check_percent(left, right)


def _check_numbers(args: Iterable[Any]) -> None:
    """Refuse a width, count or size argument over the value limit before it allocates anything."""
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > LIMITS.value_chars:
            raise _too_long(f"an argument of {arg}")


# Widths and precisions: a run of more digits than this is over the limit whatever it says.
_MAX_DIGITS = len(str(LIMITS.value_chars))
# One conversion of printf-style formatting: (key, width, precision, type).
_PERCENT_FIELD = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?(.?)", re.DOTALL)


def _spec_number(digits: str) -> int:
    if len(digits) > _MAX_DIGITS:
        raise _too_long(f"a formatted value (a width of {len(digits)} digits)")
    return int(digits or 0)


def _escape_factor(text: str) -> int:
    # Markup escapes what it formats or joins in: `&` becomes `&amp;`, `'` becomes `&#39;`.
    return 5 if hasattr(text, "__html__") else 1


def _check_percent(text: str, right: Any) -> None:
    """`text % right` (the `%` operator, the `format` filter): refused when its widths and
    arguments could make a value over the limit. A width or precision taken from the arguments
    (`*`) is refused outright: the text alone cannot say how big it is."""
    items = right if isinstance(right, tuple) else (right,)
    total, position, factor = len(text), 0, _escape_factor(text)
    for key, width, precision, kind in _PERCENT_FIELD.findall(text):
        if "*" in (width, precision):
            raise _too_long("a formatted value (a width or precision given by '*')")
        if kind == "%":
            continue
        if key:
            argument = right.get(key) if isinstance(right, Mapping) else None
        else:
            argument = items[position] if position < len(items) else None
            position += 1
        total += _spec_number(width) + _spec_number(precision) + factor * _text_bound(argument)
    _refuse_over(total, "a formatted value")


def _check_str_format(text: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """`text.format(*args, **kwargs)` (and format_map): refused when its fields could make a value
    over the limit. A width inside a field's spec given by another field (`{0:{1}}`) is refused:
    it is an argument, and could be any size."""
    from _string import formatter_field_name_split
    from string import Formatter

    try:
        fields = list(Formatter().parse(text))
    except ValueError:
        return  # not a format string: str.format raises the same error
    total, auto, factor = len(text), 0, _escape_factor(text)
    for _literal, name, spec, conversion in fields:
        if name is None:
            continue
        if "{" in (spec or ""):
            raise _too_long("a formatted value (a width given by a nested '{}' field)")
        first, _rest = formatter_field_name_split(name)
        if first == "":
            first, auto = auto, auto + 1
        if isinstance(first, int):
            argument = args[first] if first < len(args) else None
        else:
            argument = kwargs.get(first)
        bound = _text_bound(argument) * (10 if conversion in ("r", "a") else 1)
        total += sum(_spec_number(digits) for digits in re.findall(r"\d+", spec or "")) + factor * bound
    _refuse_over(total, "a formatted value")


def _joined_items(items: Any, separator: Any) -> Any:
    """The items to join, taken one at a time and refused as soon as the joined text would be over
    the limit: a generator is never drawn further than that."""
    separator_length = len(separator) if isinstance(separator, str) else _text_bound(separator)
    factor = _escape_factor(separator) if isinstance(separator, str) else 1
    if isinstance(items, str):
        _refuse_over(len(items) * (1 + separator_length), "a joined text")
        return items
    kept: list[Any] = []
    total = 0
    for item in items:
        total += factor * _text_bound(item) + (separator_length if kept else 0)
        _refuse_over(total, "a joined text")
        kept.append(item)
    return kept


def _check_replace(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        hits = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        _refuse_over(len(text) + hits * max(0, len(new) - len(old)), "a replaced text")


def _check_expandtabs(text: Any, tabsize: Any = 8) -> None:
    if isinstance(text, str) and isinstance(tabsize, int):
        _refuse_over(len(text) + text.count("\t") * max(0, tabsize), "a text with its tabs expanded")


def _check_indent(text: Any, width: Any = 4, *_flags: Any, **_named: Any) -> None:
    indent = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    if isinstance(text, str):
        _refuse_over(len(text) + (text.count("\n") + 1) * max(0, indent), "an indented text")


def _check_wordwrap(text: Any, width: Any = 79, _break: Any = True, wrapstring: Any = None,
                    *_flags: Any, **_named: Any) -> None:
    if isinstance(text, str) and isinstance(wrapstring, str) and isinstance(width, int):
        # Two lines together are longer than the width (else they would be one), per paragraph.
        lines = 2 * len(text) // max(1, width) + text.count("\n") + 2
        _refuse_over(len(text) + lines * len(wrapstring), "a wrapped text")


def _check_urlize(text: Any, *args: Any, **named: Any) -> None:
    if isinstance(text, str):
        # The text's own growth (escaping, each link twice) is a bounded factor the value limit
        # catches afterwards; the target and rel repeated on every link are not.
        extra = sum(len(value) for value in (*args[2:4], named.get("target"), named.get("rel"))
                    if isinstance(value, str))
        _refuse_over(len(text.split()) * extra, "a text with its links made")


def _check_tojson(value: Any, indent: Any = None) -> None:
    width = len(indent) if isinstance(indent, str) else indent if isinstance(indent, int) else 0
    if width:
        # Every item starts a line indented by its depth.
        _refuse_over(_weight(value) * width * _depth(value), "an indented JSON text")


def _depth(value: Any) -> int:
    if not isinstance(value, list | tuple | dict | set | frozenset):
        return 0
    items = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(item) for item in items), default=0)


# What each filter's arguments could build, checked before it runs (the context argument Jinja
# passes some filters is left out). The filters not named are bounded by their input.
_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "replace": _check_replace, "indent": _check_indent, "wordwrap": _check_wordwrap,
    "urlize": _check_urlize, "tojson": _check_tojson,
}
# The filters a template may use (Jinja's own, less pprint, a debugging aid whose nested
# indentation multiplies); a filter a later Jinja adds stays out until it is looked at here.
_FILTERS = frozenset({
    "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e",
    "escape", "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent",
    "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min", "random",
    "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "slice",
    "sort", "string", "striptags", "sum", "title", "tojson", "trim", "truncate", "unique", "upper",
    "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr",
})
# The functions a template may call: no `lipsum` (one call writes paragraphs of random words for
# seconds, between two reads of the clock), no `namespace` (with it a loop could double a text on
# every turn).
_GLOBALS = frozenset({"range", "dict", "cycler", "joiner"})
# The text methods a template may call: each returns at most its text's size or is checked
# before it runs (center/ljust/rjust/zfill by their width, the rest in MailSandbox.call).
# Left out: translate (a table can map each character to a long text), encode, maketrans.
_STR_METHODS = frozenset({
    "capitalize", "casefold", "center", "count", "endswith", "expandtabs", "find", "format",
    "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier",
    "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower",
    "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust",
    "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase",
    "title", "upper", "zfill",
    "striptags", "unescape",  # Markup's own (HTML parts)
})


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that counts as a step and keeps to the value limit (before and after)."""

    @functools.wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _budget().step()
        _check_numbers([*args, *kwargs.values()])
        context = [arg for arg in args[:1] if _is_context(arg)]
        plain = list(args[len(context):])
        if name == "join" and plain:
            separator = plain[1] if len(plain) > 1 else kwargs.get("d", "")
            plain[0] = _joined_items(plain[0], separator)
        if name == "format" and plain and isinstance(plain[0], str):
            if plain[1:] and kwargs:
                raise TypeError("the format filter takes positional or keyword arguments, not both")
            _check_percent(plain[0], kwargs or tuple(plain[1:]))
        if name in _FILTER_CHECKS and plain:
            _FILTER_CHECKS[name](*plain, **kwargs)
        return _check_size(function(*context, *plain, **kwargs))

    return bounded


def _is_context(value: Any) -> bool:
    from jinja2 import Environment
    from jinja2.nodes import EvalContext
    from jinja2.runtime import Context

    return isinstance(value, Context | EvalContext | Environment)


def _counted_loop(iterable: Any) -> Iterator[Any]:
    """A loop's iterable, each iteration counted as a step (nested loops multiply steps)."""
    budget = _budget()
    for item in iterable:
        budget.step()
        yield item


def _concatenated(eval_context: Any, parts: list[Any]) -> str:
    """`a ~ b ~ c`: refused before joining when the parts together would be over the limit."""
    from jinja2.runtime import markup_join, str_join

    _refuse_over(sum(_text_bound(part) for part in parts), "a concatenated text")
    return markup_join(parts) if eval_context.autoescape else str_join(parts)


def _emitted(value: Any) -> Any:
    """One piece of output, counted toward the output limit wherever it goes (a page, a macro's
    buffer, a `set` block), at the most its text could be (a list prints as its repr)."""
    _budget().emit(_text_bound(value))
    return value


@cache
def _environment(autoescape: bool) -> Any:
    # Jinja2 is imported here, not at module import: routes that render nothing stay cheap.
    from jinja2 import StrictUndefined, nodes, pass_eval_context
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from jinja2.visitor import NodeTransformer

    class _Bounded(NodeTransformer):
        """Routes every loop, concatenation and output piece through the budget's checks."""

        def visit_For(self, node: Any) -> Any:
            self.generic_visit(node)
            node.iter = nodes.Filter(node.iter, _LOOP_FILTER, [], [], None, None, lineno=node.iter.lineno)
            return node

        def visit_Concat(self, node: Any) -> Any:
            self.generic_visit(node)
            parts = nodes.List(node.nodes, lineno=node.lineno)
            return nodes.Filter(parts, _CONCAT_FILTER, [], [], None, None, lineno=node.lineno)

        def visit_Output(self, node: Any) -> Any:
            self.generic_visit(node)
            node.nodes = [nodes.Filter(child, _OUTPUT_FILTER, [], [], None, None, lineno=child.lineno)
                          for child in node.nodes]
            return node

    # Immutable: no list.append or dict.update, so no loop can grow a value turn by turn.
    class MailSandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "+", "%"})

        def _parse(self, source: str, name: str | None, filename: str | None) -> Any:
            return _Bounded().visit(super()._parse(source, name, filename))

        def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
            if isinstance(obj, str) and callable(value) and attr not in _STR_METHODS:
                return False
            return bool(super().is_safe_attribute(obj, attr, value))

        def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
            _budget().step()
            _check_binop(op, left, right)
            return _check_size(_BINOPS[op](left, right))

        def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
            wrapped = super().wrap_str_format(value)
            if wrapped is None:
                return None
            text, is_map = value.__self__, value.__name__ == "format_map"

            def checked(*args: Any, **kwargs: Any) -> str:
                if is_map and len(args) == 1 and isinstance(args[0], Mapping):
                    _check_str_format(text, (), args[0])
                elif not is_map:
                    _check_str_format(text, args, kwargs)
                return wrapped(*args, **kwargs)

            return functools.update_wrapper(checked, value)

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            _budget().step()
            _check_numbers([*args, *kwargs.values()])
            name, owner = getattr(__obj, "__name__", ""), getattr(__obj, "__self__", None)
            if isinstance(owner, str) and name == "join" and args:
                args = (_joined_items(args[0], owner), *args[1:])
            if isinstance(owner, str) and name == "replace" and len(args) >= 2:
                _check_replace(owner, *args[:3])
            if isinstance(owner, str) and name == "expandtabs":
                _check_expandtabs(owner, *args[:1], **kwargs)
            return _check_size(super().call(__context, __obj, *args, **kwargs))

    environment = MailSandbox(autoescape=autoescape, undefined=StrictUndefined, keep_trailing_newline=True)
    environment.filters = {name: _bounded_filter(name, function)
                           for name, function in environment.filters.items() if name in _FILTERS}
    environment.filters[_LOOP_FILTER] = _counted_loop
    environment.filters[_CONCAT_FILTER] = pass_eval_context(_concatenated)
    environment.filters[_OUTPUT_FILTER] = _emitted
    environment.globals = {name: value for name, value in environment.globals.items() if name in _GLOBALS}
    return environment


# Filter names the parse adds (a leading space: no template can name them itself).
_LOOP_FILTER = " loop"
_CONCAT_FILTER = " concat"
_OUTPUT_FILTER = " output"
_BINOPS: dict[str, Callable[[Any, Any], Any]] = {"*": operator.mul, "**": operator.pow, "+": operator.add,
                                                 "%": operator.mod}


@lru_cache(maxsize=256)
def compile_template(source: str, field: str) -> Any:
    """The compiled template for `field` (autoescaped when it is HTML), cached per source so a
    campaign's templates are compiled once per Lambda, not once per recipient."""
    return _environment(field in HTML_FIELDS).from_string(source)


def render_bounded(source: str, field: str, variables: Mapping[str, Any],
                   limits: TemplateLimits = LIMITS) -> str:
    """Render within `limits` (TemplateLimitExceeded naming the one it went over)."""
    budget = _Budget(limits)
    token = _BUDGET.set(budget)
    try:
        pieces = []
        for piece in compile_template(source, field).generate(variables):
            pieces.append(piece)
        budget.check_time()
        return "".join(pieces)
    finally:
        _BUDGET.reset(token)


def render(source: str, field: str, variables: Mapping[str, Any]) -> str:
    """Render a template that `validate_template` accepted (within the same limits)."""
    return render_bounded(source, field, variables)


def template_variables(contact: Contact, *, list_name: str, account_name: str, unsubscribe_url: str,
                       preferences_url: str, forward_url: str,
                       known_attributes: frozenset[str] | None = None) -> dict[str, Any]:
    """The variables a template sees for one recipient. Missing fields are "" (never "None").
    What people wrote about themselves loses any directional override it was saved with before
    saves refused them (header_text.BIDI_CONTROLS)."""
    return {
        "email": contact.email,
        "name": without_bidi_controls(contact.name or ""),
        "company": without_bidi_controls(contact.company or ""),
        "phone": contact.phone or "",
        "website": without_bidi_controls(contact.website or ""),
        "field_of_activity": without_bidi_controls(contact.field_of_activity or ""),
        "attributes": AttributeValues({name: without_bidi_controls(value)
                                       for name, value in contact.attributes.items()}, known_attributes),
        "list_name": list_name,
        "account_name": account_name,
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": preferences_url,
        "forward_url": forward_url,
    }


def _sample_variables(declared_attributes: Iterable[str] | None) -> dict[str, Any]:
    known = frozenset(declared_attributes) if declared_attributes is not None else None
    sample = replace(SAMPLE_CONTACT, attributes={name: f"sample {name}" for name in known or ()})
    base = "https://tidings.example"
    return template_variables(sample, list_name="Sample list", account_name="Sample account",
                              unsubscribe_url=f"{base}/u/sample", preferences_url=f"{base}/p/sample",
                              forward_url=f"{base}/fwd/sample", known_attributes=known)


def validate_template(source: str, field: str, declared_attributes: Iterable[str] | None = None) -> None:
    """Compile `source` and render it for a sample subscriber; InvalidInput(field=field) with
    Jinja's message and the template line when it fails or reaches outside the sandbox.

    With `declared_attributes`, `attributes.<name>` must be one of them.
    """
    from jinja2 import nodes
    from jinja2.exceptions import SecurityError, TemplateSyntaxError

    environment = _environment(field in HTML_FIELDS)
    try:
        tree = environment.parse(source)
        # Refused even on a branch the sample does not take: private names are never for templates.
        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
            if isinstance(name, str) and name.startswith("_"):
                raise InvalidInput(f"'{field}' uses '{shown_name(name)}' on line {node.lineno}: names "
                                   "starting with '_' are not allowed in templates", field=field)
    except TemplateSyntaxError as error:
        raise InvalidInput(f"'{field}' has a template error on line {error.lineno}: {error.message}",
                           field=field) from None
    except RecursionError:  # the parser and the tree's walk recurse once per level of nesting
        raise InvalidInput(f"'{field}' nests brackets, blocks or tags too deeply to be a template",
                           field=field) from None
    try:
        render_bounded(source, field, _sample_variables(declared_attributes))
    except TemplateLimitExceeded as error:
        raise TemplateLimitExceeded(f"'{field}' is over a template limit{_line(error.__traceback__)}: "
                                    f"{error.message}", field=field) from None
    except SecurityError as error:
        raise InvalidInput(f"'{field}' is not allowed{_line(error.__traceback__)}: {error}",
                           field=field) from None
    except Exception as error:  # anything the sample render raises would also fail mid-send
        raise InvalidInput(f"'{field}' cannot be rendered{_line(error.__traceback__)}: {error}",
                           field=field) from None


def _line(traceback: TracebackType | None) -> str:
    # Jinja rewrites tracebacks so template frames carry the template's own line numbers.
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return f" (line {line})" if line else ""
