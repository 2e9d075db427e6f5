"""CSV imports: reading the file, checking its columns, cutting it into queue-sized chunks,
and turning one row into contact data and (when the file proves it) consent evidence.

Rows with consent proof are imported as confirmed; rows without get a double opt-in mail instead
of campaign mail (P03). On a double opt-in list the proof must be complete (P01, P02): when
(`consent_given_at`), where (`consent_source`), which text (`consent_text_version`) and the
original IP or form URL (`consent_ip`, `consent_form_url`); a row with less is recorded with what it
has and gets the confirmation mail. `tracking_consent_given_at` (and `tracking_consent_text_version`)
carry the separate tracking consent (P30). Without a version, a proof records the text in force at
its given_at; a version written after given_at is refused (P02).
"""
from __future__ import annotations

import csv
import io
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.errors import InvalidInput, PayloadTooLarge, shown_name
from chalicelib.domain.header_text import check_header_text
from chalicelib.domain.lists import ConsentText
from chalicelib.domain.queue_size import QUEUE_MESSAGE_MAX_BYTES, json_bytes
from chalicelib.domain.subscriptions import (
    CONTACT_FIELDS,
    ConsentEvidence,
    Contact,
    Source,
    clean_contact,
    clean_ip,
    clean_proof_url,
    evidence,
    named_version,
    supplied_consent_time,
    supplied_text,
    version_in_force,
)

PROOF_COLUMNS = ("consent_given_at", "consent_ip", "consent_user_agent", "consent_form_url",
                 "consent_text_version", "consent_source")
TRACKING_COLUMNS = ("tracking_consent_given_at", "tracking_consent_text_version")
_MAX_SOURCE = 200
# A chunk is one queue message: its rows, as queued JSON, leave room for the job's envelope (its
# type and ids, some 200 bytes) under the queue's limit.
CHUNK_MAX_ROWS = 500
CHUNK_ENVELOPE_BYTES = 4096
CHUNK_MAX_BYTES = QUEUE_MESSAGE_MAX_BYTES - CHUNK_ENVELOPE_BYTES
# The rows of one file, read and queued in one request: 5 MB of short rows (~400,000) took some
# 260 MB, more than the API's Lambda has; 100,000 take under 50 MB.
MAX_ROWS = 100_000
# The values (filled cells) of one file: 100,000 rows of a dozen two-letter values took some 140
# MiB to read and chunk (some 120 bytes a value), over half the API's Lambda; 800,000 take 100.
MAX_VALUES = 800_000
# Cells a line may have: a spreadsheet's widest sheet (Excel's column XFD), empty ones after the
# last named column included. A header of 5 MB of commas took some 300 MB to read.
MAX_CELLS = 16_384
# The distinct domains beyond ASCII whose spelling one file's reading asks of the validator (IDNA,
# some 250 µs each on a fast core): a file of a new domain a row stays within the API's 29 s.
EXACT_DOMAINS = 2_000


@dataclass(frozen=True)
class ImportRow:
    """One data row: its line in the file (the header is line 1) and its non-empty values, or,
    for a row repeating an earlier row's address, no values and the line it repeats."""

    line: int
    values: dict[str, str]
    repeats: int | None = None

    def queued(self) -> list[Any]:
        """The row as a chunk's queue message carries it: `[line, values]`, or
        `[line, {}, repeated line]`."""
        return [self.line, self.values] if self.repeats is None else [self.line, {}, self.repeats]

    @classmethod
    def from_queued(cls, item: Sequence[Any]) -> ImportRow:
        line, values, *repeats = item
        return cls(line=int(line), values=dict(values), repeats=int(repeats[0]) if repeats else None)


def repeat_message(first_line: int) -> str:
    """Why a row repeating an address is not imported (the first row of an address wins)."""
    return f"'email' repeats line {first_line}; only the first row of an address is imported"


@dataclass(frozen=True)
class ParsedFile:
    columns: tuple[str, ...]
    rows: list[ImportRow]


