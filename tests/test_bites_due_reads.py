"""A campaign batch's suppression reads as its recipients come due (P07, P12, P18, P21;
services/sending/due_suppressions.py): tests that bite where the mutation run of that module
(`python -m tests.mutation --only chalicelib/services/sending/due_suppressions.py`) found none
did. Plain calls with a fixed clock and an in-memory suppression list, no AWS: what is read,
when, and what is filed for the purge."""
from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from chalicelib.domain.sending import Reservation
from chalicelib.services.sending import due_suppressions
from chalicelib.services.sending.due_suppressions import LOOKAHEAD_SECONDS, READ_CHUNK, DueSuppressions
from chalicelib.store.models import Subscriber, TrackingConsentProof
from chalicelib.store.sending_state import DueRecipients

T = 1_800_000_000.0
ACCOUNT, LIST = "acc_due", "lst_due"


class Reads:
    """The suppression list and the list's entries the batch reads (who opted out, who was
    restricted or removed, changeable mid-batch), the clock, and what the batch read and filed
    for the purge. Recipient `hN` has the address `aN`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = T
        self.opted_out: set[str] = set()
        self.restricted: set[str] = set()
        self.gone: set[str] = set()
        self.consented: set[str] = set()
        self.read: list[list[str]] = []
        self.cleared: list[list[str]] = []
        monkeypatch.setattr(due_suppressions, "time", SimpleNamespace(time=lambda: self.now))
        monkeypatch.setattr(due_suppressions, "due_recipients", self._due_recipients)

    def _due_recipients(self, account_id: str, list_id: str, hashes: list[str],
                        addresses: list[str]) -> DueRecipients:
        assert (account_id, list_id) == (ACCOUNT, LIST)
        assert [address.replace("a", "h", 1) for address in addresses] == list(hashes), "read together"
        self.read.append(list(hashes))
        entries = {address: Subscriber(LIST, address, account_id=ACCOUNT, status="confirmed",
                                       restricted=address in self.restricted,
                                       tracking=_consent() if address in self.consented else None)
                   for address in addresses if address not in self.gone}
        return DueRecipients({hashed for hashed in hashes if hashed in self.opted_out}, entries)

    def batch(self, hashes: list[str], reservation: Reservation | None) -> DueSuppressions:
        return DueSuppressions(ACCOUNT, LIST, hashes, [hashed.replace("h", "a", 1) for hashed in hashes],
                               reservation, cleared=self.cleared.append)


def _consent() -> TrackingConsentProof:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return TrackingConsentProof(given_at=at, confirmed_at=at)


def _hashes(count: int) -> list[str]:
    return [f"h{position}" for position in range(count)]


@pytest.fixture()
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    return Reads(monkeypatch)


def test_p07_p21_an_opt_out_after_the_first_mail_stops_the_next_one_not_yet_due(reads):
    """One a second: each recipient is read when it comes due, not with the first, so an opt-out
    made while the first is mailed counts for the second; only those it may mail are filed."""
    batch = reads.batch(_hashes(3), Reservation(first=T, interval=1.0))
    assert batch.suppressed(0) is False
    reads.opted_out.add("h1")  # the one-click unsubscribe, while h0 is mailed
    reads.now = T + 1
    assert batch.suppressed(1) is True
    reads.now = T + 2
    assert batch.suppressed(2) is False
    assert reads.read == [["h0"], ["h1"], ["h2"]]
    assert reads.cleared == [["h0"], [], ["h2"]], "the opted-out one is not filed for the purge (P18)"


def test_p07_the_lookahead_reads_a_recipient_due_at_its_very_end_and_none_later(reads):
    at_the_end = reads.batch(_hashes(3), Reservation(first=T, interval=LOOKAHEAD_SECONDS))
    assert at_the_end.suppressed(0) is False
    assert reads.read == [["h0", "h1"]], "h1 is due exactly LOOKAHEAD_SECONDS on: read now"
    reads.read.clear()
    just_after = reads.batch(_hashes(3), Reservation(first=T, interval=LOOKAHEAD_SECONDS + 0.001))
    assert just_after.suppressed(0) is False
    assert reads.read == [["h0"]]


def test_p12_a_recipient_asked_about_before_its_send_time_is_read_all_the_same(reads):
    """The read covers at least the recipient asked about, however early the batch asks."""
    reads.opted_out.add("h0")
    alone = reads.batch(_hashes(1), Reservation(first=T + 60, interval=1.0))
    assert alone.suppressed(0) is True
    first_of_three = reads.batch(_hashes(3), Reservation(first=T + 60, interval=1.0))
    assert first_of_three.suppressed(0) is True
    assert reads.read == [["h0"], ["h0"]] and reads.cleared == [[], []], "the others are not due yet"


def test_p12_without_send_times_every_recipient_is_read_a_chunk_at_a_time(reads):
    reads.opted_out.update({"h0", "h2"})
    small = reads.batch(_hashes(3), None)
    assert [small.suppressed(position) for position in range(3)] == [True, False, True]
    assert reads.read == [["h0", "h1", "h2"]] and reads.cleared == [["h1"]]


def test_p12_a_batch_running_behind_reads_what_is_due_a_chunk_at_a_time_and_remembers_it(reads):
    """Every send time already past: one read of READ_CHUNK (one BatchGetItem), then the rest.
    An opt-out found by the first read still answers after the second."""
    reads.opted_out.add("h0")
    batch = reads.batch(_hashes(READ_CHUNK + 7), Reservation(first=T - 100, interval=1.0))
    assert batch.suppressed(0) is True
    assert batch.suppressed(READ_CHUNK) is False
    assert batch.suppressed(0) is True, "asked again after a later read"
    assert reads.read == [_hashes(READ_CHUNK), _hashes(READ_CHUNK + 7)[READ_CHUNK:]]


def test_p17_a_recipient_restricted_or_gone_by_its_read_is_held_back_and_not_filed(reads):
    """Restricted (P17) or no longer on the list when read: held back like a suppressed one and
    not filed for the purge; the check is made when each comes due, as for opt-outs."""
    batch = reads.batch(_hashes(3), Reservation(first=T, interval=1.0))
    assert batch.suppressed(0) is False
    reads.restricted.add("a1")
    reads.gone.add("a2")
    reads.now = T + 1
    assert batch.suppressed(1) is True
    reads.now = T + 2
    assert batch.suppressed(2) is True
    assert reads.cleared == [["h0"], [], []]


def test_p30_tracking_is_dropped_only_for_one_whose_consent_is_gone_when_read(reads):
    """Before its read a recipient keeps the fan-out's answer; a read entry without tracking
    consent (on a list that asks for it) is no longer trackable, one with it still is."""
    batch = reads.batch(_hashes(2), None)
    assert batch.still_trackable("h0") and batch.still_trackable("h1"), "nothing read yet"
    reads.consented.add("a1")
    assert batch.suppressed(0) is False
    assert batch.still_trackable("h0") is False and batch.still_trackable("h1") is True
