"""Independent writes issued a few at a time, for work that must end within an API request.

An erasure takes the person off one purge list per send batch that mailed them (P18): a person
with a thousand campaign mails means a thousand UpdateItems, 7-10 s one after another at
DynamoDB's latency, too near API Gateway's 29 s. MAX_IN_FLIGHT at a time, they take an eighth.
botocore's clients are thread-safe, and PynamoDB shares a model's client between threads (the
botocore session a client is built from, which is not, it keeps per thread); MAX_IN_FLIGHT stays
under that client's pool of connections (PynamoDB's max_pool_connections, 10), so no write waits
for one.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextvars import copy_context
from typing import TypeVar

T = TypeVar("T")

MAX_IN_FLIGHT = 8
# The pool's threads' names begin so (bench/privacy.py counts their calls apart).
THREAD_PREFIX = "tidings-write"


def write_concurrently(write: Callable[[T], bool], items: Sequence[T]) -> int:
    """Call `write` on each item, at most MAX_IN_FLIGHT at once; how many returned True.

    The first error is raised here, once the writes already started have ended, and the writes
    not yet started never start: a caller cannot take a failed write for done (the erasure is
    then not completed, and may be made again: each write is idempotent)."""
    if not items:
        return 0
    # The first in this thread: it builds the model's client (slow), which the others then share.
    written = int(write(items[0]))
    with ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT, thread_name_prefix=THREAD_PREFIX) as pool:
        # Each in a copy of this context: the writes belong to the same function's call (the
        # local stack's permission checks and secrets cache key on it, chalicelib/local/invoke.py).
        futures = [pool.submit(copy_context().run, write, item) for item in items[1:]]
        wait(futures, return_when=FIRST_EXCEPTION)
        pool.shutdown(cancel_futures=True)
    failed = [future.exception() for future in futures if not future.cancelled() and future.exception()]
    if failed:
        raise failed[0]
    return written + sum(future.result() for future in futures)
