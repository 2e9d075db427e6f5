"""The Chalice app: a table of contents. Routes and handlers live in chalicelib/."""
from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from chalice import Chalice, ConvertToMiddleware

from chalicelib.blueprints import (
    api_account,
    api_audit,
    api_campaigns,
    api_forms,
    api_health,
    api_imports,
    api_keys,
    api_lists,
    api_openapi,
    api_privacy,
    api_subscribers,
    public,
    public_account,
    public_optout,
)
from chalicelib.config import settings
from chalicelib.observability import logger, metrics
from chalicelib.store.binding import bind_models
from chalicelib.workers import feedback, imports, send, signups

app = Chalice(app_name="tidings")
bind_models(settings())

app.register_middleware(
    ConvertToMiddleware(
        logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    ),
    "http",
)
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context), "sqs")
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context), "scheduled")
app.register_middleware(ConvertToMiddleware(metrics.log_metrics), "all")

for blueprint in (api_account.api, api_keys.api, api_lists.api, api_openapi.api, api_subscribers.api,
                  api_forms.api):
    app.register_blueprint(blueprint.blueprint)
app.register_blueprint(send.worker)
app.register_blueprint(imports.worker)
app.register_blueprint(signups.worker)
app.register_blueprint(api_imports.api.blueprint)
app.register_blueprint(public.public)
app.register_blueprint(api_campaigns.api.blueprint)
for blueprint in (api_privacy.api, api_audit.api):
    app.register_blueprint(blueprint.blueprint)
app.register_blueprint(public_optout.public)
app.register_blueprint(public_account.public)
app.register_blueprint(feedback.worker)
app.register_blueprint(api_health.api.blueprint)
