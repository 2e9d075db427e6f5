"""Rule tests that bite where `make mutants` (run on df40c1f) found none did: the message purge's
groups of tracking markers (P21, P25), a bucket holding lists of markers only. The store is called
directly against moto with a group of two, so the test stays among the fastest of its rules (each
mutant gets the fastest tests named for its module's rules, 3 s in all)."""
from __future__ import annotations

from tests.support.retention import day, marker_lists_in_purge_order, stored_markers


def _never() -> bool:
    return False


def _always() -> bool:
    return True


def test_p21_p25_a_bucket_of_marker_lists_is_purged_a_group_at_a_time_and_its_rest_at_its_end(aws,
                                                                                              monkeypatch):
    from chalicelib.store import retention as retention_store
    from chalicelib.store.models import MessagePurgeList
    from chalicelib.store.retention import MARKERS

    # A group is 100 in the deployment; markers alone fill it (no message records here).
    monkeypatch.setattr(retention_store, "RECORDS_CHECKED", 2)
    marker_lists_in_purge_order([1, 1, 1])
    stopped = retention_store.purge_messages(day(31), _never)
    assert (stopped.also[MARKERS], stopped.count, stopped.complete) == (2, 0, False), \
        "the first two lists' markers make a group; then time was up"
    assert len(stored_markers()) == 1 and MessagePurgeList.count() == 1
    # The bucket's last list is less than a group: it is purged at the bucket's end, past its expiry.
    rest = retention_store.purge_messages(day(31), _always)
    assert (rest.also[MARKERS], rest.complete) == (1, True)
    assert stored_markers() == [] and MessagePurgeList.count() == 0
