"""`POST /v1/messages`: one transactional email to one recipient (P11)."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.queue_size import QUEUE_MESSAGE_MAX_BYTES
from chalicelib.web.routes import ApiBlueprint, ApiCall

api = ApiBlueprint(__name__)

_MAX_IDEMPOTENCY_KEY = 200
_QUEUED_LIMIT = (f"The whole message, queued as JSON (a non-ASCII character counts 6 bytes, 12 outside "
                 f"the BMP; HTML alone also makes the text part), must fit {QUEUE_MESSAGE_MAX_BYTES} "
                 f"bytes: some 40,000 non-Latin characters. A larger one is 413 naming `html` or `text`.")
MESSAGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["to", "subject"],
    "properties": {
        # An array is accepted by the schema only to be refused with a clear reason below.
        "to": {"type": ["string", "array"], "maxLength": 320},
        "subject": {"type": "string", "minLength": 1, "maxLength": 500},
        "html": {"type": ["string", "null"], "maxLength": 200_000, "description": _QUEUED_LIMIT},
        "text": {"type": ["string", "null"], "maxLength": 100_000, "description": _QUEUED_LIMIT},
        "from_address": {"type": ["string", "null"], "maxLength": 320},
        "from_name": {"type": ["string", "null"], "maxLength": 100, "pattern": "^[^\\r\\n]*$"},
        "reply_to": {"type": ["string", "null"], "maxLength": 320},
        "variables": {"type": ["object", "null"], "maxProperties": 50,
                      "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_]{0,39}$"},
                      "additionalProperties": {"type": ["string", "number", "boolean", "null"],
                                               "maxLength": 5000}},
    },
}


@api.route("/v1/messages", "POST", "Queue one transactional email to one recipient (P11); an "
           "Idempotency-Key header (printable, at most 200 characters) makes a retried request send "
           "once; for 24 hours the key is held for its request, and the key with a different request "
           "is 422", write=True, body=MESSAGE, status=202, headers=("Idempotency-Key",))
def post_message(call: ApiCall) -> dict[str, Any]:
    from chalicelib.services.transactional import queue_transactional
    if not isinstance(call.body["to"], str):
        raise InvalidInput("'to' takes exactly one address: transactional mail is never bulk (P11); "
                           "send one request per recipient", field="to")
    key = (call.request.headers.get("idempotency-key") or "").strip(" \t") or None
    if key is not None and len(key) > _MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(f"'Idempotency-Key' is longer than {_MAX_IDEMPOTENCY_KEY} characters",
                           field="Idempotency-Key")
    if key is not None and not key.isprintable():  # control characters, U+2028 and the like
        raise InvalidInput("'Idempotency-Key' holds a character that is not printable",
                           field="Idempotency-Key")
    message_id = queue_transactional(call.principal.account_id, call.body, key)
    return {"message_id": message_id, "status": "queued"}
