"""Every way a string in a link or header could hide contact data, opened: what an attacker with
the URL (a mail gateway's log, a proxy, a browser history) would try (P31)."""
from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from urllib.parse import unquote, unquote_plus

_RUNS = re.compile(r"[A-Za-z0-9+/_\-=]{8,}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){4,}")
_DEPTH = 4


def _inflate(raw: bytes) -> list[bytes]:
    """zlib, raw deflate and gzip, from each of the first few offsets."""
    found = []
    for offset in range(3):
        for wbits in (15, -15, 31):
            try:
                found.append(zlib.decompressobj(wbits).decompress(raw[offset:], 1_000_000))
            except zlib.error:
                continue
    return [item for item in found if item]


def _base64(text: str) -> list[bytes]:
    """Standard and URL-safe base64 of every run, at every alignment."""
    found = []
    for run in _RUNS.findall(text):
        bare = run.rstrip("=")
        for offset in range(4):
            piece = bare[offset:]
            for decode in (base64.urlsafe_b64decode, base64.b64decode):
                try:
                    found.append(decode(piece + "=" * (-len(piece) % 4)))
                except (binascii.Error, ValueError):
                    continue
    return found


def _hex(text: str) -> list[bytes]:
    return [bytes.fromhex(run[offset:len(run) - (len(run) - offset) % 2])
            for run in _HEX.findall(text) for offset in range(2)]


def _json_strings(text: str) -> list[str]:
    try:
        document = json.loads(text)
    except ValueError:
        return []
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                found.append(str(key))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        else:
            found.append(str(value))

    walk(document)
    return found


def every_decoding(text: str) -> set[str]:
    """`text` and everything it decodes to, recursively: percent-encoding, base64 (standard and
    URL-safe), hex, zlib/deflate/gzip and JSON, in any order, a few layers deep."""
    seen: set[str] = set()
    frontier = [text]
    for _ in range(_DEPTH):
        next_frontier: list[str] = []
        for item in frontier:
            if item in seen or len(item) > 200_000:
                continue
            seen.add(item)
            candidates: list[str] = [unquote(item), unquote_plus(item), *_json_strings(item)]
            for raw in [*_base64(item), *_hex(item)]:
                for blob in (raw, *_inflate(raw)):
                    candidates.append(blob.decode("utf-8", errors="ignore"))
                    candidates.append(blob.decode("latin-1"))
            next_frontier.extend(candidate for candidate in candidates if candidate not in seen)
        frontier = next_frontier
    seen.update(frontier)
    return seen


def leaks(text: str, needles: tuple[str, ...]) -> list[str]:
    """Those needles (compared case-insensitively) found in any decoding of `text`."""
    decoded = [item.lower() for item in every_decoding(text)]
    return [needle for needle in needles if any(needle.lower() in item for item in decoded)]
