"""boto3 clients, created lazily and reused for the life of the Lambda container.

boto3 honours AWS_ENDPOINT_URL, which is how the local stack and tests reach moto.
"""
from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.config import settings


@cache
def _client(service: str, region: str) -> Any:
    import boto3  # lazily: keeps cold start of routes that never call AWS cheap

    return boto3.session.Session().client(service, region_name=region)


def client(service: str) -> Any:
    """A boto3 client for `service` in the configured region."""
    return _client(service, settings().region)


def reset_clients() -> None:
    """Forget cached clients (tests that restart moto, or change region, call this)."""
    _client.cache_clear()
