"""The provisioned moto account, built once per settings and copied into each test's fresh mock.

`provision` makes some 90 AWS calls through moto (about 0.15 s of CPU, most of a short test); a
deep copy of the state they leave costs a few milliseconds. Each test still gets its own copy, so
nothing one test writes reaches another, and the copy is taken right after `provision` ran, from
the same declarations the deployment uses.
"""
from __future__ import annotations

import copy
from threading import Condition
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.sqs.models import Queue

from chalicelib.config import Settings
from chalicelib.local.provision import provision
from chalicelib.store.binding import bind_models

# (a service's backends, account, region, the backend of that service, account and region)
State = list[tuple[BackendDict[Any], str, str, BaseBackend]]

_PROVISIONED: dict[Settings, tuple[dict[str, str], State]] = {}


def provisioned(settings: Settings) -> dict[str, str]:
    """Inside a freshly started `mock_aws`: every declared resource, as `provision(settings)`
    creates them; returns its ARNs."""
    saved = _PROVISIONED.get(settings)
    if saved is None:
        outputs = provision(settings)
        _PROVISIONED[settings] = (dict(outputs), _copy([
            (backends, account, region, backend)
            for backends in BackendDict._instances
            for account, per_account in dict.items(backends)
            for region, backend in dict.items(per_account)
        ]))
        return outputs
    outputs, state = saved
    bind_models(settings)  # provision's one effect outside moto
    for backends, account, region, backend in _copy(state):
        backends[account][region] = backend  # also registers the service for the mock's reset
    return dict(outputs)


def _copy(state: State) -> State:
    """A deep copy sharing nothing with `state` but moto's global registries. An SQS queue's
    lock cannot be copied: each copy gets a new one."""
    memo: dict[int, Any] = {id(backends): backends for backends in BackendDict._instances}
    for backends, _account, _region, backend in state:
        memo[id(backends)] = backends
        for value in vars(backend).values():
            if isinstance(value, dict):
                for queue in value.values():
                    if isinstance(queue, Queue):
                        memo[id(queue._messages_lock)] = Condition()
    return copy.deepcopy(state, memo)
