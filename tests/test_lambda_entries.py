"""Each deployed function's own entry (chalicelib/lambdas/, issue 15): it exists for every declared
function, imports only its own handlers (a cold start pays for nothing else), and handles its
events as the whole app does."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.functions import FUNCTIONS
from chalicelib.local.invoke import DeployedContext

EVENTS = Path(__file__).resolve().parent.parent / "events"
# A worker's entry loads its own worker module; the REST API's, every HTTP blueprint.
OWN = {"signup_worker": "signups", "import_worker": "imports", "send_worker": "send",
       "campaign_scheduler": "scheduler", "fanout_worker": "fanout", "campaign_send_worker": "campaign_send",
       "feedback_worker": "feedback", "tracking_worker": "tracking", "inbound_mail_worker": "inbound_mail",
       "sms_inbound_worker": "sms_inbound", "retention_worker": "retention"}


def _entry_handler(name: str) -> Any:
    """A worker's or the pixel's handler, imported here. Not the API's: Chalice registers a
    blueprint's routes into one app a process, and app.py holds them in the tests (in Lambda a
    process holds the one entry alone); its entry is imported in a subprocess below."""
    return importlib.import_module(f"chalicelib.lambdas.{name}").handler


def test_every_declared_function_has_its_own_entry():
    for spec in FUNCTIONS:
        if spec.name == "api_handler":
            assert "chalicelib.lambdas.api_handler" in _loaded_after_import("api_handler")
        else:
            assert callable(_entry_handler(spec.name)), spec.name


_WATCHED = "('chalicelib.', 'pynamodb', 'jinja2', 'email.headerregistry')"


def _loaded_after_import(name: str) -> set[str]:
    """The modules a fresh interpreter holds once it imported the entry (as a cold start does)."""
    script = (f"import sys, chalicelib.lambdas.{name}\n"
              f"print('\\n'.join(m for m in sys.modules if m.startswith({_WATCHED})))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


@pytest.mark.parametrize("name", sorted(OWN))
def test_a_workers_entry_imports_no_other_worker_and_no_route(name):
    loaded = _loaded_after_import(name)
    workers = {module.rsplit(".", 1)[1] for module in loaded if module.startswith("chalicelib.workers.")}
    assert workers == {OWN[name]}, workers
    routes = ("chalicelib.blueprints", "chalicelib.lambdas.http")
    assert not [module for module in loaded if module.startswith(routes)]


def test_the_open_pixels_entry_loads_no_table_model_and_no_other_page():
    loaded = _loaded_after_import("tracking_front")
    assert "chalicelib.blueprints.public_tracking_front" in loaded
    assert not {"pynamodb", "chalicelib.store.models", "jinja2"} & loaded
    assert [module for module in loaded if module.startswith("chalicelib.blueprints.")] == [
        "chalicelib.blueprints.public_tracking_front"]
    assert not [module for module in loaded if module.startswith("chalicelib.workers.")]


def test_the_apis_entry_loads_every_route_and_no_worker():
    loaded = _loaded_after_import("api_handler")
    assert not [module for module in loaded if module.startswith("chalicelib.workers.")]
    assert "chalicelib.blueprints.api_campaigns" in loaded and "chalicelib.blueprints.public" in loaded


# What only some routes use (issue 15: a cold start of the API serves one route): each route
# imports these when it runs, so a signup or an unsubscribe does not load them.
ROUTE_SPECIFIC = (
    *(f"chalicelib.services.{name}" for name in (
        "account_lifecycle", "campaigns", "email_change", "forwarding", "health", "imports", "optout",
        "preferences", "privacy", "sending.start", "sending.test_sends", "transactional", "unsubscribe")),
    "chalicelib.web.views", "chalicelib.web.tracking_responses", "chalicelib.services.tracking",
    "chalicelib.domain.person_csv", "chalicelib.domain.marketing_mail", "chalicelib.domain.privacy",
    "chalicelib.domain.imports", "jinja2",
)


def test_the_apis_entry_leaves_route_specific_services_to_their_routes():
    loaded = _loaded_after_import("api_handler")
    assert not set(ROUTE_SPECIFIC) & loaded, sorted(set(ROUTE_SPECIFIC) & loaded)
    # The signup pages' own service is the one every public form needs.
    assert "chalicelib.services.signups" in loaded


def test_the_tracking_workers_entry_loads_the_tracking_service_alone():
    loaded = _loaded_after_import("tracking_worker")
    services = {module for module in loaded if module.startswith("chalicelib.services.")}
    assert services == {"chalicelib.services.tracking", "chalicelib.services.queue_drain"}, services
    assert not [module for module in loaded if module.startswith(("chalicelib.adapters.ses", "jinja2"))]
    # No HTTP plumbing but the security headers the shared middleware registers.
    web = {module for module in loaded if module.startswith("chalicelib.web.")}
    assert web == {"chalicelib.web.security"}, web


# Only what builds raw mail loads the MIME builder and the stdlib's header registry; only what
# counts or purges opens and clicks loads the tracking rules (the API's routes that track, report
# or export load them when they run).
BUILDS_MAIL = {"send_worker", "campaign_send_worker"}
TRACKING_RULES = {"tracking_front", "tracking_worker", "retention_worker"}


@pytest.mark.parametrize("name", sorted(spec.name for spec in FUNCTIONS))
def test_an_entry_loads_the_mail_builder_and_the_tracking_rules_only_if_it_uses_them(name):
    loaded = _loaded_after_import(name)
    builder = {"chalicelib.domain.mime", "email.headerregistry"} & loaded
    assert bool(builder) == (name in BUILDS_MAIL), builder
    assert ("chalicelib.domain.tracking" in loaded) == (name in TRACKING_RULES)


# Only the campaign sender composes campaign mail and texts, and loads their composers, the
# template renderer and the HTML reader (issue 15): the scheduler and the fan-out start campaigns
# and queue their batches, the send worker sends mail already rendered, the reply worker reads
# texts, and the API's routes that save, test or send a campaign or a transactional mail load
# them when they run.
COMPOSERS = {"chalicelib.domain.marketing_mail", "chalicelib.domain.sms", "chalicelib.domain.templates",
             "chalicelib.domain.html_text"}


@pytest.mark.parametrize("name", sorted(spec.name for spec in FUNCTIONS))
def test_an_entry_loads_the_campaign_composers_only_if_it_composes(name):
    loaded = COMPOSERS & _loaded_after_import(name)
    assert loaded == (COMPOSERS if name == "campaign_send_worker" else set()), loaded


@pytest.mark.parametrize("name", sorted(spec.name for spec in FUNCTIONS))
def test_an_entry_loads_the_feedback_rules_only_if_it_reads_feedback(name):
    """Recording or purging a message loads the message store, not how SES's events are read."""
    assert ("chalicelib.domain.feedback" in _loaded_after_import(name)) == (name == "feedback_worker")


