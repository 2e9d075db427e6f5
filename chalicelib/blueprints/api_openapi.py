"""`/v1/openapi.json`: the API's own description. Like every `/v1` route it needs a key."""
from __future__ import annotations

from typing import Any

from chalicelib.web.openapi import openapi_document
from chalicelib.web.routes import ApiBlueprint, ApiCall

api = ApiBlueprint(__name__)


@api.route("/v1/openapi.json", "GET", "This OpenAPI document")
def get_openapi(call: ApiCall) -> dict[str, Any]:
    return openapi_document()
