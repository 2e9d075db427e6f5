"""Configuration, read from the environment in this one place.

`settings()` caches what it read; tests that change the environment call `settings.cache_clear()`.
Secrets are not settings: `signer()` and `hash_key()` read them from Secrets Manager at run time
through Powertools Parameters, so nothing secret sits in a function's environment. The signing
keys are cached for SECRET_MAX_AGE_SECONDS, so a rotated key list is picked up without a
redeploy; the hash key, which never changes, for the environment's life (HASH_KEY_MAX_AGE_SECONDS).
The local stack and the tests provision the same secrets into moto (local/provision.py) and read
them the same way.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.domain.health import HealthPolicy
from chalicelib.domain.retention import MAX_ENDED_RETENTION, ended_retention
from chalicelib.domain.signup_limits import SignupLimits
from chalicelib.resources import HASH_KEY_SECRET, SIGNING_KEYS_SECRET

if TYPE_CHECKING:
    from chalicelib.domain.tokens import Signer

# How long the signing keys read from Secrets Manager are used before they are read again: a
# rotated key list reaches every warm Lambda within this time. A day: each read is billed, and
# with an hour (AWS's own caching client's default) the re-reads of warm Lambdas, the tracking
# front's over a campaign's two days of opens and each sparse signup's, cost about a tenth of a
# percent of the SES bill (issue 15, `python -m bench.cost`). Rotation is rare: its two steps
# are a day apart (infra/README.md), so no Lambda meets a key it does not know yet; a leaked key
# is cut off at once by starting fresh environments, as the hash key's change would need.
SECRET_MAX_AGE_SECONDS = 24 * 3600
# The hash key must never change (suppressions are found by it, infra/README.md), so reading it
# again buys nothing and each read is billed: an environment reads it at its first use and keeps
# it for its life. Powertools' cache wants an age; a year outlives any Lambda environment.
HASH_KEY_MAX_AGE_SECONDS = 365 * 24 * 3600
# Each secret's cache age, by logical name (the cost model reads it too: bench/functions.py).
SECRET_MAX_AGES = {SIGNING_KEYS_SECRET: SECRET_MAX_AGE_SECONDS, HASH_KEY_SECRET: HASH_KEY_MAX_AGE_SECONDS}
# The stages where an unreadable secret falls back to LOCAL_ONLY_SECRET (`make run`, the tests).
LOCAL_STAGES = ("local", "test")
LOCAL_ONLY_SECRET = "local-only-secret-never-use-in-aws"


class MissingSecret(RuntimeError):
    """A secret could not be read outside the local stack: the function must not run without it."""


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment."""

    stage: str
    region: str
    resource_prefix: str
    public_base_url: str
    # Where the open pixel and click redirect links point: in AWS the tracking function URL (no
    # API Gateway request per open or click), locally the public routes.
    tracking_base_url: str
    # True only where the deployment declares that a CloudFront distribution fronts the tracking
    # links and sets CloudFront-Viewer-Country; elsewhere that header is whatever the caller wrote,
    # and the viewer's country comes from the source IP (as X-Forwarded-For is never believed).
    tracking_behind_cloudfront: bool
    max_body_bytes: int
    # email-validator's DNS deliverability check; off by default (no egress, flaky resolvers).
    check_email_dns: bool
    default_sender: str
    # Where replies to the platform's notices go (their Reply-To): the suspension and account
    # notices ask the account to reply, and the default sender's mailbox is nobody's.
    operator_email: str
    configuration_set: str
    sqs_max_receive_count: int
    signup_limits: SignupLimits
    # Messages per second all sending Lambdas together may hand to SES (the account's SES quota).
    ses_max_send_rate: float
    # Bounce and complaint thresholds that suspend an account, and the transient-bounce limit (P26).
    health: HealthPolicy
    # P29: how long an ended entry keeps its personal data before the daily purge deletes it.
    ended_retention: timedelta

    def resource_name(self, logical_name: str) -> str:
        """The deployed name of a table, queue or topic: `<prefix>-<logical name>`."""
        return f"{self.resource_prefix}-{logical_name}"

    def secret_name(self, logical_name: str) -> str:
        """The name of a Secrets Manager secret: `<prefix>/<logical name>`."""
        return f"{self.resource_prefix}/{logical_name}"


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings for this process, read once from the environment."""
    return read_settings(os.environ)


def signer() -> Signer:
    """Signs and verifies the tokens of public links with the current signing keys. Raises
    MissingSecret."""
    from chalicelib.domain.tokens import Signer  # lazily: only functions that sign load itsdangerous

    return Signer(signing_keys())


def signing_keys() -> tuple[str, ...]:
    """The signing keys, newest first (the secret is a JSON list: the first signs, any
    verifies). Raises MissingSecret."""
    value = _secret(SIGNING_KEYS_SECRET, as_json=True)
    keys = tuple(key for key in value if isinstance(key, str) and key) if isinstance(value, list) else ()
    if not keys or len(keys) != len(value):
        raise MissingSecret(f"secret {settings().secret_name(SIGNING_KEYS_SECRET)!r} must be a JSON list "
                            "of non-empty strings, newest first")
    return keys


def hash_key() -> str:
    """The key of every keyed hash of an address or phone (suppressions, message records), read
    once an environment. Raises MissingSecret."""
    value = _secret(HASH_KEY_SECRET, as_json=False)
    if not isinstance(value, str) or not value:
        raise MissingSecret(f"secret {settings().secret_name(HASH_KEY_SECRET)!r} must be a non-empty string")
    return value


def local_secret_values() -> dict[str, str]:
    """What the local stack and the tests store in moto's Secrets Manager, by logical name."""
    return {SIGNING_KEYS_SECRET: json.dumps([LOCAL_ONLY_SECRET]), HASH_KEY_SECRET: LOCAL_ONLY_SECRET}


