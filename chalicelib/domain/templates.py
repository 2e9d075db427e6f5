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

import operator
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import cache, lru_cache
from types import TracebackType
from typing import Any

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.subscriptions import Contact

# Template fields rendered as HTML (autoescaped); subject, text and sms_body are plain text.
HTML_FIELDS = frozenset({"html"})

# Guards against memory bombs such as {{ 'x' * 10**10 }} in a template anyone with a key can save.
_MAX_REPEAT = 10_000
_MAX_EXPONENT = 100

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


@cache
def _environment(autoescape: bool) -> Any:
    # Jinja2 is imported here, not at module import: routes that render nothing stay cheap.
    from jinja2 import StrictUndefined
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import SandboxedEnvironment

    class MailSandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
            if op == "**" and isinstance(right, int | float) and abs(right) > _MAX_EXPONENT:
                raise SecurityError(f"exponents above {_MAX_EXPONENT} are not allowed")
            if op == "*" and any(isinstance(side, str | list | tuple) for side in (left, right)):
                count = right if isinstance(right, int) else left
                if isinstance(count, int) and count > _MAX_REPEAT:
                    raise SecurityError(f"repeating text more than {_MAX_REPEAT} times is not allowed")
            return operator.pow(left, right) if op == "**" else operator.mul(left, right)

    return MailSandbox(autoescape=autoescape, undefined=StrictUndefined, keep_trailing_newline=True)


@lru_cache(maxsize=256)
def compile_template(source: str, field: str) -> Any:
    """The compiled template for `field` (autoescaped when it is HTML), cached per source so a
    campaign's templates are compiled once per Lambda, not once per recipient."""
    return _environment(field in HTML_FIELDS).from_string(source)


def render(source: str, field: str, variables: Mapping[str, Any]) -> str:
    """Render a template that `validate_template` accepted."""
    return compile_template(source, field).render(variables)


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
        compile_template(source, field).render(_sample_variables(declared_attributes))
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
