"""The Chalice app as a WSGI application, for tools that drive a WSGI app in-process
(schemathesis): each request goes through Chalice's own local gateway, as the test client's do
(the client itself cannot answer an OPTIONS request: the gateway's preflight has no body)."""
from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any


def wsgi_app(chalice_app: Any) -> Callable[..., Iterable[bytes]]:
    """A WSGI application answering through Chalice's LocalGateway for `chalice_app`."""
    from chalice.config import Config
    from chalice.local import LocalGateway, LocalGatewayException

    gateway = LocalGateway(chalice_app, Config.create(chalice_stage="local"))

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        path = environ.get("PATH_INFO") or "/"
        if environ.get("QUERY_STRING"):
            path = f"{path}?{environ['QUERY_STRING']}"
        try:
            answer = gateway.handle_request(method=environ["REQUEST_METHOD"], path=path, headers=headers,
                                            body=body)
            status, answer_headers = answer["statusCode"], answer.get("headers") or {}
            raw = answer.get("body") or b""
            if answer.get("isBase64Encoded"):
                raw = base64.b64decode(raw)
        except LocalGatewayException as error:
            status, answer_headers, raw = error.CODE, error.headers or {}, error.body or b""
        content = raw.encode("utf-8") if isinstance(raw, str) else raw
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Unknown"
        start_response(f"{status} {phrase}", [(name, str(value)) for name, value in answer_headers.items()])
        return [content]

    return application