def _secret(logical_name: str, as_json: bool) -> Any:
    from aws_lambda_powertools.utilities import parameters  # lazily: only what needs a secret pays

    name = settings().secret_name(logical_name)
    try:
        return parameters.get_secret(name, max_age=SECRET_MAX_AGES[logical_name],
                                     transform="json" if as_json else None)
    except parameters.exceptions.TransformParameterError as error:
        raise MissingSecret(f"secret {name!r} is not valid JSON") from error
    except parameters.exceptions.GetParameterError as error:
        if settings().stage in LOCAL_STAGES:
            fallback = local_secret_values()[logical_name]
            return json.loads(fallback) if as_json else fallback
        raise MissingSecret(f"secret {name!r} could not be read from Secrets Manager "
                            f"({type(error).__name__}); create it as infra/README.md describes") from error


def read_settings(env: Mapping[str, str]) -> Settings:
    """Settings from the given variables (the deployment template builds the Lambdas' own)."""
    prefix = env.get("TIDINGS_PREFIX", "tidings")
    public_base_url = env.get("TIDINGS_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return Settings(
        stage=env.get("TIDINGS_STAGE", "local"),
        region=env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or "eu-west-1",
        resource_prefix=prefix,
        public_base_url=public_base_url,
        # A function URL ends with "/"; links are built as f"{base}/t/o/{token}".
        tracking_base_url=(env.get("TIDINGS_TRACKING_BASE_URL") or public_base_url).rstrip("/"),
        tracking_behind_cloudfront=env.get("TIDINGS_TRACKING_BEHIND_CLOUDFRONT") == "1",
        max_body_bytes=int(env.get("TIDINGS_MAX_BODY_BYTES", str(256 * 1024))),
        check_email_dns=env.get("TIDINGS_CHECK_EMAIL_DNS") == "1",
        default_sender=env.get("TIDINGS_DEFAULT_SENDER", "no-reply@tidings.example"),
        operator_email=env.get("TIDINGS_OPERATOR_EMAIL", "operator@tidings.example"),
        configuration_set=env.get("TIDINGS_CONFIGURATION_SET", f"{prefix}-feedback"),
        sqs_max_receive_count=int(env.get("TIDINGS_SQS_MAX_RECEIVE_COUNT", "5")),
        signup_limits=_signup_limits(env),
        ses_max_send_rate=float(env.get("TIDINGS_SES_MAX_SEND_RATE", "14")),
        health=_health(env),
        ended_retention=ended_retention(int(env.get("TIDINGS_ENDED_RETENTION_DAYS",
                                                    str(MAX_ENDED_RETENTION.days)))),
    )


def _signup_limits(env: os._Environ[str] | dict[str, str]) -> SignupLimits:
    defaults = SignupLimits()
    return SignupLimits(
        per_ip_per_hour=int(env.get("TIDINGS_LIMIT_SIGNUPS_PER_IP_PER_HOUR", defaults.per_ip_per_hour)),
        per_address_per_day=int(
            env.get("TIDINGS_LIMIT_SIGNUPS_PER_ADDRESS_PER_DAY", defaults.per_address_per_day)
        ),
        per_address_per_list_per_day=int(env.get("TIDINGS_LIMIT_SIGNUPS_PER_ADDRESS_PER_LIST_PER_DAY",
                                                 defaults.per_address_per_list_per_day)),
        mail_interval_minutes=int(
            env.get("TIDINGS_LIMIT_CONFIRMATION_MAIL_INTERVAL_MINUTES", defaults.mail_interval_minutes)
        ),
        per_list_per_day=int(env.get("TIDINGS_LIMIT_SIGNUPS_PER_LIST_PER_DAY", defaults.per_list_per_day)),
    )


def _health(env: Mapping[str, str]) -> HealthPolicy:
    defaults = HealthPolicy()
    return HealthPolicy(
        max_complaint_rate=float(env.get("TIDINGS_MAX_COMPLAINT_RATE", defaults.max_complaint_rate)),
        max_bounce_rate=float(env.get("TIDINGS_MAX_BOUNCE_RATE", defaults.max_bounce_rate)),
        min_volume=int(env.get("TIDINGS_HEALTH_MIN_VOLUME", defaults.min_volume)),
        window_days=int(env.get("TIDINGS_HEALTH_WINDOW_DAYS", defaults.window_days)),
        soft_bounce_limit=int(env.get("TIDINGS_SOFT_BOUNCE_LIMIT", defaults.soft_bounce_limit)),
        soft_bounce_window_days=int(
            env.get("TIDINGS_SOFT_BOUNCE_WINDOW_DAYS", defaults.soft_bounce_window_days)
        ),
    )
