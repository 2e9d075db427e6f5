"""Starting the real local stack in a subprocess, on free ports, for end-to-end tests."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]


@dataclass
class RunningStack:
    details: dict[str, str]
    log: Path
    returncode: int | None = None


def wait_for_state(state_file: Path, process: subprocess.Popen[bytes], log: Path) -> dict[str, str]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if state_file.exists():
            return json.loads(state_file.read_text())
        if process.poll() is not None:
            pytest.fail(f"the stack exited with {process.returncode}:\n{log.read_text()}")
        time.sleep(0.2)
    pytest.fail(f"the stack did not start within 90 s:\n{log.read_text()}")


def get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as reply:
        return json.loads(reply.read())


@contextmanager
def running_stack(tmp_path: Path) -> Iterator[RunningStack]:
    """`python -m chalicelib.local` on free ports; stopped with SIGTERM on exit (its exit code is
    in `.returncode` afterwards)."""
    state_file, log = tmp_path / "local.json", tmp_path / "stack.log"
    env = {name: value for name, value in os.environ.items() if name != "AWS_ENDPOINT_URL"}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.local", "--api-port", "0", "--aws-port", "0",
             "--state-file", str(state_file)],
            cwd=PROJECT_DIR, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    stack = RunningStack(details={}, log=log)
    try:
        stack.details = wait_for_state(state_file, process, log)
        yield stack
    finally:
        process.send_signal(signal.SIGTERM)
        stack.returncode = process.wait(timeout=30)
