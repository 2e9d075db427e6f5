"""Draining a queue on a schedule (functions.QueueDrain): the waiting messages go to a worker's
batch handler a batch at a time, and each is deleted unless the handler gave it back.

What a queue trigger's partial batch failure does, done by the function itself: a message given
back stays on the queue, shows again after the visibility timeout, and after its receives moves to
the dead-letter queue. A run stops when the queue is empty or its time runs short; what is left
waits for the next run.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from chalicelib.adapters.sqs import SQS_MAX_BATCH, delete, receive
from chalicelib.functions import QueueDrain

# A run starts no batch with less time left than this: a batch of 1,000 takes a hundred
# receives, its handling and a hundred deletes.
BATCH_MILLIS = 20_000

# A batch handler: records ({"messageId", "body"}) in, the message ids to give back out.
BatchHandler = Callable[[list[dict[str, str]]], list[str]]


@dataclass
class DrainReport:
    batches: int = 0
    messages: int = 0
    # Given back by the handler, or not deleted by SQS: both come back after the visibility timeout.
    returned: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def drain(queue: QueueDrain, handle: BatchHandler, time_left_ms: Callable[[], int]) -> DrainReport:
    """Hand `queue`'s waiting messages to `handle` a batch at a time while more than BATCH_MILLIS
    are left, deleting those it does not give back."""
    report = DrainReport()
    while time_left_ms() > BATCH_MILLIS:
        messages = _receive_batch(queue)
        if not messages:
            break
        given_back = set(handle([{"messageId": message["MessageId"], "body": message["Body"]}
                                 for message in messages]))
        done = [message["ReceiptHandle"] for message in messages if message["MessageId"] not in given_back]
        report.batches += 1
        report.messages += len(messages)
        report.returned += len(messages) - len(done) + delete(queue.queue, done)
        if len(messages) < queue.batch_size:
            break  # the queue had no more
    return report


def _receive_batch(queue: QueueDrain) -> list[dict[str, Any]]:
    """Up to a batch of waiting messages, ten a receive, stopping at the first answer with fewer
    than asked for: the queue had no more for this run. Asking again would cost every run that
    finds a few events an empty receive (a third of its SQS calls); if SQS's short poll missed a
    message, the next run takes it."""
    messages: list[dict[str, Any]] = []
    while len(messages) < queue.batch_size:
        asked = min(SQS_MAX_BATCH, queue.batch_size - len(messages))
        received = receive(queue.queue, asked)
        messages.extend(received)
        if len(received) < asked:
            break
    return messages
