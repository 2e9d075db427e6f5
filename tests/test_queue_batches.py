"""SQS partial batch responses (chalicelib/queue_batches.py): only the failed records go back,
a batch whose every record failed is retried whole, and no record's text reaches the logs."""
from __future__ import annotations

import logging

import pytest

from chalicelib.queue_batches import BatchFailed, process_batch
from tests.support.events import sqs_event


def test_only_the_records_whose_handler_raised_are_reported():
    def handle(record):
        if "bad" in record.body:
            raise ValueError(f"cannot read {record.body}")

    result = process_batch(sqs_event("good", "bad one", "good too"), handle)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}


def test_a_batch_whose_every_record_failed_is_raised_unless_told_otherwise():
    def fail(record):
        raise RuntimeError("down")

    with pytest.raises(BatchFailed):
        process_batch(sqs_event("a", "b"), fail)
    assert process_batch(sqs_event("a", "b"), fail, raise_on_entire_batch_failure=False) == {
        "batchItemFailures": [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-1"}]}
    assert process_batch({"Records": []}, fail) == {"batchItemFailures": []}


def test_a_failed_records_error_text_never_reaches_the_logs(caplog):
    def fail(record):
        raise ValueError("ann@example.com is not on this list")

    with caplog.at_level(logging.INFO):
        process_batch(sqs_event("{\"email\": \"ann@example.com\"}", "ok"),
                      lambda record: fail(record) if "ann" in record.body else None)
    assert "ann@example.com" not in caplog.text
    (failure,) = [record for record in caplog.records if record.getMessage() == "queue record failed"]
    assert failure.error == "ValueError" and "ann" not in str(failure.__dict__)


def test_records_read_as_powertools_names_them():
    seen = []
    event = sqs_event("x")
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "4"
    process_batch(event, lambda record: seen.append(
        (record.message_id, record.body, record.attributes.approximate_receive_count)))
    assert seen == [("m-0", "x", "4")]
