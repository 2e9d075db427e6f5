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

from chalicelib.domain.errors import InvalidInput
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

            raise UndefinedError(f"'{name}' is not an attribute of the campaign's lists")
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
        if self.steps % 64 == 0:
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
    if isinstance(value, _SIZED) and len(value) > LIMITS.value_chars:
        raise _too_long("a value")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > LIMITS.int_bits:
        raise TemplateLimitExceeded(f"a number would have more than {LIMITS.int_bits} bits "
                                    "(limit 'int_bits')")
    return value


_SIZED = (str, bytes, list, tuple, dict, set, frozenset)
_SEQUENCES = (str, list, tuple)


def _too_many_bits() -> TemplateLimitExceeded:
    return TemplateLimitExceeded(f"a number would have more than {LIMITS.int_bits} bits (limit 'int_bits')")


def _check_binop(op: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be over a limit, before it is computed."""
    both_ints = isinstance(left, int) and isinstance(right, int)
    if op == "**" and both_ints and right > 0 and left.bit_length() * right > LIMITS.int_bits:
        raise _too_many_bits()
    if op == "*" and both_ints and left.bit_length() + right.bit_length() > LIMITS.int_bits:
        raise _too_many_bits()
    if op == "*" and not both_ints:
        count, sequence = (right, left) if isinstance(left, _SEQUENCES) else (left, right)
        repeated = isinstance(sequence, _SEQUENCES) and isinstance(count, int)
        if repeated and len(sequence) * count > LIMITS.value_chars:
            raise _too_long("a repeated text")
    if (op == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES)
            and len(left) + len(right) > LIMITS.value_chars):
        raise _too_long("a concatenated text")
    if op == "%":
        _check_format(left)


def _check_numbers(args: Iterable[Any]) -> None:
    """Refuse a width, count or size argument over the value limit before it allocates anything."""
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > LIMITS.value_chars:
            raise _too_long(f"an argument of {arg}")


# `%5000000s`, `{:>5000000}`: a width or precision inside a format string.
_FORMAT_NUMBER = re.compile(r"\d{6,}")


def _check_format(text: Any) -> None:
    if isinstance(text, str) and any(int(number) > LIMITS.value_chars
                                     for number in _FORMAT_NUMBER.findall(text)):
        raise _too_long("a formatted value")


def _check_join(items: Any, separator: str = "") -> None:
    if isinstance(items, list | tuple):
        total = sum(len(item) if isinstance(item, str) else 0 for item in items)
        if total + len(separator) * len(items) > LIMITS.value_chars:
            raise _too_long("a joined text")


def _check_replace(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        hits = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        if len(text) + hits * max(0, len(new) - len(old)) > LIMITS.value_chars:
            raise _too_long("a replaced text")


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that counts as a step and keeps to the value limit (before and after)."""

    @functools.wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _budget().step()
        _check_numbers([*args, *kwargs.values()])
        plain = [arg for arg in args if not _is_context(arg)]
        if name == "join" and plain:
            _check_join(plain[0], str(plain[1]) if len(plain) > 1 else str(kwargs.get("d", "")))
        if name == "replace" and len(plain) >= 3:
            _check_replace(*plain[:4])
        if name == "format" and plain:
            _check_format(plain[0])
        return _check_size(function(*args, **kwargs))

    return bounded


def _is_context(value: Any) -> bool:
    from jinja2.nodes import EvalContext
    from jinja2.runtime import Context

    return isinstance(value, Context | EvalContext)


def _counted_loop(iterable: Any) -> Iterator[Any]:
    """A loop's iterable, each iteration counted as a step (nested loops multiply steps)."""
    budget = _budget()
    for item in iterable:
        budget.step()
        yield item


def _emitted(value: Any) -> Any:
    """One piece of output, counted toward the output limit wherever it goes (a page, a macro's
    buffer, a `set` block)."""
    _budget().emit(len(value) if isinstance(value, str) else 1)
    return value


@cache
def _environment(autoescape: bool) -> Any:
    # Jinja2 is imported here, not at module import: routes that render nothing stay cheap.
    from jinja2 import StrictUndefined, nodes
    from jinja2.sandbox import SandboxedEnvironment
    from jinja2.visitor import NodeTransformer

    class _Bounded(NodeTransformer):
        """Routes every loop, concatenation and output piece through the budget's checks."""

        def visit_For(self, node: Any) -> Any:
            self.generic_visit(node)
            node.iter = nodes.Filter(node.iter, _LOOP_FILTER, [], [], None, None, lineno=node.iter.lineno)
            return node

        def visit_Concat(self, node: Any) -> Any:
            self.generic_visit(node)
            return nodes.Filter(node, _VALUE_FILTER, [], [], None, None, lineno=node.lineno)

        def visit_Output(self, node: Any) -> Any:
            self.generic_visit(node)
            node.nodes = [nodes.Filter(child, _OUTPUT_FILTER, [], [], None, None, lineno=child.lineno)
                          for child in node.nodes]
            return node

    class MailSandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "+", "%"})

        def _parse(self, source: str, name: str | None, filename: str | None) -> Any:
            return _Bounded().visit(super()._parse(source, name, filename))

        def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
            _budget().step()
            _check_binop(op, left, right)
            return _check_size(_BINOPS[op](left, right))

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            _budget().step()
            _check_numbers([*args, *kwargs.values()])
            name = getattr(__obj, "__name__", "")
            if name == "join" and args:
                _check_join(args[0], getattr(__obj, "__self__", "") or "")
            if name == "replace" and isinstance(getattr(__obj, "__self__", None), str) and len(args) >= 2:
                _check_replace(__obj.__self__, *args[:3])
            if name in ("format", "format_map"):
                # The sandbox wraps str.format; the bound method (and its text) is __wrapped__.
                bound = getattr(__obj, "__wrapped__", __obj)
                _check_format(getattr(bound, "__self__", None))
            return _check_size(super().call(__context, __obj, *args, **kwargs))

    environment = MailSandbox(autoescape=autoescape, undefined=StrictUndefined, keep_trailing_newline=True)
    environment.filters = {name: _bounded_filter(name, function)
                           for name, function in environment.filters.items()}
    environment.filters[_LOOP_FILTER] = _counted_loop
    environment.filters[_VALUE_FILTER] = _check_size
    environment.filters[_OUTPUT_FILTER] = _emitted
    # No loop-carried state: with namespace() a loop could double a text on every turn.
    environment.globals.pop("namespace", None)
    return environment


# Filter names the parse adds (a leading space: no template can name them itself).
_LOOP_FILTER = " loop"
_VALUE_FILTER = " value"
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
    """The variables a template sees for one recipient. Missing fields are "" (never "None")."""
    return {
        "email": contact.email,
        "name": contact.name or "",
        "company": contact.company or "",
        "phone": contact.phone or "",
        "website": contact.website or "",
        "field_of_activity": contact.field_of_activity or "",
        "attributes": AttributeValues(contact.attributes, known_attributes),
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
    except TemplateSyntaxError as error:
        raise InvalidInput(f"'{field}' has a template error on line {error.lineno}: {error.message}",
                           field=field) from None
    # Refused even on a branch the sample does not take: private names are never for templates.
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            raise InvalidInput(f"'{field}' uses '{name}' on line {node.lineno}: names starting with "
                               "'_' are not allowed in templates", field=field)
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
