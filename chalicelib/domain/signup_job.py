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


@dataclass(frozen=True)
class SignupJob:
    list_id: str
    contact: Contact
    consent: ConsentEvidence

    def to_dict(self) -> dict[str, Any]:
        consent = asdict(self.consent)
        consent["given_at"] = self.consent.given_at.isoformat()
        consent["source"] = self.consent.source.value
        return {"type": JOB_TYPE, "list_id": self.list_id, "contact": asdict(self.contact),
                "consent": consent}


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
        consent = dict(data["consent"])
        consent["given_at"] = datetime.fromisoformat(consent["given_at"])
        consent["source"] = Source(consent["source"])
        return SignupJob(list_id=data["list_id"], contact=Contact(**data["contact"]),
                         consent=ConsentEvidence(**consent))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"malformed signup job: {exc}", field="job") from None
