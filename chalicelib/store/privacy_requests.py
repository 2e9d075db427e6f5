"""Privacy requests (P19) and the exports they produce (P16).

A request record holds the subject's keyed hash only; the export, a copy of the person's data,
lives in its own table for 7 days at most (never past what it copies) and is removed by erasure
like any other personal data.
"""
from __future__ import annotations

import json
import secrets
import zlib
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError

from chalicelib.config import hash_key
from chalicelib.domain.clock import now
from chalicelib.domain.errors import InvalidInput, NotFound
from chalicelib.domain.privacy import (
    RequestStatus,
    RequestType,
    Subject,
    due_at,
)
from chalicelib.domain.retention import purge_bucket
from chalicelib.store.models import PrivacyExport, PrivacyRequest
from chalicelib.store.paging import decode_cursor, encode_cursor


def create_request(account_id: str, request_type: RequestType, subject: Subject,
                   actor: str) -> PrivacyRequest:
    """Record a received request with its due date. The id sorts by receipt time."""
    at = now()
    request = PrivacyRequest(
        account_id=account_id,
        request_id=f"prq_{at.strftime('%Y%m%d%H%M%S%f')}{secrets.token_hex(4)}",
        type=request_type.value,
        subject_kind=subject.kind.value,
        subject_hash=subject.keyed_hash(hash_key()),
        actor=actor,
        status=RequestStatus.RECEIVED.value,
        received_at=at,
        due_at=due_at(at),
    )
    request.save(condition=PrivacyRequest.request_id.does_not_exist())
    return request


def complete_request(request: PrivacyRequest, outcome: dict[str, Any]) -> PrivacyRequest:
    """Mark the request answered, with its outcome (counts and flags, never contact data)."""
    request.update(actions=[
        PrivacyRequest.status.set(RequestStatus.COMPLETED.value),
        PrivacyRequest.completed_at.set(now()),
        PrivacyRequest.outcome.set(outcome),
    ])
    return request


def withdraw_request(request: PrivacyRequest) -> None:
    """Delete a request that changed nothing (a replay of one already answered), while it is
    still only received: an answered one stays on record (P19)."""
    try:
        request.delete(condition=PrivacyRequest.status == RequestStatus.RECEIVED.value)
    except DeleteError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def get_request(account_id: str, request_id: str) -> PrivacyRequest:
    """The account's request; another account's is NotFound (P28)."""
    if not request_id.isascii() or len(request_id) > 100:
        raise NotFound("no such privacy request", field="request_id")
    try:
        return PrivacyRequest.get(account_id, request_id)
    except PrivacyRequest.DoesNotExist:
        raise NotFound("no such privacy request", field="request_id") from None


def requests_page(account_id: str, limit: int,
                  cursor: str | None) -> tuple[list[PrivacyRequest], str | None]:
    """One page of the account's requests, newest first."""
    start = decode_cursor(cursor, f"privacy-requests:{account_id}")
    if start is not None and (start.get("account_id") or {}).get("S") != account_id:
        raise InvalidInput("'cursor' belongs to another listing", field="cursor")
    result = PrivacyRequest.query(account_id, scan_index_forward=False, limit=limit,
                                  last_evaluated_key=start)
    items = list(result)
    return items, encode_cursor(result.last_evaluated_key, f"privacy-requests:{account_id}")


def save_export(request: PrivacyRequest, export: dict[str, Any], expires_at: datetime) -> PrivacyExport:
    """Keep the export for download, compressed (a person with much history must still fit in
    one item), until `expires_at` (domain/privacy.export_expiry): filed under that day for the
    daily purge."""
    at = now()
    payload = zlib.compress(json.dumps(export, separators=(",", ":")).encode("utf-8"))
    stored = PrivacyExport(account_id=request.account_id, request_id=request.request_id,
                           subject_hash=request.subject_hash, payload=payload, created_at=at,
                           expires_at=expires_at,
                           purge_bucket=purge_bucket(expires_at, request.request_id))
    stored.save()
    return stored


def load_export(account_id: str, request_id: str) -> dict[str, Any] | None:
    """The export, or None when there is none or it has expired (TTL deletes it up to two days
    late, so the time is checked here). Strongly consistent: the preference centre reads back the
    export it has just written, and a read that missed so recent a write would answer "none"."""
    try:
        stored = PrivacyExport.get(account_id, request_id, consistent_read=True)
    except PrivacyExport.DoesNotExist:
        return None
    if stored.expires_at <= now():
        return None
    return json.loads(zlib.decompress(stored.payload).decode("utf-8"))