def parse_csv(text: str, declared_attributes: Iterable[str]) -> ParsedFile:
    """Read the header and rows. Unknown or repeated columns, a missing `email` column, an
    empty file, a row with more values than columns, a value running over lines or a character
    that was not UTF-8 (U+FFFD) are InvalidInput naming the column or line, more than MAX_ROWS
    rows PayloadTooLarge; row contents are checked later, per row. A header cell left empty
    (spreadsheets end the header with a comma as they end rows) is ignored while its cells are
    empty; a value under it is InvalidInput naming its position and line. A row whose address an
    earlier row has already (whatever the case) comes without its values and with the line it
    repeats: the first row of an address is imported, even when it turns out invalid, and each
    later one is reported."""
    # newline="": the csv module reads CR-only (old Mac Excel), LF and CRLF line ends alike.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput("the file is empty; the first line must name the columns",
                           field="body") from None
    except csv.Error as exc:
        raise InvalidInput(f"line 1 is not valid CSV: {exc}", field="body") from None
    _check_width(header, 1)
    columns = tuple(name.strip().lower() for name in header)
    allowed = set(CONTACT_FIELDS) | set(declared_attributes) | set(PROOF_COLUMNS) | set(TRACKING_COLUMNS)
    for name in columns:
        if name and name not in allowed:
            shown = shown_name(name)  # a header cell may be 128 K characters
            raise InvalidInput(f"unknown column '{shown}'; allowed: {', '.join(sorted(allowed))}",
                               field=shown or "body")
    seen: set[str] = set()
    for name in filter(None, columns):
        if name in seen:  # an allowed name, so short and printable
            raise InvalidInput(f"the column '{name}' is named twice (names are read without case or "
                               f"surrounding spaces)", field=name)
        seen.add(name)
    if "email" not in columns:
        raise InvalidInput("the file needs an 'email' column", field="email")
    return ParsedFile(columns=columns, rows=_mark_repeats(_rows(reader, columns)))


def _mark_repeats(rows: Iterable[ImportRow]) -> list[ImportRow]:
    # Found here, not by the worker: the rows of one file are applied in chunks, each by its own
    # invocation, which sees no other chunk.
    first: dict[str, int] = {}
    domains: dict[str, str] = {}
    marked: list[ImportRow] = []
    for row in rows:
        key = _address_key(row.values.get("email", ""), domains)
        if key in first:
            marked.append(ImportRow(line=row.line, values={}, repeats=first[key]))
            continue
        if key:
            first[key] = row.line
        marked.append(row)
    return marked


def _address_key(raw: str, domains: dict[str, str]) -> str:
    """The address as `normalise_email` gives it, for telling repeats apart, or "" when it has
    none (the worker reports that row). Validating 100,000 addresses would take seconds of the API
    Lambda's 29 (some 25 µs each on a fast core, 250 µs with an IDN domain): plain ASCII is only
    lower-cased, and otherwise the part before the @ is NFC-normalised and lower-cased, as the
    validator does, and the domain spelt by it once per domain (`domains` keeps them), for the
    file's first EXACT_DOMAINS domains."""
    text = raw.strip()
    if text.isascii() and '"' not in text and "xn--" not in text.lower():
        return text.lower()
    local, _, domain = text.rpartition("@")
    if not local or '"' in local:  # no @, or a quoted local part (rare): the validator's own reading
        return _normalised(text)
    if domain not in domains and len(domains) < EXACT_DOMAINS:
        domains[domain] = _normalised(f"x@{domain}").rpartition("@")[2]
    # Past the bound, only case and composition tell no one apart; the worker still finds a
    # repeat spelt otherwise within a chunk, and one in a later chunk counts as unchanged.
    spelt = domains.get(domain, unicodedata.normalize("NFC", domain).lower())
    return f"{unicodedata.normalize('NFC', local).lower()}@{spelt}" if spelt else ""


def _normalised(text: str) -> str:
    try:
        return normalise_email(text)
    except InvalidInput:
        return ""


