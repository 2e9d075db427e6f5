"""The sending model's suppression reads (bench/sending_model.py, issue 15): a batch reads each
recipient once as it comes due, however often it hands its rest back to wait for the rate."""
from __future__ import annotations

import math

import pytest

from bench.sending_model import SendCosts, simulate
from chalicelib.domain.sending import BATCH_SIZE
from chalicelib.services.sending.due_suppressions import READ_CHUNK

COSTS = SendCosts(per_mail=0.06, per_batch=0.07, per_read=0.01, per_page=0.45)


@pytest.mark.parametrize("rate", [3, 14])
def test_a_batch_handing_back_rereads_only_the_few_it_read_ahead(rate: float) -> None:
    timeline = simulate(2_000, rate, COSTS)
    assert timeline.handed_back > 20, "a rate the senders outpace: batches hand their rest back"
    assert 2_000 <= timeline.recipients_read <= 1.06 * 2_000


def test_a_batch_that_sends_without_waiting_reads_each_recipient_once() -> None:
    timeline = simulate(2_000, 200, COSTS)
    assert timeline.handed_back == 0 and timeline.recipients_read == 2_000


def test_a_batch_all_due_at_once_reads_a_chunk_a_call() -> None:
    timeline = simulate(2_000, 1_000_000, COSTS)
    assert timeline.suppression_reads == 2_000 // BATCH_SIZE * math.ceil(BATCH_SIZE / READ_CHUNK)


def test_at_a_slow_rate_a_batch_reads_about_what_is_due_within_the_lookahead() -> None:
    timeline = simulate(2_000, 14, COSTS)
    # The campaign lane sends about 13 a second: chunks of a dozen or so, not of READ_CHUNK.
    assert 2_000 / 20 < timeline.suppression_reads < 2_000 / 5
