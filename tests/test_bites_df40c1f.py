"""Rule tests that bite where `make mutants` (run on df40c1f) found none did: the message purge's
groups of tracking markers (P21, P25), a bucket holding lists of markers only. The store is called
directly against moto with a group of two, so the test stays among the fastest of its rules (each
mutant gets the fastest tests named for its module's rules, 3 s in all)."""
from __future__ import annotations

from tests.support.retention import day, marker_lists_in_purge_order, stored_markers


def test_p21_p25_a_bucket_of_marker_lists_is_purged_a_group_at_a_time_and_its_rest_at_its_end(aws,
                                                                                              monkeypatch):
    from chalicelib.store import retention as retention_store
    from chalicelib.store.models import MessagePurgeList
    from chalicelib.store.retention import MARKERS

    # A group is 100 in the deployment; markers alone fill it (no message records here).
    monkeypatch.setattr(retention_store, "RECORDS_CHECKED", 2)
    marker_lists_in_purge_order([1, 1, 1])
    checked: list[int] = []

    def more_time() -> bool:
        checked.append(len(stored_markers()))
        return True

    done = retention_store.purge_messages(day(31), more_time)
    # The first two lists' markers make a group, deleted before the time is checked; the bucket's
    # last list, less than a group, is purged at the bucket's end, past its markers' expiry.
    assert checked == [1, 0], "the time is checked after each group of markers and the bucket's rest"
    assert (done.also[MARKERS], done.count, done.complete) == (3, 0, True)
    assert stored_markers() == [] and MessagePurgeList.count() == 0
