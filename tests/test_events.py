"""Every non-HTTP handler has a sample event in events/, and runs on it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import app

EVENTS = Path(__file__).resolve().parent.parent / "events"
# Event sources (SQS, schedules) and plain Lambda functions (the tracking function URL).
HANDLERS = sorted([source.name for source in app.event_sources]
                  + [function.name for function in app.pure_lambda_functions])


def test_every_non_http_handler_has_a_sample_event():
    assert HANDLERS, "the app declares event handlers"
    missing = [name for name in HANDLERS if not (EVENTS / f"{name}.json").exists()]
    assert not missing, f"add events/<name>.json for: {missing}"


@pytest.mark.parametrize("name", HANDLERS)
def test_each_handler_runs_on_its_sample_event(client, name):
    event = json.loads((EVENTS / f"{name}.json").read_text())
    result = client.lambda_.invoke(name, event)
    if "Records" in event and event["Records"][0].get("eventSource") == "aws:sqs":
        # SQS handlers answer in the shape ReportBatchItemFailures expects.
        assert set(result.payload) == {"batchItemFailures"}
        ids = {record["messageId"] for record in event["Records"]}
        assert {item["itemIdentifier"] for item in result.payload["batchItemFailures"]} < ids
    if event.get("version") == "2.0" and "rawPath" in event:
        # A function URL request gets a function URL response.
        assert {"statusCode", "headers", "body", "isBase64Encoded"} <= set(result.payload)
