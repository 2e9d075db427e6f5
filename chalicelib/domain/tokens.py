"""Encrypted, expiring tokens for public links: confirm, unsubscribe, preferences, tracking, ...

A link travels through mail-gateway scanners, proxies, access logs, browser histories and
Referer headers, so its token must carry nothing personal in any reversible form (P31). A token
is authenticated encryption (AES-256-GCM) of a timestamp and the JSON payload:

    base64url( version 0x02 | nonce (12 bytes) | ciphertext of (signed-at, 4 bytes) + payload | tag (16) )

33 bytes of overhead, so ~44 characters more than the payload's own JSON: the token is in
every link of every mail, which rules out Fernet (its 16-byte IV, 32-byte HMAC and block padding
add about twice as much). The key of each purpose is derived with HKDF from each signing
secret (newest first): a token is made with the newest and read with any (key rotation), and a
token of one purpose can never be read as another (the purpose is both in the key and the
associated data).

Links sent before tokens were encrypted are itsdangerous signatures (`payload.timestamp.sig`,
always with a dot; an encrypted token has none): they are still read, with the same secrets and
expiry, until the last of them expires. Nothing makes them any more.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from chalicelib.domain.clock import now
from chalicelib.domain.errors import InvalidInput
from chalicelib.templates import N_

CONFIRM = "confirm"
# P01: a confirmation link lives as long as the pending signup it confirms.
DEFAULT_MAX_AGE_SECONDS = 7 * 24 * 3600

_VERSION = b"\x02"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_TIME_BYTES = 4
_MIN_BYTES = len(_VERSION) + _NONCE_BYTES + _TIME_BYTES + _TAG_BYTES
# A public link's token is at most a few hundred characters; anything far longer is not ours.
_MAX_TOKEN_CHARACTERS = 8000


class TokenExpired(InvalidInput):
    """The token is genuine but too old."""

    code = "token_expired"


class TokenInvalid(InvalidInput):
    """The token was altered, truncated, made with an unknown secret, or is for another purpose."""

    code = "token_invalid"


def _invalid() -> TokenInvalid:
    return TokenInvalid(N_("this link is not valid; it may have been cut or altered"), field="token")


@cache
def _key(secret: str, purpose: str) -> Any:
    """The AES-GCM cipher of one purpose under one secret (HKDF-SHA256). Imported on first use:
    functions that make or read no token do not pay for `cryptography` at cold start."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"tidings-link-token-v2",
                   info=purpose.encode("utf-8")).derive(secret.encode("utf-8"))
    return AESGCM(derived)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(token: str) -> bytes:
    """The bytes of a token in its one spelling. The decoder alone drops characters outside the
    alphabet and ignores the unused low bits of the last character, so several strings would
    open as one token: an altered link must never still work."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    if _b64encode(raw) != token:
        raise ValueError("not the canonical spelling of its bytes")
    return raw


@dataclass(frozen=True)
class Signer:
    """Makes and reads link tokens with the deployment's signing secrets, newest first: it
    encrypts with the first and reads with any (key rotation)."""

    secrets: tuple[str, ...]

    def _legacy(self, purpose: str) -> Any:
        """itsdangerous's serializer of the tokens made before encryption; imported here, as
        only an old link needs it (cold start, issue 15)."""
        from itsdangerous import URLSafeTimedSerializer

        # itsdangerous signs with the *last* secret of its list.
        return URLSafeTimedSerializer(list(reversed(self.secrets)), salt=purpose)

    def prepare(self, *purposes: str) -> None:
        """Derive every key these purposes read tokens with now, so the first token read pays
        no import or derivation (a function's warm-up)."""
        for secret in self.secrets:
            for purpose in purposes:
                _key(secret, purpose)

    def sign(self, purpose: str, payload: dict[str, Any]) -> str:
        """A URL-safe token holding `payload` encrypted, timestamped now."""
        signed_at = int(now().timestamp()).to_bytes(_TIME_BYTES, "big")
        plain = signed_at + json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        nonce = os.urandom(_NONCE_BYTES)
        sealed = _key(self.secrets[0], purpose).encrypt(nonce, plain, purpose.encode("utf-8"))
        return _b64encode(_VERSION + nonce + sealed)

    def verify(self, purpose: str, token: str,
               max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS) -> dict[str, Any]:
        """The payload of a genuine, unexpired token; TokenExpired or TokenInvalid otherwise."""
        return self.verify_timed(purpose, token, max_age_seconds)[0]

    def verify_timed(self, purpose: str, token: str,
                     max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS) -> tuple[dict[str, Any], datetime]:
        """(payload, when it was made, UTC) of a genuine, unexpired token; as `verify` otherwise."""
        if "." in token:
            return self._verify_legacy(purpose, token, max_age_seconds)
        payload, signed_at = self._open(purpose, token)
        age = (now() - signed_at).total_seconds()
        if age > max_age_seconds or age < -60:
            raise TokenExpired(N_("this link has expired"), field="token")
        return payload, signed_at

    def _open(self, purpose: str, token: str) -> tuple[dict[str, Any], datetime]:
        """Decrypt with each secret in turn; TokenInvalid when none opens it."""
        from cryptography.exceptions import InvalidTag

        if not token or len(token) > _MAX_TOKEN_CHARACTERS:
            raise _invalid()
        try:
            raw = _b64decode(token)
        except (binascii.Error, ValueError):
            raise _invalid() from None
        if len(raw) < _MIN_BYTES or raw[:1] != _VERSION:
            raise _invalid()
        nonce, sealed = raw[1:1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES:]
        for secret in self.secrets:
            try:
                plain = _key(secret, purpose).decrypt(nonce, sealed, purpose.encode("utf-8"))
            except InvalidTag:
                continue
            try:
                payload = json.loads(plain[_TIME_BYTES:].decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise _invalid() from None
            if not isinstance(payload, dict):
                raise _invalid()
            signed_at = datetime.fromtimestamp(int.from_bytes(plain[:_TIME_BYTES], "big"), UTC)
            return payload, signed_at
        raise _invalid()

    def _verify_legacy(self, purpose: str, token: str,
                       max_age_seconds: int) -> tuple[dict[str, Any], datetime]:
        """An itsdangerous token from before tokens were encrypted (read only, never made)."""
        from itsdangerous import BadSignature, SignatureExpired

        try:
            _b64decode(token.rpartition(".")[2])  # its signature, too, has one spelling
            payload, signed_at = self._legacy(purpose).loads(token, max_age=max_age_seconds,
                                                             return_timestamp=True)
        except SignatureExpired:
            raise TokenExpired(N_("this link has expired"), field="token") from None
        except (BadSignature, ValueError):
            raise _invalid() from None
        if not isinstance(payload, dict):
            raise TokenInvalid(N_("this link is not valid"), field="token")
        return payload, signed_at

    def unverified_payload(self, purpose: str, token: str) -> Any:
        """The payload whatever its age (a genuine token only; None otherwise): only for hints
        on error pages, such as the list of an expired confirmation link."""
        if "." in token:
            from itsdangerous import BadSignature

            try:
                # No max_age: any age. Signature first: a forged token's payload is never
                # decoded (it may be a zlib bomb) nor shown.
                return self._legacy(purpose).loads(token)
            except (BadSignature, ValueError):
                return None
        try:
            return self._open(purpose, token)[0]
        except TokenInvalid:
            return None


@dataclass(frozen=True)
class ConfirmClaim:
    """What a confirmation link says: this address asked to join this list, by the signup given
    at `signed_up_at` (its consent's time): the link confirms that signup only, never one that
    replaced it since (P02, P30). None: a link made before links were bound to their signup,
    which confirms the signup waiting now (such links expire within DEFAULT_MAX_AGE_SECONDS)."""

    list_id: str
    address: str
    signed_up_at: datetime | None = None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Signup times a link may name: from the epoch to the year 2970 (in microseconds).
_MAX_MICROS = 1000 * 366 * 24 * 3600 * 1_000_000


def confirm_token(signer: Signer, list_id: str, address: str, signed_up_at: datetime | None = None) -> str:
    payload: dict[str, Any] = {"l": list_id, "a": address}
    if signed_up_at is not None:
        payload["g"] = (signed_up_at - _EPOCH) // _MICROSECOND
    return signer.sign(CONFIRM, payload)


def read_confirm_token(signer: Signer, token: str,
                       max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS) -> ConfirmClaim:
    payload = signer.verify(CONFIRM, token, max_age_seconds)
    list_id, address, micros = payload.get("l"), payload.get("a"), payload.get("g")
    if not isinstance(list_id, str) or not isinstance(address, str):
        raise TokenInvalid(N_("this link is not valid"), field="token")
    if micros is None:
        return ConfirmClaim(list_id=list_id, address=address)
    if isinstance(micros, bool) or not isinstance(micros, int) or not 0 <= micros < _MAX_MICROS:
        raise TokenInvalid(N_("this link is not valid"), field="token")
    return ConfirmClaim(list_id=list_id, address=address, signed_up_at=_EPOCH + micros * _MICROSECOND)


def confirm_token_list_hint(signer: Signer, token: str) -> str | None:
    """The list id inside a confirm token, *without* trusting the signature or age.

    Only for pre-filling the "send me a new link" form on the expired/invalid page: the resend
    itself goes through the normal, unenumerable signup checks.
    """
    payload = signer.unverified_payload(CONFIRM, token)
    list_id = payload.get("l") if isinstance(payload, dict) else None
    return list_id if isinstance(list_id, str) and list_id.isascii() and len(list_id) <= 64 else None
