"""The HTTP handlers: the authenticated /v1 REST API and the pages and links people open. app.py
registers them with the workers; the API's Lambda (api_handler.py) registers them alone."""
from __future__ import annotations

from chalice import Blueprint

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
    public_unsubscribe,
)

# The authenticated /v1 REST API (OpenAPI: GET /v1/openapi.json).
API = (
    api_account, api_account_lifecycle, api_keys, api_senders, api_lists, api_forms, api_subscribers,
    api_imports, api_campaigns, api_sending, api_reports, api_messages, api_privacy, api_audit, api_health,
    api_openapi,
)
# Pages and links people open: forms, confirmation, unsubscribe, preferences, tracking (which
# also has its own function behind a Lambda function URL: public_tracking_front, not the API's).
PUBLIC = (
    public, public_unsubscribe, public_preferences, public_forward, public_tracking, public_optout,
    public_account, public_account_deletion,
)


def blueprints() -> list[Blueprint]:
    """Every HTTP blueprint, in registration order."""
    return [module.api.blueprint for module in API] + [module.public for module in PUBLIC]
