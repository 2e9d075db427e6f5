"""Calling a Chalice event handler the way Lambda does: by function name, with a Lambda context."""
from __future__ import annotations

from typing import Any

from chalice import Chalice
from chalice.local import LambdaContext

# moto's default account: every ARN the local stack hands out belongs to it.
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_STAGE = "local"


def invoke_handler(
    app: Chalice, function_name: str, event: dict[str, Any], region: str, timeout_seconds: int
) -> Any:
    """Run `app.handler_map[function_name]` (middleware included) on `event`; returns its result."""
    context = LambdaContext(function_name, memory_size=128, max_runtime_ms=timeout_seconds * 1000)
    # Chalice leaves the ARN empty; Powertools' injected log keys read it.
    context.invoked_function_arn = (
        f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:function:"
        f"{app.app_name}-{LOCAL_STAGE}-{function_name}"
    )
    return app.handler_map[function_name](event, context)
