"""The REST API's and public pages' Lambda: every HTTP route, no worker. Its handler answers the
scheduled warm-up itself (chalicelib/warm_up.py): the app would take it for a request and fail."""
from __future__ import annotations

from typing import Any

from chalicelib.lambda_entry import function_app
from chalicelib.lambdas import http
from chalicelib.warm_up import WARMED, is_warm_up

app = function_app("api_handler", *http.blueprints())


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda handler (infra/template.API_HANDLER_ENTRY): a warm-up's answer, or the app's."""
    if is_warm_up(event):
        return WARMED
    return app(event, context)
