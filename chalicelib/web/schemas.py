"""JSON Schemas more than one `/v1` blueprint validates against."""
from __future__ import annotations

from typing import Any


def _text(max_length: int) -> dict[str, Any]:
    return {"type": ["string", "null"], "maxLength": max_length}


CONTACT = {
    "name": _text(200),
    "company": _text(200),
    "phone": _text(40),
    "website": _text(2000),
    "field_of_activity": _text(200),
    "attributes": {
        "type": "object",
        "maxProperties": 50,
        "additionalProperties": {"type": "string", "maxLength": 500},
    },
}
CONSENT_PROOF = {
    "type": "object",
    "additionalProperties": False,
    "required": ["given_at"],
    "properties": {
        "given_at": {"type": "string", "maxLength": 40},
        "ip": {"type": "string", "maxLength": 45},
        "user_agent": {"type": "string", "maxLength": 1000},
        "form_url": {"type": "string", "maxLength": 2000},
        "consent_text_version": {"type": "integer", "minimum": 1},
    },
}
SUBSCRIBER_PATCH = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": CONTACT,
}
