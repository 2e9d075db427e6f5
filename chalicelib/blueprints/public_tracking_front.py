"""The tracking front: the open pixel and the click redirect behind a Lambda function URL (P13, P15).

An API Gateway REST request per open and click cost more than the rest of Tidings' AWS bill; a
function URL (AuthType NONE, infra/template.py) costs the Lambda invocation alone. It answers
exactly as the Chalice routes do (web/tracking_responses.py), translating the function URL's request
(payload format 2.0) and response formats, and answers 404 for any other path and 405 for any
method but GET. Mail points here through TIDINGS_TRACKING_BASE_URL.
"""
from __future__ import annotations

import base64
import json
import re
from typing import Any

from chalice import Blueprint, Response
from chalice.app import error_response as chalice_error_response

from chalicelib.domain.errors import NotFound
from chalicelib.observability import logger
from chalicelib.services import tracking
from chalicelib.warm_up import WARMED, is_warm_up
from chalicelib.web import tracking_responses
from chalicelib.web.responses import error_response
from chalicelib.web.security import add_security_headers
from chalicelib.web.tracking_responses import Fetch

public = Blueprint(__name__)

FUNCTION_NAME = "tracking_front"
_ANSWERS = {"o": tracking_responses.open_pixel, "c": tracking_responses.click}
# One path segment per token, as the Chalice routes' {token}.
_PATH = re.compile(r"/t/([oc])/([^/]+)")


@public.lambda_function(name=FUNCTION_NAME)
def tracking_front(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The function URL response to a function URL request; a scheduled warm-up's, to the
    EventBridge event of its schedule (infra/template.py)."""
    if is_warm_up(event):
        tracking.warm_up()
        return WARMED
    try:
        response = _answer(event)
    except Exception:
        # What Chalice answers for an unhandled error (a function URL would say 502).
        logger.exception("tracking request failed")
        response = chalice_error_response(message="An internal server error occurred.",
                                          error_code="InternalServerError", http_status_code=500)
    return _function_url_response(add_security_headers(response))


def _answer(event: dict[str, Any]) -> Response:
    http = event["requestContext"]["http"]
    match = _PATH.fullmatch(event.get("rawPath") or "")
    if match is None:
        return error_response(NotFound("there is nothing at this address", field="path"))
    if http["method"] != "GET":
        # Chalice's own answer to a method its route does not declare.
        return chalice_error_response(message=f"Unsupported method: {http['method']}",
                                      error_code="MethodNotAllowedError", http_status_code=405,
                                      headers={"Allow": "GET"})
    headers = event.get("headers") or {}  # lower-cased by Lambda
    fetch = Fetch(user_agent=headers.get("user-agent", http.get("userAgent")),
                  country_header=headers.get("cloudfront-viewer-country"),
                  # The caller's IP (or CloudFront's, where the deployment declares it in front
                  # and its country header is believed): gives the country, goes no further (P15).
                  ip=http.get("sourceIp"),
                  accept=headers.get("accept"))
    return _ANSWERS[match.group(1)](match.group(2), fetch)


def _function_url_response(response: Response) -> dict[str, Any]:
    headers = {name: ", ".join(value) if isinstance(value, list) else value
               for name, value in response.headers.items()}
    body = response.body
    if isinstance(body, bytes):
        return {"statusCode": response.status_code, "headers": headers,
                "body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True}
    if not isinstance(body, str):
        # As API Gateway does for Chalice's JSON bodies.
        body = json.dumps(body, separators=(",", ":"))
        headers.setdefault("Content-Type", "application/json")
    return {"statusCode": response.status_code, "headers": headers, "body": body, "isBase64Encoded": False}