def test_the_fanout_workers_entry_loads_neither_the_signups_nor_the_sending_step():
    """The fan-out reads a page of a list and queues its batches (issue 15): it takes no signup
    and sends no mail, so it loads neither (nor the message store the sending step writes)."""
    found = {"chalicelib.services.signups", "chalicelib.services.sending.step",
             "chalicelib.store.messages"} & _loaded_after_import("fanout_worker")
    assert not found, found


@pytest.mark.parametrize("name", ["campaign_send_worker", "sms_inbound_worker"])
def test_hashing_a_phone_loads_no_rules_of_data_subject_requests(name):
    """A phone's keyed hash keys its suppressions (domain/suppression.py, beside an address's):
    the texting and reply workers hash phones and answer no data-subject request (issue 15)."""
    assert "chalicelib.domain.privacy" not in _loaded_after_import(name)


def test_an_entry_handles_its_event_as_the_app_does(client):
    from app import app

    event = json.loads((EVENTS / "tracking_front.json").read_text())
    spec = next(spec for spec in FUNCTIONS if spec.name == "tracking_front")
    from_entry = _entry_handler("tracking_front")(event, DeployedContext(spec, "eu-west-1"))
    from_app = app.handler_map["tracking_front"](event, DeployedContext(spec, "eu-west-1"))
    assert from_entry == from_app and from_entry["statusCode"] == 400


@pytest.mark.parametrize("name", ["api_handler", "tracking_front", "tracking_worker"])
def test_an_entry_imports_with_the_collector_paused_and_resumes_it_with_the_import_set_aside(name):
    """Collecting during an entry's import frees nothing (issue 15): the import runs with the
    collector paused, and leaves it running with what the import made frozen out of its sight."""
    script = ("import gc, sys\n"
              "importing = True\n"
              "def watch(phase, info):\n"
              "    paused = hasattr(sys.modules.get('chalicelib.lambdas'), 'gc')\n"
              "    if phase == 'start' and importing and paused: print('collected during the import')\n"
              "gc.callbacks.append(watch)\n"
              f"import chalicelib.lambdas.{name}\n"
              "importing = False\n"
              "print(gc.isenabled(), gc.get_freeze_count() > 10_000)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:-1] == ["True True"], result.stdout
