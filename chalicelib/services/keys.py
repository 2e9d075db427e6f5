"""API keys (P27, P28): created with a secret shown once, listed, revoked, and looked up by
the hash of a caller's secret."""
from __future__ import annotations

from chalicelib.domain.errors import Conflict
from chalicelib.domain.header_text import header_text
from chalicelib.domain.keys import Scope, hash_secret
from chalicelib.store import audit
from chalicelib.store import keys as key_store
from chalicelib.store.account_lifecycle import record_use
from chalicelib.store.models import ApiKey


def key_for_secret(secret: str) -> ApiKey | None:
    """The key whose secret this is, or None; a used key keeps its account active (P24: one
    write a day at most)."""
    key = key_store.find_by_hash(hash_secret(secret))
    if key is not None:
        record_use(key)
    return key


def create_key(account_id: str, actor: str, name: str, scope: Scope) -> tuple[ApiKey, str]:
    """A new key and its secret; the secret exists only in this return value."""
    key, secret = key_store.create_key(account_id, header_text(name, "name"), scope)
    audit.record(account_id, actor, "key.created", key.key_id)
    return key, secret


def keys_of(account_id: str) -> list[ApiKey]:
    return key_store.keys_of(account_id)


def revoke_key(account_id: str, actor_key_id: str, key_id: str) -> None:
    """Delete one of the account's keys; a key cannot revoke itself (Conflict), another
    account's key is NotFound (P28)."""
    if key_id == actor_key_id:
        raise Conflict("a key cannot revoke itself; use another full-access key", field="key_id")
    key_store.delete_key(account_id, key_id)
    audit.record(account_id, actor_key_id, "key.revoked", key_id)
