"""Imports: the job record, and one result item per chunk (written once, so redelivery of a
chunk cannot count it twice), which notes the lines the chunk set out to write before it is done."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib.domain.clock import now
from chalicelib.domain.errors import NotFound
from chalicelib.domain.ids import new_id
from chalicelib.store.models import ImportChunk, ImportJob, ImportRowError
from chalicelib.store.transactions import condition_failed, write_transaction

# An import's report is kept for a month; it holds line numbers and messages, no cell values.
IMPORT_RETENTION = timedelta(days=30)
# Bound the report's size: DynamoDB items hold 400 KB.
MAX_ERRORS_PER_CHUNK = 200
# What an import's summary adds up (ImportJob and ImportChunk attributes of the same names).
COUNTS = ("confirmed", "pending", "unchanged", "suppressed", "rate_limited", "invalid")


@dataclass
class ChunkOutcome:
    """Counts for one chunk; `errors` are (line, field, message)."""

    confirmed: int = 0
    pending: int = 0
    unchanged: int = 0
    suppressed: int = 0
    # Rows not written: their confirmation mail would pass the address's limits (import again later).
    rate_limited: int = 0
    errors: list[tuple[int, str | None, str]] = field(default_factory=list)


def new_import_id() -> str:
    return new_id("imp")


def create_import(account_id: str, list_id: str, import_id: str, total_rows: int,
                  total_chunks: int) -> ImportJob:
    """Record an import whose chunks are all queued (so none is left "processing" for ever)."""
    at = now()
    job = ImportJob(account_id=account_id, import_id=import_id, list_id=list_id,
                    total_rows=total_rows, total_chunks=total_chunks, created_at=at,
                    expires_at=at + IMPORT_RETENTION, chunks_done=0, **dict.fromkeys(COUNTS, 0))
    job.save(condition=ImportJob.import_id.does_not_exist())
    return job


def get_import(account_id: str, list_id: str, import_id: str) -> ImportJob:
    """The account's import of that list; anything else is NotFound (P28)."""
    try:
        job = ImportJob.get(account_id, import_id)
    except ImportJob.DoesNotExist:
        raise NotFound("no such import", field="import_id") from None
    if job.list_id != list_id:
        raise NotFound("no such import", field="import_id")
    return job


def chunk_plan(import_id: str, chunk: int) -> set[int] | None:
    """The lines an earlier delivery of the chunk set out to write (none at the first delivery);
    None when the chunk is done."""
    try:
        item = ImportChunk.get(import_id, chunk)
    except ImportChunk.DoesNotExist:
        return set()
    return None if item.finished_at is not None else set(item.planned or ())


def plan_chunk(import_id: str, chunk: int, lines: set[int]) -> None:
    """Note the lines the chunk is about to write, before writing them (added to any earlier
    delivery's), so that a redelivery knows the entries it finds there as its own."""
    ImportChunk(import_id=import_id, chunk=chunk).update(actions=[
        ImportChunk.planned.add(lines), ImportChunk.expires_at.set(now() + IMPORT_RETENTION)])


def record_chunk(account_id: str, import_id: str, chunk: int, outcome: ChunkOutcome) -> bool:
    """Store a chunk's outcome once, and add it to the import's summary in the same transaction;
    False when it was already stored (a redelivery)."""
    at = now()
    item = ImportChunk(
        import_id=import_id, chunk=chunk, confirmed=outcome.confirmed, pending=outcome.pending,
        unchanged=outcome.unchanged, suppressed=outcome.suppressed, rate_limited=outcome.rate_limited,
        invalid=len(outcome.errors),
        errors=[ImportRowError(line=line, field=name, message=message)
                for line, name, message in outcome.errors[:MAX_ERRORS_PER_CHUNK]],
        finished_at=at, expires_at=at + IMPORT_RETENTION,
    )
    added = [ImportJob.chunks_done.add(1), *(getattr(ImportJob, name).add(getattr(item, name))
                                             for name in COUNTS)]
    try:
        with write_transaction(ImportChunk) as transaction:
            transaction.save(item, condition=ImportChunk.finished_at.does_not_exist())
            transaction.update(ImportJob(account_id=account_id, import_id=import_id), actions=added,
                               condition=ImportJob.chunks_done.exists())
    except TransactWriteError as error:
        if condition_failed(error, 0):
            return False
        if not condition_failed(error, 1):
            raise
        # An import recorded before summaries were kept (or deleted meanwhile): the chunk alone.
        return _save_chunk(item)
    return True


def _save_chunk(item: ImportChunk) -> bool:
    try:
        item.save(condition=ImportChunk.finished_at.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def chunk_totals(job: ImportJob) -> tuple[int, dict[str, int]]:
    """How many of the import's chunks are done, and their counts added up: from its summary
    (one item, read already), or, for an import recorded before summaries were kept, from
    every finished chunk."""
    if job.chunks_done is not None:
        return int(job.chunks_done), {name: int(getattr(job, name) or 0) for name in COUNTS}
    results = [item for item in ImportChunk.query(job.import_id) if item.finished_at is not None]
    return len(results), {name: sum(int(getattr(item, name)) for item in results) for name in COUNTS}


# The first page of chunks holds the errors a report lists when every chunk kept its most;
# pages after it are bigger (DynamoDB ends a page at 1 MB anyway).
_FIRST_PAGE = 5
_NEXT_PAGES = 100


def first_errors(import_id: str, wanted: int) -> list[ImportRowError]:
    """The errors the finished chunks keep, chunk by chunk, read until `wanted` of them are
    found: the chunks hold the file's lines in order, so they are the first ones by line."""
    errors: list[ImportRowError] = []
    start, page = None, _FIRST_PAGE
    while len(errors) < wanted:
        result = ImportChunk.query(import_id, limit=page, last_evaluated_key=start)
        for item in result:
            if item.finished_at is not None:
                errors.extend(item.errors)
        start, page = result.last_evaluated_key, _NEXT_PAGES
        if start is None:
            break
    return errors
