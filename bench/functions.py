"""How each Lambda function is deployed, as far as its bill goes: memory, architecture, timeout,
and the SQS trigger that batches its messages. Read from the deployment's own declarations, so
the cost model prices what would be deployed.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bench.prices import PLATFORM_LOG_BYTES, USD, VCPU_MEMORY_MB
from bench.traffic import Trigger

_CHALICE_CONFIG = Path(__file__).resolve().parent.parent / ".chalice" / "config.json"
_STAGE = "prod"


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    memory_mb: int
    architecture: str  # "x86_64" or "arm64"
    timeout_seconds: int
    # Bytes Lambda itself logs per invocation (START, END, REPORT), unless a log level drops them.
    platform_log_bytes: int = PLATFORM_LOG_BYTES

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


def _stage() -> dict[str, Any]:
    return json.loads(_CHALICE_CONFIG.read_text())["stages"][_STAGE]


@cache
def function_config(name: str) -> FunctionConfig:
    """The deployed configuration of one function (Chalice's prod stage and its per-function
    overrides; Chalice deploys x86_64)."""
    stage = _stage()
    own = stage.get("lambda_functions", {}).get(name, {})
    return FunctionConfig(
        name=name,
        memory_mb=int(own.get("lambda_memory_size", stage.get("lambda_memory_size", 128))),
        architecture="x86_64",
        timeout_seconds=int(own.get("lambda_timeout", stage.get("lambda_timeout", 60))),
    )


@cache
def trigger(function: str) -> Trigger:
    """The SQS event source mapping of a worker, as the app declares it."""
    from chalice.app import SQSEventConfig

    from app import app

    for source in app.event_sources:
        if isinstance(source, SQSEventConfig) and source.name == function:
            return Trigger(batch_size=source.batch_size,
                           window_seconds=float(source.maximum_batching_window_in_seconds or 0))
    raise KeyError(f"{function} has no SQS trigger")


def sqs_functions() -> list[str]:
    """Every function an SQS trigger invokes."""
    from chalice.app import SQSEventConfig

    from app import app

    return [source.name for source in app.event_sources if isinstance(source, SQSEventConfig)]