def _rows(reader: Iterator[list[str]], columns: tuple[str, ...]) -> Iterator[ImportRow]:
    count = filled = 0
    unnamed = [index for index, name in enumerate(columns) if not name]
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidInput(f"line {reader.line_num} is not valid CSV: {exc}", field="body") from None
        _check_width(cells, reader.line_num)
        if not any(cell.strip() for cell in cells):
            continue
        if any("\n" in cell.strip() or "\r" in cell.strip() for cell in cells):
            # No column may hold a line break, and a quote left open runs its cell on over the
            # rows after it: importing the rest would drop those rows unreported.
            raise InvalidInput(f"line {start} has a value that runs on over the next line (a double "
                               f"quote left open?); no column may hold a line break", field="body")
        if any("\ufffd" in cell for cell in cells):
            # API Gateway hands a text/csv body on as UTF-8 text, each byte that was not UTF-8 (a
            # Windows code page's ș or é) replaced by U+FFFD: stored, it is a name nobody typed.
            raise InvalidInput(f"line {reader.line_num} holds U+FFFD, the mark of a character that was not "
                               f"UTF-8: the file is not UTF-8 text; save it as 'CSV UTF-8'", field="body")
        if any(cell.strip() for cell in cells[len(columns):]):
            # An unquoted comma shifts every cell after it: importing the row would store a cut
            # or misplaced consent proof (P02). Trailing empty cells (spreadsheets add them) pass.
            raise InvalidInput(f"line {reader.line_num} has {len(cells)} values but the header names "
                               f"{len(columns)} columns; a value holding a comma must be in double quotes",
                               field="body")
        # Only the unnamed cells this row has: a header of a million commas is walked once, not once a row.
        stray = next((index + 1 for index in unnamed[:bisect_left(unnamed, len(cells))]
                      if cells[index].strip()), None)
        if stray is not None:
            raise InvalidInput(f"line {reader.line_num} has a value in column {stray}, which the header "
                               f"leaves unnamed; name the column or empty it", field="body")
        count += 1
        if count > MAX_ROWS:
            raise PayloadTooLarge(f"the file has more than {MAX_ROWS} rows; import it in parts",
                                  field="body")
        values = {name: cell.strip() for name, cell in zip(columns, cells, strict=False)
                  if name and cell.strip()}
        filled += len(values)
        if filled > MAX_VALUES:
            raise PayloadTooLarge(f"the file has more than {MAX_VALUES} values (filled cells); import it "
                                  f"in parts", field="body")
        yield ImportRow(line=reader.line_num, values=values)


def _check_width(cells: list[str], line: int) -> None:
    if len(cells) > MAX_CELLS:
        raise InvalidInput(f"line {line} has {len(cells)} cells, more than a spreadsheet's {MAX_CELLS}; "
                           f"delete the empty columns after the last one in use", field="body")


def chunks(rows: list[ImportRow]) -> list[list[ImportRow]]:
    """Cut rows into chunks a queue message can carry: at most CHUNK_MAX_ROWS rows and
    CHUNK_MAX_BYTES of rows as queued (`[line, values]` in JSON, UTF-8). A row too big for a
    chunk of its own is PayloadTooLarge naming its line and largest column."""
    result: list[list[ImportRow]] = []
    current: list[ImportRow] = []
    size = 0
    for row in rows:
        row_size = json_bytes(row.queued()) + 2  # and the ", " between rows
        if row_size > CHUNK_MAX_BYTES:
            column = max(row.values, key=lambda name: json_bytes(row.values[name]))
            raise PayloadTooLarge(f"line {row.line} takes {row_size} bytes queued, more than an import "
                                  f"row may ({CHUNK_MAX_BYTES}); its column '{column}' is the largest",
                                  field=column)
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
    # The proof names when, where, which text and the original IP or form URL (P01, P02): only
    # such a row is confirmed at once on a double opt-in list.
    complete: bool = False
    # P30: the separate tracking consent, when the file proves it.
    tracking: ConsentEvidence | None = None

    def confirmed_at_once(self, double_opt_in: bool) -> bool:
        """Whether the row is imported confirmed (P01, P03) rather than sent a confirmation mail."""
        return self.proof is not None and (self.complete or not double_opt_in)


