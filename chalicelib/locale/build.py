"""Extract, translate and compile the catalogs (P32): `python -m chalicelib.locale.build`, run by
`make locale`. Babel is a development tool: the Lambda reads the compiled .mo with stdlib gettext.

`catalogs()` builds every catalog in memory from the code and the translations beside it;
tests/test_locale.py checks that the committed files are exactly those and that no message is
left untranslated.
"""
from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po

from chalicelib.locale.ro import RO

ROOT = Path(__file__).resolve().parent.parent.parent
LOCALE = Path(__file__).resolve().parent
TRANSLATIONS = {"ro": RO}
_METHODS = [("chalicelib/**.py", "python"), ("chalicelib/templates/**.html", "jinja2"),
            ("chalicelib/templates/**.txt", "jinja2")]
_OPTIONS = {"chalicelib/templates/**.html": {"extensions": "jinja2.ext.i18n"},
            "chalicelib/templates/**.txt": {"extensions": "jinja2.ext.i18n"}}
_KEYWORDS = {"_": None, "gettext": None, "N_": None}
_FIXED = datetime(2026, 1, 1, tzinfo=UTC)


def message_ids() -> list[str]:
    """Every translatable string in the code and the templates, sorted."""
    found = extract_from_dir(str(ROOT), method_map=_METHODS, options_map=_OPTIONS, keywords=_KEYWORDS,
                             comment_tags=())
    return sorted({message for _, _, message, _, _ in found if isinstance(message, str) and message})


def catalogs() -> dict[str, tuple[bytes, bytes]]:
    """{language: (.po bytes, .mo bytes)}: what `make locale` writes."""
    ids = message_ids()
    built: dict[str, tuple[bytes, bytes]] = {}
    for language, translated in TRANSLATIONS.items():
        # Fixed dates: the same code and translations always compile to the same bytes.
        catalog = Catalog(locale=language, project="Tidings", fuzzy=False, creation_date=_FIXED,
                          revision_date=_FIXED)
        for message in ids:
            catalog.add(message, translated.get(message, ""))
        po, mo = io.BytesIO(), io.BytesIO()
        write_po(po, catalog, omit_header=True, no_location=True, sort_output=True, width=100)
        write_mo(mo, catalog)
        built[language] = (po.getvalue(), mo.getvalue())
    return built


def main() -> int:
    missing = {language: [m for m in message_ids() if not TRANSLATIONS[language].get(m)]
               for language in TRANSLATIONS}
    for language, (po, mo) in catalogs().items():
        folder = LOCALE / language / "LC_MESSAGES"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "messages.po").write_bytes(po)
        (folder / "messages.mo").write_bytes(mo)
    untranslated = {language: ids for language, ids in missing.items() if ids}
    if untranslated:
        print(f"untranslated: {untranslated}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
