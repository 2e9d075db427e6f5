"""A campaign batch's suppression reads, made as its recipients come due (P07: an opt-out takes
effect at once; issue 15: each recipient read about once).

A batch reads the suppressions of the recipients whose reserved send times fall within
LOOKAHEAD_SECONDS (at least the next one, at most READ_CHUNK: one BatchGetItem), and the next
ones when it reaches them. The same call reads their entries on the list (store/sending_state.
due_recipients): one restricted since the fan-out (P17), no longer confirmed or no longer on the
list is held back like a suppressed one, and one who withdrew tracking consent since (P30) gets
no pixel nor tracked links. A batch on time reads each recipient a fifth of a second before it is
due; one running behind (a continuation arrives up to a second late: SQS delays are whole seconds)
reads every recipient already due, up to READ_CHUNK, and mails them over the next few seconds.
Either way a recipient is checked shortly before it is mailed rather than when the batch started,
and a batch that hands its rest back to wait for the SES rate has read little more than it sent:
its continuation reads the rest. A longer lookahead makes fewer calls but reads more recipients
twice (those read, then handed back): a fifth of a second costs the least at SES's default 14 a
second (bench/sending_model.py).

An invocation's first read is made with its campaign, its account and its list (first_due, at
most FIRST_DUE_WITH_BATCH recipients; store/sending_state.campaign_state): a continuation, which
must read those again, costs no call of its own for them (issue 4).

Right after each read, the batch files the recipients it may now mail for the 30-day purge
(`cleared`, P21), before mailing any of them: no one suppressed or erased since the fan-out is
written to another table (P18).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from chalicelib.domain.sending import MAX_SEND_WAIT_SECONDS, Reservation
from chalicelib.domain.subscriptions import Status, may_track
from chalicelib.store.sending_state import FIRST_DUE_WITH_BATCH, DueRecipients, due_recipients
from chalicelib.store.subscribers import tracking_state

LOOKAHEAD_SECONDS = 0.2
# Four keys a recipient (the account's, the platform's and the list's suppression, the list's
# entry): one BatchGetItem holds 100. The list's own suppression is read although a one-list
# unsubscribe also ends the entry: it is written first, so it holds while the entry's end is
# still to come or failed (services/preferences.unsubscribe).
READ_CHUNK = 25


class DueSuppressions:
    """Which of a batch's recipients (their keyed hashes and addresses, in sending order) are held
    back from the list's mail (suppressed, restricted, gone), and which may still be tracked,
    read chunk by chunk as their send times come. `tracking_required`: the list asks for
    tracking consent (P30). `first_read`: (n, the read of the first n recipients), made already
    with the batch's own (first_due, store/sending_state.campaign_state)."""

    def __init__(self, account_id: str, list_id: str, hashes: Sequence[str], addresses: Sequence[str],
                 reservation: Reservation | None, cleared: Callable[[list[str]], None],
                 tracking_required: bool = True,
                 first_read: tuple[int, DueRecipients] | None = None) -> None:
        self._account_id = account_id
        self._list_id = list_id
        self._hashes = hashes
        self._addresses = addresses
        self._reservation = reservation
        self._cleared = cleared
        self._tracking_required = tracking_required
        self._read_to = 0
        self._suppressed: set[str] = set()
        self._untrackable: set[str] = set()
        self._first_read = first_read

    def suppressed(self, position: int) -> bool:
        """Whether the recipient at `position` is held back: read now (with those due soon after
        it) unless an earlier read of this batch covered it."""
        if position >= self._read_to:
            if self._first_read is not None and position < self._first_read[0]:
                end, due = self._first_read
            else:
                end = _due_end(self._reservation, position, min(len(self._hashes), position + READ_CHUNK))
                due = due_recipients(self._account_id, self._list_id, self._hashes[position:end],
                                     self._addresses[position:end])
            self._first_read = None
            chunk = self._hashes[position:end]
            held = set(due.suppressed)
            for hashed, address in zip(chunk, self._addresses[position:end], strict=True):
                if not due.still_mailable(address):
                    held.add(hashed)
                elif not may_track(self._tracking_required, Status.CONFIRMED,
                                   tracking_state(due.entries[address])):
                    self._untrackable.add(hashed)
            self._cleared([hashed for hashed in chunk if hashed not in held])
            self._suppressed |= held
            self._read_to = end
        return self._hashes[position] in self._suppressed

    def still_trackable(self, hashed: str) -> bool:
        """False once a read found the recipient's tracking consent withdrawn (or no longer
        given, where the list asks for it); True before their read."""
        return hashed not in self._untrackable


def first_due(count: int, reservation: Reservation | None) -> int:
    """How many of a batch's `count` recipients to read before it starts, with its campaign: its
    first chunk (those due within the lookahead), cut to FIRST_DUE_WITH_BATCH when a whole
    READ_CHUNK is due (a batch running behind), unless the `count` fill whole chunks: cut, they
    would leave one more chunk to read and file for the purge at the end, for no call saved.
    0 without send times (they are reserved after that read) or when the first is not due yet
    (the batch hands it back unread)."""
    if reservation is None or count == 0 or reservation.slot(0) - time.time() > MAX_SEND_WAIT_SECONDS:
        return 0
    end = _due_end(reservation, 0, min(count, READ_CHUNK))
    if end <= FIRST_DUE_WITH_BATCH:
        return end
    return FIRST_DUE_WITH_BATCH if count % READ_CHUNK else 0


def _due_end(reservation: Reservation | None, start: int, last: int) -> int:
    """The end of the chunk that starts at `start`: the recipients due within the lookahead, up to
    `last`."""
    if reservation is None:
        return last
    horizon = time.time() + LOOKAHEAD_SECONDS
    end = start + 1
    while end < last and reservation.slot(end) <= horizon:
        end += 1
    return end
