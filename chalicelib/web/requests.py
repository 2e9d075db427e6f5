"""Reading request bodies: size limit, JSON syntax, and a JSON Schema per route."""
from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from chalice.app import Request

from chalicelib.config import settings
from chalicelib.domain.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType, shown_name
from chalicelib.domain.numbers import whole_number

Schema = dict[str, Any]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# No request body needs more; Python's JSON parser would raise RecursionError near 1,000.
MAX_JSON_DEPTH = 32


def raw_body(request: Request, limit: int | None = None) -> bytes:
    """The body, refused with 413 when over `limit` (default: the configured limit)."""
    body = request.raw_body or b""
    limit = limit or settings().max_body_bytes
    if len(body) > limit:
        raise PayloadTooLarge(f"request body is over {limit} bytes", field="body")
    return body


def client_ip(request: Request) -> str | None:
    """The caller's IP as API Gateway saw it; X-Forwarded-For is whatever the client wrote."""
    return (request.context.get("identity") or {}).get("sourceIp")


def _media_type(request: Request, default: str) -> str:
    return (request.headers.get("content-type") or default).split(";")[0].strip().lower()


def csv_body(request: Request, limit: int) -> str:
    """A `text/csv` body as text (UTF-8, a byte-order mark dropped)."""
    body = raw_body(request, limit)
    if _media_type(request, "text/csv") != "text/csv":
        raise UnsupportedMediaType("send the file as text/csv", field="Content-Type")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the file is not UTF-8 text (byte {exc.start})", field="body") from None


def json_body(request: Request, schema: Schema) -> dict[str, Any]:
    """Parse and validate a JSON object body; unknown fields are refused by the schema."""
    body = raw_body(request)
    if _media_type(request, "application/json") != "application/json":
        raise UnsupportedMediaType("send the body as application/json", field="Content-Type")
    try:
        data = json.loads(body.decode("utf-8") or "null", object_pairs_hook=_object)
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError: JSON's errors, and 4,300 digits
        raise InvalidInput(f"malformed JSON: {exc}", field="body") from None
    except RecursionError:
        raise InvalidInput(f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep",
                           field="body") from None
    check_json_values(data)
    _validator(json.dumps(schema, sort_keys=True))(data)
    return data


class _RepeatedKeys(dict[str, Any]):
    """A JSON object that gave a key more than once; `repeated` is the first such key."""

    repeated: str


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps a repeated key's last value, other parsers (a gateway's, a log reader's)
    # its first: the object is marked here and refused by check_json_values, naming the field.
    data = dict(pairs)
    if len(data) == len(pairs):
        return data
    seen: set[str] = set()
    marked = _RepeatedKeys(data)
    for key, _ in pairs:
        if key in seen:
            marked.repeated = key
            break
        seen.add(key)
    return marked


def check_json_values(data: Any) -> None:
    """InvalidInput naming the field for JSON nested deeper than MAX_JSON_DEPTH, giving a key twice
    in one object, or holding a lone surrogate (`"\\ud800"` parses, but no UTF-8 store or mail can
    hold it)."""
    stack: list[tuple[Any, str, int]] = [(data, "body", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise InvalidInput(f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep", field=where)
        if isinstance(value, _RepeatedKeys):
            name = value.repeated if where == "body" else f"{where}.{value.repeated}"
            _check_text(name, name)
            name = name[:100]  # a key may be as long as the body
            raise InvalidInput(f"'{name}' is given more than once", field=name)
        if isinstance(value, dict):
            for key, item in value.items():
                name = key if where == "body" else f"{where}.{key}"
                _check_text(key, name)
                stack.append((item, name, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, where, depth + 1) for item in value)
        elif isinstance(value, str):
            _check_text(value, where)


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        field = where[:100].encode("utf-8", "replace").decode("utf-8")  # a key may be the culprit
        raise InvalidInput(f"'{field}' holds a lone surrogate (\\ud800-\\udfff): not text",
                           field=field) from None


@cache
def _validator(schema_json: str) -> Callable[[Any], None]:
    import fastjsonschema  # lazily: compiling costs nothing until a route needs it

    compiled = fastjsonschema.compile(json.loads(schema_json))

    def validate(data: Any) -> None:
        try:
            compiled(data)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise InvalidInput(_describe(exc), field=_field_name(exc)) from None

    return validate


def _field_name(exc: Any) -> str:
    path = [str(part) for part in (exc.path or [])[1:]]
    if exc.rule == "additionalProperties" and isinstance(exc.value, dict):
        allowed = set((exc.definition or {}).get("properties", {}))
        unknown = sorted(set(exc.value) - allowed)
        if unknown:
            path.append(unknown[0])
    if exc.rule == "required":
        missing = [name for name in exc.rule_definition if name not in (exc.value or {})]
        if missing:
            path.append(missing[0])
    return ".".join(shown_name(part) for part in path) or "body"


def _describe(exc: Any) -> str:
    field = _field_name(exc)
    if exc.rule == "additionalProperties":
        return f"unknown field '{field}'"
    if exc.rule == "required":
        return f"'{field}' is required"
    return exc.message.replace("data.", "").replace("data ", "body ")


def page_size(raw: str | None) -> int:
    """The `limit` query parameter: 1 to MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE when absent."""
    if raw is None:
        return DEFAULT_PAGE_SIZE
    size = whole_number(raw)
    if size is None or not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"'limit' must be a whole number from 1 to {MAX_PAGE_SIZE}", field="limit")
    return size
