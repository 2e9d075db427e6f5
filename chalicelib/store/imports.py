"""Imports: the job record, and one result item per chunk (written once, so redelivery of a
chunk cannot count it twice)."""
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


def create_import(account_id: str, list_id: str, total_rows: int, total_chunks: int) -> ImportJob:
    at = now()
    job = ImportJob(account_id=account_id, import_id=new_id("imp"), list_id=list_id,
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


def chunk_done(import_id: str, chunk: int) -> bool:
    try:
        ImportChunk.get(import_id, chunk)
    except ImportChunk.DoesNotExist:
        return False
    return True


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
        item.save(condition=ImportChunk.chunk.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def chunk_results(import_id: str) -> list[ImportChunk]:
    return list(ImportChunk.query(import_id))
