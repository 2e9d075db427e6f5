"""HTML pages and mail bodies, rendered with Jinja2 from the files in this folder, in the
language of the list they belong to (P32).

Pages use a plain Environment; mail bodies use a SandboxedEnvironment, because accounts will
supply their own mail templates later and those must not reach Python internals. Both
autoescape HTML, so a list name or consent text can never inject markup. Jinja2 is imported
on first use: routes that render nothing do not pay for it at cold start.

Translations are gettext catalogs in chalicelib/locale (`make locale` extracts the strings with
Babel and compiles them; the compiled .mo files are committed, so the Lambda reads them with
the stdlib's gettext and ships no Babel). Each language gets its own environment, so a render in
one language never sees another's translations.
"""
from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path
from typing import Any

_FOLDER = str(Path(__file__).parent)
LOCALE_FOLDER = str(Path(__file__).parent.parent / "locale")
DOMAIN = "messages"
# The languages public pages and system mails are written in; the first is the source language.
LANGUAGES = ("en", "ro")
DEFAULT_LANGUAGE = LANGUAGES[0]


def pick_language(accept_language: str | None) -> str:
    """The language of a page that belongs to no list (P32): the first of LANGUAGES that an
    Accept-Language header (RFC 9110 12.5.4) prefers, by q-value then order; English otherwise."""
    ranked: list[tuple[float, int, str]] = []
    for order, part in enumerate((accept_language or "")[:500].split(",")[:20]):
        tag, _, parameters = part.strip().partition(";")
        quality = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                continue
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGUAGES and 0 < quality <= 1:
            ranked.append((-quality, order, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog of `language` (English, the source, for any other)."""
    if language not in LANGUAGES or language == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_FOLDER, languages=[language])


def N_(message: str) -> str:
    """Mark a message id for the catalogs where it is made; it is translated where shown."""
    return message


def gettext_for(language: str) -> Any:
    """`_` for Python code: the translation of a message id in `language`."""
    return translations(language).gettext


@cache
def _pages(language: str) -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    environment = Environment(loader=FileSystemLoader(_FOLDER), autoescape=True, undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
    environment.install_gettext_translations(translations(language), newstyle=True)
    return environment


@cache
def _mails(language: str) -> Any:
    from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
    from jinja2.sandbox import SandboxedEnvironment

    environment = SandboxedEnvironment(loader=FileSystemLoader(_FOLDER),
                                       autoescape=select_autoescape(["html"], default_for_string=True),
                                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                       extensions=["jinja2.ext.i18n"])
    environment.install_gettext_translations(translations(language), newstyle=True)
    return environment


def render_page(name: str, language: str = DEFAULT_LANGUAGE, **context: Any) -> str:
    """An HTML page from `<name>.html`, in `language`."""
    return _pages(language).get_template(f"{name}.html").render(language=language, **context)


def render_mail(name: str, language: str = DEFAULT_LANGUAGE, **context: Any) -> tuple[str, str]:
    """(text, html) bodies from `<name>.txt` and `<name>.html`, in the sandbox, in `language`."""
    environment = _mails(language)
    text = environment.get_template(f"{name}.txt").render(language=language, **context)
    html = environment.get_template(f"{name}.html").render(language=language, **context)
    return text, html
