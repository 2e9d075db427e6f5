"""The Chalice app: a table of contents. Routes and handlers live in chalicelib/."""
from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from chalice import Chalice, ConvertToMiddleware

from chalicelib.blueprints import (
    api_account,
    api_account_lifecycle,
    api_audit,
    api_campaign_sending,
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
    api_subscribers,
    public,
    public_account,
    public_account_deletion,
    public_forward,
    public_optout,
    public_preferences,
    public_tracking,
    public_unsubscribe,
)
from chalicelib.config import settings
from chalicelib.observability import logger, metrics
from chalicelib.store.binding import bind_models
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
app.register_blueprint(public_preferences.public)
app.register_blueprint(api_account_lifecycle.api.blueprint)
app.register_blueprint(public_account_deletion.public)
app.register_blueprint(retention.worker)
app.register_blueprint(api_reports.api.blueprint)
app.register_blueprint(public_unsubscribe.public)
app.register_blueprint(public_tracking.public)
app.register_blueprint(public_forward.public)
app.register_blueprint(tracking.worker)
app.register_blueprint(inbound_mail.worker)
for blueprint in (api_campaign_sending.api, api_messages.api):
    app.register_blueprint(blueprint.blueprint)
for worker in (scheduler.worker, fanout.worker, campaign_send.worker, sms_inbound.worker):
    app.register_blueprint(worker)
