"""The queued half of a public signup: what the route validated, for the signups worker to apply.

Public routes answer after validating, counting the abuse limits and queueing this job, whatever
the address's state, so neither the answer nor its timing tells whether the address is new,
pending, confirmed or suppressed (P05).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.subscriptions import ConsentEvidence, Contact, Source

JOB_TYPE = "public_signup"
RESEND_JOB_TYPE = "resend_confirmation"


def _evidence_dict(evidence: ConsentEvidence) -> dict[str, Any]:
    data = asdict(evidence)
    data["given_at"] = evidence.given_at.isoformat()
    data["source"] = evidence.source.value
    return data


def _evidence(data: dict[str, Any]) -> ConsentEvidence:
    data = dict(data)
    data["given_at"] = datetime.fromisoformat(data["given_at"])
    data["source"] = Source(data["source"])
    return ConsentEvidence(**data)


@dataclass(frozen=True)
class SignupJob:
    list_id: str
    contact: Contact
    consent: ConsentEvidence
    # P30: the separate tracking consent, when the box was ticked.
    tracking: ConsentEvidence | None = None

    def to_dict(self) -> dict[str, Any]:
        job = {"type": JOB_TYPE, "list_id": self.list_id, "contact": asdict(self.contact),
               "consent": _evidence_dict(self.consent)}
        if self.tracking is not None:
            job["tracking"] = _evidence_dict(self.tracking)
        return job


@dataclass(frozen=True)
class ResendJob:
    """Someone asked for a new confirmation link; the worker mails it only to a live pending signup."""

    list_id: str
    address: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": RESEND_JOB_TYPE, "list_id": self.list_id, "address": self.address}


def signup_job_from_dict(data: dict[str, Any]) -> SignupJob | ResendJob:
    """Parse a queued job; a malformed one raises InvalidInput (it goes to the dead-letter queue)."""
    if data.get("type") == RESEND_JOB_TYPE and isinstance(data.get("list_id"), str) \
            and isinstance(data.get("address"), str):
        return ResendJob(list_id=data["list_id"], address=data["address"])
    if data.get("type") != JOB_TYPE:
        raise InvalidInput(f"unknown signup job type {data.get('type')!r}", field="type")
    try:
        tracking = data.get("tracking")
        return SignupJob(list_id=data["list_id"], contact=Contact(**data["contact"]),
                         consent=_evidence(data["consent"]),
                         tracking=_evidence(tracking) if tracking is not None else None)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"malformed signup job: {exc}", field="job") from None
