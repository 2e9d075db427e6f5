"""What each deployed Lambda function runs: a Chalice app holding only the blueprints its handlers
are in, with the app's middleware, so a cold start imports what that function uses and nothing
else (chalicelib/lambdas/, one module a function; app.py points each function's handler there).

app.py is the whole app: the template is packaged from it, and the local stack and the tests run
it. Both register the same middleware (`register_middleware`) and bind the models the same way. A
process holds app.py or an entry with routes, never both: Chalice registers a blueprint's routes
into one app only (it consumes their options on the first registration).
"""
from __future__ import annotations

import gc

from aws_lambda_powertools.logging import correlation_paths
from chalice import Blueprint, Chalice, ConvertToMiddleware

from chalicelib.config import settings
from chalicelib.functions import function_spec
from chalicelib.observability import logger
from chalicelib.web.security import security_headers

APP_NAME = "tidings"


def register_middleware(app: Chalice) -> None:
    """The middleware of every handler: Powertools' logger context for each kind of event, and
    the security headers on every HTTP answer."""
    app.register_middleware(
        ConvertToMiddleware(
            logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
        ),
        "http",
    )
    # nosniff, CSP, frame and referrer rules, Retry-After: on every answer, from one place.
    app.register_middleware(security_headers, "http")
    app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context), "sqs")
    app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context), "scheduled")
    app.register_middleware(
        ConvertToMiddleware(
            logger.inject_lambda_context(correlation_id_path=correlation_paths.LAMBDA_FUNCTION_URL)
        ),
        "pure_lambda",
    )


def bind_tables() -> None:
    """Point every model at its deployed table (importing PynamoDB)."""
    from chalicelib.store.binding import bind_models  # lazily: only functions with tables pay for it

    bind_models(settings())


def function_app(name: str, *blueprints: Blueprint) -> Chalice:
    """A Chalice app of the function `name` (chalicelib/functions.py) with these blueprints: its
    models bound when it uses tables, the middleware registered."""
    app = Chalice(app_name=APP_NAME)
    if function_spec(name).touches.tables:
        bind_tables()
    register_middleware(app)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    _resume_collection()
    return app


def _resume_collection() -> None:
    """Resume the garbage collector that importing an entry paused (chalicelib/lambdas), with
    what the import made set aside, so later collections do not walk it again."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def function_handler(name: str, blueprint: Blueprint) -> object:
    """The Lambda handler of a function whose one handler is in `blueprint`."""
    return function_app(name, blueprint).handler_map[name]
