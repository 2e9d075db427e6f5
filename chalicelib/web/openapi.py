"""The OpenAPI 3 document, built from the `/v1` route registry (web/routes.py)."""
from __future__ import annotations

import re
from typing import Any

from chalicelib.web.routes import OPERATIONS, Operation

_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
            },
        }
    },
}


def _operation(op: Operation) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "summary": op.summary,
        "security": [{"bearer": []}],
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", op.path)
        ]
        + [{"name": name, "in": "query", "schema": {"type": "string"}} for name in op.query]
        + [{"name": name, "in": "header", "schema": {"type": "string"}} for name in op.headers],
        "responses": {
            str(op.status): {"description": "Success"},
            "4XX": {
                "description": "Error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    }
    if op.write:
        doc["description"] = "Needs a full-access key."
    if op.csv_body_limit:
        doc["requestBody"] = {
            "required": True,
            "description": f"A CSV file with a header row, at most {op.csv_body_limit} bytes.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    if op.body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": op.body}},
        }
    return doc


def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tidings API", "version": "1"},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _ERROR},
        },
    }
