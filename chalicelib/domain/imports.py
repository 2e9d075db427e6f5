"""CSV imports: reading the file, checking its columns, cutting it into queue-sized chunks,
and turning one row into contact data and (when the file proves it) consent evidence.

Rows with consent proof (`consent_given_at`) are imported as confirmed; rows without get a double
opt-in mail instead of campaign mail (P03).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.clock import now
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.subscriptions import (
    CONTACT_FIELDS,
    ConsentEvidence,
    Contact,
    Source,
    clean_contact,
    clean_ip,
    evidence,
    pick_consent_version,
)

PROOF_COLUMNS = ("consent_given_at", "consent_ip", "consent_user_agent", "consent_form_url",
                 "consent_text_version")
# SQS takes 256 KiB a message; leave room for the job's envelope and JSON escaping.
CHUNK_MAX_ROWS = 500
CHUNK_MAX_BYTES = 150_000
_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class ImportRow:
    """One data row: its line in the file (the header is line 1) and its non-empty values."""

    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class ParsedFile:
    columns: tuple[str, ...]
    rows: list[ImportRow]


def parse_csv(text: str, declared_attributes: Iterable[str]) -> ParsedFile:
    """Read the header and rows. Unknown or repeated columns, a missing `email` column or an
    empty file are InvalidInput naming the column; row contents are checked later, per row."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput("the file is empty; the first line must name the columns",
                           field="body") from None
    except csv.Error as exc:
        raise InvalidInput(f"line 1 is not valid CSV: {exc}", field="body") from None
    columns = tuple(name.strip().lower() for name in header)
    allowed = set(CONTACT_FIELDS) | set(declared_attributes) | set(PROOF_COLUMNS)
    for name in columns:
        if name not in allowed:
            raise InvalidInput(f"unknown column '{name}'; allowed: {', '.join(sorted(allowed))}",
                               field=name or "body")
    if len(set(columns)) != len(columns):
        raise InvalidInput("a column is named twice", field="body")
    if "email" not in columns:
        raise InvalidInput("the file needs an 'email' column", field="email")
    return ParsedFile(columns=columns, rows=list(_rows(reader, columns)))


def _rows(reader: Iterator[list[str]], columns: tuple[str, ...]) -> Iterator[ImportRow]:
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidInput(f"line {reader.line_num} is not valid CSV: {exc}", field="body") from None
        if not any(cell.strip() for cell in cells):
            continue
        values = {name: cell.strip() for name, cell in zip(columns, cells, strict=False) if cell.strip()}
        yield ImportRow(line=reader.line_num, values=values)


def chunks(rows: list[ImportRow]) -> list[list[ImportRow]]:
    """Cut rows into chunks a queue message can carry (by count and by size)."""
    result: list[list[ImportRow]] = []
    current: list[ImportRow] = []
    size = 0
    for row in rows:
        row_size = sum(len(k) + len(v) + 8 for k, v in row.values.items()) + 16
        if current and (len(current) >= CHUNK_MAX_ROWS or size + row_size > CHUNK_MAX_BYTES):
            result.append(current)
            current, size = [], 0
        current.append(row)
        size += row_size
    if current:
        result.append(current)
    return result


@dataclass(frozen=True)
class ImportedPerson:
    contact: Contact
    # None: the file holds no proof for this row, so it gets a double opt-in mail (P03).
    proof: ConsentEvidence | None


def clean_row(values: Mapping[str, str], declared_attributes: Iterable[str],
              consent_versions: Iterable[int], *, check_dns: bool = False) -> ImportedPerson:
    """Validate one row; InvalidInput names the column at fault."""
    contact_values = {k: v for k, v in values.items() if k not in PROOF_COLUMNS}
    contact = clean_contact(contact_values, declared_attributes, drop_unknown=True, check_dns=check_dns)
    given_at = values.get("consent_given_at")
    if not given_at:
        if any(values.get(name) for name in PROOF_COLUMNS):
            raise InvalidInput("consent proof needs 'consent_given_at'", field="consent_given_at")
        return ImportedPerson(contact, None)
    versions = list(consent_versions)
    claimed = values.get("consent_text_version")
    if claimed and (not claimed.isdigit() or int(claimed) not in versions):
        raise InvalidInput(f"this list has no consent text version {claimed}", field="consent_text_version")
    proof = evidence(_parse_time(given_at), Source.IMPORT, pick_consent_version(versions, claimed),
                     ip=clean_ip(values.get("consent_ip"), "consent_ip"),
                     user_agent=values.get("consent_user_agent"), form_url=values.get("consent_form_url"))
    return ImportedPerson(contact, proof)


def _parse_time(raw: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("'consent_given_at' must be an ISO 8601 time, e.g. 2025-01-31T09:30:00Z",
                           field="consent_given_at") from None
    if parsed.tzinfo is None:
        raise InvalidInput("'consent_given_at' needs a time zone, e.g. a trailing Z",
                           field="consent_given_at")
    if parsed > now() + _CLOCK_SKEW:
        raise InvalidInput("'consent_given_at' is in the future", field="consent_given_at")
    return parsed


