"""The Chalice app: a table of contents. Routes and handlers live in chalicelib/.

The whole app is what `chalice package` turns into the template and what the local stack and the
tests run. Deployed, each function runs its own entry instead (chalicelib/lambdas/<name>.py), which
imports only its own handlers (chalicelib/lambda_entry.py): a cold start of the open pixel does not
load the REST API, nor a worker the others.
"""
from __future__ import annotations

from chalice import Chalice

from chalicelib.blueprints import public_tracking_front
from chalicelib.lambda_entry import APP_NAME, bind_tables, register_middleware
from chalicelib.lambdas import http
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

app = Chalice(app_name=APP_NAME)
bind_tables()
register_middleware(app)

# SQS and schedule handlers.
WORKERS = (
    signups, imports, send, scheduler, fanout, campaign_send, feedback, tracking, inbound_mail,
    sms_inbound, retention,
)

for blueprint in http.blueprints():
    app.register_blueprint(blueprint)
# The open pixel and click redirect behind their own function URL: a function of their own.
app.register_blueprint(public_tracking_front.public)
for module in WORKERS:
    app.register_blueprint(module.worker)

# Each non-HTTP function's handler is its own entry module (`chalice package` would otherwise point
# Lambda at the blueprint's module, which binds no tables and skips the middleware,
# aws/chalice#1566); the REST API's is set by infra/template.py (chalicelib/lambdas/api_handler.py).
for function in (*app.pure_lambda_functions, *app.event_sources):
    function.handler_string = f"chalicelib.lambdas.{function.name}.handler"
