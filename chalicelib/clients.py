"""boto3 clients, created lazily and reused for the life of the Lambda container.

boto3 honours AWS_ENDPOINT_URL, which is how the local stack and tests reach moto.
"""
from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.config import settings

# The providers that send the mail and texts (SES, SNS). A sender must finish a send it starts
# before its Lambda's timeout (services/sending/step.SAFETY_SECONDS is built from these): each
# call waits at most this long to connect and to read, and botocore makes it once, without its
# default 60 s timeouts and its own retries; adapters/retries.with_backoff retries a throttled
# send, within that margin.
PROVIDERS = frozenset({"sesv2", "sns"})
PROVIDER_CONNECT_SECONDS = 1.0
PROVIDER_READ_SECONDS = 3.0
# The longest one provider call can take (a connect and a read; a DNS lookup is not bounded).
PROVIDER_CALL_SECONDS = PROVIDER_CONNECT_SECONDS + PROVIDER_READ_SECONDS


@cache
def _client(service: str, region: str) -> Any:
    import boto3  # lazily: keeps cold start of routes that never call AWS cheap
    from botocore.config import Config

    config = Config(connect_timeout=PROVIDER_CONNECT_SECONDS, read_timeout=PROVIDER_READ_SECONDS,
                    retries={"mode": "standard", "total_max_attempts": 1}) if service in PROVIDERS else None
    return boto3.session.Session().client(service, region_name=region, config=config)


def client(service: str) -> Any:
    """A boto3 client for `service` in the configured region."""
    return _client(service, settings().region)


def reset_clients() -> None:
    """Forget cached clients (tests that restart moto, or change region, call this)."""
    _client.cache_clear()
