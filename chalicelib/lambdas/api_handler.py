"""The REST API's and public pages' Lambda: every HTTP route, no worker."""
from __future__ import annotations

from chalicelib.lambda_entry import function_app
from chalicelib.lambdas import http

app = function_app("api_handler", *http.blueprints())
