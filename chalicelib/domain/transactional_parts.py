"""The parts of a transactional mail (P11). Apart from the rules of whom it may reach
(transactional.py), which every sender checks: only queueing one renders its parts.

The subject, HTML and text are sent as written, or, when the request gives `variables`, rendered
as templates in the same sandbox as campaigns (HTML autoescaped) with those variables only.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.header_text import MAX_SUBJECT, check_no_encoded_word, one_line
from chalicelib.domain.html_text import html_to_text
from chalicelib.domain.templates import TemplateLimitExceeded, render_bounded

# Names Jinja gives a meaning of its own (constants, the template, a loop's or a macro's state):
# they win over a variable of the same name, which would be dropped without a word.
_TEMPLATE_NAMES = frozenset({"true", "false", "none", "True", "False", "None", "self", "loop", "caller",
                             "varargs", "kwargs"})


def render_parts(subject: str, html: str | None, text: str | None,
                 variables: Mapping[str, Any] | None) -> tuple[str, str | None, str]:
    """(subject, html, text): rendered when `variables` is given; the text part is derived from
    the HTML when missing. InvalidInput names the part that failed, or a variable no template
    could see."""
    if variables is not None:
        taken = next((name for name in variables if name in _TEMPLATE_NAMES), None)
        if taken is not None:
            raise InvalidInput(f"'variables.{taken}' is a name templates use for themselves: rename the "
                               "variable", field=f"variables.{taken}")
        subject = _render(subject, "subject", variables)
        html = _render(html, "html", variables) if html is not None else None
        text = _render(text, "text", variables) if text is not None else None
    if not (html or text):
        raise InvalidInput("give 'html' or 'text'", field="html")
    subject = one_line(subject)
    if not subject:
        raise InvalidInput("'subject' is empty", field="subject")
    if len(subject) > MAX_SUBJECT:
        raise InvalidInput(f"'subject' renders to {len(subject)} characters; a subject is one header line "
                           f"of at most {MAX_SUBJECT}", field="subject")
    check_no_encoded_word(subject, "subject")  # as written, or brought in by a variable
    return subject, html, text if text else html_to_text(html or "")


def _render(source: str, field: str, variables: Mapping[str, Any]) -> str:
    try:
        return render_bounded(source, field, dict(variables))
    except TemplateLimitExceeded as error:
        raise TemplateLimitExceeded(f"'{field}' is over a template limit: {error.message}",
                                    field=field) from None
    except Exception as error:  # a syntax error, an unknown variable, the sandbox refusing a '_' name
        raise InvalidInput(f"'{field}' cannot be rendered: {error}", field=field) from None
