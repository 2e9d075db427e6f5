"""How each Lambda function is deployed, as far as its bill goes: memory, architecture, timeout,
and the SQS trigger that batches its messages (or the schedule on which it drains its queue).
Read from the declarations the deployment is built from (chalicelib/functions.py), so the cost
model prices what would be deployed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from bench.prices import ESM_POLLERS, PLATFORM_LOG_BYTES, USD, VCPU_MEMORY_MB
from bench.traffic import Batch, Drain, Trigger, drained_batches, sqs_batches


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    memory_mb: int
    architecture: str  # "x86_64" or "arm64"
    timeout_seconds: int
    # Bytes Lambda itself logs per invocation (START, END, REPORT), unless a log level drops them.
    platform_log_bytes: int = PLATFORM_LOG_BYTES
    # Secrets Manager secrets its role may read: assumed read by each environment at its first call.
    secrets: int = 0
    # Those of them read again once their cache has aged out (chalicelib/config.SECRET_MAX_AGES:
    # the signing keys after SECRET_MAX_AGE_SECONDS; the hash key, kept longer than an environment
    # lives, never).
    refreshed_secrets: int = 0

    @property
    def vcpu_share(self) -> float:
        """The share of one vCPU the function runs with (Lambda: in proportion to memory)."""
        return min(1.0, self.memory_mb / VCPU_MEMORY_MB)

    @property
    def gb(self) -> float:
        return self.memory_mb / 1024

    @property
    def gb_second_usd(self) -> float:
        return USD["lambda_gb_second_arm64" if self.architecture == "arm64" else "lambda_gb_second"]

    def billed_ms(self, cpu_ms: float, waited_ms: float) -> int:
        """Billed milliseconds of an invocation whose code took `cpu_ms` of one vCPU here and
        waited `waited_ms` for AWS calls: the CPU time stretched to the function's share, rounded
        up to the millisecond as Lambda bills."""
        return max(1, math.ceil(cpu_ms / self.vcpu_share + waited_ms))


@cache
def function_config(name: str) -> FunctionConfig:
    """The deployed configuration of one function, from its declaration."""
    from chalicelib.config import SECRET_MAX_AGE_SECONDS, SECRET_MAX_AGES
    from chalicelib.functions import SYSTEM_LOG_LEVEL, function_spec

    spec = function_spec(name)
    secrets = spec.touches.secrets
    return FunctionConfig(name=name, memory_mb=spec.memory_mb, architecture=spec.architecture,
                          timeout_seconds=spec.timeout_seconds, secrets=len(secrets),
                          refreshed_secrets=sum(1 for secret in secrets
                                                if SECRET_MAX_AGES[secret] <= SECRET_MAX_AGE_SECONDS),
                          platform_log_bytes=PLATFORM_LOG_BYTES if SYSTEM_LOG_LEVEL != "WARN" else 0)


@cache
def trigger(function: str) -> Trigger:
    """The SQS event source mapping of a worker, as declared: batch size and window; its pollers
    are Lambda's (ESM_POLLERS, assumed), whatever its maximum concurrency."""
    from chalicelib.functions import function_spec

    declared = function_spec(function).trigger
    if declared is None:
        raise KeyError(f"{function} has no SQS trigger")
    return Trigger(batch_size=declared.batch_size, window_seconds=float(declared.batching_window_seconds),
                   pollers=ESM_POLLERS)


@cache
def drain(function: str) -> Drain | None:
    """The queue a function drains on its schedule, as declared; None for any other."""
    from chalicelib.functions import function_spec

    declared = function_spec(function).drain
    return Drain(declared.batch_size, declared.every_minutes * 60.0) if declared else None


def batches(function: str, times: list[float]) -> list[Batch]:
    """The invocations that take messages sent at `times` off the function's queue: its
    trigger's batches, or its drain's runs."""
    drained = drain(function)
    return drained_batches(times, drained) if drained else sqs_batches(times, trigger(function))


def batching(function: str) -> str:
    """How its messages are batched, in words."""
    drained = drain(function)
    if drained:
        return f"drained every {drained.period_seconds:g} s"
    declared = trigger(function)
    return f"window {declared.window_seconds:g} s, {declared.pollers} pollers"


def sqs_functions() -> list[str]:
    """Every function an SQS trigger invokes."""
    from chalicelib.functions import FUNCTIONS

    return [spec.name for spec in FUNCTIONS if spec.trigger is not None]
