"""The Chalice app: a table of contents. Routes and handlers live in chalicelib/."""
from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from chalice import Chalice, ConvertToMiddleware

from chalicelib.blueprints import (
    api_account,
    api_account_lifecycle,
    api_audit,
    api_campaigns,
    api_forms,
    api_health,
    api_imports,
    api_keys,
    api_lists,
    api_messages,
    api_openapi,
    api_privacy,
    api_reports,
    api_senders,
    api_sending,
    api_subscribers,
    public,
    public_account,
    public_account_deletion,
    public_forward,
    public_optout,
    public_preferences,
    public_tracking,
    public_tracking_front,
    public_unsubscribe,
)
from chalicelib.config import settings
from chalicelib.observability import logger, metrics
from chalicelib.store.binding import bind_models
from chalicelib.web.security import security_headers
from chalicelib.workers import (
    campaign_send,
    fanout,
    feedback,
    imports,
    inbound_mail,
    retention,
    scheduler,
    send,
    signups,
    sms_inbound,
    tracking,
)

app = Chalice(app_name="tidings")
bind_models(settings())

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
app.register_middleware(ConvertToMiddleware(metrics.log_metrics), "all")

# The authenticated /v1 REST API (OpenAPI: GET /v1/openapi.json).
API = (
    api_account, api_account_lifecycle, api_keys, api_senders, api_lists, api_forms, api_subscribers,
    api_imports, api_campaigns, api_sending, api_reports, api_messages, api_privacy, api_audit, api_health,
    api_openapi,
)
# Pages and links people open: forms, confirmation, unsubscribe, preferences, tracking (also
# behind its own Lambda function URL, public_tracking_front).
PUBLIC = (
    public, public_unsubscribe, public_preferences, public_forward, public_tracking, public_tracking_front,
    public_optout, public_account, public_account_deletion,
)
# SQS and schedule handlers.
WORKERS = (
    signups, imports, send, scheduler, fanout, campaign_send, feedback, tracking, inbound_mail,
    sms_inbound, retention,
)

for module in API:
    app.register_blueprint(module.api.blueprint)
for module in PUBLIC:
    app.register_blueprint(module.public)
for module in WORKERS:
    app.register_blueprint(module.worker)

# Lambda must run every handler through this module: `chalice package` would point it at the
# blueprint's own module, which binds no table names and skips the middleware above
# (aws/chalice#1566). So each non-HTTP handler is exported here and its handler string moved.
for function in (*app.pure_lambda_functions, *app.event_sources):
    globals()[function.name] = app.handler_map[function.name]
    function.handler_string = f"{__name__}.{function.name}"
