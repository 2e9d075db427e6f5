"""Imports: the job record, and one result item per chunk (written once, so redelivery of a
chunk cannot count it twice), which notes the lines the chunk set out to write before it is done."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from pynamodb.exceptions import PutError

from chalicelib.domain.clock import now
from chalicelib.domain.errors import NotFound
from chalicelib.domain.ids import new_id
from chalicelib.store.models import ImportChunk, ImportJob, ImportRowError

# An import's report is kept for a month; it holds line numbers and messages, no cell values.
IMPORT_RETENTION = timedelta(days=30)
# Bound the report's size: DynamoDB items hold 400 KB.
MAX_ERRORS_PER_CHUNK = 200


@dataclass
class ChunkOutcome:
    """Counts for one chunk; `errors` are (line, field, message)."""

    confirmed: int = 0
    pending: int = 0
    unchanged: int = 0
    suppressed: int = 0
    errors: list[tuple[int, str | None, str]] = field(default_factory=list)


def new_import_id() -> str:
    return new_id("imp")


def create_import(account_id: str, list_id: str, import_id: str, total_rows: int,
                  total_chunks: int) -> ImportJob:
    """Record an import whose chunks are all queued (so none is left "processing" for ever)."""
    at = now()
    job = ImportJob(account_id=account_id, import_id=import_id, list_id=list_id,
                    total_rows=total_rows, total_chunks=total_chunks, created_at=at,
                    expires_at=at + IMPORT_RETENTION)
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


def record_chunk(import_id: str, chunk: int, outcome: ChunkOutcome) -> bool:
    """Store a chunk's outcome once; False when it was already stored (a redelivery)."""
    at = now()
    item = ImportChunk(
        import_id=import_id, chunk=chunk, confirmed=outcome.confirmed, pending=outcome.pending,
        unchanged=outcome.unchanged, suppressed=outcome.suppressed, invalid=len(outcome.errors),
        errors=[ImportRowError(line=line, field=name, message=message)
                for line, name, message in outcome.errors[:MAX_ERRORS_PER_CHUNK]],
        finished_at=at, expires_at=at + IMPORT_RETENTION,
    )
    try:
        item.save(condition=ImportChunk.finished_at.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def chunk_results(import_id: str) -> list[ImportChunk]:
    """The outcomes of the import's chunks that are done."""
    return [item for item in ImportChunk.query(import_id) if item.finished_at is not None]
