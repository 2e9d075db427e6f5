"""API keys: stored by the hash of their secret, listed per account through an index."""
from __future__ import annotations

from chalicelib.domain.clock import now
from chalicelib.domain.errors import NotFound
from chalicelib.domain.ids import new_id
from chalicelib.domain.keys import Scope, hash_secret, new_secret
from chalicelib.domain.retention import day_of
from chalicelib.store.models import ApiKey, too_long_for_a_sort_key


def create_key(account_id: str, name: str, scope: Scope) -> tuple[ApiKey, str]:
    """A new key and its secret; the secret exists only in this return value."""
    key_id = new_id("key")
    secret = new_secret(key_id)
    key = ApiKey(
        key_hash=hash_secret(secret),
        key_id=key_id,
        account_id=account_id,
        name=name,
        scope=scope.value,
        created_at=now(),
        last_used_day=day_of(now()),
    )
    key.save(condition=ApiKey.key_hash.does_not_exist())
    return key, secret


def find_by_hash(key_hash: str) -> ApiKey | None:
    """The key stored under this hash, or None. Strongly consistent: an eventually consistent
    read may come from a replica a revocation has not reached, and the revoked key would still
    work (P27)."""
    try:
        return ApiKey.get(key_hash, consistent_read=True)
    except ApiKey.DoesNotExist:
        return None


def keys_of(account_id: str) -> list[ApiKey]:
    return list(ApiKey.by_account.query(account_id))


def delete_key(account_id: str, key_id: str) -> ApiKey:
    """Delete one of the account's keys; another account's key id is NotFound (P28), and so is
    one too long to be a key of the index this queries (DynamoDB would refuse the query)."""
    if too_long_for_a_sort_key(key_id):
        raise NotFound("no such key", field="key_id")
    matches = list(ApiKey.by_account.query(account_id, ApiKey.key_id == key_id))
    if not matches:
        raise NotFound("no such key", field="key_id")
    matches[0].delete()
    return matches[0]
