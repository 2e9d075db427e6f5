"""P27 secrets at run time: the link-signing keys and the hash key are read from Secrets Manager
through Powertools Parameters, the keys cached for SECRET_MAX_AGE_SECONDS, so a rotated key list
(newest first) is picked up without a redeploy, and the hash key, which never changes, once an
environment; outside the local stack a missing secret stops the function with a clear error, and
the in-source value exists only for `make run` and the tests."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from aws_lambda_powertools.utilities import parameters

from bench.aws_calls import count_aws_calls
from chalicelib.clients import client
from chalicelib.config import (
    LOCAL_ONLY_SECRET,
    SECRET_MAX_AGE_SECONDS,
    MissingSecret,
    hash_key,
    settings,
    signer,
    signing_keys,
)
from chalicelib.domain import tokens
from chalicelib.domain.tokens import Signer
from chalicelib.resources import HASH_KEY_SECRET, SIGNING_KEYS_SECRET

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def fresh_cache(aws):
    parameters.clear_caches()
    yield
    parameters.clear_caches()


def _put(logical_name: str, value: str) -> None:
    secrets = client("secretsmanager")
    secrets.put_secret_value(SecretId=settings().secret_name(logical_name), SecretString=value)


def test_the_local_stack_and_tests_read_secrets_from_secrets_manager(fresh_cache):
    with count_aws_calls() as calls:
        assert signing_keys() == (LOCAL_ONLY_SECRET,)
        assert hash_key() == LOCAL_ONLY_SECRET
        signing_keys(), hash_key()  # cached
    assert calls.by_operation == {"secretsmanager.GetSecretValue": 2}


def test_p27_a_rotated_key_list_is_used_once_the_cache_expires_without_a_redeploy(fresh_cache):
    """The two steps of infra/README.md: the new key is added second (read, not yet signing),
    and put first once every cache has read it; the old one is dropped last."""
    with time_machine.travel(T0, tick=False):
        _put(SIGNING_KEYS_SECRET, '["old-key"]')
        old_token = tokens.confirm_token(signer(), "lst_1", "ann@example.com")
        _put(SIGNING_KEYS_SECRET, '["old-key", "new-key"]')  # step 1: the new key read, not used
        assert signing_keys() == ("old-key",), "cached until the cache expires"
    with time_machine.travel(T0 + timedelta(seconds=SECRET_MAX_AGE_SECONDS - 1), tick=False):
        assert signing_keys() == ("old-key",), "still cached just before its age"
    with time_machine.travel(T0 + timedelta(seconds=SECRET_MAX_AGE_SECONDS + 1), tick=False):
        assert signing_keys() == ("old-key", "new-key")
        signed_elsewhere = tokens.confirm_token(Signer(("new-key", "old-key")), "lst_1", "ann@example.com")
        assert tokens.read_confirm_token(signer(), signed_elsewhere).list_id == "lst_1", \
            "a Lambda that has read step 1 reads a link another signed after step 2"
        _put(SIGNING_KEYS_SECRET, '["new-key", "old-key"]')  # step 2: the new key signs
    with time_machine.travel(T0 + timedelta(seconds=2 * SECRET_MAX_AGE_SECONDS + 2), tick=False):
        assert tokens.read_confirm_token(signer(), old_token).list_id == "lst_1", "old links still work"
        new_token = tokens.confirm_token(signer(), "lst_1", "ann@example.com")
        _put(SIGNING_KEYS_SECRET, '["new-key"]')
    with time_machine.travel(T0 + timedelta(seconds=3 * SECRET_MAX_AGE_SECONDS + 3), tick=False):
        assert tokens.read_confirm_token(signer(), new_token).list_id == "lst_1", "signed with the newest"
        with pytest.raises(tokens.TokenInvalid):
            tokens.read_confirm_token(signer(), old_token)


def test_p27_the_hash_key_is_read_once_an_environment_the_signing_keys_again_each_day(fresh_cache):
    """Issue 15: the hash key never changes, so its cache does not age out with the keys'; each
    GetSecretValue is billed."""
    with time_machine.travel(T0, tick=False), count_aws_calls() as first:
        hash_key(), signing_keys()
    with time_machine.travel(T0 + timedelta(seconds=24 * SECRET_MAX_AGE_SECONDS), tick=False), \
            count_aws_calls() as day_later:
        assert hash_key() == LOCAL_ONLY_SECRET
        signing_keys()
    assert first.by_operation == {"secretsmanager.GetSecretValue": 2}
    assert day_later.by_operation == {"secretsmanager.GetSecretValue": 1}, "only the signing keys again"


@pytest.mark.parametrize("value", ['"just-a-string"', "[]", '["ok", ""]', "[1]", "not json"])
def test_p27_a_malformed_signing_key_list_stops_the_function(fresh_cache, value):
    _put(SIGNING_KEYS_SECRET, value)
    with pytest.raises(MissingSecret, match="signing-secrets"):
        signer()


def test_p27_outside_the_local_stack_a_missing_secret_stops_the_function(fresh_cache, monkeypatch):
    monkeypatch.setenv("TIDINGS_STAGE", "prod")
    settings.cache_clear()
    try:
        client("secretsmanager").delete_secret(SecretId=settings().secret_name(HASH_KEY_SECRET),
                                               ForceDeleteWithoutRecovery=True)
        with pytest.raises(MissingSecret, match=r"secret 'tidings/suppression-secret' could not be read .*"
                                                r"infra/README\.md"):
            hash_key()
        assert signing_keys() == (LOCAL_ONLY_SECRET,)  # the other one is still there
    finally:
        monkeypatch.undo()
        settings.cache_clear()


def test_p27_in_the_local_stack_a_missing_secret_falls_back_to_the_local_only_value(fresh_cache):
    assert settings().stage == "test"
    client("secretsmanager").delete_secret(SecretId=settings().secret_name(SIGNING_KEYS_SECRET),
                                           ForceDeleteWithoutRecovery=True)
    assert signing_keys() == (LOCAL_ONLY_SECRET,)


def test_p27_the_suppression_key_comes_from_its_secret(fresh_cache):
    _put(HASH_KEY_SECRET, "hash-key-from-secrets-manager")
    assert hash_key() == "hash-key-from-secrets-manager"
    assert json.loads(json.dumps(hash_key()))  # a plain string, not a list
