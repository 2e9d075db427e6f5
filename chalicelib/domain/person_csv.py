"""The CSV of a person's list memberships, for portability requests (P16).

One row per list; attributes become `attributes.<name>` columns. A cell a spreadsheet would run
as a formula gets a leading apostrophe (CSV injection), except plain numbers such as an E.164
phone, which must stay machine-readable.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

COLUMNS = (
    "list_id", "list_name", "status", "restricted", "email", "phone", "name", "company", "website",
    "field_of_activity", "consent_given_at", "consent_source", "consent_text_version", "consent_text",
    "confirmed_at", "created_at", "updated_at",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9][0-9 .]*$")


def memberships_csv(subscriptions: Iterable[Mapping[str, Any]]) -> str:
    """CSV text (header first) of the export's `subscriptions` section."""
    rows = [_row(entry) for entry in subscriptions]
    attribute_columns = sorted({name for row in rows for name in row if name.startswith("attributes.")})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, *attribute_columns], lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: _safe(value) for name, value in row.items()})
    return out.getvalue()


def _row(entry: Mapping[str, Any]) -> dict[str, Any]:
    consent = entry.get("consent") or {}
    row = {name: entry.get(name) for name in COLUMNS if name in entry}
    row.update(
        consent_given_at=consent.get("given_at"),
        consent_source=consent.get("source"),
        consent_text_version=consent.get("consent_text_version"),
        consent_text=consent.get("consent_text"),
        confirmed_at=consent.get("confirmed_at"),
    )
    for name, value in (entry.get("attributes") or {}).items():
        row[f"attributes.{name}"] = value
    return row


def _safe(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return f"'{text}"
    return text
