"""Signed, expiring tokens for public links (confirm now; unsubscribe and others later).

`itsdangerous` signs with the newest secret and accepts any configured one, so secrets can be
rotated without breaking links already in inboxes. Each purpose has its own salt: a confirm
token can never be replayed as another kind of token.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from chalicelib.domain.errors import InvalidInput

CONFIRM = "confirm"
# P01: a confirmation link lives as long as the pending signup it confirms.
DEFAULT_MAX_AGE_SECONDS = 7 * 24 * 3600


class TokenExpired(InvalidInput):
    """The signature is good but the token is too old."""

    code = "token_expired"


class TokenInvalid(InvalidInput):
    """The token was altered, truncated, signed with an unknown secret, or is for another purpose."""

    code = "token_invalid"


@dataclass(frozen=True)
class Signer:
    """Signs and verifies tokens with the deployment's signing secrets, newest first: it signs
    with the first and accepts any (key rotation)."""

    secrets: tuple[str, ...]

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        # itsdangerous signs with the *last* secret of its list.
        return URLSafeTimedSerializer(list(reversed(self.secrets)), salt=purpose)

    def sign(self, purpose: str, payload: dict[str, Any]) -> str:
        """A URL-safe token holding `payload`, timestamped now."""
        return self._serializer(purpose).dumps(payload)

    def verify(self, purpose: str, token: str,
               max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS) -> dict[str, Any]:
        """The payload of a genuine, unexpired token; TokenExpired or TokenInvalid otherwise."""
        return self.verify_timed(purpose, token, max_age_seconds)[0]

    def verify_timed(self, purpose: str, token: str,
                     max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS) -> tuple[dict[str, Any], datetime]:
        """(payload, when it was signed, UTC) of a genuine, unexpired token; as `verify` otherwise."""
        try:
            payload, signed_at = self._serializer(purpose).loads(token, max_age=max_age_seconds,
                                                                 return_timestamp=True)
        except SignatureExpired:
            raise TokenExpired("this link has expired", field="token") from None
        except BadSignature:
            raise TokenInvalid("this link is not valid; it may have been cut or altered",
                               field="token") from None
        if not isinstance(payload, dict):
            raise TokenInvalid("this link is not valid", field="token")
        return payload, signed_at

    def unverified_payload(self, purpose: str, token: str) -> Any:
        """The payload *without* checking the signature or age: only for hints on error pages."""
        return self._serializer(purpose).loads_unsafe(token)[1]


@dataclass(frozen=True)
class ConfirmClaim:
    """What a confirmation link says: this address asked to join this list."""

    list_id: str
    address: str


def confirm_token(signer: Signer, list_id: str, address: str) -> str:
    return signer.sign(CONFIRM, {"l": list_id, "a": address})


def read_confirm_token(signer: Signer, token: str,
                       max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS) -> ConfirmClaim:
    payload = signer.verify(CONFIRM, token, max_age_seconds)
    list_id, address = payload.get("l"), payload.get("a")
    if not isinstance(list_id, str) or not isinstance(address, str):
        raise TokenInvalid("this link is not valid", field="token")
    return ConfirmClaim(list_id=list_id, address=address)


def confirm_token_list_hint(signer: Signer, token: str) -> str | None:
    """The list id inside a confirm token, *without* trusting the signature or age.

    Only for pre-filling the "send me a new link" form on the expired/invalid page: the resend
    itself goes through the normal, unenumerable signup checks.
    """
    payload = signer.unverified_payload(CONFIRM, token)
    list_id = payload.get("l") if isinstance(payload, dict) else None
    return list_id if isinstance(list_id, str) and list_id.isascii() and len(list_id) <= 64 else None
