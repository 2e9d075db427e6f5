"""Counts AWS API calls per operation, for benchmarks and tests.

    with count_aws_calls() as calls:
        client.http.post("/v1/lists", ...)
    calls.by_operation  # Counter({"dynamodb.PutItem": 2, "dynamodb.GetItem": 1, ...})

Why patch `botocore.client.BaseClient._make_api_call` rather than register on botocore events:
every boto3 client method and PynamoDB 6 (which calls `client._make_api_call` directly) go through
it, so one hook sees both. Events would not: each client copies its session's event emitter when it
is created, PynamoDB builds its own botocore session per connection, and the app caches its clients
for the life of the process, so a handler registered on a session would miss clients that already
exist. A call is counted once when it is made, whether it succeeds or raises (a failed conditional
write is still a billed call); botocore's own retries happen below this method, so a retried call
counts once. Waiters and paginators count each call they make. The patch is process-wide, so calls
from other threads are counted too.
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient


@dataclass
class AwsCalls:
    """The calls seen so far, as "<service>.<Operation>" labels (e.g. "sqs.SendMessage")."""

    operations: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, label: str) -> None:
        with self._lock:
            self.operations.append(label)

    @property
    def by_operation(self) -> Counter[str]:
        """How many times each operation was called."""
        with self._lock:
            return Counter(self.operations)

    @property
    def total(self) -> int:
        """How many calls were made in all."""
        with self._lock:
            return len(self.operations)


@contextmanager
def count_aws_calls() -> Iterator[AwsCalls]:
    """Count every AWS API call made by any botocore client (boto3 or PynamoDB) inside the block.

    Blocks may nest: each counts the calls made while it is open.
    """
    calls = AwsCalls()
    original = BaseClient._make_api_call

    def counting(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        calls.record(f"{client.meta.service_model.service_name}.{operation_name}")
        return original(client, operation_name, api_params)

    BaseClient._make_api_call = counting  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def describe(calls: AwsCalls) -> str:
    """One line for a report: "4 calls (dynamodb.GetItem 1, dynamodb.PutItem 3)"."""
    parts = ", ".join(f"{label} {count}" for label, count in sorted(calls.by_operation.items()))
    noun = "call" if calls.total == 1 else "calls"
    return f"{calls.total} {noun} ({parts})" if parts else "0 calls"
