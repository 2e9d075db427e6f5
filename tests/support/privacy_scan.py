"""Looking for a person's contact data in every form it can take: in every table, in log output,
in any text (P14, P15, P18, P31).

A scan that looks only for "ann@" misses the address in capitals, its local part, its hash and a
phone number written another way. `contact_forms` lists them all: the address as given, in lower
and upper case, its local part, URL-encoded and base64-encoded; the unkeyed SHA-256, SHA-1 and MD5
of each (a dictionary reverses those in seconds, so they count as the address itself; only a keyed
hash may be stored); the phone in E.164, without the plus, in its national forms and grouped; and
the local part and the name as whole words (so "Ann" is not found in "channel", nor "cat" in
"location").
"""
from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True)
class ContactForms:
    """Plain substrings to look for (case-insensitively) and whole words (names)."""

    substrings: tuple[str, ...]
    words: tuple[str, ...]

    def found_in(self, text: str) -> list[str]:
        lowered = text.lower()
        found = [form for form in self.substrings if form.lower() in lowered]
        found += [word for word in self.words
                  if re.search(rf"(?<!\w){re.escape(word.lower())}(?!\w)", lowered)]
        return found


def _digests(value: str) -> list[str]:
    data = value.encode("utf-8")
    return [hashlib.sha256(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.md5(data).hexdigest()]


def _encodings(value: str) -> list[str]:
    data = value.encode("utf-8")
    return [quote(value, safe=""), base64.b64encode(data).decode().rstrip("="),
            base64.urlsafe_b64encode(data).decode().rstrip("=")]


def contact_forms(emails: Iterable[str] = (), *, phones: Iterable[str] = (), names: Iterable[str] = (),
                  ips: Iterable[str] = ()) -> ContactForms:
    """Every form of these addresses, phone numbers (E.164), names and IP addresses, as a scan
    looks for them."""
    substrings: list[str] = [form for ip in ips for form in (ip, *_digests(ip))]
    local_parts: list[str] = []
    for address in emails:
        given = address.strip()
        normalised = given.lower()
        local = normalised.partition("@")[0]
        substrings += [given, normalised, given.upper(), *_encodings(normalised),
                       *_digests(normalised), *_digests(given)]
        local_parts.append(local)
    for phone in phones:
        digits = phone.lstrip("+")
        national = digits[2:]  # the tests' numbers are +40 (Romania): two country digits
        grouped = " ".join([national[:3], national[3:6], national[6:]])
        substrings += [phone, digits, national, "0" + national, grouped, *_digests(phone), *_digests(digits)]
    words = [*local_parts, *(part for name in names for part in [name, *name.split()] if len(part) >= 3)]
    return ContactForms(tuple(dict.fromkeys(substrings)), tuple(dict.fromkeys(words)))


def _as_text(value: Any) -> str:
    """A scanned item as text, compressed binary payloads opened."""
    if isinstance(value, dict):
        if set(value) == {"B"}:
            raw = value["B"]
            try:
                return zlib.decompress(raw).decode("utf-8")
            except zlib.error:
                return raw.decode("utf-8", errors="replace")
        return " ".join(f"{key} {_as_text(item)}" for key, item in value.items())
    if isinstance(value, list):
        return " ".join(_as_text(item) for item in value)
    return str(value)


def scan_every_table() -> dict[str, list[str]]:
    """Each table's items as text, by the table's logical name (a test may Scan; the app never does)."""
    from chalicelib.store.models import ALL_MODELS
    from tests.support.tables import scanned

    return {model.Meta.logical_name: [_as_text(item) for item in scanned(model)] for model in ALL_MODELS}


def found_in_tables(tables: dict[str, list[str]], forms: ContactForms) -> dict[str, list[str]]:
    """The forms found, by table; empty when no table holds any of them."""
    found: dict[str, list[str]] = {}
    for name, items in tables.items():
        hits = sorted({form for item in items for form in forms.found_in(item)})
        if hits:
            found[name] = hits
    return found


class CapturedLogs:
    """Every line the Powertools logger wrote, formatted as CloudWatch would receive it."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def capture_logs() -> Any:
    """A context manager giving a CapturedLogs of everything the app's logger writes meanwhile
    (its own handler is bound to the stdout of import time, which capsys cannot see)."""
    import contextlib
    import logging

    from chalicelib.observability import logger

    @contextlib.contextmanager
    def capturing() -> Any:
        captured = CapturedLogs()

        class Collect(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                captured.lines.append(self.format(record))

        handler = Collect(level=logging.DEBUG)
        handler.setFormatter(logger.registered_formatter)
        previous = logger._logger.level
        logger._logger.addHandler(handler)
        logger._logger.setLevel(logging.DEBUG)
        try:
            yield captured
        finally:
            logger._logger.removeHandler(handler)
            logger._logger.setLevel(previous)

    return capturing()