def clean_row(values: Mapping[str, str], declared_attributes: Iterable[str],
              consent_versions: Iterable[ConsentText], *, check_dns: bool = False,
              tracking_versions: Iterable[ConsentText] = ()) -> ImportedPerson:
    """Validate one row; InvalidInput names the column at fault. Its proof records the text in
    force at `consent_given_at` (P02); a row whose consent predates every version of the list's
    text proves none, and gets the confirmation mail like a row without proof (P03)."""
    proof_columns = set(PROOF_COLUMNS) | set(TRACKING_COLUMNS)
    for name in PROOF_COLUMNS + TRACKING_COLUMNS:
        # Stored as the proof and shown in exports: one line, like the contact fields.
        check_header_text(values.get(name), name)
    contact_values = {k: v for k, v in values.items() if k not in proof_columns}
    contact = clean_contact(contact_values, declared_attributes, drop_unknown=True, check_dns=check_dns)
    tracking = _tracking(values, list(tracking_versions))
    given_at = values.get("consent_given_at")
    if not given_at:
        if any(values.get(name) for name in PROOF_COLUMNS):
            raise InvalidInput("consent proof needs 'consent_given_at'", field="consent_given_at")
        return ImportedPerson(contact, None, tracking=tracking)
    history = list(consent_versions)
    if not history:
        raise InvalidInput("this list has no consent text", field="consent_text")
    claimed = values.get("consent_text_version")
    named = named_version([text.version for text in history], claimed)
    if claimed and named is None:
        raise InvalidInput("'consent_text_version' names none of this list's consent text versions",
                           field="consent_text_version")
    source = values.get("consent_source")
    if source and len(source) > _MAX_SOURCE:
        raise InvalidInput(f"'consent_source' is longer than {_MAX_SOURCE} characters",
                           field="consent_source")
    agreed_at = supplied_consent_time(given_at, "consent_given_at")
    version = version_in_force(history, agreed_at, named, "consent_text_version")
    if version is None:
        return ImportedPerson(contact, None, tracking=tracking)
    proof = evidence(agreed_at, Source.IMPORT, version,
                     ip=clean_ip(values.get("consent_ip"), "consent_ip"),
                     user_agent=supplied_text(values.get("consent_user_agent"), "consent_user_agent"),
                     form_url=clean_proof_url(values.get("consent_form_url"), "consent_form_url"),
                     original_source=source)
    complete = bool(source and claimed and (proof.ip or proof.form_url))
    return ImportedPerson(contact, proof, complete, tracking)


def _tracking(values: Mapping[str, str], history: list[ConsentText]) -> ConsentEvidence | None:
    given_at = values.get("tracking_consent_given_at")
    claimed = values.get("tracking_consent_text_version")
    if not given_at:
        if claimed:
            raise InvalidInput("tracking consent needs 'tracking_consent_given_at'",
                               field="tracking_consent_given_at")
        return None
    if not history:
        raise InvalidInput("this list asks no tracking consent", field="tracking_consent_given_at")
    named = named_version([text.version for text in history], claimed)
    if claimed and named is None:
        raise InvalidInput("'tracking_consent_text_version' names none of this list's tracking consent "
                           "text versions",
                           field="tracking_consent_text_version")
    agreed_at = supplied_consent_time(given_at, "tracking_consent_given_at")
    version = version_in_force(history, agreed_at, named, "tracking_consent_text_version")
    if version is None:
        # Tracking consent has no confirmation mail to fall back on (P30): refuse the row.
        raise InvalidInput("'tracking_consent_given_at' is before this list's first tracking consent "
                           "text", field="tracking_consent_given_at")
    return evidence(agreed_at, Source.IMPORT, version, ip=None, user_agent=None, form_url=None)
