"""HTML pages and mail bodies, rendered with Jinja2 from the files in this folder.

Pages use a plain Environment; mail bodies use a SandboxedEnvironment, because accounts will
supply their own mail templates later and those must not reach Python internals. Both
autoescape HTML, so a list name or consent text can never inject markup. Jinja2 is imported
on first use: routes that render nothing do not pay for it at cold start.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

_FOLDER = str(Path(__file__).parent)


@cache
def _pages() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(loader=FileSystemLoader(_FOLDER), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@cache
def _mails() -> Any:
    from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(loader=FileSystemLoader(_FOLDER),
                                autoescape=select_autoescape(["html"], default_for_string=True),
                                undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_page(name: str, **context: Any) -> str:
    """An HTML page from `<name>.html`."""
    return _pages().get_template(f"{name}.html").render(**context)


def render_mail(name: str, **context: Any) -> tuple[str, str]:
    """(text, html) bodies from `<name>.txt` and `<name>.html`, in the sandbox."""
    environment = _mails()
    text = environment.get_template(f"{name}.txt").render(**context)
    html = environment.get_template(f"{name}.html").render(**context)
    return text, html
