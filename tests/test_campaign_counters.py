"""The campaign's sending counters (store/campaign_stats.py, P13, P30): what a batch sends and how
much of it could be tracked are added in one write, and a report adds up every shard, counters
written before the two shared one item included."""
from __future__ import annotations

from bench.aws_calls import count_aws_calls
from chalicelib.store.campaign_stats import TRACKABLE, add_counter, campaign_counters
from tests.support.counters import add_sent

CAMPAIGN = "cmp_counters"


def test_p30_a_batch_adds_its_mails_and_the_trackable_ones_in_one_write(aws):
    with count_aws_calls() as calls:
        add_sent(CAMPAIGN, 100, 37)
    assert calls.by_operation == {"dynamodb.UpdateItem": 1}
    add_sent(CAMPAIGN, 5, 0)
    counters = campaign_counters(CAMPAIGN)
    assert (counters["sent"], counters[TRACKABLE]) == (105, 37)


def test_p30_a_report_still_counts_trackable_mails_counted_apart_before(aws):
    add_counter(CAMPAIGN, TRACKABLE, 4)  # how a batch counted them before add_sent
    add_sent(CAMPAIGN, 10, 6)
    assert campaign_counters(CAMPAIGN)[TRACKABLE] == 10


def test_p13_no_trackable_mail_no_trackable_counter(aws):
    add_sent(CAMPAIGN, 3, 0)
    assert TRACKABLE not in campaign_counters(CAMPAIGN)
